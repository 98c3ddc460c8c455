//! Measurements, not checks (ignored by default). Run with
//! `cargo test --release --test api webhook_bench -- --ignored --nocapture`
//! (add `TEST_DATABASE_URL=…` for PostgreSQL).
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};

use crate::{
    helpers::{Receiver, TestApp, spawn_app, spawn_app_with},
    lifecycle::filing,
};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Files `n` complaints at institution `inst` over HTTP, `parallel` at a time.
async fn burst(app: &TestApp, token: &str, inst: uuid::Uuid, n: usize, parallel: usize) {
    stream::iter(0..n)
        .map(|_| async {
            app.post("/api/v1/complaints", Some(token), filing(inst))
                .await
                .expect(201);
        })
        .buffer_unordered(parallel)
        .collect::<Vec<_>>()
        .await;
}

/// Deliveries per second to a local receiver: `BENCH_EVENTS` filings (default 500),
/// each fanned out to `BENCH_SUBSCRIPTIONS` endpoints (default 8), sent by one
/// dispatcher stepping as fast as it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn webhook_bench_throughput() {
    let events = env_usize("BENCH_EVENTS", 500);
    let subscriptions = env_usize("BENCH_SUBSCRIPTIONS", 8);
    let app = spawn_app().await;
    let regulator = app.regulator().await;
    let learner = app.learner().await;
    let inst = app
        .institution(
            &regulator,
            &crate::helpers::credit_code(7),
            "Bench Online",
            "110108",
        )
        .await;
    let receiver = Receiver::start().await;
    for i in 0..subscriptions {
        app.subscribe(&regulator, &format!("{}/{i}", receiver.url), None)
            .await;
    }
    burst(&app, &learner.token, inst, events, 16).await;
    let total = events * subscriptions;

    // The dispatcher as `serve` runs it (its loops, its settings).
    let started = Instant::now();
    let worker = tokio::spawn(redress::workers::webhooks::run(app.state.clone()));
    while receiver.arrived() < total {
        assert!(started.elapsed() < Duration::from_secs(600), "too slow");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    worker.abort();
    eprintln!(
        "throughput: {total} deliveries ({events} events x {subscriptions} endpoints) in \
         {:.2} s = {:.0} deliveries/s ({} dispatcher loops, batch {}, {} in flight each)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        app.settings.webhooks_dispatchers,
        app.settings.webhooks_batch_size,
        app.settings.webhooks_concurrency,
    );
}

/// Change-to-delivery latency with the dispatcher running as in `serve`: filings at a
/// steady pace; latency from the filing's HTTP answer to the webhook's arrival.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn webhook_bench_latency() {
    let events = env_usize("BENCH_EVENTS", 200);
    let app = spawn_app_with(|s| s.run_workers = true).await;
    let regulator = app.regulator().await;
    let learner = app.learner().await;
    let inst = app
        .institution(
            &regulator,
            &crate::helpers::credit_code(8),
            "Bench Online",
            "110108",
        )
        .await;
    let receiver = Receiver::start().await;
    app.subscribe(&regulator, &receiver.url, None).await;
    let mut changed = std::collections::HashMap::new();
    for _ in 0..events {
        let r = app
            .post("/api/v1/complaints", Some(&learner.token), filing(inst))
            .await
            .expect(201);
        changed.insert(r.body["id"].as_str().unwrap().to_owned(), Instant::now());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.received().len() < events {
        assert!(Instant::now() < deadline, "not all delivered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut ms: Vec<f64> = receiver
        .received()
        .iter()
        .map(|r| {
            let id = r.json["data"]["complaint_id"].as_str().unwrap();
            r.at.saturating_duration_since(changed[id]).as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    eprintln!(
        "latency over {events} changes: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        ms[ms.len() - 1]
    );
}
