//! Open data and published statistics (public, no token), plus the two case endpoints
//! that feed them: the institution's public response, and the redaction review by
//! mediators and regulators.
use chrono::{DateTime, Utc};
use entity::complaint::PublicResponseKind;
use futures_util::stream;
use poem::{Body, web::Data};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::{Binary, Json},
};
use uuid::Uuid;

use super::{
    ApiTags,
    complaints::{CaseStateDto, CategoryDto, OutcomeDto},
    validate::{Fields, text},
};
use crate::{
    auth::BearerAuth,
    domain::{lifecycle::CaseState, redaction::PiiKind, region::RegionCode},
    error::{ApiError, ApiResult},
    service::{
        institutions,
        open_data::{self as svc, PublicCase},
        paging,
        stats::{self, Figures, Median},
    },
    state::AppState,
};

/// How the institution answers publicly, from a fixed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum PublicResponseKindDto {
    DisputesTheFacts,
    ResolvedWithTheLearner,
    ActedOnTheFeedback,
    UnderReview,
    Other,
}

impl From<PublicResponseKind> for PublicResponseKindDto {
    fn from(k: PublicResponseKind) -> Self {
        match k {
            PublicResponseKind::DisputesTheFacts => Self::DisputesTheFacts,
            PublicResponseKind::ResolvedWithTheLearner => Self::ResolvedWithTheLearner,
            PublicResponseKind::ActedOnTheFeedback => Self::ActedOnTheFeedback,
            PublicResponseKind::UnderReview => Self::UnderReview,
            PublicResponseKind::Other => Self::Other,
        }
    }
}

impl From<PublicResponseKindDto> for PublicResponseKind {
    fn from(k: PublicResponseKindDto) -> Self {
        match k {
            PublicResponseKindDto::DisputesTheFacts => Self::DisputesTheFacts,
            PublicResponseKindDto::ResolvedWithTheLearner => Self::ResolvedWithTheLearner,
            PublicResponseKindDto::ActedOnTheFeedback => Self::ActedOnTheFeedback,
            PublicResponseKindDto::UnderReview => Self::UnderReview,
            PublicResponseKindDto::Other => Self::Other,
        }
    }
}

/// The institution's short public response.
#[derive(Debug, Clone, Object)]
pub struct PublicResponseDto {
    pub kind: PublicResponseKindDto,
    /// At most 500 characters.
    #[oai(validator(max_length = 2000))]
    pub text: String,
}

/// One published case. The CSV has the same columns, in this order, with the public
/// response flattened into `public_response_kind` and `public_response_text`.
#[derive(Debug, Clone, Object)]
pub struct PublicComplaint {
    /// Readable reference, e.g. `ED-2026-000123`.
    pub reference: String,
    /// When the case was received.
    pub received_at: DateTime<Utc>,
    pub category: CategoryDto,
    pub institution_id: Uuid,
    pub institution_name: String,
    /// 6-digit administrative division code of the institution.
    pub region_code: String,
    pub state: CaseStateDto,
    #[oai(skip_serializing_if_is_none)]
    pub outcome: Option<OutcomeDto>,
    /// Whether the institution answered within its time limit (absent until known).
    #[oai(skip_serializing_if_is_none)]
    pub timely: Option<bool>,
    /// The institution's own working days to its first answer.
    #[oai(skip_serializing_if_is_none)]
    pub days_to_first_answer: Option<i32>,
    /// The learner's account, redacted of personal data; only where the learner
    /// consented to publication.
    #[oai(skip_serializing_if_is_none)]
    pub narrative: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub public_response: Option<PublicResponseDto>,
}

impl From<PublicCase> for PublicComplaint {
    fn from(c: PublicCase) -> Self {
        let state: CaseState = c.state.into();
        Self {
            reference: c.reference,
            received_at: c.received_at,
            category: c.category.into(),
            institution_id: c.institution_id,
            institution_name: c.institution_name,
            region_code: c.region_code,
            state: state.into(),
            outcome: c.outcome.map(Into::into),
            timely: c.timely,
            days_to_first_answer: c.days_to_first_answer,
            narrative: c.narrative,
            public_response: c.public_response_kind.zip(c.public_response_text).map(
                |(kind, text)| PublicResponseDto {
                    kind: kind.into(),
                    text,
                },
            ),
        }
    }
}

#[derive(Debug, Object)]
pub struct PublicComplaintPage {
    pub items: Vec<PublicComplaint>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// Published figures of one period. When `suppressed`, fewer cases than the
/// publication minimum were received and every figure but `cases_received` is absent.
#[derive(Debug, Object)]
pub struct PeriodStats {
    /// First month counted (`YYYY-MM`, China Standard Time); absent for all time.
    #[oai(skip_serializing_if_is_none)]
    pub from_month: Option<String>,
    pub cases_received: i64,
    pub suppressed: bool,
    /// Share (0–1) of cases answered within the time limit, of those whose
    /// timeliness is known.
    #[oai(skip_serializing_if_is_none)]
    pub answered_in_time_share: Option<f64>,
    /// Median of the institution's own working days to its first answer.
    #[oai(skip_serializing_if_is_none)]
    pub median_working_days_to_first_answer: Option<f64>,
    /// True when that median is more than 60 working days (then absent above).
    #[oai(skip_serializing_if_is_none)]
    pub median_over_60_working_days: Option<bool>,
    #[oai(skip_serializing_if_is_none)]
    pub outcomes: Option<OutcomeCounts>,
    /// Share (0–1) of cases that went to mediation.
    #[oai(skip_serializing_if_is_none)]
    pub escalated_to_mediation_share: Option<f64>,
    #[oai(skip_serializing_if_is_none)]
    pub settlements_unfulfilled: Option<i64>,
    /// Response deadlines the institution missed.
    #[oai(skip_serializing_if_is_none)]
    pub sla_breaches: Option<i64>,
    /// Mean of learners' ratings (1–5).
    #[oai(skip_serializing_if_is_none)]
    pub mean_rating: Option<f64>,
    #[oai(skip_serializing_if_is_none)]
    pub ratings: Option<i64>,
}

/// Closed cases by outcome.
#[derive(Debug, Object)]
pub struct OutcomeCounts {
    pub closed: i64,
    pub monetary_relief: i64,
    pub non_monetary_relief: i64,
    pub explanation_only: i64,
    pub no_agreement: i64,
    pub withdrawn: i64,
    pub rejected: i64,
}

/// An institution's complaint record, as on its disclosure page.
#[derive(Debug, Object)]
pub struct InstitutionStats {
    pub institution_id: Uuid,
    /// Periods with fewer cases than this are suppressed.
    pub min_cases: i64,
    pub last_12_months: PeriodStats,
    pub all_time: PeriodStats,
}

fn period(f: Figures, from_month: Option<String>) -> PeriodStats {
    let (median, over) = match f.median_days {
        Some(Median::Days { whole, half }) => (
            Some(whole as f64 + if half { 0.5 } else { 0.0 }),
            Some(false),
        ),
        Some(Median::MoreThan60) => (None, Some(true)),
        None => (None, None),
    };
    PeriodStats {
        from_month,
        cases_received: f.received,
        suppressed: f.suppressed,
        answered_in_time_share: f.timely_share,
        median_working_days_to_first_answer: median,
        median_over_60_working_days: over,
        outcomes: f.outcomes.zip(f.closed).map(|(o, closed)| OutcomeCounts {
            closed,
            monetary_relief: o[0],
            non_monetary_relief: o[1],
            explanation_only: o[2],
            no_agreement: o[3],
            withdrawn: o[4],
            rejected: o[5],
        }),
        escalated_to_mediation_share: f.escalated_share,
        settlements_unfulfilled: f.settlements_unfulfilled,
        sla_breaches: f.breaches,
        mean_rating: f.mean_rating,
        ratings: f.ratings,
    }
}

/// The CSV download.
#[derive(ApiResponse)]
pub enum CsvDownload {
    /// Published cases as CSV (UTF-8, header row), streamed.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Csv(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// The learner's narrative as it would be published, for review.
#[derive(Debug, Object)]
pub struct PublicationView {
    pub reference: String,
    /// Whether the learner consented to publishing the narrative.
    pub consent_to_publish: bool,
    /// From when the case is open data (its first answer, or its response deadline).
    #[oai(skip_serializing_if_is_none)]
    pub published_at: Option<DateTime<Utc>>,
    /// The automatic redaction.
    pub automatic: String,
    /// What the automatic redaction removed, by kind.
    pub findings: Vec<FindingCount>,
    /// A mediator's or regulator's amended redaction, if any.
    #[oai(skip_serializing_if_is_none)]
    pub amended: Option<String>,
    /// The text that is published (absent without consent).
    #[oai(skip_serializing_if_is_none)]
    pub published_text: Option<String>,
}

#[derive(Debug, Object)]
pub struct FindingCount {
    /// `phone`, `id_number`, `email`, `bank_card`, `im_id`, `address` or `name`.
    pub kind: String,
    pub count: u32,
}

/// An amended redaction; `text: null` returns to the automatic one.
#[derive(Debug, Object)]
pub struct AmendPublicationRequest {
    #[oai(validator(max_length = 40000))]
    #[oai(skip_serializing_if_is_none)]
    pub text: Option<String>,
}

fn kind_code(k: PiiKind) -> &'static str {
    match k {
        PiiKind::Phone => "phone",
        PiiKind::IdNumber => "id_number",
        PiiKind::Email => "email",
        PiiKind::BankCard => "bank_card",
        PiiKind::ImId => "im_id",
        PiiKind::Address => "address",
        PiiKind::Name => "name",
    }
}

fn publication_view(p: svc::Preview) -> PublicationView {
    let mut counts: Vec<FindingCount> = Vec::new();
    for f in &p.automatic.findings {
        let code = kind_code(f.kind);
        match counts.iter_mut().find(|c| c.kind == code) {
            Some(c) => c.count += 1,
            None => counts.push(FindingCount {
                kind: code.to_owned(),
                count: 1,
            }),
        }
    }
    PublicationView {
        reference: p.case.reference,
        consent_to_publish: p.case.consent_to_publish,
        published_at: p.case.published_at,
        automatic: p.automatic.text,
        findings: counts,
        amended: p.case.publication_text,
        published_text: p.to_publish,
    }
}

/// Query filters shared by the JSON and CSV lists.
struct Filters {
    institution_id: Option<Uuid>,
    region: Option<String>,
    category: Option<CategoryDto>,
    state: Option<CaseStateDto>,
    outcome: Option<OutcomeDto>,
    received_from: Option<DateTime<Utc>>,
    received_before: Option<DateTime<Utc>>,
}

impl Filters {
    fn parse(self, f: &mut Fields) -> Option<svc::Filter> {
        let region = match self.region.as_deref() {
            Some(r) => f.check("region", RegionCode::parse(r)).map(Some),
            None => Some(None),
        };
        Some(svc::Filter {
            institution_id: self.institution_id,
            region: region?.map(|r| r.as_str().to_owned()),
            category: self.category.map(Into::into),
            state: self.state.map(|s| CaseState::from(s).into()),
            outcome: self.outcome.map(Into::into),
            received_from: self.received_from,
            received_before: self.received_before,
        })
    }
}

/// Rows read per database round trip while streaming CSV.
const CSV_CHUNK: u64 = 500;

pub const CSV_COLUMNS: [&str; 13] = [
    "reference",
    "received_at",
    "category",
    "institution_id",
    "institution_name",
    "region_code",
    "state",
    "outcome",
    "timely",
    "days_to_first_answer",
    "narrative",
    "public_response_kind",
    "public_response_text",
];

/// A spreadsheet must not run a cell as a formula: text starting with one of these
/// characters gets a leading apostrophe (OWASP's advice for CSV injection).
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn csv_row(c: &PublicComplaint) -> [String; 13] {
    let code = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    use poem_openapi::types::ToJSON;
    [
        c.reference.clone(),
        c.received_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        code(c.category.to_json().unwrap_or_default()),
        c.institution_id.to_string(),
        cell(&c.institution_name),
        c.region_code.clone(),
        code(c.state.to_json().unwrap_or_default()),
        c.outcome
            .map(|o| code(o.to_json().unwrap_or_default()))
            .unwrap_or_default(),
        c.timely.map(|t| t.to_string()).unwrap_or_default(),
        c.days_to_first_answer
            .map(|d| d.to_string())
            .unwrap_or_default(),
        c.narrative.as_deref().map(cell).unwrap_or_default(),
        c.public_response
            .as_ref()
            .map(|r| code(r.kind.to_json().unwrap_or_default()))
            .unwrap_or_default(),
        c.public_response
            .as_ref()
            .map(|r| cell(&r.text))
            .unwrap_or_default(),
    ]
}

fn csv_bytes<I: IntoIterator<Item = [String; 13]>>(rows: I) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

enum CsvState {
    Header,
    Page(Option<Uuid>),
    Done,
}

/// Streams the published cases as CSV: a header, then one chunk per page of rows
/// read by keyset pagination, so memory stays flat at any number of cases.
fn csv_body(state: AppState, filter: svc::Filter, now: DateTime<Utc>) -> Body {
    let s = stream::unfold(CsvState::Header, move |st| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            match st {
                CsvState::Done => None,
                CsvState::Header => {
                    let mut w = csv::Writer::from_writer(Vec::new());
                    let bytes = w
                        .write_record(CSV_COLUMNS)
                        .map_err(std::io::Error::other)
                        .and_then(|_| w.into_inner().map_err(|e| e.into_error()));
                    Some((bytes, CsvState::Page(None)))
                }
                CsvState::Page(before) => {
                    match svc::page(&state.db, &filter, before, CSV_CHUNK, now).await {
                        Ok((rows, next)) => {
                            let items: Vec<PublicComplaint> =
                                rows.into_iter().map(Into::into).collect();
                            let bytes = csv_bytes(items.iter().map(csv_row));
                            let next_state =
                                match next.and_then(|c| paging::decode(Some(&c)).ok().flatten()) {
                                    Some(id) => CsvState::Page(Some(id)),
                                    None => CsvState::Done,
                                };
                            Some((bytes, next_state))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "open data CSV stream failed");
                            Some((Err(std::io::Error::other("database error")), CsvState::Done))
                        }
                    }
                }
            }
        }
    });
    Body::from_bytes_stream(s)
}

pub struct OpenDataApi;

#[OpenApi(tag = "ApiTags::OpenData")]
impl OpenDataApi {
    /// Published cases (public), newest first, cursor-paged. A case is published once
    /// the institution answered it or its response deadline passed; the narrative only
    /// where the learner consented, redacted of personal data.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/public/complaints",
        method = "get",
        operation_id = "listPublicComplaints"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        institution_id: Query<Option<Uuid>>,
        /// 6-digit code; `XX0000` selects a province, `XXXX00` a city.
        region: Query<Option<String>>,
        category: Query<Option<CategoryDto>>,
        #[oai(name = "state")] case_state: Query<Option<CaseStateDto>>,
        outcome: Query<Option<OutcomeDto>>,
        /// Received at or after this instant.
        received_from: Query<Option<DateTime<Utc>>>,
        /// Received before this instant.
        received_before: Query<Option<DateTime<Utc>>>,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<PublicComplaintPage>> {
        let mut f = Fields::default();
        let filter = Filters {
            institution_id: institution_id.0,
            region: region.0,
            category: category.0,
            state: case_state.0,
            outcome: outcome.0,
            received_from: received_from.0,
            received_before: received_before.0,
        }
        .parse(&mut f);
        let limit = f.check(
            "limit",
            paging::limit(limit.0).map_err(|_| "must be between 1 and 200"),
        );
        let before = f.check(
            "cursor",
            paging::decode(cursor.0.as_deref()).map_err(|_| "is not a valid cursor"),
        );
        let (filter, limit, before) = f.finish(|| Some((filter?, limit?, before?)))?;
        let (rows, next_cursor) =
            svc::page(&state.db, &filter, before, limit, state.clock.now()).await?;
        Ok(Json(PublicComplaintPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// The same published cases as CSV (public), streamed, with the same filters.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/public/complaints.csv",
        method = "get",
        operation_id = "downloadPublicComplaintsCsv"
    )]
    async fn csv(
        &self,
        state: Data<&AppState>,
        institution_id: Query<Option<Uuid>>,
        /// 6-digit code; `XX0000` selects a province, `XXXX00` a city.
        region: Query<Option<String>>,
        category: Query<Option<CategoryDto>>,
        #[oai(name = "state")] case_state: Query<Option<CaseStateDto>>,
        outcome: Query<Option<OutcomeDto>>,
        received_from: Query<Option<DateTime<Utc>>>,
        received_before: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<CsvDownload> {
        let mut f = Fields::default();
        let filter = Filters {
            institution_id: institution_id.0,
            region: region.0,
            category: category.0,
            state: case_state.0,
            outcome: outcome.0,
            received_from: received_from.0,
            received_before: received_before.0,
        }
        .parse(&mut f);
        let filter = f.finish(|| filter)?;
        let now = state.clock.now();
        Ok(CsvDownload::Csv(
            Binary(csv_body(state.0.clone(), filter, now)),
            "attachment; filename=\"complaints.csv\"".into(),
        ))
    }

    /// An institution's complaint record (public): the figures of its disclosure page,
    /// for the last 12 months and all time. Small periods are suppressed.
    #[oai(
        path = "/institutions/:id/stats",
        method = "get",
        operation_id = "getInstitutionStats",
        tag = "ApiTags::Institutions"
    )]
    async fn stats(
        &self,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Json<InstitutionStats>> {
        institutions::get(&state.db, id.0).await?;
        let min = state.settings.stats_min_cases;
        let since = stats::last_12_months_from(state.clock.now());
        let (recent, all) = stats::totals(&state.db, id.0, &since).await?;
        Ok(Json(InstitutionStats {
            institution_id: id.0,
            min_cases: min,
            last_12_months: period(Figures::of(&recent, min), Some(since)),
            all_time: period(Figures::of(&all, min), None),
        }))
    }

    /// Institution staff: set the institution's short public response to a case
    /// (a kind from a fixed list and up to 500 characters), shown with the case in
    /// open data. Replaces an earlier one.
    #[oai(
        path = "/complaints/:id/public_response",
        method = "put",
        operation_id = "putPublicResponse",
        tag = "ApiTags::Complaints"
    )]
    async fn put_public_response(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<PublicResponseDto>,
    ) -> ApiResult<Json<PublicResponseDto>> {
        let t =
            text(&body.text, svc::RESPONSE_MAX, true).map_err(|e| ApiError::field("text", e))?;
        let saved = svc::set_public_response(
            &state.db,
            &auth.0,
            id.0,
            body.kind.into(),
            t,
            state.clock.now(),
        )
        .await?;
        let (kind, text) = saved
            .public_response_kind
            .zip(saved.public_response_text)
            .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("response not stored")))?;
        Ok(Json(PublicResponseDto {
            kind: kind.into(),
            text,
        }))
    }

    /// Mediator or regulator: preview what would be published of the narrative (the
    /// automatic redaction, what it found, and any amendment).
    #[oai(
        path = "/complaints/:id/publication",
        method = "get",
        operation_id = "getPublication",
        tag = "ApiTags::Complaints"
    )]
    async fn publication(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<PublicationView>> {
        let p = svc::preview(&state.db, &auth.0, id.0).await?;
        Ok(Json(publication_view(p)))
    }

    /// Mediator or regulator: publish an amended redaction of the narrative instead of
    /// the automatic one (it is redacted again on the way in); `null` reverts.
    #[oai(
        path = "/complaints/:id/publication",
        method = "put",
        operation_id = "amendPublication",
        tag = "ApiTags::Complaints"
    )]
    async fn amend_publication(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<AmendPublicationRequest>,
    ) -> ApiResult<Json<PublicationView>> {
        let mut f = Fields::default();
        let amended = match body.0.text.as_deref() {
            Some(t) => f.check("text", text(t, 10_000, true)).map(Some),
            None => Some(None),
        };
        let amended = f.finish(|| amended)?;
        let p = svc::amend(&state.db, &auth.0, id.0, amended, state.clock.now()).await?;
        Ok(Json(publication_view(p)))
    }
}
