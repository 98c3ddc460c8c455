//! Deadlines on the working-day calendar, driven by a fake clock and the sweeper's
//! `run_once` (no sleeps).
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app},
    lifecycle::{act, filed_case, refund_answer},
};

fn at(s: &str) -> chrono::DateTime<Utc> {
    s.parse().unwrap()
}

async fn case_json(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    app.get(&format!("/api/v1/complaints/{id}"), Some(token))
        .await
        .expect(200)
        .body
}

async fn event_actions(app: &TestApp, token: &str, id: &str) -> Vec<String> {
    app.get(&format!("/api/v1/complaints/{id}/events"), Some(token))
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_missed_response_deadline_warns_then_escalates_and_counts_against_the_institution() {
    let app = spawn_app().await;
    // Filed Monday 2026-03-02 10:00 in Shanghai: 10 working days end with Monday 16 March.
    let c = filed_case(&app).await;
    let v = case_json(&app, &c.learner.token, &c.id).await;
    assert_eq!(v["institution_due_at"], "2026-03-16T16:00:00+00:00");

    // Nothing is due yet.
    assert_eq!(app.sweep().await.claimed, 0);

    // The warning fires one working day before (end of Friday 13 March).
    app.clock.set(at("2026-03-16T15:59:00Z"));
    let s = app.sweep().await;
    assert_eq!((s.warnings, s.deadlines), (1, 0));
    assert_eq!(
        case_json(&app, &c.learner.token, &c.id).await["state"],
        "awaiting_response"
    );

    app.clock.set(at("2026-03-16T16:00:01Z"));
    let s = app.sweep().await;
    assert_eq!((s.warnings, s.deadlines), (0, 1));
    let v = case_json(&app, &c.learner.token, &c.id).await;
    assert_eq!(v["state"], "awaiting_mediation");
    assert_eq!(v["timely"], false);
    assert_eq!(
        event_actions(&app, &c.learner.token, &c.id).await,
        ["file", "sla_warning", "timeout"]
    );
    let timeout = &app
        .get(
            &format!("/api/v1/complaints/{}/events", c.id),
            Some(&c.learner.token),
        )
        .await
        .body["items"][2];
    assert_eq!(timeout["actor_role"], "system");
    assert_eq!(timeout["from_state"], "awaiting_response");

    let record = app
        .get(
            &format!("/api/v1/institutions/{}/record", c.institution),
            None,
        )
        .await
        .expect(200);
    assert_eq!(record.body["breaches_total"], 1);
    assert_eq!(record.body["breaches_last_12_months"], 1);
    assert_eq!(
        record.body["recent_breaches"][0]["stage"],
        "awaiting_response"
    );
    assert_eq!(
        record.body["recent_breaches"][0]["reference"],
        v["reference"]
    );

    // Fired once: another sweep finds nothing, and the timeline is intact.
    app.clock.advance(Duration::days(1));
    let again = app.sweep().await;
    assert_eq!(again.deadlines + again.warnings, 0);
    let verify = app
        .get(
            &format!("/api/v1/complaints/{}/verify", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    assert_eq!(verify.body["intact"], true);
}

#[tokio::test]
async fn silence_after_a_response_resolves_the_case() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    // 15 working days after Monday 2 March: Monday 23 March.
    let v = case_json(&app, &c.learner.token, &c.id).await;
    assert_eq!(v["deadline"]["due_at"], "2026-03-23T16:00:00+00:00");
    assert_eq!(v["deadline"]["clock"], "learner");
    app.clock.set(at("2026-03-23T16:00:00+00:00"));
    let s = app.sweep().await;
    assert_eq!(s.deadlines, 1);
    let v = case_json(&app, &c.learner.token, &c.id).await;
    assert_eq!(v["state"], "resolved");
    assert_eq!(v["outcome"], "monetary_relief");
    assert_eq!(v["timely"], true);
}

#[tokio::test]
async fn pausing_keeps_the_institutions_remaining_working_days() {
    let app = spawn_app().await;
    let c = filed_case(&app).await; // due end of Monday 16 March
    // Wednesday 4 March: 8 working days remain (5, 6, 9–13, 16).
    app.clock.set(at("2026-03-04T02:00:00Z"));
    act(
        &app,
        &c.staff,
        &c.id,
        "request_info",
        Some(json!({ "questions": "Order number?" })),
    )
    .await
    .expect(200);
    let v = case_json(&app, &c.staff.token, &c.id).await;
    assert_eq!(v["institution_clock_paused"], true);
    assert_eq!(v["deadline"]["clock"], "learner");

    // The institution's deadline passes while paused: nothing happens to it.
    app.clock.set(at("2026-03-11T02:00:00Z"));
    app.sweep().await;
    assert_eq!(
        case_json(&app, &c.staff.token, &c.id).await["state"],
        "info_requested"
    );

    // Resumed Wednesday 11 March: 8 working days later is Monday 23 March.
    act(
        &app,
        &c.learner,
        &c.id,
        "provide_info",
        Some(json!({ "answer": "A-1234" })),
    )
    .await
    .expect(200);
    let v = case_json(&app, &c.staff.token, &c.id).await;
    assert_eq!(v["institution_due_at"], "2026-03-23T16:00:00+00:00");
    assert_eq!(v["deadline"]["due_at"], "2026-03-23T16:00:00+00:00");
    assert_eq!(v["institution_clock_paused"], false);

    // Answering on Friday 20 March is on time although the original deadline passed.
    app.clock.set(at("2026-03-20T02:00:00Z"));
    let r = act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    assert_eq!(r.body["timely"], true);
}

#[tokio::test]
async fn a_learner_who_does_not_answer_sends_the_case_back_to_the_institution() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    act(
        &app,
        &c.staff,
        &c.id,
        "request_info",
        Some(json!({ "questions": "?" })),
    )
    .await
    .expect(200);
    // The learner's 10 working days end on Monday 16 March.
    app.clock.set(at("2026-03-16T16:00:00+00:00"));
    assert_eq!(app.sweep().await.deadlines, 1);
    let v = case_json(&app, &c.staff.token, &c.id).await;
    assert_eq!(v["state"], "awaiting_response");
    assert_eq!(v["deadline"]["clock"], "institution");
    assert_eq!(v["institution_clock_paused"], false);
}

#[tokio::test]
async fn a_state_change_cancels_the_stages_timers() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    act(&app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    // Past the old response deadline and its warning, before the learner's deadline.
    app.clock.set(at("2026-03-17T02:00:00Z"));
    let s = app.sweep().await;
    assert_eq!(s.deadlines, 0);
    // The learner's own warning (end of Friday 20 March) has not come yet either.
    assert_eq!(s.warnings, 0);
    assert_eq!(
        case_json(&app, &c.learner.token, &c.id).await["state"],
        "responded"
    );
    act(&app, &c.learner, &c.id, "withdraw", Some(json!({})))
        .await
        .expect(200);
    app.clock.set(at("2026-06-01T00:00:00Z"));
    assert_eq!(app.sweep().await.claimed, 0);
}

#[tokio::test]
async fn holidays_and_make_up_days_count_correctly() {
    let app = spawn_app().await;
    // Tuesday 29 September 2026, before the National Day week (1–7 October off,
    // Saturday 10 October a make-up working day).
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 9, 29, 2, 0, 0).unwrap());
    let c = filed_case(&app).await;
    let v = case_json(&app, &c.learner.token, &c.id).await;
    assert_eq!(v["institution_due_at"], "2026-10-19T16:00:00+00:00");
}

pub fn year_file(year: i32) -> serde_json::Value {
    json!({
        "year": year,
        "papers": [],
        "days": [
            { "name": "元旦", "date": format!("{year}-01-01"), "isOffDay": true },
            { "name": "春节", "date": format!("{year}-02-06"), "isOffDay": true },
            { "name": "春节", "date": format!("{year}-02-07"), "isOffDay": false }
        ]
    })
}

#[tokio::test]
async fn an_admin_loads_a_year_and_readyz_stops_warning() {
    let app = spawn_app().await;
    app.clock.set(at("2026-11-30T02:00:00Z"));
    let ready = app.get("/readyz", None).await.expect(200);
    let warnings = ready.body["warnings"].as_array().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().unwrap().contains("2027"));

    let admin = app.admin().await;
    let learner = app.learner().await;
    app.put(
        "/api/v1/calendars/2027",
        Some(&learner.token),
        year_file(2027),
    )
    .await
    .expect_problem(403);
    app.put(
        "/api/v1/calendars/2028",
        Some(&admin.token),
        year_file(2027),
    )
    .await
    .expect_problem(422);
    app.put(
        "/api/v1/calendars/2027",
        Some(&admin.token),
        json!({ "year": 2027, "days": [{ "date": "2027-13-01", "isOffDay": true }] }),
    )
    .await
    .expect_problem(422);
    let r = app
        .put(
            "/api/v1/calendars/2027",
            Some(&admin.token),
            year_file(2027),
        )
        .await
        .expect(200);
    assert!(
        r.body["loaded_years"]
            .as_array()
            .unwrap()
            .contains(&json!(2027))
    );
    assert_eq!(app.get("/readyz", None).await.body["warnings"], json!([]));

    // The loaded year is used: 2027-01-01 (Friday) is a holiday, so a case filed on
    // Thursday 31 December 2026 counts from Monday 4 January.
    app.clock.set(at("2026-12-31T02:00:00Z"));
    let c = filed_case(&app).await;
    let v = case_json(&app, &c.learner.token, &c.id).await;
    // 10 working days after 31 Dec with 1 Jan off: 4–8, 11–15 January.
    assert_eq!(v["institution_due_at"], "2027-01-15T16:00:00+00:00");
}

#[tokio::test]
async fn two_sweepers_fire_a_thousand_due_timers_exactly_once() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    // 999 more cases for the same institution, filed directly through the service.
    let learner = redress::auth::Principal {
        account_id: c.learner.id,
        role: entity::account::Role::Learner,
        institution_id: None,
        association_id: None,
    };
    let rules = app.state.rules();
    for _ in 0..999 {
        let new = redress::service::complaints::NewComplaint {
            institution_id: c.institution,
            category: entity::complaint::Category::Refund,
            title: "t".into(),
            narrative: "n".into(),
            desired_remedy: entity::complaint::DesiredRemedy::FullRefund,
            desired_amount_minor: None,
            currency: "CNY".into(),
            amount_in_dispute_minor: None,
            course_reference: None,
            purchase_date: None,
            prepaid_minor: None,
            hours_bought: None,
            hours_used: None,
            prepaid_period_days: None,
            minor: None,
            consent_to_publish: false,
        };
        let filing = redress::service::complaints::Filing {
            rules: rules.clone(),
            who: learner.clone(),
            new,
            idem: None,
        };
        redress::service::complaints::file(&app.db, filing)
            .await
            .unwrap();
    }
    // A second instance on the same database, with its own connection pool.
    let url = app.settings.database_url.clone();
    let other = crate::helpers::spawn_app_with(|s| s.database_url = url).await;
    let later = at("2026-04-01T00:00:00Z");
    app.clock.set(later);
    other.clock.set(later);

    let sweeper = |db: sea_orm::DatabaseConnection, rules: redress::service::complaints::Rules| {
        tokio::spawn(async move { redress::service::sla::run_once(&db, &rules, 10_000).await })
    };
    let first = sweeper(app.db.clone(), app.state.rules());
    let second = sweeper(other.db.clone(), other.state.rules());
    let (a, b) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    assert_eq!(a.deadlines + b.deadlines, 1000, "{a:?} {b:?}");
    // The warnings (due earlier) also fired exactly once in all.
    assert_eq!(a.warnings + b.warnings, 1000, "{a:?} {b:?}");
    assert_eq!(app.sweep().await.claimed, 0);

    let record = app
        .get(
            &format!("/api/v1/institutions/{}/record", c.institution),
            None,
        )
        .await
        .expect(200);
    assert_eq!(record.body["breaches_total"], 1000);
}
