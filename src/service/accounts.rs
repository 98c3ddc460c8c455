//! Accounts: learner sign-up, admin-created accounts, login.
use chrono::{DateTime, Utc};
use entity::{account, account::Role, association, institution};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::throttle;
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
        language: Set(None),
    };
    Ok(account::Entity::insert(row).exec_with_returning(db).await?)
}

pub struct LoginAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub address: &'a str,
}

/// Checks credentials. Failures are counted per account and per client address; the
/// answer never says whether the email exists.
pub async fn login(
    db: &impl ConnectionTrait,
    attempt: LoginAttempt<'_>,
    per_account: throttle::Limit,
    per_address: throttle::Limit,
    now: DateTime<Utc>,
) -> Result<account::Model, ApiError> {
    let email = attempt.email.trim().to_lowercase();
    let acct_key = throttle::account_key(&email);
    let addr_key = throttle::address_key(attempt.address);
    throttle::ensure_allowed(db, &[&acct_key, &addr_key], now).await?;

    let found = account::Entity::find()
        .filter(account::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let ok = password::verify(
        attempt.password,
        found.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;
    match found {
        Some(acct) if ok => {
            throttle::clear(db, &acct_key).await?;
            Ok(acct)
        }
        _ => {
            throttle::record_failure(db, &acct_key, per_account, now).await?;
            throttle::record_failure(db, &addr_key, per_address, now).await?;
            Err(ApiError::Unauthorized(
                "email or password is incorrect".into(),
            ))
        }
    }
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> Result<account::Model, ApiError> {
    account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}
