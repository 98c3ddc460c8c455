//! The webhook dispatcher: fans out the outbox and sends due deliveries. Several loops
//! per process overlap one batch's waiting with the next batch's work; a loop sleeps
//! only when a step found nothing to do, until the next poll or a nudge after a change.
use std::time::Duration;

use crate::{
    service::webhook_delivery,
    state::AppState,
    supervisor::{AbortOnDrop, Heartbeat},
};

/// The dispatcher loops' names in `/readyz` and the logs: `webhook_dispatcher_1`, ….
pub const WORKER_PREFIX: &str = "webhook_dispatcher_";

/// Starts the dispatcher loops under the state's supervisor.
pub fn spawn(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    // A step starts no attempt that could outlast its lease.
    let expected = Duration::from_secs(state.settings.webhooks_lease_secs * 2);
    (1..=state.settings.webhooks_dispatchers.max(1))
        .map(|i| {
            let state = state.clone();
            state
                .supervisor
                .clone()
                .spawn(format!("{WORKER_PREFIX}{i}"), expected, move |hb| {
                    dispatch_loop(state.clone(), hb)
                })
        })
        .collect()
}

/// Runs the dispatcher loops, supervised, until this future is dropped or aborted.
pub async fn run(state: AppState) {
    let loops: Vec<_> = spawn(&state).into_iter().map(AbortOnDrop).collect();
    for mut handle in loops {
        let _ = (&mut handle.0).await;
    }
}

async fn dispatch_loop(state: AppState, hb: Heartbeat) {
    let idle = Duration::from_millis(state.settings.webhooks_poll_interval_ms.max(10));
    loop {
        let step =
            webhook_delivery::run_once(&state.db, &state.dispatcher, state.clock.now()).await;
        hb.beat();
        match step {
            Ok(step) if step.busy() => {
                tracing::debug!(?step, "webhook dispatch");
            }
            Ok(_) => {
                tokio::select! {
                    _ = state.webhook_wakeup.notified() => {}
                    _ = tokio::time::sleep(idle) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "webhook dispatch failed");
                tokio::time::sleep(idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}
