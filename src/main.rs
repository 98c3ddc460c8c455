use clap::Parser;
use redress::{cli, config::Settings, telemetry};

fn main() -> std::process::ExitCode {
    tune_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("redress: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> std::process::ExitCode {
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

/// glibc's allocator gives each thread that allocates its own arena (up to eight per
/// core) and keeps what is freed there; after a large block is freed it also raises its
/// threshold for serving large blocks from those arenas. Each login's password hash
/// takes a 19 MiB block on a blocking thread, so the server's memory grew by ~116 MB
/// after 64 logins and stayed there (measured with `redress bench`: peak 214 MB). With
/// one arena per core and blocks of 1 MiB or more always mapped and unmapped, the same
/// run peaked at 90 MB at the same throughput. Settings given through glibc's own
/// environment variables (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`) win.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let arenas = i32::try_from(cores).unwrap_or(i32::MAX);
    // SAFETY: mallopt only sets allocator parameters, and this runs first in `main`,
    // before any other thread exists.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
