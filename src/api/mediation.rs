//! Mediation endpoints: claim, offers ledger, settlement, closing without agreement,
//! good-faith findings; and the refund calculator.
use chrono::{DateTime, Duration, Utc};
use entity::{offer, settlement};
use poem::web::Data;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    complaints::{ComplaintView, MoneyDto, case_view},
    validate::text,
};
use crate::{
    auth::BearerAuth,
    domain::{
        mediation::{Side, Term},
        refund,
    },
    error::{ApiError, ApiResult},
    service::mediation as svc,
    state::AppState,
};

const NOTE_MAX: usize = 4_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SideDto {
    Learner,
    Institution,
}

impl From<SideDto> for Side {
    fn from(s: SideDto) -> Self {
        match s {
            SideDto::Learner => Side::Learner,
            SideDto::Institution => Side::Institution,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TermKind {
    Refund,
    ClassHourCredit,
    CourseTransfer,
    ExplanationOrApology,
    Other,
}

/// One term of an offer: `refund` needs `amount_minor`, `class_hour_credit` needs
/// `hours`, the others need `text` (for a transfer: the target course).
#[derive(Debug, Clone, Object)]
pub struct TermDto {
    pub kind: TermKind,
    #[oai(skip_serializing_if_is_none)]
    pub amount_minor: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub hours: Option<u32>,
    #[oai(validator(max_length = 4000), skip_serializing_if_is_none)]
    pub text: Option<String>,
}

fn term_of(t: &TermDto) -> Result<Term, String> {
    let text = || t.text.clone().ok_or_else(|| "needs text".to_owned());
    Ok(match t.kind {
        TermKind::Refund => Term::Refund {
            amount_minor: t.amount_minor.ok_or("a refund needs amount_minor")?,
        },
        TermKind::ClassHourCredit => Term::ClassHourCredit {
            hours: t.hours.ok_or("a class-hour credit needs hours")?,
        },
        TermKind::CourseTransfer => Term::CourseTransfer { course: text()? },
        TermKind::ExplanationOrApology => Term::ExplanationOrApology { text: text()? },
        TermKind::Other => Term::Other { text: text()? },
    })
}

fn term_dto(t: Term) -> TermDto {
    let (kind, amount_minor, hours, text) = match t {
        Term::Refund { amount_minor } => (TermKind::Refund, Some(amount_minor), None, None),
        Term::ClassHourCredit { hours } => (TermKind::ClassHourCredit, None, Some(hours), None),
        Term::CourseTransfer { course } => (TermKind::CourseTransfer, None, None, Some(course)),
        Term::ExplanationOrApology { text } => {
            (TermKind::ExplanationOrApology, None, None, Some(text))
        }
        Term::Other { text } => (TermKind::Other, None, None, Some(text)),
    };
    TermDto {
        kind,
        amount_minor,
        hours,
        text,
    }
}

fn terms_of(stored: &str) -> Vec<TermDto> {
    serde_json::from_str::<Vec<Term>>(stored)
        .unwrap_or_default()
        .into_iter()
        .map(term_dto)
        .collect()
}

#[derive(Debug, Object)]
pub struct AssignRequest {
    /// Admins name a mediator of the case's association; mediators claim for themselves.
    pub mediator_id: Option<Uuid>,
}

#[derive(Debug, Object)]
pub struct OfferRequest {
    /// Required when a mediator makes the offer.
    pub on_behalf_of: Option<SideDto>,
    #[oai(validator(min_items = 1, max_items = 10))]
    pub terms: Vec<TermDto>,
    /// When the offer lapses; defaults to 7 days from now.
    pub expires_at: Option<DateTime<Utc>>,
    #[oai(validator(max_length = 16000))]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OfferStatusDto {
    Open,
    Accepted,
    Declined,
    Superseded,
}

#[derive(Debug, Object)]
pub struct OfferView {
    pub id: Uuid,
    pub side: SideDto,
    pub made_by_role: String,
    pub terms: Vec<TermDto>,
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub status: OfferStatusDto,
    #[oai(skip_serializing_if_is_none)]
    pub answered_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub answer_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<offer::Model> for OfferView {
    fn from(o: offer::Model) -> Self {
        Self {
            id: o.id,
            side: match Side::parse(&o.side) {
                Some(Side::Learner) => SideDto::Learner,
                _ => SideDto::Institution,
            },
            made_by_role: o.made_by_role,
            terms: terms_of(&o.terms),
            note: o.note,
            expires_at: o.expires_at,
            status: match o.status {
                offer::OfferStatus::Open => OfferStatusDto::Open,
                offer::OfferStatus::Accepted => OfferStatusDto::Accepted,
                offer::OfferStatus::Declined => OfferStatusDto::Declined,
                offer::OfferStatus::Superseded => OfferStatusDto::Superseded,
            },
            answered_at: o.answered_at,
            answer_reason: o.answer_reason,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct OfferList {
    pub items: Vec<OfferView>,
}

#[derive(Debug, Object)]
pub struct AnswerOfferRequest {
    pub offer_id: Uuid,
}

#[derive(Debug, Object)]
pub struct DeclineOfferRequest {
    pub offer_id: Uuid,
    #[oai(validator(max_length = 16000))]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReferralDto {
    Arbitration,
    Court,
    Regulator,
}

#[derive(Debug, Object)]
pub struct CloseUnresolvedRequest {
    /// Where the learner can take the dispute next.
    pub referral: ReferralDto,
    #[oai(validator(max_length = 16000))]
    pub note: String,
}

#[derive(Debug, Object)]
pub struct SettlementView {
    pub id: Uuid,
    pub offer_id: Uuid,
    pub terms: Vec<TermDto>,
    #[oai(skip_serializing_if_is_none)]
    pub mediator_id: Option<Uuid>,
    pub agreed_at: DateTime<Utc>,
    /// By when the institution must carry it out.
    pub due_at: DateTime<Utc>,
    /// `pending`, `fulfilled`, `confirmed`, `unfulfilled` or `overdue`.
    pub status: String,
    #[oai(skip_serializing_if_is_none)]
    pub fulfilled_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub confirmed_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub report_note: Option<String>,
}

impl From<settlement::Model> for SettlementView {
    fn from(s: settlement::Model) -> Self {
        Self {
            id: s.id,
            offer_id: s.offer_id,
            terms: terms_of(&s.terms),
            mediator_id: s.mediator_id,
            agreed_at: s.agreed_at,
            due_at: s.due_at,
            status: svc::status_name(s.status).to_owned(),
            fulfilled_at: s.fulfilled_at,
            confirmed_at: s.confirmed_at,
            report_note: s.report_note,
        }
    }
}

#[derive(Debug, Object)]
pub struct SettledView {
    pub complaint: ComplaintView,
    pub settlement: SettlementView,
}

#[derive(Debug, Object)]
pub struct ReportUnfulfilledRequest {
    #[oai(validator(max_length = 16000))]
    pub note: String,
}

#[derive(Debug, Object)]
pub struct GoodFaithRequest {
    pub learner_engaged: bool,
    #[oai(validator(max_length = 8000))]
    pub learner_note: Option<String>,
    pub institution_engaged: bool,
    #[oai(validator(max_length = 8000))]
    pub institution_note: Option<String>,
}

#[derive(Debug, Object)]
pub struct GoodFaithView {
    pub learner_engaged: bool,
    pub institution_engaged: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
pub enum OfferCreated {
    /// The offer is in the ledger.
    #[oai(status = 201)]
    Created(Json<OfferView>),
}

#[derive(ApiResponse)]
pub enum GoodFaithRecorded {
    #[oai(status = 201)]
    Created(Json<GoodFaithView>),
}

#[derive(Debug, Object)]
pub struct RefundEstimateRequest {
    /// What was paid.
    pub paid: MoneyDto,
    pub class_hours_bought: u32,
    #[oai(default)]
    pub class_hours_used: u32,
    #[oai(default)]
    pub days_since_purchase: u32,
    pub course_started: bool,
    /// Length of the prepaid period in days, if known.
    pub prepaid_period_days: Option<u32>,
}

#[derive(Debug, Object)]
pub struct RefundEstimateView {
    pub refund: MoneyDto,
    pub unused_hours: u32,
    /// `not_started_full_refund`, `prorated_unused_hours` or `nothing_unused`.
    pub basis: String,
    pub warnings: Vec<super::complaints::PrepaymentWarningDto>,
}

fn optional_note(field: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    match v {
        Some(t) if !t.trim().is_empty() => text(t, NOTE_MAX, true)
            .map(Some)
            .map_err(|e| ApiError::field(field, e)),
        _ => Ok(None),
    }
}

fn note(field: &str, v: &str) -> Result<String, ApiError> {
    text(v, NOTE_MAX, true).map_err(|e| ApiError::field(field, e))
}

pub struct MediationApi;

#[OpenApi(prefix_path = "/complaints", tag = "ApiTags::Mediation")]
impl MediationApi {
    /// A mediator of the case's association claims it; an admin assigns a named mediator.
    #[oai(path = "/:id/assign", method = "post", operation_id = "assignMediator")]
    async fn assign(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<AssignRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let rules = state.rules();
        let case = svc::assign(&state.db, &rules, &auth.0, id.0, body.0.mediator_id).await?;
        Ok(Json(case_view(&auth.0, case, rules.now)?))
    }

    /// Make an offer (learner, institution, or the mediator on behalf of either). It
    /// supersedes the open offers of the same side.
    #[oai(path = "/:id/offer", method = "post", operation_id = "makeOffer")]
    async fn offer(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<OfferRequest>,
    ) -> ApiResult<OfferCreated> {
        let rules = state.rules();
        let b = body.0;
        let terms = b
            .terms
            .iter()
            .enumerate()
            .map(|(i, t)| term_of(t).map_err(|e| ApiError::field(format!("terms[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        let new = svc::NewOffer {
            on_behalf_of: b.on_behalf_of.map(Into::into),
            terms,
            expires_at: b.expires_at.unwrap_or(rules.now + Duration::days(7)),
            note: optional_note("note", b.note.as_deref())?,
        };
        let row = svc::offer(&state.db, &rules, &auth.0, id.0, new).await?;
        Ok(OfferCreated::Created(Json(row.into())))
    }

    /// The offers ledger of a case.
    #[oai(path = "/:id/offers", method = "get", operation_id = "listOffers")]
    async fn offers(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<OfferList>> {
        let rows = svc::offers(&state.db, &auth.0, id.0).await?;
        Ok(Json(OfferList {
            items: rows.into_iter().map(Into::into).collect(),
        }))
    }

    /// The other side accepts an open offer: the case is settled and the agreement recorded.
    #[oai(
        path = "/:id/accept_offer",
        method = "post",
        operation_id = "acceptOffer"
    )]
    async fn accept_offer(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<AnswerOfferRequest>,
    ) -> ApiResult<Json<SettledView>> {
        let rules = state.rules();
        let (case, agreement) =
            svc::accept_offer(&state.db, &rules, &auth.0, id.0, body.0.offer_id).await?;
        Ok(Json(SettledView {
            complaint: case_view(&auth.0, case, rules.now)?,
            settlement: agreement.into(),
        }))
    }

    /// The other side declines an open offer, with a reason.
    #[oai(
        path = "/:id/decline_offer",
        method = "post",
        operation_id = "declineOffer"
    )]
    async fn decline_offer(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<DeclineOfferRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let rules = state.rules();
        let reason = note("reason", &body.0.reason)?;
        let case =
            svc::decline_offer(&state.db, &rules, &auth.0, id.0, body.0.offer_id, reason).await?;
        Ok(Json(case_view(&auth.0, case, rules.now)?))
    }

    /// The mediator ends mediation without agreement, with a referral.
    #[oai(
        path = "/:id/close_unresolved",
        method = "post",
        operation_id = "closeUnresolved"
    )]
    async fn close_unresolved(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<CloseUnresolvedRequest>,
    ) -> ApiResult<Json<ComplaintView>> {
        let rules = state.rules();
        let referral = match body.0.referral {
            ReferralDto::Arbitration => svc::Referral::Arbitration,
            ReferralDto::Court => svc::Referral::Court,
            ReferralDto::Regulator => svc::Referral::Regulator,
        };
        let n = note("note", &body.0.note)?;
        let case = svc::close_unresolved(&state.db, &rules, &auth.0, id.0, referral, n).await?;
        Ok(Json(case_view(&auth.0, case, rules.now)?))
    }

    /// The settlement agreement of a settled case.
    #[oai(
        path = "/:id/settlement",
        method = "get",
        operation_id = "getSettlement"
    )]
    async fn settlement(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<SettlementView>> {
        Ok(Json(
            svc::settlement_of(&state.db, &auth.0, id.0).await?.into(),
        ))
    }

    /// Institution: the settlement has been carried out.
    #[oai(
        path = "/:id/settlement/fulfil",
        method = "post",
        operation_id = "fulfilSettlement"
    )]
    async fn fulfil(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<SettlementView>> {
        let s = svc::report_settlement(
            &state.db,
            &state.rules(),
            &auth.0,
            id.0,
            svc::SettlementReport::Fulfilled,
        )
        .await?;
        Ok(Json(s.into()))
    }

    /// Learner: confirms the settlement was carried out.
    #[oai(
        path = "/:id/settlement/confirm",
        method = "post",
        operation_id = "confirmSettlement"
    )]
    async fn confirm(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<SettlementView>> {
        let s = svc::report_settlement(
            &state.db,
            &state.rules(),
            &auth.0,
            id.0,
            svc::SettlementReport::Confirmed,
        )
        .await?;
        Ok(Json(s.into()))
    }

    /// Learner: the settlement was not carried out (kept on the institution's record).
    #[oai(
        path = "/:id/settlement/report_unfulfilled",
        method = "post",
        operation_id = "reportSettlementUnfulfilled"
    )]
    async fn report_unfulfilled(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<ReportUnfulfilledRequest>,
    ) -> ApiResult<Json<SettlementView>> {
        let n = note("note", &body.0.note)?;
        let s = svc::report_settlement(
            &state.db,
            &state.rules(),
            &auth.0,
            id.0,
            svc::SettlementReport::Unfulfilled { note: n },
        )
        .await?;
        Ok(Json(s.into()))
    }

    /// The mediator records whether each party engaged in good faith (once, after mediation).
    #[oai(
        path = "/:id/good_faith",
        method = "post",
        operation_id = "recordGoodFaith"
    )]
    async fn good_faith(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<GoodFaithRequest>,
    ) -> ApiResult<GoodFaithRecorded> {
        let b = body.0;
        let gf = svc::GoodFaith {
            learner_engaged: b.learner_engaged,
            learner_note: optional_note("learner_note", b.learner_note.as_deref())?,
            institution_engaged: b.institution_engaged,
            institution_note: optional_note("institution_note", b.institution_note.as_deref())?,
        };
        let row = svc::record_good_faith(&state.db, &state.rules(), &auth.0, id.0, gf).await?;
        Ok(GoodFaithRecorded::Created(Json(GoodFaithView {
            learner_engaged: row.learner_engaged,
            institution_engaged: row.institution_engaged,
            created_at: row.created_at,
        })))
    }
}

pub struct ToolsApi;

#[OpenApi(prefix_path = "/tools", tag = "ApiTags::Mediation")]
impl ToolsApi {
    /// Estimate the refund the common rule gives: everything before the course starts,
    /// the unused share of class hours after; flags prepayment beyond the limits for
    /// online training (more than 60 class hours or 3 months). Public.
    #[oai(
        path = "/refund-estimate",
        method = "post",
        operation_id = "estimateRefund"
    )]
    async fn refund_estimate(
        &self,
        body: Json<RefundEstimateRequest>,
    ) -> ApiResult<Json<RefundEstimateView>> {
        let b = body.0;
        let input = refund::RefundInput {
            paid_minor: b.paid.amount_minor,
            currency: b.paid.currency.clone(),
            hours_bought: b.class_hours_bought,
            hours_used: b.class_hours_used,
            days_since_purchase: b.days_since_purchase,
            course_started: b.course_started,
            prepaid_period_days: b.prepaid_period_days,
        };
        let e = refund::estimate(&input).map_err(|e| ApiError::field(e.field(), e.to_string()))?;
        Ok(Json(RefundEstimateView {
            refund: MoneyDto {
                amount_minor: e.refund_minor,
                currency: e.currency,
            },
            unused_hours: e.unused_hours,
            basis: serde_json::to_value(e.basis)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            warnings: e.warnings.into_iter().map(Into::into).collect(),
        }))
    }
}
