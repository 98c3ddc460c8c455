//! The authenticated caller, extracted from the bearer token.
use entity::account::Role;
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

use crate::{error::ApiError, service::accounts, state::AppState};

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

/// A valid signature is not enough: the account must exist, be enabled and be at the
/// token's version, and the role and bindings the token names must be the account's
/// (a token that claims another role is refused with 401, not reinterpreted).
/// Permissions then come from the stored account.
async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("application state missing")))?;
    let token = state.jwt.verify(&bearer.token, state.clock.now())?;
    let stored = accounts::active_principal(
        &state.db,
        &state.accounts,
        token.account_id,
        token.token_version,
    )
    .await?;
    if stored != token.claimed {
        return Err(ApiError::Unauthorized(
            "the token's role does not match the account; sign in again".into(),
        )
        .into());
    }
    Ok(stored)
}
