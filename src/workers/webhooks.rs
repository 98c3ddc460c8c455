//! The webhook dispatcher: fans out the outbox and sends due deliveries. Several loops
//! per process overlap one batch's waiting with the next batch's work; a loop sleeps
//! only when a step found nothing to do, until the next poll or a nudge after a change.
use std::time::Duration;

use crate::{service::webhook_delivery, state::AppState};

pub async fn run(state: AppState) {
    for _ in 1..state.settings.webhooks_dispatchers {
        tokio::spawn(dispatch_loop(state.clone()));
    }
    dispatch_loop(state).await;
}

async fn dispatch_loop(state: AppState) {
    let idle = Duration::from_millis(state.settings.webhooks_poll_interval_ms.max(10));
    loop {
        match webhook_delivery::run_once(&state.db, &state.dispatcher, state.clock.now()).await {
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
