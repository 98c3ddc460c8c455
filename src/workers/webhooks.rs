//! The webhook dispatcher: fans out the outbox and sends due deliveries; sleeps only
//! when a step found nothing to do.
use std::time::Duration;

use crate::{service::webhook_delivery, startup::AppState};

pub async fn run(state: AppState) {
    let idle = Duration::from_millis(state.settings.webhooks_poll_interval_ms.max(10));
    loop {
        match webhook_delivery::run_once(&state.db, &state.dispatcher, state.clock.now()).await {
            Ok(step) if step.busy() => {
                tracing::debug!(?step, "webhook dispatch");
            }
            Ok(_) => tokio::time::sleep(idle).await,
            Err(e) => {
                tracing::error!(error = %e, "webhook dispatch failed");
                tokio::time::sleep(idle.max(Duration::from_secs(1))).await;
            }
        }
    }
}
