//! Group commit for filings. Concurrent filings wait in a queue; one writer task takes
//! whatever is waiting (up to a batch), writes all of it with one multi-row statement
//! per table in one transaction, commits once — one fsync for the batch — and only then
//! answers each request. No filing is acknowledged before its commit is durable.
//!
//! Should the batch's statements fail (a database error, two filings with one
//! Idempotency-Key, a key another replica just took), the batch is rolled back and
//! written again one filing per savepoint, so that one failing filing fails alone.
//!
//! The writer runs under the supervisor as `filing_writer`: after a panic it is
//! restarted on the same queue (the filings of the batch it was writing are answered
//! 500 and rolled back; the others wait). Idle, it beats every `IDLE_TICK`.
use std::{sync::Arc, time::Duration};

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::complaints::{self, Filed, Filing};
use crate::{
    auth::policy,
    db,
    error::ApiError,
    supervisor::{Heartbeat, Supervisor},
};

/// Most filings written in one transaction.
const MAX_BATCH: usize = 256;
/// An idle writer beats this often.
const IDLE_TICK: Duration = Duration::from_secs(5);
/// A writer that finished no batch (and no idle tick) for this long is stalled.
pub const EXPECTED_INTERVAL: Duration = Duration::from_secs(60);
/// The writer's name in `/readyz` and the logs.
pub const WORKER: &str = "filing_writer";

struct Job {
    filing: Filing,
    reply: oneshot::Sender<Filed>,
}

#[derive(Clone)]
pub struct FilingQueue {
    tx: mpsc::Sender<Job>,
}

impl FilingQueue {
    /// Starts the writer task on the runtime, under the supervisor.
    pub fn start(db: DatabaseConnection, supervisor: &Supervisor) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        // Shared by every run of the writer, so that a restart keeps the queue.
        let rx = Arc::new(Mutex::new(rx));
        supervisor.spawn(WORKER, EXPECTED_INTERVAL, move |hb| {
            writer(db.clone(), rx.clone(), hb)
        });
        Self { tx }
    }

    /// Files a complaint; answers once the batch holding it is committed.
    pub async fn file(&self, db: &DatabaseConnection, filing: Filing) -> Filed {
        policy::file_complaint(&filing.who)?;
        let (who, idem) = (filing.who.clone(), filing.idem.clone());
        let (reply, answer) = oneshot::channel();
        let stopped = || ApiError::Unexpected(anyhow::anyhow!("the filing writer stopped"));
        self.tx
            .send(Job { filing, reply })
            .await
            .map_err(|_| stopped())?;
        let result = answer.await.map_err(|_| stopped())?;
        complaints::settle_idempotency_race(db, &who, idem.as_ref(), result).await
    }
}

async fn writer(db: DatabaseConnection, rx: Arc<Mutex<mpsc::Receiver<Job>>>, hb: Heartbeat) {
    let mut rx = rx.lock().await;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        match tokio::time::timeout(IDLE_TICK, rx.recv_many(&mut batch, MAX_BATCH)).await {
            Err(_idle) => {
                hb.beat();
                continue;
            }
            Ok(0) => return, // every sender is gone
            Ok(_) => {}
        }
        let jobs = std::mem::take(&mut batch);
        let (filings, replies): (Vec<_>, Vec<_>) =
            jobs.into_iter().map(|j| (j.filing, j.reply)).unzip();
        let outcomes = match write_together(&db, &filings).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                tracing::warn!(error = %e, filings = filings.len(), "a batch of filings failed; writing them one by one");
                write_one_by_one(&db, filings).await
            }
        };
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
        hb.beat();
    }
}

/// The whole batch in one transaction and one set of statements.
async fn write_together(
    db: &DatabaseConnection,
    filings: &[Filing],
) -> Result<Vec<Filed>, ApiError> {
    let txn = db::begin_write(db).await?;
    match complaints::file_many(&txn, filings).await {
        Ok(outcomes) => {
            txn.commit().await?;
            Ok(outcomes)
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Each filing in its own savepoint of one transaction, committed once.
async fn write_one_by_one(db: &DatabaseConnection, filings: Vec<Filing>) -> Vec<Filed> {
    let n = filings.len();
    let failed = |e: &dyn std::fmt::Display| -> Vec<Filed> {
        (0..n)
            .map(|_| Err(ApiError::Unexpected(anyhow::anyhow!("filing failed: {e}"))))
            .collect()
    };
    let txn = match db::begin_write(db).await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let mut outcomes = Vec::with_capacity(n);
    for filing in filings {
        outcomes.push(in_savepoint(&txn, filing).await);
    }
    match txn.commit().await {
        Ok(()) => outcomes,
        Err(e) => {
            tracing::error!(error = %e, "committing a batch of filings failed");
            outcomes
                .into_iter()
                .map(|o| match o {
                    Ok(_) => Err(ApiError::Unexpected(anyhow::anyhow!("commit failed: {e}"))),
                    refused => refused,
                })
                .collect()
        }
    }
}

async fn in_savepoint(txn: &DatabaseTransaction, filing: Filing) -> Filed {
    let sp = txn.begin().await?;
    let written = complaints::file_many(&sp, std::slice::from_ref(&filing)).await;
    match written.map(|mut o| o.pop()) {
        Ok(Some(outcome)) => {
            sp.commit().await?;
            outcome
        }
        Ok(None) => Err(ApiError::Unexpected(anyhow::anyhow!("no outcome"))),
        Err(e) => {
            sp.rollback().await?;
            Err(e)
        }
    }
}
