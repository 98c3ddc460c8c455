//! The institution registry: public reads, regulator/admin writes, staff disclosures.
use chrono::{DateTime, Utc};
use entity::institution::{self, InstitutionStatus};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::{
    ApiTags,
    validate::{Fields, optional_text, text, web_url},
};
use crate::{
    auth::{BearerAuth, policy},
    domain::{credit_code::CreditCode, region::RegionCode},
    error::ApiResult,
    service::{institutions as svc, paging},
    state::AppState,
};

/// Longest accepted disclosure text, in characters.
const DISCLOSURE_MAX: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum InstitutionStatusDto {
    Active,
    Suspended,
    Exited,
}

impl From<InstitutionStatus> for InstitutionStatusDto {
    fn from(s: InstitutionStatus) -> Self {
        match s {
            InstitutionStatus::Active => Self::Active,
            InstitutionStatus::Suspended => Self::Suspended,
            InstitutionStatus::Exited => Self::Exited,
        }
    }
}

impl From<InstitutionStatusDto> for InstitutionStatus {
    fn from(s: InstitutionStatusDto) -> Self {
        match s {
            InstitutionStatusDto::Active => Self::Active,
            InstitutionStatusDto::Suspended => Self::Suspended,
            InstitutionStatusDto::Exited => Self::Exited,
        }
    }
}

/// The mandatory disclosures every institution publishes.
#[derive(Debug, Clone, Default, Object)]
pub struct DisclosureDto {
    /// Service rules (服务规则).
    #[oai(default)]
    pub service_rules: String,
    /// Fees and prepayment terms (收费及预付规则).
    #[oai(default)]
    pub fees_and_prepayment: String,
    /// Refund policy (退费政策).
    #[oai(default)]
    pub refund_policy: String,
    /// Teacher qualifications (教师资质).
    #[oai(default)]
    pub teacher_qualifications: String,
    /// How to complain to the institution (投诉联系方式).
    #[oai(default)]
    pub complaint_contact: String,
}

#[derive(Debug, Object)]
pub struct InstitutionView {
    pub id: Uuid,
    pub name: String,
    /// Unified social credit code (统一社会信用代码).
    pub credit_code: String,
    /// Filing number (备案号).
    pub filing_number: String,
    /// 6-digit administrative division code.
    pub region_code: String,
    #[oai(skip_serializing_if_is_none)]
    pub website: Option<String>,
    pub status: InstitutionStatusDto,
    pub disclosure: DisclosureDto,
    #[oai(skip_serializing_if_is_none)]
    pub disclosure_updated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<institution::Model> for InstitutionView {
    fn from(m: institution::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            credit_code: m.credit_code,
            filing_number: m.filing_number,
            region_code: m.region_code,
            website: m.website,
            status: m.status.into(),
            disclosure: DisclosureDto {
                service_rules: m.service_rules,
                fees_and_prepayment: m.fees_and_prepayment,
                refund_policy: m.refund_policy,
                teacher_qualifications: m.teacher_qualifications,
                complaint_contact: m.complaint_contact,
            },
            disclosure_updated_at: m.disclosure_updated_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct CreateInstitutionRequest {
    #[oai(validator(max_length = 800))]
    pub name: String,
    #[oai(validator(max_length = 64))]
    pub credit_code: String,
    #[oai(validator(max_length = 256))]
    pub filing_number: String,
    #[oai(validator(max_length = 16))]
    pub region_code: String,
    #[oai(validator(max_length = 1200))]
    pub website: Option<String>,
    /// Defaults to `active`.
    pub status: Option<InstitutionStatusDto>,
    pub disclosure: Option<DisclosureDto>,
}

/// Registry changes; absent fields stay as they are, `website: null` clears it.
#[derive(Debug, Object)]
pub struct UpdateInstitutionRequest {
    #[oai(validator(max_length = 800))]
    pub name: Option<String>,
    #[oai(validator(max_length = 64))]
    pub credit_code: Option<String>,
    #[oai(validator(max_length = 256))]
    pub filing_number: Option<String>,
    #[oai(validator(max_length = 16))]
    pub region_code: Option<String>,
    pub website: MaybeUndefined<String>,
    pub status: Option<InstitutionStatusDto>,
}

#[derive(Debug, Object)]
pub struct InstitutionPage {
    pub items: Vec<InstitutionView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum InstitutionCreated {
    /// The institution was registered.
    #[oai(status = 201)]
    Created(Json<InstitutionView>),
}

fn parse_disclosure(f: &mut Fields, d: &DisclosureDto) -> Option<svc::Disclosure> {
    let mut one = |name: &str, v: &str| {
        f.check(
            &format!("disclosure.{name}"),
            optional_text(v, DISCLOSURE_MAX),
        )
    };
    Some(svc::Disclosure {
        service_rules: one("service_rules", &d.service_rules)?,
        fees_and_prepayment: one("fees_and_prepayment", &d.fees_and_prepayment)?,
        refund_policy: one("refund_policy", &d.refund_policy)?,
        teacher_qualifications: one("teacher_qualifications", &d.teacher_qualifications)?,
        complaint_contact: one("complaint_contact", &d.complaint_contact)?,
    })
}

/// One missed deadline.
#[derive(Debug, Object)]
pub struct BreachView {
    /// The case reference.
    pub reference: String,
    pub stage: String,
    pub due_at: DateTime<Utc>,
    pub fired_at: DateTime<Utc>,
}

/// The institution's credit record.
#[derive(Debug, Object)]
pub struct InstitutionRecord {
    pub institution_id: Uuid,
    /// Response deadlines missed, ever.
    pub breaches_total: u64,
    pub breaches_last_12_months: u64,
    /// The 50 most recent breaches.
    pub recent_breaches: Vec<BreachView>,
    /// Settlements not carried out (reported by the learner, or past their due date).
    pub settlements_unfulfilled: u64,
    /// Mediations where the institution was found not to engage in good faith.
    pub bad_faith_findings: u64,
}

pub struct InstitutionsApi;

#[OpenApi(prefix_path = "/institutions", tag = "ApiTags::Institutions")]
impl InstitutionsApi {
    /// List institutions (public), optionally by name, region or status.
    #[oai(path = "/", method = "get", operation_id = "listInstitutions")]
    async fn list(
        &self,
        state: Data<&AppState>,
        /// Case-insensitive part of the name.
        #[oai(validator(max_length = 200))]
        name: Query<Option<String>>,
        /// Exact 6-digit region code.
        region: Query<Option<String>>,
        status: Query<Option<InstitutionStatusDto>>,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<InstitutionPage>> {
        let mut f = Fields::default();
        let region = match region.0.as_deref() {
            Some(r) => f.check("region", RegionCode::parse(r)).map(Some),
            None => Some(None),
        };
        let limit = f.check(
            "limit",
            paging::limit(limit.0).map_err(|_| "must be between 1 and 200"),
        );
        let after = f.check(
            "cursor",
            paging::decode(cursor.0.as_deref()).map_err(|_| "is not a valid cursor"),
        );
        let (filter, limit, after) = f.finish(|| {
            Some((
                svc::Filter {
                    name_contains: name.0,
                    region: region?,
                    status: status.0.map(Into::into),
                    ..Default::default()
                },
                limit?,
                after?,
            ))
        })?;
        let (rows, next_cursor) = svc::list(&state.db, filter, after, limit).await?;
        Ok(Json(InstitutionPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// One institution with its registration data and disclosures (public).
    #[oai(path = "/:id", method = "get", operation_id = "getInstitution")]
    async fn get(
        &self,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Json<InstitutionView>> {
        Ok(Json(svc::get(&state.db, id.0).await?.into()))
    }

    /// Register an institution (regulator or admin).
    #[oai(path = "/", method = "post", operation_id = "createInstitution")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateInstitutionRequest>,
    ) -> ApiResult<InstitutionCreated> {
        policy::keep_registry(&auth.0)?;
        let b = body.0;
        let mut f = Fields::default();
        let name = f.check("name", text(&b.name, 200, false));
        let credit_code = f.check("credit_code", CreditCode::parse(&b.credit_code));
        let filing_number = f.check("filing_number", text(&b.filing_number, 64, false));
        let region = f.check("region_code", RegionCode::parse(&b.region_code));
        let website = match b.website.as_deref() {
            Some(w) if !w.trim().is_empty() => f.check("website", web_url(w)).map(Some),
            _ => Some(None),
        };
        let disclosure = parse_disclosure(&mut f, &b.disclosure.unwrap_or_default());
        let new = f.finish(|| {
            Some(svc::NewInstitution {
                name: name?,
                credit_code: credit_code?,
                filing_number: filing_number?,
                region: region?,
                website: website?,
                status: b.status.map_or(InstitutionStatus::Active, Into::into),
                disclosure: disclosure?,
            })
        })?;
        let created = svc::create(&state.db, new, state.clock.now()).await?;
        Ok(InstitutionCreated::Created(Json(created.into())))
    }

    /// Edit registry data (regulator or admin).
    #[oai(path = "/:id", method = "patch", operation_id = "updateInstitution")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<UpdateInstitutionRequest>,
    ) -> ApiResult<Json<InstitutionView>> {
        policy::keep_registry(&auth.0)?;
        let b = body.0;
        let mut f = Fields::default();
        let mut changes = svc::InstitutionChanges {
            status: b.status.map(Into::into),
            ..Default::default()
        };
        if let Some(v) = &b.name {
            changes.name = f.check("name", text(v, 200, false));
        }
        if let Some(v) = &b.credit_code {
            changes.credit_code = f.check("credit_code", CreditCode::parse(v));
        }
        if let Some(v) = &b.filing_number {
            changes.filing_number = f.check("filing_number", text(v, 64, false));
        }
        if let Some(v) = &b.region_code {
            changes.region = f.check("region_code", RegionCode::parse(v));
        }
        match &b.website {
            MaybeUndefined::Value(w) => changes.website = f.check("website", web_url(w)).map(Some),
            MaybeUndefined::Null => changes.website = Some(None),
            MaybeUndefined::Undefined => {}
        }
        let changes = f.finish(|| Some(changes))?;
        let updated = svc::update(&state.db, id.0, changes, state.clock.now()).await?;
        Ok(Json(updated.into()))
    }

    /// Replace the institution's mandatory disclosures (its own staff only).
    #[oai(
        path = "/:id/disclosure",
        method = "put",
        operation_id = "putDisclosure"
    )]
    async fn put_disclosure(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<DisclosureDto>,
    ) -> ApiResult<Json<InstitutionView>> {
        svc::get(&state.db, id.0).await?;
        policy::edit_disclosure(&auth.0, id.0)?;
        let mut f = Fields::default();
        let d = parse_disclosure(&mut f, &body.0);
        let d = f.finish(|| d)?;
        let updated = svc::set_disclosure(&state.db, id.0, d, state.clock.now()).await?;
        Ok(Json(updated.into()))
    }

    /// The institution's credit record: missed deadlines (public).
    #[oai(
        path = "/:id/record",
        method = "get",
        operation_id = "getInstitutionRecord"
    )]
    async fn record(
        &self,
        state: Data<&AppState>,
        id: Path<Uuid>,
    ) -> ApiResult<Json<InstitutionRecord>> {
        svc::get(&state.db, id.0).await?;
        let r = crate::service::sla::record(&state.db, id.0, state.clock.now()).await?;
        Ok(Json(InstitutionRecord {
            institution_id: id.0,
            breaches_total: r.total,
            breaches_last_12_months: r.last_12_months,
            recent_breaches: r
                .recent
                .into_iter()
                .map(|(b, reference)| BreachView {
                    reference,
                    stage: b.stage,
                    due_at: b.due_at,
                    fired_at: b.fired_at,
                })
                .collect(),
            settlements_unfulfilled: r.settlements_unfulfilled,
            bad_faith_findings: r.bad_faith_findings,
        }))
    }
}
