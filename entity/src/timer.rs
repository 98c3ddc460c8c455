//! One SLA timer: the warning or the deadline of one stage entry of a case.
use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TimerKind {
    #[sea_orm(string_value = "warning")]
    Warning,
    #[sea_orm(string_value = "deadline")]
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum TimerState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "fired")]
    Fired,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "timers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub complaint_id: Uuid,
    /// The stage entry it belongs to (the case's `stage_seq` when it was scheduled).
    pub epoch: i32,
    /// The case state the timer belongs to.
    pub stage: String,
    pub kind: TimerKind,
    pub due_at: DateTimeUtc,
    pub state: TimerState,
    /// A worker that claimed the timer owns it until then.
    pub lease_until: Option<DateTimeUtc>,
    pub fired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
