//! One event on its way to one subscription, with its retry state.
use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// A 2xx answer was received.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Every attempt of the schedule failed, or the endpoint answered 410.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: String,
    pub subscription_id: Uuid,
    pub event_type: String,
    pub state: DeliveryState,
    /// Attempts made, redeliveries included.
    pub attempts: i32,
    /// Failed attempts since the delivery was last queued; drives the retry schedule.
    pub failures: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// A dispatcher that claimed the delivery owns it until then.
    pub lease_until: Option<DateTimeUtc>,
    /// Identifies the claim, so that only its owner records the result.
    pub claim_token: Option<Uuid>,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
