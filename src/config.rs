//! Typed settings: defaults, then an optional TOML file (`REDRESS_CONFIG`), then
//! environment variables prefixed `REDRESS_` (plus the conventional `DATABASE_URL`).
use std::path::PathBuf;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;

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
        self.tz()?;
        Ok(())
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
    fn bad_timezone_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REDRESS_TIMEZONE", "Mars/Olympus");
            assert!(Settings::load(None).is_err());
            Ok(())
        });
    }
}
