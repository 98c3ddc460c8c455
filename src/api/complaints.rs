//! Complaint cases: filing, reading, the lifecycle actions, timeline, messages, rating.
use chrono::{DateTime, NaiveDate, Utc};
use entity::complaint::{self, Category, ClockParty, DesiredRemedy, Outcome, ResponseRemedy};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Multipart, Object, OpenApi,
    param::{Header, Path, Query},
    payload::{Attachment, AttachmentType, Json},
    types::{ToJSON, multipart::Upload},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    ApiTags,
    validate::{Fields, text},
};
use crate::{
    auth::BearerAuth,
    domain::{
        lifecycle::{Action, CaseState},
        refund::PrepaymentWarning,
    },
    error::{ApiError, ApiResult},
    service::{complaints as svc, paging},
    state::AppState,
};

const TITLE_MAX: usize = 200;
const NARRATIVE_MAX: usize = 10_000;
const NOTE_MAX: usize = 4_000;

macro_rules! mirror_enum {
    ($(#[$meta:meta])* $dto:ident <=> $entity:ty { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $dto { $($variant),+ }

        impl From<$entity> for $dto {
            fn from(v: $entity) -> Self {
                match v { $(<$entity>::$variant => Self::$variant),+ }
            }
        }

        impl From<$dto> for $entity {
            fn from(v: $dto) -> Self {
                match v { $($dto::$variant => Self::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// The case state (DESIGN §2).
    CaseStateDto <=> CaseState {
        Submitted, AwaitingResponse, InfoRequested, Responded, AwaitingMediation,
        InMediation, Resolved, Settled, Unresolved, Rejected, Withdrawn,
    }
);
mirror_enum!(
    /// What the complaint is about.
    CategoryDto <=> Category {
        Refund, FalseAdvertising, CourseQuality, TeacherQualification, ServiceStopped,
        ContractTerms, TrainingLoan, PersonalInformation, Other,
    }
);
mirror_enum!(
    /// What the learner asks for.
    DesiredRemedyDto <=> DesiredRemedy {
        FullRefund, PartialRefund, ClassHourCredit, CourseTransfer, ExplanationOrApology, Other,
    }
);
mirror_enum!(
    /// What the institution's response offers.
    ResponseRemedyDto <=> ResponseRemedy {
        Refund, ClassHourCredit, CourseTransfer, Explanation, Other,
    }
);
mirror_enum!(
    /// How a closed case ended.
    OutcomeDto <=> Outcome {
        MonetaryRelief, NonMonetaryRelief, ExplanationOnly, NoAgreement, Withdrawn, Rejected,
    }
);
mirror_enum!(
    /// Whose clock runs on the current deadline.
    ClockPartyDto <=> ClockParty { Platform, Institution, Learner, Association, Mediation }
);

/// The zh-CN and English labels of each category, in one place.
pub fn category_labels(c: Category) -> (&'static str, &'static str) {
    match c {
        Category::Refund => ("退费", "Refund"),
        Category::FalseAdvertising => ("虚假宣传", "False advertising"),
        Category::CourseQuality => ("课程质量", "Course quality"),
        Category::TeacherQualification => ("师资资质", "Teacher qualification"),
        Category::ServiceStopped => ("停课跑路", "Service stopped or institution vanished"),
        Category::ContractTerms => ("合同条款", "Contract terms"),
        Category::TrainingLoan => ("培训贷", "Training loan"),
        Category::PersonalInformation => ("个人信息", "Personal information"),
        Category::Other => ("其他", "Other"),
    }
}

/// An action a caller can take on a case (`POST /complaints/{id}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ActionDto {
    AcceptIntake,
    Reject,
    RequestInfo,
    ProvideInfo,
    Respond,
    AcceptResponse,
    Escalate,
    Dispute,
    Assign,
    Offer,
    AcceptOffer,
    DeclineOffer,
    CloseUnresolved,
    Withdraw,
}

fn action_dto(a: Action) -> Option<ActionDto> {
    Some(match a {
        Action::AcceptIntake => ActionDto::AcceptIntake,
        Action::Reject => ActionDto::Reject,
        Action::RequestInfo => ActionDto::RequestInfo,
        Action::ProvideInfo => ActionDto::ProvideInfo,
        Action::Respond => ActionDto::Respond,
        Action::AcceptResponse => ActionDto::AcceptResponse,
        Action::Escalate => ActionDto::Escalate,
        Action::Dispute => ActionDto::Dispute,
        Action::Assign => ActionDto::Assign,
        Action::Offer => ActionDto::Offer,
        Action::AcceptOffer => ActionDto::AcceptOffer,
        Action::DeclineOffer => ActionDto::DeclineOffer,
        Action::CloseUnresolved => ActionDto::CloseUnresolved,
        Action::Withdraw => ActionDto::Withdraw,
        Action::Timeout => return None,
    })
}

/// Money: integer minor units (fen for CNY) and an ISO 4217 code.
#[derive(Debug, Clone, Object)]
pub struct MoneyDto {
    pub amount_minor: i64,
    #[oai(validator(max_length = 3, min_length = 3))]
    pub currency: String,
}

/// Age band of a minor (a guardian files for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum AgeBand {
    #[oai(rename = "under_6")]
    Under6,
    #[oai(rename = "6_to_11")]
    SixToEleven,
    #[oai(rename = "12_to_14")]
    TwelveToFourteen,
    #[oai(rename = "15_to_17")]
    FifteenToSeventeen,
}

impl AgeBand {
    fn as_str(self) -> &'static str {
        match self {
            Self::Under6 => "under_6",
            Self::SixToEleven => "6_to_11",
            Self::TwelveToFourteen => "12_to_14",
            Self::FifteenToSeventeen => "15_to_17",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Self::Under6,
            Self::SixToEleven,
            Self::TwelveToFourteen,
            Self::FifteenToSeventeen,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

/// The minor a guardian files for: an age band and initials only, never an ID number.
#[derive(Debug, Clone, Object)]
pub struct MinorDto {
    pub age_band: AgeBand,
    /// Initials, 1 to 4 letters (e.g. `ZXM`).
    #[oai(validator(max_length = 16))]
    pub initials: String,
}

#[derive(Debug, Clone, Object)]
pub struct FileComplaintRequest {
    pub institution_id: Uuid,
    pub category: CategoryDto,
    #[oai(validator(max_length = 800))]
    pub title: String,
    #[oai(validator(max_length = 40000))]
    pub narrative: String,
    pub desired_remedy: DesiredRemedyDto,
    /// Required for `partial_refund`.
    pub desired_amount: Option<MoneyDto>,
    pub amount_in_dispute: Option<MoneyDto>,
    /// Course name or order number.
    #[oai(validator(max_length = 800))]
    pub course_reference: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub amount_prepaid: Option<MoneyDto>,
    pub class_hours_bought: Option<u32>,
    pub class_hours_used: Option<u32>,
    /// Length of the prepaid period, in days.
    pub prepaid_period_days: Option<u32>,
    /// Set when a guardian files for a minor.
    pub minor: Option<MinorDto>,
    /// May the (redacted) narrative be published as open data?
    #[oai(default)]
    pub consent_to_publish: bool,
}

#[derive(Debug, Clone, Object)]
pub struct PrepaymentWarningDto {
    /// `exceeds_class_hours` or `exceeds_period`.
    pub kind: String,
    /// The prepaid class hours or days.
    pub value: u32,
    /// The limit for online training (60 class hours, 90 days).
    pub limit: u32,
}

impl From<PrepaymentWarning> for PrepaymentWarningDto {
    fn from(w: PrepaymentWarning) -> Self {
        match w {
            PrepaymentWarning::ExceedsClassHours { hours, limit } => Self {
                kind: "exceeds_class_hours".into(),
                value: hours,
                limit,
            },
            PrepaymentWarning::ExceedsPeriod { days, limit_days } => Self {
                kind: "exceeds_period".into(),
                value: days,
                limit: limit_days,
            },
        }
    }
}

/// The running deadline of a case.
#[derive(Debug, Clone, Object)]
pub struct DeadlineDto {
    pub due_at: DateTime<Utc>,
    pub clock: ClockPartyDto,
}

#[derive(Debug, Clone, Object)]
pub struct ComplaintView {
    pub id: Uuid,
    /// Readable reference, e.g. `ED-2026-000123`.
    pub reference: String,
    pub state: CaseStateDto,
    /// Bumped by every change.
    pub version: i32,
    pub learner_id: Uuid,
    pub institution_id: Uuid,
    /// The consumer association mediating, once escalated.
    #[oai(skip_serializing_if_is_none)]
    pub association_id: Option<Uuid>,
    pub category: CategoryDto,
    pub title: String,
    pub narrative: String,
    pub desired_remedy: DesiredRemedyDto,
    #[oai(skip_serializing_if_is_none)]
    pub desired_amount: Option<MoneyDto>,
    #[oai(skip_serializing_if_is_none)]
    pub amount_in_dispute: Option<MoneyDto>,
    #[oai(skip_serializing_if_is_none)]
    pub course_reference: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub purchase_date: Option<NaiveDate>,
    #[oai(skip_serializing_if_is_none)]
    pub amount_prepaid: Option<MoneyDto>,
    #[oai(skip_serializing_if_is_none)]
    pub class_hours_bought: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub class_hours_used: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub prepaid_period_days: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub minor: Option<MinorDto>,
    pub consent_to_publish: bool,
    /// Prepayment beyond the limits for online training, found at filing.
    pub prepayment_warnings: Vec<PrepaymentWarningDto>,
    /// The current stage's deadline and whose clock runs; absent once closed.
    #[oai(skip_serializing_if_is_none)]
    pub deadline: Option<DeadlineDto>,
    /// The institution's own response deadline.
    #[oai(skip_serializing_if_is_none)]
    pub institution_due_at: Option<DateTime<Utc>>,
    /// True while the institution's clock is paused (information requested).
    pub institution_clock_paused: bool,
    /// What the caller may do now.
    pub allowed_actions: Vec<ActionDto>,
    #[oai(skip_serializing_if_is_none)]
    pub first_response_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<OutcomeDto>,
    /// Whether the institution answered within its time limit.
    #[oai(skip_serializing_if_is_none)]
    pub timely: Option<bool>,
    #[oai(skip_serializing_if_is_none)]
    pub closed_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub rating: Option<i16>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn money(amount: Option<i64>, currency: &str) -> Option<MoneyDto> {
    amount.map(|a| MoneyDto {
        amount_minor: a,
        currency: currency.to_owned(),
    })
}

fn view(c: complaint::Model, allowed: Vec<Action>) -> ComplaintView {
    let warnings: Vec<PrepaymentWarning> = c
        .prepayment_warnings
        .as_deref()
        .and_then(|w| serde_json::from_str(w).ok())
        .unwrap_or_default();
    let minor = match (&c.minor_age_band, &c.minor_initials) {
        (Some(band), Some(initials)) => AgeBand::parse(band).map(|age_band| MinorDto {
            age_band,
            initials: initials.clone(),
        }),
        _ => None,
    };
    let deadline = match (c.due_at, c.clock) {
        (Some(due_at), Some(clock)) => Some(DeadlineDto {
            due_at,
            clock: clock.into(),
        }),
        _ => None,
    };
    let state: CaseState = c.state.into();
    ComplaintView {
        id: c.id,
        reference: c.reference,
        state: state.into(),
        version: c.version,
        learner_id: c.learner_id,
        institution_id: c.institution_id,
        association_id: c.association_id,
        category: c.category.into(),
        title: c.title,
        narrative: c.narrative,
        desired_remedy: c.desired_remedy.into(),
        desired_amount: money(c.desired_amount_minor, &c.currency),
        amount_in_dispute: money(c.amount_in_dispute_minor, &c.currency),
        course_reference: c.course_reference,
        purchase_date: c.purchase_date,
        amount_prepaid: money(c.prepaid_minor, &c.currency),
        class_hours_bought: c.hours_bought,
        class_hours_used: c.hours_used,
        prepaid_period_days: c.prepaid_period_days,
        minor,
        consent_to_publish: c.consent_to_publish,
        prepayment_warnings: warnings.into_iter().map(Into::into).collect(),
        deadline,
        institution_due_at: c.response_due_at,
        institution_clock_paused: c.paused_at.is_some(),
        allowed_actions: allowed.into_iter().filter_map(action_dto).collect(),
        first_response_at: c.first_response_at,
        outcome: c.outcome.map(Into::into),
        timely: c.timely,
        closed_at: c.closed_at,
        rating: c.rating,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// A line in a case list.
#[derive(Debug, Clone, Object)]
pub struct ComplaintSummary {
    pub id: Uuid,
    pub reference: String,
    pub state: CaseStateDto,
    pub institution_id: Uuid,
    pub category: CategoryDto,
    pub title: String,
    #[oai(skip_serializing_if_is_none)]
    pub deadline: Option<DeadlineDto>,
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<OutcomeDto>,
    pub created_at: DateTime<Utc>,
}

impl From<svc::CaseSummary> for ComplaintSummary {
    fn from(c: svc::CaseSummary) -> Self {
        let state: CaseState = c.state.into();
        Self {
            id: c.id,
            reference: c.reference,
            state: state.into(),
            institution_id: c.institution_id,
            category: c.category.into(),
            title: c.title,
            deadline: c.due_at.zip(c.clock).map(|(due_at, clock)| DeadlineDto {
                due_at,
                clock: clock.into(),
            }),
            outcome: c.outcome.map(Into::into),
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct ComplaintPage {
    pub items: Vec<ComplaintSummary>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// One timeline entry.
#[derive(Debug, Object)]
pub struct EventView {
    pub seq: i32,
    /// `file`, a lifecycle action, `message`, `rate`, `attachment`, …
    pub action: String,
    pub actor_role: String,
    #[oai(skip_serializing_if_is_none)]
    pub actor_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub from_state: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub to_state: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<entity::complaint_event::Model> for EventView {
    fn from(e: entity::complaint_event::Model) -> Self {
        Self {
            seq: e.seq,
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
            action: e.action,
            actor_role: e.actor_role,
            actor_id: e.actor_id,
            from_state: e.from_state,
            to_state: e.to_state,
            created_at: e.created_at,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

#[derive(Debug, Object)]
pub struct EventList {
    pub items: Vec<EventView>,
}

#[derive(Debug, Object)]
pub struct VerifyView {
    /// True when every event links to the one before and matches its own hash, and
    /// the last one is the head the case records.
    pub intact: bool,
    /// The events stored.
    pub events: u32,
    /// How many events the case records, when that differs from what is stored
    /// (events were removed or added).
    #[oai(skip_serializing_if_is_none)]
    pub recorded_events: Option<u32>,
    /// The first event whose link or content is broken.
    #[oai(skip_serializing_if_is_none)]
    pub broken_at_seq: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RejectReasonDto {
    Duplicate,
    OutOfScope,
    NotOnlineEducation,
    Abusive,
}

#[derive(Debug, Object)]
pub struct RejectRequest {
    pub reason: RejectReasonDto,
    #[oai(validator(max_length = 16000))]
    pub note: String,
}

#[derive(Debug, Object)]
pub struct QuestionsRequest {
    #[oai(validator(max_length = 16000))]
    pub questions: String,
}

#[derive(Debug, Object)]
pub struct AnswerRequest {
    #[oai(validator(max_length = 16000))]
    pub answer: String,
}

#[derive(Debug, Object)]
pub struct RespondRequest {
    /// The institution's answer to the learner.
    #[oai(validator(max_length = 40000))]
    pub message: String,
    pub remedy: ResponseRemedyDto,
    /// Required when `remedy` is `refund`.
    pub refund: Option<MoneyDto>,
    /// Required when `remedy` is `class_hour_credit`.
    pub class_hours: Option<u32>,
    /// Details of the offer (e.g. the course to transfer to).
    #[oai(validator(max_length = 16000))]
    pub detail: Option<String>,
}

#[derive(Debug, Object)]
pub struct ReasonRequest {
    #[oai(validator(max_length = 16000))]
    pub reason: String,
}

#[derive(Debug, Object)]
pub struct WithdrawRequest {
    #[oai(validator(max_length = 16000))]
    pub reason: Option<String>,
}

#[derive(Debug, Object)]
pub struct MessageRequest {
    #[oai(validator(max_length = 40000))]
    pub text: String,
}

#[derive(Debug, Object)]
pub struct RatingRequest {
    /// 1 (poor) to 5 (excellent).
    #[oai(validator(minimum(value = "1"), maximum(value = "5")))]
    pub score: u8,
    #[oai(validator(max_length = 8000))]
    pub comment: Option<String>,
}

#[derive(ApiResponse)]
pub enum Filed {
    /// The complaint was filed.
    #[oai(status = 201)]
    Created(Json<ComplaintView>),
    /// A retry with the same `Idempotency-Key`: the case filed the first time.
    #[oai(status = 200)]
    Replayed(
        Json<ComplaintView>,
        #[oai(header = "Idempotent-Replayed")] bool,
    ),
}

#[derive(ApiResponse)]
pub enum MessagePosted {
    /// The message was added to the timeline.
    #[oai(status = 201)]
    Created(Json<EventView>),
}

#[derive(Debug, Multipart)]
pub struct UploadForm {
    /// PDF, JPEG, PNG, WebP or plain text; at most 10 MiB. Checked by content.
    pub file: Upload,
}

#[derive(Debug, Object)]
pub struct AttachmentView {
    pub id: Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content, also recorded in the timeline.
    pub sha256: String,
    pub uploader_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<entity::attachment::Model> for AttachmentView {
    fn from(a: entity::attachment::Model) -> Self {
        Self {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            uploader_id: a.uploader_id,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct AttachmentList {
    pub items: Vec<AttachmentView>,
}

#[derive(ApiResponse)]
pub enum AttachmentCreated {
    /// The file was stored and recorded in the timeline.
    #[oai(status = 201)]
    Created(Json<AttachmentView>),
}

fn currency_of(f: &mut Fields, fields: &[(&str, &Option<MoneyDto>)]) -> Option<String> {
    let mut found: Option<String> = None;
    for (name, m) in fields {
        let Some(m) = m else { continue };
        if m.amount_minor < 0 {
            f.check::<(), _>(&format!("{name}.amount_minor"), Err("must not be negative"));
        }
        if m.currency.len() != 3 || !m.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            f.check::<(), _>(
                &format!("{name}.currency"),
                Err("must be an ISO 4217 code like CNY"),
            );
            continue;
        }
        match &found {
            Some(c) if *c != m.currency => {
                f.check::<(), _>(
                    &format!("{name}.currency"),
                    Err("all amounts must use one currency"),
                );
            }
            _ => found = Some(m.currency.clone()),
        }
    }
    Some(found.unwrap_or_else(|| "CNY".into()))
}

fn parse_filing(b: FileComplaintRequest) -> Result<svc::NewComplaint, ApiError> {
    let mut f = Fields::default();
    let title = f.check("title", text(&b.title, TITLE_MAX, false));
    let narrative = f.check("narrative", text(&b.narrative, NARRATIVE_MAX, true));
    let currency = currency_of(
        &mut f,
        &[
            ("desired_amount", &b.desired_amount),
            ("amount_in_dispute", &b.amount_in_dispute),
            ("amount_prepaid", &b.amount_prepaid),
        ],
    );
    if b.desired_remedy == DesiredRemedyDto::PartialRefund && b.desired_amount.is_none() {
        f.check::<(), _>("desired_amount", Err("is required for a partial refund"));
    }
    if let (Some(bought), Some(used)) = (b.class_hours_bought, b.class_hours_used)
        && used > bought
    {
        f.check::<(), _>("class_hours_used", Err("cannot exceed class_hours_bought"));
    }
    let course_reference = match b.course_reference.as_deref() {
        Some(c) if !c.trim().is_empty() => {
            f.check("course_reference", text(c, 200, false)).map(Some)
        }
        _ => Some(None),
    };
    let minor = match &b.minor {
        Some(m) => {
            let initials = m.initials.trim();
            let ok = (1..=4).contains(&initials.chars().count())
                && initials.chars().all(|c| c.is_alphabetic());
            f.check(
                "minor.initials",
                if ok {
                    Ok(())
                } else {
                    Err("must be 1 to 4 letters")
                },
            )
            .map(|()| {
                Some(svc::Minor {
                    age_band: m.age_band.as_str().to_owned(),
                    initials: initials.to_uppercase(),
                })
            })
        }
        None => Some(None),
    };
    f.finish(|| {
        Some(svc::NewComplaint {
            institution_id: b.institution_id,
            category: b.category.into(),
            title: title?,
            narrative: narrative?,
            desired_remedy: b.desired_remedy.into(),
            desired_amount_minor: b.desired_amount.map(|m| m.amount_minor),
            currency: currency?,
            amount_in_dispute_minor: b.amount_in_dispute.map(|m| m.amount_minor),
            course_reference: course_reference?,
            purchase_date: b.purchase_date,
            prepaid_minor: b.amount_prepaid.map(|m| m.amount_minor),
            hours_bought: b.class_hours_bought,
            hours_used: b.class_hours_used,
            prepaid_period_days: b.prepaid_period_days,
            minor: minor?,
            consent_to_publish: b.consent_to_publish,
        })
    })
}

fn parse_answer(b: RespondRequest) -> Result<svc::Answer, ApiError> {
    let mut f = Fields::default();
    let message = f.check("message", text(&b.message, NARRATIVE_MAX, true));
    match b.remedy {
        ResponseRemedyDto::Refund => match &b.refund {
            Some(m) if m.amount_minor > 0 => {}
            _ => {
                f.check::<(), _>("refund", Err("a positive refund amount is required"));
            }
        },
        ResponseRemedyDto::ClassHourCredit if b.class_hours.is_none_or(|h| h == 0) => {
            f.check::<(), _>("class_hours", Err("the credited class hours are required"));
        }
        _ => {}
    }
    let detail = match b.detail.as_deref() {
        Some(d) if !d.trim().is_empty() => f.check("detail", text(d, NOTE_MAX, true)).map(Some),
        _ => Some(None),
    };
    f.finish(|| {
        Some(svc::Answer {
            message: message?,
            remedy: b.remedy.into(),
            refund_minor: b.refund.map(|m| m.amount_minor),
            class_hours: b.class_hours,
            detail: detail?,
        })
    })
}

fn note(field: &str, v: &str) -> Result<String, ApiError> {
    text(v, NOTE_MAX, true).map_err(|e| ApiError::field(field, e))
}

pub struct ComplaintsApi;

impl ComplaintsApi {
    async fn run(
        &self,
        state: &AppState,
        auth: &BearerAuth,
        id: Uuid,
        input: svc::ActionInput,
    ) -> ApiResult<Json<ComplaintView>> {
        let rules = state.rules();
        let case = svc::act(&state.db, &rules, &auth.0, id, input).await?;
        Ok(Json(case_view(&auth.0, case, rules.now)?))
    }
}

pub(crate) fn case_view(
    who: &crate::auth::Principal,
    case: complaint::Model,
    now: DateTime<Utc>,
) -> Result<ComplaintView, ApiError> {
    let actor = crate::auth::policy::case_actor(who, &case).ok_or(ApiError::NotFound)?;
    let allowed = svc::allowed_actions(&case, actor, Some(who.account_id), now);
    Ok(view(case, allowed))
}

#[OpenApi(prefix_path = "/complaints", tag = "ApiTags::Complaints")]
impl ComplaintsApi {
    /// File a complaint (learners). Send an `Idempotency-Key` so that a retry does not
    /// file twice.
    #[oai(path = "/", method = "post", operation_id = "fileComplaint")]
    async fn file(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(name = "Idempotency-Key", validator(max_length = 200, min_length = 1))]
        idempotency_key: Header<Option<String>>,
        body: Json<FileComplaintRequest>,
    ) -> ApiResult<Filed> {
        let idem = idempotency_key.0.map(|key| svc::Idempotency {
            key,
            request_hash: hex::encode(Sha256::digest(body.0.to_json_string().as_bytes())),
        });
        let new = parse_filing(body.0)?;
        let rules = state.rules();
        let now = rules.now;
        let filing = svc::Filing {
            rules,
            who: auth.0.clone(),
            new,
            idem,
        };
        let (case, replayed) = state.filings.file(&state.db, filing).await?;
        let v = case_view(&auth.0, case, now)?;
        Ok(if replayed {
            Filed::Replayed(Json(v), true)
        } else {
            Filed::Created(Json(v))
        })
    }

    /// The cases the caller may see, newest first.
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/", method = "get", operation_id = "listComplaints")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        #[oai(name = "state")] case_state: Query<Option<CaseStateDto>>,
        category: Query<Option<CategoryDto>>,
        institution_id: Query<Option<Uuid>>,
        /// Filed at or after this instant.
        filed_from: Query<Option<DateTime<Utc>>>,
        /// Filed before this instant.
        filed_before: Query<Option<DateTime<Utc>>>,
        /// Current deadline before this instant (overdue and soon-due cases).
        due_before: Query<Option<DateTime<Utc>>>,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ComplaintPage>> {
        let limit = paging::limit(limit.0)?;
        let before = paging::decode(cursor.0.as_deref())?;
        let filter = svc::ListFilter {
            state: case_state.0.map(|s| CaseState::from(s).into()),
            category: category.0.map(Into::into),
            institution_id: institution_id.0,
            filed_from: filed_from.0,
            filed_before: filed_before.0,
            due_before: due_before.0,
        };
        let (rows, next_cursor) = svc::list(&state.db, &auth.0, filter, before, limit).await?;
        Ok(Json(ComplaintPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One case, with what the caller may do now.
    #[oai(path = "/:id", method = "get", operation_id = "getComplaint")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ComplaintView>> {
        let (case, actor) = svc::get(&state.db, &auth.0, id.0).await?;
        let allowed =
            svc::allowed_actions(&case, actor, Some(auth.0.account_id), state.clock.now());
        Ok(Json(view(case, allowed)))
    }

    /// The case timeline, oldest first.
    #[oai(
        path = "/:id/events",
        method = "get",
        operation_id = "listComplaintEvents"
    )]
    async fn events(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<EventList>> {
        let events = svc::events(&state.db, &auth.0, id.0).await?;
        Ok(Json(EventList {
            items: events.into_iter().map(Into::into).collect(),
        }))
    }

    /// Recompute the timeline's hash chain and report the first broken link.
    #[oai(
        path = "/:id/verify",
        method = "get",
        operation_id = "verifyComplaintEvents"
    )]
    async fn verify(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<VerifyView>> {
        let v = svc::verify(&state.db, &auth.0, id.0).await?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Json(VerifyView {
            intact: v.broken.is_none(),
            events: count(v.events),
            recorded_events: (v.recorded != v.events).then(|| count(v.recorded)),
            broken_at_seq: v.broken.as_ref().map(|b| b.seq),
            reason: v.broken.map(|b| b.reason.into()),
        }))
    }

    /// Regulator: accept a submitted case for the institution to answer.
    #[oai(
        path = "/:id/accept_intake",
        method = "post",
        operation_id = "acceptIntake"
    )]
    async fn accept_intake(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ComplaintView>> {
        self.run(&state, &auth, id.0, svc::ActionInput::AcceptIntake)
            .await
    }

    /// Regulator: reject an out-of-scope or duplicate case, with a reason.
    #[oai(
        path = "/:id/reject",
        method = "post",
        operation_id = "rejectComplaint"
    )]
    async fn reject(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<RejectRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let reason = match body.reason {
            RejectReasonDto::Duplicate => svc::RejectReason::Duplicate,
            RejectReasonDto::OutOfScope => svc::RejectReason::OutOfScope,
            RejectReasonDto::NotOnlineEducation => svc::RejectReason::NotOnlineEducation,
            RejectReasonDto::Abusive => svc::RejectReason::Abusive,
        };
        let note = note("note", &body.note)?;
        self.run(
            &state,
            &auth,
            id.0,
            svc::ActionInput::Reject { reason, note },
        )
        .await
    }

    /// Institution: ask the learner for information (pauses the institution's clock).
    #[oai(
        path = "/:id/request_info",
        method = "post",
        operation_id = "requestInfo"
    )]
    async fn request_info(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<QuestionsRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let questions = note("questions", &body.questions)?;
        self.run(
            &state,
            &auth,
            id.0,
            svc::ActionInput::RequestInfo { questions },
        )
        .await
    }

    /// Learner: answer the institution's questions (its clock resumes).
    #[oai(
        path = "/:id/provide_info",
        method = "post",
        operation_id = "provideInfo"
    )]
    async fn provide_info(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<AnswerRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let answer = note("answer", &body.answer)?;
        self.run(
            &state,
            &auth,
            id.0,
            svc::ActionInput::ProvideInfo { answer },
        )
        .await
    }

    /// Institution: answer with a remedy or an explanation.
    #[oai(path = "/:id/respond", method = "post", operation_id = "respond")]
    async fn respond(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<RespondRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let answer = parse_answer(body.0)?;
        self.run(&state, &auth, id.0, svc::ActionInput::Respond(answer))
            .await
    }

    /// Learner: accept the institution's response (the case is resolved).
    #[oai(
        path = "/:id/accept_response",
        method = "post",
        operation_id = "acceptResponse"
    )]
    async fn accept_response(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ComplaintView>> {
        self.run(&state, &auth, id.0, svc::ActionInput::AcceptResponse)
            .await
    }

    /// Learner: not satisfied; escalate to a consumer association.
    #[oai(path = "/:id/escalate", method = "post", operation_id = "escalate")]
    async fn escalate(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ReasonRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let reason = note("reason", &body.reason)?;
        self.run(&state, &auth, id.0, svc::ActionInput::Escalate { reason })
            .await
    }

    /// Learner: dispute a resolution within its window (goes to mediation).
    #[oai(path = "/:id/dispute", method = "post", operation_id = "dispute")]
    async fn dispute(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ReasonRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let reason = note("reason", &body.reason)?;
        self.run(&state, &auth, id.0, svc::ActionInput::Dispute { reason })
            .await
    }

    /// Learner: withdraw the complaint.
    #[oai(path = "/:id/withdraw", method = "post", operation_id = "withdraw")]
    async fn withdraw(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<WithdrawRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let reason = match body.0.reason.as_deref() {
            Some(r) if !r.trim().is_empty() => Some(note("reason", r)?),
            _ => None,
        };
        self.run(&state, &auth, id.0, svc::ActionInput::Withdraw { reason })
            .await
    }

    /// A party writes to the others; the message joins the timeline.
    #[oai(path = "/:id/messages", method = "post", operation_id = "postMessage")]
    async fn message(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<MessageRequest>,
    ) -> ApiResult<MessagePosted> {
        let text = text(&body.text, NARRATIVE_MAX, true).map_err(|e| ApiError::field("text", e))?;
        let event = svc::message(&state.db, &state.rules(), &auth.0, id.0, text).await?;
        Ok(MessagePosted::Created(Json(event.into())))
    }

    /// Learner: rate the handling once the case is closed (once).
    #[oai(path = "/:id/rating", method = "post", operation_id = "rateComplaint")]
    async fn rate(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<RatingRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let comment = match body.0.comment.as_deref() {
            Some(c) if !c.trim().is_empty() => Some(note("comment", c)?),
            _ => None,
        };
        let rules = state.rules();
        let case = svc::rate(&state.db, &rules, &auth.0, id.0, body.0.score, comment).await?;
        Ok(Json(case_view(&auth.0, case, rules.now)?))
    }

    /// A party adds evidence (at most 20 files per case).
    #[oai(
        path = "/:id/attachments",
        method = "post",
        operation_id = "uploadAttachment"
    )]
    async fn upload(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        form: UploadForm,
    ) -> ApiResult<AttachmentCreated> {
        if form.file.size() > crate::service::attachments::MAX_BYTES {
            return Err(ApiError::field("file", "must be at most 10 MiB"));
        }
        let name = form.file.file_name().map(str::to_owned);
        let bytes = form
            .file
            .into_vec()
            .await
            .map_err(|e| ApiError::BadRequest(format!("unreadable upload: {e}")))?;
        let row = crate::service::attachments::upload(
            &state.db,
            &state.rules(),
            &state.settings.attachments_dir,
            &auth.0,
            id.0,
            name.as_deref(),
            bytes,
        )
        .await?;
        Ok(AttachmentCreated::Created(Json(row.into())))
    }

    /// The files on a case.
    #[oai(
        path = "/:id/attachments",
        method = "get",
        operation_id = "listAttachments"
    )]
    async fn attachments(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<AttachmentList>> {
        let rows = crate::service::attachments::list(&state.db, &auth.0, id.0).await?;
        Ok(Json(AttachmentList {
            items: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// Download one file (always as a download, never rendered inline).
    #[oai(
        path = "/:id/attachments/:attachment_id",
        method = "get",
        operation_id = "downloadAttachment"
    )]
    async fn download(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        attachment_id: Path<Uuid>,
    ) -> ApiResult<Attachment<Vec<u8>>> {
        let (row, bytes) = crate::service::attachments::read(
            &state.db,
            &state.settings.attachments_dir,
            &auth.0,
            id.0,
            attachment_id.0,
        )
        .await?;
        Ok(Attachment::new(bytes)
            .attachment_type(AttachmentType::Attachment)
            .filename(row.file_name))
    }
}
