//! The queries that must stay cheap however many rows there are read through the index
//! meant for them. On SQLite with stable query plans, a partial index is only usable
//! when its condition's value is written into the SQL; these checks catch a change
//! that would quietly turn the idle sweep into a table scan. (PostgreSQL plans by
//! statistics, so the check is SQLite's.)
use chrono::Utc;
use redress::service::{sla, webhook_delivery};
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement};

use crate::helpers::spawn_app;

async fn plan(app: &crate::helpers::TestApp, stmt: Statement) -> String {
    let explain = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", stmt.sql),
        stmt.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = app.db.query_all_raw(explain).await.unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "detail").unwrap())
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn due_timers_and_deliveries_are_read_through_their_partial_indexes_on_sqlite() {
    let app = spawn_app().await;
    if !app.settings.is_sqlite() {
        return;
    }
    let now = Utc::now();
    let timers = plan(&app, sla::due_timers(now, 100).build(DbBackend::Sqlite)).await;
    assert!(timers.contains("idx_timers_pending_due"), "{timers}");
    let deliveries = plan(
        &app,
        webhook_delivery::due_deliveries(now, 100).build(DbBackend::Sqlite),
    )
    .await;
    assert!(
        deliveries.contains("idx_webhook_deliveries_due"),
        "{deliveries}"
    );
    let mails = plan(
        &app,
        redress::service::email::sender::due(now, 100).build(DbBackend::Sqlite),
    )
    .await;
    assert!(mails.contains("idx_email_outbox_due"), "{mails}");
}
