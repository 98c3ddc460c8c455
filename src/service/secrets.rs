//! Secrets the server generates once and shares through the database.
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use entity::app_secret;
use rand::RngCore;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

const JWT_SECRET: &str = "jwt_hs256";

/// The JWT signing key: generated at first start (64 random bytes), then read back, so
/// restarts and other replicas agree. Racing replicas both insert-or-ignore, then read.
pub async fn jwt_secret(db: &impl ConnectionTrait) -> anyhow::Result<Vec<u8>> {
    let mut bytes = [0u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    let row = app_secret::ActiveModel {
        name: Set(JWT_SECRET.to_owned()),
        value: Set(STANDARD.encode(bytes)),
        created_at: Set(Utc::now()),
    };
    app_secret::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec(db)
        .await?;
    let stored = app_secret::Entity::find_by_id(JWT_SECRET.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("JWT secret row missing after insert"))?;
    Ok(STANDARD.decode(stored.value)?)
}
