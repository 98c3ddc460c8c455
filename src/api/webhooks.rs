//! Webhook subscriptions, their delivery log, redelivery, secret rotation and ping; and
//! the webhooks themselves, documented as OpenAPI `webhooks` (one per event type).
use chrono::{DateTime, Utc};
use entity::{
    webhook_attempt,
    webhook_delivery::{self, DeliveryState},
    webhook_subscription::{self, Scope},
};
use poem::{http::Method, web::Data};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi, Webhook,
    param::{Path, Query},
    payload::Json,
    registry::{
        MetaMediaType, MetaOperation, MetaOperationParam, MetaParamIn, MetaRequest, MetaResponse,
        MetaResponses, MetaWebhook, Registry,
    },
    types::{MaybeUndefined, Type},
};
use uuid::Uuid;

use super::{
    ApiTags,
    validate::{Fields, optional_text},
};
use crate::{
    auth::BearerAuth,
    domain::{
        webhook_event::EventType,
        webhook_signature::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP},
        webhook_target,
    },
    error::{ApiError, ApiResult},
    service::{paging, webhooks as svc},
    state::AppState,
};

const DESCRIPTION_MAX: usize = 500;

macro_rules! event_type_dto {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        /// A webhook event type. The `webhooks` section of this document describes each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        pub enum EventTypeDto {
            $(#[oai(rename = $name)] $variant,)+
        }

        impl From<EventType> for EventTypeDto {
            fn from(t: EventType) -> Self {
                match t { $(EventType::$variant => Self::$variant,)+ }
            }
        }

        impl From<EventTypeDto> for EventType {
            fn from(t: EventTypeDto) -> Self {
                match t { $(EventTypeDto::$variant => Self::$variant,)+ }
            }
        }
    };
}

event_type_dto!(
    ComplaintFiled = "complaint.filed",
    ComplaintIntakeAccepted = "complaint.intake_accepted",
    ComplaintRejected = "complaint.rejected",
    ComplaintInfoRequested = "complaint.info_requested",
    ComplaintInfoProvided = "complaint.info_provided",
    ComplaintInfoRequestExpired = "complaint.info_request_expired",
    ComplaintResponded = "complaint.responded",
    ComplaintResolved = "complaint.resolved",
    ComplaintEscalated = "complaint.escalated",
    ComplaintDisputed = "complaint.disputed",
    ComplaintAssigned = "complaint.assigned",
    ComplaintOfferMade = "complaint.offer_made",
    ComplaintOfferDeclined = "complaint.offer_declined",
    ComplaintSettled = "complaint.settled",
    ComplaintUnresolved = "complaint.unresolved",
    ComplaintWithdrawn = "complaint.withdrawn",
    ComplaintMessagePosted = "complaint.message_posted",
    ComplaintAttachmentAdded = "complaint.attachment_added",
    ComplaintRated = "complaint.rated",
    ComplaintUpdated = "complaint.updated",
    SlaWarning = "sla.warning",
    SlaBreached = "sla.breached",
    SlaAssignmentOverdue = "sla.assignment_overdue",
    Ping = "ping",
);

/// Whose events a subscription receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WebhookScopeDto {
    /// One institution's cases (subscribed by its staff).
    Institution,
    /// Cases in mediation with one consumer association (subscribed by its mediators).
    Association,
    /// Every case (subscribed by regulators).
    Platform,
}

impl From<Scope> for WebhookScopeDto {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Institution => Self::Institution,
            Scope::Association => Self::Association,
            Scope::Platform => Self::Platform,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStateDto {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up: every attempt of the schedule failed, or the endpoint answered 410.
    Failed,
}

impl From<DeliveryState> for DeliveryStateDto {
    fn from(s: DeliveryState) -> Self {
        match s {
            DeliveryState::Pending => Self::Pending,
            DeliveryState::Succeeded => Self::Succeeded,
            DeliveryState::Failed => Self::Failed,
        }
    }
}

impl From<DeliveryStateDto> for DeliveryState {
    fn from(s: DeliveryStateDto) -> Self {
        match s {
            DeliveryStateDto::Pending => Self::Pending,
            DeliveryStateDto::Succeeded => Self::Succeeded,
            DeliveryStateDto::Failed => Self::Failed,
        }
    }
}

#[derive(Debug, Object)]
pub struct CreateWebhookRequest {
    /// Where to send events: an https URL on a public address.
    #[oai(validator(max_length = 2000))]
    pub url: String,
    /// The event types to receive; omit (or `null`) for every type, including types
    /// added later.
    #[oai(validator(max_items = 100))]
    pub event_types: Option<Vec<EventTypeDto>>,
    #[oai(default, validator(max_length = 2000))]
    pub description: String,
    /// Start sending at once (default true).
    #[oai(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Object)]
pub struct UpdateWebhookRequest {
    #[oai(validator(max_length = 2000))]
    pub url: Option<String>,
    /// A list of types, or `null` for every type; absent leaves them as they are.
    #[oai(validator(max_items = 100))]
    pub event_types: MaybeUndefined<Vec<EventTypeDto>>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    /// Enabling a disabled endpoint clears why it was disabled; its pending
    /// deliveries resume.
    pub enabled: Option<bool>,
}

#[derive(Debug, Object)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The event types sent; `null` for every type.
    pub event_types: Option<Vec<EventTypeDto>>,
    pub enabled: bool,
    pub scope: WebhookScopeDto,
    #[oai(skip_serializing_if_is_none)]
    pub institution_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub association_id: Option<Uuid>,
    /// Why the platform disabled the endpoint (410 Gone, or failing for 5 days).
    #[oai(skip_serializing_if_is_none)]
    pub disabled_reason: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// When the current run of failed attempts began; absent after any success.
    #[oai(skip_serializing_if_is_none)]
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation still signs.
    #[oai(skip_serializing_if_is_none)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<webhook_subscription::Model> for WebhookView {
    fn from(s: webhook_subscription::Model) -> Self {
        let event_types =
            svc::event_types_of(&s).map(|ts| ts.into_iter().map(Into::into).collect());
        Self {
            id: s.id,
            url: s.url,
            description: s.description,
            event_types,
            enabled: s.enabled,
            scope: s.scope.into(),
            institution_id: s.institution_id,
            association_id: s.association_id,
            disabled_reason: s.disabled_reason,
            disabled_at: s.disabled_at,
            failing_since: s.failing_since,
            previous_secret_expires_at: s.previous_secret_expires_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A new subscription with its signing secret, shown only this once.
#[derive(Debug, Object)]
pub struct CreatedWebhook {
    #[oai(flatten)]
    pub webhook: WebhookView,
    /// `whsec_` and the base64 of 32 random bytes. Keep it: it is not shown again.
    pub secret: String,
}

#[derive(Debug, Object)]
pub struct RotatedSecret {
    /// The new secret, shown only this once.
    pub secret: String,
    /// Until then messages carry signatures by both the new and the old secret.
    pub previous_secret_expires_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct WebhookPage {
    pub items: Vec<WebhookView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// One attempt to deliver.
#[derive(Debug, Object)]
pub struct AttemptView {
    pub attempted_at: DateTime<Utc>,
    /// The `webhook-timestamp` sent.
    pub webhook_timestamp: i64,
    /// The HTTP status of the answer, when one came.
    #[oai(skip_serializing_if_is_none)]
    pub status_code: Option<i32>,
    /// What went wrong when no answer came (timeout, connection refused, …).
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    pub latency_ms: i32,
    /// The first KiB of the answer's body.
    pub response_body: String,
    pub succeeded: bool,
}

impl From<webhook_attempt::Model> for AttemptView {
    fn from(a: webhook_attempt::Model) -> Self {
        Self {
            attempted_at: a.attempted_at,
            webhook_timestamp: a.webhook_timestamp,
            status_code: a.status_code,
            error: a.error,
            latency_ms: a.latency_ms,
            response_body: a.response_body,
            succeeded: a.succeeded,
        }
    }
}

/// One event on its way to this endpoint, with every attempt.
#[derive(Debug, Object)]
pub struct DeliveryView {
    pub id: Uuid,
    /// The `webhook-id`: the same on every attempt and redelivery.
    pub event_id: String,
    pub event_type: EventTypeDto,
    pub state: DeliveryStateDto,
    /// Attempts made so far, redeliveries included.
    pub attempt_count: i32,
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_status: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The attempts, oldest first.
    pub attempts: Vec<AttemptView>,
}

fn delivery_view(
    d: webhook_delivery::Model,
    attempts: Vec<webhook_attempt::Model>,
) -> DeliveryView {
    let event_type = d
        .event_type
        .parse::<EventType>()
        .unwrap_or(EventType::ComplaintUpdated);
    DeliveryView {
        id: d.id,
        event_id: d.event_id,
        event_type: event_type.into(),
        state: d.state.into(),
        attempt_count: d.attempts,
        next_attempt_at: d.next_attempt_at,
        last_attempt_at: d.last_attempt_at,
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: d.created_at,
        completed_at: d.completed_at,
        attempts: attempts.into_iter().map(Into::into).collect(),
    }
}

#[derive(Debug, Object)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum WebhookCreated {
    /// The subscription was created; its secret is in the answer, and only there.
    #[oai(status = 201)]
    Created(Json<CreatedWebhook>),
}

#[derive(ApiResponse)]
pub enum WebhookDeleted {
    /// The subscription and its delivery log were deleted.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum DeliveryQueued {
    /// Queued; the dispatcher sends it within moments. Follow it in the delivery log.
    #[oai(status = 202)]
    Accepted(Json<DeliveryView>),
}

fn parse_types(f: &mut Fields, types: Option<Vec<EventTypeDto>>) -> Option<Option<Vec<EventType>>> {
    let Some(types) = types else {
        return Some(None);
    };
    let types: Vec<EventType> = types.into_iter().map(Into::into).collect();
    if types.is_empty() {
        f.check::<(), _>(
            "event_types",
            Err("must name at least one type; omit it (or send null) for every type"),
        );
        return None;
    }
    if types.iter().any(|t| !t.subscribable()) {
        f.check::<(), _>(
            "event_types",
            Err("`ping` is sent on request only and cannot be subscribed to"),
        );
        return None;
    }
    Some(Some(types))
}

fn parse_url(f: &mut Fields, url: &str, allow_private: bool) -> Option<url::Url> {
    f.check("url", webhook_target::parse_target(url, allow_private))
}

pub struct WebhooksApi;

#[OpenApi(prefix_path = "/webhooks", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Subscribe to events (institution staff for their institution's cases, mediators
    /// for their association's, regulators for all). The answer carries the signing
    /// secret, which is never shown again.
    #[oai(path = "/", method = "post", operation_id = "createWebhook")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateWebhookRequest>,
    ) -> ApiResult<WebhookCreated> {
        crate::auth::policy::webhook_owner(&auth.0)?;
        let allow_private = state.settings.webhooks_allow_private_targets;
        let b = body.0;
        let mut f = Fields::default();
        let url = parse_url(&mut f, &b.url, allow_private);
        let description = f.check(
            "description",
            optional_text(&b.description, DESCRIPTION_MAX),
        );
        let event_types = parse_types(&mut f, b.event_types);
        let new = f.finish(|| {
            Some(svc::NewSubscription {
                url: url?,
                description: description?,
                event_types: event_types?,
                enabled: b.enabled,
            })
        })?;
        let (sub, secret) = svc::create(
            &state.db,
            &state.master_key,
            &auth.0,
            new,
            allow_private,
            state.clock.now(),
        )
        .await?;
        Ok(WebhookCreated::Created(Json(CreatedWebhook {
            webhook: sub.into(),
            secret,
        })))
    }

    /// The caller's subscriptions (their institution's, association's, or the
    /// platform-wide ones), newest first.
    #[oai(path = "/", method = "get", operation_id = "listWebhooks")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<WebhookPage>> {
        let limit = paging::limit(limit.0)?;
        let before = paging::decode(cursor.0.as_deref())?;
        let (rows, next_cursor) = svc::list(&state.db, &auth.0, before, limit).await?;
        Ok(Json(WebhookPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One subscription, with why it was disabled, if it was.
    #[oai(path = "/:id", method = "get", operation_id = "getWebhook")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<WebhookView>> {
        Ok(Json(svc::get(&state.db, &auth.0, id.0).await?.into()))
    }

    /// Change the URL, event types, description, or enable / disable the endpoint.
    #[oai(path = "/:id", method = "patch", operation_id = "updateWebhook")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<UpdateWebhookRequest>,
    ) -> ApiResult<Json<WebhookView>> {
        crate::auth::policy::webhook_owner(&auth.0)?;
        let allow_private = state.settings.webhooks_allow_private_targets;
        let b = body.0;
        let mut f = Fields::default();
        let url = match &b.url {
            Some(u) => parse_url(&mut f, u, allow_private).map(Some),
            None => Some(None),
        };
        let description = match &b.description {
            Some(d) => f
                .check("description", optional_text(d, DESCRIPTION_MAX))
                .map(Some),
            None => Some(None),
        };
        let event_types = match b.event_types {
            MaybeUndefined::Undefined => Some(None),
            MaybeUndefined::Null => Some(Some(None)),
            MaybeUndefined::Value(v) => parse_types(&mut f, Some(v)).map(Some),
        };
        let changes = f.finish(|| {
            Some(svc::SubscriptionChanges {
                url: url?,
                description: description?,
                event_types: event_types?,
                enabled: b.enabled,
            })
        })?;
        let sub = svc::update(
            &state.db,
            &auth.0,
            id.0,
            changes,
            allow_private,
            state.clock.now(),
        )
        .await?;
        Ok(Json(sub.into()))
    }

    /// Delete a subscription and its delivery log.
    #[oai(path = "/:id", method = "delete", operation_id = "deleteWebhook")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<WebhookDeleted> {
        svc::delete(&state.db, &auth.0, id.0).await?;
        Ok(WebhookDeleted::Deleted)
    }

    /// The delivery log: each event sent to this endpoint, newest first, with every
    /// attempt (time, status, latency, the first KiB of the answer).
    #[oai(
        path = "/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    async fn deliveries(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        #[oai(name = "state")] delivery_state: Query<Option<DeliveryStateDto>>,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<DeliveryPage>> {
        let limit = paging::limit(limit.0)?;
        let before = paging::decode(cursor.0.as_deref())?;
        let (logs, next_cursor) = svc::deliveries(
            &state.db,
            &auth.0,
            id.0,
            delivery_state.0.map(Into::into),
            before,
            limit,
        )
        .await?;
        Ok(Json(DeliveryPage {
            items: logs
                .into_iter()
                .map(|l| delivery_view(l.delivery, l.attempts))
                .collect(),
            next_cursor,
        }))
    }

    /// Send a delivery again now: the same `webhook-id`, a new timestamp, and a fresh
    /// retry schedule.
    #[oai(
        path = "/:id/deliveries/:delivery_id/redeliver",
        method = "post",
        operation_id = "redeliverWebhook"
    )]
    async fn redeliver(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        delivery_id: Path<Uuid>,
    ) -> ApiResult<DeliveryQueued> {
        let d = svc::redeliver(&state.db, &auth.0, id.0, delivery_id.0, state.clock.now()).await?;
        Ok(DeliveryQueued::Accepted(Json(delivery_view(d, vec![]))))
    }

    /// Replace the signing secret. For 24 hours messages are signed with both the old
    /// and the new secret, so receivers can switch without missing any.
    #[oai(
        path = "/:id/rotate",
        method = "post",
        operation_id = "rotateWebhookSecret"
    )]
    async fn rotate(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<RotatedSecret>> {
        let (sub, secret) = svc::rotate(
            &state.db,
            &state.master_key,
            &auth.0,
            id.0,
            state.clock.now(),
        )
        .await?;
        let previous_secret_expires_at = sub
            .previous_secret_expires_at
            .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("rotation left no expiry")))?;
        Ok(Json(RotatedSecret {
            secret,
            previous_secret_expires_at,
        }))
    }

    /// Send a `ping` event to test the endpoint (whatever event types it asked for).
    #[oai(path = "/:id/ping", method = "post", operation_id = "pingWebhook")]
    async fn ping(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<DeliveryQueued> {
        let d = svc::ping(&state.db, &auth.0, id.0, state.clock.now()).await?;
        Ok(DeliveryQueued::Accepted(Json(delivery_view(d, vec![]))))
    }
}

// ---- The webhooks themselves (what receivers get) ----

/// What a case event tells. Deliberately thin: ids, reference, states, the actor's
/// role and the time; never the narrative, messages or personal data. Fetch details
/// with your own token.
#[derive(Debug, Object)]
pub struct CaseEventData {
    pub complaint_id: Uuid,
    /// Readable reference, e.g. `ED-2026-000123`.
    pub reference: String,
    pub institution_id: Uuid,
    /// The mediating association, once the case is escalated.
    pub association_id: Option<Uuid>,
    /// The timeline action (`file`, `respond`, `timeout`, `message`, …).
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// `learner`, `institution_staff`, `mediator`, `regulator`, `admin` or `system`.
    pub actor_role: String,
    /// The event's position in the case timeline.
    pub seq: i32,
    pub occurred_at: DateTime<Utc>,
}

/// The body of every case event.
#[derive(Debug, Object)]
pub struct CaseEventMessage {
    #[oai(rename = "type")]
    pub event_type: EventTypeDto,
    pub timestamp: DateTime<Utc>,
    pub data: CaseEventData,
}

#[derive(Debug, Object)]
pub struct PingData {
    pub subscription_id: Uuid,
}

/// The body of a `ping`.
#[derive(Debug, Object)]
pub struct PingMessage {
    /// Always `ping`.
    #[oai(rename = "type")]
    pub event_type: EventTypeDto,
    pub timestamp: DateTime<Utc>,
    pub data: PingData,
}

/// The webhooks redress sends: one entry per event type, listed from the same
/// `EventType` list the dispatcher uses.
pub struct EventWebhooks;

impl Webhook for EventWebhooks {
    fn meta() -> Vec<MetaWebhook> {
        EventType::ALL
            .iter()
            .map(|&t| MetaWebhook {
                name: t.as_str(),
                operation: webhook_operation(t),
            })
            .collect()
    }

    fn register(registry: &mut Registry) {
        CaseEventMessage::register(registry);
        PingMessage::register(registry);
    }
}

fn webhook_operation(t: EventType) -> MetaOperation {
    let header = |name: &str, description: &'static str| MetaOperationParam {
        name: name.to_owned(),
        schema: String::schema_ref(),
        in_type: MetaParamIn::Header,
        description: Some(description.to_owned()),
        required: true,
        deprecated: false,
        explode: true,
        style: None,
    };
    let schema = if t == EventType::Ping {
        PingMessage::schema_ref()
    } else {
        CaseEventMessage::schema_ref()
    };
    let answer = |status: u16, description: &'static str| MetaResponse {
        description,
        status: Some(status),
        status_range: None,
        content: vec![],
        headers: vec![],
    };
    MetaOperation {
        method: Method::POST,
        tags: vec!["Webhooks"],
        summary: Some(t.description()),
        description: Some(
            "Signed per Standard Webhooks: verify `webhook-signature` over \
             `{webhook-id}.{webhook-timestamp}.{body}` with your secret, refuse timestamps \
             more than 5 minutes off, and deduplicate by `webhook-id` (delivery is at least \
             once). Answer 2xx within 15 s.",
        ),
        external_docs: None,
        params: vec![
            header(
                HEADER_ID,
                "The message id (`msg_…`); the same on every retry and redelivery.",
            ),
            header(HEADER_TIMESTAMP, "Send time, in unix seconds."),
            header(
                HEADER_SIGNATURE,
                "Space-separated `v1,<base64 HMAC-SHA256>` signatures (two during a secret rotation).",
            ),
        ],
        request: Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema,
            }],
            required: true,
        }),
        responses: MetaResponses {
            responses: vec![
                answer(200, "Received (any 2xx will do)"),
                answer(
                    410,
                    "Gone: the endpoint is disabled at once and sent nothing more",
                ),
                answer(
                    429,
                    "Busy: retried after `Retry-After` (also honoured with 503); \
                     other failures are retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h",
                ),
            ],
        },
        deprecated: false,
        security: vec![],
        operation_id: None,
        code_samples: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::types::ToJSON;

    #[test]
    fn the_wire_names_are_the_domain_names() {
        for &t in EventType::ALL {
            let dto: EventTypeDto = t.into();
            assert_eq!(dto.to_json(), Some(serde_json::json!(t.as_str())), "{t}");
            assert_eq!(EventType::from(dto), t);
        }
    }

    #[test]
    fn every_event_type_is_a_documented_webhook() {
        let names: Vec<&str> = EventWebhooks::meta().iter().map(|w| w.name).collect();
        let all: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, all);
    }
}
