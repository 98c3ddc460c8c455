//! Argon2id password hashing, off the async runtime (it is deliberately slow and
//! memory-hard: about 19 MiB per hash). At most one hash per core runs at a time, so a
//! burst of logins queues instead of exhausting memory.
use std::sync::LazyLock;

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

use tokio::sync::Semaphore;

use crate::domain::account::Password;

static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    let plain = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(plain.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash. With no stored hash (unknown account) it
/// still spends the same effort on a dummy hash, so timing does not reveal the email.
pub async fn verify(plain: &str, stored: Option<String>) -> anyhow::Result<bool> {
    let _permit = HASHING.acquire().await?;
    let plain = plain.to_owned();
    tokio::task::spawn_blocking(move || {
        let target = stored.as_deref().unwrap_or(DUMMY_HASH);
        let parsed = PasswordHash::new(target).map_err(|e| anyhow::anyhow!("bad hash: {e}"))?;
        let ok = Argon2::default()
            .verify_password(plain.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && stored.is_some())
    })
    .await?
}

/// Argon2id (default parameters) of a random string nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$PPdzYYCTDvjbLtVD9+Gzri/LiM8lfcHEFZMlLW/Fq4I";
