//! Time limits per stage (DESIGN §3): whose clock runs in each state, and for how long.
use super::{calendar::Limit, lifecycle::CaseState};

/// The party whose clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    /// Intake review by the platform (regulator).
    Platform,
    Institution,
    Learner,
    /// The association must assign a mediator.
    Association,
    /// The mediation itself.
    Mediation,
}

/// Per-stage limits; policy settings with the defaults of the governing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    pub intake: Limit,
    pub response: Limit,
    pub info: Limit,
    pub learner_reply: Limit,
    pub dispute_window: Limit,
    pub assignment: Limit,
    pub mediation: Limit,
    pub fulfilment: Limit,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            intake: Limit::WorkingDays(7),
            response: Limit::WorkingDays(10),
            info: Limit::WorkingDays(10),
            learner_reply: Limit::WorkingDays(15),
            dispute_window: Limit::WorkingDays(15),
            assignment: Limit::WorkingDays(3),
            mediation: Limit::WorkingDays(45),
            fulfilment: Limit::WorkingDays(15),
        }
    }
}

impl SlaPolicy {
    /// The clock that runs while a case is in `state`, if any. For `resolved` it is
    /// the learner's window to dispute; for `settled` the institution's time to carry
    /// out the agreement.
    pub fn clock(&self, state: CaseState) -> Option<(Party, Limit)> {
        use CaseState::*;
        match state {
            Submitted => Some((Party::Platform, self.intake)),
            AwaitingResponse => Some((Party::Institution, self.response)),
            InfoRequested => Some((Party::Learner, self.info)),
            Responded => Some((Party::Learner, self.learner_reply)),
            AwaitingMediation => Some((Party::Association, self.assignment)),
            InMediation => Some((Party::Mediation, self.mediation)),
            Resolved => Some((Party::Learner, self.dispute_window)),
            // The institution must carry out the settlement.
            Settled => Some((Party::Institution, self.fulfilment)),
            Unresolved | Rejected | Withdrawn => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_open_state_has_a_clock_and_closed_ones_do_not() {
        let p = SlaPolicy::default();
        for s in CaseState::ALL {
            let has = p.clock(s).is_some();
            let expected =
                !s.is_terminal() || matches!(s, CaseState::Resolved | CaseState::Settled);
            assert_eq!(has, expected, "{s}");
        }
        assert_eq!(
            p.clock(CaseState::AwaitingResponse),
            Some((Party::Institution, Limit::WorkingDays(10)))
        );
        assert_eq!(
            p.clock(CaseState::InMediation),
            Some((Party::Mediation, Limit::WorkingDays(45)))
        );
    }
}
