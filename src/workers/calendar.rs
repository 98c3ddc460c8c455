//! Calendar refresh: every replica re-reads the calendar years now and then, since
//! another replica may have loaded one. Runs whether or not this process runs the
//! other workers.
use std::time::Duration;

use crate::{state::AppState, supervisor::Heartbeat};

/// The refresher's name in `/readyz` and the logs.
pub const WORKER: &str = "calendar_refresh";

/// Starts the refresher under the state's supervisor, every `calendar_refresh_secs`.
pub fn spawn(state: &AppState) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(state.settings.calendar_refresh_secs.max(1));
    let state = state.clone();
    state
        .supervisor
        .clone()
        .spawn(WORKER, every * 2 + Duration::from_secs(60), move |hb| {
            run(state.clone(), every, hb)
        })
}

async fn run(state: AppState, every: Duration, hb: Heartbeat) {
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = state.reload_calendar().await {
            tracing::warn!(error = %e, "calendar refresh failed");
        }
        hb.beat();
    }
}
