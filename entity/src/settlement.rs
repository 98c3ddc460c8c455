//! The agreement recorded when an offer is accepted in mediation.
use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SettlementStatus {
    /// Waiting for the institution to carry it out.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The institution says it is done.
    #[sea_orm(string_value = "fulfilled")]
    Fulfilled,
    /// The learner confirms it is done.
    #[sea_orm(string_value = "confirmed")]
    Confirmed,
    /// The learner reports it was not carried out.
    #[sea_orm(string_value = "unfulfilled")]
    Unfulfilled,
    /// The due date passed without fulfilment.
    #[sea_orm(string_value = "overdue")]
    Overdue,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settlements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub complaint_id: Uuid,
    pub offer_id: Uuid,
    pub terms: String,
    pub mediator_id: Option<Uuid>,
    pub agreed_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub status: SettlementStatus,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub reported_at: Option<DateTimeUtc>,
    pub report_note: Option<String>,
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
