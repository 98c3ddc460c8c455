//! The real binary, killed (SIGKILL) while webhook deliveries are in flight, then
//! restarted on the same database: the receiver, deduplicating by `webhook-id`, ends
//! with every event exactly once. On SQLite (a file) or PostgreSQL (a fresh database),
//! as `TEST_DATABASE_URL` says.
use std::{
    collections::{HashMap, HashSet},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use entity::{account::Role, webhook_event};
use futures_util::{StreamExt, stream};
use redress::{
    config::Settings,
    domain::{
        account::{Email, Password},
        webhook_signature::{WebhookSecret, verify},
    },
    service::accounts,
};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{
        Answer, JWT_SECRET, PASSWORD, Receiver, credit_code, fresh_database_url, institution_body,
    },
    lifecycle::filing,
};

const FILINGS: usize = 60;

/// The server as a child process; killed when dropped, whatever happens to the test.
struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Server {
    fn start(database_url: &str, dir: &std::path::Path, run: u32) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let log = dir.join(format!("server-{run}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_redress"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("REDRESS_BIND", format!("127.0.0.1:{port}"))
            .env("REDRESS_JWT_SECRET", JWT_SECRET)
            .env("REDRESS_ATTACHMENTS_DIR", dir.join("files"))
            .env("REDRESS_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true")
            .env("REDRESS_WEBHOOKS_TIMEOUT_SECS", "2")
            .env("REDRESS_WEBHOOKS_LEASE_SECS", "7")
            .env("REDRESS_WEBHOOKS_POLL_INTERVAL_MS", "20")
            .env("REDRESS_WEBHOOKS_BATCH_SIZE", "16")
            .env("REDRESS_WEBHOOKS_CONCURRENCY", "8")
            .env("REDRESS_LOG_LEVEL", "warn")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the redress binary");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited with {status}: {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no flushing, claims left as they are.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> String {
    post(
        client,
        format!("{base}/api/v1/auth/login"),
        None,
        json!({ "email": email, "password": PASSWORD }),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_event_and_the_receiver_sees_each_once() {
    let dir = std::env::temp_dir()
        .join("redress-tests")
        .join(format!("crash-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if u.starts_with("postgres") => fresh_database_url().await,
        // A file the child process opens by path.
        _ => format!("sqlite://{}?mode=rwc", dir.join("redress.db").display()),
    };

    // Accounts, made as `redress admin create-account` would.
    let settings = Settings {
        database_url: database_url.clone(),
        ..Settings::default()
    };
    let db = redress::db::connect(&settings).await.unwrap();
    redress::db::migrate(&db).await.unwrap();
    let mut emails = HashMap::new();
    for role in [Role::Regulator, Role::Learner] {
        let email = format!("{role:?}-{}@example.com", Uuid::new_v4().simple()).to_lowercase();
        let parsed = Email::parse(&email).unwrap();
        accounts::create(
            &db,
            accounts::NewAccount {
                password: Password::parse(PASSWORD, &parsed).unwrap(),
                email: parsed,
                display_name: "Crash test".into(),
                role,
                institution_id: None,
                association_id: None,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        emails.insert(role, email);
    }

    let receiver = Receiver::start().await;
    // Slow answers keep deliveries in flight when the kill comes.
    receiver.answer_all(Answer::status(200).delay(Duration::from_millis(250)));
    redress::service::webhook_delivery::install_tls_provider();
    let client = reqwest::Client::new();
    let mut server = Server::start(&database_url, &dir, 1);
    server.wait_ready(&client).await;
    let base = server.base.clone();
    let regulator = login(&client, &base, &emails[&Role::Regulator]).await;
    let learner = login(&client, &base, &emails[&Role::Learner]).await;
    let inst = post(
        &client,
        format!("{base}/api/v1/institutions"),
        Some(&regulator),
        institution_body(&credit_code(4242), "Crash Online", "110108"),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();
    let hook = post(
        &client,
        format!("{base}/api/v1/webhooks"),
        Some(&regulator),
        json!({ "url": receiver.url, "description": "crash test" }),
    )
    .await;
    let secret = WebhookSecret::parse(hook["secret"].as_str().unwrap()).unwrap();

    // A burst of filings over HTTP.
    stream::iter(0..FILINGS)
        .map(|_| {
            post(
                &client,
                format!("{base}/api/v1/complaints"),
                Some(&learner),
                filing(inst),
            )
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;

    // Kill the server while it is delivering.
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait until some were delivered and others are in flight right now (arrived,
    // not yet answered: each answer takes 250 ms), then kill.
    while receiver.received().len() < 5 || receiver.arrived() <= receiver.received().len() {
        assert!(
            Instant::now() < deadline,
            "nothing delivered: {}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let answered = receiver.received().len();
    let in_flight = receiver.arrived() - answered;
    assert!(in_flight > 0, "no delivery was in flight at the kill");
    let before_kill: HashSet<String> = receiver.received().into_iter().map(|r| r.id).collect();
    assert!(
        before_kill.len() < FILINGS,
        "everything was delivered before the kill; the test proves nothing"
    );

    // Every committed change has its event in the outbox.
    let outbox: HashSet<String> = webhook_event::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(outbox.len(), FILINGS);

    // Restart on the same database; the abandoned claims run out and are sent again.
    let mut server = Server::start(&database_url, &dir, 2);
    server.wait_ready(&client).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let ids: HashSet<String> = receiver.received().into_iter().map(|r| r.id).collect();
        if ids == outbox {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} events arrived; missing {:?}\n{}",
            ids.len(),
            outbox.len(),
            outbox.difference(&ids).take(5).collect::<Vec<_>>(),
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.kill();

    // Deduplicated by webhook-id: each event exactly once, each one signed.
    let received = receiver.received();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for r in &received {
        *per_id.entry(&r.id).or_default() += 1;
        let now: i64 = r.timestamp.parse().unwrap();
        verify(&secret, &r.id, &r.timestamp, &r.signature, &r.body, now).unwrap();
        assert_eq!(r.json["type"], "complaint.filed");
    }
    let unique: HashSet<&str> = per_id.keys().copied().collect();
    assert_eq!(unique.len(), FILINGS);
    assert!(unique.iter().all(|id| outbox.contains(*id)));
    let resent = received.len() - unique.len();
    eprintln!(
        "crash test: {FILINGS} events, {} delivered before the kill, {in_flight} in flight \
         at it, {resent} sent twice (at least once; the receiver deduplicates)",
        before_kill.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
