//! The email worker: sends due mails from the outbox; sleeps only when a step found
//! nothing to do. Every replica may run one (claims are leased).
use std::time::Duration;

use crate::{service::email::sender, state::AppState};

const IDLE: Duration = Duration::from_secs(1);

pub async fn run(state: AppState) {
    if let Some(dir) = state.mailer.folder() {
        tracing::info!(dir = %dir.display(), "no SMTP server configured (REDRESS_SMTP_URL): emails are written to the mail folder");
    }
    loop {
        match sender::run_once(&state.db, &state.mailer, state.clock.now()).await {
            Ok(step) if step.busy() => tracing::debug!(?step, "email step"),
            Ok(_) => tokio::time::sleep(IDLE).await,
            Err(e) => {
                tracing::error!(error = %e, "email step failed");
                tokio::time::sleep(IDLE * 5).await;
            }
        }
    }
}
