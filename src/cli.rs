//! The `redress` command line.
use std::{path::PathBuf, sync::Arc};

use clap::{Parser, Subcommand, ValueEnum};
use migration::{Migrator, MigratorTrait};

use crate::{
    api::auth::RoleDto,
    clock::SystemClock,
    config::Settings,
    db,
    domain::{
        account::{Email, Password, parse_display_name},
        sealing::MasterKey,
    },
    service::{accounts, secrets, stats},
    startup::Application,
};

#[derive(Debug, Parser)]
#[command(
    name = "redress",
    version,
    about = "Complaint and dispute resolution for online education"
)]
pub struct Cli {
    /// Optional TOML settings file (environment variables override it).
    #[arg(long, env = "REDRESS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and pages (migrates the database first).
    Serve {
        /// Load the demo data set first if the database has no institutions yet.
        #[arg(long)]
        demo: bool,
        /// Cases in that demo.
        #[arg(long, default_value_t = 3000, requires = "demo")]
        demo_cases: usize,
    },
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the OpenAPI document.
    Openapi {
        #[arg(long, value_enum, default_value_t = SpecFormat::Yaml)]
        format: SpecFormat,
    },
    /// Measure this machine: ceilings, bulk load, then the real server under load.
    /// Creates a fresh database next to the configured one (SQLite file or PostgreSQL).
    Bench {
        /// Cases to load before the HTTP phases.
        #[arg(long, default_value_t = 1_000_000)]
        cases: u64,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds per measured phase.
        #[arg(long, default_value_t = 10)]
        phase_secs: u64,
        /// Timers made due for the sweep measurement.
        #[arg(long, default_value_t = 10_000)]
        due_timers: u64,
        /// A short run (10,000 cases, 3 s phases, 1,000 due timers) to check the harness.
        #[arg(long)]
        quick: bool,
        /// Also write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Load a realistic demo data set (regions, associations, ~30 institutions, accounts
    /// for every role, a few thousand cases) into an empty database.
    Demo {
        /// Seed of the generator: the same seed gives the same data set.
        #[arg(long, default_value_t = 2019)]
        seed: u64,
        /// Number of cases to file.
        #[arg(long, default_value_t = 3000)]
        cases: usize,
    },
    /// Disclosure statistics: recompute them from the cases.
    Stats {
        #[command(subcommand)]
        action: StatsAction,
    },
    /// Operator tasks.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// The secrets stored in the database, sealed under the master key.
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretsAction {
    /// Re-seal every stored secret under a new master key, in one transaction, then
    /// put the new key where the old one was (the key file). Stop the servers first.
    /// The new key: REDRESS_NEW_MASTER_KEY, else --new-key-file, else generated (only
    /// when the key lives in a file).
    RotateMasterKey {
        /// A file holding the new key (base64 or hex of 32 bytes).
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply pending migrations (the default).
    Up,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum StatsAction {
    /// Recompute the counters from the cases and report any difference (exit 1 if any).
    Verify,
    /// Replace the counters with ones recomputed from the cases.
    Rebuild,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SpecFormat {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Learner,
    InstitutionStaff,
    Mediator,
    Regulator,
    Admin,
}

impl From<RoleArg> for RoleDto {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Learner => Self::Learner,
            RoleArg::InstitutionStaff => Self::InstitutionStaff,
            RoleArg::Mediator => Self::Mediator,
            RoleArg::Regulator => Self::Regulator,
            RoleArg::Admin => Self::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an account, e.g. the first admin of a new deployment.
    CreateAccount {
        #[arg(long)]
        email: String,
        /// The password (or set REDRESS_ADMIN_PASSWORD to keep it out of shell history).
        #[arg(long, env = "REDRESS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        institution_id: Option<uuid::Uuid>,
        #[arg(long)]
        association_id: Option<uuid::Uuid>,
    },
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { demo, demo_cases } => {
            if demo {
                load_demo_if_empty(&settings, demo_cases).await?;
            }
            let app = Application::build(settings, Arc::new(SystemClock)).await?;
            tracing::info!(port = app.port(), "redress is listening");
            app.run_until_stopped().await
        }
        Command::Migrate { action } => {
            let conn = db::connect(&settings).await?;
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => {
                    db::migrate(&conn).await?;
                    eprintln!("migrations applied");
                }
                MigrateAction::Status => {
                    let applied = Migrator::get_applied_migrations(&conn).await?;
                    let pending = Migrator::get_pending_migrations(&conn).await?;
                    for m in applied {
                        println!("applied  {}", m.name());
                    }
                    for m in pending {
                        println!("pending  {}", m.name());
                    }
                }
            }
            Ok(())
        }
        Command::Demo { seed, cases } => {
            let report = crate::demo::load(&settings, crate::demo::Options { seed, cases }).await?;
            print!("{}", report.render());
            Ok(())
        }
        Command::Stats { action } => {
            let conn = db::connect(&settings).await?;
            db::migrate(&conn).await?;
            match action {
                StatsAction::Verify => {
                    let diffs = stats::verify(&conn)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    if diffs.is_empty() {
                        println!("statistics verified: no difference from the cases");
                        Ok(())
                    } else {
                        for d in &diffs {
                            println!("{d}");
                        }
                        anyhow::bail!(
                            "{} difference(s) between the statistics and the cases; \
                             run `redress stats rebuild`",
                            diffs.len()
                        )
                    }
                }
                StatsAction::Rebuild => {
                    let r = stats::rebuild(&conn)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    println!(
                        "statistics rebuilt from {} cases into {} institution-months \
                         ({} counters corrected)",
                        r.cases, r.cells, r.corrected
                    );
                    Ok(())
                }
            }
        }
        Command::Openapi { format } => {
            let api = crate::api::service();
            match format {
                SpecFormat::Yaml => print!("{}", api.spec_yaml()),
                SpecFormat::Json => println!("{}", api.spec()),
            }
            Ok(())
        }
        Command::Bench {
            cases,
            clients,
            phase_secs,
            due_timers,
            quick,
            json,
        } => {
            let opts = if quick {
                crate::bench::Options {
                    json,
                    ..crate::bench::Options::quick()
                }
            } else {
                anyhow::ensure!(cases >= 1_000, "--cases must be at least 1000");
                crate::bench::Options {
                    cases,
                    clients,
                    phase_secs,
                    due_timers,
                    json,
                }
            };
            crate::bench::run(opts, settings).await
        }
        Command::Secrets {
            action: SecretsAction::RotateMasterKey { new_key_file },
        } => {
            let new = match (std::env::var("REDRESS_NEW_MASTER_KEY").ok(), new_key_file) {
                (Some(text), _) => Some(
                    MasterKey::parse(&text)
                        .map_err(|e| anyhow::anyhow!("REDRESS_NEW_MASTER_KEY: {e}"))?,
                ),
                (None, Some(path)) => Some(
                    MasterKey::parse(&std::fs::read_to_string(&path)?)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                ),
                (None, None) => None,
            };
            let conn = db::connect(&settings).await?;
            db::migrate(&conn).await?;
            let done = secrets::rotate_master_key(&conn, &settings, new).await?;
            println!(
                "re-sealed {} app secret(s) and {} webhook subscription(s): master key {} -> {}",
                done.resealed.app_secrets,
                done.resealed.webhook_secrets,
                done.old_key_id,
                done.new_key_id
            );
            match done.key_file {
                Some(path) => println!("the new key is in {}", path.display()),
                None => println!(
                    "set REDRESS_MASTER_KEY to the new key on every replica before starting them"
                ),
            }
            Ok(())
        }
        Command::Admin { action } => match action {
            AdminAction::CreateAccount {
                email,
                password,
                role,
                display_name,
                institution_id,
                association_id,
            } => {
                let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
                let password = Password::parse(&password, &email)
                    .map_err(|e| anyhow::anyhow!("--password {e}"))?;
                let display_name = match display_name {
                    Some(n) => {
                        parse_display_name(&n).map_err(|e| anyhow::anyhow!("--display-name {e}"))?
                    }
                    None => email
                        .as_str()
                        .split('@')
                        .next()
                        .unwrap_or("user")
                        .to_owned(),
                };
                let conn = db::connect(&settings).await?;
                db::migrate(&conn).await?;
                let created = accounts::create(
                    &conn,
                    accounts::NewAccount {
                        email,
                        password,
                        display_name,
                        role: RoleDto::from(role).into(),
                        institution_id,
                        association_id,
                    },
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!(
                    "created {} account {} ({})",
                    role_name(role),
                    created.email,
                    created.id
                );
                Ok(())
            }
        },
    }
}

/// `serve --demo`: loads the demo into a database without institutions, so a newcomer
/// opens the directory and sees a real picture.
async fn load_demo_if_empty(settings: &Settings, cases: usize) -> anyhow::Result<()> {
    let conn = db::connect(settings).await?;
    db::migrate(&conn).await?;
    let has_data = crate::demo::has_data(&conn).await?;
    conn.close().await.ok();
    if has_data {
        tracing::info!("the database already has institutions; not loading the demo");
        return Ok(());
    }
    let options = crate::demo::Options {
        cases,
        ..crate::demo::Options::default()
    };
    let report = crate::demo::load(settings, options).await?;
    eprint!("{}", report.render());
    eprintln!(
        "open http://{}/institutions",
        settings.bind.replace("0.0.0.0", "127.0.0.1")
    );
    Ok(())
}

fn role_name(r: RoleArg) -> &'static str {
    match r {
        RoleArg::Learner => "learner",
        RoleArg::InstitutionStaff => "institution_staff",
        RoleArg::Mediator => "mediator",
        RoleArg::Regulator => "regulator",
        RoleArg::Admin => "admin",
    }
}
