//! The email outbox: mails to learners (and to anyone signing up), written in the
//! transaction of the change that causes them and sent after by the email worker
//! ([`sender::run_once`]), so a change never goes without its mail and a crash loses
//! none.
//!
//! # Enqueueing a mail from other code
//!
//! ```ignore
//! use redress::domain::email::{EmailKind, MailLanguage};
//! use redress::service::email::{self, Recipient};
//!
//! // Inside the transaction of the change that causes the mail:
//! let to = Recipient::of_account(&txn, account_id).await?;      // or Recipient::address(..)
//! email::enqueue(&txn, to, EmailKind::VerifyEmail,
//!                json!({ "verify_path": format!("/verify-email?token={token}") }), now).await?;
//! ```
//!
//! `vars` is a JSON object holding at least [`EmailKind::required_vars`]; paths are
//! relative (`/cases/…`), the sender puts `REDRESS_PUBLIC_URL` (`public_url`) in front.
//! The mail is rendered when it is sent, from the templates of `kind` in the
//! recipient's language (`templates/{kind}.{lang}.hbs`). Never put the narrative,
//! messages or passwords in `vars`.
//!
//! Case mails are enqueued here, not by callers: every timeline append calls
//! [`on_case_event`], and a filing batch calls [`on_filed`] with one multi-row insert.
pub mod render;
pub mod sender;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    account, complaint, complaint_event,
    email_outbox::{self, MailState},
    institution,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    db,
    domain::{
        email::{EmailKind, MailLanguage, learner_mail_for},
        mediation::Side,
        webhook_event::EventType,
    },
    error::ApiError,
};

/// Who a mail goes to. `Debug` does not show the address.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The account the mail is for, when there is one.
    pub account_id: Option<Uuid>,
    pub address: String,
    pub language: MailLanguage,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient")
            .field("account_id", &self.account_id)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl Recipient {
    /// An address without an account (or before one exists).
    pub fn address(address: impl Into<String>, language: MailLanguage) -> Self {
        Self {
            account_id: None,
            address: address.into(),
            language,
        }
    }

    /// An account's address, in the account's language (zh-CN when unset).
    pub async fn of_account(db: &impl ConnectionTrait, account_id: Uuid) -> Result<Self, ApiError> {
        let (address, language): (String, Option<String>) = account::Entity::find_by_id(account_id)
            .select_only()
            .column(account::Column::Email)
            .column(account::Column::Language)
            .into_tuple()
            .one(db)
            .await?
            .ok_or(ApiError::NotFound)?;
        Ok(Self {
            account_id: Some(account_id),
            address,
            language: MailLanguage::from_tag(language.as_deref()),
        })
    }
}

/// Queues one mail, in the caller's transaction: it is sent once that commits (and
/// never if it rolls back). `vars` must be a JSON object with the kind's
/// [`EmailKind::required_vars`]; a `case_id` in it also files the mail under that case.
/// Returns the mail's id.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    to: Recipient,
    kind: EmailKind,
    vars: Value,
    now: DateTime<Utc>,
) -> Result<Uuid, ApiError> {
    let row = outbox_row(to, kind, vars, now)?;
    let id = *row.id.as_ref();
    email_outbox::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(id)
}

/// The outbox row of one mail, checked, not yet written.
pub fn outbox_row(
    to: Recipient,
    kind: EmailKind,
    vars: Value,
    now: DateTime<Utc>,
) -> Result<email_outbox::ActiveModel, ApiError> {
    let Value::Object(map) = &vars else {
        return Err(ApiError::Unexpected(anyhow::anyhow!(
            "mail values must be a JSON object"
        )));
    };
    if let Some(missing) = kind.required_vars().iter().find(|k| !map.contains_key(**k)) {
        return Err(ApiError::Unexpected(anyhow::anyhow!(
            "a {kind} mail needs the value {missing:?}"
        )));
    }
    let complaint_id = map
        .get("case_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    Ok(email_outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(to.account_id),
        to_address: Set(to.address),
        language: Set(to.language.tag().to_owned()),
        kind: Set(kind.as_str().to_owned()),
        complaint_id: Set(complaint_id),
        vars: Set(vars.to_string()),
        state: Set(MailState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        lease_until: Set(None),
        claim_token: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        created_at: Set(now),
    })
}

/// The values of a case mail: never the narrative, only what identifies the case.
fn case_vars(case_id: Uuid, reference: &str, institution: &str, state: &str) -> Value {
    json!({
        "case_id": case_id,
        "reference": reference,
        "institution": institution,
        "state": state,
    })
}

/// The learner's mail for a timeline event, if the event is one they hear of
/// ([`learner_mail_for`]). Called by every timeline append, in its transaction; events
/// that send nothing cost nothing more.
pub async fn on_case_event(
    db: &impl ConnectionTrait,
    event: &complaint_event::Model,
) -> Result<(), ApiError> {
    let event_type = EventType::of_timeline(
        &event.action,
        event.from_state.as_deref(),
        event.to_state.as_deref(),
    );
    let offer_side = (event_type == EventType::ComplaintOfferMade)
        .then(|| serde_json::from_str::<Value>(&event.payload).ok())
        .flatten()
        .and_then(|p| p.get("side").and_then(Value::as_str).and_then(Side::parse));
    let Some(kind) = learner_mail_for(event_type, offer_side) else {
        return Ok(());
    };
    // The case, its learner and its institution, in one read.
    let (c, a, i) = (complaint::Entity, account::Entity, institution::Entity);
    let q = Query::select()
        .column((c, complaint::Column::Reference))
        .column((c, complaint::Column::LearnerId))
        .column((a, account::Column::Email))
        .column((a, account::Column::Language))
        .column((i, institution::Column::Name))
        .from(c)
        .inner_join(
            a,
            Expr::col((a, account::Column::Id)).equals((c, complaint::Column::LearnerId)),
        )
        .inner_join(
            i,
            Expr::col((i, institution::Column::Id)).equals((c, complaint::Column::InstitutionId)),
        )
        .and_where(Expr::col((c, complaint::Column::Id)).eq(event.complaint_id))
        .to_owned();
    let row = db
        .query_one(&q)
        .await?
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("event of a missing case")))?;
    let reference: String = row.try_get("", "reference")?;
    let learner: Uuid = row.try_get("", "learner_id")?;
    let address: String = row.try_get("", "email")?;
    let language: Option<String> = row.try_get("", "language")?;
    let name: String = row.try_get("", "name")?;
    let to = Recipient {
        account_id: Some(learner),
        address,
        language: MailLanguage::from_tag(language.as_deref()),
    };
    let state = event.to_state.as_deref().unwrap_or_default();
    enqueue(
        db,
        to,
        kind,
        case_vars(event.complaint_id, &reference, &name, state),
        event.created_at,
    )
    .await?;
    Ok(())
}

/// The "filed" mails of a batch of new cases, with one read of the learners and one
/// multi-row insert. `institution` names each case's institution.
pub async fn on_filed<'a>(
    db: &impl ConnectionTrait,
    filed: impl IntoIterator<Item = (&'a complaint::Model, &'a str)>,
) -> Result<(), ApiError> {
    let filed: Vec<_> = filed.into_iter().collect();
    if filed.is_empty() {
        return Ok(());
    }
    let mut learners: Vec<Uuid> = filed.iter().map(|(c, _)| c.learner_id).collect();
    learners.sort_unstable();
    learners.dedup();
    let mut found: HashMap<Uuid, (String, Option<String>)> = HashMap::new();
    for chunk in learners.chunks(500) {
        let rows: Vec<(Uuid, String, Option<String>)> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .column(account::Column::Email)
            .column(account::Column::Language)
            .filter(account::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|(id, e, l)| (id, (e, l))));
    }
    let mut rows = Vec::with_capacity(filed.len());
    for (case, institution) in filed {
        let Some((address, language)) = found.get(&case.learner_id) else {
            continue;
        };
        let to = Recipient {
            account_id: Some(case.learner_id),
            address: address.clone(),
            language: MailLanguage::from_tag(language.as_deref()),
        };
        let state = crate::domain::lifecycle::CaseState::from(case.state).as_str();
        rows.push(outbox_row(
            to,
            EmailKind::CaseFiled,
            case_vars(case.id, &case.reference, institution, state),
            case.created_at,
        )?);
    }
    db::insert_chunked(db, rows).await?;
    Ok(())
}
