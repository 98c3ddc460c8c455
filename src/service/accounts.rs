//! Accounts: learner sign-up, admin-created accounts, login, revocation (disabling,
//! token versions, password changes), and the cached check every authenticated request
//! makes ([`active_principal`]).
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Utc};
use entity::{account, account::Role, association, institution, login_known_address};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, LikeExpr, OnConflict},
};
use uuid::Uuid;

use super::{paging, throttle};
use crate::{
    auth::{Principal, password},
    domain::account::{Email, Password},
    error::ApiError,
};

pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub display_name: String,
    pub role: Role,
    pub institution_id: Option<Uuid>,
    pub association_id: Option<Uuid>,
}

pub fn principal_of(acct: &account::Model) -> Principal {
    Principal {
        account_id: acct.id,
        role: acct.role,
        institution_id: acct.institution_id,
        association_id: acct.association_id,
    }
}

/// Creates an account after checking that role and bindings fit together: staff belong
/// to exactly one existing institution, mediators to one existing association, and no
/// other role is bound to either.
pub async fn create(
    db: &impl ConnectionTrait,
    new: NewAccount,
    now: DateTime<Utc>,
) -> Result<account::Model, ApiError> {
    match (new.role, new.institution_id, new.association_id) {
        (Role::InstitutionStaff, Some(inst), None) => {
            if institution::Entity::find_by_id(inst)
                .one(db)
                .await?
                .is_none()
            {
                return Err(ApiError::field("institution_id", "no such institution"));
            }
        }
        (Role::InstitutionStaff, _, _) => {
            return Err(ApiError::field(
                "institution_id",
                "institution staff need an institution_id and no association_id",
            ));
        }
        (Role::Mediator, None, Some(assoc)) => {
            if association::Entity::find_by_id(assoc)
                .one(db)
                .await?
                .is_none()
            {
                return Err(ApiError::field("association_id", "no such association"));
            }
        }
        (Role::Mediator, _, _) => {
            return Err(ApiError::field(
                "association_id",
                "mediators need an association_id and no institution_id",
            ));
        }
        (_, None, None) => {}
        (_, _, _) => {
            return Err(ApiError::field(
                "role",
                "only institution staff and mediators are bound to an institution or association",
            ));
        }
    }
    if account::Entity::find()
        .filter(account::Column::Email.eq(new.email.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            "an account with this email already exists",
        ));
    }
    let hash = password::hash(&new.password).await?;
    let row = account::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(new.email.as_str().to_owned()),
        password_hash: Set(hash),
        display_name: Set(new.display_name),
        role: Set(new.role),
        institution_id: Set(new.institution_id),
        association_id: Set(new.association_id),
        created_at: Set(now),
        disabled_at: Set(None),
        token_version: Set(0),
        language: Set(None),
    };
    Ok(account::Entity::insert(row).exec_with_returning(db).await?)
}

pub struct LoginAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub address: &'a str,
}

/// How long a successful login address stays known.
pub const KNOWN_ADDRESS_DAYS: i64 = 90;

/// Hashes client addresses under a key of the deployment's own (an HMAC), so that the
/// stored hashes of known login addresses cannot be turned back into addresses by
/// trying all of them. `Debug` does not show the key.
#[derive(Clone)]
pub struct AddressHasher(Vec<u8>);

impl std::fmt::Debug for AddressHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressHasher(***)")
    }
}

impl AddressHasher {
    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    pub fn hash(&self, address: &str) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac =
            <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(address.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

async fn is_known_address(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    use login_known_address::Column as K;
    Ok(login_known_address::Entity::find()
        .filter(K::AccountId.eq(account_id))
        .filter(K::AddressHash.eq(hash))
        .filter(K::LastSuccessAt.gt(now - chrono::Duration::days(KNOWN_ADDRESS_DAYS)))
        .one(db)
        .await?
        .is_some())
}

async fn remember_address(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use login_known_address::Column as K;
    login_known_address::Entity::insert(login_known_address::ActiveModel {
        account_id: Set(account_id),
        address_hash: Set(hash.to_owned()),
        last_success_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([K::AccountId, K::AddressHash])
            .update_column(K::LastSuccessAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    login_known_address::Entity::delete_many()
        .filter(K::AccountId.eq(account_id))
        .filter(K::LastSuccessAt.lt(now - chrono::Duration::days(KNOWN_ADDRESS_DAYS)))
        .exec(db)
        .await?;
    Ok(())
}

/// Checks credentials. The answer never says whether the email exists.
///
/// Failures are counted per client address and per account (atomically, see
/// `throttle`). A blocked address gets 429 for every account. A blocked account gets
/// 429 too, except for its owner: the right password from an address the account
/// signed in from successfully in the last [`KNOWN_ADDRESS_DAYS`] days still signs in,
/// so an attacker's failures cannot lock the owner out (they only lock out addresses
/// the account has not used). Known addresses are stored as keyed hashes.
pub async fn login(
    db: &impl ConnectionTrait,
    hasher: &AddressHasher,
    attempt: LoginAttempt<'_>,
    per_account: throttle::Limit,
    per_address: throttle::Limit,
    now: DateTime<Utc>,
) -> Result<account::Model, ApiError> {
    let email = attempt.email.trim().to_lowercase();
    let acct_key = throttle::account_key(&email);
    let addr_key = throttle::address_key(attempt.address);
    throttle::ensure_allowed(db, &[&addr_key], now).await?;

    let found = account::Entity::find()
        .filter(account::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let address_hash = hasher.hash(attempt.address);
    let account_block = throttle::blocked_for(db, &acct_key, now).await?;
    let too_many = |retry_after_secs| ApiError::TooManyRequests { retry_after_secs };
    if let Some(secs) = account_block {
        let known = match &found {
            Some(acct) => is_known_address(db, acct.id, &address_hash, now).await?,
            None => false,
        };
        if !known {
            return Err(too_many(secs));
        }
    }
    let ok = password::verify(
        attempt.password,
        found.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;
    match found {
        Some(acct) if ok => {
            if account_block.is_none() {
                throttle::clear(db, &acct_key).await?;
            }
            if acct.disabled_at.is_some() {
                return Err(ApiError::Unauthorized("this account is disabled".into()));
            }
            remember_address(db, acct.id, &address_hash, now).await?;
            Ok(acct)
        }
        _ => {
            throttle::record_failure(db, &acct_key, per_account, now).await?;
            throttle::record_failure(db, &addr_key, per_address, now).await?;
            Err(account_block
                .map(too_many)
                .unwrap_or_else(|| ApiError::Unauthorized("email or password is incorrect".into())))
        }
    }
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<account::Model, ApiError> {
    account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// What a request needs to know about its account, as last read.
#[derive(Debug, Clone)]
struct Standing {
    principal: Principal,
    token_version: i32,
    disabled: bool,
}

/// Accounts as recently read, so that each request does not read its account again.
/// An entry lives at most `ttl`: a change made through another replica is seen within
/// that; a change made through this process is seen at once ([`AccountCache::forget`]
/// is called by every function here that changes an account).
pub struct AccountCache {
    ttl: StdDuration,
    entries: Mutex<HashMap<Uuid, (Instant, Standing)>>,
}

/// Entries kept before expired ones are swept out.
const CACHE_SWEEP_AT: usize = 10_000;

impl AccountCache {
    pub fn new(ttl: StdDuration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, id: Uuid) -> Option<Standing> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, s)| s.clone())
    }

    fn put(&self, id: Uuid, standing: Standing) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_SWEEP_AT {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        entries.insert(id, (Instant::now(), standing));
    }

    /// Drops what is known of an account, so the next request reads it afresh.
    pub fn forget(&self, id: Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// The caller an authenticated request (a bearer token, or a web session) acts as: the
/// stored account's role and bindings, provided the account exists, is not disabled,
/// and `token_version` is its current one. Anything else is 401. Read through `cache`
/// (at most its TTL old).
pub async fn active_principal(
    db: &impl ConnectionTrait,
    cache: &AccountCache,
    account_id: Uuid,
    token_version: i32,
) -> Result<Principal, ApiError> {
    let standing = match cache.get(account_id) {
        Some(s) => s,
        None => {
            let acct = account::Entity::find_by_id(account_id)
                .one(db)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
            let s = Standing {
                principal: principal_of(&acct),
                token_version: acct.token_version,
                disabled: acct.disabled_at.is_some(),
            };
            cache.put(account_id, s.clone());
            s
        }
    };
    if standing.disabled {
        return Err(ApiError::Unauthorized("this account is disabled".into()));
    }
    if token_version != standing.token_version {
        return Err(ApiError::Unauthorized(
            "this token was revoked (password changed or account disabled); sign in again".into(),
        ));
    }
    Ok(standing.principal)
}

/// Disables or enables an account (admins; the policy is checked by the caller).
/// Disabling also bumps the token version, so tokens issued before stay dead after
/// the account is enabled again. Admins cannot disable themselves (409), so the last
/// admin cannot lock the platform out.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    cache: &AccountCache,
    by: &Principal,
    id: Uuid,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<account::Model, ApiError> {
    let acct = get(db, id).await?;
    if disabled && acct.id == by.account_id {
        return Err(ApiError::conflict("you cannot disable your own account"));
    }
    use account::Column as A;
    match (disabled, acct.disabled_at) {
        (true, None) => {
            account::Entity::update_many()
                .col_expr(A::DisabledAt, Expr::value(now))
                .col_expr(A::TokenVersion, Expr::col(A::TokenVersion).add(1))
                .filter(A::Id.eq(id))
                .exec(db)
                .await?;
        }
        (false, Some(_)) => {
            account::Entity::update_many()
                .col_expr(A::DisabledAt, Expr::value(None::<DateTime<Utc>>))
                .filter(A::Id.eq(id))
                .exec(db)
                .await?;
        }
        _ => {}
    }
    cache.forget(id);
    get(db, id).await
}

/// A password change as asked for: the current password, and the new one.
pub struct PasswordChange<'a> {
    pub current: &'a str,
    pub new: &'a str,
}

impl std::fmt::Debug for PasswordChange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { .. }")
    }
}

/// Changes an account's password after checking the current one (a wrong one counts
/// as a failed login of the account, and is throttled like one), under the password
/// policy. Bumps the token version: every token and session issued before is refused
/// from the next request on. Returns the account as changed (issue a new token with its
/// `token_version`).
pub async fn change_password(
    db: &impl ConnectionTrait,
    cache: &AccountCache,
    account_id: Uuid,
    change: PasswordChange<'_>,
    per_account: throttle::Limit,
    now: DateTime<Utc>,
) -> Result<account::Model, ApiError> {
    let acct = get(db, account_id).await?;
    let acct_key = throttle::account_key(&acct.email);
    throttle::ensure_allowed(db, &[&acct_key], now).await?;
    if !password::verify(change.current, Some(acct.password_hash.clone())).await? {
        throttle::record_failure(db, &acct_key, per_account, now).await?;
        return Err(ApiError::field(
            "current_password",
            "is not the account's current password",
        ));
    }
    let email =
        Email::parse(&acct.email).map_err(|e| ApiError::Unexpected(anyhow::anyhow!("{e}")))?;
    let new =
        Password::parse(change.new, &email).map_err(|e| ApiError::field("new_password", e))?;
    let hash = password::hash(&new).await?;
    use account::Column as A;
    account::Entity::update_many()
        .col_expr(A::PasswordHash, Expr::value(hash))
        .col_expr(A::TokenVersion, Expr::col(A::TokenVersion).add(1))
        .filter(A::Id.eq(account_id))
        .exec(db)
        .await?;
    cache.forget(account_id);
    get(db, account_id).await
}

/// What the admin's account list is narrowed to.
#[derive(Debug, Default)]
pub struct AccountFilter {
    pub role: Option<Role>,
    /// Accounts whose email starts with this (case-insensitive).
    pub email_prefix: Option<String>,
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Accounts, newest first, filtered; cursor-paged by id.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: AccountFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<account::Model>, Option<String>), ApiError> {
    use account::Column as A;
    let mut q = account::Entity::find();
    if let Some(role) = filter.role {
        q = q.filter(A::Role.eq(role));
    }
    if let Some(prefix) = filter.email_prefix.filter(|p| !p.trim().is_empty()) {
        let pattern = format!("{}%", escape_like(&prefix.trim().to_lowercase()));
        q = q.filter(Expr::col(A::Email).like(LikeExpr::new(pattern).escape('\\')));
    }
    if let Some(b) = before {
        q = q.filter(A::Id.lt(b));
    }
    let rows = q.order_by_desc(A::Id).limit(limit + 1).all(db).await?;
    Ok(paging::finish(rows, limit, |r| r.id))
}
