//! The webhook outbox: one row per event, written in the transaction of the change
//! that caused it, and fanned out to matching subscriptions by the dispatcher.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_events")]
pub struct Model {
    /// The `webhook-id` (`msg_…`), the same on every attempt and redelivery.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_type: String,
    pub complaint_id: Option<Uuid>,
    /// The case's institution, for scoping.
    pub institution_id: Option<Uuid>,
    /// The case's association at the time of the event, for scoping.
    pub association_id: Option<Uuid>,
    /// Set for events meant for one subscription only (`ping`).
    pub subscription_id: Option<Uuid>,
    /// The exact body sent (and signed).
    pub payload: String,
    pub created_at: DateTimeUtc,
    /// When deliveries were created for it; NULL while waiting in the outbox.
    pub fanned_out_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
