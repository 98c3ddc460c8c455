//! Mediation rules: who offers for which side, who may answer an offer, when an offer
//! can still be accepted, and what a settlement's terms mean for the outcome.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lifecycle::Actor;

/// The two sides of a dispute. A mediator makes offers on behalf of one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Learner,
    Institution,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Learner => "learner",
            Self::Institution => "institution",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "learner" => Some(Self::Learner),
            "institution" => Some(Self::Institution),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Learner => Self::Institution,
            Self::Institution => Self::Learner,
        }
    }
}

/// One term of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Term {
    /// A refund in minor units of the case currency.
    Refund {
        amount_minor: i64,
    },
    ClassHourCredit {
        hours: u32,
    },
    CourseTransfer {
        course: String,
    },
    ExplanationOrApology {
        text: String,
    },
    Other {
        text: String,
    },
}

/// How a settlement counts in the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementKind {
    Monetary,
    NonMonetary,
    ExplanationOnly,
}

/// Any refund makes it monetary; credits or transfers non-monetary; else explanation.
pub fn settlement_kind(terms: &[Term]) -> SettlementKind {
    if terms.iter().any(|t| matches!(t, Term::Refund { .. })) {
        SettlementKind::Monetary
    } else if terms.iter().any(|t| {
        matches!(
            t,
            Term::ClassHourCredit { .. } | Term::CourseTransfer { .. }
        )
    }) {
        SettlementKind::NonMonetary
    } else {
        SettlementKind::ExplanationOnly
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("a mediator must say on whose behalf the offer is made")]
    BehalfRequired,
    #[error("only a mediator makes offers on someone else's behalf")]
    BehalfNotAllowed,
    #[error("only the parties and the mediator make offers")]
    NotAParty,
    #[error("an offer needs at least one term")]
    NoTerms,
    #[error("a refund must be a positive amount")]
    BadRefund,
    #[error("credited class hours must be positive")]
    BadHours,
    #[error("text terms must not be empty")]
    EmptyText,
    #[error("the expiry must be in the future")]
    ExpiryPast,
}

/// The side an offer is made for.
pub fn offering_side(actor: Actor, on_behalf_of: Option<Side>) -> Result<Side, OfferError> {
    match (actor, on_behalf_of) {
        (Actor::Learner, None) => Ok(Side::Learner),
        (Actor::InstitutionStaff, None) => Ok(Side::Institution),
        (Actor::Mediator, Some(side)) => Ok(side),
        (Actor::Mediator, None) => Err(OfferError::BehalfRequired),
        (Actor::Learner | Actor::InstitutionStaff, Some(_)) => Err(OfferError::BehalfNotAllowed),
        _ => Err(OfferError::NotAParty),
    }
}

pub fn check_terms(
    terms: &[Term],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), OfferError> {
    if terms.is_empty() {
        return Err(OfferError::NoTerms);
    }
    for t in terms {
        match t {
            Term::Refund { amount_minor } if *amount_minor <= 0 => {
                return Err(OfferError::BadRefund);
            }
            Term::ClassHourCredit { hours: 0 } => return Err(OfferError::BadHours),
            Term::CourseTransfer { course: s }
            | Term::ExplanationOrApology { text: s }
            | Term::Other { text: s }
                if s.trim().is_empty() =>
            {
                return Err(OfferError::EmptyText);
            }
            _ => {}
        }
    }
    if expires_at <= now {
        return Err(OfferError::ExpiryPast);
    }
    Ok(())
}

/// The side whose member may answer a given actor, if any.
pub fn side_of(actor: Actor) -> Option<Side> {
    match actor {
        Actor::Learner => Some(Side::Learner),
        Actor::InstitutionStaff => Some(Side::Institution),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferStatus {
    Open,
    Accepted,
    Declined,
    Superseded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("only the other side may answer this offer")]
    WrongSide,
    #[error("this offer is no longer open (it was {0})")]
    NotOpen(&'static str),
    #[error("this offer expired at {0}")]
    Expired(DateTime<Utc>),
}

/// Whether `actor` may accept or decline an offer made for `offer_side` now.
pub fn check_answer(
    actor: Actor,
    offer_side: Side,
    status: OfferStatus,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AnswerError> {
    if side_of(actor) != Some(offer_side.other()) {
        return Err(AnswerError::WrongSide);
    }
    match status {
        OfferStatus::Open => {}
        OfferStatus::Accepted => return Err(AnswerError::NotOpen("accepted")),
        OfferStatus::Declined => return Err(AnswerError::NotOpen("declined")),
        OfferStatus::Superseded => return Err(AnswerError::NotOpen("superseded")),
    }
    if expires_at <= now {
        return Err(AnswerError::Expired(expires_at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
    }

    #[test]
    fn kinds_follow_the_terms() {
        let refund = Term::Refund { amount_minor: 100 };
        let credit = Term::ClassHourCredit { hours: 4 };
        let sorry = Term::ExplanationOrApology {
            text: "Sorry".into(),
        };
        assert_eq!(
            settlement_kind(&[sorry.clone(), refund]),
            SettlementKind::Monetary
        );
        assert_eq!(
            settlement_kind(&[credit, sorry.clone()]),
            SettlementKind::NonMonetary
        );
        assert_eq!(settlement_kind(&[sorry]), SettlementKind::ExplanationOnly);
    }

    #[test]
    fn sides() {
        assert_eq!(offering_side(Actor::Learner, None), Ok(Side::Learner));
        assert_eq!(
            offering_side(Actor::InstitutionStaff, None),
            Ok(Side::Institution)
        );
        assert_eq!(
            offering_side(Actor::Mediator, Some(Side::Learner)),
            Ok(Side::Learner)
        );
        assert_eq!(
            offering_side(Actor::Mediator, None),
            Err(OfferError::BehalfRequired)
        );
        assert_eq!(
            offering_side(Actor::Learner, Some(Side::Institution)),
            Err(OfferError::BehalfNotAllowed)
        );
        assert_eq!(
            offering_side(Actor::Regulator, None),
            Err(OfferError::NotAParty)
        );
    }

    #[test]
    fn answers() {
        let later = now() + Duration::days(3);
        let ok = |actor, side| check_answer(actor, side, OfferStatus::Open, later, now());
        assert_eq!(ok(Actor::Learner, Side::Institution), Ok(()));
        assert_eq!(ok(Actor::InstitutionStaff, Side::Learner), Ok(()));
        assert_eq!(
            ok(Actor::Learner, Side::Learner),
            Err(AnswerError::WrongSide)
        );
        assert_eq!(
            ok(Actor::Mediator, Side::Learner),
            Err(AnswerError::WrongSide)
        );
        assert_eq!(
            check_answer(
                Actor::Learner,
                Side::Institution,
                OfferStatus::Superseded,
                later,
                now()
            ),
            Err(AnswerError::NotOpen("superseded"))
        );
        assert_eq!(
            check_answer(
                Actor::Learner,
                Side::Institution,
                OfferStatus::Open,
                now(),
                now()
            ),
            Err(AnswerError::Expired(now()))
        );
    }

    #[test]
    fn terms_are_checked() {
        let later = now() + Duration::days(1);
        assert_eq!(check_terms(&[], later, now()), Err(OfferError::NoTerms));
        assert_eq!(
            check_terms(&[Term::Refund { amount_minor: 0 }], later, now()),
            Err(OfferError::BadRefund)
        );
        assert_eq!(
            check_terms(&[Term::Other { text: " ".into() }], later, now()),
            Err(OfferError::EmptyText)
        );
        assert_eq!(
            check_terms(&[Term::ClassHourCredit { hours: 2 }], now(), now()),
            Err(OfferError::ExpiryPast)
        );
        assert!(check_terms(&[Term::ClassHourCredit { hours: 2 }], later, now()).is_ok());
    }
}
