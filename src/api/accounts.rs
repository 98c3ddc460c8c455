//! Account administration (admins): create staff, mediator, regulator and admin
//! accounts; list accounts; disable and enable them.
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{
    ApiTags,
    auth::{AccountCreated, AccountView, RoleDto, redacted_debug},
    validate::Fields,
};
use crate::{
    auth::{BearerAuth, policy},
    domain::account::{Email, Password, parse_display_name},
    error::ApiResult,
    service::{accounts, paging},
    state::AppState,
};

/// `Debug` shows the role and bindings, not the email or password.
#[derive(Object)]
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

redacted_debug!(
    CreateAccountRequest,
    "CreateAccountRequest",
    [role, institution_id, association_id]
);

/// A change to an account.
#[derive(Debug, Object)]
pub struct AccountChanges {
    /// `true` disables the account (its tokens stop working at once, and stay revoked
    /// when it is enabled again); `false` enables it.
    pub disabled: Option<bool>,
}

#[derive(Debug, Object)]
pub struct AccountPage {
    pub items: Vec<AccountView>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
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

    /// Accounts, newest first (admin only): filter by `role`, and by the start of the
    /// email (`email_prefix`, case-insensitive).
    #[oai(path = "/accounts", method = "get", operation_id = "listAccounts")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        limit: Query<Option<u64>>,
        cursor: Query<Option<String>>,
        role: Query<Option<RoleDto>>,
        #[oai(validator(max_length = 320))] email_prefix: Query<Option<String>>,
    ) -> ApiResult<Json<AccountPage>> {
        policy::administer(&auth.0)?;
        let limit = paging::limit(limit.0)?;
        let before = paging::decode(cursor.0.as_deref())?;
        let filter = accounts::AccountFilter {
            role: role.0.map(Into::into),
            email_prefix: email_prefix.0,
        };
        let (rows, next_cursor) = accounts::list(&state.db, filter, before, limit).await?;
        Ok(Json(AccountPage {
            items: rows.into_iter().map(Into::into).collect(),
            next_cursor,
        }))
    }

    /// Disable or enable an account (admin only). A disabled account's tokens are
    /// refused from the next request on; admins cannot disable themselves.
    #[oai(
        path = "/accounts/:id",
        method = "patch",
        operation_id = "updateAccount"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: Json<AccountChanges>,
    ) -> ApiResult<Json<AccountView>> {
        policy::administer(&auth.0)?;
        let acct = match body.disabled {
            Some(disabled) => {
                accounts::set_disabled(
                    &state.db,
                    &state.accounts,
                    &auth.0,
                    id.0,
                    disabled,
                    state.clock.now(),
                )
                .await?
            }
            None => accounts::get(&state.db, id.0).await?,
        };
        Ok(Json(acct.into()))
    }
}
