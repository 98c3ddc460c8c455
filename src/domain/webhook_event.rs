//! The webhook event types (the one list) and how a timeline entry maps to one.
//!
//! Every timeline action becomes exactly one event type. Actions this module does not
//! know yet (added by later features) map to [`EventType::ComplaintUpdated`], so no
//! change goes unannounced.
use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::lifecycle::UnknownName;

macro_rules! event_types {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, )+) => {
        /// A kind of webhook event. Subscriptions choose among these.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl EventType {
            /// Every event type, in documentation order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)+];

            /// The dotted wire name, e.g. `complaint.filed`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name,)+ }
            }

            /// What the event means, for documentation.
            pub fn description(self) -> &'static str {
                match self { $(EventType::$variant => concat!($($doc),+).trim_ascii(),)+ }
            }
        }
    };
}

event_types! {
    /// A learner filed a complaint (it waits for intake review or for the institution).
    ComplaintFiled = "complaint.filed",
    /// The complaint passed intake review (or the review period ran out) and went to the institution.
    ComplaintIntakeAccepted = "complaint.intake_accepted",
    /// A regulator rejected the complaint as out of scope or a duplicate.
    ComplaintRejected = "complaint.rejected",
    /// The institution asked the learner for more information; its clock is paused.
    ComplaintInfoRequested = "complaint.info_requested",
    /// The learner supplied the requested information; the institution's clock runs again.
    ComplaintInfoProvided = "complaint.info_provided",
    /// The learner did not supply the information in time; the case went back to the institution.
    ComplaintInfoRequestExpired = "complaint.info_request_expired",
    /// The institution answered the complaint.
    ComplaintResponded = "complaint.responded",
    /// The learner accepted the response, or stayed silent past the window.
    ComplaintResolved = "complaint.resolved",
    /// The learner escalated the case to mediation.
    ComplaintEscalated = "complaint.escalated",
    /// The learner disputed a resolution within its window.
    ComplaintDisputed = "complaint.disputed",
    /// A mediator took the case.
    ComplaintAssigned = "complaint.assigned",
    /// A party made an offer in mediation.
    ComplaintOfferMade = "complaint.offer_made",
    /// A party declined an offer in mediation.
    ComplaintOfferDeclined = "complaint.offer_declined",
    /// An offer was accepted; the case is settled.
    ComplaintSettled = "complaint.settled",
    /// Mediation ended without agreement (closed by the mediator or out of time).
    ComplaintUnresolved = "complaint.unresolved",
    /// The learner withdrew the complaint.
    ComplaintWithdrawn = "complaint.withdrawn",
    /// A party posted a message on the case.
    ComplaintMessagePosted = "complaint.message_posted",
    /// A party attached an evidence file to the case.
    ComplaintAttachmentAdded = "complaint.attachment_added",
    /// The learner rated the handling of a closed case.
    ComplaintRated = "complaint.rated",
    /// Any other change to a case (a kind this list does not name yet).
    ComplaintUpdated = "complaint.updated",
    /// A deadline is near (by default one working day before it passes).
    SlaWarning = "sla.warning",
    /// The institution missed its response deadline; the case went to mediation and the breach counts against it.
    SlaBreached = "sla.breached",
    /// No mediator took an escalated case within the association's time limit.
    SlaAssignmentOverdue = "sla.assignment_overdue",
    /// A test event sent by `POST /webhooks/{id}/ping`; delivered whatever the subscription's event types.
    Ping = "ping",
}

impl EventType {
    /// The event of a timeline entry: its action, and the states before and after.
    pub fn of_timeline(action: &str, from_state: Option<&str>, to_state: Option<&str>) -> Self {
        use EventType::*;
        match action {
            "file" => ComplaintFiled,
            "accept_intake" => ComplaintIntakeAccepted,
            "reject" => ComplaintRejected,
            "request_info" => ComplaintInfoRequested,
            "provide_info" => ComplaintInfoProvided,
            "respond" => ComplaintResponded,
            "accept_response" => ComplaintResolved,
            "escalate" => ComplaintEscalated,
            "dispute" => ComplaintDisputed,
            "assign" => ComplaintAssigned,
            "offer" => ComplaintOfferMade,
            "decline_offer" => ComplaintOfferDeclined,
            "accept_offer" => match to_state {
                Some("settled") => ComplaintSettled,
                _ => ComplaintUpdated,
            },
            "close_unresolved" => ComplaintUnresolved,
            "withdraw" => ComplaintWithdrawn,
            "message" => ComplaintMessagePosted,
            "attachment" => ComplaintAttachmentAdded,
            "rate" => ComplaintRated,
            "sla_warning" => SlaWarning,
            "assignment_overdue" => SlaAssignmentOverdue,
            "timeout" => match (from_state, to_state) {
                (Some("submitted"), Some("awaiting_response")) => ComplaintIntakeAccepted,
                (Some("awaiting_response"), _) => SlaBreached,
                (Some("info_requested"), _) => ComplaintInfoRequestExpired,
                (_, Some("resolved")) => ComplaintResolved,
                (_, Some("unresolved")) => ComplaintUnresolved,
                _ => ComplaintUpdated,
            },
            _ => ComplaintUpdated,
        }
    }

    /// Whether a subscription may ask for this type (ping is sent on request only).
    pub fn subscribable(self) -> bool {
        self != EventType::Ping
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "event type",
                name: s.to_owned(),
            })
    }
}

/// What a case event tells receivers: ids, reference, states, who (by role), when.
/// Deliberately thin: never the narrative, messages or personal data; receivers fetch
/// details with their own token.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEventData {
    pub complaint_id: Uuid,
    pub reference: String,
    pub institution_id: Uuid,
    pub association_id: Option<Uuid>,
    /// The timeline action (`file`, `respond`, `timeout`, `message`, …).
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor_role: String,
    /// The event's position in the case timeline.
    pub seq: i32,
    pub occurred_at: DateTime<Utc>,
}

/// What a ping tells: which subscription it tests.
#[derive(Debug, Clone, Serialize)]
pub struct PingData {
    pub subscription_id: Uuid,
}

#[derive(Serialize)]
struct Envelope<'a, D> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: DateTime<Utc>,
    data: &'a D,
}

/// The webhook body, in the shape Standard Webhooks recommends:
/// `{"type": …, "timestamp": …, "data": {…}}`.
pub fn body<D: Serialize>(event_type: EventType, timestamp: DateTime<Utc>, data: &D) -> String {
    serde_json::to_string(&Envelope {
        event_type: event_type.as_str(),
        timestamp,
        data,
    })
    .expect("plain data serializes to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lifecycle::{Action, Actor, CaseState, transition};

    #[test]
    fn names_are_unique_dotted_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert!(seen.insert(t.as_str()), "duplicate {t}");
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), *t);
            assert!(!t.description().is_empty(), "{t} has no description");
            assert!(
                *t == EventType::Ping || t.as_str().contains('.'),
                "{t} is not namespaced"
            );
        }
        assert!("complaint.nope".parse::<EventType>().is_err());
    }

    #[test]
    fn every_lifecycle_transition_has_a_specific_type() {
        for from in CaseState::ALL {
            for action in Action::ALL {
                for actor in Actor::ALL {
                    let Ok(to) = transition(from, action, actor) else {
                        continue;
                    };
                    let t = EventType::of_timeline(
                        action.as_str(),
                        Some(from.as_str()),
                        Some(to.as_str()),
                    );
                    assert_ne!(
                        t,
                        EventType::ComplaintUpdated,
                        "{action} from {from} to {to} has no event type"
                    );
                    assert!(t.subscribable());
                }
            }
        }
    }

    #[test]
    fn named_mappings() {
        let of = EventType::of_timeline;
        assert_eq!(
            of("file", None, Some("awaiting_response")),
            EventType::ComplaintFiled
        );
        assert_eq!(
            of("respond", Some("awaiting_response"), Some("responded")),
            EventType::ComplaintResponded
        );
        assert_eq!(
            of("escalate", Some("responded"), Some("awaiting_mediation")),
            EventType::ComplaintEscalated
        );
        assert_eq!(
            of("accept_offer", Some("in_mediation"), Some("settled")),
            EventType::ComplaintSettled
        );
        assert_eq!(
            of(
                "timeout",
                Some("awaiting_response"),
                Some("awaiting_mediation")
            ),
            EventType::SlaBreached
        );
        assert_eq!(
            of("timeout", Some("responded"), Some("resolved")),
            EventType::ComplaintResolved
        );
        assert_eq!(of("sla_warning", None, None), EventType::SlaWarning);
        assert_eq!(
            of("assignment_overdue", None, None),
            EventType::SlaAssignmentOverdue
        );
        assert_eq!(of("message", None, None), EventType::ComplaintMessagePosted);
        assert_eq!(
            of("attachment", None, None),
            EventType::ComplaintAttachmentAdded
        );
        assert_eq!(of("rate", None, None), EventType::ComplaintRated);
    }

    #[test]
    fn unknown_actions_are_not_lost() {
        assert_eq!(
            EventType::of_timeline("record_settlement", Some("settled"), None),
            EventType::ComplaintUpdated
        );
        assert_eq!(
            EventType::of_timeline("", None, None),
            EventType::ComplaintUpdated
        );
    }

    #[test]
    fn the_body_is_a_thin_envelope() {
        let at: DateTime<Utc> = "2026-03-02T02:00:00Z".parse().unwrap();
        let data = CaseEventData {
            complaint_id: Uuid::nil(),
            reference: "ED-2026-000001".into(),
            institution_id: Uuid::nil(),
            association_id: None,
            action: "file".into(),
            from_state: None,
            to_state: Some("awaiting_response".into()),
            actor_role: "learner".into(),
            seq: 1,
            occurred_at: at,
        };
        let v: serde_json::Value =
            serde_json::from_str(&body(EventType::ComplaintFiled, at, &data)).unwrap();
        assert_eq!(v["type"], "complaint.filed");
        assert_eq!(v["timestamp"], "2026-03-02T02:00:00Z");
        assert_eq!(v["data"]["reference"], "ED-2026-000001");
        assert_eq!(v["data"]["to_state"], "awaiting_response");
        assert_eq!(v.as_object().unwrap().len(), 3);
    }
}
