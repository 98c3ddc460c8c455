//! Case lifecycle: the states a complaint moves through and who may move it
//! (DESIGN §2). Pure functions only; persistence, deadlines and per-object
//! authorisation are the caller's business.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Filed; waiting for the regulator's intake review.
    Submitted,
    /// Waiting for the institution to respond.
    AwaitingResponse,
    /// The institution asked the learner for more information.
    InfoRequested,
    /// The institution responded; waiting for the learner.
    Responded,
    /// Escalated; waiting for a mediator.
    AwaitingMediation,
    /// A mediator is working the case.
    InMediation,
    /// The learner accepted the response (or stayed silent).
    Resolved,
    /// A mediation offer was accepted.
    Settled,
    /// Mediation ended without agreement.
    Unresolved,
    /// Refused by the regulator.
    Rejected,
    /// Withdrawn by the learner.
    Withdrawn,
}

impl CaseState {
    pub const ALL: [CaseState; 11] = [
        CaseState::Submitted,
        CaseState::AwaitingResponse,
        CaseState::InfoRequested,
        CaseState::Responded,
        CaseState::AwaitingMediation,
        CaseState::InMediation,
        CaseState::Resolved,
        CaseState::Settled,
        CaseState::Unresolved,
        CaseState::Rejected,
        CaseState::Withdrawn,
    ];

    /// The case has an outcome. Note that `Resolved` is terminal yet may
    /// still be reopened by the learner's `Dispute`; it is the only one.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CaseState::Resolved
                | CaseState::Settled
                | CaseState::Unresolved
                | CaseState::Rejected
                | CaseState::Withdrawn
        )
    }

    /// The snake_case name, as used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Submitted => "submitted",
            CaseState::AwaitingResponse => "awaiting_response",
            CaseState::InfoRequested => "info_requested",
            CaseState::Responded => "responded",
            CaseState::AwaitingMediation => "awaiting_mediation",
            CaseState::InMediation => "in_mediation",
            CaseState::Resolved => "resolved",
            CaseState::Settled => "settled",
            CaseState::Unresolved => "unresolved",
            CaseState::Rejected => "rejected",
            CaseState::Withdrawn => "withdrawn",
        }
    }
}

/// Something a party does to a case. Filing is not an action: see
/// [`initial_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AcceptIntake,
    Reject,
    RequestInfo,
    ProvideInfo,
    Respond,
    AcceptResponse,
    Escalate,
    Dispute,
    Assign,
    Offer,
    AcceptOffer,
    DeclineOffer,
    CloseUnresolved,
    Withdraw,
    /// A deadline passed; only the system takes this action.
    Timeout,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::AcceptIntake,
        Action::Reject,
        Action::RequestInfo,
        Action::ProvideInfo,
        Action::Respond,
        Action::AcceptResponse,
        Action::Escalate,
        Action::Dispute,
        Action::Assign,
        Action::Offer,
        Action::AcceptOffer,
        Action::DeclineOffer,
        Action::CloseUnresolved,
        Action::Withdraw,
        Action::Timeout,
    ];

    /// The snake_case name, as used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AcceptIntake => "accept_intake",
            Action::Reject => "reject",
            Action::RequestInfo => "request_info",
            Action::ProvideInfo => "provide_info",
            Action::Respond => "respond",
            Action::AcceptResponse => "accept_response",
            Action::Escalate => "escalate",
            Action::Dispute => "dispute",
            Action::Assign => "assign",
            Action::Offer => "offer",
            Action::AcceptOffer => "accept_offer",
            Action::DeclineOffer => "decline_offer",
            Action::CloseUnresolved => "close_unresolved",
            Action::Withdraw => "withdraw",
            Action::Timeout => "timeout",
        }
    }
}

/// The caller's role *as it relates to this case* (per-object checks that the
/// learner owns it etc. are done before this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Learner,
    InstitutionStaff,
    Mediator,
    Regulator,
    Admin,
    /// The platform itself (deadline jobs).
    System,
}

impl Actor {
    pub const ALL: [Actor; 6] = [
        Actor::Learner,
        Actor::InstitutionStaff,
        Actor::Mediator,
        Actor::Regulator,
        Actor::Admin,
        Actor::System,
    ];

    /// The snake_case name, as used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Learner => "learner",
            Actor::InstitutionStaff => "institution_staff",
            Actor::Mediator => "mediator",
            Actor::Regulator => "regulator",
            Actor::Admin => "admin",
            Actor::System => "system",
        }
    }
}

/// A name that matches no variant when parsing a [`CaseState`], [`Action`]
/// or [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{name}`")]
pub struct UnknownName {
    /// What was being parsed: "case state", "action" or "actor".
    pub kind: &'static str,
    /// The offending input.
    pub name: String,
}

macro_rules! impl_names {
    ($ty:ty, $kind:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            /// Inverse of `as_str`; exact match only.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        kind: $kind,
                        name: s.to_owned(),
                    })
            }
        }
    };
}

impl_names!(CaseState, "case state");
impl_names!(Action, "action");
impl_names!(Actor, "actor");

/// Why [`transition`] said no, with what this actor could do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("action `{action}` is not allowed in state `{state}`")]
pub struct Refusal {
    pub state: CaseState,
    pub action: Action,
    pub actor: Actor,
    /// `allowed_actions(state, actor)`.
    pub allowed: Vec<Action>,
}

/// The state a newly filed case (by a learner) starts in.
pub fn initial_state(intake_review: bool) -> CaseState {
    if intake_review {
        CaseState::Submitted
    } else {
        CaseState::AwaitingResponse
    }
}

/// Apply `action` by `actor` to a case in `state`.
///
/// The rules are the arms of `next_state` below (separate only so that
/// `allowed_actions` can share them); anything not listed is refused.
///
/// Deviation from DESIGN §2: the regulator may `Reject` from
/// `AwaitingResponse` and `InfoRequested`, not only `Submitted`, for
/// duplicates or out-of-scope cases found after intake (intake review is off
/// by default, so most cases never sit in `Submitted`).
pub fn transition(state: CaseState, action: Action, actor: Actor) -> Result<CaseState, Refusal> {
    next_state(state, action, actor).ok_or_else(|| Refusal {
        state,
        action,
        actor,
        allowed: allowed_actions(state, actor),
    })
}

/// The transition table of DESIGN §2, one arm per rule:
/// `(from, action, actor) => to`.
fn next_state(state: CaseState, action: Action, actor: Actor) -> Option<CaseState> {
    use Action as A;
    use Actor as R;
    use CaseState as S;

    let to = match (state, action, actor) {
        // Intake.
        (S::Submitted, A::AcceptIntake, R::Regulator) => S::AwaitingResponse,
        (S::Submitted, A::Reject, R::Regulator) => S::Rejected,
        // Deviation from §2: the regulator may also reject after intake
        // (duplicates, out of scope), since intake review is off by default.
        (S::AwaitingResponse | S::InfoRequested, A::Reject, R::Regulator) => S::Rejected,

        // Institution response.
        (S::AwaitingResponse, A::RequestInfo, R::InstitutionStaff) => S::InfoRequested,
        (S::InfoRequested, A::ProvideInfo, R::Learner) => S::AwaitingResponse,
        (S::AwaitingResponse, A::Respond, R::InstitutionStaff) => S::Responded,
        (S::Responded, A::AcceptResponse, R::Learner) => S::Resolved,
        (S::Responded, A::Escalate, R::Learner) => S::AwaitingMediation,
        // The 15-working-day dispute window is checked by the caller.
        (S::Resolved, A::Dispute, R::Learner) => S::AwaitingMediation,

        // Mediation. Who may accept a given offer is checked by the caller.
        (S::AwaitingMediation, A::Assign, R::Mediator | R::Admin) => S::InMediation,
        (S::InMediation, A::Offer, R::Learner | R::InstitutionStaff | R::Mediator) => {
            S::InMediation
        }
        (S::InMediation, A::AcceptOffer, R::Learner | R::InstitutionStaff) => S::Settled,
        (S::InMediation, A::DeclineOffer, R::Learner | R::InstitutionStaff) => S::InMediation,
        (S::InMediation, A::CloseUnresolved, R::Mediator) => S::Unresolved,

        // Withdrawal, from anywhere not yet terminal.
        (s, A::Withdraw, R::Learner) if !s.is_terminal() => S::Withdrawn,

        // Deadlines passed (system only).
        // The platform missed its intake deadline: forward the case.
        (S::Submitted, A::Timeout, R::System) => S::AwaitingResponse,
        // The institution missed its deadline.
        (S::AwaitingResponse, A::Timeout, R::System) => S::AwaitingMediation,
        // The learner did not supply the information: carry on without it.
        (S::InfoRequested, A::Timeout, R::System) => S::AwaitingResponse,
        // The learner was silent about the response.
        (S::Responded, A::Timeout, R::System) => S::Resolved,
        (S::InMediation, A::Timeout, R::System) => S::Unresolved,

        _ => return None,
    };
    Some(to)
}

/// Actions this actor may take in this state (derived from the same table as
/// `transition`, in `Action::ALL` order). Never includes Timeout unless actor is System.
pub fn allowed_actions(state: CaseState, actor: Actor) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|&action| next_state(state, action, actor).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Actor as R;
    use CaseState as S;
    use proptest::prelude::*;
    use proptest::sample::select;
    use std::collections::HashSet;

    /// Every allowed move, written out by hand from DESIGN §2:
    /// (from, action, actor, to).
    const TABLE: &[(CaseState, Action, Actor, CaseState)] = &[
        (
            S::Submitted,
            A::AcceptIntake,
            R::Regulator,
            S::AwaitingResponse,
        ),
        (S::Submitted, A::Reject, R::Regulator, S::Rejected),
        (S::AwaitingResponse, A::Reject, R::Regulator, S::Rejected),
        (S::InfoRequested, A::Reject, R::Regulator, S::Rejected),
        (
            S::AwaitingResponse,
            A::RequestInfo,
            R::InstitutionStaff,
            S::InfoRequested,
        ),
        (
            S::InfoRequested,
            A::ProvideInfo,
            R::Learner,
            S::AwaitingResponse,
        ),
        (
            S::AwaitingResponse,
            A::Respond,
            R::InstitutionStaff,
            S::Responded,
        ),
        (S::Responded, A::AcceptResponse, R::Learner, S::Resolved),
        (S::Responded, A::Escalate, R::Learner, S::AwaitingMediation),
        (S::Resolved, A::Dispute, R::Learner, S::AwaitingMediation),
        (S::AwaitingMediation, A::Assign, R::Mediator, S::InMediation),
        (S::AwaitingMediation, A::Assign, R::Admin, S::InMediation),
        (S::InMediation, A::Offer, R::Learner, S::InMediation),
        (
            S::InMediation,
            A::Offer,
            R::InstitutionStaff,
            S::InMediation,
        ),
        (S::InMediation, A::Offer, R::Mediator, S::InMediation),
        (S::InMediation, A::AcceptOffer, R::Learner, S::Settled),
        (
            S::InMediation,
            A::AcceptOffer,
            R::InstitutionStaff,
            S::Settled,
        ),
        (S::InMediation, A::DeclineOffer, R::Learner, S::InMediation),
        (
            S::InMediation,
            A::DeclineOffer,
            R::InstitutionStaff,
            S::InMediation,
        ),
        (
            S::InMediation,
            A::CloseUnresolved,
            R::Mediator,
            S::Unresolved,
        ),
        (S::Submitted, A::Withdraw, R::Learner, S::Withdrawn),
        (S::AwaitingResponse, A::Withdraw, R::Learner, S::Withdrawn),
        (S::InfoRequested, A::Withdraw, R::Learner, S::Withdrawn),
        (S::Responded, A::Withdraw, R::Learner, S::Withdrawn),
        (S::AwaitingMediation, A::Withdraw, R::Learner, S::Withdrawn),
        (S::InMediation, A::Withdraw, R::Learner, S::Withdrawn),
        (S::Submitted, A::Timeout, R::System, S::AwaitingResponse),
        (
            S::AwaitingResponse,
            A::Timeout,
            R::System,
            S::AwaitingMediation,
        ),
        (S::InfoRequested, A::Timeout, R::System, S::AwaitingResponse),
        (S::Responded, A::Timeout, R::System, S::Resolved),
        (S::InMediation, A::Timeout, R::System, S::Unresolved),
    ];

    fn expected(state: CaseState, action: Action, actor: Actor) -> Option<CaseState> {
        TABLE
            .iter()
            .find(|&&(f, a, r, _)| (f, a, r) == (state, action, actor))
            .map(|&(_, _, _, to)| to)
    }

    fn in_table(from: CaseState, action: Action, actor: Actor, to: CaseState) -> bool {
        TABLE.contains(&(from, action, actor, to))
    }

    #[test]
    fn table_has_no_duplicate_keys() {
        let keys: HashSet<_> = TABLE.iter().map(|&(f, a, r, _)| (f, a, r)).collect();
        assert_eq!(keys.len(), TABLE.len());
        assert_eq!(TABLE.len(), 31);
    }

    #[test]
    fn transition_matches_table_for_every_triple() {
        let mut checked = 0;
        for state in CaseState::ALL {
            for action in Action::ALL {
                for actor in Actor::ALL {
                    checked += 1;
                    let got = transition(state, action, actor);
                    match expected(state, action, actor) {
                        Some(to) => assert_eq!(got, Ok(to), "{state} {action} {actor}"),
                        None => {
                            let refusal = got.expect_err(&format!("{state} {action} {actor}"));
                            assert_eq!(
                                refusal,
                                Refusal {
                                    state,
                                    action,
                                    actor,
                                    allowed: allowed_actions(state, actor),
                                }
                            );
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 11 * 15 * 6);
    }

    #[test]
    fn allowed_actions_are_table_rows_in_action_order() {
        for state in CaseState::ALL {
            for actor in Actor::ALL {
                let want: Vec<Action> = Action::ALL
                    .into_iter()
                    .filter(|&a| expected(state, a, actor).is_some())
                    .collect();
                assert_eq!(allowed_actions(state, actor), want, "{state} {actor}");
            }
        }
    }

    #[test]
    fn timeout_is_system_only_and_system_only_times_out() {
        for state in CaseState::ALL {
            for actor in Actor::ALL {
                let allowed = allowed_actions(state, actor);
                if actor == R::System {
                    assert!(allowed.iter().all(|&a| a == A::Timeout), "{state}");
                } else {
                    assert!(!allowed.contains(&A::Timeout), "{state} {actor}");
                }
            }
        }
    }

    #[test]
    fn terminal_states_allow_nothing_except_disputing_a_resolution() {
        for state in CaseState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for actor in Actor::ALL {
                let want = if (state, actor) == (S::Resolved, R::Learner) {
                    vec![A::Dispute]
                } else {
                    vec![]
                };
                assert_eq!(allowed_actions(state, actor), want, "{state} {actor}");
            }
        }
    }

    #[test]
    fn terminal_set_is_as_designed() {
        let terminal: Vec<_> = CaseState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            [
                S::Resolved,
                S::Settled,
                S::Unresolved,
                S::Rejected,
                S::Withdrawn
            ]
        );
    }

    #[test]
    fn only_the_learner_withdraws_and_always_can_before_the_end() {
        for state in CaseState::ALL {
            for actor in Actor::ALL {
                let may = allowed_actions(state, actor).contains(&A::Withdraw);
                assert_eq!(
                    may,
                    actor == R::Learner && !state.is_terminal(),
                    "{state} {actor}"
                );
            }
        }
    }

    #[test]
    fn initial_state_follows_intake_review() {
        assert_eq!(initial_state(true), S::Submitted);
        assert_eq!(initial_state(false), S::AwaitingResponse);
    }

    #[test]
    fn refusal_message_uses_snake_case_names() {
        let err = transition(S::Settled, A::Reject, R::Regulator).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action `reject` is not allowed in state `settled`"
        );
        assert!(err.allowed.is_empty());
    }

    #[test]
    fn names_round_trip() {
        for s in CaseState::ALL {
            assert_eq!(s.as_str().parse::<CaseState>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            assert_eq!(a.to_string(), a.as_str());
        }
        for r in Actor::ALL {
            assert_eq!(r.as_str().parse::<Actor>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(S::AwaitingResponse.as_str(), "awaiting_response");
        assert_eq!(A::AcceptIntake.as_str(), "accept_intake");
        assert_eq!(R::InstitutionStaff.as_str(), "institution_staff");
    }

    #[test]
    fn names_are_distinct() {
        let states: HashSet<_> = CaseState::ALL.iter().map(|s| s.as_str()).collect();
        let actions: HashSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        let actors: HashSet<_> = Actor::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(states.len(), 11);
        assert_eq!(actions.len(), 15);
        assert_eq!(actors.len(), 6);
    }

    #[test]
    fn unknown_names_are_errors() {
        for bad in [
            "",
            "Submitted",
            "awaiting-response",
            " submitted",
            "file",
            "open",
        ] {
            assert_eq!(
                bad.parse::<CaseState>(),
                Err(UnknownName {
                    kind: "case state",
                    name: bad.to_owned()
                })
            );
        }
        for bad in ["", "file", "Timeout", "accept-intake", "timeout "] {
            assert!(bad.parse::<Action>().is_err(), "{bad:?}");
        }
        assert!("staff".parse::<Actor>().is_err());
        let err = "nope".parse::<Action>().unwrap_err();
        assert_eq!(err.to_string(), "unknown action `nope`");
    }

    #[test]
    fn serde_names_match_as_str() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        fn de<'a, T: Deserialize<'a>>(s: &'a str) -> Result<T, Error> {
            let d: StrDeserializer<'a, Error> = s.into_deserializer();
            T::deserialize(d)
        }
        for s in CaseState::ALL {
            assert_eq!(de::<CaseState>(s.as_str()), Ok(s));
        }
        for a in Action::ALL {
            assert_eq!(de::<Action>(a.as_str()), Ok(a));
        }
        for r in Actor::ALL {
            assert_eq!(de::<Actor>(r.as_str()), Ok(r));
        }
    }

    proptest! {
        #[test]
        fn random_walks_obey_the_table(
            intake_review in any::<bool>(),
            steps in prop::collection::vec(
                (select(Action::ALL.to_vec()), select(Actor::ALL.to_vec())),
                0..200,
            ),
        ) {
            let mut state = initial_state(intake_review);
            for (action, actor) in steps {
                let before = state;
                match transition(state, action, actor) {
                    Ok(to) => {
                        prop_assert!(in_table(before, action, actor, to));
                        if before.is_terminal() {
                            // The only way out of a terminal state.
                            prop_assert_eq!((before, action, actor), (S::Resolved, A::Dispute, R::Learner));
                        }
                        state = to;
                    }
                    Err(refusal) => {
                        prop_assert_eq!(refusal.state, before);
                        prop_assert_eq!(refusal.action, action);
                        prop_assert_eq!(refusal.actor, actor);
                        prop_assert_eq!(&refusal.allowed, &allowed_actions(before, actor));
                        prop_assert!(!refusal.allowed.contains(&action));
                    }
                }
                if before.is_terminal() && before != S::Resolved {
                    prop_assert_eq!(state, before);
                }
            }
        }
    }
}
