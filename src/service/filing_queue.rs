//! Group commit for filings. Concurrent filings wait in a queue; one writer task takes
//! whatever is waiting (up to a batch), writes each filing inside its own savepoint of
//! one transaction, commits once — one fsync for the batch — and only then answers each
//! request. No filing is acknowledged before its commit is durable; a failed filing
//! rolls back to its savepoint without touching the others.
use entity::{complaint, institution};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::complaints::{self, Idempotency, NewComplaint, Rules};
use crate::{auth::Principal, db, error::ApiError};

/// Most filings written in one transaction.
const MAX_BATCH: usize = 256;

type Outcome = Result<(complaint::Model, bool), ApiError>;

struct Job {
    rules: Rules,
    who: Principal,
    inst: institution::Model,
    new: NewComplaint,
    idem: Option<Idempotency>,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
pub struct FilingQueue {
    tx: mpsc::Sender<Job>,
}

impl FilingQueue {
    /// Starts the writer task on the runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(writer(db, rx));
        Self { tx }
    }

    /// Files a complaint; answers once the batch holding it is committed.
    pub async fn file(
        &self,
        db: &DatabaseConnection,
        rules: Rules,
        who: &Principal,
        new: NewComplaint,
        idem: Option<Idempotency>,
    ) -> Outcome {
        let inst = complaints::prepare(db, who, &new).await?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            rules,
            who: who.clone(),
            inst,
            new,
            idem: idem.clone(),
            reply,
        };
        let stopped = || ApiError::Unexpected(anyhow::anyhow!("the filing writer stopped"));
        self.tx.send(job).await.map_err(|_| stopped())?;
        let result = answer.await.map_err(|_| stopped())?;
        complaints::settle_idempotency_race(db, who, idem.as_ref(), result).await
    }
}

async fn writer(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        write_batch(&db, jobs).await;
    }
}

async fn write_batch(db: &DatabaseConnection, jobs: Vec<Job>) {
    let txn = match db::begin_write(db).await {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            for job in jobs {
                let _ = job
                    .reply
                    .send(Err(ApiError::Unexpected(anyhow::anyhow!(msg.clone()))));
            }
            return;
        }
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = async {
            let sp = txn.begin().await?;
            match complaints::file_in(
                &sp,
                &job.rules,
                &job.who,
                &job.inst,
                job.new,
                job.idem.as_ref(),
            )
            .await
            {
                Ok(out) => {
                    sp.commit().await?;
                    Ok(out)
                }
                Err(e) => {
                    sp.rollback().await?;
                    Err(e)
                }
            }
        }
        .await;
        results.push((job.reply, outcome));
    }
    match txn.commit().await {
        Ok(()) => {
            for (reply, outcome) in results {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "committing a batch of filings failed");
            for (reply, outcome) in results {
                let _ = reply.send(match outcome {
                    Ok(_) => Err(ApiError::Unexpected(anyhow::anyhow!("commit failed: {e}"))),
                    err => err,
                });
            }
        }
    }
}
