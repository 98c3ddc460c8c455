//! `POST /accounts`: admins create staff, mediator, regulator and admin accounts.
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{
    ApiTags,
    auth::{AccountCreated, RoleDto},
    validate::Fields,
};
use crate::{
    auth::{BearerAuth, policy},
    domain::account::{Email, Password, parse_display_name},
    error::ApiResult,
    service::accounts,
    state::AppState,
};

#[derive(Debug, Object)]
pub struct CreateAccountRequest {
    #[oai(validator(max_length = 320))]
    pub email: String,
    #[oai(validator(max_length = 1024))]
    pub password: String,
    #[oai(validator(max_length = 400))]
    pub display_name: String,
    pub role: RoleDto,
    /// Required for `institution_staff`, forbidden otherwise.
    pub institution_id: Option<Uuid>,
    /// Required for `mediator`, forbidden otherwise.
    pub association_id: Option<Uuid>,
}

pub struct AccountsApi;

#[OpenApi(prefix_path = "/", tag = "ApiTags::Accounts")]
impl AccountsApi {
    /// Create an account of any role (admin only).
    #[oai(path = "/accounts", method = "post", operation_id = "createAccount")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CreateAccountRequest>,
    ) -> ApiResult<AccountCreated> {
        policy::administer(&auth.0)?;
        let mut f = Fields::default();
        let email = f.check("email", Email::parse(&body.email));
        let password = email
            .as_ref()
            .and_then(|e| f.check("password", Password::parse(&body.password, e)));
        let display_name = f.check("display_name", parse_display_name(&body.display_name));
        let new = f.finish(|| {
            Some(accounts::NewAccount {
                email: email?,
                password: password?,
                display_name: display_name?,
                role: body.role.into(),
                institution_id: body.institution_id,
                association_id: body.association_id,
            })
        })?;
        let created = accounts::create(&state.db, new, state.clock.now()).await?;
        Ok(AccountCreated::Created(Json(created.into())))
    }
}
