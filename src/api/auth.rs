//! `POST /auth/register`, `POST /auth/login`, `GET /me`.
use chrono::{DateTime, Utc};
use entity::account::{self, Role};
use poem::web::{Data, RemoteAddr};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{ApiTags, validate::Fields};
use crate::{
    auth::BearerAuth,
    domain::account::{Email, Password, parse_display_name},
    error::{ApiError, ApiResult},
    service::{accounts, throttle},
    state::AppState,
};

/// A role (DESIGN §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoleDto {
    Learner,
    InstitutionStaff,
    Mediator,
    Regulator,
    Admin,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Learner => Self::Learner,
            Role::InstitutionStaff => Self::InstitutionStaff,
            Role::Mediator => Self::Mediator,
            Role::Regulator => Self::Regulator,
            Role::Admin => Self::Admin,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Learner => Self::Learner,
            RoleDto::InstitutionStaff => Self::InstitutionStaff,
            RoleDto::Mediator => Self::Mediator,
            RoleDto::Regulator => Self::Regulator,
            RoleDto::Admin => Self::Admin,
        }
    }
}

#[derive(Debug, Object)]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: RoleDto,
    #[oai(skip_serializing_if_is_none)]
    pub institution_id: Option<Uuid>,
    #[oai(skip_serializing_if_is_none)]
    pub association_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Whether an admin has disabled the account (it can then neither sign in nor use
    /// a token).
    pub disabled: bool,
    #[oai(skip_serializing_if_is_none)]
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<account::Model> for AccountView {
    fn from(a: account::Model) -> Self {
        Self {
            id: a.id,
            email: a.email,
            display_name: a.display_name,
            role: a.role.into(),
            institution_id: a.institution_id,
            association_id: a.association_id,
            created_at: a.created_at,
            disabled: a.disabled_at.is_some(),
            disabled_at: a.disabled_at,
        }
    }
}

/// `Debug` shows neither the email nor the password.
#[derive(Object)]
pub struct RegisterRequest {
    #[oai(validator(max_length = 320))]
    pub email: String,
    /// At least 10 characters; a short phrase works well.
    #[oai(validator(max_length = 1024))]
    pub password: String,
    /// Shown to the other parties of your cases. Defaults to the part of the email
    /// before `@`.
    #[oai(validator(max_length = 400))]
    pub display_name: Option<String>,
}

/// `Debug` shows neither the email nor the password.
#[derive(Object)]
pub struct LoginRequest {
    #[oai(validator(max_length = 320))]
    pub email: String,
    #[oai(validator(max_length = 1024))]
    pub password: String,
}

/// A password change. `Debug` shows neither password.
#[derive(Object)]
pub struct ChangePasswordRequest {
    #[oai(validator(max_length = 1024))]
    pub current_password: String,
    /// Under the same policy as at sign-up.
    #[oai(validator(max_length = 1024))]
    pub new_password: String,
}

macro_rules! redacted_debug {
    ($ty:ty, $name:literal, [$($shown:ident),*]) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct($name)
                    $(.field(stringify!($shown), &self.$shown))*
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use redacted_debug;

redacted_debug!(RegisterRequest, "RegisterRequest", []);
redacted_debug!(LoginRequest, "LoginRequest", []);
redacted_debug!(ChangePasswordRequest, "ChangePasswordRequest", []);
redacted_debug!(TokenResponse, "TokenResponse", [token_type, expires_in]);

/// An access token. `Debug` does not show the token.
#[derive(Object)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the token in seconds.
    pub expires_in: u64,
}

#[derive(ApiResponse)]
pub enum AccountCreated {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<AccountView>),
}

fn token_for(state: &AppState, acct: &account::Model) -> ApiResult<TokenResponse> {
    let token = state.jwt.issue(
        &accounts::principal_of(acct),
        acct.token_version,
        state.clock.now(),
    )?;
    Ok(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs(),
    })
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Sign up as a learner (or a guardian filing for a minor).
    #[oai(path = "/auth/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        state: Data<&AppState>,
        body: Json<RegisterRequest>,
    ) -> ApiResult<AccountCreated> {
        let mut f = Fields::default();
        let email = f.check("email", Email::parse(&body.email));
        let password = email
            .as_ref()
            .and_then(|e| f.check("password", Password::parse(&body.password, e)));
        let display_name = match (&body.display_name, &email) {
            (Some(name), _) => f.check("display_name", parse_display_name(name)),
            (None, Some(e)) => Some(e.as_str().split('@').next().unwrap_or("learner").to_owned()),
            (None, None) => None,
        };
        let new = f.finish(|| {
            Some(accounts::NewAccount {
                email: email?,
                password: password?,
                display_name: display_name?,
                role: Role::Learner,
                institution_id: None,
                association_id: None,
            })
        })?;
        let created = accounts::create(&state.db, new, state.clock.now()).await?;
        Ok(AccountCreated::Created(Json(created.into())))
    }

    /// Exchange email and password for an access token. Repeated failures are
    /// throttled per account and per client address (429 with `Retry-After`).
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        state: Data<&AppState>,
        remote: &RemoteAddr,
        body: Json<LoginRequest>,
    ) -> ApiResult<Json<TokenResponse>> {
        let s = &state.settings;
        let window = chrono::Duration::seconds(s.login_window_secs);
        let address = remote
            .as_socket_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let acct = accounts::login(
            &state.db,
            &state.address_hasher,
            accounts::LoginAttempt {
                email: &body.email,
                password: &body.password,
                address: &address,
            },
            throttle::Limit {
                max_failures: s.login_max_failures_per_account,
                window,
            },
            throttle::Limit {
                max_failures: s.login_max_failures_per_address,
                window,
            },
            state.clock.now(),
        )
        .await?;
        Ok(Json(token_for(&state, &acct)?))
    }

    /// Change your password (the current one is required). Every token issued before,
    /// this one included, stops working; the answer carries a new token.
    #[oai(
        path = "/me/password",
        method = "post",
        operation_id = "changePassword"
    )]
    async fn change_password(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<ChangePasswordRequest>,
    ) -> ApiResult<Json<TokenResponse>> {
        let s = &state.settings;
        let acct = accounts::change_password(
            &state.db,
            &state.accounts,
            auth.0.account_id,
            accounts::PasswordChange {
                current: &body.current_password,
                new: &body.new_password,
            },
            throttle::Limit {
                max_failures: s.login_max_failures_per_account,
                window: chrono::Duration::seconds(s.login_window_secs),
            },
            state.clock.now(),
        )
        .await?;
        Ok(Json(token_for(&state, &acct)?))
    }

    /// The account behind the token.
    #[oai(path = "/me", method = "get", operation_id = "me")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<AccountView>> {
        let acct = accounts::get(&state.db, auth.0.account_id)
            .await
            .map_err(|e| match e {
                ApiError::NotFound => ApiError::Unauthorized("the account no longer exists".into()),
                other => other,
            })?;
        Ok(Json(acct.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::accounts::CreateAccountRequest;

    #[test]
    fn debug_output_shows_no_password_token_or_email() {
        let shown = [
            format!(
                "{:?}",
                LoginRequest {
                    email: "li@example.com".into(),
                    password: "hunter2-hunter2".into(),
                }
            ),
            format!(
                "{:?}",
                RegisterRequest {
                    email: "li@example.com".into(),
                    password: "hunter2-hunter2".into(),
                    display_name: None,
                }
            ),
            format!(
                "{:?}",
                ChangePasswordRequest {
                    current_password: "hunter2-hunter2".into(),
                    new_password: "hunter3-hunter3".into(),
                }
            ),
            format!(
                "{:?}",
                CreateAccountRequest {
                    email: "li@example.com".into(),
                    password: "hunter2-hunter2".into(),
                    display_name: "Li".into(),
                    role: RoleDto::Admin,
                    institution_id: None,
                    association_id: None,
                }
            ),
            format!(
                "{:?}",
                TokenResponse {
                    access_token: "eyJhbGciOi.secret.token".into(),
                    token_type: "Bearer".into(),
                    expires_in: 60,
                }
            ),
            format!(
                "{:?}",
                accounts::PasswordChange {
                    current: "hunter2-hunter2",
                    new: "hunter3-hunter3",
                }
            ),
        ];
        for s in &shown {
            for secret in ["hunter2", "hunter3", "li@example.com", "secret.token"] {
                assert!(!s.contains(secret), "{s}");
            }
        }
        assert!(shown[4].contains("Bearer"), "{}", shown[4]);
    }
}
