//! Open data: the public case list, the redaction of narratives before publication,
//! institutions' public responses, and the publication preview for mediators and
//! regulators.
//!
//! A case is public from its `published_at` on: its first answer, or its response
//! deadline. Its narrative is published only where the learner consented, and only
//! redacted: automatically (`domain::redaction`, with the names of the case's parties),
//! or as a mediator or regulator amended it (that text is redacted again, too).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    account,
    complaint::{self, Category, Outcome, PublicResponseKind},
    complaint_event, institution,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;
use uuid::Uuid;

use super::{complaints, paging, timeline};
use crate::{
    auth::{Principal, policy},
    db,
    domain::redaction::{self, Redacted},
    error::ApiError,
};

/// Longest public response text, in characters.
pub const RESPONSE_MAX: usize = 500;

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub institution_id: Option<Uuid>,
    /// A 6-digit code; `XX0000` means the province, `XXXX00` the city.
    pub region: Option<String>,
    pub category: Option<Category>,
    pub state: Option<complaint::CaseState>,
    pub outcome: Option<Outcome>,
    pub received_from: Option<DateTime<Utc>>,
    pub received_before: Option<DateTime<Utc>>,
}

/// One case as published.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicCase {
    pub id: Uuid,
    pub reference: String,
    pub received_at: DateTime<Utc>,
    pub category: Category,
    pub institution_id: Uuid,
    pub institution_name: String,
    pub region_code: String,
    pub state: complaint::CaseState,
    pub outcome: Option<Outcome>,
    pub timely: Option<bool>,
    pub days_to_first_answer: Option<i32>,
    /// Redacted, and only where the learner consented.
    pub narrative: Option<String>,
    pub public_response_kind: Option<PublicResponseKind>,
    pub public_response_text: Option<String>,
}

fn region_prefix(code: &str) -> &str {
    if code == crate::domain::region::NATIONAL {
        ""
    } else if let Some(p) = code.strip_suffix("0000") {
        p
    } else if let Some(p) = code.strip_suffix("00") {
        p
    } else {
        code
    }
}

/// One page of published cases, newest first. `limit + 1` rows are read to know
/// whether another page exists.
pub async fn page(
    db: &impl ConnectionTrait,
    f: &Filter,
    before: Option<Uuid>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<(Vec<PublicCase>, Option<String>), ApiError> {
    let mut cond = Condition::all()
        .add(complaint::Column::PublishedAt.is_not_null())
        .add(complaint::Column::PublishedAt.lte(now));
    if let Some(i) = f.institution_id {
        cond = cond.add(complaint::Column::InstitutionId.eq(i));
    }
    if let Some(r) = &f.region {
        let pattern = format!("{}%", region_prefix(r));
        let mut sub = Query::select();
        sub.column(institution::Column::Id)
            .from(institution::Entity)
            .and_where(Expr::col(institution::Column::RegionCode).like(pattern));
        cond = cond.add(complaint::Column::InstitutionId.in_subquery(sub));
    }
    if let Some(c) = f.category {
        cond = cond.add(complaint::Column::Category.eq(c));
    }
    if let Some(s) = f.state {
        cond = cond.add(complaint::Column::State.eq(s));
    }
    if let Some(o) = f.outcome {
        cond = cond.add(complaint::Column::Outcome.eq(o));
    }
    if let Some(t) = f.received_from {
        cond = cond.add(complaint::Column::CreatedAt.gte(t));
    }
    if let Some(t) = f.received_before {
        cond = cond.add(complaint::Column::CreatedAt.lt(t));
    }
    if let Some(b) = before {
        cond = cond.add(complaint::Column::Id.lt(b));
    }
    let rows = complaint::Entity::find()
        .filter(cond)
        .order_by_desc(complaint::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let (rows, next) = paging::finish(rows, limit, |r| r.id);
    Ok((publish(db, rows, None).await?, next))
}

/// Turns case rows into their public form (institutions and party names read in two
/// queries for the whole batch).
async fn publish(
    db: &impl ConnectionTrait,
    rows: Vec<complaint::Model>,
    known: Option<&institution::Model>,
) -> Result<Vec<PublicCase>, ApiError> {
    let mut institutions: HashMap<Uuid, institution::Model> =
        known.map(|i| (i.id, i.clone())).into_iter().collect();
    let mut missing: Vec<Uuid> = rows
        .iter()
        .map(|r| r.institution_id)
        .filter(|id| !institutions.contains_key(id))
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        institutions.extend(
            institution::Entity::find()
                .filter(institution::Column::Id.is_in(missing))
                .all(db)
                .await?
                .into_iter()
                .map(|i| (i.id, i)),
        );
    }
    let consenting: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.consent_to_publish && r.publication_text.is_none())
        .map(|r| r.id)
        .collect();
    let names = party_names(db, &consenting).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let inst = institutions.get(&r.institution_id);
            let narrative = r.consent_to_publish.then(|| match &r.publication_text {
                Some(amended) => amended.clone(),
                None => {
                    let mut n: Vec<&str> = names
                        .get(&r.id)
                        .map(|v| v.iter().map(String::as_str).collect())
                        .unwrap_or_default();
                    if let Some(i) = r.minor_initials.as_deref() {
                        n.push(i);
                    }
                    redaction::redact(&r.narrative, &n).text
                }
            });
            PublicCase {
                id: r.id,
                reference: r.reference,
                received_at: r.created_at,
                category: r.category,
                institution_id: r.institution_id,
                institution_name: inst.map(|i| i.name.clone()).unwrap_or_default(),
                region_code: inst.map(|i| i.region_code.clone()).unwrap_or_default(),
                state: r.state,
                outcome: r.outcome,
                timely: r.timely,
                days_to_first_answer: r.first_response_at.and(r.first_response_working_days),
                narrative,
                public_response_kind: r.public_response_kind,
                public_response_text: r.public_response_text,
            }
        })
        .collect())
}

/// The names of the people recorded on each case: everyone who acted on it (learner,
/// staff, mediators), by their display names.
pub async fn party_names(
    db: &impl ConnectionTrait,
    case_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    if case_ids.is_empty() {
        return Ok(out);
    }
    let pairs: Vec<(Uuid, Uuid)> = complaint_event::Entity::find()
        .select_only()
        .column(complaint_event::Column::ComplaintId)
        .column(complaint_event::Column::ActorId)
        .filter(complaint_event::Column::ComplaintId.is_in(case_ids.to_vec()))
        .filter(complaint_event::Column::ActorId.is_not_null())
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let mut account_ids: Vec<Uuid> = pairs.iter().map(|(_, a)| *a).collect();
    account_ids.sort();
    account_ids.dedup();
    let accounts: HashMap<Uuid, String> = account::Entity::find()
        .filter(account::Column::Id.is_in(account_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    for (case, acct) in pairs {
        if let Some(name) = accounts.get(&acct) {
            out.entry(case).or_default().push(name.clone());
        }
    }
    Ok(out)
}

/// The names to redact from one case's narrative.
async fn names_for(
    db: &impl ConnectionTrait,
    case: &complaint::Model,
) -> Result<Vec<String>, ApiError> {
    let mut names = party_names(db, &[case.id])
        .await?
        .remove(&case.id)
        .unwrap_or_default();
    if let Some(i) = &case.minor_initials {
        names.push(i.clone());
    }
    Ok(names)
}

fn redact_with(text: &str, names: &[String]) -> Redacted {
    let n: Vec<&str> = names.iter().map(String::as_str).collect();
    redaction::redact(text, &n)
}

/// What would be published of a case's narrative, for a mediator or regulator.
pub struct Preview {
    pub case: complaint::Model,
    pub automatic: Redacted,
    /// The text that is (or will be) published: the amended text if any.
    pub to_publish: Option<String>,
}

pub async fn preview(
    db: &impl ConnectionTrait,
    who: &Principal,
    id: Uuid,
) -> Result<Preview, ApiError> {
    let (case, actor) = complaints::get(db, who, id).await?;
    policy::review_publication(actor)?;
    let names = names_for(db, &case).await?;
    let automatic = redact_with(&case.narrative, &names);
    let to_publish = case.consent_to_publish.then(|| {
        case.publication_text
            .clone()
            .unwrap_or(automatic.text.clone())
    });
    Ok(Preview {
        case,
        automatic,
        to_publish,
    })
}

/// A mediator or regulator replaces the published narrative with an amended
/// redaction (itself redacted again, so an amendment can only remove); `None` goes
/// back to the automatic one.
pub async fn amend(
    db: &DatabaseConnection,
    who: &Principal,
    id: Uuid,
    text: Option<String>,
    now: DateTime<Utc>,
) -> Result<Preview, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    policy::amend_publication(who, actor, &case)?;
    let names = names_for(&txn, &case).await?;
    let stored = text.map(|t| redact_with(&t, &names).text);
    let mut next: complaint::ActiveModel = case.clone().into();
    next.publication_text = Set(stored.clone());
    next.publication_amended_by = Set(Some(who.account_id));
    next.publication_amended_at = Set(Some(now));
    next.updated_at = Set(now);
    complaint::Entity::update(next).exec(&txn).await?;
    timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id: id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action: "publication_amended",
            from_state: None,
            to_state: None,
            payload: json!({ "amended": stored.is_some() }),
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    preview(db, who, id).await
}

/// The institution's staff set (or replace) its public response to a case.
pub async fn set_public_response(
    db: &DatabaseConnection,
    who: &Principal,
    id: Uuid,
    kind: PublicResponseKind,
    text: String,
    now: DateTime<Utc>,
) -> Result<complaint::Model, ApiError> {
    let txn = db::begin_write(db).await?;
    let (case, actor) = complaints::get(&txn, who, id).await?;
    policy::respond_publicly(actor)?;
    let mut next: complaint::ActiveModel = case.into();
    next.public_response_kind = Set(Some(kind));
    next.public_response_text = Set(Some(text.clone()));
    next.public_response_at = Set(Some(now));
    next.updated_at = Set(now);
    let saved = complaint::Entity::update(next).exec(&txn).await?;
    timeline::append(
        &txn,
        timeline::NewEvent {
            complaint_id: id,
            actor_id: Some(who.account_id),
            actor_role: actor.as_str(),
            action: "public_response",
            from_state: None,
            to_state: None,
            payload: json!({ "kind": kind_name(kind), "text": text }),
            at: now,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

pub fn kind_name(k: PublicResponseKind) -> &'static str {
    match k {
        PublicResponseKind::DisputesTheFacts => "disputes_the_facts",
        PublicResponseKind::ResolvedWithTheLearner => "resolved_with_the_learner",
        PublicResponseKind::ActedOnTheFeedback => "acted_on_the_feedback",
        PublicResponseKind::UnderReview => "under_review",
        PublicResponseKind::Other => "other",
    }
}

/// The most recently published cases of one institution (for its disclosure page).
pub async fn recent(
    db: &impl ConnectionTrait,
    inst: &institution::Model,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<Vec<PublicCase>, ApiError> {
    let rows = complaint::Entity::find()
        .filter(complaint::Column::InstitutionId.eq(inst.id))
        .filter(complaint::Column::PublishedAt.lte(now))
        .order_by_desc(complaint::Column::PublishedAt)
        .order_by_desc(complaint::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    publish(db, rows, Some(inst)).await
}

/// Cases published up to now, counted (for tests and the demo summary).
pub async fn count(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, ApiError> {
    use sea_orm::PaginatorTrait;
    Ok(complaint::Entity::find()
        .filter(complaint::Column::PublishedAt.lte(now))
        .count(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_filters_widen_with_trailing_zeros() {
        assert_eq!(region_prefix("110108"), "110108");
        assert_eq!(region_prefix("110100"), "1101");
        assert_eq!(region_prefix("110000"), "11");
        assert_eq!(region_prefix("000000"), "");
    }
}
