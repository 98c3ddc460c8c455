//! The email sender: sends due mails from the outbox; sleeps only when a step found
//! nothing to do. Every replica may run one (claims are leased). Runs under the
//! supervisor as `email_sender`.
use std::time::Duration;

use crate::{service::email::sender, state::AppState, supervisor::Heartbeat};

const IDLE: Duration = Duration::from_secs(1);
/// The sender's name in `/readyz` and the logs.
pub const WORKER: &str = "email_sender";

/// Starts the sender under the state's supervisor.
pub fn spawn(state: &AppState) -> tokio::task::JoinHandle<()> {
    if let Some(dir) = state.mailer.folder() {
        tracing::info!(dir = %dir.display(), "no SMTP server configured (REDRESS_SMTP_URL): emails are written to the mail folder");
    }
    // A step starts no send that could outlast its lease.
    let expected = (sender::LEASE * 2)
        .to_std()
        .unwrap_or(Duration::from_secs(600));
    let state = state.clone();
    state
        .supervisor
        .clone()
        .spawn(WORKER, expected, move |hb| run(state.clone(), hb))
}

async fn run(state: AppState, hb: Heartbeat) {
    loop {
        let step = sender::run_once(&state.db, &state.mailer, state.clock.now()).await;
        hb.beat();
        match step {
            Ok(step) if step.busy() => tracing::debug!(?step, "email step"),
            Ok(_) => tokio::time::sleep(IDLE).await,
            Err(e) => {
                tracing::error!(error = %e, "email step failed");
                tokio::time::sleep(IDLE * 5).await;
            }
        }
    }
}
