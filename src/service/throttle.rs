//! Failed-login throttling, shared by all replicas through the database.
use chrono::{DateTime, Duration, Utc};
use entity::login_throttle;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

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

/// How long `key` stays blocked, in seconds (at least 1), or None if it is not.
pub async fn blocked_for(
    db: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, ApiError> {
    Ok(login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .and_then(|row| row.blocked_until)
        .filter(|until| *until > now)
        .map(|until| Ord::max((until - now).num_seconds(), 1) as u64))
}

/// Refuses with 429 (and how long to wait) while any of the keys is blocked.
pub async fn ensure_allowed(
    db: &impl ConnectionTrait,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for key in keys {
        if let Some(secs) = blocked_for(db, key, now).await? {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    Ok(())
}

/// Counts one failure; once the count reaches the limit within the window, the key is
/// blocked until the window ends. The count is one atomic upsert
/// (`INSERT … ON CONFLICT DO UPDATE SET failures = failures + 1 … RETURNING`), so
/// concurrent failures each count: none is lost to a read-then-write race.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    key: &str,
    limit: Limit,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use login_throttle::{Column as T, Entity};
    let current = Expr::col((Entity, T::WindowStartedAt)).gt(now - limit.window);
    let insert = Query::insert()
        .into_table(Entity)
        .columns([T::Key, T::Failures, T::WindowStartedAt, T::BlockedUntil])
        .values_panic([
            key.into(),
            1.into(),
            now.into(),
            Option::<DateTime<Utc>>::None.into(),
        ])
        .on_conflict(
            OnConflict::column(T::Key)
                .values([
                    (
                        T::Failures,
                        Expr::case(current.clone(), Expr::col((Entity, T::Failures)).add(1))
                            .finally(1)
                            .into(),
                    ),
                    (
                        T::WindowStartedAt,
                        Expr::case(current, Expr::col((Entity, T::WindowStartedAt)))
                            .finally(now)
                            .into(),
                    ),
                ])
                .to_owned(),
        )
        .returning(Query::returning().columns([T::Failures, T::WindowStartedAt]))
        .to_owned();
    let row = db
        .query_one(&insert)
        .await?
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("upsert returned no row")))?;
    let failures: i32 = row.try_get("", "failures")?;
    let started: DateTime<Utc> = row.try_get("", "window_started_at")?;
    if failures >= limit.max_failures {
        // Every failure at or past the limit sets the same end: idempotent.
        Entity::update_many()
            .col_expr(T::BlockedUntil, Expr::value(started + limit.window))
            .filter(T::Key.eq(key))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The failures counted for a key in its current window (0 if none).
pub async fn failures(
    db: &impl ConnectionTrait,
    key: &str,
    window: Duration,
    now: DateTime<Utc>,
) -> Result<i32, ApiError> {
    Ok(login_throttle::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .filter(|r| r.window_started_at + window > now)
        .map_or(0, |r| r.failures))
}

pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), ApiError> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await?;
    Ok(())
}
