//! Appending to and reading a case's hash-chained timeline. Appends happen inside the
//! transaction of the change they record, and each writes the change's webhook event to
//! the outbox (and the learner's email, if the change sends one) in that same transaction.
use chrono::{DateTime, Utc};
use entity::{complaint, complaint_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QueryTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use uuid::Uuid;

use crate::{
    domain::timeline::{self, EventContent, GENESIS, StoredLink},
    error::ApiError,
};

/// What happened, by whom; `actor_id` is None for the system.
pub struct NewEvent<'a> {
    pub complaint_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: Option<&'a str>,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Where a case's timeline ends: its length and the hash of its last event, as the case
/// row records them (the anchor `verify` checks the stored events against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub len: i32,
    pub head: String,
}

impl Anchor {
    /// The anchor of a case without events.
    pub fn empty() -> Self {
        Self {
            len: 0,
            head: GENESIS.to_owned(),
        }
    }

    pub fn of(case: &complaint::Model) -> Self {
        Self {
            len: case.timeline_len,
            head: case.timeline_head.clone(),
        }
    }
}

/// Appends one event after the case's anchor and moves the anchor onto it, in the
/// caller's transaction. Claiming the next number is an increment on the case row, so
/// it takes that row's write lock (PostgreSQL; SQLite's write transaction serializes
/// anyway): appends for one case never interleave, and the unique (complaint_id, seq)
/// index backs that up. The case's `updated_at` moves to the event's time. The
/// institution's statistics and the outbox follow in the same transaction.
pub async fn append(
    db: &impl ConnectionTrait,
    e: NewEvent<'_>,
) -> Result<complaint_event::Model, ApiError> {
    use complaint::Column as C;
    let mut claim = complaint::Entity::update_many()
        .col_expr(C::TimelineLen, Expr::col(C::TimelineLen).add(1))
        .col_expr(C::UpdatedAt, Expr::value(e.at))
        .filter(C::Id.eq(e.complaint_id))
        .into_query();
    // The head is not written yet, so it is still the event this one follows.
    claim.returning(Query::returning().columns([C::TimelineLen, C::TimelineHead]));
    let row = db.query_one(&claim).await?.ok_or(ApiError::NotFound)?;
    let len: i32 = row.try_get("", "timeline_len")?;
    let before = Anchor {
        len: len - 1,
        head: row.try_get("", "timeline_head")?,
    };
    let event = link(&before, e);
    complaint_event::Entity::insert(complaint_event::ActiveModel::from(event.clone()))
        .exec_without_returning(db)
        .await?;
    complaint::Entity::update_many()
        .col_expr(C::TimelineHead, Expr::value(event.hash.clone()))
        .filter(C::Id.eq(event.complaint_id))
        .exec(db)
        .await?;
    super::stats::on_event(db, &event).await?;
    super::webhooks::enqueue_case_event(db, &event).await?;
    super::email::on_case_event(db, &event).await?;
    Ok(event)
}

/// The event as stored after the timeline that ends at `after` (for a new case,
/// [`Anchor::empty`]); the case's anchor afterwards is its `seq` and `hash`.
pub fn link(after: &Anchor, e: NewEvent<'_>) -> complaint_event::Model {
    let (seq, prev_hash) = (after.len + 1, after.head.clone());
    let payload = e.payload.to_string();
    let content = EventContent {
        complaint_id: e.complaint_id,
        seq,
        actor_id: e.actor_id,
        actor_role: e.actor_role,
        action: e.action,
        from_state: e.from_state,
        to_state: e.to_state,
        payload: &payload,
        created_at: e.at,
    };
    let hash = timeline::hash(&prev_hash, &content);
    complaint_event::Model {
        id: Uuid::now_v7(),
        complaint_id: e.complaint_id,
        seq,
        actor_id: e.actor_id,
        actor_role: e.actor_role.to_owned(),
        action: e.action.to_owned(),
        from_state: e.from_state.map(str::to_owned),
        to_state: e.to_state.map(str::to_owned),
        payload,
        created_at: e.at,
        prev_hash,
        hash,
    }
}

pub async fn list(
    db: &impl ConnectionTrait,
    complaint_id: Uuid,
) -> Result<Vec<complaint_event::Model>, ApiError> {
    Ok(complaint_event::Entity::find()
        .filter(complaint_event::Column::ComplaintId.eq(complaint_id))
        .order_by_asc(complaint_event::Column::Seq)
        .all(db)
        .await?)
}

/// Recomputes the chain from the stored rows and checks that it ends where the case
/// row's anchor says.
pub fn verify(
    events: &[complaint_event::Model],
    anchor: &Anchor,
) -> Result<usize, timeline::BrokenLink> {
    timeline::verify(
        events.iter().map(|e| StoredLink {
            content: EventContent {
                complaint_id: e.complaint_id,
                seq: e.seq,
                actor_id: e.actor_id,
                actor_role: &e.actor_role,
                action: &e.action,
                from_state: e.from_state.as_deref(),
                to_state: e.to_state.as_deref(),
                payload: &e.payload,
                created_at: e.created_at,
            },
            prev_hash: &e.prev_hash,
            hash: &e.hash,
        }),
        timeline::Head {
            len: anchor.len,
            hash: &anchor.head,
        },
    )
}
