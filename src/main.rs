use clap::Parser;
use redress::{cli, config::Settings, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let settings = match Settings::load(cli.config.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("redress: invalid settings: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log_level, settings.log_format);
    match cli::run(cli, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "redress failed");
            eprintln!("redress: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
