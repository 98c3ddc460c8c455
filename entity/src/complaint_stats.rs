//! What one case currently adds to its institution's monthly counters. Each change
//! to the case replaces it and applies the difference to the counters.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaint_stats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: Uuid,
    pub institution_id: Uuid,
    /// `YYYY-MM`, the month the case was received (deployment time zone).
    pub month: String,
    pub answered: i32,
    pub timely_known: i32,
    pub timely: i32,
    pub escalated: i32,
    pub breaches: i32,
    pub outcome: Option<super::complaint::Outcome>,
    pub settlements_unfulfilled: i32,
    pub rating: Option<i16>,
    pub first_answer_days: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
