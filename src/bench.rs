//! `redress bench`: measures this machine's ceilings, loads many cases, then drives the
//! real server (a child process) over HTTP and reports throughput, latency and memory,
//! as a table and as JSON. Nothing here is asserted: it reports.
use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{Duration as ChronoDuration, Utc};
use entity::{
    account::{self, Role},
    complaint::{Category, DesiredRemedy},
    institution,
    timer::{self, TimerKind, TimerState},
};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::{
    auth::Principal,
    auth::password,
    clock::SystemClock,
    config::Settings,
    db,
    domain::{account::Email, account::Password, credit_code::CreditCode},
    service::{
        complaints::{self, Filing, NewComplaint, Rules},
        sla,
        sla::Sweep,
        webhooks,
    },
    state::AppState,
};

#[derive(Debug, Clone)]
pub struct Options {
    pub cases: u64,
    pub clients: usize,
    pub phase_secs: u64,
    pub due_timers: u64,
    pub json: Option<PathBuf>,
}

impl Options {
    pub fn quick() -> Self {
        Self {
            cases: 10_000,
            clients: 64,
            phase_secs: 3,
            due_timers: 1_000,
            json: None,
        }
    }
}

const PASSWORD: &str = "benchmark passphrase";
const INSTITUTIONS: usize = 200;
const LEARNERS: usize = 2_000;

#[derive(Debug, Default, Serialize)]
struct Latency {
    count: usize,
    per_sec: f64,
    median_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: usize,
}

fn summarise(mut micros: Vec<u64>, errors: usize, elapsed: Duration) -> Latency {
    micros.sort_unstable();
    let at = |q: f64| {
        if micros.is_empty() {
            0.0
        } else {
            let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
            micros[i] as f64 / 1000.0
        }
    };
    Latency {
        count: micros.len(),
        per_sec: micros.len() as f64 / elapsed.as_secs_f64(),
        median_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: micros.last().map_or(0.0, |m| *m as f64 / 1000.0),
        errors,
    }
}

#[derive(Debug, Serialize)]
struct Report {
    database: String,
    cases_loaded: u64,
    clients: usize,
    phase_secs: u64,
    http_ceiling_rps: f64,
    storage_ceiling_filings_per_sec: f64,
    bulk_load_cases_per_sec: f64,
    filings: Latency,
    filings_ratio_to_storage_ceiling: f64,
    case_reads: Latency,
    case_reads_ratio_to_http_ceiling: f64,
    learner_lists: Latency,
    staff_lists: Latency,
    disclosure_pages: Latency,
    csv_rows: u64,
    csv_secs: f64,
    csv_rows_per_sec: f64,
    sweep_due_timers: u64,
    sweep_fire_all_secs: f64,
    sweep_fired_per_sec: f64,
    sweep_idle_ms: f64,
    webhooks: WebhookFigures,
    webhook_deliveries_ratio_to_http_ceiling: f64,
    server_peak_rss_mb: f64,
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The server's peak resident memory so far (`VmHWM`), or its current one (`VmRSS`).
fn rss_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A fresh database next to the configured one: a new SQLite file, or a new database
/// on the configured PostgreSQL server.
async fn fresh_database(settings: &Settings) -> anyhow::Result<String> {
    let stamp = Utc::now().format("%Y%m%d%H%M%S");
    if settings.is_sqlite() {
        let dir = std::env::temp_dir().join("redress-bench");
        std::fs::create_dir_all(&dir)?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("bench-{stamp}.db")).display()
        ))
    } else {
        let name = format!("redress_bench_{stamp}");
        let admin = Database::connect(&settings.database_url).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        admin.close().await?;
        let (prefix, _) = settings
            .database_url
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database name"))?;
        Ok(format!("{prefix}/{name}"))
    }
}

pub async fn run(opts: Options, base: Settings) -> anyhow::Result<()> {
    let url = fresh_database(&base).await?;
    eprintln!("bench database: {url}");
    let settings = Settings {
        database_url: url.clone(),
        run_workers: false,
        // The webhook phase delivers to a receiver on this machine.
        webhooks_allow_private_targets: true,
        ..base.clone()
    };
    let state = AppState::init(settings.clone(), Arc::new(SystemClock)).await?;
    let dbc = state.db.clone();

    let world = seed(&dbc).await?;
    let storage = storage_ceiling(&state, &world, Duration::from_secs(opts.phase_secs)).await?;
    eprintln!("storage ceiling: {storage:.0} filings/s");
    let (load_rate, samples) = bulk_load(&state, &world, opts.cases).await?;
    if db::is_postgres(&dbc) {
        // Planner statistics, as autovacuum gathers them soon after a load like this;
        // without them PostgreSQL plans for the empty tables it last saw.
        dbc.execute_unprepared("ANALYZE").await?;
    }
    let world = World {
        sample_cases: samples,
        ..world
    };

    let port = free_port()?;
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("REDRESS_BIND", format!("127.0.0.1:{port}"))
        .env("REDRESS_RUN_WORKERS", "false")
        .env("REDRESS_LOG_LEVEL", "warn")
        .env("REDRESS_JWT_TTL_SECS", "86400")
        .env("REDRESS_LOGIN_MAX_FAILURES_PER_ADDRESS", "1000000")
        .stdout(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    crate::service::webhook_delivery::install_tls_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.clients * 2)
        .build()?;
    wait_ready(&client, &server.base).await?;

    let phase = Duration::from_secs(opts.phase_secs);
    let http = drive(opts.clients, phase, {
        let client = client.clone();
        let url = format!("{}/healthz", server.base);
        move |_, _| {
            let client = client.clone();
            let url = url.clone();
            async move {
                client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    })
    .await;
    eprintln!("http ceiling: {:.0} req/s", http.per_sec);

    let pid = server.child.id();
    eprintln!("server rss: {:.0} MB", rss_mb(pid, "VmRSS:"));
    let tokens = Arc::new(login_all(&client, &server.base, &world, opts.clients).await?);
    eprintln!("after logins, server rss: {:.0} MB", rss_mb(pid, "VmRSS:"));
    let inst_ids: Arc<Vec<Uuid>> = Arc::new(world.institutions.iter().map(|i| i.id).collect());
    let filings = drive(opts.clients, phase, {
        let client = client.clone();
        let base = server.base.clone();
        let tokens = tokens.clone();
        move |worker, n| {
            let client = client.clone();
            let url = format!("{base}/api/v1/complaints");
            let token = tokens[worker % tokens.len()].clone();
            let inst = inst_ids[(worker + n) % inst_ids.len()];
            async move {
                let body = json!({
                    "institution_id": inst,
                    "category": "refund",
                    "title": "Refund refused after the course stopped",
                    "narrative": "The classes stopped in week three and the refund was refused.",
                    "desired_remedy": "full_refund",
                    "amount_in_dispute": { "amount_minor": 1_280_000, "currency": "CNY" },
                    "class_hours_bought": 48,
                    "class_hours_used": 12,
                });
                client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 201)
            }
        }
    })
    .await;
    eprintln!(
        "filings: {:.0}/s; server rss: {:.0} MB",
        filings.per_sec,
        rss_mb(pid, "VmRSS:")
    );

    // Reads of cases the client may see (one per learner, loaded in bulk).
    let own_cases = Arc::new(world.sample_cases.clone());
    let case_reads = drive(opts.clients, phase, {
        let client = client.clone();
        let base = server.base.clone();
        let tokens = tokens.clone();
        let own = own_cases.clone();
        move |worker, n| {
            let client = client.clone();
            let i = worker % tokens.len();
            let token = tokens[i].clone();
            let url = format!("{base}/api/v1/complaints/{}", own[i][n % own[i].len()]);
            async move {
                client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    })
    .await;
    let learner_lists = drive(opts.clients, phase, {
        let client = client.clone();
        let base = server.base.clone();
        let tokens = tokens.clone();
        move |worker, _| {
            let client = client.clone();
            let token = tokens[worker % tokens.len()].clone();
            let url = format!("{base}/api/v1/complaints?limit=20");
            async move {
                client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    })
    .await;
    let staff_token = login(&client, &server.base, &world.staff_email).await?;
    let staff_lists = drive(opts.clients, phase, {
        let client = client.clone();
        let url = format!(
            "{}/api/v1/complaints?limit=20&state=awaiting_response",
            server.base
        );
        move |_, _| {
            let client = client.clone();
            let url = url.clone();
            let token = staff_token.clone();
            async move {
                client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    })
    .await;
    let disclosure_pages = drive(opts.clients, phase, {
        let client = client.clone();
        let base = server.base.clone();
        let insts: Vec<Uuid> = world.institutions.iter().map(|i| i.id).collect();
        move |worker, n| {
            let client = client.clone();
            let url = format!(
                "{base}/institutions/{}?lang=en",
                insts[(worker * 7 + n) % insts.len()]
            );
            async move {
                client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        }
    })
    .await;
    eprintln!(
        "disclosure pages: {:.0}/s; server rss: {:.0} MB",
        disclosure_pages.per_sec,
        rss_mb(pid, "VmRSS:")
    );
    let (csv_rows, csv_secs) = csv_export(&client, &server.base).await?;
    eprintln!("csv: {csv_rows} rows in {csv_secs:.1} s");
    let rss = rss_mb(pid, "VmHWM:");
    drop(server);

    let (sweep_secs, fired, idle_ms) = sweep_bench(&state, opts.due_timers).await?;
    let webhooks = webhook_bench(&state, &world, phase).await?;
    eprintln!("webhooks: {:.0} deliveries/s", webhooks.per_sec);

    let report = Report {
        database: if settings.is_sqlite() {
            "sqlite".into()
        } else {
            "postgres".into()
        },
        cases_loaded: opts.cases,
        clients: opts.clients,
        phase_secs: opts.phase_secs,
        http_ceiling_rps: http.per_sec,
        storage_ceiling_filings_per_sec: storage,
        bulk_load_cases_per_sec: load_rate,
        filings_ratio_to_storage_ceiling: filings.per_sec / storage.max(1.0),
        case_reads_ratio_to_http_ceiling: case_reads.per_sec / http.per_sec.max(1.0),
        filings,
        case_reads,
        learner_lists,
        staff_lists,
        disclosure_pages,
        csv_rows,
        csv_secs,
        csv_rows_per_sec: csv_rows as f64 / csv_secs.max(1e-9),
        sweep_due_timers: opts.due_timers,
        sweep_fire_all_secs: sweep_secs,
        sweep_fired_per_sec: fired as f64 / sweep_secs.max(1e-9),
        sweep_idle_ms: idle_ms,
        webhook_deliveries_ratio_to_http_ceiling: webhooks.per_sec / http.per_sec.max(1.0),
        webhooks,
        server_peak_rss_mb: rss,
    };
    print_table(&report);
    let text = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &opts.json {
        std::fs::write(path, &text)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_table(r: &Report) {
    let row = |name: &str, l: &Latency| {
        println!(
            "{name:<22} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>8}",
            l.per_sec, l.median_ms, l.p99_ms, l.max_ms, l.errors
        );
    };
    println!(
        "redress bench — {} — {} cases loaded, {} clients, {} s per phase",
        r.database, r.cases_loaded, r.clients, r.phase_secs
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "phase", "per sec", "median ms", "p99 ms", "max ms", "errors"
    );
    row("filings", &r.filings);
    row("case reads", &r.case_reads);
    row("lists (learner)", &r.learner_lists);
    row("lists (staff)", &r.staff_lists);
    row("disclosure page", &r.disclosure_pages);
    println!(
        "open data CSV: {} rows in {:.1} s ({:.0} rows/s, streamed)",
        r.csv_rows, r.csv_secs, r.csv_rows_per_sec
    );
    println!(
        "http ceiling (/healthz)      {:>10.0} req/s",
        r.http_ceiling_rps
    );
    println!(
        "storage ceiling              {:>10.0} filings/s",
        r.storage_ceiling_filings_per_sec
    );
    println!(
        "filings / storage ceiling    {:>10.2}",
        r.filings_ratio_to_storage_ceiling
    );
    println!(
        "case reads / http ceiling    {:>10.2}",
        r.case_reads_ratio_to_http_ceiling
    );
    println!(
        "bulk load                    {:>10.0} cases/s",
        r.bulk_load_cases_per_sec
    );
    println!(
        "sla sweep: {} due timers fired in {:.2} s ({:.0}/s); idle sweep {:.2} ms",
        r.sweep_due_timers, r.sweep_fire_all_secs, r.sweep_fired_per_sec, r.sweep_idle_ms
    );
    let w = &r.webhooks;
    println!(
        "webhooks: {} deliveries ({} endpoints) in {:.2} s = {:.0}/s ({:.2} of the http ceiling); \
         change to delivery at 1,000 changes/s to one endpoint: median {:.1} ms, p99 {:.1} ms, \
         max {:.1} ms",
        w.deliveries,
        w.subscriptions,
        w.secs,
        w.per_sec,
        r.webhook_deliveries_ratio_to_http_ceiling,
        w.latency_median_ms,
        w.latency_p99_ms,
        w.latency_max_ms
    );
    println!(
        "server peak RSS              {:>10.1} MB",
        r.server_peak_rss_mb
    );
}

/// Streams the whole public CSV once and counts its rows.
async fn csv_export(client: &reqwest::Client, base: &str) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut resp = client
        .get(format!("{base}/api/v1/public/complaints.csv"))
        .send()
        .await?
        .error_for_status()?;
    let mut lines = 0u64;
    while let Some(chunk) = resp.chunk().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((lines.saturating_sub(1), started.elapsed().as_secs_f64()))
}

async fn wait_ready(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server did not become ready")
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    r["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no token"))
}

async fn login_all(
    client: &reqwest::Client,
    base: &str,
    world: &World,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let mut tokens = vec![];
    for i in 0..n.min(world.learner_emails.len()) {
        tokens.push(login(client, base, &world.learner_emails[i]).await?);
    }
    Ok(tokens)
}

/// Runs `clients` workers, each calling `op(worker, n)` in a loop for `phase`.
async fn drive<F, Fut>(clients: usize, phase: Duration, op: F) -> Latency
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = vec![];
    for worker in 0..clients {
        let op = op.clone();
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let mut micros = vec![];
            let mut errors = 0;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if op(worker, n).await {
                    micros.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
                n += 1;
            }
            (micros, errors)
        }));
    }
    tokio::time::sleep(phase).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = vec![];
    let mut errors = 0;
    for h in handles {
        if let Ok((m, e)) = h.await {
            all.extend(m);
            errors += e;
        }
    }
    summarise(all, errors, started.elapsed())
}

struct World {
    institutions: Vec<institution::Model>,
    regulator: Uuid,
    learners: Vec<Uuid>,
    learner_emails: Vec<String>,
    staff_email: String,
    /// For each of the first learners, ids of cases they own.
    sample_cases: Vec<Vec<Uuid>>,
}

/// Institutions, learners (sharing one password hash) and one staff member.
async fn seed(db: &DatabaseConnection) -> anyhow::Result<World> {
    let now = Utc::now();
    let institutions: Vec<institution::Model> = (0..INSTITUTIONS)
        .map(|i| {
            let code =
                CreditCode::complete(&format!("91110000{:09}", 100_000 + i)).expect("valid code");
            institution::Model {
                id: Uuid::now_v7(),
                name: format!("基准网校 {i:03}"),
                credit_code: code.as_str().to_owned(),
                filing_number: format!("BENCH-{i}"),
                region_code: "110108".into(),
                website: None,
                status: institution::InstitutionStatus::Active,
                service_rules: "Live classes.".into(),
                fees_and_prepayment: "Monthly.".into(),
                refund_policy: "Prorated.".into(),
                teacher_qualifications: "Certified.".into(),
                complaint_contact: "help@example.com".into(),
                disclosure_updated_at: Some(now),
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    db::insert_chunked(
        db,
        institutions
            .iter()
            .cloned()
            .map(institution::ActiveModel::from)
            .collect(),
    )
    .await?;

    let email = Email::parse("staff@bench.example.com").map_err(anyhow::Error::msg)?;
    let hash =
        password::hash(&Password::parse(PASSWORD, &email).map_err(anyhow::Error::msg)?).await?;
    let mut learners = vec![];
    let mut learner_emails = vec![];
    let mut accounts = vec![account::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash.clone()),
        display_name: Set("Bench staff".into()),
        role: Set(Role::InstitutionStaff),
        institution_id: Set(Some(institutions[0].id)),
        association_id: Set(None),
        created_at: Set(now),
        language: Set(None),
    }];
    for i in 0..LEARNERS {
        let id = Uuid::now_v7();
        let e = format!("learner{i}@bench.example.com");
        learners.push(id);
        learner_emails.push(e.clone());
        accounts.push(account::ActiveModel {
            id: Set(id),
            email: Set(e),
            password_hash: Set(hash.clone()),
            display_name: Set(format!("Learner {i}")),
            role: Set(Role::Learner),
            institution_id: Set(None),
            association_id: Set(None),
            created_at: Set(now),
            language: Set(None),
        });
    }
    let regulator = Uuid::now_v7();
    accounts.push(account::ActiveModel {
        id: Set(regulator),
        email: Set("regulator@bench.example.com".into()),
        password_hash: Set(hash.clone()),
        display_name: Set("Bench regulator".into()),
        role: Set(Role::Regulator),
        institution_id: Set(None),
        association_id: Set(None),
        created_at: Set(now),
        language: Set(None),
    });
    db::insert_chunked(db, accounts).await?;
    Ok(World {
        institutions,
        regulator,
        learners,
        learner_emails,
        staff_email: email.as_str().to_owned(),
        sample_cases: vec![],
    })
}

/// The rows one filing writes: the case, its first timeline event and its timers.
/// The `i`-th benchmark filing: learners and institutions in turn, one complaint text.
fn filing(rules: &Rules, world: &World, i: usize) -> Filing {
    Filing {
        rules: rules.clone(),
        who: Principal {
            account_id: world.learners[i % world.learners.len()],
            role: Role::Learner,
            institution_id: None,
            association_id: None,
        },
        new: NewComplaint {
            institution_id: world.institutions[i % world.institutions.len()].id,
            category: Category::Refund,
            title: "Refund refused".into(),
            narrative: "The classes stopped and the refund was refused.".into(),
            desired_remedy: DesiredRemedy::FullRefund,
            desired_amount_minor: None,
            currency: "CNY".into(),
            amount_in_dispute_minor: Some(1_280_000),
            course_reference: None,
            purchase_date: None,
            prepaid_minor: None,
            hours_bought: Some(48),
            hours_used: Some(12),
            prepaid_period_days: None,
            minor: None,
            consent_to_publish: false,
        },
        idem: None,
    }
}

/// Writes `count` filings' rows directly (the rows a filing writes, built by the same
/// code, without the API or the filing queue), published at once so that pages and open
/// data have cases to show.
async fn insert_batch(
    state: &AppState,
    world: &World,
    from: u64,
    count: u64,
    prefix: &str,
) -> anyhow::Result<Vec<(u64, Uuid)>> {
    let rules = state.rules();
    let mut rows = Vec::with_capacity(count as usize);
    let mut owned = Vec::with_capacity(count as usize);
    for i in from..from + count {
        let f = filing(&rules, world, i as usize);
        let inst = &world.institutions[i as usize % world.institutions.len()];
        let mut r = complaints::filing_rows(&f, inst, format!("{prefix}-{i:09}"));
        r.case.published_at = Some(rules.now);
        owned.push((i, r.case.id));
        rows.push(r);
    }
    let txn = state.db.begin().await?;
    complaints::write_filing_rows(&txn, rows).await?;
    txn.commit().await?;
    Ok(owned)
}

/// The durable write rate of the rows a filing writes (case, first event, statistics,
/// outbox row, timers), inserted directly in batches of 100 filings per transaction (one
/// fsync each), for `phase`.
async fn storage_ceiling(state: &AppState, world: &World, phase: Duration) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < phase {
        insert_batch(state, world, n, 100, "CEIL").await?;
        n += 100;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Loads `cases` cases in large transactions; returns the rate and, for each of the
/// first 64 learners, some of their case ids (for the read phase).
async fn bulk_load(
    state: &AppState,
    world: &World,
    cases: u64,
) -> anyhow::Result<(f64, Vec<Vec<Uuid>>)> {
    let bar = ProgressBar::new(cases).with_style(
        ProgressStyle::with_template("loading cases {bar:40} {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut done = 0;
    let mut samples: Vec<Vec<Uuid>> = vec![vec![]; 64];
    while done < cases {
        let n = (cases - done).min(2_000);
        for (i, case) in insert_batch(state, world, done, n, "LOAD").await? {
            let learner = (i % world.learners.len() as u64) as usize;
            if learner < samples.len() && samples[learner].len() < 100 {
                samples[learner].push(case);
            }
        }
        done += n;
        bar.set_position(done);
    }
    bar.finish();
    Ok((
        cases as f64 / started.elapsed().as_secs_f64().max(1e-9),
        samples,
    ))
}

/// Makes `due` timers due now, fires them all with the sweeper, then times sweeps that
/// find nothing to do.
async fn sweep_bench(state: &AppState, due: u64) -> anyhow::Result<(f64, u64, f64)> {
    let db = &state.db;
    let ids: Vec<Uuid> = timer::Entity::find()
        .select_only()
        .column(timer::Column::Id)
        .filter(sea_orm::ColumnTrait::eq(
            &timer::Column::State,
            TimerState::Pending,
        ))
        .filter(sea_orm::ColumnTrait::eq(
            &timer::Column::Kind,
            TimerKind::Deadline,
        ))
        .limit(due)
        .into_tuple()
        .all(db)
        .await?;
    let past = Utc::now() - ChronoDuration::minutes(1);
    for chunk in ids.chunks(500) {
        timer::Entity::update_many()
            .col_expr(timer::Column::DueAt, sea_orm::sea_query::Expr::value(past))
            .filter(sea_orm::ColumnTrait::is_in(
                &timer::Column::Id,
                chunk.to_vec(),
            ))
            .exec(db)
            .await?;
    }
    let started = Instant::now();
    let mut total = Sweep::default();
    loop {
        let s = sla::run_once(db, &state.rules(), 500).await?;
        total.deadlines += s.deadlines;
        if s.claimed == 0 {
            break;
        }
    }
    let fire_secs = started.elapsed().as_secs_f64();
    let idle_started = Instant::now();
    for _ in 0..20 {
        sla::run_once(db, &state.rules(), 500).await?;
    }
    let idle_ms = idle_started.elapsed().as_secs_f64() * 1000.0 / 20.0;
    let _ = db::ping(db).await;
    Ok((fire_secs, total.deadlines as u64, idle_ms))
}

/// Endpoints subscribed for the webhook phase, each receiving every event.
const SUBSCRIPTIONS: usize = 8;
/// Filings whose events make the webhook throughput backlog.
const WEBHOOK_EVENTS: usize = 2_000;

/// What the local webhook receiver saw.
#[derive(Default)]
struct Arrivals {
    count: AtomicUsize,
    /// Per delivery, microseconds from its event's time to its arrival.
    delays_us: std::sync::Mutex<Vec<u64>>,
}

struct Receive(Arc<Arrivals>);

impl poem::Endpoint for Receive {
    type Output = poem::Response;

    async fn call(&self, mut req: poem::Request) -> poem::Result<Self::Output> {
        let arrived = Utc::now();
        let body = req.take_body().into_vec().await?;
        let event_at = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["timestamp"].as_str().map(str::to_owned))
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
        if let Some(at) = event_at {
            let us = (arrived - at.with_timezone(&Utc))
                .num_microseconds()
                .unwrap_or(0);
            if let Ok(mut d) = self.0.delays_us.lock() {
                d.push(u64::try_from(us).unwrap_or(0));
            }
        }
        self.0.count.fetch_add(1, Ordering::SeqCst);
        Ok(poem::Response::builder()
            .status(poem::http::StatusCode::NO_CONTENT)
            .finish())
    }
}

#[derive(Debug, Default, Serialize)]
struct WebhookFigures {
    subscriptions: usize,
    deliveries: usize,
    secs: f64,
    per_sec: f64,
    latency_deliveries: usize,
    latency_median_ms: f64,
    latency_p99_ms: f64,
    latency_max_ms: f64,
}

/// Files `n` complaints through the service (as the filing writer does), spread over
/// the institutions, and nudges the dispatcher as the API does after a write
/// (`notify_one` keeps the nudge for a dispatcher that is not yet waiting).
async fn file_directly(state: &AppState, world: &World, n: usize) -> anyhow::Result<()> {
    let rules = state.rules();
    let filings: Vec<Filing> = (0..n).map(|i| filing(&rules, world, i)).collect();
    let txn = db::begin_write(&state.db).await?;
    for outcome in complaints::file_many(&txn, &filings).await? {
        outcome?;
    }
    txn.commit().await?;
    state.webhook_wakeup.notify_one();
    Ok(())
}

/// Webhook deliveries from the durable outbox to a local receiver, with the dispatcher
/// as `serve` runs it: first a backlog to every endpoint (throughput), then filings at
/// a steady pace for `phase` to one endpoint (time from each change to its delivery).
async fn webhook_bench(
    state: &AppState,
    world: &World,
    phase: Duration,
) -> anyhow::Result<WebhookFigures> {
    use entity::webhook_event;
    // The bulk-loaded cases' events count as delivered before this phase.
    webhook_event::Entity::update_many()
        .col_expr(
            webhook_event::Column::FannedOutAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(sea_orm::ColumnTrait::is_null(
            &webhook_event::Column::FannedOutAt,
        ))
        .exec(&state.db)
        .await?;

    let arrivals = Arc::new(Arrivals::default());
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let acceptor = poem::listener::TcpAcceptor::from_std(listener)?;
    let receiver = tokio::spawn(
        poem::Server::new_with_acceptor(acceptor)
            .run(poem::Route::new().at("/*path", Receive(arrivals.clone()))),
    );
    let regulator = Principal {
        account_id: world.regulator,
        role: Role::Regulator,
        institution_id: None,
        association_id: None,
    };
    let mut subscriptions = vec![];
    for i in 0..SUBSCRIPTIONS {
        let url = format!("http://127.0.0.1:{port}/hooks/{i}")
            .parse()
            .map_err(|e| anyhow::anyhow!("receiver url: {e}"))?;
        let (sub, _secret) = webhooks::create(
            &state.db,
            &regulator,
            webhooks::NewSubscription {
                url,
                description: format!("bench receiver {i}"),
                event_types: None,
                enabled: true,
            },
            true,
            Utc::now(),
        )
        .await?;
        subscriptions.push(sub.id);
    }

    for _ in 0..WEBHOOK_EVENTS / 200 {
        file_directly(state, world, 200).await?;
    }
    let backlog = WEBHOOK_EVENTS * SUBSCRIPTIONS;
    let started = Instant::now();
    let dispatcher = tokio::spawn(crate::workers::webhooks::run(state.clone()));
    let wait_for = |n: usize, limit: Duration| {
        let arrivals = arrivals.clone();
        async move {
            let until = Instant::now() + limit;
            while arrivals.count.load(Ordering::SeqCst) < n && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    wait_for(backlog, Duration::from_secs(600)).await;
    let secs = started.elapsed().as_secs_f64();
    let delivered = arrivals.count.load(Ordering::SeqCst);
    if let Ok(mut d) = arrivals.delays_us.lock() {
        d.clear();
    }

    // Steady changes to one endpoint: 20 filings every 20 ms (1,000 a second), well
    // within what the dispatcher sustains, so the delay is the path, not a queue.
    entity::webhook_subscription::Entity::update_many()
        .col_expr(
            entity::webhook_subscription::Column::Enabled,
            sea_orm::sea_query::Expr::value(false),
        )
        .filter(sea_orm::ColumnTrait::is_in(
            &entity::webhook_subscription::Column::Id,
            subscriptions[1..].to_vec(),
        ))
        .exec(&state.db)
        .await?;
    let steady = Instant::now();
    let mut filed = 0;
    while steady.elapsed() < phase {
        file_directly(state, world, 20).await?;
        filed += 20;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_for(backlog + filed, Duration::from_secs(120)).await;
    dispatcher.abort();
    receiver.abort();
    let delays = arrivals
        .delays_us
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    let latency = summarise(delays, 0, phase);
    Ok(WebhookFigures {
        subscriptions: SUBSCRIPTIONS,
        deliveries: delivered,
        secs,
        per_sec: delivered as f64 / secs.max(1e-9),
        latency_deliveries: latency.count,
        latency_median_ms: latency.median_ms,
        latency_p99_ms: latency.p99_ms,
        latency_max_ms: latency.max_ms,
    })
}
