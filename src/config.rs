//! Typed settings: defaults, then an optional TOML file (`REDRESS_CONFIG`), then
//! environment variables prefixed `REDRESS_` (plus the conventional `DATABASE_URL`).
use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::{calendar::Limit, sla::SlaPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Every setting of the service. `Debug` never shows secrets (`SecretString` redacts).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// `sqlite://file.db?mode=rwc` (the embedded default) or `postgres://…`.
    pub database_url: String,
    /// Largest pool size. SQLite gets its own sensible numbers.
    pub db_max_connections: u32,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub jwt_ttl_secs: u64,
    /// HMAC key for tokens. If unset, one is generated at first start and kept in the
    /// database so every replica and every restart shares it.
    pub jwt_secret: Option<SecretString>,
    pub log_level: String,
    pub log_format: LogFormat,
    /// Largest accepted JSON request body, in bytes.
    pub body_limit_bytes: usize,
    /// When on, new complaints wait in `submitted` for a regulator's intake review.
    pub intake_review: bool,
    /// Time zone in which working days are counted.
    pub timezone: String,
    /// Failed logins allowed per account within `login_window_secs`.
    pub login_max_failures_per_account: i32,
    /// Failed logins allowed per client address within `login_window_secs`.
    pub login_max_failures_per_address: i32,
    pub login_window_secs: i64,
    /// Stage limits, in working days (`10wd`) or plain durations (`72h`, `30s`).
    pub sla_intake: String,
    pub sla_response: String,
    pub sla_info: String,
    pub sla_learner_reply: String,
    pub sla_dispute_window: String,
    pub sla_assignment: String,
    pub sla_mediation: String,
    pub sla_fulfilment: String,
    /// Where attachment files are stored.
    pub attachments_dir: PathBuf,
    /// Run the background workers (SLA sweeper, webhook dispatcher) in `serve`. Tests
    /// drive them by hand.
    pub run_workers: bool,
    /// Below this many cases in a period, disclosure pages and statistics withhold
    /// rates, medians and other figures ("too few cases to publish").
    pub stats_min_cases: i64,
    /// Let webhooks target loopback, private, link-local and metadata addresses, and
    /// plain `http`. Off in production (server-side request forgery); on for tests and
    /// local demos whose receiver runs on the same machine.
    pub webhooks_allow_private_targets: bool,
    /// How long a receiver has to answer a webhook, in seconds.
    pub webhooks_timeout_secs: u64,
    /// How long a dispatcher owns the deliveries it claimed, in seconds; at least the
    /// timeout plus 5. After a crash, claimed deliveries are retried once it runs out;
    /// a step starts no attempt that could outlast it.
    pub webhooks_lease_secs: u64,
    /// How often an idle dispatcher looks for due deliveries, in milliseconds.
    pub webhooks_poll_interval_ms: u64,
    /// Deliveries claimed per dispatcher step.
    pub webhooks_batch_size: u64,
    /// Requests in flight at once per dispatcher loop.
    pub webhooks_concurrency: usize,
    /// Dispatcher loops per process: while one waits for its batch's answers, another
    /// claims and sends the next.
    pub webhooks_dispatchers: usize,
    /// The SMTP server learner emails go through: `smtp://host:port` (plain, for a local
    /// relay), `smtp://host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`.
    /// Unset: mails are written to `mail_dir` instead. Never printed.
    pub smtp_url: Option<SecretString>,
    /// The `From` of every mail.
    pub mail_from: String,
    /// Where mails are written as `.eml` files when no SMTP server is configured.
    pub mail_dir: PathBuf,
    /// Mails claimed per email worker step.
    pub mail_batch_size: u64,
    /// The address people reach the service at; links in mails start with it.
    pub public_url: String,
    /// How often every replica re-reads the calendar years (another may have loaded
    /// one), in seconds.
    pub calendar_refresh_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://redress.db?mode=rwc".into(),
            db_max_connections: 16,
            jwt_issuer: "redress".into(),
            jwt_audience: "redress-api".into(),
            jwt_ttl_secs: 3600,
            jwt_secret: None,
            log_level: "info".into(),
            log_format: LogFormat::Text,
            body_limit_bytes: 1024 * 1024,
            intake_review: false,
            timezone: "Asia/Shanghai".into(),
            login_max_failures_per_account: 5,
            login_max_failures_per_address: 50,
            login_window_secs: 15 * 60,
            sla_intake: "7wd".into(),
            sla_response: "10wd".into(),
            sla_info: "10wd".into(),
            sla_learner_reply: "15wd".into(),
            sla_dispute_window: "15wd".into(),
            sla_assignment: "3wd".into(),
            sla_mediation: "45wd".into(),
            sla_fulfilment: "15wd".into(),
            attachments_dir: PathBuf::from("data/attachments"),
            run_workers: true,
            stats_min_cases: 10,
            webhooks_allow_private_targets: false,
            webhooks_timeout_secs: 15,
            webhooks_lease_secs: 60,
            webhooks_poll_interval_ms: 200,
            webhooks_batch_size: 500,
            webhooks_concurrency: 64,
            webhooks_dispatchers: 2,
            smtp_url: None,
            mail_from: "redress <no-reply@redress.localhost>".into(),
            mail_dir: PathBuf::from("data/mail"),
            mail_batch_size: 50,
            public_url: "http://127.0.0.1:8080".into(),
            calendar_refresh_secs: 300,
        }
    }
}

impl Settings {
    /// Load from the optional file and the environment.
    pub fn load(file: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            anyhow::ensure!(path.exists(), "config file {} not found", path.display());
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Env::prefixed("REDRESS_").ignore(&["CONFIG"]))
            .extract()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.database_url.starts_with("sqlite:")
                || self.database_url.starts_with("postgres://")
                || self.database_url.starts_with("postgresql://"),
            "database_url must start with sqlite: or postgres://"
        );
        anyhow::ensure!(self.jwt_ttl_secs >= 60, "jwt_ttl_secs must be at least 60");
        anyhow::ensure!(
            self.body_limit_bytes >= 1024,
            "body_limit_bytes must be at least 1024"
        );
        anyhow::ensure!(
            self.stats_min_cases >= 1,
            "stats_min_cases must be at least 1"
        );
        anyhow::ensure!(
            (1..=60).contains(&self.webhooks_timeout_secs),
            "webhooks_timeout_secs must be between 1 and 60"
        );
        anyhow::ensure!(
            self.webhooks_lease_secs >= self.webhooks_timeout_secs + 5,
            "webhooks_lease_secs must exceed webhooks_timeout_secs by 5 s or more"
        );
        anyhow::ensure!(
            (1..=10_000).contains(&self.webhooks_batch_size),
            "webhooks_batch_size must be between 1 and 10000"
        );
        anyhow::ensure!(
            (1..=1024).contains(&self.webhooks_concurrency),
            "webhooks_concurrency must be between 1 and 1024"
        );
        anyhow::ensure!(
            (1..=32).contains(&self.webhooks_dispatchers),
            "webhooks_dispatchers must be between 1 and 32"
        );
        anyhow::ensure!(
            (1..=1_000).contains(&self.mail_batch_size),
            "mail_batch_size must be between 1 and 1000"
        );
        anyhow::ensure!(
            self.mail_from.parse::<lettre::message::Mailbox>().is_ok(),
            "mail_from must be an address, optionally with a name: `redress <no-reply@example.com>`"
        );
        anyhow::ensure!(
            self.public_url.starts_with("https://") || self.public_url.starts_with("http://"),
            "public_url must start with http:// or https://"
        );
        anyhow::ensure!(
            self.calendar_refresh_secs >= 1,
            "calendar_refresh_secs must be at least 1"
        );
        self.tz()?;
        self.sla_policy()?;
        Ok(())
    }

    /// The stage limits, parsed.
    pub fn sla_policy(&self) -> anyhow::Result<SlaPolicy> {
        let parse = |name: &str, v: &str| -> anyhow::Result<Limit> {
            v.parse()
                .map_err(|e| anyhow::anyhow!("sla_{name} {v:?}: {e}"))
        };
        Ok(SlaPolicy {
            intake: parse("intake", &self.sla_intake)?,
            response: parse("response", &self.sla_response)?,
            info: parse("info", &self.sla_info)?,
            learner_reply: parse("learner_reply", &self.sla_learner_reply)?,
            dispute_window: parse("dispute_window", &self.sla_dispute_window)?,
            assignment: parse("assignment", &self.sla_assignment)?,
            mediation: parse("mediation", &self.sla_mediation)?,
            fulfilment: parse("fulfilment", &self.sla_fulfilment)?,
        })
    }

    pub fn tz(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.timezone
            .parse()
            .map_err(|_| anyhow::anyhow!("unknown timezone {:?}", self.timezone))
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn debug_output_hides_the_jwt_secret() {
        let settings = Settings {
            jwt_secret: Some(SecretString::from("very-secret-value")),
            ..Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert_eq!(
            settings.jwt_secret.unwrap().expose_secret(),
            "very-secret-value"
        );
    }

    #[test]
    fn environment_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REDRESS_BIND", "0.0.0.0:9999");
            jail.set_env("DATABASE_URL", "postgres://localhost/x");
            jail.set_env("REDRESS_INTAKE_REVIEW", "true");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.bind, "0.0.0.0:9999");
            assert_eq!(s.database_url, "postgres://localhost/x");
            assert!(s.intake_review);
            Ok(())
        });
    }

    #[test]
    fn sla_limits_parse_and_bad_ones_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REDRESS_SLA_RESPONSE", "72h");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.sla_policy().unwrap().response,
                Limit::Duration(chrono::Duration::hours(72))
            );
            jail.set_env("REDRESS_SLA_RESPONSE", "ten days");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("sla_response"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn webhook_settings_are_checked() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(!s.webhooks_allow_private_targets);
            assert_eq!(s.webhooks_timeout_secs, 15);
            jail.set_env("REDRESS_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true");
            assert!(Settings::load(None).unwrap().webhooks_allow_private_targets);
            jail.set_env("REDRESS_WEBHOOKS_LEASE_SECS", "17");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("webhooks_lease_secs"), "{err}");
            jail.set_env("REDRESS_WEBHOOKS_LEASE_SECS", "20");
            jail.set_env("REDRESS_WEBHOOKS_CONCURRENCY", "0");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn mail_settings_are_read_and_the_smtp_url_is_never_shown() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REDRESS_SMTP_URL", "smtps://user:hunter2@mail.example.com");
            jail.set_env("REDRESS_PUBLIC_URL", "https://redress.example");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.public_url, "https://redress.example");
            assert_eq!(
                s.smtp_url.as_ref().unwrap().expose_secret(),
                "smtps://user:hunter2@mail.example.com"
            );
            assert!(!format!("{s:?}").contains("hunter2"));
            jail.set_env("REDRESS_MAIL_FROM", "not an address");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn bad_timezone_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REDRESS_TIMEZONE", "Mars/Olympus");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }
}
