//! Connecting to the database (SQLite embedded, or PostgreSQL) and migrating it.
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, Iterable, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait, IntoColumnRef, SimpleExpr},
    sqlx::sqlite::{SqliteConnection, SqliteJournalMode, SqliteSynchronous},
};

use crate::config::Settings;

/// Opens the pool. SQLite gets WAL, foreign keys, a busy timeout and
/// `synchronous=FULL` so that an acknowledged write is on disk.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(settings.database_url.clone());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if settings.is_sqlite() {
        let in_memory = settings.database_url.contains(":memory:")
            || settings.database_url.contains("mode=memory");
        if in_memory {
            // One connection for the pool's whole life, or the data vanishes.
            opts.max_connections(1)
                .min_connections(1)
                .idle_timeout(None::<Duration>)
                .max_lifetime(None::<Duration>);
        } else {
            opts.max_connections(settings.db_max_connections.clamp(1, 8))
                .min_connections(1);
        }
        opts.map_sqlx_sqlite_pool_opts(|pool| {
            pool.after_connect(|conn, _| Box::pin(stable_plans(conn)))
        });
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    } else {
        opts.max_connections(settings.db_max_connections)
            .min_connections(1);
    }
    let db = Database::connect(opts).await?;
    Ok(db)
}

/// Turns on SQLite's query planner stability guarantee for a new connection. Without
/// it, a statement whose `LIMIT` is a bound parameter (every one `sea-query` builds) is
/// marked to be re-planned whenever that parameter is bound again, so cached statements
/// were parsed and planned anew on every execution (seen in the read profile).
async fn stable_plans(conn: &mut SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked for this call, so no other thread uses the
    // connection; SQLITE_DBCONFIG_ENABLE_QPSG takes an int and an optional int pointer.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            handle.as_raw_handle().as_ptr(),
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sea_orm::sqlx::Error::Configuration(
            format!("enabling SQLite's query planner stability guarantee failed ({rc})").into(),
        ))
    }
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Cheap liveness check of the database, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Begins a transaction that will write. On SQLite it takes the write lock at BEGIN
/// (IMMEDIATE), so concurrent writers wait for each other (busy timeout) instead of
/// failing when a read would have to turn into a write.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let mode = (db.get_database_backend() == DbBackend::Sqlite)
        .then_some(SqliteTransactionMode::Immediate);
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: mode,
        ..Default::default()
    })
    .await
}

/// `column = 'pending'` with the value written into the SQL rather than bound: SQLite
/// uses a partial index `… WHERE state = 'pending'` only when it sees the value while
/// planning, and with stable plans (see `stable_plans`) it does not look at bound
/// values.
pub fn is_pending(column: impl IntoColumnRef) -> SimpleExpr {
    Expr::col(column).eq(Expr::cust("'pending'"))
}

/// Bound parameters one statement may carry here: under SQLite's 32,766 and
/// PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// Inserts rows with as few multi-row statements as the parameter limits allow.
pub async fn insert_chunked<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
) -> Result<(), DbErr> {
    let per_row = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(MAX_PARAMS / per_row).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}
