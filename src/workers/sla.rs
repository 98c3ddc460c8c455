//! The SLA sweeper: fires due timers; sleeps only when there was nothing to do.
use std::time::Duration;

use crate::{service::sla, state::AppState};

const BATCH: u64 = 200;
const IDLE: Duration = Duration::from_secs(1);
const CALENDAR_REFRESH: Duration = Duration::from_secs(300);

pub async fn run(state: AppState) {
    let mut last_refresh = tokio::time::Instant::now();
    loop {
        if last_refresh.elapsed() >= CALENDAR_REFRESH {
            // Another replica may have loaded a calendar year.
            if let Err(e) = state.reload_calendar().await {
                tracing::warn!(error = %e, "calendar refresh failed");
            }
            last_refresh = tokio::time::Instant::now();
        }
        match sla::run_once(&state.db, &state.rules(), BATCH).await {
            Ok(sweep) if sweep.claimed > 0 => {
                tracing::info!(?sweep, "sla sweep");
                // Fired timers wrote events to the outbox.
                state.webhook_wakeup.notify_one();
            }
            Ok(_) => tokio::time::sleep(IDLE).await,
            Err(e) => {
                tracing::error!(error = %e, "sla sweep failed");
                tokio::time::sleep(IDLE * 5).await;
            }
        }
    }
}
