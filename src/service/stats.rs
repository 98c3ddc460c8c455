//! Disclosure statistics, kept current as cases change.
//!
//! Every case change appends a timeline event, and [`on_event`] runs right after it in
//! the same transaction: it recomputes what the case contributes to its institution's
//! counters (from the case row, plus the few facts only events record), and applies the
//! difference to the monthly counters and the working-day histogram. A page then costs
//! a few indexed reads, however many cases there are. [`verify`] and [`rebuild`]
//! recompute everything from the cases themselves.
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use entity::{
    complaint::{self, Outcome},
    complaint_event, complaint_stats, institution_stats_days as days_tbl,
    institution_stats_monthly as monthly, sla_breach,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, OnConflict},
};
use uuid::Uuid;

use crate::{db, error::ApiError};

/// Statistics periods follow China Standard Time, whatever zone the server runs in.
pub const STATS_TZ: Tz = chrono_tz::Asia::Shanghai;

/// Largest bucket of the working-day histogram: "more than 60".
pub const OVER_60: i32 = 61;

/// Event actions that never change a case's statistics.
const NO_EFFECT: [&str; 6] = [
    "message",
    "attachment",
    "sla_warning",
    "assignment_overdue",
    "public_response",
    "publication_amended",
];

/// The timeline action that records a settlement not carried out. The mediation code
/// appends an event with this action (in the transaction that learns of it) and the
/// institution's `settlements_unfulfilled` counter follows.
pub const SETTLEMENT_UNFULFILLED: &str = "settlement_unfulfilled";

/// The timeline action the SLA sweeper appends when a settlement's due date passed
/// unfulfilled. Either event marks the case's settlement as not fulfilled, once.
pub const SETTLEMENT_OVERDUE: &str = "settlement_overdue";

/// `YYYY-MM` of an instant, in the statistics time zone.
pub fn month_of(at: DateTime<Utc>) -> String {
    at.with_timezone(&STATS_TZ).format("%Y-%m").to_string()
}

/// The counters, in the order of [`COLUMNS`].
pub const N: usize = 15;
type Counters = [i64; N];

/// The monthly counter columns, in one order used everywhere below.
const COLUMNS: [monthly::Column; N] = [
    monthly::Column::Received,
    monthly::Column::Answered,
    monthly::Column::TimelyKnown,
    monthly::Column::Timely,
    monthly::Column::Escalated,
    monthly::Column::Breaches,
    monthly::Column::OutcomeMonetaryRelief,
    monthly::Column::OutcomeNonMonetaryRelief,
    monthly::Column::OutcomeExplanationOnly,
    monthly::Column::OutcomeNoAgreement,
    monthly::Column::OutcomeWithdrawn,
    monthly::Column::OutcomeRejected,
    monthly::Column::SettlementsUnfulfilled,
    monthly::Column::RatingSum,
    monthly::Column::RatingCount,
];

/// Outcomes in display order.
pub const OUTCOMES: [Outcome; 6] = [
    Outcome::MonetaryRelief,
    Outcome::NonMonetaryRelief,
    Outcome::ExplanationOnly,
    Outcome::NoAgreement,
    Outcome::Withdrawn,
    Outcome::Rejected,
];

fn outcome_slot(o: Outcome) -> usize {
    6 + OUTCOMES.iter().position(|x| *x == o).unwrap_or(0)
}

/// What one case adds to its institution's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub institution_id: Uuid,
    pub month: String,
    pub answered: bool,
    pub timely_known: bool,
    pub timely: bool,
    pub escalated: bool,
    pub breaches: i32,
    pub outcome: Option<Outcome>,
    pub settlements_unfulfilled: i32,
    pub rating: Option<i16>,
    pub first_answer_days: Option<i32>,
}

/// Facts about a case's past that its row does not keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// It reached mediation at some point.
    pub escalated: bool,
    /// Response deadlines it missed.
    pub breaches: i32,
    /// Settlements recorded as not carried out.
    pub settlements_unfulfilled: i32,
}

impl Contribution {
    pub fn of(case: &complaint::Model, h: History) -> Self {
        Self {
            institution_id: case.institution_id,
            month: month_of(case.created_at),
            answered: case.first_response_at.is_some(),
            timely_known: case.timely.is_some(),
            timely: case.timely == Some(true),
            escalated: h.escalated,
            breaches: h.breaches,
            outcome: case.outcome,
            settlements_unfulfilled: h.settlements_unfulfilled,
            rating: case.rating,
            first_answer_days: case.first_response_at.and(case.first_response_working_days),
        }
    }

    fn history(&self) -> History {
        History {
            escalated: self.escalated,
            breaches: self.breaches,
            settlements_unfulfilled: self.settlements_unfulfilled,
        }
    }

    fn counters(&self) -> Counters {
        let mut c = [0; N];
        c[0] = 1;
        c[1] = i64::from(self.answered);
        c[2] = i64::from(self.timely_known);
        c[3] = i64::from(self.timely);
        c[4] = i64::from(self.escalated);
        c[5] = i64::from(self.breaches);
        if let Some(o) = self.outcome {
            c[outcome_slot(o)] = 1;
        }
        c[12] = i64::from(self.settlements_unfulfilled);
        c[13] = self.rating.map_or(0, i64::from);
        c[14] = i64::from(self.rating.is_some());
        c
    }

    fn bucket(&self) -> Option<i32> {
        self.first_answer_days.map(|d| d.clamp(0, OVER_60))
    }

    fn from_row(r: &complaint_stats::Model) -> Self {
        Self {
            institution_id: r.institution_id,
            month: r.month.clone(),
            answered: r.answered != 0,
            timely_known: r.timely_known != 0,
            timely: r.timely != 0,
            escalated: r.escalated != 0,
            breaches: r.breaches,
            outcome: r.outcome,
            settlements_unfulfilled: r.settlements_unfulfilled,
            rating: r.rating,
            first_answer_days: r.first_answer_days,
        }
    }

    fn to_row(&self, complaint_id: Uuid) -> complaint_stats::ActiveModel {
        complaint_stats::ActiveModel {
            complaint_id: Set(complaint_id),
            institution_id: Set(self.institution_id),
            month: Set(self.month.clone()),
            answered: Set(i32::from(self.answered)),
            timely_known: Set(i32::from(self.timely_known)),
            timely: Set(i32::from(self.timely)),
            escalated: Set(i32::from(self.escalated)),
            breaches: Set(self.breaches),
            outcome: Set(self.outcome),
            settlements_unfulfilled: Set(self.settlements_unfulfilled),
            rating: Set(self.rating),
            first_answer_days: Set(self.first_answer_days),
        }
    }
}

/// Updates the counters after `event` was appended (same transaction). Called by
/// `timeline::append`, so every case change passes through here.
pub async fn on_event(
    txn: &impl ConnectionTrait,
    event: &complaint_event::Model,
) -> Result<(), ApiError> {
    if NO_EFFECT.contains(&event.action.as_str()) {
        return Ok(());
    }
    let case = complaint::Entity::find_by_id(event.complaint_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("event for a missing case")))?;
    let stored = complaint_stats::Entity::find_by_id(case.id)
        .one(txn)
        .await?;
    let old = stored.as_ref().map(Contribution::from_row);
    let mut history = old.as_ref().map(Contribution::history).unwrap_or_default();
    if event.to_state.as_deref() == Some("awaiting_mediation") {
        history.escalated = true;
    }
    if event.action == "timeout" && event.from_state.as_deref() == Some("awaiting_response") {
        history.breaches += 1;
    }
    if [SETTLEMENT_UNFULFILLED, SETTLEMENT_OVERDUE].contains(&event.action.as_str()) {
        history.settlements_unfulfilled = 1;
    }
    let new = Contribution::of(&case, history);
    if old.as_ref() == Some(&new) {
        return Ok(());
    }
    apply_change(txn, old.as_ref(), &new).await?;
    if stored.is_some() {
        complaint_stats::Entity::update(new.to_row(case.id))
            .exec(txn)
            .await?;
    } else {
        complaint_stats::Entity::insert(new.to_row(case.id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// The statistics of cases just filed (same transaction): what each contributes, in
/// one statement per table however many there are. Equivalent to [`on_event`] for
/// each case's first event.
pub async fn on_new_cases(
    txn: &impl ConnectionTrait,
    cases: &[complaint::Model],
) -> Result<(), ApiError> {
    let mut deltas: BTreeMap<(Uuid, String), Counters> = BTreeMap::new();
    let mut rows = Vec::with_capacity(cases.len());
    for case in cases {
        let c = Contribution::of(case, History::default());
        // Not for a case just filed, which nobody has answered yet.
        if let Some(b) = c.bucket() {
            add_bucket(txn, c.institution_id, &c.month, b, 1).await?;
        }
        let sum = deltas
            .entry((c.institution_id, c.month.clone()))
            .or_insert([0; N]);
        for (s, v) in sum.iter_mut().zip(c.counters()) {
            *s += v;
        }
        rows.push(c.to_row(case.id));
    }
    add_counters_many(txn, deltas).await?;
    db::insert_chunked(txn, rows).await?;
    Ok(())
}

/// Moves the counters from the case's old contribution (if any) to its new one.
async fn apply_change(
    txn: &impl ConnectionTrait,
    old: Option<&Contribution>,
    new: &Contribution,
) -> Result<(), ApiError> {
    match old {
        Some(o) if o.institution_id == new.institution_id && o.month == new.month => {
            let (oc, nc) = (o.counters(), new.counters());
            let delta: Counters = std::array::from_fn(|i| nc[i] - oc[i]);
            add_counters(txn, new.institution_id, &new.month, &delta).await?;
            if o.bucket() != new.bucket() {
                if let Some(b) = o.bucket() {
                    add_bucket(txn, o.institution_id, &o.month, b, -1).await?;
                }
                if let Some(b) = new.bucket() {
                    add_bucket(txn, new.institution_id, &new.month, b, 1).await?;
                }
            }
        }
        // A case never changes institution or month, but stay exact if one ever does.
        other => {
            if let Some(o) = other {
                let neg = o.counters().map(|v| -v);
                add_counters(txn, o.institution_id, &o.month, &neg).await?;
                if let Some(b) = o.bucket() {
                    add_bucket(txn, o.institution_id, &o.month, b, -1).await?;
                }
            }
            add_counters(txn, new.institution_id, &new.month, &new.counters()).await?;
            if let Some(b) = new.bucket() {
                add_bucket(txn, new.institution_id, &new.month, b, 1).await?;
            }
        }
    }
    Ok(())
}

async fn add_counters(
    txn: &impl ConnectionTrait,
    institution_id: Uuid,
    month: &str,
    delta: &Counters,
) -> Result<(), ApiError> {
    add_counters_many(
        txn,
        BTreeMap::from([((institution_id, month.to_owned()), *delta)]),
    )
    .await
}

fn monthly_row(institution_id: Uuid, month: String, counters: &Counters) -> monthly::ActiveModel {
    let mut row = monthly::ActiveModel {
        institution_id: Set(institution_id),
        month: Set(month),
        ..Default::default()
    };
    for (col, v) in COLUMNS.iter().zip(counters) {
        row.set(*col, (*v).into());
    }
    row
}

/// Adds each delta to its institution's row for its month, creating rows that do not
/// exist yet, in one statement.
async fn add_counters_many(
    txn: &impl ConnectionTrait,
    deltas: BTreeMap<(Uuid, String), Counters>,
) -> Result<(), ApiError> {
    let rows: Vec<monthly::ActiveModel> = deltas
        .into_iter()
        .filter(|(_, d)| d.iter().any(|v| *v != 0))
        .map(|((institution_id, month), delta)| monthly_row(institution_id, month, &delta))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let excluded = Alias::new("excluded");
    let add = COLUMNS.map(|c| {
        (
            c,
            Expr::col((monthly::Entity, c)).add(Expr::col((excluded.clone(), c))),
        )
    });
    monthly::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([monthly::Column::InstitutionId, monthly::Column::Month])
                .values(add)
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

async fn add_bucket(
    txn: &impl ConnectionTrait,
    institution_id: Uuid,
    month: &str,
    days: i32,
    delta: i64,
) -> Result<(), ApiError> {
    days_tbl::Entity::insert(days_tbl::ActiveModel {
        institution_id: Set(institution_id),
        month: Set(month.to_owned()),
        days: Set(days),
        cases: Set(0),
    })
    .on_conflict_do_nothing()
    .exec(txn)
    .await?;
    days_tbl::Entity::update_many()
        .col_expr(
            days_tbl::Column::Cases,
            Expr::col(days_tbl::Column::Cases).add(delta),
        )
        .filter(days_tbl::Column::InstitutionId.eq(institution_id))
        .filter(days_tbl::Column::Month.eq(month))
        .filter(days_tbl::Column::Days.eq(days))
        .exec(txn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Summed counters of one institution over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub received: i64,
    pub answered: i64,
    pub timely_known: i64,
    pub timely: i64,
    pub escalated: i64,
    pub breaches: i64,
    /// In the order of [`OUTCOMES`].
    pub outcomes: [i64; 6],
    pub settlements_unfulfilled: i64,
    pub rating_sum: i64,
    pub rating_count: i64,
    /// Cases by working days to first answer; index 61 is "more than 60".
    pub days: [i64; OVER_60 as usize + 1],
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            received: 0,
            answered: 0,
            timely_known: 0,
            timely: 0,
            escalated: 0,
            breaches: 0,
            outcomes: [0; 6],
            settlements_unfulfilled: 0,
            rating_sum: 0,
            rating_count: 0,
            days: [0; OVER_60 as usize + 1],
        }
    }
}

impl Totals {
    fn add_row(&mut self, r: &monthly::Model) {
        self.received += r.received;
        self.answered += r.answered;
        self.timely_known += r.timely_known;
        self.timely += r.timely;
        self.escalated += r.escalated;
        self.breaches += r.breaches;
        let o = [
            r.outcome_monetary_relief,
            r.outcome_non_monetary_relief,
            r.outcome_explanation_only,
            r.outcome_no_agreement,
            r.outcome_withdrawn,
            r.outcome_rejected,
        ];
        for (t, v) in self.outcomes.iter_mut().zip(o) {
            *t += v;
        }
        self.settlements_unfulfilled += r.settlements_unfulfilled;
        self.rating_sum += r.rating_sum;
        self.rating_count += r.rating_count;
    }

    pub fn closed(&self) -> i64 {
        self.outcomes.iter().sum()
    }

    /// The exact median of working days to first answer; `None` without answers.
    pub fn median_days(&self) -> Option<Median> {
        median(&self.days)
    }
}

/// A median of whole working days: `half` adds 0.5 (an even count between two values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Median {
    Days { whole: i64, half: bool },
    MoreThan60,
}

pub fn median(hist: &[i64]) -> Option<Median> {
    let n: i64 = hist.iter().sum();
    if n <= 0 {
        return None;
    }
    // 1-based ranks of the middle value(s).
    let (lo, hi) = if n % 2 == 1 {
        ((n + 1) / 2, (n + 1) / 2)
    } else {
        (n / 2, n / 2 + 1)
    };
    let at = |rank: i64| {
        let mut seen = 0;
        for (d, c) in hist.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return d as i64;
            }
        }
        (hist.len() - 1) as i64
    };
    let (a, b) = (at(lo), at(hi));
    if a >= i64::from(OVER_60) || b >= i64::from(OVER_60) {
        return Some(Median::MoreThan60);
    }
    Some(Median::Days {
        whole: (a + b) / 2,
        half: (a + b) % 2 == 1,
    })
}

/// What may be published of a period's totals. Below `min_cases` cases received,
/// only the number received is shown: every rate, median, count and mean is withheld,
/// so that no learner can be recognised from a small number.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub received: i64,
    pub suppressed: bool,
    /// Share of cases answered in time, of those whose timeliness is known.
    pub timely_share: Option<f64>,
    pub median_days: Option<Median>,
    /// In the order of [`OUTCOMES`], with the number of closed cases.
    pub outcomes: Option<[i64; 6]>,
    pub closed: Option<i64>,
    pub escalated_share: Option<f64>,
    pub settlements_unfulfilled: Option<i64>,
    pub breaches: Option<i64>,
    pub mean_rating: Option<f64>,
    pub ratings: Option<i64>,
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Figures {
    pub fn of(t: &Totals, min_cases: i64) -> Self {
        let suppressed = t.received < std::cmp::max(min_cases, 1);
        let shown = |v: i64| (!suppressed).then_some(v);
        let rate = |v: Option<f64>| v.filter(|_| !suppressed);
        Self {
            received: t.received,
            suppressed,
            timely_share: rate(share(t.timely, t.timely_known)),
            median_days: t.median_days().filter(|_| !suppressed),
            outcomes: (!suppressed).then_some(t.outcomes),
            closed: shown(t.closed()),
            escalated_share: rate(share(t.escalated, t.received)),
            settlements_unfulfilled: shown(t.settlements_unfulfilled),
            breaches: shown(t.breaches),
            mean_rating: rate(
                (t.rating_count > 0).then(|| t.rating_sum as f64 / t.rating_count as f64),
            ),
            ratings: shown(t.rating_count),
        }
    }
}

/// The first month of "the last 12 months" as of `now`: this month and the 11 before.
pub fn last_12_months_from(now: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let local = now.with_timezone(&STATS_TZ);
    let (mut y, mut m) = (local.year(), local.month() as i32);
    m -= 11;
    if m <= 0 {
        m += 12;
        y -= 1;
    }
    format!("{y:04}-{m:02}")
}

/// One institution's summed counters: since a month (`YYYY-MM`, for "the last 12
/// months"), and over all time. Two indexed reads, however many cases.
pub async fn totals(
    db: &impl ConnectionTrait,
    institution_id: Uuid,
    since: &str,
) -> Result<(Totals, Totals), ApiError> {
    let (mut recent, mut all) = (Totals::default(), Totals::default());
    let months = monthly::Entity::find()
        .filter(monthly::Column::InstitutionId.eq(institution_id))
        .all(db)
        .await?;
    for r in months {
        if r.month.as_str() >= since {
            recent.add_row(&r);
        }
        all.add_row(&r);
    }
    let days = days_tbl::Entity::find()
        .filter(days_tbl::Column::InstitutionId.eq(institution_id))
        .all(db)
        .await?;
    for r in days {
        let i = r.days.clamp(0, OVER_60) as usize;
        if r.month.as_str() >= since {
            recent.days[i] += r.cases;
        }
        all.days[i] += r.cases;
    }
    Ok((recent, all))
}

/// For a directory page: cases received and timeliness per institution since a month.
pub async fn directory_totals(
    db: &impl ConnectionTrait,
    institution_ids: &[Uuid],
    since: &str,
) -> Result<HashMap<Uuid, Totals>, ApiError> {
    let mut out: HashMap<Uuid, Totals> = HashMap::new();
    if institution_ids.is_empty() {
        return Ok(out);
    }
    let rows = monthly::Entity::find()
        .filter(monthly::Column::InstitutionId.is_in(institution_ids.to_vec()))
        .filter(monthly::Column::Month.gte(since))
        .all(db)
        .await?;
    for r in rows {
        out.entry(r.institution_id).or_default().add_row(&r);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Recomputing from the cases
// ---------------------------------------------------------------------------

/// Counters recomputed from the cases (or read from the tables), keyed by
/// (institution, month) and (institution, month, days).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub monthly: BTreeMap<(Uuid, String), [i64; N]>,
    pub days: BTreeMap<(Uuid, String, i32), i64>,
    pub cases: BTreeMap<Uuid, Contribution>,
}

/// One counter that differs between the tables and the cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub institution_id: Uuid,
    pub month: String,
    pub counter: String,
    pub stored: i64,
    pub recomputed: i64,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "institution {} month {} {}: stored {}, recomputed {}",
            self.institution_id, self.month, self.counter, self.stored, self.recomputed
        )
    }
}

const COLUMN_NAMES: [&str; N] = [
    "received",
    "answered",
    "timely_known",
    "timely",
    "escalated",
    "breaches",
    "outcome_monetary_relief",
    "outcome_non_monetary_relief",
    "outcome_explanation_only",
    "outcome_no_agreement",
    "outcome_withdrawn",
    "outcome_rejected",
    "settlements_unfulfilled",
    "rating_sum",
    "rating_count",
];

/// Recomputes every case's contribution from the cases, their deadline breaches and
/// their timelines, and sums them.
pub async fn recompute(db: &impl ConnectionTrait) -> Result<Snapshot, ApiError> {
    let escalated: HashSet<Uuid> = complaint_event::Entity::find()
        .select_only()
        .column(complaint_event::Column::ComplaintId)
        .filter(complaint_event::Column::ToState.eq("awaiting_mediation"))
        .distinct()
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut breaches: HashMap<Uuid, i32> = HashMap::new();
    for id in sla_breach::Entity::find()
        .select_only()
        .column(sla_breach::Column::ComplaintId)
        .filter(sla_breach::Column::Stage.eq("awaiting_response"))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
    {
        *breaches.entry(id).or_default() += 1;
    }
    let mut unfulfilled: HashMap<Uuid, i32> = HashMap::new();
    for id in complaint_event::Entity::find()
        .select_only()
        .column(complaint_event::Column::ComplaintId)
        .filter(complaint_event::Column::Action.is_in([SETTLEMENT_UNFULFILLED, SETTLEMENT_OVERDUE]))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
    {
        unfulfilled.insert(id, 1);
    }

    let mut snap = Snapshot::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = complaint::Entity::find().order_by_asc(complaint::Column::Id);
        if let Some(a) = after {
            q = q.filter(complaint::Column::Id.gt(a));
        }
        let page = q.limit(1000).all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for case in &page {
            let h = History {
                escalated: escalated.contains(&case.id),
                breaches: breaches.get(&case.id).copied().unwrap_or(0),
                settlements_unfulfilled: unfulfilled.get(&case.id).copied().unwrap_or(0),
            };
            let c = Contribution::of(case, h);
            let cell = snap
                .monthly
                .entry((c.institution_id, c.month.clone()))
                .or_insert([0; N]);
            for (t, v) in cell.iter_mut().zip(c.counters()) {
                *t += v;
            }
            if let Some(b) = c.bucket() {
                *snap
                    .days
                    .entry((c.institution_id, c.month.clone(), b))
                    .or_default() += 1;
            }
            snap.cases.insert(case.id, c);
        }
    }
    Ok(snap)
}

/// What the counter tables hold now.
pub async fn stored(db: &impl ConnectionTrait) -> Result<Snapshot, ApiError> {
    let mut snap = Snapshot::default();
    for r in monthly::Entity::find().all(db).await? {
        let mut t = Totals::default();
        t.add_row(&r);
        let v = [
            t.received,
            t.answered,
            t.timely_known,
            t.timely,
            t.escalated,
            t.breaches,
            t.outcomes[0],
            t.outcomes[1],
            t.outcomes[2],
            t.outcomes[3],
            t.outcomes[4],
            t.outcomes[5],
            t.settlements_unfulfilled,
            t.rating_sum,
            t.rating_count,
        ];
        if v.iter().any(|x| *x != 0) {
            snap.monthly.insert((r.institution_id, r.month), v);
        }
    }
    for r in days_tbl::Entity::find().all(db).await? {
        if r.cases != 0 {
            snap.days
                .insert((r.institution_id, r.month, r.days), r.cases);
        }
    }
    for r in complaint_stats::Entity::find().all(db).await? {
        snap.cases
            .insert(r.complaint_id, Contribution::from_row(&r));
    }
    Ok(snap)
}

/// Compares the counter tables with counters recomputed from the cases.
pub async fn verify(db: &impl ConnectionTrait) -> Result<Vec<Difference>, ApiError> {
    let (have, want) = (stored(db).await?, recompute(db).await?);
    Ok(differences(&have, &want))
}

pub fn differences(have: &Snapshot, want: &Snapshot) -> Vec<Difference> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<_> =
        have.monthly.keys().chain(want.monthly.keys()).collect();
    for key in keys {
        let h = have.monthly.get(key).copied().unwrap_or([0; N]);
        let w = want.monthly.get(key).copied().unwrap_or([0; N]);
        for i in 0..N {
            if h[i] != w[i] {
                out.push(Difference {
                    institution_id: key.0,
                    month: key.1.clone(),
                    counter: COLUMN_NAMES[i].to_owned(),
                    stored: h[i],
                    recomputed: w[i],
                });
            }
        }
    }
    let keys: std::collections::BTreeSet<_> = have.days.keys().chain(want.days.keys()).collect();
    for key in keys {
        let h = have.days.get(key).copied().unwrap_or(0);
        let w = want.days.get(key).copied().unwrap_or(0);
        if h != w {
            out.push(Difference {
                institution_id: key.0,
                month: key.1.clone(),
                counter: format!("first_answer_days[{}]", key.2),
                stored: h,
                recomputed: w,
            });
        }
    }
    let mut per_case = 0i64;
    for (id, w) in &want.cases {
        if have.cases.get(id) != Some(w) {
            per_case += 1;
        }
    }
    per_case += have
        .cases
        .keys()
        .filter(|id| !want.cases.contains_key(id))
        .count() as i64;
    if per_case > 0 {
        out.push(Difference {
            institution_id: Uuid::nil(),
            month: "*".into(),
            counter: "case contributions".into(),
            stored: per_case,
            recomputed: 0,
        });
    }
    out
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub cases: usize,
    pub cells: usize,
    /// Counters that differed before the rebuild.
    pub corrected: usize,
}

/// Replaces the counter tables with counters recomputed from the cases, in one write
/// transaction (case changes wait for it).
pub async fn rebuild(db: &DatabaseConnection) -> Result<Rebuilt, ApiError> {
    let txn = db::begin_write(db).await?;
    if db::is_postgres(&txn) {
        txn.execute_unprepared(
            "LOCK TABLE complaints, complaint_stats, institution_stats_monthly, \
             institution_stats_days IN SHARE ROW EXCLUSIVE MODE",
        )
        .await?;
    }
    let want = recompute(&txn).await?;
    let corrected = differences(&stored(&txn).await?, &want).len();
    complaint_stats::Entity::delete_many().exec(&txn).await?;
    days_tbl::Entity::delete_many().exec(&txn).await?;
    monthly::Entity::delete_many().exec(&txn).await?;
    let rows = want.cases.iter().map(|(id, c)| c.to_row(*id)).collect();
    db::insert_chunked(&txn, rows).await?;
    let rows = want
        .monthly
        .iter()
        .map(|((inst, month), v)| monthly_row(*inst, month.clone(), v))
        .collect();
    db::insert_chunked(&txn, rows).await?;
    let rows = want
        .days
        .iter()
        .map(|((inst, month, d), n)| days_tbl::ActiveModel {
            institution_id: Set(*inst),
            month: Set(month.clone()),
            days: Set(*d),
            cases: Set(*n),
        })
        .collect();
    db::insert_chunked(&txn, rows).await?;
    txn.commit().await?;
    Ok(Rebuilt {
        cases: want.cases.len(),
        cells: want.monthly.len(),
        corrected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hist(pairs: &[(usize, i64)]) -> Vec<i64> {
        let mut h = vec![0; OVER_60 as usize + 1];
        for (d, n) in pairs {
            h[*d] = *n;
        }
        h
    }

    #[test]
    fn medians_are_exact() {
        assert_eq!(median(&hist(&[])), None);
        assert_eq!(
            median(&hist(&[(3, 1)])),
            Some(Median::Days {
                whole: 3,
                half: false
            })
        );
        // 1, 2 → 1.5
        assert_eq!(
            median(&hist(&[(1, 1), (2, 1)])),
            Some(Median::Days {
                whole: 1,
                half: true
            })
        );
        // 0,0,5,9 → 2.5
        assert_eq!(
            median(&hist(&[(0, 2), (5, 1), (9, 1)])),
            Some(Median::Days {
                whole: 2,
                half: true
            })
        );
        assert_eq!(median(&hist(&[(2, 1), (61, 2)])), Some(Median::MoreThan60));
    }

    #[test]
    fn months_are_china_standard_time() {
        // 2026-01-31 17:00 UTC is 2026-02-01 01:00 in Beijing.
        let at = Utc.with_ymd_and_hms(2026, 1, 31, 17, 0, 0).unwrap();
        assert_eq!(month_of(at), "2026-02");
        assert_eq!(last_12_months_from(at), "2025-03");
        let dec = Utc.with_ymd_and_hms(2026, 12, 10, 0, 0, 0).unwrap();
        assert_eq!(last_12_months_from(dec), "2026-01");
    }
}
