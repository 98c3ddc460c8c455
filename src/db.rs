//! Connecting to the database (SQLite embedded, or PostgreSQL) and migrating it.
use std::{
    os::fd::{FromRawFd, OwnedFd},
    time::Duration,
};

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
        let port = url::Url::parse(&settings.database_url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(5432);
        opts.map_sqlx_postgres_pool_opts(move |pool| {
            pool.after_connect(move |_, _| {
                Box::pin(async move {
                    disable_nagle(port);
                    Ok(())
                })
            })
        });
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

/// sqlx 0.9.0 leaves Nagle's algorithm on for its TCP connections (transact-rs/sqlx#4335,
/// fixed upstream, not yet released): a statement longer than one TCP segment then
/// waits for PostgreSQL's delayed ACK, about 40 ms. Measured here: a batch of 100
/// filings took 250 ms over TCP and 10 ms over the Unix socket. Until a release has the
/// fix, every new connection turns Nagle off on this process's TCP sockets to the
/// database's port (the new one among them); it is harmless on any other.
fn disable_nagle(port: u16) {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in fds.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: dup(2) has no memory-safety preconditions. Should the number have
        // been closed (or reused) since it was listed, dup fails or copies another
        // descriptor, which the checks below then leave alone.
        let copy = unsafe { libc::dup(fd) };
        if copy < 0 {
            continue;
        }
        // SAFETY: `copy` is a descriptor dup just made for us alone; dropping the
        // stream closes only it, never the connection's own descriptor.
        let stream = std::net::TcpStream::from(unsafe { OwnedFd::from_raw_fd(copy) });
        if stream.peer_addr().is_ok_and(|a| a.port() == port)
            && stream.nodelay().is_ok_and(|on| !on)
        {
            let _ = stream.set_nodelay(true);
        }
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

/// Inserts rows with multi-row statements within the parameter limits. Statements have
/// a few fixed sizes (powers of two: 45 rows go as 32 + 8 + 4 + 1), so a connection's
/// statement cache holds a handful per table, reused, rather than one per batch size,
/// each prepared once and then evicted.
pub async fn insert_chunked<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    rows: Vec<A>,
) -> Result<(), DbErr> {
    let per_row = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let most = (MAX_PARAMS / per_row).max(1);
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    while left > 0 {
        let n = floor_power_of_two(left.min(most));
        A::Entity::insert_many(rows.by_ref().take(n))
            .exec_without_returning(db)
            .await?;
        left -= n;
    }
    Ok(())
}

fn floor_power_of_two(n: usize) -> usize {
    1 << n.ilog2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two() {
        assert_eq!(floor_power_of_two(1), 1);
        assert_eq!(floor_power_of_two(45), 32);
        assert_eq!(floor_power_of_two(64), 64);
        assert_eq!(floor_power_of_two(1000), 512);
    }

    #[test]
    fn nagle_is_turned_off_on_sockets_to_the_database_port_only() {
        let db = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let to_db = std::net::TcpStream::connect(db.local_addr().unwrap()).unwrap();
        let to_other = std::net::TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!to_db.nodelay().unwrap());
        disable_nagle(db.local_addr().unwrap().port());
        assert!(to_db.nodelay().unwrap());
        assert!(!to_other.nodelay().unwrap());
        // The connection is still usable: only the copy was closed.
        use std::io::Write;
        (&to_db).write_all(b"ping").unwrap();
    }
}
