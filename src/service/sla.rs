//! SLA timers: scheduled with each stage change, swept by a worker. Firing a timer and
//! the change it causes happen in one transaction, guarded so that each timer fires
//! exactly once even with several workers on one database.
use chrono::{DateTime, Duration, Utc};
use entity::{
    complaint, sla_breach,
    timer::{self, TimerKind, TimerState},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use serde_json::json;
use uuid::Uuid;

use super::{complaints, complaints::Rules, timeline};
use crate::{
    db,
    domain::{
        calendar::Deadlines,
        lifecycle::{Actor, CaseState},
    },
    error::ApiError,
};

/// How long a claimed timer belongs to the worker that claimed it.
const LEASE: Duration = Duration::seconds(60);

/// States whose deadline does something when it passes.
fn timed(state: CaseState) -> bool {
    use CaseState::*;
    matches!(
        state,
        Submitted
            | AwaitingResponse
            | InfoRequested
            | Responded
            | AwaitingMediation
            | InMediation
            | Settled
    )
}

/// Replaces the case's pending timers with those of its current stage.
pub async fn schedule(
    txn: &DatabaseTransaction,
    case: &complaint::Model,
    deadlines: Option<Deadlines>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    timer::Entity::update_many()
        .col_expr(timer::Column::State, Expr::value(TimerState::Cancelled))
        .filter(timer::Column::ComplaintId.eq(case.id))
        .filter(timer::Column::State.eq(TimerState::Pending))
        .exec(txn)
        .await?;
    timer::Entity::insert_many(timers(case, deadlines, now))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The timers of the case's current stage: its deadline, and a warning before it
/// unless that moment has passed. None for a stage without a clock.
pub fn timers(
    case: &complaint::Model,
    deadlines: Option<Deadlines>,
    now: DateTime<Utc>,
) -> Vec<timer::ActiveModel> {
    let state: CaseState = case.state.into();
    let Some(d) = deadlines.filter(|_| timed(state)) else {
        return vec![];
    };
    let row = |kind, due_at| timer::ActiveModel {
        id: Set(Uuid::now_v7()),
        complaint_id: Set(case.id),
        epoch: Set(case.stage_seq),
        stage: Set(state.as_str().to_owned()),
        kind: Set(kind),
        due_at: Set(due_at),
        state: Set(TimerState::Pending),
        lease_until: Set(None),
        fired_at: Set(None),
    };
    let mut rows = vec![row(TimerKind::Deadline, d.due_at)];
    if d.warn_at > now && d.warn_at < d.due_at {
        rows.push(row(TimerKind::Warning, d.warn_at));
    }
    rows
}

/// Records that the institution missed its response deadline. The unique index on
/// (case, stage, epoch), the epoch being the stage entry, makes a second record of the
/// same breach impossible.
pub async fn record_breach(
    txn: &DatabaseTransaction,
    case: &complaint::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sla_breach::Entity::insert(sla_breach::ActiveModel {
        id: Set(Uuid::now_v7()),
        complaint_id: Set(case.id),
        institution_id: Set(case.institution_id),
        stage: Set(CaseState::from(case.state).as_str().to_owned()),
        epoch: Set(case.stage_seq),
        due_at: Set(case.response_due_at.or(case.due_at).unwrap_or(now)),
        fired_at: Set(now),
    })
    .exec(txn)
    .await?;
    Ok(())
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Timers claimed from the due queue.
    pub claimed: usize,
    /// Deadlines that moved a case (or flagged a late assignment).
    pub deadlines: usize,
    pub warnings: usize,
    /// Timers another worker fired first, or that no longer applied.
    pub skipped: usize,
}

/// Claims up to `batch` due timers and fires each in its own transaction.
pub async fn run_once(db: &DatabaseConnection, rules: &Rules, batch: u64) -> anyhow::Result<Sweep> {
    let ids = claim(db, rules.now, batch).await?;
    let mut sweep = Sweep {
        claimed: ids.len(),
        ..Sweep::default()
    };
    for id in ids {
        match fire(db, rules, id).await {
            Ok(Some(TimerKind::Deadline)) => sweep.deadlines += 1,
            Ok(Some(TimerKind::Warning)) => sweep.warnings += 1,
            Ok(None) => sweep.skipped += 1,
            Err(e) => {
                // Left pending: the lease runs out and a later sweep retries it.
                tracing::error!(timer = %id, error = %e, "firing a timer failed");
            }
        }
    }
    Ok(sweep)
}

/// Pending timers due at `now` and not leased, soonest first (ids only).
pub fn due_timers(now: DateTime<Utc>, batch: u64) -> Select<timer::Entity> {
    timer::Entity::find()
        .select_only()
        .column(timer::Column::Id)
        .filter(db::is_pending(timer::Column::State))
        .filter(timer::Column::DueAt.lte(now))
        .filter(
            timer::Column::LeaseUntil
                .is_null()
                .or(timer::Column::LeaseUntil.lt(now)),
        )
        .order_by_asc(timer::Column::DueAt)
        .limit(batch)
}

/// Takes a lease on due, unleased timers. On PostgreSQL concurrent sweepers skip each
/// other's rows (`FOR UPDATE SKIP LOCKED`); on SQLite the write transaction serializes.
async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch: u64,
) -> anyhow::Result<Vec<Uuid>> {
    let txn = db::begin_write(db).await?;
    let mut q = due_timers(now, batch);
    if db::is_postgres(&txn) {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<Uuid> = q.into_tuple().all(&txn).await?;
    if !ids.is_empty() {
        timer::Entity::update_many()
            .col_expr(timer::Column::LeaseUntil, Expr::value(now + LEASE))
            .filter(timer::Column::Id.is_in(ids.clone()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(ids)
}

/// Fires one timer: marks it fired only if still pending (the exactly-once guard; a
/// racing worker blocks on the row and then finds it fired), and applies its effect in
/// the same transaction.
async fn fire(
    db: &DatabaseConnection,
    rules: &Rules,
    id: Uuid,
) -> anyhow::Result<Option<TimerKind>> {
    let txn = db::begin_write(db).await?;
    let marked = timer::Entity::update_many()
        .col_expr(timer::Column::State, Expr::value(TimerState::Fired))
        .col_expr(timer::Column::FiredAt, Expr::value(rules.now))
        .filter(timer::Column::Id.eq(id))
        .filter(timer::Column::State.eq(TimerState::Pending))
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        return Ok(None);
    }
    let Some(t) = timer::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(None);
    };
    let case = complaint::Entity::find_by_id(t.complaint_id)
        .one(&txn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("timer for a missing case"))?;
    let state: CaseState = case.state.into();
    if state.as_str() != t.stage || case.stage_seq != t.epoch {
        // The stage entry it belongs to ended without cancelling it; nothing to do.
        // (Changes within the stage leave `stage_seq` alone, so they keep the timer.)
        txn.commit().await?;
        return Ok(None);
    }
    match (t.kind, state) {
        (TimerKind::Warning, _) => {
            system_event(&txn, &case, "sla_warning", &t, rules.now).await?;
        }
        (TimerKind::Deadline, CaseState::AwaitingMediation) => {
            // No association member claimed the case in time: flag it loudly.
            system_event(&txn, &case, "assignment_overdue", &t, rules.now).await?;
        }
        (TimerKind::Deadline, CaseState::Settled) => {
            // The institution did not carry out the agreement in time.
            if super::mediation::mark_overdue(&txn, case.id).await? {
                system_event(&txn, &case, super::stats::SETTLEMENT_OVERDUE, &t, rules.now).await?;
            }
        }
        (TimerKind::Deadline, _) => {
            let input = complaints::ActionInput::Timeout {
                stage: t.stage.clone(),
                due_at: t.due_at,
            };
            complaints::apply(&txn, rules, case, Actor::System, None, &input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    txn.commit().await?;
    Ok(Some(t.kind))
}

async fn system_event(
    txn: &impl ConnectionTrait,
    case: &complaint::Model,
    action: &str,
    t: &timer::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    timeline::append(
        txn,
        timeline::NewEvent {
            complaint_id: case.id,
            actor_id: None,
            actor_role: Actor::System.as_str(),
            action,
            from_state: None,
            to_state: None,
            payload: json!({ "stage": t.stage, "due_at": t.due_at }),
            at: now,
        },
    )
    .await?;
    Ok(())
}

/// An institution's credit record for deadlines: its breaches, newest first.
pub struct Record {
    pub total: u64,
    pub last_12_months: u64,
    pub recent: Vec<(sla_breach::Model, String)>,
    /// Settlements the institution did not carry out (reported, or past due).
    pub settlements_unfulfilled: u64,
    /// Mediations where the mediator found the institution did not engage in good faith.
    pub bad_faith_findings: u64,
}

pub async fn record(
    db: &impl ConnectionTrait,
    institution_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Record, ApiError> {
    use sea_orm::PaginatorTrait;
    let all =
        sla_breach::Entity::find().filter(sla_breach::Column::InstitutionId.eq(institution_id));
    let total = all.clone().count(db).await?;
    let last_12_months = all
        .clone()
        .filter(sla_breach::Column::FiredAt.gte(now - Duration::days(365)))
        .count(db)
        .await?;
    let recent = all
        .order_by_desc(sla_breach::Column::FiredAt)
        .limit(50)
        .find_also_related(complaint::Entity)
        .all(db)
        .await?
        .into_iter()
        .map(|(b, c)| (b, c.map(|c| c.reference).unwrap_or_default()))
        .collect();
    let settlements_unfulfilled = entity::settlement::Entity::find()
        .inner_join(complaint::Entity)
        .filter(complaint::Column::InstitutionId.eq(institution_id))
        .filter(entity::settlement::Column::Status.is_in([
            entity::settlement::SettlementStatus::Unfulfilled,
            entity::settlement::SettlementStatus::Overdue,
        ]))
        .count(db)
        .await?;
    let bad_faith_findings = entity::good_faith::Entity::find()
        .inner_join(complaint::Entity)
        .filter(complaint::Column::InstitutionId.eq(institution_id))
        .filter(entity::good_faith::Column::InstitutionEngaged.eq(false))
        .count(db)
        .await?;
    Ok(Record {
        total,
        last_12_months,
        recent,
        settlements_unfulfilled,
        bad_faith_findings,
    })
}
