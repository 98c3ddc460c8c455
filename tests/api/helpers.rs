//! spawn_app(): a fresh database (SQLite file, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set), the app on port 0, a fake clock, and a client with one
//! method per endpoint family.
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, TimeZone, Utc};
use entity::account::Role;
use redress::{
    clock::FakeClock,
    config::Settings,
    domain::account::{Email, Password},
    service::accounts,
    startup::Application,
};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

/// Valid unified social credit codes (check characters verified).
pub const VALID_CODES: [&str; 3] = [
    "91350100M000100Y43",
    "91110000802100433B",
    "91440300708461136T",
];

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        redress::telemetry::init("debug", redress::config::LogFormat::Text);
    }
});

pub struct TestApp {
    pub state: redress::state::AppState,
    pub address: String,
    pub client: reqwest::Client,
    pub clock: FakeClock,
    pub db: DatabaseConnection,
    pub settings: Settings,
}

#[allow(dead_code)] // not every test binary reads every field
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// A fixed start instant: a Monday, 10:00 in Shanghai.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
}

pub async fn fresh_database_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => {
            let name = format!("redress_t_{}", Uuid::new_v4().simple());
            let admin = Database::connect(&base)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
            format!("{prefix}/{name}")
        }
        _ => {
            let dir = std::env::temp_dir().join("redress-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{}.db", Uuid::new_v4()));
            format!("sqlite://{}?mode=rwc", path.display())
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    LazyLock::force(&TRACING);
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: fresh_database_url().await,
        db_max_connections: 5,
        run_workers: false,
        attachments_dir: std::env::temp_dir()
            .join("redress-tests")
            .join(format!("files-{}", Uuid::new_v4())),
        jwt_secret: Some(SecretString::from(JWT_SECRET)),
        // Tests move the clock by weeks; tokens should outlive that.
        jwt_ttl_secs: 400 * 24 * 3600,
        // Webhook receivers in tests listen on 127.0.0.1.
        webhooks_allow_private_targets: true,
        // Mails go to a folder of the test's own unless it starts an SMTP sink.
        mail_dir: std::env::temp_dir()
            .join("redress-tests")
            .join(format!("mail-{}", Uuid::new_v4())),
        public_url: "https://redress.test".into(),
        ..Settings::default()
    };
    customise(&mut settings);
    let clock = FakeClock::new(start_time());
    let app = Application::build(settings.clone(), Arc::new(clock.clone()))
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state().db.clone();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        state,
        address,
        client: reqwest::Client::new(),
        clock,
        db,
        settings,
    }
}

/// A response read into status, headers and JSON (or Null).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the status, printing the body on mismatch.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a problem+json answer with this status.
    #[track_caller]
    pub fn expect_problem(self, status: u16) -> Self {
        let reply = self.expect(status);
        let ct = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(ct, "application/problem+json", "body: {}", reply.body);
        assert_eq!(reply.body["status"], status);
        assert!(reply.body["title"].is_string());
        assert!(reply.body["type"].is_string());
        reply
    }

    pub fn field_errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.expect("request failed")).await
    }

    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("read body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/register",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Creates an account directly (as `redress admin create-account` does) and logs in
    /// over HTTP.
    pub async fn user(
        &self,
        role: Role,
        institution: Option<Uuid>,
        association: Option<Uuid>,
    ) -> TestUser {
        let email = format!(
            "{}-{}@example.com",
            role_slug(role),
            Uuid::new_v4().simple()
        );
        let parsed = Email::parse(&email).unwrap();
        let acct = accounts::create(
            &self.db,
            accounts::NewAccount {
                password: Password::parse(PASSWORD, &parsed).unwrap(),
                email: parsed,
                display_name: format!("Test {}", role_slug(role)),
                role,
                institution_id: institution,
                association_id: association,
            },
            self.clock_now(),
        )
        .await
        .expect("create account");
        let token = self.login(&email, PASSWORD).await.expect(200).body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        TestUser {
            id: acct.id,
            email,
            token,
        }
    }

    /// One pass of the SLA sweeper at the fake clock's time.
    pub async fn sweep(&self) -> redress::service::sla::Sweep {
        redress::service::sla::run_once(&self.db, &self.state.rules(), 10_000)
            .await
            .expect("sweep")
    }

    /// One step of the webhook dispatcher at the fake clock's time.
    pub async fn deliver(&self) -> redress::service::webhook_delivery::Dispatch {
        redress::service::webhook_delivery::run_once(
            &self.db,
            &self.state.dispatcher,
            self.clock_now(),
        )
        .await
        .expect("dispatch")
    }

    /// One step of the email worker at the fake clock's time.
    pub async fn send_mail(&self) -> redress::service::email::sender::Outcome {
        redress::service::email::sender::run_once(&self.db, &self.state.mailer, self.clock_now())
            .await
            .expect("email step")
    }

    /// Subscribes `user` to `event_types` (all when None) at `url`; returns the
    /// created subscription's JSON (with its secret).
    pub async fn subscribe(
        &self,
        user: &TestUser,
        url: &str,
        event_types: Option<&[&str]>,
    ) -> Value {
        let mut body = json!({ "url": url, "description": "test receiver" });
        if let Some(types) = event_types {
            body["event_types"] = json!(types);
        }
        self.post("/api/v1/webhooks", Some(&user.token), body)
            .await
            .expect(201)
            .body
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use redress::clock::Clock;
        self.clock.now()
    }

    pub async fn admin(&self) -> TestUser {
        self.user(Role::Admin, None, None).await
    }

    pub async fn regulator(&self) -> TestUser {
        self.user(Role::Regulator, None, None).await
    }

    pub async fn learner(&self) -> TestUser {
        self.user(Role::Learner, None, None).await
    }

    /// Registers an institution (as a regulator) and returns its id.
    pub async fn institution(
        &self,
        regulator: &TestUser,
        code: &str,
        name: &str,
        region: &str,
    ) -> Uuid {
        let reply = self
            .post(
                "/api/v1/institutions",
                Some(&regulator.token),
                institution_body(code, name, region),
            )
            .await
            .expect(201);
        reply.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn association(&self, admin: &TestUser, name: &str, regions: &[&str]) -> Uuid {
        let reply = self
            .post(
                "/api/v1/associations",
                Some(&admin.token),
                json!({ "name": name, "regions": regions }),
            )
            .await
            .expect(201);
        reply.body["id"].as_str().unwrap().parse().unwrap()
    }
}

pub fn institution_body(code: &str, name: &str, region: &str) -> Value {
    json!({
        "name": name,
        "credit_code": code,
        "filing_number": "京ICP备12345678号",
        "region_code": region,
        "website": "https://learn.example.com",
        "disclosure": {
            "service_rules": "Live classes on weekday evenings.",
            "fees_and_prepayment": "Monthly fees; no more than 60 class hours prepaid.",
            "refund_policy": "Full refund before the first class; unused hours refunded after.",
            "teacher_qualifications": "All teachers hold teaching certificates.",
            "complaint_contact": "service@learn.example.com"
        }
    })
}

fn role_slug(role: Role) -> &'static str {
    match role {
        Role::Learner => "learner",
        Role::InstitutionStaff => "staff",
        Role::Mediator => "mediator",
        Role::Regulator => "regulator",
        Role::Admin => "admin",
    }
}

/// A valid credit code, distinct for each `n`.
pub fn credit_code(n: u32) -> String {
    redress::domain::credit_code::CreditCode::complete(&format!("91110000{n:09}"))
        .unwrap()
        .as_str()
        .to_owned()
}

/// A request a [`Receiver`] got.
#[allow(dead_code)] // not every test reads every field
#[derive(Debug, Clone)]
pub struct Received {
    /// When the request arrived.
    pub at: std::time::Instant,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub json: Value,
}

/// An answer a [`Receiver`] gives.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Option<std::time::Duration>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: String::new(),
            delay: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, d: std::time::Duration) -> Self {
        self.delay = Some(d);
        self
    }
}

#[derive(Default)]
struct ReceiverState {
    arrived: std::sync::atomic::AtomicUsize,
    log: std::sync::Mutex<Vec<Received>>,
    script: std::sync::Mutex<std::collections::VecDeque<Answer>>,
    default: std::sync::Mutex<Option<Answer>>,
}

/// A webhook receiver: an in-process poem server on 127.0.0.1, port 0. It records
/// every request and answers from a script (then with its default, 200 unless set).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
}

struct Hook(Arc<ReceiverState>);

impl poem::Endpoint for Hook {
    type Output = poem::Response;

    async fn call(&self, mut req: poem::Request) -> poem::Result<Self::Output> {
        let arrived_at = std::time::Instant::now();
        self.0
            .arrived
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = req.take_body().into_vec().await?;
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let answer = {
            let next = self.0.script.lock().unwrap().pop_front();
            next.or_else(|| self.0.default.lock().unwrap().clone())
                .unwrap_or_else(|| Answer::status(200))
        };
        let received = Received {
            at: arrived_at,
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
            body,
        };
        if let Some(d) = answer.delay {
            tokio::time::sleep(d).await;
        }
        // Recorded once answered, as a receiver commits what it processed.
        self.0.log.lock().unwrap().push(received);
        let mut resp = poem::Response::builder()
            .status(poem::http::StatusCode::from_u16(answer.status).unwrap());
        for (name, value) in &answer.headers {
            resp = resp.header(*name, value.as_str());
        }
        Ok(resp.body(answer.body))
    }
}

impl Receiver {
    pub async fn start() -> Self {
        use poem::listener::{Acceptor, TcpAcceptor};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let acceptor = TcpAcceptor::from_std(listener).unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let state = Arc::new(ReceiverState::default());
        let app = poem::Route::new().at("/*path", Hook(state.clone()));
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            state,
        }
    }

    /// Answers the next requests with these, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    /// Answers every unscripted request with this.
    pub fn answer_all(&self, answer: Answer) {
        *self.state.default.lock().unwrap() = Some(answer);
    }

    /// Requests that arrived, answered or not.
    #[allow(dead_code)]
    pub fn arrived(&self) -> usize {
        self.state.arrived.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Requests answered, in the order they were answered.
    pub fn received(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// The event types received, in order.
    pub fn types(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.json["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}
