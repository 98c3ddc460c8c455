//! Supervised workers: a panic restarts the worker and its next step runs; `/readyz`
//! names a worker without a finished step in its interval; the calendar refresh runs
//! in every replica. Waiting is on heartbeats (bounded by a timeout), never a sleep.
use std::time::Duration;

use chrono::Utc;
use redress::{
    service::{calendars, filing_queue},
    workers,
};
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app_with},
    lifecycle::filed_case,
    sla::year_file,
};

const WAIT: Duration = Duration::from_secs(60);

async fn wait_until(
    app: &TestApp,
    worker: &str,
    done: impl Fn(&redress::supervisor::WorkerStatus) -> bool,
) {
    tokio::time::timeout(WAIT, app.state.supervisor.wait_until(worker, done))
        .await
        .unwrap_or_else(|_| panic!("{worker}: {:?}", app.state.supervisor.worker(worker)));
}

/// Arms `n` panics once the worker runs (it starts with the server task).
async fn inject_panics(app: &TestApp, worker: &str, n: u64) {
    wait_until(app, worker, |_| true).await;
    app.state.supervisor.inject_panics(worker, n);
}

fn steps(app: &TestApp, worker: &str) -> u64 {
    app.state.supervisor.worker(worker).expect("running").steps
}

#[tokio::test]
async fn a_sweeper_that_panicked_is_restarted_and_fires_the_next_due_timer() {
    let app = spawn_app_with(|s| s.run_workers = true).await;
    let sweeper = workers::sla::WORKER;
    inject_panics(&app, sweeper, 1).await;
    wait_until(&app, sweeper, |w| w.restarts == 1).await;

    // The restarted sweeper does its work: a missed response deadline escalates.
    let c = filed_case(&app).await;
    app.clock.advance(chrono::Duration::days(30));
    let after = steps(&app, sweeper);
    wait_until(&app, sweeper, |w| w.steps >= after + 2).await;
    let case = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(case.body["state"], "awaiting_mediation");
    assert_eq!(app.state.supervisor.worker(sweeper).unwrap().restarts, 1);
    app.get("/readyz", None).await.expect(200);
}

#[tokio::test]
async fn a_filing_writer_that_panicked_keeps_its_queue_and_files_again() {
    let app = spawn_app_with(|_| {}).await;
    let writer = filing_queue::WORKER;
    let c = filed_case(&app).await;
    // The writer's beat after the next batch panics, as a failing step would.
    inject_panics(&app, writer, 1).await;
    app.post(
        "/api/v1/complaints",
        Some(&c.learner.token),
        crate::lifecycle::filing(c.institution),
    )
    .await
    .expect(201);
    wait_until(&app, writer, |w| w.restarts == 1).await;
    let before = steps(&app, writer);
    let again = app
        .post(
            "/api/v1/complaints",
            Some(&c.learner.token),
            crate::lifecycle::filing(c.institution),
        )
        .await
        .expect(201);
    assert!(again.body["id"].is_string());
    assert!(steps(&app, writer) > before);
    let mine = app
        .get("/api/v1/complaints", Some(&c.learner.token))
        .await
        .expect(200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn readyz_names_a_worker_that_has_not_finished_a_step_in_its_interval() {
    let app = spawn_app_with(|s| s.run_workers = true).await;
    let last = format!("{}2", workers::webhooks::WORKER_PREFIX);
    wait_until(&app, &last, |_| true).await;
    let ready = app.get("/readyz", None).await.expect(200);
    let names: Vec<_> = ready.body["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "calendar_refresh",
            "email_sender",
            "filing_writer",
            "sla_sweeper",
            "webhook_dispatcher_1",
            "webhook_dispatcher_2"
        ]
    );

    // The sweeper panics at every step from now on, so it never finishes one; the
    // others keep stepping. Then an interval passes.
    let sweeper = workers::sla::WORKER;
    inject_panics(&app, sweeper, u64::MAX).await;
    wait_until(&app, sweeper, |w| w.restarts >= 1).await;
    app.state
        .supervisor
        .pretend_elapsed(workers::sla::EXPECTED_INTERVAL + Duration::from_secs(1));
    let dispatcher = format!("{}1", workers::webhooks::WORKER_PREFIX);
    let after = steps(&app, &dispatcher);
    wait_until(&app, &dispatcher, |w| w.steps > after).await;

    let r = app.get("/readyz", None).await.expect_problem(503);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("sla_sweeper"), "{detail}");
    assert!(!detail.contains(&dispatcher), "{detail}");
}

#[tokio::test]
async fn every_replica_refreshes_its_calendar_also_without_workers() {
    let app = spawn_app_with(|s| {
        s.run_workers = false;
        s.calendar_refresh_secs = 1;
    })
    .await;
    let refresher = workers::calendar::WORKER;
    wait_until(&app, refresher, |_| true).await;
    assert!(app.state.supervisor.worker(workers::sla::WORKER).is_none());
    app.clock.set("2026-11-30T02:00:00Z".parse().unwrap());
    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready.body["warnings"].as_array().unwrap().len(), 1);

    // Another replica loads 2027 into the shared database.
    calendars::put(&app.db, 2027, &year_file(2027).to_string(), Utc::now())
        .await
        .unwrap();
    let after = steps(&app, refresher);
    wait_until(&app, refresher, |w| w.steps > after).await;
    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready.body["warnings"], json!([]));
}
