//! Webhooks end to end: subscriptions over HTTP, a local receiver on 127.0.0.1, the
//! dispatcher's `run_once` at the fake clock's time (no sleeps to wait for it).
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::account::Role;
use redress::domain::webhook_signature::{VerifyError, WebhookSecret, verify};
use serde_json::{Value, json};

use crate::{
    helpers::{Answer, Receiver, TestApp, TestUser, spawn_app, spawn_app_with},
    lifecycle::{Case, act, filed_case, filing, refund_answer},
};

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Checks a received request's signature as a receiver would, with `secret`.
fn verify_with(secret: &str, r: &crate::helpers::Received) -> Result<(), VerifyError> {
    let secret = WebhookSecret::parse(secret).unwrap();
    let now: i64 = r.timestamp.parse().unwrap();
    verify(&secret, &r.id, &r.timestamp, &r.signature, &r.body, now)
}

async fn deliveries(app: &TestApp, user: &TestUser, hook: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/webhooks/{hook}/deliveries"),
        Some(&user.token),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn webhook(app: &TestApp, user: &TestUser, hook: &str) -> Value {
    app.get(&format!("/api/v1/webhooks/{hook}"), Some(&user.token))
        .await
        .expect(200)
        .body
}

/// A case, and its institution's staff subscribed to every event at a fresh receiver.
async fn subscribed_case(app: &TestApp) -> (Case, Receiver, Value) {
    let receiver = Receiver::start().await;
    let c = filed_case(app).await;
    // Subscribed a minute after the filing, so the filing is not sent.
    app.clock.advance(Duration::minutes(1));
    let hook = app.subscribe(&c.staff, &receiver.url, None).await;
    (c, receiver, hook)
}

async fn file_again(app: &TestApp, c: &Case) -> String {
    let r = app
        .post(
            "/api/v1/complaints",
            Some(&c.learner.token),
            filing(c.institution),
        )
        .await
        .expect(201);
    id_of(&r.body)
}

#[tokio::test]
async fn changes_reach_the_subscriber_signed_and_thin() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let c = filed_case(&app).await;
    app.clock.advance(Duration::minutes(1));
    let hook = app.subscribe(&c.staff, &receiver.url, None).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(WebhookSecret::parse(&secret).unwrap().to_whsec(), secret);
    assert!(hook["event_types"].is_null());

    // Filed before the subscription existed: not sent. The response is.
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let step = app.deliver().await;
    assert_eq!((step.attempted, step.succeeded), (1, 1), "{step:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert!(r.id.starts_with("msg_"), "{}", r.id);
    // The fake clock's time (plus the moments the step took).
    let sent_at: i64 = r.timestamp.parse().unwrap();
    let now = app.clock_now().timestamp();
    assert!((now..now + 5).contains(&sent_at), "{sent_at} vs {now}");
    verify_with(&secret, r).expect("signature verifies");
    assert!(r.signature.starts_with("v1,"));
    assert_eq!(r.json["type"], "complaint.responded");
    let data = &r.json["data"];
    assert_eq!(data["complaint_id"], c.id.as_str());
    assert!(data["reference"].as_str().unwrap().starts_with("ED-2026-"));
    assert_eq!(data["institution_id"], c.institution.to_string());
    assert_eq!(data["from_state"], "awaiting_response");
    assert_eq!(data["to_state"], "responded");
    assert_eq!(data["actor_role"], "institution_staff");
    assert_eq!(data["action"], "respond");
    // Thin: never the narrative, the answer's text, or who the learner is.
    let text = String::from_utf8(r.body.clone()).unwrap();
    for secret_text in [
        "teacher stopped showing up",
        "refund the unused hours",
        &c.learner.id.to_string(),
        &c.learner.email,
    ] {
        assert!(!text.contains(secret_text), "{text}");
    }

    // Nothing more to do; the delivery log shows the attempt.
    assert!(!app.deliver().await.busy());
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["state"], "succeeded");
    assert_eq!(log[0]["event_id"], r.id.as_str());
    assert_eq!(log[0]["event_type"], "complaint.responded");
    assert_eq!(log[0]["attempts"][0]["status_code"], 200);
    assert_eq!(log[0]["attempts"][0]["succeeded"], true);
    assert!(log[0]["attempts"][0]["latency_ms"].is_number());
    // The secret is shown once only.
    let shown = webhook(&app, &c.staff, &id_of(&hook)).await;
    assert!(shown.get("secret").is_none(), "{shown}");
    assert!(!shown.to_string().contains(&secret[6..]));
}

#[tokio::test]
async fn every_timeline_event_has_one_outbox_event_in_the_same_transaction() {
    use entity::{complaint_event, webhook_event};
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/complaints/{}/messages", c.id),
        Some(&c.learner.token),
        json!({ "text": "Thanks" }),
    )
    .await
    .expect(201);
    let count = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            (
                complaint_event::Entity::find().count(&db).await.unwrap(),
                webhook_event::Entity::find().count(&db).await.unwrap(),
            )
        }
    };
    assert_eq!(count(&app).await, (3, 3));
    // A refused change writes neither.
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(409);
    assert_eq!(count(&app).await, (3, 3));
    let types: Vec<String> = webhook_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "complaint.filed",
            "complaint.responded",
            "complaint.message_posted"
        ]
    );
}

#[tokio::test]
async fn failures_follow_the_retry_schedule_then_give_up() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    receiver.answer_all(Answer::status(500).body("oops"));
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let schedule = [
        Duration::seconds(5),
        Duration::minutes(5),
        Duration::minutes(30),
        Duration::hours(2),
        Duration::hours(5),
        Duration::hours(10),
        Duration::hours(10),
    ];
    for (i, base) in schedule.iter().enumerate() {
        let step = app.deliver().await;
        assert_eq!((step.attempted, step.failed), (1, 1), "attempt {}", i + 1);
        let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
        assert_eq!(log[0]["state"], "pending");
        assert_eq!(log[0]["attempt_count"], i + 1);
        let next = at(&log[0]["next_attempt_at"]);
        let wait = next - app.clock_now();
        let (lo, hi) = (*base * 9 / 10, *base * 11 / 10 + Duration::seconds(2));
        assert!(wait >= lo && wait <= hi, "attempt {}: waits {wait}", i + 1);
        // Not a moment before it is due.
        app.clock.set(next - Duration::milliseconds(1));
        assert_eq!(app.deliver().await.attempted, 0);
        app.clock.set(next);
    }
    // The eighth attempt is the last.
    let step = app.deliver().await;
    assert_eq!((step.attempted, step.given_up), (1, 1));
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(log[0]["state"], "failed");
    assert!(log[0].get("next_attempt_at").is_none());
    let attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 8);
    assert!(attempts.iter().all(|a| a["status_code"] == 500));
    assert!(attempts.iter().all(|a| a["response_body"] == "oops"));
    app.clock.advance(Duration::days(2));
    assert_eq!(app.deliver().await.attempted, 0);

    // The same webhook-id every time, a new timestamp each time.
    let got = receiver.received();
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|r| r.id == got[0].id));
    let stamps: std::collections::HashSet<_> = got.iter().map(|r| &r.timestamp).collect();
    assert_eq!(stamps.len(), 8);
    // An endpoint failing for a day and more is not disabled yet (5 days), but says so.
    let h = webhook(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(h["enabled"], true);
    assert!(h["failing_since"].is_string());
}

#[tokio::test]
async fn timeouts_redirects_and_large_answers_are_failures_logged_in_brief() {
    let app = spawn_app_with(|s| {
        s.webhooks_timeout_secs = 1;
        s.webhooks_lease_secs = 10;
    })
    .await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    receiver.script([
        Answer::status(200).delay(std::time::Duration::from_millis(2500)),
        Answer::status(302).header("location", "https://example.com/"),
        Answer::status(404).body("x".repeat(3000)),
        Answer::status(204),
    ]);
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    for _ in 0..4 {
        app.deliver().await;
        let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
        if let Some(next) = log[0]["next_attempt_at"].as_str() {
            app.clock.set(next.parse().unwrap());
        }
    }
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    let a = log[0]["attempts"].as_array().unwrap();
    assert_eq!(a.len(), 4, "{}", log[0]);
    assert!(a[0]["status_code"].is_null());
    assert!(
        a[0]["error"].as_str().unwrap().contains("timed out"),
        "{}",
        a[0]
    );
    assert_eq!(a[1]["status_code"], 302);
    assert_eq!(a[1]["succeeded"], false);
    assert_eq!(a[2]["status_code"], 404);
    assert_eq!(a[2]["response_body"].as_str().unwrap().len(), 1024);
    assert_eq!(a[3]["status_code"], 204);
    assert_eq!(log[0]["state"], "succeeded");
    // A success ends the failure streak.
    assert!(webhook(&app, &c.staff, &id_of(&hook)).await["failing_since"].is_null());
}

#[tokio::test]
async fn gone_disables_the_endpoint_at_once() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    receiver.answer_all(Answer::status(410));
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let step = app.deliver().await;
    assert_eq!((step.given_up, step.disabled), (1, 1));
    let h = webhook(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(h["enabled"], false);
    assert!(
        h["disabled_reason"].as_str().unwrap().contains("410"),
        "{h}"
    );
    assert!(h["disabled_at"].is_string());
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(log[0]["state"], "failed");
    assert_eq!(log[0]["attempt_count"], 1);

    // Nothing more is sent, not even new events, nor can it be pinged.
    app.post(
        &format!("/api/v1/complaints/{}/messages", c.id),
        Some(&c.staff.token),
        json!({ "text": "Anyone there?" }),
    )
    .await
    .expect(201);
    app.clock.advance(Duration::hours(1));
    let step = app.deliver().await;
    assert_eq!((step.created, step.attempted), (0, 0));
    assert_eq!(receiver.received().len(), 1);
    app.post(
        &format!("/api/v1/webhooks/{}/ping", id_of(&hook)),
        Some(&c.staff.token),
        json!({}),
    )
    .await
    .expect_problem(409);

    // The owner enables it again; the reason goes.
    receiver.answer_all(Answer::status(200));
    let h = app
        .patch(
            &format!("/api/v1/webhooks/{}", id_of(&hook)),
            Some(&c.staff.token),
            json!({ "enabled": true }),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(h["enabled"], true);
    assert!(h.get("disabled_reason").is_none());
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_and_503() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    receiver.script([
        Answer::status(429).header("retry-after", "120"),
        Answer::status(503).header("retry-after", "Mon, 02 Mar 2026 05:00:00 GMT"),
        Answer::status(200),
    ]);
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let t0 = app.clock_now();
    app.deliver().await;
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    let wait = at(&log[0]["next_attempt_at"]) - t0;
    assert!(
        wait >= Duration::seconds(120) && wait < Duration::seconds(122),
        "{wait}"
    );
    app.clock.set(at(&log[0]["next_attempt_at"]));
    app.deliver().await;
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(
        at(&log[0]["next_attempt_at"]),
        "2026-03-02T05:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    app.clock.set(at(&log[0]["next_attempt_at"]));
    assert_eq!(app.deliver().await.succeeded, 1);
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_says_why() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    let hook_id = id_of(&hook);
    receiver.answer_all(Answer::status(500));
    let t0 = app.clock_now();
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    app.deliver().await;
    assert_eq!(
        at(&webhook(&app, &c.staff, &hook_id).await["failing_since"]),
        t0
    );

    // One success on day 1 starts the count again.
    app.clock.set(t0 + Duration::days(1));
    receiver.answer_all(Answer::status(200));
    file_again(&app, &c).await;
    app.deliver().await;
    assert!(webhook(&app, &c.staff, &hook_id).await["failing_since"].is_null());

    // Failing from day 2 on: still enabled on day 6, disabled past day 7.
    receiver.answer_all(Answer::status(500));
    for day in 2..=7 {
        app.clock
            .set(t0 + Duration::days(day) + Duration::minutes(1));
        file_again(&app, &c).await;
        let step = app.deliver().await;
        let h = webhook(&app, &c.staff, &hook_id).await;
        if day < 7 {
            assert_eq!(h["enabled"], true, "day {day}");
            assert_eq!(step.disabled, 0);
        } else {
            assert_eq!(step.disabled, 1, "day {day}");
            assert_eq!(h["enabled"], false);
            let reason = h["disabled_reason"].as_str().unwrap();
            assert!(reason.contains("5 days"), "{reason}");
            assert_eq!(
                at(&h["failing_since"]),
                t0 + Duration::days(2) + Duration::minutes(1)
            );
        }
    }
    // Disabled: its pending retries wait; nothing is attempted.
    app.clock.advance(Duration::hours(1));
    assert_eq!(app.deliver().await.attempted, 0);
}

#[tokio::test]
async fn redelivery_resends_with_the_same_id_and_a_new_timestamp() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    app.deliver().await;
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    let delivery = id_of(&log[0]);
    app.clock.advance(Duration::hours(3));
    let queued = app
        .post(
            &format!(
                "/api/v1/webhooks/{}/deliveries/{delivery}/redeliver",
                id_of(&hook)
            ),
            Some(&c.staff.token),
            json!({}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(queued["state"], "pending");
    assert_eq!(app.deliver().await.succeeded, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id);
    assert_eq!(got[0].body, got[1].body);
    let (t1, t2): (i64, i64) = (
        got[0].timestamp.parse().unwrap(),
        got[1].timestamp.parse().unwrap(),
    );
    assert!((t2 - t1 - 3 * 3600).abs() <= 1, "{t1} {t2}");
    let secret = hook["secret"].as_str().unwrap();
    verify_with(secret, &got[1]).unwrap();
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(log[0]["attempt_count"], 2);
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 2);

    // Another endpoint's delivery, or an unknown one, is not found.
    let other = Receiver::start().await;
    let other_hook = app.subscribe(&c.staff, &other.url, None).await;
    app.post(
        &format!(
            "/api/v1/webhooks/{}/deliveries/{delivery}/redeliver",
            id_of(&other_hook)
        ),
        Some(&c.staff.token),
        json!({}),
    )
    .await
    .expect_problem(404);
}

#[tokio::test]
async fn rotation_signs_with_both_secrets_for_a_day() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    let old = hook["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .post(
            &format!("/api/v1/webhooks/{}/rotate", id_of(&hook)),
            Some(&c.staff.token),
            json!({}),
        )
        .await
        .expect(200)
        .body;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        at(&rotated["previous_secret_expires_at"]),
        app.clock_now() + Duration::hours(24)
    );
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    app.deliver().await;
    let r = &receiver.received()[0];
    assert_eq!(r.signature.split(' ').count(), 2, "{}", r.signature);
    verify_with(&old, r).expect("old secret still verifies");
    verify_with(&new, r).expect("new secret verifies");

    // A day later only the new secret signs.
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    file_again(&app, &c).await;
    app.deliver().await;
    let r = &receiver.received()[1];
    assert_eq!(r.signature.split(' ').count(), 1);
    verify_with(&new, r).unwrap();
    assert_eq!(verify_with(&old, r), Err(VerifyError::NoValidSignature));
}

#[tokio::test]
async fn each_owner_receives_only_the_events_it_may_see() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let assoc = app
        .association(&admin, "Beijing Consumers", &["110000"])
        .await;
    let mediator = app.user(Role::Mediator, None, Some(assoc)).await;
    let a = filed_case(&app).await; // institution A
    let b = filed_case(&app).await; // institution B, same region
    let (ra, rb, rreg, rmed) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    app.clock.advance(Duration::minutes(1));
    let hook_a = app.subscribe(&a.staff, &ra.url, None).await;
    app.subscribe(&b.staff, &rb.url, None).await;
    app.subscribe(&a.regulator, &rreg.url, None).await;
    app.subscribe(&mediator, &rmed.url, None).await;

    act(&app, &a.staff, &a.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    act(&app, &b.staff, &b.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    act(
        &app,
        &a.learner,
        &a.id,
        "escalate",
        Some(json!({ "reason": "Too little" })),
    )
    .await
    .expect(200);
    app.deliver().await;

    let cases = |r: &Receiver| -> Vec<(String, String)> {
        r.received()
            .iter()
            .map(|x| {
                (
                    x.json["data"]["complaint_id"].as_str().unwrap().to_owned(),
                    x.json["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let mut got_a = cases(&ra);
    got_a.sort();
    let mut want_a = vec![
        (a.id.clone(), "complaint.responded".to_owned()),
        (a.id.clone(), "complaint.escalated".to_owned()),
    ];
    want_a.sort();
    assert_eq!(got_a, want_a);
    assert_eq!(
        cases(&rb),
        [(b.id.clone(), "complaint.responded".to_owned())]
    );
    // Regulators get everything; the association gets the case once it mediates it.
    assert_eq!(cases(&rreg).len(), 3);
    assert_eq!(
        cases(&rmed),
        [(a.id.clone(), "complaint.escalated".to_owned())]
    );
    assert_eq!(
        rmed.received()[0].json["data"]["association_id"],
        assoc.to_string()
    );

    // Subscriptions are per owner: B's staff cannot see or touch A's.
    let path = format!("/api/v1/webhooks/{}", id_of(&hook_a));
    app.get(&path, Some(&b.staff.token))
        .await
        .expect_problem(404);
    app.get(&path, Some(&a.regulator.token))
        .await
        .expect_problem(404);
    let listed = app
        .get("/api/v1/webhooks", Some(&b.staff.token))
        .await
        .expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    // Another staff member of A shares A's subscriptions.
    let colleague = app
        .user(Role::InstitutionStaff, Some(a.institution), None)
        .await;
    app.get(&path, Some(&colleague.token)).await.expect(200);
}

#[tokio::test]
async fn event_type_filters_and_ping() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let c = filed_case(&app).await;
    let hook = app
        .subscribe(
            &c.staff,
            &receiver.url,
            Some(&["complaint.escalated", "sla.breached"]),
        )
        .await;
    assert_eq!(
        hook["event_types"],
        json!(["complaint.escalated", "sla.breached"])
    );
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    act(
        &app,
        &c.learner,
        &c.id,
        "escalate",
        Some(json!({ "reason": "No" })),
    )
    .await
    .expect(200);
    app.deliver().await;
    assert_eq!(receiver.types(), ["complaint.escalated"]);

    // A ping goes whatever the filter.
    let queued = app
        .post(
            &format!("/api/v1/webhooks/{}/ping", id_of(&hook)),
            Some(&c.staff.token),
            json!({}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(queued["event_type"], "ping");
    assert_eq!(app.deliver().await.succeeded, 1);
    let r = receiver.received().pop().unwrap();
    assert_eq!(r.json["type"], "ping");
    assert_eq!(r.json["data"]["subscription_id"], id_of(&hook).as_str());
    verify_with(hook["secret"].as_str().unwrap(), &r).unwrap();

    // Null means every type again.
    let h = app
        .patch(
            &format!("/api/v1/webhooks/{}", id_of(&hook)),
            Some(&c.staff.token),
            json!({ "event_types": null, "description": "all of it" }),
        )
        .await
        .expect(200)
        .body;
    assert!(h["event_types"].is_null());
    assert_eq!(h["description"], "all of it");
    app.post(
        &format!("/api/v1/complaints/{}/messages", c.id),
        Some(&c.staff.token),
        json!({ "text": "We are on it" }),
    )
    .await
    .expect(201);
    app.deliver().await;
    assert_eq!(receiver.types().last().unwrap(), "complaint.message_posted");
}

#[tokio::test]
async fn sla_events_are_delivered() {
    let app = spawn_app().await;
    let (c, receiver, _hook) = subscribed_case(&app).await;
    app.clock.set("2026-03-16T16:00:01Z".parse().unwrap());
    app.sweep().await;
    app.deliver().await;
    let mut types = receiver.types();
    types.sort();
    assert_eq!(types, ["sla.breached", "sla.warning"]);
    let got = receiver.received();
    let breach = &got
        .iter()
        .find(|r| r.json["type"] == "sla.breached")
        .unwrap()
        .json["data"];
    assert_eq!(breach["actor_role"], "system");
    assert_eq!(breach["to_state"], "awaiting_mediation");
    let _ = c;
}

#[tokio::test]
async fn subscriptions_are_validated() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let post = |body: Value| {
        let app = &app;
        let token = c.staff.token.clone();
        async move { app.post("/api/v1/webhooks", Some(&token), body).await }
    };
    let r = post(json!({ "url": "not a url" }))
        .await
        .expect_problem(422);
    assert_eq!(r.field_errors(), ["url"]);
    let r = post(json!({ "url": "http://127.0.0.1:9/x", "event_types": [] }))
        .await
        .expect_problem(422);
    assert_eq!(r.field_errors(), ["event_types"]);
    let r = post(json!({ "url": "http://127.0.0.1:9/x", "event_types": ["ping"] }))
        .await
        .expect_problem(422);
    assert_eq!(r.field_errors(), ["event_types"]);
    post(json!({ "url": "http://127.0.0.1:9/x", "event_types": ["complaint.nope"] }))
        .await
        .expect_problem(400);
    let r = post(json!({ "url": "http://127.0.0.1:9/x", "enabled": false }))
        .await
        .expect(201);
    assert_eq!(r.body["enabled"], false);
    assert_eq!(r.body["scope"], "institution");
    assert_eq!(r.body["institution_id"], c.institution.to_string());
}

#[tokio::test]
async fn private_and_metadata_targets_are_refused_unless_allowed() {
    let app = spawn_app_with(|s| s.webhooks_allow_private_targets = false).await;
    let c = filed_case(&app).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://[::1]/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "http://hooks.example.com/hook",
    ] {
        let r = app
            .post(
                "/api/v1/webhooks",
                Some(&c.staff.token),
                json!({ "url": url }),
            )
            .await
            .expect_problem(422);
        assert_eq!(r.field_errors(), ["url"], "{url}");
    }
    // A public https endpoint is fine (it need not resolve yet).
    app.post(
        "/api/v1/webhooks",
        Some(&c.staff.token),
        json!({ "url": "https://hooks.example.com/redress" }),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn the_dispatcher_refuses_private_targets_when_not_allowed() {
    // Subscribed while allowed (a demo), then sent by a dispatcher that is not.
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let strict = redress::service::webhook_delivery::Dispatcher::new(
        &redress::config::Settings {
            webhooks_allow_private_targets: false,
            ..app.settings.clone()
        },
        app.state.master_key.clone(),
    )
    .unwrap();
    let step = redress::service::webhook_delivery::run_once(&app.db, &strict, app.clock_now())
        .await
        .unwrap();
    assert_eq!((step.attempted, step.failed), (1, 1));
    assert!(receiver.received().is_empty());
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    let error = log[0]["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("refused"), "{error}");
}

#[tokio::test]
async fn concurrent_dispatchers_never_send_one_delivery_twice() {
    let app = spawn_app().await;
    let (c, receiver, _hook) = subscribed_case(&app).await;
    receiver.answer_all(Answer::status(200).delay(std::time::Duration::from_millis(20)));
    for _ in 0..30 {
        file_again(&app, &c).await;
    }
    // Small batches, so that the three share the work.
    let settings = redress::config::Settings {
        webhooks_batch_size: 4,
        ..app.settings.clone()
    };
    let others: Vec<_> = (0..3)
        .map(|_| {
            redress::service::webhook_delivery::Dispatcher::new(
                &settings,
                app.state.master_key.clone(),
            )
            .unwrap()
        })
        .collect();
    let now = app.clock_now();
    let steps = futures_util::future::join_all(others.iter().map(|d| {
        let db = app.db.clone();
        async move {
            let mut total = 0;
            for _ in 0..10 {
                total += redress::service::webhook_delivery::run_once(&db, d, now)
                    .await
                    .unwrap()
                    .attempted;
            }
            total
        }
    }))
    .await;
    assert_eq!(steps.iter().sum::<usize>(), 30, "{steps:?}");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *seen.entry(r.id).or_default() += 1;
    }
    assert_eq!(seen.len(), 30);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}

#[tokio::test]
async fn deleting_a_subscription_stops_its_deliveries() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    app.deliver().await;
    let path = format!("/api/v1/webhooks/{}", id_of(&hook));
    let r = app
        .request(reqwest::Method::DELETE, &path, Some(&c.staff.token), None)
        .await
        .expect(204);
    assert_eq!(r.body, Value::Null);
    app.get(&path, Some(&c.staff.token))
        .await
        .expect_problem(404);
    file_again(&app, &c).await;
    app.deliver().await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_batch_that_would_outrun_its_lease_gives_back_the_rest() {
    // One request at a time, each taking half a second, and a lease of 6 s with a 1 s
    // timeout: attempts may start only in the first 3 s.
    let app = spawn_app_with(|s| {
        s.webhooks_timeout_secs = 1;
        s.webhooks_lease_secs = 6;
        s.webhooks_concurrency = 1;
    })
    .await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    receiver.answer_all(Answer::status(200).delay(std::time::Duration::from_millis(500)));
    for _ in 0..10 {
        file_again(&app, &c).await;
    }
    let first = app.deliver().await;
    assert!(
        (1..10).contains(&first.attempted),
        "the lease cut the batch short: {first:?}"
    );
    assert_eq!(first.succeeded, first.attempted);
    // The rest is claimable at once, at the same instant; nothing is sent twice.
    let second = app.deliver().await;
    assert_eq!(first.attempted + second.attempted, 10, "{second:?}");
    let ids: std::collections::HashSet<_> = receiver.received().into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 10);
    assert_eq!(receiver.received().len(), 10);
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert!(log.iter().all(|d| d["state"] == "succeeded"));
}

#[tokio::test]
async fn an_answer_with_nul_bytes_is_logged() {
    let app = spawn_app().await;
    let (c, receiver, hook) = subscribed_case(&app).await;
    receiver.script([Answer::status(500).body("bad\0answer")]);
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    assert_eq!(app.deliver().await.failed, 1);
    let log = deliveries(&app, &c.staff, &id_of(&hook)).await;
    assert_eq!(log[0]["attempts"][0]["response_body"], "bad\u{FFFD}answer");
}
