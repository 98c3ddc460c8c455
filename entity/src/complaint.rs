use sea_orm::entity::prelude::*;

/// The case state (DESIGN §2), stored as text with a CHECK constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum CaseState {
    #[sea_orm(string_value = "submitted")]
    Submitted,
    #[sea_orm(string_value = "awaiting_response")]
    AwaitingResponse,
    #[sea_orm(string_value = "info_requested")]
    InfoRequested,
    #[sea_orm(string_value = "responded")]
    Responded,
    #[sea_orm(string_value = "awaiting_mediation")]
    AwaitingMediation,
    #[sea_orm(string_value = "in_mediation")]
    InMediation,
    #[sea_orm(string_value = "resolved")]
    Resolved,
    #[sea_orm(string_value = "settled")]
    Settled,
    #[sea_orm(string_value = "unresolved")]
    Unresolved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "withdrawn")]
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Category {
    #[sea_orm(string_value = "refund")]
    Refund,
    #[sea_orm(string_value = "false_advertising")]
    FalseAdvertising,
    #[sea_orm(string_value = "course_quality")]
    CourseQuality,
    #[sea_orm(string_value = "teacher_qualification")]
    TeacherQualification,
    #[sea_orm(string_value = "service_stopped")]
    ServiceStopped,
    #[sea_orm(string_value = "contract_terms")]
    ContractTerms,
    #[sea_orm(string_value = "training_loan")]
    TrainingLoan,
    #[sea_orm(string_value = "personal_information")]
    PersonalInformation,
    #[sea_orm(string_value = "other")]
    Other,
}

/// What the learner asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum DesiredRemedy {
    #[sea_orm(string_value = "full_refund")]
    FullRefund,
    #[sea_orm(string_value = "partial_refund")]
    PartialRefund,
    #[sea_orm(string_value = "class_hour_credit")]
    ClassHourCredit,
    #[sea_orm(string_value = "course_transfer")]
    CourseTransfer,
    #[sea_orm(string_value = "explanation_or_apology")]
    ExplanationOrApology,
    #[sea_orm(string_value = "other")]
    Other,
}

/// What the institution's latest response offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ResponseRemedy {
    #[sea_orm(string_value = "refund")]
    Refund,
    #[sea_orm(string_value = "class_hour_credit")]
    ClassHourCredit,
    #[sea_orm(string_value = "course_transfer")]
    CourseTransfer,
    #[sea_orm(string_value = "explanation")]
    Explanation,
    #[sea_orm(string_value = "other")]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
pub enum Outcome {
    #[sea_orm(string_value = "monetary_relief")]
    MonetaryRelief,
    #[sea_orm(string_value = "non_monetary_relief")]
    NonMonetaryRelief,
    #[sea_orm(string_value = "explanation_only")]
    ExplanationOnly,
    #[sea_orm(string_value = "no_agreement")]
    NoAgreement,
    #[sea_orm(string_value = "withdrawn")]
    Withdrawn,
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

/// Whose clock runs on the current deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClockParty {
    #[sea_orm(string_value = "platform")]
    Platform,
    #[sea_orm(string_value = "institution")]
    Institution,
    #[sea_orm(string_value = "learner")]
    Learner,
    #[sea_orm(string_value = "association")]
    Association,
    #[sea_orm(string_value = "mediation")]
    Mediation,
}

/// The kind of an institution's public response to a published case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PublicResponseKind {
    #[sea_orm(string_value = "disputes_the_facts")]
    DisputesTheFacts,
    #[sea_orm(string_value = "resolved_with_the_learner")]
    ResolvedWithTheLearner,
    #[sea_orm(string_value = "acted_on_the_feedback")]
    ActedOnTheFeedback,
    #[sea_orm(string_value = "under_review")]
    UnderReview,
    #[sea_orm(string_value = "other")]
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "complaints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub reference: String,
    pub learner_id: Uuid,
    pub institution_id: Uuid,
    pub association_id: Option<Uuid>,
    pub mediator_id: Option<Uuid>,
    pub state: CaseState,
    /// Optimistic concurrency: every change checks and bumps it in the UPDATE.
    pub version: i32,
    /// Which entry into a stage the case is in: bumped only when the state changes.
    /// A timer belongs to one entry, so only leaving the stage cancels it.
    pub stage_seq: i32,
    /// The timeline's anchor: how many events it has and the hash of the last one,
    /// written with every append, so a cut tail or a rewritten head is detected.
    pub timeline_len: i32,
    pub timeline_head: String,
    pub category: Category,
    pub title: String,
    pub narrative: String,
    pub desired_remedy: DesiredRemedy,
    pub desired_amount_minor: Option<i64>,
    pub currency: String,
    pub amount_in_dispute_minor: Option<i64>,
    pub course_reference: Option<String>,
    pub purchase_date: Option<Date>,
    pub prepaid_minor: Option<i64>,
    pub hours_bought: Option<i32>,
    pub hours_used: Option<i32>,
    pub prepaid_period_days: Option<i32>,
    pub filed_for_minor: bool,
    pub minor_age_band: Option<String>,
    pub minor_initials: Option<String>,
    pub consent_to_publish: bool,
    /// JSON list of prepayment warnings found at filing.
    pub prepayment_warnings: Option<String>,
    pub response_remedy: Option<ResponseRemedy>,
    pub outcome: Option<Outcome>,
    pub timely: Option<bool>,
    /// The current stage's deadline, and whose clock it is.
    pub due_at: Option<DateTimeUtc>,
    pub clock: Option<ClockParty>,
    /// The institution's own deadline (kept while its clock is paused).
    pub response_due_at: Option<DateTimeUtc>,
    /// When the institution's clock was paused (information requested).
    pub paused_at: Option<DateTimeUtc>,
    pub first_response_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub rating: Option<i16>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The institution's own working days to its first answer (pauses excluded).
    pub first_response_working_days: Option<i32>,
    /// From when the case is open data: its first answer, or its response deadline.
    pub published_at: Option<DateTimeUtc>,
    /// The institution's short public response: a kind from a fixed list, and text.
    pub public_response_kind: Option<PublicResponseKind>,
    pub public_response_text: Option<String>,
    pub public_response_at: Option<DateTimeUtc>,
    /// A mediator's or regulator's amended redaction of the narrative, published
    /// instead of the automatic one.
    pub publication_text: Option<String>,
    pub publication_amended_by: Option<Uuid>,
    pub publication_amended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
