//! Consumer associations: created by admins, listed publicly.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    validate::{Fields, text},
};
use crate::{
    auth::{BearerAuth, policy},
    domain::region::RegionCode,
    error::ApiResult,
    service::{associations as svc, paging},
    state::AppState,
};

#[derive(Debug, Object)]
pub struct AssociationView {
    pub id: Uuid,
    pub name: String,
    /// Region codes served; `000000` is the whole country.
    pub regions: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<svc::AssociationView> for AssociationView {
    fn from(v: svc::AssociationView) -> Self {
        Self {
            id: v.model.id,
            name: v.model.name,
            regions: v.regions,
            created_at: v.model.created_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct CreateAssociationRequest {
    #[oai(validator(max_length = 800))]
    pub name: String,
    /// 6-digit region codes; `000000` for a national association.
    #[oai(validator(min_items = 1, max_items = 500))]
    pub regions: Vec<String>,
}

#[derive(Debug, Object)]
pub struct AssociationPage {
    pub items: Vec<AssociationView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

#[derive(ApiResponse)]
pub enum AssociationCreated {
    /// The association was created.
    #[oai(status = 201)]
    Created(Json<AssociationView>),
}

pub struct AssociationsApi;

#[OpenApi(prefix_path = "/associations", tag = "ApiTags::Associations")]
impl AssociationsApi {
    /// Create a consumer association (admin only).
    #[oai(path = "/", method = "post", operation_id = "createAssociation")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateAssociationRequest>,
    ) -> ApiResult<AssociationCreated> {
        policy::administer(&auth.0)?;
        let mut f = Fields::default();
        let name = f.check("name", text(&body.name, 200, false));
        let regions: Vec<Option<RegionCode>> = body
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| f.check(&format!("regions[{i}]"), RegionCode::parse(r)))
            .collect();
        let (name, regions) =
            f.finish(|| Some((name?, regions.into_iter().collect::<Option<Vec<_>>>()?)))?;
        let created = svc::create(&state.db, name, regions, state.clock.now()).await?;
        Ok(AssociationCreated::Created(Json(created.into())))
    }

    /// List consumer associations (public).
    #[oai(path = "/", method = "get", operation_id = "listAssociations")]
    async fn list(
        &self,
        state: Data<&AppState>,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<AssociationPage>> {
        let limit = paging::limit(limit.0)?;
        let after = paging::decode(cursor.0.as_deref())?;
        let (rows, next_cursor) = svc::list(&state.db, after, limit).await?;
        Ok(Json(AssociationPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }
}
