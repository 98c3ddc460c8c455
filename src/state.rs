//! The application state every handler, page and worker shares: the database, settings,
//! keys, clock, calendar and the long-lived services built once at start.
use std::sync::{Arc, RwLock};

use chrono_tz::Tz;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;

use crate::{
    auth::jwt::JwtKeys,
    clock::SharedClock,
    config::Settings,
    db,
    domain::{calendar::WorkCalendar, sla::SlaPolicy},
    service::{
        calendars, complaints::Rules, email::sender::Mailer, filing_queue::FilingQueue, secrets,
        webhook_delivery::Dispatcher,
    },
    supervisor::Supervisor,
};

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    pub clock: SharedClock,
    pub calendar: Arc<RwLock<Arc<WorkCalendar>>>,
    pub policy: SlaPolicy,
    pub tz: Tz,
    /// Filings share commits (see `service::filing_queue`).
    pub filings: FilingQueue,
    /// The public pages' templates, compiled once.
    pub pages: crate::pages::SharedPages,
    /// Sends webhooks; one HTTP connection pool for the process.
    pub dispatcher: Arc<Dispatcher>,
    /// Wakes an idle webhook dispatcher after a change, so that it need not wait for
    /// its next poll. Changes made by other replicas are found by polling.
    pub webhook_wakeup: Arc<tokio::sync::Notify>,
    /// Sends learner emails (SMTP, or the mail folder); built once.
    pub mailer: Arc<Mailer>,
    /// The background workers this process runs and their heartbeats (`/readyz`).
    pub supervisor: Supervisor,
}

impl AppState {
    /// Connects, migrates, and loads (or creates) the signing key.
    pub async fn init(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let db = db::connect(&settings).await?;
        db::migrate(&db).await?;
        let secret = match &settings.jwt_secret {
            Some(s) => s.expose_secret().as_bytes().to_vec(),
            None => secrets::jwt_secret(&db).await?,
        };
        let jwt = JwtKeys::new(
            &secret,
            &settings.jwt_issuer,
            &settings.jwt_audience,
            settings.jwt_ttl_secs,
        )?;
        let policy = settings.sla_policy()?;
        let tz = settings.tz()?;
        let calendar = calendars::load(&db).await?;
        let dispatcher = Arc::new(Dispatcher::new(&settings)?);
        let mailer = Arc::new(Mailer::new(&settings)?);
        let supervisor = Supervisor::new();
        let state = Self {
            filings: FilingQueue::start(db.clone(), &supervisor),
            supervisor,
            db,
            settings: Arc::new(settings),
            jwt: Arc::new(jwt),
            clock,
            calendar: Arc::new(RwLock::new(Arc::new(calendar))),
            policy,
            tz,
            pages: crate::pages::shared()?,
            dispatcher,
            webhook_wakeup: Arc::new(tokio::sync::Notify::new()),
            mailer,
        };
        for warning in state.calendar_warnings() {
            tracing::warn!("{warning}");
        }
        Ok(state)
    }

    /// Re-reads the calendar years from the database (after an operator loads one).
    pub async fn reload_calendar(&self) -> anyhow::Result<()> {
        let fresh = Arc::new(calendars::load(&self.db).await?);
        *self.calendar.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    pub fn calendar_warnings(&self) -> Vec<String> {
        calendars::warnings(&self.rules().calendar, self.clock.now(), self.tz)
    }

    /// The rules a case change is decided with, as of now.
    pub fn rules(&self) -> Rules {
        Rules {
            calendar: self
                .calendar
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            policy: self.policy,
            tz: self.tz,
            intake_review: self.settings.intake_review,
            now: self.clock.now(),
        }
    }
}
