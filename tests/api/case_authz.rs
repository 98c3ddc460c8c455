//! The per-object authorization table for the case endpoints: every endpoint × every
//! caller, with the expected status. Each request gets a freshly filed case in the state
//! where the action is normally allowed for its rightful actor, so the table shows the
//! rightful actor succeeding, other roles that can see the case refused by the
//! lifecycle (409) or as non-parties (403), callers who cannot see it answered 404,
//! and anonymous callers 401. The mediation endpoints are in the same table: there a
//! mediator of the case's association who does not hold the case is refused (403)
//! the work that belongs to the mediator who does: messages, offers, closing, and
//! amending the published redaction.
use std::collections::BTreeSet;

use entity::account::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser, credit_code, spawn_app_with};
use crate::lifecycle::{act, filing, refund_answer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Anonymous,
    /// The learner who filed the case.
    Own,
    OtherLearner,
    /// Staff of the case's institution.
    StaffOwn,
    StaffOther,
    /// A mediator of the association the case was routed to; once the case is in
    /// mediation, the one holding it (who claimed it).
    MediatorOwn,
    /// Another mediator of the same association, who does not hold the case.
    MediatorPeer,
    MediatorOther,
    Regulator,
    Admin,
}

const CALLERS: [Caller; 10] = [
    Caller::Anonymous,
    Caller::Own,
    Caller::OtherLearner,
    Caller::StaffOwn,
    Caller::StaffOther,
    Caller::MediatorOwn,
    Caller::MediatorPeer,
    Caller::MediatorOther,
    Caller::Regulator,
    Caller::Admin,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    File,
    List,
    Get,
    Events,
    Verify,
    AcceptIntake,
    Reject,
    RequestInfo,
    ProvideInfo,
    Respond,
    AcceptResponse,
    Escalate,
    Dispute,
    Withdraw,
    Messages,
    Rating,
    Assign,
    Offer,
    Offers,
    AcceptOffer,
    DeclineOffer,
    CloseUnresolved,
    Settlement,
    Fulfil,
    Confirm,
    ReportUnfulfilled,
    GoodFaith,
    Publication,
    AmendPublication,
}

const ENDPOINTS: [Endpoint; 29] = [
    Endpoint::File,
    Endpoint::List,
    Endpoint::Get,
    Endpoint::Events,
    Endpoint::Verify,
    Endpoint::AcceptIntake,
    Endpoint::Reject,
    Endpoint::RequestInfo,
    Endpoint::ProvideInfo,
    Endpoint::Respond,
    Endpoint::AcceptResponse,
    Endpoint::Escalate,
    Endpoint::Dispute,
    Endpoint::Withdraw,
    Endpoint::Messages,
    Endpoint::Rating,
    Endpoint::Assign,
    Endpoint::Offer,
    Endpoint::Offers,
    Endpoint::AcceptOffer,
    Endpoint::DeclineOffer,
    Endpoint::CloseUnresolved,
    Endpoint::Settlement,
    Endpoint::Fulfil,
    Endpoint::Confirm,
    Endpoint::ReportUnfulfilled,
    Endpoint::GoodFaith,
    Endpoint::Publication,
    Endpoint::AmendPublication,
];

/// The expected status for each pair (DESIGN §1, §2 and §6). No `_` arms: the compiler
/// checks that no pair is missing.
fn expected(e: Endpoint, c: Caller) -> u16 {
    use Caller::*;
    use Endpoint::*;
    match (e, c) {
        (
            File | List | Get | Events | Verify | AcceptIntake | Reject | RequestInfo | ProvideInfo
            | Respond | AcceptResponse | Escalate | Dispute | Withdraw | Messages | Rating | Assign
            | Offer | Offers | AcceptOffer | DeclineOffer | CloseUnresolved | Settlement | Fulfil
            | Confirm | ReportUnfulfilled | GoodFaith | Publication | AmendPublication,
            Anonymous,
        ) => 401,

        // Any learner may file; no other role may.
        (File, Own | OtherLearner) => 201,
        (
            File,
            StaffOwn | StaffOther | MediatorOwn | MediatorPeer | MediatorOther | Regulator | Admin,
        ) => 403,
        // Every signed-in caller has a (scoped) list; its content is checked below.
        (
            List,
            Own | OtherLearner | StaffOwn | StaffOther | MediatorOwn | MediatorPeer | MediatorOther
            | Regulator | Admin,
        ) => 200,

        // A case the caller may not see does not exist for them.
        (
            Get | Events | Verify | AcceptIntake | Reject | RequestInfo | ProvideInfo | Respond
            | AcceptResponse | Escalate | Dispute | Withdraw | Messages | Rating | Assign | Offer
            | Offers | AcceptOffer | DeclineOffer | CloseUnresolved | Settlement | Fulfil | Confirm
            | ReportUnfulfilled | GoodFaith | Publication | AmendPublication,
            OtherLearner | StaffOther | MediatorOther,
        ) => 404,

        // Reading, the offers ledger and the settlement included: everyone who can see
        // the case.
        (
            Get | Events | Verify | Offers | Settlement,
            Own | StaffOwn | MediatorOwn | MediatorPeer | Regulator | Admin,
        ) => 200,

        // Intake review: the regulator.
        (AcceptIntake | Reject, Regulator) => 200,
        (AcceptIntake | Reject, Own | StaffOwn | MediatorOwn | MediatorPeer | Admin) => 409,

        // The institution's answer: its staff.
        (RequestInfo | Respond, StaffOwn) => 200,
        (RequestInfo | Respond, Own | MediatorOwn | MediatorPeer | Regulator | Admin) => 409,

        // The learner's moves.
        (ProvideInfo | AcceptResponse | Escalate | Dispute | Withdraw, Own) => 200,
        (
            ProvideInfo | AcceptResponse | Escalate | Dispute | Withdraw,
            StaffOwn | MediatorOwn | MediatorPeer | Regulator | Admin,
        ) => 409,

        // Messages: the parties (of the association's mediators, the one holding the
        // case).
        (Messages, Own | StaffOwn | MediatorOwn) => 201,
        (Messages, MediatorPeer | Regulator | Admin) => 403,

        // The redaction of the published narrative: the association's mediators and
        // regulators preview it; only the holding mediator or a regulator amends it.
        (Publication, MediatorOwn | MediatorPeer | Regulator) => 200,
        (Publication, Own | StaffOwn | Admin) => 403,
        (AmendPublication, MediatorOwn | Regulator) => 200,
        (AmendPublication, Own | StaffOwn | MediatorPeer | Admin) => 403,

        // Rating: the learner who filed, once closed.
        (Rating, Own) => 200,
        (Rating, StaffOwn | MediatorOwn | MediatorPeer | Regulator | Admin) => 403,

        // Taking a case into mediation: any mediator of its association claims it for
        // themselves; an admin gives it to a named one.
        (Assign, MediatorOwn | MediatorPeer | Admin) => 200,
        (Assign, Own | StaffOwn | Regulator) => 409,

        // Offers: the two sides, and the mediator holding the case on behalf of either.
        (Offer, Own | StaffOwn | MediatorOwn) => 201,
        (Offer, MediatorPeer) => 403,
        (Offer, Regulator | Admin) => 409,

        // Answering the institution's open offer: the other side, the learner.
        (AcceptOffer | DeclineOffer, Own) => 200,
        (AcceptOffer | DeclineOffer, StaffOwn | MediatorOwn | MediatorPeer | Regulator | Admin) => {
            409
        }

        // Ending mediation without agreement: the mediator holding the case.
        (CloseUnresolved, MediatorOwn) => 200,
        (CloseUnresolved, MediatorPeer) => 403,
        (CloseUnresolved, Own | StaffOwn | Regulator | Admin) => 409,

        // The settlement's execution: the institution carries it out, the learner
        // confirms it or reports it was not; nobody else has a say.
        (Fulfil, StaffOwn) => 200,
        (Fulfil, Own | MediatorOwn | MediatorPeer | Regulator | Admin) => 403,
        (Confirm | ReportUnfulfilled, Own) => 200,
        (
            Confirm | ReportUnfulfilled,
            StaffOwn | MediatorOwn | MediatorPeer | Regulator | Admin,
        ) => 403,

        // Good-faith findings: the mediator who held the case, once it has ended.
        (GoodFaith, MediatorOwn) => 201,
        (GoodFaith, Own | StaffOwn | MediatorPeer | Regulator | Admin) => 403,
    }
}

/// Where a fresh case is taken before the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Submitted,
    AwaitingResponse,
    InfoRequested,
    Responded,
    Resolved,
    Withdrawn,
    /// Responded, then escalated: routed to an association.
    Escalated,
    /// Escalated, then withdrawn: closed, with an association.
    EscalatedWithdrawn,
    /// Escalated, then claimed by a mediator of the association (`MediatorOwn`).
    InMediation,
    /// In mediation, with an open offer from the institution.
    Offered,
    /// The learner accepted the institution's offer: a pending settlement.
    Settled,
    /// Settled, and the institution says it carried the settlement out.
    Fulfilled,
    /// In mediation, then closed without agreement by the mediator holding it.
    Unresolved,
}

impl Stage {
    fn state(self) -> &'static str {
        match self {
            Stage::Submitted => "submitted",
            Stage::AwaitingResponse => "awaiting_response",
            Stage::InfoRequested => "info_requested",
            Stage::Responded => "responded",
            Stage::Resolved => "resolved",
            Stage::Withdrawn | Stage::EscalatedWithdrawn => "withdrawn",
            Stage::Escalated => "awaiting_mediation",
            Stage::InMediation | Stage::Offered => "in_mediation",
            Stage::Settled | Stage::Fulfilled => "settled",
            Stage::Unresolved => "unresolved",
        }
    }

    /// The case passed through escalation on its way here, so it has an association.
    fn escalated(self) -> bool {
        match self {
            Stage::Submitted
            | Stage::AwaitingResponse
            | Stage::InfoRequested
            | Stage::Responded
            | Stage::Resolved
            | Stage::Withdrawn => false,
            Stage::Escalated
            | Stage::EscalatedWithdrawn
            | Stage::InMediation
            | Stage::Offered
            | Stage::Settled
            | Stage::Fulfilled
            | Stage::Unresolved => true,
        }
    }
}

/// The case state where the endpoint's rightful actor may act. Mediators see a case
/// only once it is routed to their association, so their rows use escalated cases; the
/// mediation endpoints act on routed cases anyway, so every caller gets the same stage.
fn stage(e: Endpoint, c: Caller) -> Option<Stage> {
    use Endpoint::*;
    let mediator = matches!(
        c,
        Caller::MediatorOwn | Caller::MediatorPeer | Caller::MediatorOther
    );
    Some(match e {
        File | List => return None,
        Assign => Stage::Escalated,
        Offer | CloseUnresolved => Stage::InMediation,
        Offers | AcceptOffer | DeclineOffer => Stage::Offered,
        Settlement | Fulfil | ReportUnfulfilled => Stage::Settled,
        Confirm => Stage::Fulfilled,
        GoodFaith => Stage::Unresolved,
        Rating if mediator => Stage::EscalatedWithdrawn,
        Messages if mediator => Stage::InMediation,
        Publication | AmendPublication => Stage::InMediation,
        Rating => Stage::Withdrawn,
        _ if mediator => Stage::Escalated,
        AcceptIntake | Reject => Stage::Submitted,
        Get | Events | Verify | RequestInfo | Respond | Withdraw | Messages => {
            Stage::AwaitingResponse
        }
        ProvideInfo => Stage::InfoRequested,
        AcceptResponse | Escalate => Stage::Responded,
        Dispute => Stage::Resolved,
    })
}

/// The action name of a lifecycle endpoint, and the state it leads to.
fn transition(e: Endpoint) -> Option<(&'static str, &'static str)> {
    use Endpoint::*;
    Some(match e {
        AcceptIntake => ("accept_intake", "awaiting_response"),
        Reject => ("reject", "rejected"),
        RequestInfo => ("request_info", "info_requested"),
        ProvideInfo => ("provide_info", "awaiting_response"),
        Respond => ("respond", "responded"),
        AcceptResponse => ("accept_response", "resolved"),
        Escalate => ("escalate", "awaiting_mediation"),
        Dispute => ("dispute", "awaiting_mediation"),
        Withdraw => ("withdraw", "withdrawn"),
        Assign => ("assign", "in_mediation"),
        Offer => ("offer", "in_mediation"),
        AcceptOffer => ("accept_offer", "settled"),
        DeclineOffer => ("decline_offer", "in_mediation"),
        CloseUnresolved => ("close_unresolved", "unresolved"),
        File | List | Get | Events | Verify | Messages | Rating | Offers | Settlement | Fulfil
        | Confirm | ReportUnfulfilled | GoodFaith | Publication | AmendPublication => return None,
    })
}

/// The timeline event a successful request writes: its lifecycle action, or the event of
/// a write that leaves the state (and the version) alone. Reads write nothing.
fn written(e: Endpoint) -> Option<&'static str> {
    use Endpoint::*;
    Some(match e {
        Messages => "message",
        Rating => "rate",
        Fulfil => "settlement_fulfilled",
        Confirm => "settlement_confirmed",
        ReportUnfulfilled => "settlement_unfulfilled",
        GoodFaith => "good_faith",
        AmendPublication => "publication_amended",
        AcceptIntake | Reject | RequestInfo | ProvideInfo | Respond | AcceptResponse | Escalate
        | Dispute | Withdraw | Assign | Offer | AcceptOffer | DeclineOffer | CloseUnresolved => {
            return transition(e).map(|(action, _)| action);
        }
        File | List | Get | Events | Verify | Offers | Settlement | Publication => return None,
    })
}

/// Two institutions in different regions, each with its own staff and its own
/// association (with a mediator; the own association has a second one), two learners,
/// a regulator and an admin.
pub struct World {
    own_inst: Uuid,
    other_inst: Uuid,
    own_assoc: Uuid,
    other_assoc: Uuid,
    learner: TestUser,
    other_learner: TestUser,
    staff_own: TestUser,
    staff_other: TestUser,
    mediator_own: TestUser,
    mediator_peer: TestUser,
    mediator_other: TestUser,
    regulator: TestUser,
    admin: TestUser,
}

impl World {
    fn user(&self, c: Caller) -> Option<&TestUser> {
        Some(match c {
            Caller::Anonymous => return None,
            Caller::Own => &self.learner,
            Caller::OtherLearner => &self.other_learner,
            Caller::StaffOwn => &self.staff_own,
            Caller::StaffOther => &self.staff_other,
            Caller::MediatorOwn => &self.mediator_own,
            Caller::MediatorPeer => &self.mediator_peer,
            Caller::MediatorOther => &self.mediator_other,
            Caller::Regulator => &self.regulator,
            Caller::Admin => &self.admin,
        })
    }

    fn token(&self, c: Caller) -> Option<&str> {
        self.user(c).map(|u| u.token.as_str())
    }
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let regulator = app.regulator().await;
    // Beijing (Haidian) and Shenzhen (Nanshan), each covered by its own association.
    let own_inst = app
        .institution(&regulator, &credit_code(1), "Own Online", "110108")
        .await;
    let other_inst = app
        .institution(&regulator, &credit_code(2), "Other Online", "440305")
        .await;
    let own_assoc = app
        .association(&admin, "北京市消费者协会", &["110000"])
        .await;
    let other_assoc = app
        .association(&admin, "广东省消费者委员会", &["440000"])
        .await;
    World {
        learner: app.learner().await,
        other_learner: app.learner().await,
        staff_own: app.user(Role::InstitutionStaff, Some(own_inst), None).await,
        staff_other: app
            .user(Role::InstitutionStaff, Some(other_inst), None)
            .await,
        mediator_own: app.user(Role::Mediator, None, Some(own_assoc)).await,
        mediator_peer: app.user(Role::Mediator, None, Some(own_assoc)).await,
        mediator_other: app.user(Role::Mediator, None, Some(other_assoc)).await,
        own_inst,
        other_inst,
        own_assoc,
        other_assoc,
        regulator,
        admin,
    }
}

/// A case as prepared: its id, the version it was left at, its number of events, the
/// institution's offer (from `Offered` on), and its offers ledger and settlement (null
/// when there is none) as the admin saw them.
struct Prepared {
    id: String,
    version: i64,
    events: usize,
    offer: Option<String>,
    offers: Vec<Value>,
    settlement: Value,
}

/// The institution's offer in prepared cases, and the offer each caller makes.
fn refund_offer() -> Value {
    json!({ "terms": [ { "kind": "refund", "amount_minor": 300_000 } ], "note": "Half the fee back." })
}

/// Files a case (intake review is on, so it starts `submitted`) and takes it to `stage`
/// through the rightful actors; mediation through the mediator of the association the
/// case is routed to.
async fn prepare(
    app: &TestApp,
    w: &World,
    stage: Stage,
    learner: &TestUser,
    inst: Uuid,
    staff: &TestUser,
) -> Prepared {
    let r = app
        .post("/api/v1/complaints", Some(&learner.token), filing(inst))
        .await
        .expect(201);
    assert_eq!(r.body["state"], "submitted", "intake review must be on");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let steps: &[(&TestUser, &str, Option<Value>)] = match stage {
        Stage::Submitted => &[],
        Stage::Withdrawn => &[(learner, "withdraw", Some(json!({})))],
        _ => &[(&w.regulator, "accept_intake", None)],
    };
    let mut events = 1;
    for (user, action, body) in steps {
        act(app, user, &id, action, body.clone()).await.expect(200);
        events += 1;
    }
    let more: Vec<(&TestUser, &str, Option<Value>)> = match stage {
        Stage::Submitted | Stage::Withdrawn | Stage::AwaitingResponse => vec![],
        Stage::InfoRequested => vec![(
            staff,
            "request_info",
            Some(json!({ "questions": "Order number?" })),
        )],
        Stage::Responded => vec![(staff, "respond", Some(refund_answer()))],
        Stage::Resolved => vec![
            (staff, "respond", Some(refund_answer())),
            (learner, "accept_response", None),
        ],
        Stage::Escalated
        | Stage::EscalatedWithdrawn
        | Stage::InMediation
        | Stage::Offered
        | Stage::Settled
        | Stage::Fulfilled
        | Stage::Unresolved => {
            let mut v = vec![
                (staff, "respond", Some(refund_answer())),
                (learner, "escalate", Some(json!({ "reason": "Not enough" }))),
            ];
            if stage == Stage::EscalatedWithdrawn {
                v.push((learner, "withdraw", Some(json!({}))));
            }
            v
        }
    };
    for (user, action, body) in more {
        act(app, user, &id, action, body).await.expect(200);
        events += 1;
    }
    let mediator = if inst == w.own_inst {
        &w.mediator_own
    } else {
        &w.mediator_other
    };
    let mut offer = None;
    if matches!(
        stage,
        Stage::InMediation | Stage::Offered | Stage::Settled | Stage::Fulfilled | Stage::Unresolved
    ) {
        act(app, mediator, &id, "assign", Some(json!({})))
            .await
            .expect(200);
        events += 1;
    }
    if matches!(stage, Stage::Offered | Stage::Settled | Stage::Fulfilled) {
        let r = act(app, staff, &id, "offer", Some(refund_offer()))
            .await
            .expect(201);
        offer = r.body["id"].as_str().map(str::to_owned);
        events += 1;
    }
    if matches!(stage, Stage::Settled | Stage::Fulfilled) {
        act(
            app,
            learner,
            &id,
            "accept_offer",
            Some(json!({ "offer_id": offer })),
        )
        .await
        .expect(200);
        events += 1;
    }
    if stage == Stage::Fulfilled {
        act(app, staff, &id, "settlement/fulfil", None)
            .await
            .expect(200);
        events += 1;
    }
    if stage == Stage::Unresolved {
        act(
            app,
            mediator,
            &id,
            "close_unresolved",
            Some(json!({ "referral": "court", "note": "No agreement." })),
        )
        .await
        .expect(200);
        events += 1;
    }
    let now = snapshot(app, w, &id).await;
    assert_eq!(now.case["state"], stage.state(), "{stage:?}: {}", now.case);
    assert_eq!(now.events.len(), events, "{stage:?}: {:?}", now.events);
    if stage.escalated() {
        let want = if inst == w.own_inst {
            w.own_assoc
        } else {
            w.other_assoc
        };
        assert_eq!(now.case["association_id"], want.to_string());
    }
    Prepared {
        id,
        version: now.case["version"].as_i64().unwrap(),
        events,
        offer,
        offers: now.offers,
        settlement: now.settlement,
    }
}

fn request(
    e: Endpoint,
    w: &World,
    caller: Caller,
    prepared: Option<&Prepared>,
) -> (Method, String, Option<Value>) {
    let id = prepared.map(|p| p.id.as_str()).unwrap_or_default();
    let offer_id = prepared.and_then(|p| p.offer.as_deref());
    let case = |tail: &str| format!("/api/v1/complaints/{id}{tail}");
    match e {
        Endpoint::File => (
            Method::POST,
            "/api/v1/complaints".into(),
            Some(filing(w.own_inst)),
        ),
        Endpoint::List => (Method::GET, "/api/v1/complaints".into(), None),
        Endpoint::Get => (Method::GET, case(""), None),
        Endpoint::Events => (Method::GET, case("/events"), None),
        Endpoint::Verify => (Method::GET, case("/verify"), None),
        Endpoint::AcceptIntake => (Method::POST, case("/accept_intake"), None),
        Endpoint::Reject => (
            Method::POST,
            case("/reject"),
            Some(json!({ "reason": "out_of_scope", "note": "Not an online course." })),
        ),
        Endpoint::RequestInfo => (
            Method::POST,
            case("/request_info"),
            Some(json!({ "questions": "Which course?" })),
        ),
        Endpoint::ProvideInfo => (
            Method::POST,
            case("/provide_info"),
            Some(json!({ "answer": "Order #A-1234" })),
        ),
        Endpoint::Respond => (Method::POST, case("/respond"), Some(refund_answer())),
        Endpoint::AcceptResponse => (Method::POST, case("/accept_response"), None),
        Endpoint::Escalate => (
            Method::POST,
            case("/escalate"),
            Some(json!({ "reason": "The refund is too small" })),
        ),
        Endpoint::Dispute => (
            Method::POST,
            case("/dispute"),
            Some(json!({ "reason": "The refund never arrived" })),
        ),
        Endpoint::Withdraw => (
            Method::POST,
            case("/withdraw"),
            Some(json!({ "reason": "Settled privately" })),
        ),
        Endpoint::Messages => (
            Method::POST,
            case("/messages"),
            Some(json!({ "text": "Any news?" })),
        ),
        Endpoint::Rating => (
            Method::POST,
            case("/rating"),
            Some(json!({ "score": 4, "comment": "Fair." })),
        ),
        // Mediators claim for themselves; an admin must name the mediator.
        Endpoint::Assign => (
            Method::POST,
            case("/assign"),
            Some(match caller {
                Caller::Admin => json!({ "mediator_id": w.mediator_own.id }),
                _ => json!({}),
            }),
        ),
        // A mediator must say on whose behalf (else 422); the parties must not.
        Endpoint::Offer => {
            let mut body = refund_offer();
            if matches!(
                caller,
                Caller::MediatorOwn | Caller::MediatorPeer | Caller::MediatorOther
            ) {
                body["on_behalf_of"] = json!("institution");
            }
            (Method::POST, case("/offer"), Some(body))
        }
        Endpoint::Offers => (Method::GET, case("/offers"), None),
        Endpoint::AcceptOffer => (
            Method::POST,
            case("/accept_offer"),
            Some(json!({ "offer_id": offer_id })),
        ),
        Endpoint::DeclineOffer => (
            Method::POST,
            case("/decline_offer"),
            Some(json!({ "offer_id": offer_id, "reason": "Not enough." })),
        ),
        Endpoint::CloseUnresolved => (
            Method::POST,
            case("/close_unresolved"),
            Some(json!({ "referral": "arbitration", "note": "The parties are too far apart." })),
        ),
        Endpoint::Settlement => (Method::GET, case("/settlement"), None),
        Endpoint::Fulfil => (Method::POST, case("/settlement/fulfil"), None),
        Endpoint::Confirm => (Method::POST, case("/settlement/confirm"), None),
        Endpoint::ReportUnfulfilled => (
            Method::POST,
            case("/settlement/report_unfulfilled"),
            Some(json!({ "note": "Nothing was refunded." })),
        ),
        Endpoint::Publication => (Method::GET, case("/publication"), None),
        Endpoint::AmendPublication => (
            Method::PUT,
            case("/publication"),
            Some(json!({ "text": "The course stopped after 12 of 60 lessons." })),
        ),
        Endpoint::GoodFaith => (
            Method::POST,
            case("/good_faith"),
            Some(json!({
                "learner_engaged": true,
                "institution_engaged": false,
                "institution_note": "Missed two meetings."
            })),
        ),
    }
}

/// A case as the admin sees it: the case, its timeline, its offers ledger and its
/// settlement (null when there is none).
struct Snapshot {
    case: Value,
    events: Vec<Value>,
    offers: Vec<Value>,
    settlement: Value,
}

async fn snapshot(app: &TestApp, w: &World, id: &str) -> Snapshot {
    let path = |tail: &str| format!("/api/v1/complaints/{id}{tail}");
    let admin = Some(w.admin.token.as_str());
    let items = |r: Reply| r.body["items"].as_array().unwrap().clone();
    let case = app.get(&path(""), admin).await.expect(200).body;
    let events = items(app.get(&path("/events"), admin).await.expect(200));
    let offers = items(app.get(&path("/offers"), admin).await.expect(200));
    let settlement = app.get(&path("/settlement"), admin).await;
    let settlement = match settlement.status.as_u16() {
        200 => settlement.body,
        404 => Value::Null,
        other => panic!("settlement of {id}: {other} {}", settlement.body),
    };
    Snapshot {
        case,
        events,
        offers,
        settlement,
    }
}

/// What else must hold beyond the status: problem bodies, the refusal's state and
/// allowed actions, and that only a successful request left a trace on the case.
async fn check_reply(
    app: &TestApp,
    w: &World,
    e: Endpoint,
    caller: Caller,
    case: Option<&Prepared>,
    got: &Reply,
) -> Vec<String> {
    let mut bad = vec![];
    let status = got.status.as_u16();
    let ok = (200..300).contains(&status);
    if status >= 400 {
        let ct = got
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        if ct != Some("application/problem+json") || got.body["status"] != status {
            bad.push(format!("not a problem body: {ct:?} {}", got.body));
        }
    }
    if e == Endpoint::File && status == 201 {
        let me = w.user(caller).map(|u| u.id.to_string());
        if got.body["learner_id"].as_str() != me.as_deref() || got.body["state"] != "submitted" {
            bad.push(format!("filed case is wrong: {}", got.body));
        }
    }
    let (Some(case), Some(stage)) = (case, stage(e, caller)) else {
        return bad;
    };
    if status == 409 {
        // The refusal says where the case stands and what this caller may do instead:
        // the same actions the caller's own view of the case lists.
        let view = app
            .get(&format!("/api/v1/complaints/{}", case.id), w.token(caller))
            .await;
        if got.body["state"] != stage.state() {
            bad.push(format!(
                "409 state {} != {}",
                got.body["state"],
                stage.state()
            ));
        }
        if !got.body["allowed_actions"].is_array()
            || got.body["allowed_actions"] != view.body["allowed_actions"]
        {
            bad.push(format!(
                "409 allowed_actions {} != the caller's view {}",
                got.body["allowed_actions"], view.body["allowed_actions"]
            ));
        }
    }
    let after = snapshot(app, w, &case.id).await;
    let version = after.case["version"].as_i64().unwrap();
    let last = after
        .events
        .last()
        .map(|e| e["action"].clone())
        .unwrap_or_default();
    // What a successful request writes to the timeline; reads and refusals write nothing.
    let wrote = if ok { written(e) } else { None };
    match wrote {
        None if version != case.version || after.events.len() != case.events => bad.push(format!(
            "the case changed: version {} -> {version}, events {} -> {}",
            case.version,
            case.events,
            after.events.len()
        )),
        Some(action) if last != action || after.events.len() != case.events + 1 => {
            bad.push(format!(
                "timeline after {e:?}: {} events, last {last}; want {}, last {action}",
                after.events.len(),
                case.events + 1
            ))
        }
        _ => {}
    }
    // Lifecycle actions and the rating change the case record, so its version; the
    // other writes (messages, settlement reports, good faith) only add to the timeline.
    let moved = ok && (transition(e).is_some() || e == Endpoint::Rating);
    if wrote.is_some() && version != case.version + i64::from(moved) {
        bad.push(format!(
            "{e:?} moved the version {} -> {version}",
            case.version
        ));
    }
    if let (Some((_, to)), true) = (transition(e), ok) {
        let reply_state = match e {
            // The reply is the offer, not the case.
            Endpoint::Offer => &after.case["state"],
            Endpoint::AcceptOffer => &got.body["complaint"]["state"],
            _ => &got.body["state"],
        };
        if after.case["state"] != to || *reply_state != to || version != case.version + 1 {
            bad.push(format!(
                "after {e:?}: state {} (reply {reply_state}), version {version}; want {to}, version {}",
                after.case["state"],
                case.version + 1
            ));
        }
    }
    // The offers ledger and the settlement change only through a successful write to them.
    let offers_written = ok
        && matches!(
            e,
            Endpoint::Offer | Endpoint::AcceptOffer | Endpoint::DeclineOffer
        );
    let settlement_written = ok
        && matches!(
            e,
            Endpoint::AcceptOffer
                | Endpoint::Fulfil
                | Endpoint::Confirm
                | Endpoint::ReportUnfulfilled
        );
    if !offers_written && after.offers != case.offers {
        bad.push(format!(
            "the offers ledger changed: {:?} -> {:?}",
            case.offers, after.offers
        ));
    }
    if !settlement_written && after.settlement != case.settlement {
        bad.push(format!(
            "the settlement changed: {} -> {}",
            case.settlement, after.settlement
        ));
    }
    if e == Endpoint::Rating && status == 200 && after.case["rating"] != 4 {
        bad.push(format!("rating not stored: {}", after.case["rating"]));
    }
    if e == Endpoint::Verify && status == 200 && got.body["intact"] != true {
        bad.push(format!("chain not intact: {}", got.body));
    }
    if e == Endpoint::Events
        && status == 200
        && got.body["items"].as_array().map(Vec::len) != Some(case.events)
    {
        bad.push(format!(
            "timeline has {} events, want {}",
            got.body["items"], case.events
        ));
    }
    if e == Endpoint::Get && status == 200 && got.body["id"] != case.id.as_str() {
        bad.push(format!("wrong case: {}", got.body["id"]));
    }
    if ok {
        bad.extend(mediation_effects(w, e, caller, case, &got.body, &after));
    }
    bad
}

/// What a successful mediation request did, in its reply and on the case afterwards.
fn mediation_effects(
    w: &World,
    e: Endpoint,
    caller: Caller,
    case: &Prepared,
    got: &Value,
    after: &Snapshot,
) -> Vec<String> {
    let me = w.user(caller).map(|u| u.id.to_string()).unwrap_or_default();
    let offer_id = case.offer.as_deref().unwrap_or_default();
    let offer_status = |id: &str| {
        after
            .offers
            .iter()
            .find(|o| o["id"] == id)
            .map(|o| o["status"].clone())
            .unwrap_or_default()
    };
    // The settlement after a report on it: the same one, in its new status.
    let reported = |status: &str| {
        got["status"] == status
            && got["id"] == case.settlement["id"]
            && after.settlement["status"] == status
    };
    let (fine, want) = match e {
        Endpoint::Assign => {
            // Mediators claim for themselves; the admin gave it to the named mediator.
            let holder = match caller {
                Caller::Admin => w.mediator_own.id.to_string(),
                _ => me.clone(),
            };
            let event = after.events.last().cloned().unwrap_or_default();
            (
                event["payload"]["mediator_id"] == holder.as_str()
                    && event["actor_id"] == me.as_str(),
                format!("held by {holder}, assigned by {me}: {event}"),
            )
        }
        Endpoint::Offer => {
            let (side, role) = match caller {
                Caller::Own => ("learner", "learner"),
                Caller::StaffOwn => ("institution", "institution_staff"),
                _ => ("institution", "mediator"),
            };
            (
                got["side"] == side
                    && got["made_by_role"] == role
                    && got["status"] == "open"
                    && got["terms"][0]["amount_minor"] == 300_000
                    && after.offers.len() == case.offers.len() + 1
                    && after.offers.last().map(|o| &o["id"]) == Some(&got["id"]),
                format!("an open offer for the {side} by the {role}, in the ledger"),
            )
        }
        Endpoint::Offers => (
            got["items"].as_array() == Some(&case.offers) && case.offers.len() == 1,
            format!("the ledger {:?}", case.offers),
        ),
        Endpoint::AcceptOffer => {
            let s = &got["settlement"];
            (
                s["offer_id"] == offer_id
                    && s["status"] == "pending"
                    && s["mediator_id"] == w.mediator_own.id.to_string()
                    && s["terms"][0]["amount_minor"] == 300_000
                    && after.settlement["id"] == s["id"]
                    && got["complaint"]["outcome"] == "monetary_relief"
                    && offer_status(offer_id) == "accepted",
                format!("a pending settlement of offer {offer_id}, now accepted"),
            )
        }
        Endpoint::DeclineOffer => (
            offer_status(offer_id) == "declined",
            format!("offer {offer_id} declined: {:?}", after.offers),
        ),
        Endpoint::CloseUnresolved => (
            got["outcome"] == "no_agreement" && after.case["outcome"] == "no_agreement",
            "outcome no_agreement".into(),
        ),
        Endpoint::Settlement => (
            *got == case.settlement && got["status"] == "pending" && got["offer_id"] == offer_id,
            format!("the pending settlement {}", case.settlement),
        ),
        Endpoint::Fulfil => (reported("fulfilled"), "fulfilled".into()),
        Endpoint::Confirm => (reported("confirmed"), "confirmed".into()),
        Endpoint::ReportUnfulfilled => (
            reported("unfulfilled") && got["report_note"] == "Nothing was refunded.",
            "reported unfulfilled, with the note".into(),
        ),
        Endpoint::GoodFaith => (
            got["learner_engaged"] == true && got["institution_engaged"] == false,
            "the findings as sent".into(),
        ),
        Endpoint::File
        | Endpoint::List
        | Endpoint::Get
        | Endpoint::Events
        | Endpoint::Verify
        | Endpoint::AcceptIntake
        | Endpoint::Reject
        | Endpoint::RequestInfo
        | Endpoint::ProvideInfo
        | Endpoint::Respond
        | Endpoint::AcceptResponse
        | Endpoint::Escalate
        | Endpoint::Dispute
        | Endpoint::Withdraw
        | Endpoint::Messages
        | Endpoint::Rating
        | Endpoint::Publication
        | Endpoint::AmendPublication => return vec![],
    };
    if fine {
        vec![]
    } else {
        vec![format!(
            "after {e:?}: want {want}; reply {got}, settlement {}",
            after.settlement
        )]
    }
}

#[tokio::test]
async fn every_case_endpoint_times_every_caller() {
    let app = spawn_app_with(|s| s.intake_review = true).await;
    let w = world(&app).await;
    let mut failures = vec![];
    let mut checked = 0;
    for e in ENDPOINTS {
        for caller in CALLERS {
            let case = match stage(e, caller) {
                Some(s) => Some(prepare(&app, &w, s, &w.learner, w.own_inst, &w.staff_own).await),
                None => None,
            };
            let (method, path, body) = request(e, &w, caller, case.as_ref());
            let got = app.request(method, &path, w.token(caller), body).await;
            let want = expected(e, caller);
            checked += 1;
            if got.status.as_u16() != want {
                failures.push(format!(
                    "{e:?} as {caller:?}: got {}, want {want}: {}",
                    got.status, got.body
                ));
            }
            for problem in check_reply(&app, &w, e, caller, case.as_ref(), &got).await {
                failures.push(format!("{e:?} as {caller:?}: {problem}"));
            }
        }
    }
    assert_eq!(checked, ENDPOINTS.len() * CALLERS.len());
    assert!(
        failures.is_empty(),
        "{} of {checked} pairs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Which of the list test's cases each caller may see.
fn sees(c: Caller) -> &'static [&'static str] {
    match c {
        Caller::Anonymous => &[],
        Caller::Own => &["a", "b", "e"],
        Caller::OtherLearner => &["c", "d"],
        Caller::StaffOwn => &["a", "b", "c"],
        Caller::StaffOther => &["d", "e"],
        Caller::MediatorOwn | Caller::MediatorPeer => &["b"],
        Caller::MediatorOther => &["d"],
        Caller::Regulator | Caller::Admin => &["a", "b", "c", "d", "e"],
    }
}

#[tokio::test]
async fn each_caller_lists_and_reads_exactly_the_cases_they_may_see() {
    let app = spawn_app_with(|s| s.intake_review = true).await;
    let w = world(&app).await;
    // a: own learner → own institution, with the institution (its region's association
    //    exists, but the case is not routed yet)
    // b: own learner → own institution, escalated to the own association
    // c: other learner → own institution, still in intake
    // d: other learner → other institution, escalated to the other association
    // e: own learner → other institution, withdrawn
    let cases = [
        (
            "a",
            prepare(
                &app,
                &w,
                Stage::AwaitingResponse,
                &w.learner,
                w.own_inst,
                &w.staff_own,
            )
            .await,
        ),
        (
            "b",
            prepare(
                &app,
                &w,
                Stage::Escalated,
                &w.learner,
                w.own_inst,
                &w.staff_own,
            )
            .await,
        ),
        (
            "c",
            prepare(
                &app,
                &w,
                Stage::Submitted,
                &w.other_learner,
                w.own_inst,
                &w.staff_own,
            )
            .await,
        ),
        (
            "d",
            prepare(
                &app,
                &w,
                Stage::Escalated,
                &w.other_learner,
                w.other_inst,
                &w.staff_other,
            )
            .await,
        ),
        (
            "e",
            prepare(
                &app,
                &w,
                Stage::Withdrawn,
                &w.learner,
                w.other_inst,
                &w.staff_other,
            )
            .await,
        ),
    ];
    let name_of = |id: &str| {
        cases
            .iter()
            .find(|(_, c)| c.id == id)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    };
    let mut failures = vec![];
    for caller in CALLERS {
        let token = w.token(caller);
        let want: BTreeSet<&str> = sees(caller).iter().copied().collect();

        let r = app.get("/api/v1/complaints?limit=200", token).await;
        if caller == Caller::Anonymous {
            if r.status != 401 {
                failures.push(format!("list as Anonymous: got {}", r.status));
            }
        } else {
            let got: BTreeSet<&str> = r.body["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|i| name_of(i["id"].as_str().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            if r.status != 200 || got != want || !r.body["next_cursor"].is_null() {
                failures.push(format!(
                    "list as {caller:?}: {} {got:?}, want {want:?}",
                    r.status
                ));
            }

            // Paging one by one walks the same scoped set.
            let mut paged = BTreeSet::new();
            let mut cursor: Option<String> = None;
            for _ in 0..10 {
                let path = match &cursor {
                    Some(c) => format!("/api/v1/complaints?limit=1&cursor={c}"),
                    None => "/api/v1/complaints?limit=1".into(),
                };
                let page = app.get(&path, token).await.expect(200);
                for i in page.body["items"].as_array().unwrap() {
                    paged.insert(name_of(i["id"].as_str().unwrap()));
                }
                match page.body["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            if paged != want {
                failures.push(format!(
                    "paged list as {caller:?}: {paged:?}, want {want:?}"
                ));
            }
        }

        // Reading each case agrees with the list: visible → 200, otherwise 404.
        for (name, case) in &cases {
            let r = app
                .get(&format!("/api/v1/complaints/{}", case.id), token)
                .await;
            let want = match (caller, want.contains(name)) {
                (Caller::Anonymous, _) => 401,
                (_, true) => 200,
                (_, false) => 404,
            };
            if r.status != want {
                failures.push(format!(
                    "get {name} as {caller:?}: got {}, want {want}",
                    r.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
