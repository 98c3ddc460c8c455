//! Authorization rules in one place. Handlers ask these questions; they never compare
//! roles themselves. Object-level rules answer "not found" for objects the caller may
//! not see, so ids cannot be probed.
use entity::{
    account::Role,
    complaint,
    webhook_subscription::{self, Scope},
};
use uuid::Uuid;

use super::Principal;
use crate::domain::lifecycle::Actor;
use crate::error::ApiError;

fn forbidden(what: &str) -> ApiError {
    ApiError::Forbidden(format!("your role may not {what}"))
}

/// Creating staff, mediator, regulator and admin accounts; associations; calendars.
pub fn administer(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Admin => Ok(()),
        _ => Err(forbidden("administer the platform")),
    }
}

/// Creating and editing institutions in the registry.
pub fn keep_registry(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Regulator | Role::Admin => Ok(()),
        _ => Err(forbidden("edit the institution registry")),
    }
}

/// Editing an institution's mandatory disclosures: only its own staff. The institution
/// itself is public, so another institution's staff get 403, not 404.
pub fn edit_disclosure(p: &Principal, institution_id: Uuid) -> Result<(), ApiError> {
    match (p.role, p.institution_id) {
        (Role::InstitutionStaff, Some(own)) if own == institution_id => Ok(()),
        (Role::InstitutionStaff, _) => Err(ApiError::Forbidden(
            "you may only edit your own institution's disclosures".into(),
        )),
        _ => Err(forbidden("edit an institution's disclosures")),
    }
}

/// How the caller stands towards a case, or None when they may not see it (answered
/// as 404). Learners see their own cases, staff their institution's, mediators their
/// association's (a case gets an association only when it reaches mediation),
/// regulators and admins all.
pub fn case_actor(p: &Principal, case: &complaint::Model) -> Option<Actor> {
    match p.role {
        Role::Learner => (case.learner_id == p.account_id).then_some(Actor::Learner),
        Role::InstitutionStaff => {
            (Some(case.institution_id) == p.institution_id).then_some(Actor::InstitutionStaff)
        }
        Role::Mediator => (case.association_id.is_some()
            && case.association_id == p.association_id)
            .then_some(Actor::Mediator),
        Role::Regulator => Some(Actor::Regulator),
        Role::Admin => Some(Actor::Admin),
    }
}

/// Mediator work on a case in mediation is for the mediator who holds it.
pub fn hold_case(p: &Principal, actor: Actor, case: &complaint::Model) -> Result<(), ApiError> {
    match actor {
        Actor::Mediator if case.mediator_id != Some(p.account_id) => Err(ApiError::Forbidden(
            "only the mediator holding this case may do that".into(),
        )),
        _ => Ok(()),
    }
}

/// Recording good-faith findings: the mediator who held the case.
pub fn assess_good_faith(
    p: &Principal,
    actor: Actor,
    case: &complaint::Model,
) -> Result<(), ApiError> {
    match actor {
        Actor::Mediator if case.mediator_id == Some(p.account_id) => Ok(()),
        _ => Err(forbidden(
            "record good-faith findings; only the case's mediator may",
        )),
    }
}

/// Marking a settlement carried out: the institution's staff.
pub fn fulfil_settlement(actor: Actor) -> Result<(), ApiError> {
    match actor {
        Actor::InstitutionStaff => Ok(()),
        _ => Err(forbidden(
            "mark a settlement fulfilled; only the institution may",
        )),
    }
}

/// Confirming or reporting a settlement: the learner.
pub fn confirm_settlement(actor: Actor) -> Result<(), ApiError> {
    match actor {
        Actor::Learner => Ok(()),
        _ => Err(forbidden("confirm a settlement; only the learner may")),
    }
}

/// Filing a complaint: learners only.
pub fn file_complaint(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Learner => Ok(()),
        _ => Err(forbidden("file complaints (sign up as a learner)")),
    }
}

/// Writing messages and attachments: the parties (learner, institution, and the
/// mediator holding the case; the association's other mediators only read it).
pub fn take_part(p: &Principal, actor: Actor, case: &complaint::Model) -> Result<(), ApiError> {
    match actor {
        Actor::Learner | Actor::InstitutionStaff => Ok(()),
        Actor::Mediator => hold_case(p, actor, case),
        _ => Err(forbidden("write on a case you are not a party to")),
    }
}

/// Rating the handling: the learner who filed.
pub fn rate(actor: Actor) -> Result<(), ApiError> {
    match actor {
        Actor::Learner => Ok(()),
        _ => Err(forbidden("rate a case; only the learner who filed may")),
    }
}

/// Previewing and amending the redaction of a case's published narrative: the
/// mediator holding the case's association, or a regulator.
pub fn review_publication(actor: Actor) -> Result<(), ApiError> {
    match actor {
        Actor::Mediator | Actor::Regulator => Ok(()),
        _ => Err(forbidden(
            "review a publication; only mediators and regulators may",
        )),
    }
}

/// Amending the published redaction of a case's narrative: the mediator holding the
/// case, or a regulator. The association's other mediators may preview it only.
pub fn amend_publication(
    p: &Principal,
    actor: Actor,
    case: &complaint::Model,
) -> Result<(), ApiError> {
    review_publication(actor)?;
    hold_case(p, actor, case)
}

/// Writing the institution's public response to a case: that institution's staff.
pub fn respond_publicly(actor: Actor) -> Result<(), ApiError> {
    match actor {
        Actor::InstitutionStaff => Ok(()),
        _ => Err(forbidden(
            "write a public response; only the institution's staff may",
        )),
    }
}

/// Whose events a caller's webhook subscriptions carry, and so which subscriptions
/// are theirs to manage: staff share their institution's, mediators their
/// association's, regulators the platform-wide ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOwner {
    Institution(Uuid),
    Association(Uuid),
    Platform,
}

impl WebhookOwner {
    pub fn scope(self) -> Scope {
        match self {
            Self::Institution(_) => Scope::Institution,
            Self::Association(_) => Scope::Association,
            Self::Platform => Scope::Platform,
        }
    }

    pub fn institution_id(self) -> Option<Uuid> {
        match self {
            Self::Institution(id) => Some(id),
            _ => None,
        }
    }

    pub fn association_id(self) -> Option<Uuid> {
        match self {
            Self::Association(id) => Some(id),
            _ => None,
        }
    }

    /// Whether the subscription belongs to this owner. A subscription that does not
    /// is answered as not found.
    pub fn owns(self, sub: &webhook_subscription::Model) -> bool {
        sub.scope == self.scope()
            && sub.institution_id == self.institution_id()
            && sub.association_id == self.association_id()
    }
}

/// Subscribing to webhooks: institution staff, mediators and regulators. Learners and
/// admins may not (403).
pub fn webhook_owner(p: &Principal) -> Result<WebhookOwner, ApiError> {
    match (p.role, p.institution_id, p.association_id) {
        (Role::InstitutionStaff, Some(inst), _) => Ok(WebhookOwner::Institution(inst)),
        (Role::Mediator, _, Some(assoc)) => Ok(WebhookOwner::Association(assoc)),
        (Role::Regulator, _, _) => Ok(WebhookOwner::Platform),
        (Role::InstitutionStaff | Role::Mediator, _, _) => Err(ApiError::Forbidden(
            "your account is not bound to an institution or association".into(),
        )),
        (Role::Learner | Role::Admin, _, _) => Err(forbidden("subscribe to webhooks")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, inst: Option<Uuid>) -> Principal {
        Principal {
            account_id: Uuid::nil(),
            role,
            institution_id: inst,
            association_id: None,
        }
    }

    #[test]
    fn only_admins_administer() {
        for role in [
            Role::Learner,
            Role::InstitutionStaff,
            Role::Mediator,
            Role::Regulator,
        ] {
            assert!(administer(&who(role, None)).is_err());
        }
        assert!(administer(&who(Role::Admin, None)).is_ok());
    }

    #[test]
    fn registry_is_for_regulators_and_admins() {
        assert!(keep_registry(&who(Role::Regulator, None)).is_ok());
        assert!(keep_registry(&who(Role::Admin, None)).is_ok());
        assert!(keep_registry(&who(Role::Learner, None)).is_err());
        assert!(keep_registry(&who(Role::InstitutionStaff, Some(Uuid::nil()))).is_err());
    }

    #[test]
    fn disclosures_only_by_own_staff() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        assert!(edit_disclosure(&who(Role::InstitutionStaff, Some(a)), a).is_ok());
        assert!(edit_disclosure(&who(Role::InstitutionStaff, Some(b)), a).is_err());
        assert!(edit_disclosure(&who(Role::Regulator, None), a).is_err());
        assert!(edit_disclosure(&who(Role::Admin, None), a).is_err());
    }

    #[test]
    fn publication_review_and_public_responses() {
        assert!(review_publication(Actor::Mediator).is_ok());
        assert!(review_publication(Actor::Regulator).is_ok());
        for a in [Actor::Learner, Actor::InstitutionStaff, Actor::Admin] {
            assert!(review_publication(a).is_err());
        }
        assert!(respond_publicly(Actor::InstitutionStaff).is_ok());
        for a in [Actor::Learner, Actor::Mediator, Actor::Regulator] {
            assert!(respond_publicly(a).is_err());
        }
    }

    #[test]
    fn webhook_owners_by_role() {
        let a = Uuid::now_v7();
        let staff = who(Role::InstitutionStaff, Some(a));
        assert_eq!(webhook_owner(&staff).unwrap(), WebhookOwner::Institution(a));
        let mediator = Principal {
            association_id: Some(a),
            ..who(Role::Mediator, None)
        };
        assert_eq!(
            webhook_owner(&mediator).unwrap(),
            WebhookOwner::Association(a)
        );
        assert_eq!(
            webhook_owner(&who(Role::Regulator, None)).unwrap(),
            WebhookOwner::Platform
        );
        for role in [Role::Learner, Role::Admin] {
            assert!(matches!(
                webhook_owner(&who(role, None)),
                Err(ApiError::Forbidden(_))
            ));
        }
        assert!(webhook_owner(&who(Role::InstitutionStaff, None)).is_err());
    }
}
