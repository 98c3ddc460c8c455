//! One email to one recipient, on its way out: written in the transaction of the change
//! that causes it, claimed with a lease and sent by the email worker.
use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MailState {
    /// Waiting for its (next) attempt.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Accepted by the SMTP server (or written to the mail folder).
    #[sea_orm(string_value = "sent")]
    Sent,
    /// Given up: refused for good, or every attempt of the schedule failed.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The recipient's account, when the mail is for one.
    pub account_id: Option<Uuid>,
    pub to_address: String,
    /// `zh-CN` or `en`.
    pub language: String,
    /// Which mail (`case_filed`, `verify_email`, …): picks the template.
    pub kind: String,
    pub complaint_id: Option<Uuid>,
    /// The template's values, as a JSON object. Never the narrative.
    pub vars: String,
    pub state: MailState,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// A sender that claimed the mail owns it until then.
    pub lease_until: Option<DateTimeUtc>,
    /// Identifies the claim, so that only its owner records the result.
    pub claim_token: Option<Uuid>,
    pub sent_at: Option<DateTimeUtc>,
    /// Why the last attempt failed (a category and SMTP code, no address or text).
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Without the address or the values: rows may be logged.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailOutbox")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
