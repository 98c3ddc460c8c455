//! Complaint cases: filing, the lifecycle actions, reading, messages and ratings.
//! Every change writes the case row (version-checked), and its timeline event, in one
//! transaction.
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use entity::{
    complaint::{self, Category, ClockParty, DesiredRemedy, Outcome, ResponseRemedy},
    complaint_event, idempotency_key, institution, reference_counter, timer, webhook_event,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DerivePartialModel, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{associations, email, paging, sla, stats, timeline, webhooks};
use crate::{
    auth::{Principal, policy},
    db,
    domain::{
        calendar::{Deadlines, Limit, WorkCalendar},
        lifecycle::{self, Action, Actor, CaseState},
        mediation::{SettlementKind, Side},
        refund::{self, PrepaymentWarning},
        sla::{Party, SlaPolicy},
    },
    error::ApiError,
};

/// What a case change is decided with: calendar, limits, zone, settings and the time.
#[derive(Clone)]
pub struct Rules {
    pub calendar: Arc<WorkCalendar>,
    pub policy: SlaPolicy,
    pub tz: Tz,
    pub intake_review: bool,
    pub now: DateTime<Utc>,
}

impl Rules {
    /// When a clock started now for `state` runs out (and warns), and whose it is.
    fn clock_for(&self, state: CaseState) -> Option<(Deadlines, ClockParty)> {
        self.policy.clock(state).map(|(party, limit)| {
            (
                self.calendar.deadline(self.now, limit, self.tz),
                party.into(),
            )
        })
    }
}

impl From<complaint::CaseState> for CaseState {
    fn from(s: complaint::CaseState) -> Self {
        use complaint::CaseState as E;
        match s {
            E::Submitted => Self::Submitted,
            E::AwaitingResponse => Self::AwaitingResponse,
            E::InfoRequested => Self::InfoRequested,
            E::Responded => Self::Responded,
            E::AwaitingMediation => Self::AwaitingMediation,
            E::InMediation => Self::InMediation,
            E::Resolved => Self::Resolved,
            E::Settled => Self::Settled,
            E::Unresolved => Self::Unresolved,
            E::Rejected => Self::Rejected,
            E::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<CaseState> for complaint::CaseState {
    fn from(s: CaseState) -> Self {
        match s {
            CaseState::Submitted => Self::Submitted,
            CaseState::AwaitingResponse => Self::AwaitingResponse,
            CaseState::InfoRequested => Self::InfoRequested,
            CaseState::Responded => Self::Responded,
            CaseState::AwaitingMediation => Self::AwaitingMediation,
            CaseState::InMediation => Self::InMediation,
            CaseState::Resolved => Self::Resolved,
            CaseState::Settled => Self::Settled,
            CaseState::Unresolved => Self::Unresolved,
            CaseState::Rejected => Self::Rejected,
            CaseState::Withdrawn => Self::Withdrawn,
        }
    }
}

impl From<Party> for ClockParty {
    fn from(p: Party) -> Self {
        match p {
            Party::Platform => Self::Platform,
            Party::Institution => Self::Institution,
            Party::Learner => Self::Learner,
            Party::Association => Self::Association,
            Party::Mediation => Self::Mediation,
        }
    }
}

/// A guardian filing for a minor records only an age band and initials, never an ID.
#[derive(Debug, Clone)]
pub struct Minor {
    pub age_band: String,
    pub initials: String,
}

#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub institution_id: Uuid,
    pub category: Category,
    pub title: String,
    pub narrative: String,
    pub desired_remedy: DesiredRemedy,
    pub desired_amount_minor: Option<i64>,
    pub currency: String,
    pub amount_in_dispute_minor: Option<i64>,
    pub course_reference: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub prepaid_minor: Option<i64>,
    pub hours_bought: Option<u32>,
    pub hours_used: Option<u32>,
    pub prepaid_period_days: Option<u32>,
    pub minor: Option<Minor>,
    pub consent_to_publish: bool,
}

/// An `Idempotency-Key` and the hash of the request body it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    Duplicate,
    OutOfScope,
    NotOnlineEducation,
    Abusive,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::OutOfScope => "out_of_scope",
            Self::NotOnlineEducation => "not_online_education",
            Self::Abusive => "abusive",
        }
    }
}

/// The institution's answer: a message plus what it offers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub message: String,
    pub remedy: ResponseRemedy,
    pub refund_minor: Option<i64>,
    pub class_hours: Option<u32>,
    pub detail: Option<String>,
}

/// A lifecycle action with what it carries.
#[derive(Debug, Clone)]
pub enum ActionInput {
    AcceptIntake,
    Reject {
        reason: RejectReason,
        note: String,
    },
    RequestInfo {
        questions: String,
    },
    ProvideInfo {
        answer: String,
    },
    Respond(Answer),
    AcceptResponse,
    Escalate {
        reason: String,
    },
    Dispute {
        reason: String,
    },
    Withdraw {
        reason: Option<String>,
    },
    /// A deadline passed (the system acts).
    Timeout {
        stage: String,
        due_at: DateTime<Utc>,
    },
    /// A mediator takes the case (or an admin gives it to one).
    Assign {
        mediator_id: Uuid,
    },
    Offer {
        offer_id: Uuid,
        side: Side,
        terms: Value,
        expires_at: DateTime<Utc>,
    },
    AcceptOffer {
        offer_id: Uuid,
        kind: SettlementKind,
    },
    DeclineOffer {
        offer_id: Uuid,
        reason: String,
    },
    CloseUnresolved {
        referral: String,
        note: String,
    },
}

impl ActionInput {
    pub fn action(&self) -> Action {
        match self {
            Self::AcceptIntake => Action::AcceptIntake,
            Self::Reject { .. } => Action::Reject,
            Self::RequestInfo { .. } => Action::RequestInfo,
            Self::ProvideInfo { .. } => Action::ProvideInfo,
            Self::Respond(_) => Action::Respond,
            Self::AcceptResponse => Action::AcceptResponse,
            Self::Escalate { .. } => Action::Escalate,
            Self::Dispute { .. } => Action::Dispute,
            Self::Withdraw { .. } => Action::Withdraw,
            Self::Timeout { .. } => Action::Timeout,
            Self::Assign { .. } => Action::Assign,
            Self::Offer { .. } => Action::Offer,
            Self::AcceptOffer { .. } => Action::AcceptOffer,
            Self::DeclineOffer { .. } => Action::DeclineOffer,
            Self::CloseUnresolved { .. } => Action::CloseUnresolved,
        }
    }

    fn payload(&self) -> Value {
        match self {
            Self::AcceptIntake | Self::AcceptResponse => json!({}),
            Self::Reject { reason, note } => json!({ "reason": reason.as_str(), "note": note }),
            Self::RequestInfo { questions } => json!({ "questions": questions }),
            Self::ProvideInfo { answer } => json!({ "answer": answer }),
            Self::Respond(a) => json!({
                "message": a.message,
                "remedy": remedy_name(a.remedy),
                "refund_minor": a.refund_minor,
                "class_hours": a.class_hours,
                "detail": a.detail,
            }),
            Self::Escalate { reason } | Self::Dispute { reason } => json!({ "reason": reason }),
            Self::Withdraw { reason } => json!({ "reason": reason }),
            Self::Timeout { stage, due_at } => json!({ "stage": stage, "due_at": due_at }),
            Self::Assign { mediator_id } => json!({ "mediator_id": mediator_id }),
            Self::Offer {
                offer_id,
                side,
                terms,
                expires_at,
            } => json!({
                "offer_id": offer_id,
                "side": side.as_str(),
                "terms": terms,
                "expires_at": expires_at,
            }),
            Self::AcceptOffer { offer_id, .. } => json!({ "offer_id": offer_id }),
            Self::DeclineOffer { offer_id, reason } => {
                json!({ "offer_id": offer_id, "reason": reason })
            }
            Self::CloseUnresolved { referral, note } => {
                json!({ "referral": referral, "note": note })
            }
        }
    }
}

fn remedy_name(r: ResponseRemedy) -> &'static str {
    match r {
        ResponseRemedy::Refund => "refund",
        ResponseRemedy::ClassHourCredit => "class_hour_credit",
        ResponseRemedy::CourseTransfer => "course_transfer",
        ResponseRemedy::Explanation => "explanation",
        ResponseRemedy::Other => "other",
    }
}

/// The outcome of a case the learner accepted (or let lapse): by what was offered.
pub fn outcome_of_response(remedy: Option<ResponseRemedy>) -> Outcome {
    match remedy {
        Some(ResponseRemedy::Refund) => Outcome::MonetaryRelief,
        Some(ResponseRemedy::ClassHourCredit | ResponseRemedy::CourseTransfer) => {
            Outcome::NonMonetaryRelief
        }
        Some(ResponseRemedy::Explanation | ResponseRemedy::Other) | None => {
            Outcome::ExplanationOnly
        }
    }
}

/// Reserves `count` readable references for `year`, unique across replicas: a per-year
/// counter bumped in the filings' transaction. Returns the first number.
async fn reserve_references(
    db: &impl ConnectionTrait,
    year: i32,
    count: i64,
) -> Result<i64, ApiError> {
    reference_counter::Entity::insert(reference_counter::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    let rows = reference_counter::Entity::update_many()
        .col_expr(
            reference_counter::Column::Last,
            Expr::col(reference_counter::Column::Last).add(count),
        )
        .filter(reference_counter::Column::Year.eq(year))
        .exec_with_returning(db)
        .await?;
    let last = rows
        .first()
        .map(|r| r.last)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("reference counter missing")))?;
    Ok(last - count + 1)
}

/// One complaint to file: who files what, under the rules of the moment it was asked.
pub struct Filing {
    pub rules: Rules,
    pub who: Principal,
    pub new: NewComplaint,
    pub idem: Option<Idempotency>,
}

/// A filed case, and whether it is the replay of an earlier request.
pub type Filed = Result<(complaint::Model, bool), ApiError>;

/// Files a complaint in its own transaction. With an idempotency key, a retry returns
/// the first case (`replayed = true`) instead of filing a second one. The API files
/// through [`super::filing_queue::FilingQueue`], which shares one commit among
/// concurrent filings.
pub async fn file(db: &DatabaseConnection, filing: Filing) -> Filed {
    policy::file_complaint(&filing.who)?;
    let (who, idem) = (filing.who.clone(), filing.idem.clone());
    let attempt = async {
        let txn = db::begin_write(db).await?;
        let mut out = file_many(&txn, std::slice::from_ref(&filing)).await?;
        txn.commit().await?;
        out.pop()
            .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("no outcome")))?
    };
    settle_idempotency_race(db, &who, idem.as_ref(), attempt.await).await
}

/// When a concurrent request with the same key won the race (its key row made ours
/// conflict), answer with its case if it was the same request.
pub async fn settle_idempotency_race(
    db: &impl ConnectionTrait,
    who: &Principal,
    idem: Option<&Idempotency>,
    result: Filed,
) -> Filed {
    match (result, idem) {
        (Err(ApiError::Conflict { .. }), Some(i)) => {
            match replay(db, who, &i.key, Some(&i.request_hash)).await? {
                Some(found) => Ok((found, true)),
                None => Err(ApiError::conflict("a concurrent filing conflicted; retry")),
            }
        }
        (other, _) => other,
    }
}

async fn replay(
    db: &impl ConnectionTrait,
    who: &Principal,
    key: &str,
    request_hash: Option<&str>,
) -> Result<Option<complaint::Model>, ApiError> {
    let Some(row) = idempotency_key::Entity::find_by_id((who.account_id, key.to_owned()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if request_hash.is_some_and(|h| h != row.request_hash) {
        return Err(ApiError::BadRequest(
            "this Idempotency-Key was already used with a different request".into(),
        ));
    }
    Ok(complaint::Entity::find_by_id(row.complaint_id)
        .one(db)
        .await?)
}

/// Files complaints inside the caller's write transaction, with one multi-row statement
/// per table however many there are. Returns each filing's outcome in order: an unknown
/// institution or a key reused with another body is refused without writing anything,
/// a retried key answers with its first case. Institutions of any status are accepted:
/// a suspended or exited institution is when learners need this most. An `Err` means the transaction is spoilt
/// (a database error, or two of these filings sharing one key) and must be rolled back.
pub async fn file_many(
    txn: &DatabaseTransaction,
    filings: &[Filing],
) -> Result<Vec<Filed>, ApiError> {
    let mut wanted: Vec<Uuid> = filings.iter().map(|f| f.new.institution_id).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let institutions: HashMap<Uuid, institution::Model> = institution::Entity::find()
        .filter(institution::Column::Id.is_in(wanted))
        .all(txn)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();

    let mut outcomes: Vec<Option<Filed>> = filings.iter().map(|_| None).collect();
    let mut new_keys = HashSet::new();
    let mut accepted = vec![];
    for (i, f) in filings.iter().enumerate() {
        let Some(inst) = institutions.get(&f.new.institution_id) else {
            outcomes[i] = Some(Err(ApiError::field(
                "institution_id",
                "no such institution",
            )));
            continue;
        };
        if let Some(k) = &f.idem {
            match replay(txn, &f.who, &k.key, Some(&k.request_hash)).await {
                Ok(None) if !new_keys.insert((f.who.account_id, k.key.clone())) => {
                    return Err(ApiError::conflict("two filings share one Idempotency-Key"));
                }
                Ok(None) => {}
                Ok(Some(found)) => {
                    outcomes[i] = Some(Ok((found, true)));
                    continue;
                }
                Err(refused @ ApiError::BadRequest(_)) => {
                    outcomes[i] = Some(Err(refused));
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        accepted.push((i, f, inst));
    }

    // References in order of arrival, one counter bump per year.
    let year = |f: &Filing| f.rules.now.with_timezone(&f.rules.tz).year();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for (_, f, _) in &accepted {
        *next.entry(year(f)).or_default() += 1;
    }
    for (y, n) in next.iter_mut() {
        *n = reserve_references(txn, *y, *n).await?;
    }

    let mut rows = Vec::with_capacity(accepted.len());
    let mut key_rows = vec![];
    let mut mailed = Vec::with_capacity(accepted.len());
    for (i, f, inst) in accepted {
        let counter = next.entry(year(f)).or_default();
        let reference = format!("ED-{}-{:06}", year(f), *counter);
        *counter += 1;
        let filed = filing_rows(f, inst, reference);
        if let Some(k) = &f.idem {
            key_rows.push(idempotency_key::ActiveModel {
                account_id: Set(f.who.account_id),
                key: Set(k.key.clone()),
                request_hash: Set(k.request_hash.clone()),
                complaint_id: Set(filed.case.id),
                created_at: Set(f.rules.now),
            });
        }
        outcomes[i] = Some(Ok((filed.case.clone(), false)));
        mailed.push((i, inst.name.as_str()));
        rows.push(filed);
    }
    write_filing_rows(txn, rows).await?;
    db::insert_chunked(txn, key_rows).await?;
    // The learners' "filed" mails, in the same transaction.
    email::on_filed(
        txn,
        mailed
            .into_iter()
            .filter_map(|(i, name)| match &outcomes[i] {
                Some(Ok((case, _))) => Some((case, name)),
                _ => None,
            }),
    )
    .await?;
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a filing was skipped"))))
        .collect()
}

/// What one filing writes (its idempotency key aside), built in memory.
pub struct FilingRows {
    pub case: complaint::Model,
    pub event: complaint_event::Model,
    pub outbox: webhook_event::ActiveModel,
    pub timers: Vec<timer::ActiveModel>,
}

/// The rows of one filing against `inst`, under its readable `reference`.
pub fn filing_rows(f: &Filing, inst: &institution::Model, reference: String) -> FilingRows {
    let (mut case, deadlines, warnings) = new_case(f, reference);
    let event = timeline::link(
        &timeline::Anchor::empty(),
        timeline::NewEvent {
            complaint_id: case.id,
            actor_id: Some(f.who.account_id),
            actor_role: Actor::Learner.as_str(),
            action: "file",
            from_state: None,
            to_state: Some(CaseState::from(case.state).as_str()),
            payload: json!({
                "reference": case.reference,
                "institution_id": inst.id,
                "institution_status": format!("{:?}", inst.status).to_lowercase(),
                "prepayment_warnings": warnings,
            }),
            at: f.rules.now,
        },
    );
    // The case row anchors its timeline from the first event on.
    case.timeline_len = event.seq;
    case.timeline_head = event.hash.clone();
    FilingRows {
        outbox: webhooks::outbox_row(&case, &event),
        timers: sla::timers(&case, deadlines, f.rules.now),
        case,
        event,
    }
}

/// Writes filings' rows, with one multi-row statement per table, and their statistics.
pub async fn write_filing_rows(
    txn: &impl ConnectionTrait,
    rows: Vec<FilingRows>,
) -> Result<(), ApiError> {
    let mut cases = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    let mut outbox = Vec::with_capacity(rows.len());
    let mut timers = Vec::with_capacity(rows.len() * 2);
    for r in rows {
        cases.push(r.case);
        events.push(complaint_event::ActiveModel::from(r.event));
        outbox.push(r.outbox);
        timers.extend(r.timers);
    }
    db::insert_chunked(
        txn,
        cases
            .iter()
            .cloned()
            .map(complaint::ActiveModel::from)
            .collect(),
    )
    .await?;
    db::insert_chunked(txn, events).await?;
    stats::on_new_cases(txn, &cases).await?;
    db::insert_chunked(txn, outbox).await?;
    db::insert_chunked(txn, timers).await?;
    Ok(())
}

/// The row of a case just filed, the deadlines of its first stage, and what its
/// prepayment facts warn of.
fn new_case(
    f: &Filing,
    reference: String,
) -> (complaint::Model, Option<Deadlines>, Vec<PrepaymentWarning>) {
    let (rules, new) = (&f.rules, &f.new);
    let now = rules.now;
    let state = lifecycle::initial_state(rules.intake_review);
    let clock_now = rules.clock_for(state);
    let deadlines = clock_now.map(|(d, _)| d);
    let due_at = deadlines.map(|d| d.due_at);
    let warnings = refund::prepayment_warnings(new.hours_bought, new.prepaid_period_days);
    let to_i32 = |v: Option<u32>| v.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    let awaiting = state == CaseState::AwaitingResponse;
    let case = complaint::Model {
        id: Uuid::now_v7(),
        reference,
        learner_id: f.who.account_id,
        institution_id: new.institution_id,
        association_id: None,
        mediator_id: None,
        state: state.into(),
        version: 1,
        stage_seq: 1,
        // Set to the first event by `filing_rows`.
        timeline_len: 0,
        timeline_head: crate::domain::timeline::GENESIS.to_owned(),
        category: new.category,
        title: new.title.clone(),
        narrative: new.narrative.clone(),
        desired_remedy: new.desired_remedy,
        desired_amount_minor: new.desired_amount_minor,
        currency: new.currency.clone(),
        amount_in_dispute_minor: new.amount_in_dispute_minor,
        course_reference: new.course_reference.clone(),
        purchase_date: new.purchase_date,
        prepaid_minor: new.prepaid_minor,
        hours_bought: to_i32(new.hours_bought),
        hours_used: to_i32(new.hours_used),
        prepaid_period_days: to_i32(new.prepaid_period_days),
        filed_for_minor: new.minor.is_some(),
        minor_age_band: new.minor.as_ref().map(|m| m.age_band.clone()),
        minor_initials: new.minor.as_ref().map(|m| m.initials.clone()),
        consent_to_publish: new.consent_to_publish,
        prepayment_warnings: (!warnings.is_empty())
            .then(|| serde_json::to_string(&warnings).unwrap_or_default()),
        response_remedy: None,
        outcome: None,
        timely: None,
        due_at,
        clock: clock_now.map(|(_, p)| p),
        response_due_at: due_at.filter(|_| awaiting),
        paused_at: None,
        first_response_at: None,
        closed_at: None,
        rating: None,
        rating_comment: None,
        rated_at: None,
        created_at: now,
        updated_at: now,
        first_response_working_days: None,
        // Open data from the response deadline on, unless answered sooner.
        published_at: due_at.filter(|_| awaiting),
        public_response_kind: None,
        public_response_text: None,
        public_response_at: None,
        publication_text: None,
        publication_amended_by: None,
        publication_amended_at: None,
    };
    (case, deadlines, warnings)
}

/// Loads a case the caller may see, with how they stand towards it; 404 otherwise.
pub async fn get(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<(complaint::Model, Actor), ApiError> {
    let case = complaint::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)?;
    let actor = policy::case_actor(who, &case).ok_or(ApiError::NotFound)?;
    Ok((case, actor))
}

/// Whether the learner's window to dispute a resolved case is still open.
fn dispute_window_open(case: &complaint::Model, now: DateTime<Utc>) -> bool {
    case.due_at.is_none_or(|due| now < due)
}

/// The actions this caller may take on this case now: what the lifecycle allows, less
/// a dispute whose window has closed, and less the mediation steps that belong to the
/// mediator holding the case when the caller (`account_id`) is another mediator.
/// Timers are not the caller's to trigger.
pub fn allowed_actions(
    case: &complaint::Model,
    actor: Actor,
    account_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Vec<Action> {
    let holds =
        actor != Actor::Mediator || (account_id.is_some() && case.mediator_id == account_id);
    lifecycle::allowed_actions(case.state.into(), actor)
        .into_iter()
        .filter(|a| *a != Action::Timeout)
        .filter(|a| *a != Action::Dispute || dispute_window_open(case, now))
        .filter(|a| holds || !matches!(a, Action::Offer | Action::CloseUnresolved))
        .collect()
}

pub(crate) fn refused(
    case: &complaint::Model,
    actor: Actor,
    account_id: Option<Uuid>,
    now: DateTime<Utc>,
    detail: String,
) -> ApiError {
    let state: CaseState = case.state.into();
    ApiError::Conflict {
        detail,
        state: Some(state.as_str().to_owned()),
        allowed_actions: Some(
            allowed_actions(case, actor, account_id, now)
                .into_iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        ),
    }
}

/// The refusal for a change that lost a race (its version-checked UPDATE matched no
/// row): it reports the case as the winner left it, which a fresh read in this
/// transaction sees (PostgreSQL reads committed), not the stale copy the change began
/// with.
async fn lost_race(
    txn: &impl ConnectionTrait,
    stale: &complaint::Model,
    actor: Actor,
    account_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiError {
    let current = match complaint::Entity::find_by_id(stale.id).one(txn).await {
        Ok(Some(c)) => c,
        Ok(None) => return ApiError::NotFound,
        Err(e) => return e.into(),
    };
    refused(
        &current,
        actor,
        account_id,
        now,
        "the case changed while you were acting on it; reload it and try again".into(),
    )
}

/// Applies a lifecycle action by a person: decides with the pure transition
/// function, then writes the case (only if its version is unchanged), its timeline
/// event and its timers together.
pub async fn act(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    input: ActionInput,
) -> Result<complaint::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = get(&txn, who, id).await?;
    let saved = apply(&txn, rules, case, actor, Some(who.account_id), &input).await?;
    txn.commit().await?;
    Ok(saved)
}

/// The heart of every case change, for people and timers alike. Runs inside the
/// caller's write transaction.
pub async fn apply(
    txn: &DatabaseTransaction,
    rules: &Rules,
    case: complaint::Model,
    actor: Actor,
    actor_id: Option<Uuid>,
    input: &ActionInput,
) -> Result<complaint::Model, ApiError> {
    let now = rules.now;
    let id = case.id;
    let from: CaseState = case.state.into();
    let action = input.action();
    let to = lifecycle::transition(from, action, actor).map_err(|r| {
        refused(
            &case,
            actor,
            actor_id,
            now,
            format!(
                "`{}` is not allowed in state `{}` for you",
                r.action, r.state
            ),
        )
    })?;
    if action == Action::Dispute && !dispute_window_open(&case, now) {
        return Err(refused(
            &case,
            actor,
            actor_id,
            now,
            "the window to dispute this resolution has closed".into(),
        ));
    }

    let mut next: complaint::ActiveModel = case.clone().into();
    let mut clock = rules.clock_for(to);
    match (input, to) {
        (_, CaseState::AwaitingResponse) => {
            if from == CaseState::InfoRequested
                && let (Some(due), Some(paused), Some((_, party))) =
                    (case.response_due_at, case.paused_at, clock)
            {
                // The institution's clock resumes with the working time it had left.
                let resumed =
                    rules
                        .calendar
                        .resume(rules.policy.response, due, paused, now, rules.tz);
                clock = Some((resumed, party));
                next.paused_at = Set(None);
            }
            next.response_due_at = Set(clock.map(|(d, _)| d.due_at));
            if case.first_response_at.is_none() {
                next.published_at = Set(clock.map(|(d, _)| d.due_at));
            }
        }
        (_, CaseState::InfoRequested) => {
            next.paused_at = Set(Some(now));
            if case.first_response_at.is_none() {
                // A paused deadline cannot pass; publication waits for the resumed one.
                next.published_at = Set(None);
            }
        }
        (ActionInput::Respond(answer), CaseState::Responded) => {
            if case.first_response_at.is_none() {
                next.first_response_at = Set(Some(now));
                next.timely = Set(Some(case.response_due_at.is_none_or(|d| now <= d)));
                next.first_response_working_days =
                    Set(Some(institution_working_days(rules, &case)));
                next.published_at = Set(Some(now));
            }
            next.response_remedy = Set(Some(answer.remedy));
        }
        (_, CaseState::Resolved) => {
            next.outcome = Set(Some(outcome_of_response(case.response_remedy)));
            next.closed_at = Set(Some(now));
        }
        (_, CaseState::AwaitingMediation) => {
            if action == Action::Timeout && case.first_response_at.is_none() {
                // The institution missed its deadline: it counts against it.
                next.timely = Set(Some(false));
                next.published_at = Set(Some(now));
                sla::record_breach(txn, &case, now).await?;
            }
            let inst = institution::Entity::find_by_id(case.institution_id)
                .one(txn)
                .await?
                .ok_or(ApiError::NotFound)?;
            next.association_id = Set(associations::route(txn, &inst.region_code).await?);
            next.outcome = Set(None);
            next.closed_at = Set(None);
        }
        (ActionInput::Assign { mediator_id }, CaseState::InMediation) => {
            next.mediator_id = Set(Some(*mediator_id));
        }
        (ActionInput::AcceptOffer { kind, .. }, CaseState::Settled) => {
            next.outcome = Set(Some(match kind {
                SettlementKind::Monetary => Outcome::MonetaryRelief,
                SettlementKind::NonMonetary => Outcome::NonMonetaryRelief,
                SettlementKind::ExplanationOnly => Outcome::ExplanationOnly,
            }));
            next.closed_at = Set(Some(now));
        }
        (_, CaseState::Unresolved) => {
            next.outcome = Set(Some(Outcome::NoAgreement));
            next.closed_at = Set(Some(now));
        }
        (_, CaseState::Rejected) => {
            next.outcome = Set(Some(Outcome::Rejected));
            next.closed_at = Set(Some(now));
            if case.first_response_at.is_none() {
                // Out of scope: not published against an institution that never answered.
                next.published_at = Set(None);
            }
        }
        (_, CaseState::Withdrawn) => {
            next.outcome = Set(Some(Outcome::Withdrawn));
            next.closed_at = Set(Some(now));
        }
        _ => {}
    }
    // A new stage entry gets its own clock and timers; a change within the stage
    // (an offer, a declined offer) keeps both, so its deadline still acts.
    let stage_changed = to != from;
    if stage_changed {
        next.due_at = Set(clock.map(|(d, _)| d.due_at));
        next.clock = Set(clock.map(|(_, p)| p));
        next.stage_seq = Set(case.stage_seq + 1);
    }
    next.state = Set(to.into());
    next.version = Set(case.version + 1);
    next.updated_at = Set(now);

    let updated = complaint::Entity::update_many()
        .set(next)
        .filter(complaint::Column::Id.eq(id))
        .filter(complaint::Column::Version.eq(case.version))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(lost_race(txn, &case, actor, actor_id, now).await);
    }
    timeline::append(
        txn,
        timeline::NewEvent {
            complaint_id: id,
            actor_id,
            actor_role: actor.as_str(),
            action: action.as_str(),
            from_state: Some(from.as_str()),
            to_state: Some(to.as_str()),
            payload: input.payload(),
            at: now,
        },
    )
    .await?;
    let saved = complaint::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    if stage_changed {
        sla::schedule(txn, &saved, clock.map(|(d, _)| d), now).await?;
    }
    Ok(saved)
}

/// The institution's own working days to its first answer (now): the limit less the
/// working days its deadline still had, so intake review and paused time do not count.
/// Under a plain-duration limit, the working days since filing.
fn institution_working_days(rules: &Rules, case: &complaint::Model) -> i32 {
    let now = rules.now;
    let days = match (rules.policy.response, case.response_due_at) {
        (Limit::WorkingDays(limit), Some(due)) => {
            // The deadline's last day (it falls due at the following midnight).
            let last = due - chrono::Duration::nanoseconds(1);
            if now <= last {
                let left = rules.calendar.working_days_elapsed(now, last, rules.tz);
                limit.saturating_sub(left)
            } else {
                let over = rules.calendar.working_days_elapsed(last, now, rules.tz);
                limit.saturating_add(over)
            }
        }
        _ => rules
            .calendar
            .working_days_elapsed(case.created_at, now, rules.tz),
    };
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// A message between the parties: a timeline event that leaves the state alone.
pub async fn message(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    text: String,
) -> Result<entity::complaint_event::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = get(&txn, who, id).await?;
    policy::take_part(who, actor, &case)?;
    let state: CaseState = case.state.into();
    if state.is_terminal() {
        return Err(refused(
            &case,
            actor,
            Some(who.account_id),
            rules.now,
            "the case is closed; no more messages".into(),
        ));
    }
    let event = timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id: id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action: "message",
            from_state: None,
            to_state: None,
            payload: json!({ "text": text }),
            at: rules.now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(event)
}

/// The learner rates the handling once, after closure.
pub async fn rate(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    score: u8,
    comment: Option<String>,
) -> Result<complaint::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = get(&txn, who, id).await?;
    policy::rate(actor)?;
    let state: CaseState = case.state.into();
    if !state.is_terminal() {
        return Err(refused(
            &case,
            actor,
            Some(who.account_id),
            rules.now,
            "a case can be rated once it is closed".into(),
        ));
    }
    if case.rating.is_some() {
        return Err(refused(
            &case,
            actor,
            Some(who.account_id),
            rules.now,
            "this case is already rated".into(),
        ));
    }
    let mut next: complaint::ActiveModel = case.clone().into();
    next.rating = Set(Some(i16::from(score)));
    next.rating_comment = Set(comment.clone());
    next.rated_at = Set(Some(rules.now));
    next.updated_at = Set(rules.now);
    next.version = Set(case.version + 1);
    let updated = complaint::Entity::update_many()
        .set(next)
        .filter(complaint::Column::Id.eq(id))
        .filter(complaint::Column::Version.eq(case.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(lost_race(&txn, &case, actor, Some(who.account_id), rules.now).await);
    }
    timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id: id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action: "rate",
            from_state: None,
            to_state: None,
            payload: json!({ "score": score, "comment": comment }),
            at: rules.now,
        },
    )
    .await?;
    let saved = complaint::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    txn.commit().await?;
    Ok(saved)
}

#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub state: Option<complaint::CaseState>,
    pub category: Option<Category>,
    pub institution_id: Option<Uuid>,
    pub filed_from: Option<DateTime<Utc>>,
    pub filed_before: Option<DateTime<Utc>>,
    pub due_before: Option<DateTime<Utc>>,
}

/// The cases the caller may see, newest first.
/// What a list shows of a case: the columns it reads, not the whole row.
#[derive(Debug, Clone, DerivePartialModel)]
#[sea_orm(entity = "complaint::Entity")]
pub struct CaseSummary {
    pub id: Uuid,
    pub reference: String,
    pub state: complaint::CaseState,
    pub institution_id: Uuid,
    pub category: Category,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub clock: Option<ClockParty>,
    pub outcome: Option<Outcome>,
    pub created_at: DateTime<Utc>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    who: &Principal,
    f: ListFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<CaseSummary>, Option<String>), ApiError> {
    use entity::account::Role;
    let scope = match who.role {
        Role::Learner => Condition::all().add(complaint::Column::LearnerId.eq(who.account_id)),
        Role::InstitutionStaff => match who.institution_id {
            Some(inst) => Condition::all().add(complaint::Column::InstitutionId.eq(inst)),
            None => return Ok((vec![], None)),
        },
        Role::Mediator => match who.association_id {
            Some(assoc) => Condition::all().add(complaint::Column::AssociationId.eq(assoc)),
            None => return Ok((vec![], None)),
        },
        Role::Regulator | Role::Admin => Condition::all(),
    };
    let mut q = complaint::Entity::find().filter(scope);
    if let Some(s) = f.state {
        q = q.filter(complaint::Column::State.eq(s));
    }
    if let Some(c) = f.category {
        q = q.filter(complaint::Column::Category.eq(c));
    }
    if let Some(i) = f.institution_id {
        q = q.filter(complaint::Column::InstitutionId.eq(i));
    }
    if let Some(t) = f.filed_from {
        q = q.filter(complaint::Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.filed_before {
        q = q.filter(complaint::Column::CreatedAt.lt(t));
    }
    if let Some(t) = f.due_before {
        q = q.filter(complaint::Column::DueAt.lt(t));
    }
    if let Some(b) = before {
        q = q.filter(complaint::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(complaint::Column::Id)
        .limit(limit + 1)
        .into_partial_model::<CaseSummary>()
        .all(db)
        .await?;
    Ok(paging::finish(rows, limit, |r| r.id))
}

/// What recomputing a case's timeline found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The events stored.
    pub events: usize,
    /// How many events the case row records (its anchor).
    pub recorded: usize,
    /// The first broken event and why, if any.
    pub broken: Option<crate::domain::timeline::BrokenLink>,
}

/// Recomputes the hash chain of a case the caller may see, and checks it ends at the
/// head the case row records.
pub async fn verify(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<Verification, ApiError> {
    let (case, _) = get(db, who, id).await?;
    let events = timeline::list(db, id).await?;
    let anchor = timeline::Anchor::of(&case);
    Ok(Verification {
        events: events.len(),
        recorded: usize::try_from(anchor.len).unwrap_or(0),
        broken: timeline::verify(&events, &anchor).err(),
    })
}

/// Events of a case the caller may see.
pub async fn events(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<Vec<entity::complaint_event::Model>, ApiError> {
    get(db, who, id).await?;
    timeline::list(db, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_what_was_offered() {
        assert_eq!(
            outcome_of_response(Some(ResponseRemedy::Refund)),
            Outcome::MonetaryRelief
        );
        assert_eq!(
            outcome_of_response(Some(ResponseRemedy::CourseTransfer)),
            Outcome::NonMonetaryRelief
        );
        assert_eq!(
            outcome_of_response(Some(ResponseRemedy::ClassHourCredit)),
            Outcome::NonMonetaryRelief
        );
        assert_eq!(
            outcome_of_response(Some(ResponseRemedy::Explanation)),
            Outcome::ExplanationOnly
        );
        assert_eq!(outcome_of_response(None), Outcome::ExplanationOnly);
    }

    #[test]
    fn entity_and_domain_states_round_trip() {
        for s in CaseState::ALL {
            let e: complaint::CaseState = s.into();
            assert_eq!(CaseState::from(e), s);
        }
    }
}
