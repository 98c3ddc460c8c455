//! The mediator's view of whether each party engaged in good faith.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "good_faith")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub complaint_id: Uuid,
    pub mediator_id: Uuid,
    pub learner_engaged: bool,
    pub learner_note: Option<String>,
    pub institution_engaged: bool,
    pub institution_note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::complaint::Entity",
        from = "Column::ComplaintId",
        to = "super::complaint::Column::Id"
    )]
    Complaint,
}

impl Related<super::complaint::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Complaint.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
