//! The append-only, hash-chained case timeline.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// 1, 2, 3… within the case.
    pub seq: i32,
    /// None for the system (timers).
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// Canonical JSON text, hashed as stored.
    pub payload: String,
    pub created_at: DateTimeUtc,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
