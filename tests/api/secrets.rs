//! Secrets at rest: the database holds the JWT key and webhook secrets only sealed
//! under the master key; signatures survive restarts and master key rotations; a wrong
//! key stops the start; clear values from before sealing are sealed at start.
use std::sync::Arc;

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use redress::{
    clock::FakeClock,
    config::Settings,
    domain::{
        sealing::MasterKey,
        webhook_signature::{WebhookSecret, verify},
    },
    service::secrets,
    startup::Application,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use secrecy::SecretString;
use serde_json::json;

use crate::{
    helpers::{PASSWORD, Receiver, TestApp, TestUser, spawn_app_with, start_time},
    lifecycle::filed_case,
};

/// Every text and blob value of every column of every table, as text, newline-joined:
/// what someone holding a copy of the database can read.
pub async fn dump(db: &DatabaseConnection) -> String {
    let backend = db.get_database_backend();
    let columns_sql = match backend {
        DbBackend::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table'"
        }
        _ => {
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema()"
        }
    };
    let columns = db
        .query_all_raw(Statement::from_string(backend, columns_sql))
        .await
        .unwrap();
    assert!(columns.len() > 50, "found only {} columns", columns.len());
    let mut out = String::new();
    for c in columns {
        let table: String = c.try_get_by_index(0).unwrap();
        let column: String = c.try_get_by_index(1).unwrap();
        let value = match backend {
            DbBackend::Sqlite => format!("quote(\"{column}\")"),
            _ => format!("\"{column}\"::text"),
        };
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT {value} FROM \"{table}\""),
            ))
            .await
            .unwrap();
        for r in rows {
            if let Ok(Some(v)) = r.try_get_by_index::<Option<String>>(0) {
                out.push_str(&v);
                out.push('\n');
            }
        }
    }
    out
}

/// The forms in which a key's bytes could show up in a dump.
fn encodings(bytes: &[u8]) -> Vec<String> {
    vec![
        STANDARD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex::encode(bytes),
    ]
}

fn assert_absent(dump: &str, what: &str, forms: &[String]) {
    for f in forms {
        assert!(
            !dump.contains(f.as_str()),
            "{what} found in the dump as {f}"
        );
    }
}

fn whsec_bytes(whsec: &str) -> Vec<u8> {
    STANDARD
        .decode(whsec.strip_prefix("whsec_").unwrap())
        .unwrap()
}

/// Without a configured JWT key, so that the generated one is stored.
async fn app_on(database_url: Option<String>, master_key: Option<&MasterKey>) -> TestApp {
    let key = master_key.map(|k| SecretString::from(k.encode()));
    spawn_app_with(move |s| {
        s.jwt_secret = None;
        if let Some(url) = database_url {
            s.database_url = url;
        }
        if key.is_some() {
            s.master_key = key;
        }
    })
    .await
}

/// Pings the subscription and checks that what arrives verifies with `whsec`.
async fn ping_verifies(
    app: &TestApp,
    staff: &TestUser,
    hook: &str,
    receiver: &Receiver,
    whsec: &str,
) {
    let before = receiver.received().len();
    app.post(
        &format!("/api/v1/webhooks/{hook}/ping"),
        Some(&staff.token),
        json!({}),
    )
    .await
    .expect(202);
    app.deliver().await;
    let got = receiver.received();
    let r = got[before..]
        .iter()
        .rfind(|r| r.json["type"] == "ping")
        .expect("the ping arrived");
    let secret = WebhookSecret::parse(whsec).unwrap();
    verify(
        &secret,
        &r.id,
        &r.timestamp,
        &r.signature,
        &r.body,
        r.timestamp.parse().unwrap(),
    )
    .expect("the signature verifies with the secret the subscriber was given");
}

async fn login_token(app: &TestApp, email: &str) -> String {
    app.login(email, PASSWORD).await.expect(200).body["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_dump_of_the_database_holds_no_secret_in_clear() {
    let app = app_on(None, None).await;
    let receiver = Receiver::start().await;
    let c = filed_case(&app).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let hook = app.subscribe(&c.staff, &receiver.url, None).await;
    let id = hook["id"].as_str().unwrap();
    let first = hook["secret"].as_str().unwrap().to_owned();
    // A rotation keeps the first secret (as the previous one) for a day.
    let rotated = app
        .post(
            &format!("/api/v1/webhooks/{id}/rotate"),
            Some(&c.staff.token),
            json!({}),
        )
        .await
        .expect(200);
    let second = rotated.body["secret"].as_str().unwrap().to_owned();
    let jwt_key = secrets::jwt_secret(&app.db, &app.state.master_key)
        .await
        .unwrap();
    assert_eq!(jwt_key.len(), 64);

    let dump = dump(&app.db).await;
    assert!(
        dump.contains("sealed:v1:"),
        "the secrets are in the dump, sealed"
    );
    assert!(
        !dump.contains("whsec_"),
        "a webhook secret is in the dump in clear"
    );
    assert_absent(
        &dump,
        "the first webhook key",
        &encodings(&whsec_bytes(&first)),
    );
    assert_absent(
        &dump,
        "the second webhook key",
        &encodings(&whsec_bytes(&second)),
    );
    assert_absent(&dump, "the JWT key", &encodings(&jwt_key));
    assert_absent(&dump, "the master key", &[app.state.master_key.encode()]);

    // Both secrets still sign (the rotation overlap).
    ping_verifies(&app, &c.staff, id, &receiver, &first).await;
    ping_verifies(&app, &c.staff, id, &receiver, &second).await;
}

#[tokio::test]
async fn the_default_key_file_is_created_beside_a_sqlite_database_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app_with(|s| s.master_key_file = None).await;
    if !app.settings.is_sqlite() {
        return; // PostgreSQL has no file to sit beside.
    }
    let secrets::KeySource::File(path) = secrets::key_source(&app.settings) else {
        panic!("a SQLite file database keeps its key in a file");
    };
    assert!(
        path.to_string_lossy().ends_with(".db.key"),
        "{}",
        path.display()
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let key = MasterKey::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(key.id(), app.state.master_key.id());
}

#[tokio::test]
async fn signatures_verify_after_a_restart_and_after_a_master_key_rotation() {
    let app = app_on(None, None).await;
    let receiver = Receiver::start().await;
    let c = filed_case(&app).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let hook = app.subscribe(&c.staff, &receiver.url, None).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let whsec = hook["secret"].as_str().unwrap().to_owned();
    ping_verifies(&app, &c.staff, &id, &receiver, &whsec).await;
    let url = app.settings.database_url.clone();
    let key_file = app.settings.master_key_file.clone().unwrap();
    let old_key = app.state.master_key.encode();

    // A restart: the same database, the same key file.
    let restarted = app_on(Some(url.clone()), None).await;
    assert_eq!(restarted.state.master_key.id(), app.state.master_key.id());
    restarted
        .get("/api/v1/me", Some(&c.staff.token))
        .await
        .expect(200);
    ping_verifies(&restarted, &c.staff, &id, &receiver, &whsec).await;

    // A rotation with a generated key, written to the key file.
    let rotation = secrets::rotate_master_key(&restarted.db, &restarted.settings, None)
        .await
        .unwrap();
    assert_eq!(rotation.old_key_id, app.state.master_key.id());
    assert_eq!(rotation.resealed.webhook_secrets, 1);
    assert!(rotation.resealed.app_secrets >= 2, "{rotation:?}");
    let new_key = MasterKey::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(new_key.id(), rotation.new_key_id);
    assert!(!std::path::Path::new(&format!("{}.new", key_file.display())).exists());

    let rotated = app_on(Some(url.clone()), None).await;
    assert_eq!(rotated.state.master_key.id(), rotation.new_key_id);
    // Tokens signed before the rotation still verify: the JWT key is the same key,
    // sealed anew.
    rotated
        .get("/api/v1/me", Some(&c.staff.token))
        .await
        .expect(200);
    ping_verifies(&rotated, &c.staff, &id, &receiver, &whsec).await;
    let dump = dump(&rotated.db).await;
    assert!(
        !dump.contains(app.state.master_key.id()),
        "a value still sealed with the old key"
    );

    // The old key no longer opens the database.
    let err = build(&url, |s| s.master_key = Some(SecretString::from(old_key)))
        .await
        .unwrap_err();
    assert!(err.contains("wrong master key"), "{err}");
}

/// Builds (but does not serve) an app on an existing database; the error, if any.
async fn build(url: &str, customise: impl FnOnce(&mut Settings)) -> Result<(), String> {
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: url.to_owned(),
        db_max_connections: 2,
        run_workers: false,
        ..Settings::default()
    };
    customise(&mut settings);
    Application::build(settings, Arc::new(FakeClock::new(start_time())))
        .await
        .map(drop)
        .map_err(|e| format!("{e:#}"))
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_stops_the_start_with_a_clear_error() {
    let app = app_on(None, None).await;
    let url = app.settings.database_url.clone();
    let stranger = MasterKey::generate();
    let err = build(&url, |s| {
        s.master_key = Some(SecretString::from(stranger.encode()))
    })
    .await
    .unwrap_err();
    assert!(err.contains("wrong master key"), "{err}");
    assert!(err.contains(stranger.id()), "{err}");
    assert!(err.contains(app.state.master_key.id()), "{err}");

    // A key file that is not there, for a database that was sealed: no new key.
    let missing = std::env::temp_dir()
        .join("redress-tests")
        .join(format!("missing-{}.key", uuid::Uuid::new_v4()));
    let err = build(&url, |s| s.master_key_file = Some(missing.clone()))
        .await
        .unwrap_err();
    assert!(err.contains("no master key"), "{err}");
    assert!(!missing.exists());

    let err = build(&url, |s| {
        s.master_key = Some(SecretString::from("too short"))
    })
    .await
    .unwrap_err();
    assert!(err.contains("REDRESS_MASTER_KEY"), "{err}");
}

#[tokio::test]
async fn secrets_stored_in_clear_by_an_earlier_version_are_sealed_at_start() {
    let app = app_on(None, None).await;
    let receiver = Receiver::start().await;
    let c = filed_case(&app).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let hook = app.subscribe(&c.staff, &receiver.url, None).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let whsec = hook["secret"].as_str().unwrap().to_owned();
    let token = login_token(&app, &c.staff.email).await;
    let jwt_key = secrets::jwt_secret(&app.db, &app.state.master_key)
        .await
        .unwrap();
    // What a database of the version before sealing holds: the JWT key in base64 and
    // the webhook secrets as they were handed out.
    let clear_jwt = STANDARD.encode(&jwt_key);
    app.db
        .execute_unprepared(&format!(
            "UPDATE app_secrets SET value = '{clear_jwt}' WHERE name = 'jwt_hs256'"
        ))
        .await
        .unwrap();
    app.db
        .execute_unprepared(&format!(
            "UPDATE webhook_subscriptions SET secret = '{whsec}', previous_secret = '{whsec}' \
             WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    assert!(dump(&app.db).await.contains(&clear_jwt));

    let upgraded = app_on(Some(app.settings.database_url.clone()), None).await;
    let dump = dump(&upgraded.db).await;
    assert!(!dump.contains("whsec_"));
    assert_absent(&dump, "the JWT key", &encodings(&jwt_key));
    // Nothing was lost: old tokens verify, signatures verify with the same secret.
    upgraded.get("/api/v1/me", Some(&token)).await.expect(200);
    ping_verifies(&upgraded, &c.staff, &id, &receiver, &whsec).await;
}

#[test]
fn the_rotate_command_reseals_under_a_new_key_file() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, key_file, old_id) = rt.block_on(async {
        let app = app_on(None, None).await;
        let c = filed_case(&app).await;
        app.subscribe(&c.staff, "http://127.0.0.1:9/hook", None)
            .await;
        (
            app.settings.database_url.clone(),
            app.settings.master_key_file.clone().unwrap(),
            app.state.master_key.id().to_owned(),
        )
    });
    let run = |envs: &[(&str, String)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_redress"));
        cmd.args(["secrets", "rotate-master-key"])
            .env("DATABASE_URL", &url)
            .env("REDRESS_LOG_LEVEL", "warn")
            .env_remove("REDRESS_MASTER_KEY")
            .env_remove("REDRESS_NEW_MASTER_KEY");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[("REDRESS_MASTER_KEY_FILE", key_file.display().to_string())]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 webhook subscription"), "{stdout}");
    let new_key = MasterKey::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_ne!(new_key.id(), old_id);
    assert!(stdout.contains(new_key.id()), "{stdout}");

    // With the key in REDRESS_MASTER_KEY, the new one must be given.
    let out = run(&[("REDRESS_MASTER_KEY", new_key.encode())]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("REDRESS_NEW_MASTER_KEY"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let next = MasterKey::generate();
    let out = run(&[
        ("REDRESS_MASTER_KEY", new_key.encode()),
        ("REDRESS_NEW_MASTER_KEY", next.encode()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rt.block_on(async {
        let app = app_on(Some(url.clone()), Some(&next)).await;
        assert_eq!(app.state.master_key.id(), next.id());
    });
}
