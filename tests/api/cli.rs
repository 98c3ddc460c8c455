//! The real binary: `admin create-account` bootstraps an account; `openapi` prints the spec.
use std::process::Command;

#[test]
fn admin_create_account_then_refuses_a_duplicate() {
    let dir = std::env::temp_dir().join("redress-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("cli-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_redress"))
            .args([
                "admin",
                "create-account",
                "--email",
                "Root@Example.com",
                "--role",
                "admin",
            ])
            .env("DATABASE_URL", &url)
            .env("REDRESS_ADMIN_PASSWORD", "a long admin passphrase")
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("root@example.com"));
    let second = run();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));
}

#[test]
fn openapi_prints_the_spec() {
    let out = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["openapi", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "redress");
}
