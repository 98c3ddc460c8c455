//! Complaint counters per institution and month received, kept current in the
//! transaction of every case change.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "institution_stats_monthly")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub institution_id: Uuid,
    /// `YYYY-MM`, the month the cases were received.
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    pub received: i64,
    pub answered: i64,
    /// Cases whose timeliness is known (answered, or the deadline passed).
    pub timely_known: i64,
    pub timely: i64,
    pub escalated: i64,
    pub breaches: i64,
    pub outcome_monetary_relief: i64,
    pub outcome_non_monetary_relief: i64,
    pub outcome_explanation_only: i64,
    pub outcome_no_agreement: i64,
    pub outcome_withdrawn: i64,
    pub outcome_rejected: i64,
    pub settlements_unfulfilled: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
