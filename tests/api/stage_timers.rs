//! A deadline belongs to a stage entry: changes that keep the case in its stage (an
//! offer, a declined offer, a message, an attachment, a rating, a public response, a
//! good-faith finding, a publication amendment, the warning itself) never cancel it.
//! Each case below takes one such change, then the clock passes the deadline and one
//! sweep must act on every case.
use chrono::{DateTime, Duration, Utc};
use entity::account::Role;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestUser, spawn_app},
    lifecycle::{Case, act, filed_case, filing},
};

/// One learner, institution, association and mediator; cases are filed on demand.
pub struct World {
    pub case: Case,
    pub mediator: TestUser,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let beijing = app
        .association(&admin, "北京市消费者协会", &["110000"])
        .await;
    let mediator = app.user(Role::Mediator, None, Some(beijing)).await;
    World {
        case: filed_case(app).await,
        mediator,
    }
}

/// The world without its first case's timers: withdrawn, so only the cases a test
/// files have deadlines.
pub async fn quiet_world(app: &TestApp) -> World {
    let w = world(app).await;
    act(
        app,
        &w.case.learner,
        &w.case.id,
        "withdraw",
        Some(json!({})),
    )
    .await
    .expect(200);
    w
}

fn due_of(deadline: &Value) -> DateTime<Utc> {
    deadline["due_at"].as_str().unwrap().parse().unwrap()
}

/// Files a case, has the institution answer, the learner escalate and the mediator
/// claim it. Returns the case id and its mediation deadline.
async fn in_mediation(app: &TestApp, w: &World) -> (String, DateTime<Utc>) {
    let c = &w.case;
    let id = app
        .post(
            "/api/v1/complaints",
            Some(&c.learner.token),
            filing(c.institution),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    act(
        app,
        &c.staff,
        &id,
        "respond",
        Some(json!({ "message": "Policy says no.", "remedy": "explanation" })),
    )
    .await
    .expect(200);
    act(
        app,
        &c.learner,
        &id,
        "escalate",
        Some(json!({ "reason": "I want my money back" })),
    )
    .await
    .expect(200);
    let r = act(app, &w.mediator, &id, "assign", Some(json!({})))
        .await
        .expect(200);
    (id, due_of(&r.body["deadline"]))
}

/// A case in mediation settled on an institution's offer. Returns the case id and the
/// settlement's fulfilment due date.
pub async fn settled(app: &TestApp, w: &World) -> (String, DateTime<Utc>) {
    let c = &w.case;
    let (id, _) = in_mediation(app, w).await;
    let o = make_offer(app, &c.staff, &id).await;
    let s = act(
        app,
        &c.learner,
        &id,
        "accept_offer",
        Some(json!({ "offer_id": o })),
    )
    .await
    .expect(200);
    (id, due_of(&s.body["settlement"]))
}

async fn make_offer(app: &TestApp, by: &TestUser, id: &str) -> String {
    app.post(
        &format!("/api/v1/complaints/{id}/offer"),
        Some(&by.token),
        json!({ "terms": [ { "kind": "refund", "amount_minor": 200_000 } ] }),
    )
    .await
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The in-stage changes, each applied to its own case.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// Nothing but the warning that fires before the deadline.
    WarningOnly,
    Offer,
    DeclineOffer,
    Message,
    Attachment,
    PublicResponse,
    PublicationAmendment,
    Rating,
    GoodFaith,
}

async fn apply(app: &TestApp, w: &World, id: &str, change: Change) {
    let c = &w.case;
    match change {
        Change::WarningOnly => {}
        Change::Offer => {
            make_offer(app, &c.staff, id).await;
        }
        Change::DeclineOffer => {
            let o = make_offer(app, &c.staff, id).await;
            act(
                app,
                &c.learner,
                id,
                "decline_offer",
                Some(json!({ "offer_id": o, "reason": "Too little" })),
            )
            .await
            .expect(200);
        }
        Change::Message => {
            app.post(
                &format!("/api/v1/complaints/{id}/messages"),
                Some(&c.learner.token),
                json!({ "text": "Any news?" }),
            )
            .await
            .expect(201);
        }
        Change::Attachment => {
            let form = Form::new().part(
                "file",
                Part::bytes(b"receipt: 12800 CNY".to_vec()).file_name("receipt.txt"),
            );
            let resp = app
                .client
                .post(app.url(&format!("/api/v1/complaints/{id}/attachments")))
                .bearer_auth(&c.learner.token)
                .multipart(form)
                .send()
                .await
                .unwrap();
            TestApp::read(resp).await.expect(201);
        }
        Change::PublicResponse => {
            app.put(
                &format!("/api/v1/complaints/{id}/public_response"),
                Some(&c.staff.token),
                json!({ "kind": "under_review", "text": "We are talking to the learner." }),
            )
            .await
            .expect(200);
        }
        Change::PublicationAmendment => {
            app.put(
                &format!("/api/v1/complaints/{id}/publication"),
                Some(&w.mediator.token),
                json!({ "text": "The teacher stopped showing up." }),
            )
            .await
            .expect(200);
        }
        Change::Rating => {
            app.post(
                &format!("/api/v1/complaints/{id}/rating"),
                Some(&c.learner.token),
                json!({ "score": 4 }),
            )
            .await
            .expect(200);
        }
        Change::GoodFaith => {
            app.post(
                &format!("/api/v1/complaints/{id}/good_faith"),
                Some(&w.mediator.token),
                json!({ "learner_engaged": true, "institution_engaged": true }),
            )
            .await
            .expect(201);
        }
    }
}

/// Passes the warning (one sweep, which must warn every case), then the deadline (one
/// sweep, which must act on every case).
async fn run_out_the_clock(app: &TestApp, due: DateTime<Utc>, cases: usize) {
    app.clock.set(due - Duration::hours(1));
    let s = app.sweep().await;
    assert_eq!((s.warnings, s.deadlines), (cases, 0), "{s:?}");
    app.clock.set(due + Duration::seconds(1));
    let s = app.sweep().await;
    assert_eq!((s.deadlines, s.skipped), (cases, 0), "{s:?}");
}

#[tokio::test]
async fn mediation_times_out_whatever_happened_within_it() {
    let app = spawn_app().await;
    let w = quiet_world(&app).await;
    let changes = [
        Change::WarningOnly,
        Change::Offer,
        Change::DeclineOffer,
        Change::Message,
        Change::Attachment,
        Change::PublicResponse,
        Change::PublicationAmendment,
    ];
    let mut cases = vec![];
    let mut due = None;
    for change in changes {
        let (id, d) = in_mediation(&app, &w).await;
        // Every case entered mediation at the same fake instant.
        assert!(due.is_none_or(|x| x == d));
        due = Some(d);
        apply(&app, &w, &id, change).await;
        cases.push((id, change));
    }
    run_out_the_clock(&app, due.unwrap(), cases.len()).await;
    let mut failures = vec![];
    for (id, change) in &cases {
        let v = app
            .get(
                &format!("/api/v1/complaints/{id}"),
                Some(&w.case.learner.token),
            )
            .await
            .expect(200)
            .body;
        if v["state"] != "unresolved" || v["outcome"] != "no_agreement" {
            failures.push(format!("{change:?}: {} / {}", v["state"], v["outcome"]));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[tokio::test]
async fn a_settlement_goes_overdue_whatever_happened_after_it() {
    let app = spawn_app().await;
    let w = quiet_world(&app).await;
    let changes = [
        Change::WarningOnly,
        Change::Rating,
        Change::GoodFaith,
        Change::PublicResponse,
        Change::PublicationAmendment,
    ];
    let mut cases = vec![];
    let mut due = None;
    for change in changes {
        let (id, d) = settled(&app, &w).await;
        assert!(due.is_none_or(|x| x == d));
        due = Some(d);
        apply(&app, &w, &id, change).await;
        cases.push((id, change));
    }
    run_out_the_clock(&app, due.unwrap(), cases.len()).await;
    let mut failures = vec![];
    for (id, change) in &cases {
        let s = app
            .get(
                &format!("/api/v1/complaints/{id}/settlement"),
                Some(&w.case.learner.token),
            )
            .await
            .expect(200)
            .body;
        if s["status"] != "overdue" {
            failures.push(format!("{change:?}: {}", s["status"]));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    let record = app
        .get(
            &format!("/api/v1/institutions/{}/record", w.case.institution),
            None,
        )
        .await
        .expect(200);
    assert_eq!(record.body["settlements_unfulfilled"], cases.len());
    let differences = redress::service::stats::verify(&app.db).await.unwrap();
    assert!(differences.is_empty(), "{differences:?}");
}

#[tokio::test]
async fn a_response_deadline_survives_messages_and_evidence() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let c = &w.case;
    let due: DateTime<Utc> = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200)
        .body["institution_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    apply(&app, &w, &c.id, Change::Message).await;
    apply(&app, &w, &c.id, Change::Attachment).await;
    run_out_the_clock(&app, due, 1).await;
    let v = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(v["state"], "awaiting_mediation");
    assert_eq!(v["timely"], false);
}
