//! Mediation by consumer associations: claiming a case, the offers ledger, settlement
//! agreements and their fulfilment, closing without agreement, good-faith findings.
use chrono::{DateTime, Utc};
use entity::{
    account::{self, Role},
    complaint, good_faith,
    offer::{self, OfferStatus},
    settlement::{self, SettlementStatus},
    timer,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    complaints::{self, ActionInput, Rules},
    timeline,
};
use crate::{
    auth::{Principal, policy},
    db,
    domain::{
        lifecycle::{Actor, CaseState},
        mediation::{self, Side, Term},
    },
    error::ApiError,
};

fn domain_status(s: OfferStatus) -> mediation::OfferStatus {
    match s {
        OfferStatus::Open => mediation::OfferStatus::Open,
        OfferStatus::Accepted => mediation::OfferStatus::Accepted,
        OfferStatus::Declined => mediation::OfferStatus::Declined,
        OfferStatus::Superseded => mediation::OfferStatus::Superseded,
    }
}

/// A mediator claims the case; an admin gives it to a named mediator of the case's
/// association.
pub async fn assign(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    named: Option<Uuid>,
) -> Result<complaint::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    let mediator_id = match actor {
        Actor::Admin => {
            let named = named
                .ok_or_else(|| ApiError::field("mediator_id", "an admin must name the mediator"))?;
            let m = account::Entity::find_by_id(named).one(&txn).await?;
            match m {
                Some(m)
                    if m.role == Role::Mediator
                        && m.association_id.is_some()
                        && m.association_id == case.association_id =>
                {
                    m.id
                }
                _ => {
                    return Err(ApiError::field(
                        "mediator_id",
                        "must be a mediator of the association this case was routed to",
                    ));
                }
            }
        }
        _ => who.account_id,
    };
    let saved = complaints::apply(
        &txn,
        rules,
        case,
        actor,
        Some(who.account_id),
        &ActionInput::Assign { mediator_id },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub struct NewOffer {
    pub on_behalf_of: Option<Side>,
    pub terms: Vec<Term>,
    pub expires_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// Records an offer; it supersedes the open offers of the same side.
pub async fn offer(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    new: NewOffer,
) -> Result<offer::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    policy::hold_case(who, actor, &case)?;
    let side = mediation::offering_side(actor, new.on_behalf_of);
    // Refusals of the lifecycle (wrong state, wrong role) come first and say what is allowed.
    let side = match side {
        Ok(s) => s,
        Err(mediation::OfferError::NotAParty) => Side::Learner,
        Err(e) => return Err(ApiError::field("on_behalf_of", e.to_string())),
    };
    mediation::check_terms(&new.terms, new.expires_at, rules.now)
        .map_err(|e| ApiError::field("terms", e.to_string()))?;
    let offer_id = Uuid::now_v7();
    let terms = serde_json::to_value(&new.terms).map_err(anyhow::Error::from)?;
    complaints::apply(
        &txn,
        rules,
        case,
        actor,
        Some(who.account_id),
        &ActionInput::Offer {
            offer_id,
            side,
            terms: terms.clone(),
            expires_at: new.expires_at,
        },
    )
    .await?;
    offer::Entity::update_many()
        .col_expr(offer::Column::Status, Expr::value(OfferStatus::Superseded))
        .filter(offer::Column::ComplaintId.eq(id))
        .filter(offer::Column::Side.eq(side.as_str()))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .exec(&txn)
        .await?;
    let row = offer::Entity::insert(offer::ActiveModel {
        id: Set(offer_id),
        complaint_id: Set(id),
        side: Set(side.as_str().to_owned()),
        made_by: Set(who.account_id),
        made_by_role: Set(actor.as_str().to_owned()),
        terms: Set(terms.to_string()),
        note: Set(new.note),
        expires_at: Set(new.expires_at),
        status: Set(OfferStatus::Open),
        answered_by: Set(None),
        answered_at: Set(None),
        answer_reason: Set(None),
        created_at: Set(rules.now),
    })
    .exec_with_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

async fn answerable(
    txn: &DatabaseTransaction,
    case: &complaint::Model,
    actor: Actor,
    who: &Principal,
    offer_id: Uuid,
    now: DateTime<Utc>,
) -> Result<offer::Model, ApiError> {
    let o = offer::Entity::find_by_id(offer_id)
        .filter(offer::Column::ComplaintId.eq(case.id))
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::field("offer_id", "no such offer on this case"))?;
    let side = Side::parse(&o.side)
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("offer with unknown side")))?;
    if CaseState::from(case.state) == CaseState::InMediation {
        // Refused like any case action: with the state and what this caller may do.
        mediation::check_answer(actor, side, domain_status(o.status), o.expires_at, now).map_err(
            |e| complaints::refused(case, actor, Some(who.account_id), now, e.to_string()),
        )?;
    }
    Ok(o)
}

/// The other side accepts an open, unexpired offer: the case is settled and the
/// agreement recorded, with a due date for the institution to carry it out.
pub async fn accept_offer(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    offer_id: Uuid,
) -> Result<(complaint::Model, settlement::Model), ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    let o = answerable(&txn, &case, actor, who, offer_id, rules.now).await?;
    let terms: Vec<Term> = serde_json::from_str(&o.terms).map_err(anyhow::Error::from)?;
    let mediator_id = case.mediator_id;
    let saved = complaints::apply(
        &txn,
        rules,
        case,
        actor,
        Some(who.account_id),
        &ActionInput::AcceptOffer {
            offer_id,
            kind: mediation::settlement_kind(&terms),
        },
    )
    .await?;
    answer(&txn, &o, OfferStatus::Accepted, who, None, rules.now).await?;
    let agreement = settlement::Entity::insert(settlement::ActiveModel {
        id: Set(Uuid::now_v7()),
        complaint_id: Set(id),
        offer_id: Set(offer_id),
        terms: Set(o.terms.clone()),
        mediator_id: Set(mediator_id),
        agreed_at: Set(rules.now),
        due_at: Set(saved.due_at.unwrap_or(rules.now)),
        status: Set(SettlementStatus::Pending),
        fulfilled_at: Set(None),
        confirmed_at: Set(None),
        reported_at: Set(None),
        report_note: Set(None),
    })
    .exec_with_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok((saved, agreement))
}

pub async fn decline_offer(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    offer_id: Uuid,
    reason: String,
) -> Result<complaint::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    let o = answerable(&txn, &case, actor, who, offer_id, rules.now).await?;
    let saved = complaints::apply(
        &txn,
        rules,
        case,
        actor,
        Some(who.account_id),
        &ActionInput::DeclineOffer {
            offer_id,
            reason: reason.clone(),
        },
    )
    .await?;
    answer(
        &txn,
        &o,
        OfferStatus::Declined,
        who,
        Some(reason),
        rules.now,
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

async fn answer(
    txn: &DatabaseTransaction,
    o: &offer::Model,
    status: OfferStatus,
    who: &Principal,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut row: offer::ActiveModel = o.clone().into();
    row.status = Set(status);
    row.answered_by = Set(Some(who.account_id));
    row.answered_at = Set(Some(now));
    row.answer_reason = Set(reason);
    offer::Entity::update(row).exec(txn).await?;
    Ok(())
}

/// Where a case goes when mediation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Referral {
    Arbitration,
    Court,
    Regulator,
}

impl Referral {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Arbitration => "arbitration",
            Self::Court => "court",
            Self::Regulator => "regulator",
        }
    }
}

pub async fn close_unresolved(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    referral: Referral,
    note: String,
) -> Result<complaint::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    policy::hold_case(who, actor, &case)?;
    let saved = complaints::apply(
        &txn,
        rules,
        case,
        actor,
        Some(who.account_id),
        &ActionInput::CloseUnresolved {
            referral: referral.as_str().to_owned(),
            note,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub async fn offers(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<Vec<offer::Model>, ApiError> {
    complaints::get(db, who, id).await?;
    Ok(offer::Entity::find()
        .filter(offer::Column::ComplaintId.eq(id))
        .order_by_asc(offer::Column::Id)
        .all(db)
        .await?)
}

pub async fn settlement_of(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<settlement::Model, ApiError> {
    complaints::get(db, who, id).await?;
    settlement::Entity::find()
        .filter(settlement::Column::ComplaintId.eq(id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound)
}

/// What a party says about the settlement's execution.
#[derive(Debug, Clone)]
pub enum SettlementReport {
    /// Institution: carried out.
    Fulfilled,
    /// Learner: confirmed carried out.
    Confirmed,
    /// Learner: not carried out, with what happened.
    Unfulfilled { note: String },
}

pub async fn report_settlement(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    report: SettlementReport,
) -> Result<settlement::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    let current = settlement::Entity::find()
        .filter(settlement::Column::ComplaintId.eq(id))
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound)?;
    use SettlementStatus::*;
    let (status, action) = match (&report, current.status) {
        (SettlementReport::Fulfilled, Pending | Overdue | Unfulfilled) => {
            policy::fulfil_settlement(actor)?;
            (Fulfilled, "settlement_fulfilled")
        }
        (SettlementReport::Confirmed, Pending | Fulfilled | Overdue | Unfulfilled) => {
            policy::confirm_settlement(actor)?;
            (Confirmed, "settlement_confirmed")
        }
        (SettlementReport::Unfulfilled { .. }, Pending | Fulfilled | Overdue) => {
            policy::confirm_settlement(actor)?;
            (Unfulfilled, super::stats::SETTLEMENT_UNFULFILLED)
        }
        _ => {
            return Err(ApiError::conflict(format!(
                "the settlement is already {}",
                status_name(current.status)
            )));
        }
    };
    // Decided on the status read above, so written only if it is still that status:
    // of two reports at once, the second finds the row changed and is refused like
    // one that came after (PostgreSQL re-checks the condition once the first commits).
    let mut change = settlement::Entity::update_many()
        .col_expr(settlement::Column::Status, Expr::value(status))
        .filter(settlement::Column::Id.eq(current.id))
        .filter(settlement::Column::Status.eq(current.status));
    change = match &report {
        SettlementReport::Fulfilled => {
            change.col_expr(settlement::Column::FulfilledAt, Expr::value(rules.now))
        }
        SettlementReport::Confirmed => {
            change.col_expr(settlement::Column::ConfirmedAt, Expr::value(rules.now))
        }
        SettlementReport::Unfulfilled { note } => change
            .col_expr(settlement::Column::ReportedAt, Expr::value(rules.now))
            .col_expr(settlement::Column::ReportNote, Expr::value(note.clone())),
    };
    let Some(saved) = change.exec_with_returning(&txn).await?.pop() else {
        let now = settlement::Entity::find_by_id(current.id)
            .one(&txn)
            .await?
            .ok_or(ApiError::NotFound)?;
        return Err(ApiError::conflict(format!(
            "the settlement is already {}",
            status_name(now.status)
        )));
    };
    if status != Unfulfilled {
        // Carried out: the fulfilment deadline no longer applies.
        timer::Entity::update_many()
            .col_expr(
                timer::Column::State,
                Expr::value(timer::TimerState::Cancelled),
            )
            .filter(timer::Column::ComplaintId.eq(id))
            .filter(timer::Column::State.eq(timer::TimerState::Pending))
            .exec(&txn)
            .await?;
    }
    let note = match &report {
        SettlementReport::Unfulfilled { note } => Some(note.clone()),
        _ => None,
    };
    timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id: case.id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action,
            from_state: None,
            to_state: None,
            payload: json!({ "settlement_id": saved.id, "note": note }),
            at: rules.now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub fn status_name(s: SettlementStatus) -> &'static str {
    match s {
        SettlementStatus::Pending => "pending",
        SettlementStatus::Fulfilled => "fulfilled",
        SettlementStatus::Confirmed => "confirmed",
        SettlementStatus::Unfulfilled => "unfulfilled",
        SettlementStatus::Overdue => "overdue",
    }
}

/// A settlement whose due date passed unfulfilled (the sweeper calls this).
pub async fn mark_overdue(txn: &DatabaseTransaction, case_id: Uuid) -> Result<bool, ApiError> {
    let r = settlement::Entity::update_many()
        .col_expr(
            settlement::Column::Status,
            Expr::value(SettlementStatus::Overdue),
        )
        .filter(settlement::Column::ComplaintId.eq(case_id))
        .filter(settlement::Column::Status.eq(SettlementStatus::Pending))
        .exec(txn)
        .await?;
    Ok(r.rows_affected == 1)
}

pub struct GoodFaith {
    pub learner_engaged: bool,
    pub learner_note: Option<String>,
    pub institution_engaged: bool,
    pub institution_note: Option<String>,
}

/// The mediator records, once, whether each party engaged in good faith.
pub async fn record_good_faith(
    db: &DatabaseConnection,
    rules: &Rules,
    who: &Principal,
    id: Uuid,
    gf: GoodFaith,
) -> Result<good_faith::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    policy::assess_good_faith(who, actor, &case)?;
    if !matches!(
        CaseState::from(case.state),
        CaseState::Settled | CaseState::Unresolved
    ) {
        return Err(ApiError::conflict(
            "good faith is assessed once mediation has ended (settled or unresolved)",
        ));
    }
    if good_faith::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            "good faith was already assessed for this case",
        ));
    }
    let row = good_faith::Entity::insert(good_faith::ActiveModel {
        complaint_id: Set(id),
        mediator_id: Set(who.account_id),
        learner_engaged: Set(gf.learner_engaged),
        learner_note: Set(gf.learner_note.clone()),
        institution_engaged: Set(gf.institution_engaged),
        institution_note: Set(gf.institution_note.clone()),
        created_at: Set(rules.now),
    })
    .exec_with_returning(&txn)
    .await?;
    timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id: id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action: "good_faith",
            from_state: None,
            to_state: None,
            payload: json!({
                "learner_engaged": gf.learner_engaged,
                "institution_engaged": gf.institution_engaged,
            }),
            at: rules.now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}
