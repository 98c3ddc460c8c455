//! The statistics counters agree with the cases after long random action sequences,
//! and `redress stats verify|rebuild` find and fix any difference.
use std::process::Command;

use chrono::Duration;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use redress::service::stats;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};

use crate::disclosure::{Inst, file, filing_with, institution_named};
use crate::helpers::{TestApp, TestUser, spawn_app};
use crate::lifecycle::act;

struct Case {
    id: String,
    learner: usize,
    inst: usize,
}

fn action_for(rng: &mut StdRng) -> (&'static str, Option<Value>, u8) {
    // (action, body, who: 0 learner, 1 staff, 2 regulator)
    let choices: [(&str, Option<Value>, u8); 12] = [
        (
            "respond",
            Some(json!({ "message": "Refund.", "remedy": "refund",
                         "refund": { "amount_minor": 1000, "currency": "CNY" } })),
            1,
        ),
        (
            "respond",
            Some(json!({ "message": "No.", "remedy": "explanation" })),
            1,
        ),
        (
            "respond",
            Some(json!({ "message": "Credit.", "remedy": "class_hour_credit", "class_hours": 3 })),
            1,
        ),
        (
            "request_info",
            Some(json!({ "questions": "Order number?" })),
            1,
        ),
        ("provide_info", Some(json!({ "answer": "A-1" })), 0),
        ("accept_response", None, 0),
        ("escalate", Some(json!({ "reason": "no" })), 0),
        ("dispute", Some(json!({ "reason": "not paid" })), 0),
        ("withdraw", Some(json!({})), 0),
        (
            "reject",
            Some(json!({ "reason": "duplicate", "note": "dup" })),
            2,
        ),
        ("rating", None, 0),
        ("message", None, 0),
    ];
    let (a, b, w) = choices.choose(rng).unwrap().clone();
    (a, b, w)
}

async fn random_history(app: &TestApp, seed: u64, steps: usize) -> usize {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut insts: Vec<Inst> = Vec::new();
    for n in 0..3 {
        insts.push(institution_named(app, &format!("Random Online {n}")).await);
    }
    let mut learners: Vec<TestUser> = Vec::new();
    for _ in 0..4 {
        learners.push(app.learner().await);
    }
    let regulator = app.regulator().await;
    let mut cases: Vec<Case> = Vec::new();
    let mut ok = 0;
    for _ in 0..steps {
        let roll = rng.random_range(0..100);
        if roll < 18 || cases.is_empty() {
            let learner = rng.random_range(0..learners.len());
            let inst = rng.random_range(0..insts.len());
            let id = file(
                app,
                &learners[learner],
                filing_with(insts[inst].id, "Random case.", rng.random_bool(0.5)),
            )
            .await;
            cases.push(Case { id, learner, inst });
            continue;
        }
        if roll < 26 {
            // Time passes; deadlines fire (responses late, silences resolve, ...).
            app.clock
                .advance(Duration::hours(rng.random_range(1..24 * 12)));
            app.sweep().await;
            continue;
        }
        let case = cases.choose(&mut rng).unwrap();
        let (action, body, who) = action_for(&mut rng);
        let user = match who {
            0 => &learners[case.learner],
            1 => &insts[case.inst].staff,
            _ => &regulator,
        };
        let reply = match action {
            "rating" => {
                app.post(
                    &format!("/api/v1/complaints/{}/rating", case.id),
                    Some(&user.token),
                    json!({ "score": rng.random_range(1..=5) }),
                )
                .await
            }
            "message" => {
                app.post(
                    &format!("/api/v1/complaints/{}/messages", case.id),
                    Some(&user.token),
                    json!({ "text": "hello" }),
                )
                .await
            }
            _ => act(app, user, &case.id, action, body).await,
        };
        assert!(
            [200, 201, 409].contains(&reply.status.as_u16()),
            "{action}: {} {}",
            reply.status,
            reply.body
        );
        if reply.status.is_success() {
            ok += 1;
        }
    }
    ok
}

#[tokio::test]
async fn counters_match_the_cases_after_random_action_sequences() {
    let app = spawn_app().await;
    let done = random_history(&app, 7, 260).await;
    assert!(done > 40, "too few actions succeeded: {done}");
    let diffs = stats::verify(&app.db).await.unwrap();
    assert!(diffs.is_empty(), "{diffs:#?}");
    // The counters are not trivially empty.
    let snap = stats::stored(&app.db).await.unwrap();
    let received: i64 = snap.monthly.values().map(|v| v[0]).sum();
    assert!(received > 20, "{received}");
    let breaches: i64 = snap.monthly.values().map(|v| v[5]).sum();
    assert!(
        breaches > 0,
        "the random history should include missed deadlines"
    );

    // The command line agrees.
    let verify = stats_command(&app, "verify");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("no difference"));
}

#[tokio::test]
async fn a_second_seed_agrees_too() {
    let app = spawn_app().await;
    random_history(&app, 20261130, 200).await;
    let diffs = stats::verify(&app.db).await.unwrap();
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[tokio::test]
async fn verify_reports_a_tampered_counter_and_rebuild_repairs_it() {
    let app = spawn_app().await;
    random_history(&app, 3, 80).await;
    assert!(stats::verify(&app.db).await.unwrap().is_empty());
    app.db
        .execute_unprepared(
            "UPDATE institution_stats_monthly SET received = received + 5, breaches = breaches + 1",
        )
        .await
        .unwrap();
    let diffs = stats::verify(&app.db).await.unwrap();
    assert!(diffs.iter().any(|d| d.counter == "received"), "{diffs:#?}");
    assert!(diffs.iter().any(|d| d.counter == "breaches"), "{diffs:#?}");

    let verify = stats_command(&app, "verify");
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("received: stored"));

    let rebuild = stats_command(&app, "rebuild");
    assert!(
        rebuild.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuild.stderr)
    );
    assert!(String::from_utf8_lossy(&rebuild.stdout).contains("statistics rebuilt"));
    assert!(stats::verify(&app.db).await.unwrap().is_empty());
    // Counting goes on correctly from the rebuilt counters.
    random_history(&app, 4, 40).await;
    assert!(stats::verify(&app.db).await.unwrap().is_empty());
    let rows = entity::complaint_stats::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(!rows.is_empty());
}

fn stats_command(app: &TestApp, action: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["stats", action])
        .env("DATABASE_URL", &app.settings.database_url)
        .env("REDRESS_LOG_LEVEL", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_demo_loads_and_its_statistics_verify() {
    let dir = std::env::temp_dir().join("redress-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("demo-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_redress"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env("REDRESS_LOG_LEVEL", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["demo", "--seed", "7", "--cases", "120"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("120 cases"), "{stdout}");
    for role in [
        "admin",
        "regulator",
        "mediator",
        "institution_staff",
        "learner",
    ] {
        assert!(
            stdout.contains(role),
            "{role} credentials missing: {stdout}"
        );
    }
    assert!(stdout.contains(redress::demo::DEMO_PASSWORD));
    let verify = run(&["stats", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // A second load into the same database is refused.
    let again = run(&["demo", "--cases", "10"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has institutions"));
}

#[tokio::test]
async fn an_unfulfilled_settlement_event_counts_and_verifies() {
    use sea_orm::TransactionTrait;
    let app = crate::helpers::spawn_app_with(|s| s.stats_min_cases = 1).await;
    let inst = institution_named(&app, "Unfulfilled Online").await;
    let learner = app.learner().await;
    let id = file(
        &app,
        &learner,
        filing_with(inst.id, "Promised refund.", false),
    )
    .await;
    // What the mediation code does when a settlement is not carried out: append the
    // event in its transaction; the counter follows.
    let txn = app.db.begin().await.unwrap();
    redress::service::timeline::append(
        &txn,
        redress::service::timeline::NewEvent {
            complaint_id: id.parse().unwrap(),
            actor_id: None,
            actor_role: "system",
            action: stats::SETTLEMENT_UNFULFILLED,
            from_state: None,
            to_state: None,
            payload: json!({}),
            at: app.clock_now(),
        },
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let s = app
        .get(&format!("/api/v1/institutions/{}/stats", inst.id), None)
        .await
        .expect(200);
    assert_eq!(s.body["all_time"]["settlements_unfulfilled"], 1);
    assert!(stats::verify(&app.db).await.unwrap().is_empty());
}
