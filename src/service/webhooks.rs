//! Webhook subscriptions and the event outbox.
//!
//! Every timeline append writes one outbox row ([`enqueue_case_event`]) in the
//! transaction of the change, so there is no change without its event and no event
//! without its change. The dispatcher (`webhook_delivery`) fans outbox rows out to the
//! matching subscriptions and sends them. Subscriptions belong to an owner (an
//! institution, an association, or the platform); callers manage only their owner's.
use chrono::{DateTime, Duration, Utc};
use entity::{
    complaint, complaint_event, webhook_attempt,
    webhook_delivery::{self, DeliveryState},
    webhook_event,
    webhook_subscription::{self, StoredSecret},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, sea_query::Expr,
};
use url::Url;
use uuid::Uuid;

use super::{paging, secrets, webhook_delivery::check_resolved_target};
use crate::{
    auth::{
        Principal,
        policy::{self, WebhookOwner},
    },
    db,
    domain::{
        sealing::MasterKey,
        webhook_event::{self as events, CaseEventData, EventType, PingData},
        webhook_signature::WebhookSecret,
    },
    error::ApiError,
};

/// How long the secret replaced by a rotation keeps signing.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// A new `webhook-id`: `msg_` and a time-ordered UUID.
pub fn new_message_id() -> String {
    format!("msg_{}", Uuid::now_v7().simple())
}

/// Writes the outbox row for a timeline event, in the caller's transaction.
pub async fn enqueue_case_event(
    db: &impl ConnectionTrait,
    event: &complaint_event::Model,
) -> Result<(), ApiError> {
    let case = complaint::Entity::find_by_id(event.complaint_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("event of a missing case")))?;
    webhook_event::Entity::insert(outbox_row(&case, event))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The outbox row announcing `event` of `case` (the case as the event left it).
pub fn outbox_row(
    case: &complaint::Model,
    event: &complaint_event::Model,
) -> webhook_event::ActiveModel {
    let event_type = EventType::of_timeline(
        &event.action,
        event.from_state.as_deref(),
        event.to_state.as_deref(),
    );
    let data = CaseEventData {
        complaint_id: case.id,
        reference: case.reference.clone(),
        institution_id: case.institution_id,
        association_id: case.association_id,
        action: event.action.clone(),
        from_state: event.from_state.clone(),
        to_state: event.to_state.clone(),
        actor_role: event.actor_role.clone(),
        seq: event.seq,
        occurred_at: event.created_at,
    };
    webhook_event::ActiveModel {
        id: Set(new_message_id()),
        event_type: Set(event_type.as_str().to_owned()),
        complaint_id: Set(Some(case.id)),
        institution_id: Set(Some(case.institution_id)),
        association_id: Set(case.association_id),
        subscription_id: Set(None),
        payload: Set(events::body(event_type, event.created_at, &data)),
        created_at: Set(event.created_at),
        fanned_out_at: Set(None),
    }
}

/// A subscription as requested, parsed.
pub struct NewSubscription {
    pub url: Url,
    pub description: String,
    /// `None` for every event type.
    pub event_types: Option<Vec<EventType>>,
    pub enabled: bool,
}

/// An edit: `None` leaves a field as it is; `event_types: Some(None)` means every type.
#[derive(Default)]
pub struct SubscriptionChanges {
    pub url: Option<Url>,
    pub description: Option<String>,
    pub event_types: Option<Option<Vec<EventType>>>,
    pub enabled: Option<bool>,
}

/// The event types a subscription asked for (`None`: all).
pub fn event_types_of(sub: &webhook_subscription::Model) -> Option<Vec<EventType>> {
    let names: Vec<String> = serde_json::from_str(sub.event_types.as_deref()?).ok()?;
    Some(names.iter().filter_map(|n| n.parse().ok()).collect())
}

fn encode_types(types: &Option<Vec<EventType>>) -> Option<String> {
    types.as_ref().map(|ts| {
        let mut names: Vec<&str> = ts.iter().map(|t| t.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        serde_json::Value::from(names).to_string()
    })
}

/// The secrets a message is signed with now: the current one, and the one it replaced
/// while the rotation overlap lasts.
pub fn signing_secrets(
    sub: &webhook_subscription::Model,
    key: &MasterKey,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<WebhookSecret>> {
    let open = |stored: &StoredSecret| -> anyhow::Result<WebhookSecret> {
        Ok(WebhookSecret::parse(&secrets::open_webhook_secret(
            key, sub.id, stored,
        )?)?)
    };
    let mut all = vec![open(&sub.secret)?];
    if let (Some(prev), Some(until)) = (&sub.previous_secret, sub.previous_secret_expires_at)
        && until > now
    {
        all.push(open(prev)?);
    }
    Ok(all)
}

/// Creates a subscription for the caller's owner. Returns it with its secret, which is
/// shown only this once.
pub async fn create(
    db: &impl ConnectionTrait,
    key: &MasterKey,
    who: &Principal,
    new: NewSubscription,
    allow_private: bool,
    now: DateTime<Utc>,
) -> Result<(webhook_subscription::Model, String), ApiError> {
    let owner = policy::webhook_owner(who)?;
    check_target(&new.url, allow_private).await?;
    let secret = WebhookSecret::generate().to_whsec();
    let id = Uuid::now_v7();
    let row = webhook_subscription::ActiveModel {
        id: Set(id),
        scope: Set(owner.scope()),
        institution_id: Set(owner.institution_id()),
        association_id: Set(owner.association_id()),
        created_by: Set(who.account_id),
        url: Set(new.url.to_string()),
        description: Set(new.description),
        event_types: Set(encode_types(&new.event_types)),
        enabled: Set(new.enabled),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        failing_since: Set(None),
        secret: Set(secrets::seal_webhook_secret(key, id, &secret)),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let saved = webhook_subscription::Entity::insert(row)
        .exec_with_returning(db)
        .await?;
    Ok((saved, secret))
}

/// Refuses a target whose host resolves to an address webhooks may not reach.
async fn check_target(url: &Url, allow_private: bool) -> Result<(), ApiError> {
    if allow_private {
        return Ok(());
    }
    check_resolved_target(url)
        .await
        .map_err(|e| ApiError::field("url", e.to_string()))
}

/// A subscription of the caller's owner; 404 for anyone else's.
pub async fn get(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<webhook_subscription::Model, ApiError> {
    let owner = policy::webhook_owner(who)?;
    webhook_subscription::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| owner.owns(s))
        .ok_or(ApiError::NotFound)
}

fn owned_by(owner: WebhookOwner) -> sea_orm::Condition {
    use webhook_subscription::Column as C;
    let mut c = sea_orm::Condition::all().add(C::Scope.eq(owner.scope()));
    c = match owner.institution_id() {
        Some(id) => c.add(C::InstitutionId.eq(id)),
        None => c.add(C::InstitutionId.is_null()),
    };
    match owner.association_id() {
        Some(id) => c.add(C::AssociationId.eq(id)),
        None => c.add(C::AssociationId.is_null()),
    }
}

/// The caller's owner's subscriptions, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    who: &Principal,
    before: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<webhook_subscription::Model>, Option<String>), ApiError> {
    let owner = policy::webhook_owner(who)?;
    let mut q = webhook_subscription::Entity::find().filter(owned_by(owner));
    if let Some(b) = before {
        q = q.filter(webhook_subscription::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(webhook_subscription::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    Ok(paging::finish(rows, limit, |r| r.id))
}

/// Edits a subscription. Enabling it again clears why it was disabled and its failure
/// streak; its pending deliveries resume.
pub async fn update(
    db: &DatabaseConnection,
    who: &Principal,
    id: Uuid,
    changes: SubscriptionChanges,
    allow_private: bool,
    now: DateTime<Utc>,
) -> Result<webhook_subscription::Model, ApiError> {
    if let Some(url) = &changes.url {
        check_target(url, allow_private).await?;
    }
    let txn = db::begin_write(db).await?;
    let sub = get(&txn, who, id).await?;
    let mut next: webhook_subscription::ActiveModel = sub.clone().into();
    if let Some(url) = changes.url {
        next.url = Set(url.to_string());
    }
    if let Some(d) = changes.description {
        next.description = Set(d);
    }
    if let Some(types) = changes.event_types {
        next.event_types = Set(encode_types(&types));
    }
    match changes.enabled {
        Some(true) if !sub.enabled => {
            next.enabled = Set(true);
            next.disabled_reason = Set(None);
            next.disabled_at = Set(None);
            next.failing_since = Set(None);
        }
        Some(false) if sub.enabled => {
            next.enabled = Set(false);
            next.disabled_reason = Set(None);
            next.disabled_at = Set(Some(now));
        }
        _ => {}
    }
    next.updated_at = Set(now);
    let saved = webhook_subscription::Entity::update(next)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a subscription with its deliveries and their log.
pub async fn delete(db: &DatabaseConnection, who: &Principal, id: Uuid) -> Result<(), ApiError> {
    let txn = db::begin_write(db).await?;
    let sub = get(&txn, who, id).await?;
    let deliveries = webhook_delivery::Entity::find()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .filter(webhook_delivery::Column::SubscriptionId.eq(sub.id));
    webhook_attempt::Entity::delete_many()
        .filter(webhook_attempt::Column::DeliveryId.in_subquery(deliveries.into_query()))
        .exec(&txn)
        .await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::SubscriptionId.eq(sub.id))
        .exec(&txn)
        .await?;
    webhook_subscription::Entity::delete_by_id(sub.id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces the secret. The old one keeps signing (beside the new) for
/// [`ROTATION_OVERLAP`], so receivers can switch without missing a message; a secret
/// replaced earlier than that stops signing now.
///
/// The update is conditional on the secret it replaces (every sealed value is unique,
/// its nonce being random), so of two concurrent rotations exactly one succeeds and
/// the other answers 409: no answered secret is silently dropped.
pub async fn rotate(
    db: &DatabaseConnection,
    key: &MasterKey,
    who: &Principal,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(webhook_subscription::Model, String), ApiError> {
    use webhook_subscription::Column as C;
    let txn = db::begin_write(db).await?;
    let sub = get(&txn, who, id).await?;
    let secret = WebhookSecret::generate().to_whsec();
    let changed = webhook_subscription::Entity::update_many()
        .col_expr(C::PreviousSecret, Expr::value(sub.secret.0.clone()))
        .col_expr(
            C::PreviousSecretExpiresAt,
            Expr::value(now + ROTATION_OVERLAP),
        )
        .col_expr(
            C::Secret,
            Expr::value(secrets::seal_webhook_secret(key, sub.id, &secret).0),
        )
        .col_expr(C::UpdatedAt, Expr::value(now))
        .filter(C::Id.eq(sub.id))
        .filter(C::Secret.eq(sub.secret.0.clone()))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(ApiError::conflict(
            "the secret was rotated by another request at the same time; the secret that \
             request answered is current",
        ));
    }
    let saved = webhook_subscription::Entity::find_by_id(sub.id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    txn.commit().await?;
    Ok((saved, secret))
}

fn not_while_disabled(sub: &webhook_subscription::Model, what: &str) -> Result<(), ApiError> {
    if sub.enabled {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "the endpoint is disabled; enable it before you {what}"
        )))
    }
}

/// Queues a `ping` for this subscription only.
pub async fn ping(
    db: &DatabaseConnection,
    who: &Principal,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<webhook_delivery::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let sub = get(&txn, who, id).await?;
    not_while_disabled(&sub, "ping it")?;
    let event_id = new_message_id();
    let data = PingData {
        subscription_id: sub.id,
    };
    webhook_event::Entity::insert(webhook_event::ActiveModel {
        id: Set(event_id.clone()),
        event_type: Set(EventType::Ping.as_str().to_owned()),
        complaint_id: Set(None),
        institution_id: Set(None),
        association_id: Set(None),
        subscription_id: Set(Some(sub.id)),
        payload: Set(events::body(EventType::Ping, now, &data)),
        created_at: Set(now),
        fanned_out_at: Set(Some(now)),
    })
    .exec_without_returning(&txn)
    .await?;
    let delivery = webhook_delivery::Entity::insert(new_delivery(
        &event_id,
        EventType::Ping.as_str(),
        sub.id,
        now,
    ))
    .exec_with_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(delivery)
}

/// A delivery due now.
pub fn new_delivery(
    event_id: &str,
    event_type: &str,
    subscription_id: Uuid,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(event_id.to_owned()),
        subscription_id: Set(subscription_id),
        event_type: Set(event_type.to_owned()),
        state: Set(DeliveryState::Pending),
        attempts: Set(0),
        failures: Set(0),
        next_attempt_at: Set(Some(now)),
        lease_until: Set(None),
        claim_token: Set(None),
        last_attempt_at: Set(None),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        completed_at: Set(None),
    }
}

/// A delivery with its attempts, oldest attempt first.
pub struct DeliveryLog {
    pub delivery: webhook_delivery::Model,
    pub attempts: Vec<webhook_attempt::Model>,
}

/// The deliveries of a subscription, newest first, each with its attempts.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
    state: Option<DeliveryState>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<DeliveryLog>, Option<String>), ApiError> {
    let sub = get(db, who, id).await?;
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::SubscriptionId.eq(sub.id));
    if let Some(s) = state {
        q = q.filter(webhook_delivery::Column::State.eq(s));
    }
    if let Some(b) = before {
        q = q.filter(webhook_delivery::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let (rows, next) = paging::finish(rows, limit, |r| r.id);
    let ids: Vec<Uuid> = rows.iter().map(|d| d.id).collect();
    let mut attempts: std::collections::HashMap<Uuid, Vec<webhook_attempt::Model>> =
        std::collections::HashMap::new();
    for a in webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids))
        .order_by_asc(webhook_attempt::Column::AttemptedAt)
        .order_by_asc(webhook_attempt::Column::Id)
        .all(db)
        .await?
    {
        attempts.entry(a.delivery_id).or_default().push(a);
    }
    let logs = rows
        .into_iter()
        .map(|delivery| DeliveryLog {
            attempts: attempts.remove(&delivery.id).unwrap_or_default(),
            delivery,
        })
        .collect();
    Ok((logs, next))
}

/// Sends a delivery again, now, with the same `webhook-id` (and a new timestamp), and
/// a fresh retry schedule.
pub async fn redeliver(
    db: &DatabaseConnection,
    who: &Principal,
    id: Uuid,
    delivery_id: Uuid,
    now: DateTime<Utc>,
) -> Result<webhook_delivery::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let sub = get(&txn, who, id).await?;
    not_while_disabled(&sub, "redeliver")?;
    let delivery = webhook_delivery::Entity::find_by_id(delivery_id)
        .one(&txn)
        .await?
        .filter(|d| d.subscription_id == sub.id)
        .ok_or(ApiError::NotFound)?;
    if delivery.lease_until.is_some_and(|l| l > now) {
        return Err(ApiError::conflict(
            "an attempt of this delivery is in flight; try again shortly",
        ));
    }
    let mut next: webhook_delivery::ActiveModel = delivery.into();
    next.state = Set(DeliveryState::Pending);
    next.failures = Set(0);
    next.next_attempt_at = Set(Some(now));
    next.completed_at = Set(None);
    let saved = webhook_delivery::Entity::update(next).exec(&txn).await?;
    txn.commit().await?;
    Ok(saved)
}
