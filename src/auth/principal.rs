//! The authenticated caller, extracted from the bearer token.
use entity::account::Role;
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: Uuid,
    pub role: Role,
    /// Set for institution staff: the one institution they act for.
    pub institution_id: Option<Uuid>,
    /// Set for mediators: their consumer association.
    pub association_id: Option<Uuid>,
}

/// Bearer JWT from `POST /api/v1/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("application state missing")))?;
    Ok(state.jwt.verify(&bearer.token, state.clock.now())?)
}
