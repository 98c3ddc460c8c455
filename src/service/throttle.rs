//! Failed-login throttling, shared by all replicas through the database.
use chrono::{DateTime, Duration, Utc};
use entity::login_throttle;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, sea_query::OnConflict};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: i32,
    pub window: Duration,
}

pub fn account_key(email: &str) -> String {
    format!("acct:{email}")
}

pub fn address_key(addr: &str) -> String {
    format!("addr:{addr}")
}

/// Refuses with 429 (and how long to wait) while any of the keys is blocked.
pub async fn ensure_allowed(
    db: &impl ConnectionTrait,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for key in keys {
        if let Some(row) = login_throttle::Entity::find_by_id(key.to_string())
            .one(db)
            .await?
            && let Some(until) = row.blocked_until
            && until > now
        {
            let secs = (until - now).num_seconds().max(1) as u64;
            return Err(ApiError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    Ok(())
}

/// Counts one failure; once the count reaches the limit within the window, the key is
/// blocked until the window ends.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let existing = login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?;
    let (failures, started) = match existing {
        Some(row) if row.window_started_at + limit.window > now => {
            (row.failures + 1, row.window_started_at)
        }
        _ => (1, now),
    };
    let blocked_until = (failures >= limit.max_failures).then(|| started + limit.window);
    let row = login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(failures),
        window_started_at: Set(started),
        blocked_until: Set(blocked_until),
    };
    login_throttle::Entity::insert(row)
        .on_conflict(
            OnConflict::column(login_throttle::Column::Key)
                .update_columns([
                    login_throttle::Column::Failures,
                    login_throttle::Column::WindowStartedAt,
                    login_throttle::Column::BlockedUntil,
                ])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), ApiError> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await?;
    Ok(())
}
