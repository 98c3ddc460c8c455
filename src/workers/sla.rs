//! The SLA sweeper: fires due timers; sleeps only when there was nothing to do.
use std::time::Duration;

use crate::{service::sla, state::AppState, supervisor::Heartbeat};

const BATCH: u64 = 200;
const IDLE: Duration = Duration::from_secs(1);
/// The sweeper's name in `/readyz` and the logs.
pub const WORKER: &str = "sla_sweeper";
/// A sweeper that finished no sweep for this long is stalled.
pub const EXPECTED_INTERVAL: Duration = Duration::from_secs(60);

/// Starts the sweeper under the state's supervisor.
pub fn spawn(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    state
        .supervisor
        .clone()
        .spawn(WORKER, EXPECTED_INTERVAL, move |hb| run(state.clone(), hb))
}

async fn run(state: AppState, hb: Heartbeat) {
    loop {
        let swept = sla::run_once(&state.db, &state.rules(), BATCH).await;
        hb.beat();
        match swept {
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
