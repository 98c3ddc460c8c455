//! Mediation by consumer associations, over HTTP.
use chrono::Duration;
use entity::account::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, TestUser, spawn_app},
    lifecycle::{Case, act, filed_case},
};

struct Mediation {
    case: Case,
    admin: TestUser,
    /// Mediators of the Beijing association (the case's region) and of Shanghai's.
    mediator: TestUser,
    other_mediator: TestUser,
    beijing: Uuid,
}

/// A case escalated to the Beijing association (institution region 110108).
async fn escalated(app: &TestApp) -> Mediation {
    let admin = app.admin().await;
    let beijing = app
        .association(&admin, "北京市消费者协会", &["110000"])
        .await;
    let shanghai = app
        .association(&admin, "上海市消费者权益保护委员会", &["310000"])
        .await;
    let mediator = app.user(Role::Mediator, None, Some(beijing)).await;
    let other_mediator = app.user(Role::Mediator, None, Some(shanghai)).await;
    let case = filed_case(app).await;
    act(
        app,
        &case.staff,
        &case.id,
        "respond",
        Some(json!({ "message": "Policy says no.", "remedy": "explanation" })),
    )
    .await
    .expect(200);
    let r = act(
        app,
        &case.learner,
        &case.id,
        "escalate",
        Some(json!({ "reason": "I want my money back" })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["association_id"], beijing.to_string());
    Mediation {
        case,
        admin,
        mediator,
        other_mediator,
        beijing,
    }
}

fn refund(amount: i64) -> Value {
    json!({ "terms": [ { "kind": "refund", "amount_minor": amount } ] })
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn from_escalation_through_offers_to_a_confirmed_settlement() {
    let app = spawn_app().await;
    let m = escalated(&app).await;
    let c = &m.case;

    // The queue: visible to the Beijing mediator, invisible to Shanghai's.
    let queue = app
        .get(
            "/api/v1/complaints?state=awaiting_mediation",
            Some(&m.mediator.token),
        )
        .await
        .expect(200);
    assert_eq!(ids(&queue.body), vec![c.id.to_string()]);
    let other = app
        .get("/api/v1/complaints", Some(&m.other_mediator.token))
        .await
        .expect(200);
    assert!(ids(&other.body).is_empty());
    app.get(
        &format!("/api/v1/complaints/{}", c.id),
        Some(&m.other_mediator.token),
    )
    .await
    .expect_problem(404);
    act(&app, &m.other_mediator, &c.id, "assign", Some(json!({})))
        .await
        .expect_problem(404);

    // Claim.
    let r = act(&app, &m.mediator, &c.id, "assign", Some(json!({})))
        .await
        .expect(200);
    assert_eq!(r.body["state"], "in_mediation");
    assert_eq!(r.body["deadline"]["clock"], "mediation");

    // The institution offers, the learner declines, then counter-offers; the institution accepts.
    let first = app
        .post(
            &format!("/api/v1/complaints/{}/offer", c.id),
            Some(&c.staff.token),
            refund(200_000),
        )
        .await
        .expect(201);
    assert_eq!(first.body["side"], "institution");
    let first_id = first.body["id"].as_str().unwrap().to_owned();
    // The institution cannot accept its own offer.
    act(
        &app,
        &c.staff,
        &c.id,
        "accept_offer",
        Some(json!({ "offer_id": first_id })),
    )
    .await
    .expect_problem(409);
    act(
        &app,
        &c.learner,
        &c.id,
        "decline_offer",
        Some(json!({ "offer_id": first_id, "reason": "Too little" })),
    )
    .await
    .expect(200);
    let counter = app
        .post(
            &format!("/api/v1/complaints/{}/offer", c.id),
            Some(&c.learner.token),
            json!({ "terms": [ { "kind": "refund", "amount_minor": 500_000 }, { "kind": "explanation_or_apology", "text": "A written apology" } ] }),
        )
        .await
        .expect(201);
    let counter_id = counter.body["id"].as_str().unwrap().to_owned();
    let settled = act(
        &app,
        &c.staff,
        &c.id,
        "accept_offer",
        Some(json!({ "offer_id": counter_id })),
    )
    .await
    .expect(200);
    assert_eq!(settled.body["complaint"]["state"], "settled");
    assert_eq!(settled.body["complaint"]["outcome"], "monetary_relief");
    assert_eq!(settled.body["settlement"]["status"], "pending");
    assert_eq!(
        settled.body["settlement"]["mediator_id"],
        m.mediator.id.to_string()
    );
    assert_eq!(
        settled.body["settlement"]["terms"][0]["amount_minor"],
        500_000
    );
    assert_eq!(
        settled.body["complaint"]["deadline"]["clock"],
        "institution"
    );

    // The ledger shows every offer and its fate.
    let ledger = app
        .get(
            &format!("/api/v1/complaints/{}/offers", c.id),
            Some(&m.mediator.token),
        )
        .await
        .expect(200);
    let statuses: Vec<&str> = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["declined", "accepted"]);

    // Carried out and confirmed.
    let path = |what: &str| format!("/api/v1/complaints/{}/settlement/{what}", c.id);
    app.post(&path("fulfil"), Some(&c.learner.token), json!({}))
        .await
        .expect_problem(403);
    app.post(&path("fulfil"), Some(&c.staff.token), json!({}))
        .await
        .expect(200);
    let done = app
        .post(&path("confirm"), Some(&c.learner.token), json!({}))
        .await
        .expect(200);
    assert_eq!(done.body["status"], "confirmed");

    let events = app
        .get(
            &format!("/api/v1/complaints/{}/events", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    let actions: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "file",
            "respond",
            "escalate",
            "assign",
            "offer",
            "decline_offer",
            "offer",
            "accept_offer",
            "settlement_fulfilled",
            "settlement_confirmed"
        ]
    );
    let verify = app
        .get(
            &format!("/api/v1/complaints/{}/verify", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(verify.body["intact"], true);
    let _ = m.beijing;
}

#[tokio::test]
async fn mediation_can_end_without_agreement_and_bad_faith_is_recorded() {
    let app = spawn_app().await;
    let m = escalated(&app).await;
    let c = &m.case;
    act(&app, &m.mediator, &c.id, "assign", Some(json!({})))
        .await
        .expect(200);
    // Only the mediator holding the case closes it.
    let second = app.user(Role::Mediator, None, Some(m.beijing)).await;
    act(
        &app,
        &second,
        &c.id,
        "close_unresolved",
        Some(json!({ "referral": "court", "note": "x" })),
    )
    .await
    .expect_problem(403);
    let r = act(
        &app,
        &m.mediator,
        &c.id,
        "close_unresolved",
        Some(json!({ "referral": "arbitration", "note": "The institution would not engage." })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "unresolved");
    assert_eq!(r.body["outcome"], "no_agreement");

    let gf = json!({ "learner_engaged": true, "institution_engaged": false, "institution_note": "Ignored three meetings" });
    app.post(
        &format!("/api/v1/complaints/{}/good_faith", c.id),
        Some(&second.token),
        gf.clone(),
    )
    .await
    .expect_problem(403);
    app.post(
        &format!("/api/v1/complaints/{}/good_faith", c.id),
        Some(&m.mediator.token),
        gf.clone(),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/complaints/{}/good_faith", c.id),
        Some(&m.mediator.token),
        gf,
    )
    .await
    .expect_problem(409);
    let record = app
        .get(
            &format!("/api/v1/institutions/{}/record", c.institution),
            None,
        )
        .await
        .expect(200);
    assert_eq!(record.body["bad_faith_findings"], 1);
}

#[tokio::test]
async fn expired_and_superseded_offers_cannot_be_accepted() {
    let app = spawn_app().await;
    let m = escalated(&app).await;
    let c = &m.case;
    act(&app, &m.mediator, &c.id, "assign", Some(json!({})))
        .await
        .expect(200);
    let offer_path = format!("/api/v1/complaints/{}/offer", c.id);

    let mut short = refund(100_000);
    short["expires_at"] = json!((app.clock_now() + Duration::days(2)).to_rfc3339());
    let old = app
        .post(&offer_path, Some(&c.staff.token), short)
        .await
        .expect(201);
    let old_id = old.body["id"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::days(3));
    let r = act(
        &app,
        &c.learner,
        &c.id,
        "accept_offer",
        Some(json!({ "offer_id": old_id })),
    )
    .await
    .expect_problem(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("expired"),
        "{}",
        r.body
    );

    // A new offer from the same side supersedes the open one.
    let a = app
        .post(&offer_path, Some(&c.staff.token), refund(150_000))
        .await
        .expect(201);
    let b = app
        .post(&offer_path, Some(&c.staff.token), refund(180_000))
        .await
        .expect(201);
    let r = act(
        &app,
        &c.learner,
        &c.id,
        "accept_offer",
        Some(json!({ "offer_id": a.body["id"] })),
    )
    .await
    .expect_problem(409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("superseded"),
        "{}",
        r.body
    );
    act(
        &app,
        &c.learner,
        &c.id,
        "accept_offer",
        Some(json!({ "offer_id": b.body["id"] })),
    )
    .await
    .expect(200);

    // A mediator must say on whose behalf; the expiry must be ahead; terms must make sense.
    let c2 = filed_case(&app).await;
    act(
        &app,
        &c2.staff,
        &c2.id,
        "respond",
        Some(json!({ "message": "No.", "remedy": "explanation" })),
    )
    .await
    .expect(200);
    act(
        &app,
        &c2.learner,
        &c2.id,
        "escalate",
        Some(json!({ "reason": "No." })),
    )
    .await
    .expect(200);
    act(&app, &m.mediator, &c2.id, "assign", Some(json!({})))
        .await
        .expect(200);
    let p2 = format!("/api/v1/complaints/{}/offer", c2.id);
    app.post(&p2, Some(&m.mediator.token), refund(1))
        .await
        .expect_problem(422);
    let mut on_behalf = refund(90_000);
    on_behalf["on_behalf_of"] = json!("institution");
    let r = app
        .post(&p2, Some(&m.mediator.token), on_behalf)
        .await
        .expect(201);
    assert_eq!(r.body["made_by_role"], "mediator");
    app.post(
        &p2,
        Some(&c2.staff.token),
        json!({ "terms": [ { "kind": "refund", "amount_minor": -5 } ] }),
    )
    .await
    .expect_problem(422);
    app.post(
        &p2,
        Some(&c2.staff.token),
        json!({ "terms": [ { "kind": "class_hour_credit" } ] }),
    )
    .await
    .expect_problem(422);
    let mut past = refund(1000);
    past["expires_at"] = json!((app.clock_now() - Duration::hours(1)).to_rfc3339());
    app.post(&p2, Some(&c2.staff.token), past)
        .await
        .expect_problem(422);
}

#[tokio::test]
async fn an_admin_assigns_only_a_mediator_of_the_cases_association() {
    let app = spawn_app().await;
    let m = escalated(&app).await;
    let c = &m.case;
    let r = act(
        &app,
        &m.admin,
        &c.id,
        "assign",
        Some(json!({ "mediator_id": m.other_mediator.id })),
    )
    .await
    .expect_problem(422);
    assert_eq!(r.field_errors(), ["mediator_id"]);
    let r = act(
        &app,
        &m.admin,
        &c.id,
        "assign",
        Some(json!({ "mediator_id": m.mediator.id })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "in_mediation");
    // The assigned mediator holds it; another Beijing mediator cannot offer on it.
    let second = app.user(Role::Mediator, None, Some(m.beijing)).await;
    let mut o = refund(1000);
    o["on_behalf_of"] = json!("learner");
    app.post(
        &format!("/api/v1/complaints/{}/offer", c.id),
        Some(&second.token),
        o,
    )
    .await
    .expect_problem(403);
}

#[tokio::test]
async fn an_unfulfilled_settlement_counts_against_the_institution() {
    let app = spawn_app().await;
    let m = escalated(&app).await;
    let c = &m.case;
    act(&app, &m.mediator, &c.id, "assign", Some(json!({})))
        .await
        .expect(200);
    let o = app
        .post(
            &format!("/api/v1/complaints/{}/offer", c.id),
            Some(&c.staff.token),
            json!({ "terms": [ { "kind": "class_hour_credit", "hours": 10 } ] }),
        )
        .await
        .expect(201);
    let s = act(
        &app,
        &c.learner,
        &c.id,
        "accept_offer",
        Some(json!({ "offer_id": o.body["id"] })),
    )
    .await
    .expect(200);
    assert_eq!(s.body["complaint"]["outcome"], "non_monetary_relief");
    let due: chrono::DateTime<chrono::Utc> = s.body["settlement"]["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // The due date passes without fulfilment.
    app.clock.set(due + Duration::seconds(1));
    assert_eq!(app.sweep().await.deadlines, 1);
    let st = app
        .get(
            &format!("/api/v1/complaints/{}/settlement", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(st.body["status"], "overdue");
    let record = app
        .get(
            &format!("/api/v1/institutions/{}/record", c.institution),
            None,
        )
        .await
        .expect(200);
    assert_eq!(record.body["settlements_unfulfilled"], 1);

    let r = app
        .post(
            &format!("/api/v1/complaints/{}/settlement/report_unfulfilled", c.id),
            Some(&c.learner.token),
            json!({ "note": "No classes were credited" }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "unfulfilled");
    assert_eq!(r.body["report_note"], "No classes were credited");

    // The disclosure counters agree with a recomputation from the cases, and count this
    // settlement once although it was both overdue and reported.
    let differences = redress::service::stats::verify(&app.db).await.unwrap();
    assert!(differences.is_empty(), "{differences:?}");
}

#[tokio::test]
async fn mediation_that_runs_out_of_time_ends_unresolved() {
    let app = spawn_app().await;
    let m = escalated(&app).await;
    let c = &m.case;
    let r = act(&app, &m.mediator, &c.id, "assign", Some(json!({})))
        .await
        .expect(200);
    let due: chrono::DateTime<chrono::Utc> = r.body["deadline"]["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.clock.set(due);
    let s = app.sweep().await;
    assert_eq!(s.deadlines, 1);
    let v = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(v.body["state"], "unresolved");
    assert_eq!(v.body["outcome"], "no_agreement");
}

#[tokio::test]
async fn the_refund_calculator() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/tools/refund-estimate",
            None,
            json!({ "paid": { "amount_minor": 1_000_000, "currency": "CNY" }, "class_hours_bought": 100,
                    "class_hours_used": 25, "days_since_purchase": 40, "course_started": true }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["refund"]["amount_minor"], 750_000);
    assert_eq!(r.body["basis"], "prorated_unused_hours");
    assert_eq!(r.body["warnings"][0]["kind"], "exceeds_class_hours");
    let r = app
        .post(
            "/api/v1/tools/refund-estimate",
            None,
            json!({ "paid": { "amount_minor": 500_000, "currency": "CNY" }, "class_hours_bought": 40, "course_started": false }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["refund"]["amount_minor"], 500_000);
    let bad = app
        .post(
            "/api/v1/tools/refund-estimate",
            None,
            json!({ "paid": { "amount_minor": 500_000, "currency": "CNY" }, "class_hours_bought": 10, "class_hours_used": 11, "course_started": true }),
        )
        .await
        .expect_problem(422);
    assert_eq!(bad.field_errors(), ["hours_used"]);
}
