//! The log of every attempt to deliver a webhook.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTimeUtc,
    /// The `webhook-timestamp` sent (unix seconds).
    pub webhook_timestamp: i64,
    /// The HTTP status, when an answer came.
    pub status_code: Option<i32>,
    /// What went wrong without an answer (timeout, connection refused, …).
    pub error: Option<String>,
    pub latency_ms: i32,
    /// The first KiB of the answer's body.
    pub response_body: String,
    pub succeeded: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
