//! Paths through DESIGN §2 over HTTP.
use chrono::Duration;
use entity::account::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, credit_code, spawn_app, spawn_app_with};

#[allow(dead_code)] // not every test reads every field
pub struct Case {
    pub learner: TestUser,
    pub staff: TestUser,
    pub regulator: TestUser,
    pub institution: Uuid,
    pub id: String,
}

pub fn filing(institution: Uuid) -> Value {
    json!({
        "institution_id": institution,
        "category": "refund",
        "title": "退费申请被拒",
        "narrative": "I paid for 100 class hours and the teacher stopped showing up.",
        "desired_remedy": "partial_refund",
        "desired_amount": { "amount_minor": 500000, "currency": "CNY" },
        "amount_prepaid": { "amount_minor": 1280000, "currency": "CNY" },
        "class_hours_bought": 100,
        "class_hours_used": 20,
        "consent_to_publish": true
    })
}

/// A learner, an institution with one staff member, and a filed case.
pub async fn filed_case(app: &TestApp) -> Case {
    let regulator = app.regulator().await;
    let institution = app
        .institution(&regulator, &credit_code(rand_n()), "Case Online", "110108")
        .await;
    let staff = app
        .user(Role::InstitutionStaff, Some(institution), None)
        .await;
    let learner = app.learner().await;
    let r = app
        .post(
            "/api/v1/complaints",
            Some(&learner.token),
            filing(institution),
        )
        .await
        .expect(201);
    Case {
        id: r.body["id"].as_str().unwrap().to_owned(),
        learner,
        staff,
        regulator,
        institution,
    }
}

pub fn rand_n() -> u32 {
    (Uuid::new_v4().as_u128() % 900_000_000) as u32
}

pub async fn act(
    app: &TestApp,
    user: &TestUser,
    id: &str,
    action: &str,
    body: Option<Value>,
) -> crate::helpers::Reply {
    app.request(
        reqwest::Method::POST,
        &format!("/api/v1/complaints/{id}/{action}"),
        Some(&user.token),
        body,
    )
    .await
}

pub fn refund_answer() -> Value {
    json!({ "message": "We will refund the unused hours.", "remedy": "refund",
            "refund": { "amount_minor": 1024000, "currency": "CNY" } })
}

#[tokio::test]
async fn file_respond_accept_resolves_with_monetary_relief() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let got = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(got.body["state"], "awaiting_response");
    assert!(
        got.body["reference"]
            .as_str()
            .unwrap()
            .starts_with("ED-2026-")
    );
    assert_eq!(got.body["deadline"]["clock"], "institution");
    assert_eq!(
        got.body["prepayment_warnings"][0]["kind"],
        "exceeds_class_hours"
    );
    assert_eq!(got.body["allowed_actions"], json!(["withdraw"]));

    let staff_view = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.staff.token),
        )
        .await
        .expect(200);
    assert_eq!(
        staff_view.body["allowed_actions"],
        json!(["request_info", "respond"])
    );

    let r = act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    assert_eq!(r.body["state"], "responded");
    assert_eq!(r.body["timely"], true);
    assert_eq!(r.body["deadline"]["clock"], "learner");

    let r = act(&app, &c.learner, &c.id, "accept_response", None)
        .await
        .expect(200);
    assert_eq!(r.body["state"], "resolved");
    assert_eq!(r.body["outcome"], "monetary_relief");
    assert!(r.body["closed_at"].is_string());

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
    assert_eq!(actions, ["file", "respond", "accept_response"]);
    let v = app
        .get(
            &format!("/api/v1/complaints/{}/verify", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(v.body["intact"], true);
    assert_eq!(v.body["events"], 3);
}

#[tokio::test]
async fn file_respond_escalate_goes_to_the_covering_association() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let national = app.association(&admin, "中国消费者协会", &["000000"]).await;
    let beijing = app
        .association(&admin, "北京市消费者协会", &["110000"])
        .await;
    let c = filed_case(&app).await;
    act(
        &app,
        &c.staff,
        &c.id,
        "respond",
        Some(json!({ "message": "No.", "remedy": "explanation" })),
    )
    .await
    .expect(200);
    let r = act(
        &app,
        &c.learner,
        &c.id,
        "escalate",
        Some(json!({ "reason": "Not acceptable" })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "awaiting_mediation");
    assert_eq!(r.body["association_id"], beijing.to_string());
    assert_ne!(r.body["association_id"], national.to_string());
    assert_eq!(r.body["deadline"]["clock"], "association");
}

#[tokio::test]
async fn request_info_pauses_and_provide_info_resumes_the_institution_clock() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let before = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.staff.token),
        )
        .await
        .expect(200);
    let due_before = before.body["institution_due_at"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = act(
        &app,
        &c.staff,
        &c.id,
        "request_info",
        Some(json!({ "questions": "Order number?" })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "info_requested");
    assert_eq!(r.body["institution_clock_paused"], true);
    assert_eq!(r.body["deadline"]["clock"], "learner");

    // A week passes while the learner looks for the order number.
    app.clock.advance(Duration::days(7));
    let r = act(
        &app,
        &c.learner,
        &c.id,
        "provide_info",
        Some(json!({ "answer": "#A-1234" })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "awaiting_response");
    assert_eq!(r.body["institution_clock_paused"], false);
    let due_after = r.body["institution_due_at"].as_str().unwrap();
    assert!(
        due_after > due_before.as_str(),
        "{due_after} vs {due_before}"
    );

    let r = act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    assert_eq!(r.body["state"], "responded");
}

#[tokio::test]
async fn intake_review_accept_and_reject() {
    let app = spawn_app_with(|s| s.intake_review = true).await;
    let c = filed_case(&app).await;
    let got = app
        .get(
            &format!("/api/v1/complaints/{}", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(got.body["state"], "submitted");
    assert_eq!(got.body["deadline"]["clock"], "platform");
    // Staff cannot see a case still in intake? They can: it is their institution's case,
    // but they cannot act on it.
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect_problem(409);
    let r = act(&app, &c.regulator, &c.id, "accept_intake", None)
        .await
        .expect(200);
    assert_eq!(r.body["state"], "awaiting_response");

    let c2 = filed_case(&app).await;
    let r = act(
        &app,
        &c2.regulator,
        &c2.id,
        "reject",
        Some(json!({ "reason": "duplicate", "note": "Same as ED-2026-000001" })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "rejected");
    assert_eq!(r.body["outcome"], "rejected");
}

#[tokio::test]
async fn a_refused_action_is_409_with_the_state_and_allowed_actions() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let r = act(&app, &c.learner, &c.id, "accept_response", None)
        .await
        .expect_problem(409);
    assert_eq!(r.body["state"], "awaiting_response");
    assert_eq!(r.body["allowed_actions"], json!(["withdraw"]));
}

#[tokio::test]
async fn dispute_within_the_window_and_refused_after_it() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    act(&app, &c.learner, &c.id, "accept_response", None)
        .await
        .expect(200);
    let r = act(
        &app,
        &c.learner,
        &c.id,
        "dispute",
        Some(json!({ "reason": "Refund never arrived" })),
    )
    .await
    .expect(200);
    assert_eq!(r.body["state"], "awaiting_mediation");
    assert!(r.body.get("outcome").is_none());

    let late = filed_case(&app).await;
    act(
        &app,
        &late.staff,
        &late.id,
        "respond",
        Some(refund_answer()),
    )
    .await
    .expect(200);
    act(&app, &late.learner, &late.id, "accept_response", None)
        .await
        .expect(200);
    // 15 working days is three weeks here (no holidays in March 2026); add a margin.
    app.clock.advance(Duration::days(25));
    let r = act(
        &app,
        &late.learner,
        &late.id,
        "dispute",
        Some(json!({ "reason": "Too late?" })),
    )
    .await
    .expect_problem(409);
    assert_eq!(r.body["state"], "resolved");
    assert_eq!(r.body["allowed_actions"], json!([]));
}

#[tokio::test]
async fn withdraw_from_every_non_terminal_state_this_issue_reaches() {
    let app = spawn_app_with(|s| s.intake_review = true).await;
    // submitted
    let c = filed_case(&app).await;
    act(&app, &c.learner, &c.id, "withdraw", Some(json!({})))
        .await
        .expect(200);
    // awaiting_response, info_requested, responded, awaiting_mediation
    for stop_after in 0..4 {
        let c = filed_case(&app).await;
        act(&app, &c.regulator, &c.id, "accept_intake", None)
            .await
            .expect(200);
        if stop_after == 1 {
            act(
                &app,
                &c.staff,
                &c.id,
                "request_info",
                Some(json!({ "questions": "?" })),
            )
            .await
            .expect(200);
        }
        if stop_after >= 2 {
            act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
                .await
                .expect(200);
        }
        if stop_after == 3 {
            act(
                &app,
                &c.learner,
                &c.id,
                "escalate",
                Some(json!({ "reason": "no" })),
            )
            .await
            .expect(200);
        }
        let r = act(
            &app,
            &c.learner,
            &c.id,
            "withdraw",
            Some(json!({ "reason": "Settled privately" })),
        )
        .await
        .expect(200);
        assert_eq!(r.body["state"], "withdrawn");
        assert_eq!(r.body["outcome"], "withdrawn");
        act(&app, &c.learner, &c.id, "withdraw", Some(json!({})))
            .await
            .expect_problem(409);
    }
}

#[tokio::test]
async fn rating_once_after_closure() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let path = format!("/api/v1/complaints/{}/rating", c.id);
    app.post(&path, Some(&c.learner.token), json!({ "score": 4 }))
        .await
        .expect_problem(409);
    act(&app, &c.learner, &c.id, "withdraw", Some(json!({})))
        .await
        .expect(200);
    app.post(&path, Some(&c.learner.token), json!({ "score": 9 }))
        .await
        .expect_problem(400);
    app.post(&path, Some(&c.staff.token), json!({ "score": 1 }))
        .await
        .expect_problem(403);
    let r = app
        .post(
            &path,
            Some(&c.learner.token),
            json!({ "score": 4, "comment": "Quick." }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["rating"], 4);
    app.post(&path, Some(&c.learner.token), json!({ "score": 5 }))
        .await
        .expect_problem(409);
}
