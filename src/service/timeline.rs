//! Appending to and reading a case's hash-chained timeline. Appends happen inside the
//! transaction of the change they record, and each writes the change's webhook event to
//! the outbox (and the learner's email, if the change sends one) in that same transaction.
use chrono::{DateTime, Utc};
use entity::complaint_event;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
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

/// Appends one event, linked to the case's latest. The caller holds the case row's
/// write lock (it updated the case in the same transaction), so appends for one case
/// never interleave; the unique (complaint_id, seq) index backs that up. The
/// institution's statistics follow in the same transaction (`stats::on_event`).
pub async fn append(
    db: &impl ConnectionTrait,
    e: NewEvent<'_>,
) -> Result<complaint_event::Model, ApiError> {
    let last = complaint_event::Entity::find()
        .filter(complaint_event::Column::ComplaintId.eq(e.complaint_id))
        .order_by_desc(complaint_event::Column::Seq)
        .limit(1)
        .one(db)
        .await?;
    let event = link(last.as_ref(), e);
    complaint_event::Entity::insert(complaint_event::ActiveModel::from(event.clone()))
        .exec_without_returning(db)
        .await?;
    super::stats::on_event(db, &event).await?;
    super::webhooks::enqueue_case_event(db, &event).await?;
    super::email::on_case_event(db, &event).await?;
    Ok(event)
}

/// The event as stored after `last` (the case's latest event), or as the first of a
/// new timeline.
pub fn link(last: Option<&complaint_event::Model>, e: NewEvent<'_>) -> complaint_event::Model {
    let (seq, prev_hash) = match last {
        Some(l) => (l.seq + 1, l.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
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

/// Recomputes the chain from the stored rows.
pub fn verify(events: &[complaint_event::Model]) -> Result<usize, timeline::BrokenLink> {
    timeline::verify(events.iter().map(|e| StoredLink {
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
    }))
}
