//! Secrets the server keeps in the database, sealed under the master key
//! (`domain::sealing`): the generated JWT signing key and other generated keys in
//! `app_secrets`, and every webhook signing secret (current and previous).
//!
//! Where the master key comes from (`key_source`): `REDRESS_MASTER_KEY`, else the
//! file named by `REDRESS_MASTER_KEY_FILE`, else a default file — `<database>.key`
//! beside a SQLite database, `redress-master.key` in the working directory for
//! PostgreSQL. A key file is created (mode 0600) only while the database holds no
//! sealed secret yet; once it does, a missing or different key stops the start with
//! an error naming the key the database was sealed with, so replicas never drift apart
//! on keys of their own.
//!
//! A check value (`app_secrets.master_key_check`) sealed at first start tells at once
//! whether the configured key is the database's. Clear-text values from before sealing
//! are sealed in place at start ([`seal_clear_values`]).
use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use entity::{
    app_secret,
    webhook_subscription::{self, StoredSecret},
};
use rand::RngCore;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use secrecy::ExposeSecret;

use crate::{
    config::Settings,
    db,
    domain::sealing::{self, MasterKey, OpenError},
};

const JWT_SECRET: &str = "jwt_hs256";
const LOGIN_ADDRESS_KEY: &str = "login_address_hmac";
const CHECK: &str = "master_key_check";
const CHECK_PLAIN: &[u8] = b"redress master key check";
/// Prefix of every sealed value, for finding clear ones in SQL.
const SEALED_LIKE: &str = "sealed:v1:%";

/// Where the master key is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `REDRESS_MASTER_KEY`.
    Setting,
    /// A key file (configured, or the default one).
    File(PathBuf),
    /// An in-memory SQLite database: a key for the process's life, like the data.
    Ephemeral,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Setting => f.write_str("REDRESS_MASTER_KEY"),
            Self::File(p) => write!(f, "key file {}", p.display()),
            Self::Ephemeral => f.write_str("a key for this in-memory database"),
        }
    }
}

pub fn key_source(settings: &Settings) -> KeySource {
    if settings.master_key.is_some() {
        return KeySource::Setting;
    }
    if let Some(path) = &settings.master_key_file {
        return KeySource::File(path.clone());
    }
    let url = &settings.database_url;
    if !settings.is_sqlite() {
        return KeySource::File(PathBuf::from("redress-master.key"));
    }
    if url.contains(":memory:") || url.contains("mode=memory") {
        return KeySource::Ephemeral;
    }
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    KeySource::File(PathBuf::from(format!("{path}.key")))
}

/// The file a rotation writes the new key to before it commits.
fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn read_key_file(path: &Path) -> anyhow::Result<Option<MasterKey>> {
    match fs::read_to_string(path) {
        Ok(text) => {
            if let Ok(meta) = fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    path = %path.display(),
                    "the master key file is readable by others; chmod 600 it"
                );
            }
            MasterKey::parse(&text)
                .map(Some)
                .with_context(|| format!("master key file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading master key file {}", path.display())),
    }
}

/// Writes a key file readable by its owner only; `fresh` refuses to replace one.
pub fn write_key_file(path: &Path, key: &MasterKey, fresh: bool) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).mode(0o600);
    if fresh {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    let mut file = opts
        .open(path)
        .with_context(|| format!("writing master key file {}", path.display()))?;
    file.write_all(format!("{}\n", key.encode()).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

fn sync_dir_of(path: &Path) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = fs::File::open(dir) {
        d.sync_all().ok();
    }
}

async fn stored_check(db: &impl ConnectionTrait) -> anyhow::Result<Option<String>> {
    Ok(app_secret::Entity::find_by_id(CHECK.to_owned())
        .one(db)
        .await?
        .map(|r| r.value))
}

/// Loads the master key from its source, finishing a rotation a crash interrupted and
/// creating the key file at a database's first start, then checks it against the
/// database. Fails with a clear error when the key is missing or not the database's.
pub async fn master_key(
    db: &impl ConnectionTrait,
    settings: &Settings,
) -> anyhow::Result<MasterKey> {
    let source = key_source(settings);
    let check = stored_check(db).await?;
    let key = match &source {
        KeySource::Setting => {
            let text = settings
                .master_key
                .as_ref()
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default();
            MasterKey::parse(&text).context("REDRESS_MASTER_KEY")?
        }
        KeySource::Ephemeral => MasterKey::generate(),
        KeySource::File(path) => {
            let current = read_key_file(path)?;
            let pending = pending_path(path);
            let next = read_key_file(&pending)?;
            let sealed_with = check.as_deref().and_then(sealing::sealed_with);
            match (current, next) {
                // A rotation committed but did not get to replace the file.
                (_, Some(next)) if sealed_with == Some(next.id()) => {
                    fs::rename(&pending, path)?;
                    sync_dir_of(path);
                    tracing::warn!("finished an interrupted master key rotation");
                    next
                }
                // A rotation that never committed: the old key stays.
                (Some(current), Some(_)) => {
                    fs::remove_file(&pending)?;
                    current
                }
                (Some(current), None) => current,
                (None, _) => match sealed_with {
                    Some(id) => anyhow::bail!(
                        "no master key: the database's secrets are sealed with master key {id}, \
                         but {source} does not exist. Restore that file, or set \
                         REDRESS_MASTER_KEY (or REDRESS_MASTER_KEY_FILE) to the key every \
                         other replica uses"
                    ),
                    None => {
                        let key = MasterKey::generate();
                        match write_key_file(path, &key, true) {
                            Ok(()) => {
                                tracing::info!(path = %path.display(), "created a master key file");
                                key
                            }
                            // Another process on this machine created it first.
                            Err(_) if path.exists() => read_key_file(path)?
                                .ok_or_else(|| anyhow::anyhow!("{source} vanished"))?,
                            Err(e) => return Err(e),
                        }
                    }
                },
            }
        }
    };
    verify_master_key(db, &key, &source).await?;
    Ok(key)
}

/// Seals the check value at a database's first start; then opens it with `key`.
async fn verify_master_key(
    db: &impl ConnectionTrait,
    key: &MasterKey,
    source: &KeySource,
) -> anyhow::Result<()> {
    app_secret::Entity::insert(app_secret::ActiveModel {
        name: Set(CHECK.to_owned()),
        value: Set(key.seal(CHECK_PLAIN, &app_context(CHECK))),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    let stored = stored_check(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("master key check row missing after insert"))?;
    match key.open(&stored, &app_context(CHECK)) {
        Ok(plain) if plain == CHECK_PLAIN => Ok(()),
        Err(OpenError::UnknownKey(id)) => anyhow::bail!(
            "wrong master key: {source} holds master key {}, but this database's secrets are \
             sealed with master key {id}. Start with the key the database was sealed with \
             (REDRESS_MASTER_KEY or REDRESS_MASTER_KEY_FILE)",
            key.id()
        ),
        _ => anyhow::bail!(
            "the master key check value in app_secrets is damaged; the stored secrets cannot \
             be trusted"
        ),
    }
}

fn app_context(name: &str) -> String {
    format!("app_secrets/{name}")
}

/// Where a subscription's secrets are sealed for: their row (both the current and the
/// previous secret, so a rotation moves the sealed value as it is).
pub fn webhook_context(id: uuid::Uuid) -> String {
    format!("webhook_subscriptions/{id}")
}

/// Seals a webhook secret (`whsec_…`) for a subscription's row.
pub fn seal_webhook_secret(key: &MasterKey, id: uuid::Uuid, whsec: &str) -> StoredSecret {
    StoredSecret(key.seal(whsec.as_bytes(), &webhook_context(id)))
}

/// Opens a stored webhook secret back to its `whsec_…` text.
pub fn open_webhook_secret(
    key: &MasterKey,
    id: uuid::Uuid,
    stored: &StoredSecret,
) -> anyhow::Result<String> {
    let plain = key.open(&stored.0, &webhook_context(id))?;
    Ok(String::from_utf8(plain)?)
}

/// A random key generated once and shared by every replica through the database,
/// sealed. Racing replicas both insert-or-ignore, then read back the winner.
async fn generated_secret(
    db: &impl ConnectionTrait,
    key: &MasterKey,
    name: &str,
    len: usize,
) -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    app_secret::Entity::insert(app_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(key.seal(&bytes, &app_context(name))),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(db)
    .await?;
    let stored = app_secret::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("app secret {name} missing after insert"))?;
    key.open(&stored.value, &app_context(name))
        .with_context(|| format!("opening app secret {name}"))
}

/// The JWT signing key when none is configured: 64 random bytes, made at first start.
pub async fn jwt_secret(db: &impl ConnectionTrait, key: &MasterKey) -> anyhow::Result<Vec<u8>> {
    generated_secret(db, key, JWT_SECRET, 64).await
}

/// The key of the hashes under which successful login addresses are remembered.
pub async fn login_address_key(
    db: &impl ConnectionTrait,
    key: &MasterKey,
) -> anyhow::Result<Vec<u8>> {
    generated_secret(db, key, LOGIN_ADDRESS_KEY, 32).await
}

/// How many stored values a pass sealed anew.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub app_secrets: usize,
    pub webhook_secrets: usize,
}

/// A stored app secret as raw bytes: opened with `old`, or (from before sealing) the
/// base64 it was kept in.
fn app_plain(old: &MasterKey, row: &app_secret::Model) -> anyhow::Result<Vec<u8>> {
    if sealing::is_sealed(&row.value) {
        Ok(old.open(&row.value, &app_context(&row.name))?)
    } else {
        Ok(STANDARD.decode(&row.value)?)
    }
}

fn webhook_plain(old: &MasterKey, id: uuid::Uuid, stored: &StoredSecret) -> anyhow::Result<String> {
    if sealing::is_sealed(&stored.0) {
        open_webhook_secret(old, id, stored)
    } else {
        Ok(stored.0.clone())
    }
}

/// Seals (`old` → `new`) every stored secret the filter selects, in the caller's
/// transaction.
async fn reseal(
    txn: &impl ConnectionTrait,
    old: &MasterKey,
    new: &MasterKey,
    only_clear: bool,
) -> anyhow::Result<Resealed> {
    let mut done = Resealed::default();
    let mut apps = app_secret::Entity::find();
    if only_clear {
        apps = apps.filter(app_secret::Column::Value.not_like(SEALED_LIKE));
    }
    for row in apps.all(txn).await? {
        let plain = app_plain(old, &row).with_context(|| format!("app secret {}", row.name))?;
        app_secret::Entity::update_many()
            .col_expr(
                app_secret::Column::Value,
                Expr::value(new.seal(&plain, &app_context(&row.name))),
            )
            .filter(app_secret::Column::Name.eq(row.name.clone()))
            .exec(txn)
            .await?;
        done.app_secrets += 1;
    }
    use webhook_subscription::Column as W;
    let mut subs = webhook_subscription::Entity::find();
    if only_clear {
        subs = subs.filter(
            sea_orm::Condition::any()
                .add(W::Secret.not_like(SEALED_LIKE))
                .add(W::PreviousSecret.not_like(SEALED_LIKE)),
        );
    }
    for sub in subs.all(txn).await? {
        let current = webhook_plain(old, sub.id, &sub.secret)
            .with_context(|| format!("webhook subscription {}", sub.id))?;
        let previous = sub
            .previous_secret
            .as_ref()
            .map(|p| webhook_plain(old, sub.id, p))
            .transpose()
            .with_context(|| format!("webhook subscription {}", sub.id))?;
        webhook_subscription::Entity::update_many()
            .col_expr(
                W::Secret,
                Expr::value(seal_webhook_secret(new, sub.id, &current).0),
            )
            .col_expr(
                W::PreviousSecret,
                Expr::value(previous.map(|p| seal_webhook_secret(new, sub.id, &p).0)),
            )
            .filter(W::Id.eq(sub.id))
            .exec(txn)
            .await?;
        done.webhook_secrets += 1;
    }
    Ok(done)
}

/// Seals, in one transaction, the clear-text secrets a database written before sealing
/// still holds. Runs at every start; a sealed database costs one query per table.
pub async fn seal_clear_values(
    db: &DatabaseConnection,
    key: &MasterKey,
) -> anyhow::Result<Resealed> {
    let txn = db::begin_write(db).await?;
    let done = reseal(&txn, key, key, true).await?;
    txn.commit().await?;
    if done != Resealed::default() {
        tracing::info!(
            app_secrets = done.app_secrets,
            webhook_secrets = done.webhook_secrets,
            "sealed secrets stored in clear by an earlier version"
        );
    }
    Ok(done)
}

/// What a master key rotation did.
#[derive(Debug)]
pub struct Rotation {
    pub old_key_id: String,
    pub new_key_id: String,
    pub resealed: Resealed,
    /// The key file now holding the new key, when the key lives in a file.
    pub key_file: Option<PathBuf>,
}

/// `redress secrets rotate-master-key`: re-seals every stored secret under a new
/// master key in one transaction. The new key is `new`, or generated when the key
/// lives in a file. For a key file, the new key is first written beside it
/// (`<file>.new`), the transaction commits, then the new file replaces the old; a
/// crash in between is finished at the next start. Run it with the servers stopped:
/// a running server keeps sealing with the key it started with.
pub async fn rotate_master_key(
    db: &DatabaseConnection,
    settings: &Settings,
    new: Option<MasterKey>,
) -> anyhow::Result<Rotation> {
    let old = master_key(db, settings).await?;
    let source = key_source(settings);
    let new = match (new, &source) {
        (Some(k), _) => k,
        (None, KeySource::File(_)) => MasterKey::generate(),
        (None, KeySource::Setting) => anyhow::bail!(
            "the master key comes from REDRESS_MASTER_KEY: give the new key in \
             REDRESS_NEW_MASTER_KEY (or --new-key-file), then set REDRESS_MASTER_KEY to it on \
             every replica"
        ),
        (None, KeySource::Ephemeral) => {
            anyhow::bail!("an in-memory database has no stored key to rotate")
        }
    };
    anyhow::ensure!(
        new.id() != old.id(),
        "the new master key is the current one ({})",
        old.id()
    );
    let key_file = match &source {
        KeySource::File(path) => {
            write_key_file(&pending_path(path), &new, false)?;
            Some(path.clone())
        }
        _ => None,
    };
    let txn = db::begin_write(db).await?;
    let resealed = reseal(&txn, &old, &new, false).await?;
    txn.commit().await?;
    if let Some(path) = &key_file {
        fs::rename(pending_path(path), path)?;
        sync_dir_of(path);
    }
    Ok(Rotation {
        old_key_id: old.id().to_owned(),
        new_key_id: new.id().to_owned(),
        resealed,
        key_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> Settings {
        Settings {
            database_url: url.into(),
            ..Settings::default()
        }
    }

    #[test]
    fn the_default_key_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            key_source(&with_url("sqlite://data/redress.db?mode=rwc")),
            KeySource::File(PathBuf::from("data/redress.db.key"))
        );
        assert_eq!(
            key_source(&with_url("sqlite:///tmp/x.db")),
            KeySource::File(PathBuf::from("/tmp/x.db.key"))
        );
        assert_eq!(
            key_source(&with_url("sqlite::memory:")),
            KeySource::Ephemeral
        );
        assert_eq!(
            key_source(&with_url("postgres://db/redress")),
            KeySource::File(PathBuf::from("redress-master.key"))
        );
        let configured = Settings {
            master_key_file: Some(PathBuf::from("/etc/redress/key")),
            ..with_url("postgres://db/redress")
        };
        assert_eq!(
            key_source(&configured),
            KeySource::File(PathBuf::from("/etc/redress/key"))
        );
    }
}
