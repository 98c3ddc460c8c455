//! Concurrency and integrity over HTTP: conflicting actions on one case, idempotent
//! filing, tampering with the stored timeline, and readable references under load.
use std::collections::BTreeSet;

use futures_util::future::join_all;
use redress::domain::timeline::{EventContent, hash};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, TestUser, spawn_app};
use crate::lifecycle::{Case, act, filed_case, filing, refund_answer};

/// Files another case for `learner` against `institution`; returns its id.
async fn file(app: &TestApp, learner: &TestUser, institution: Uuid) -> String {
    app.post(
        "/api/v1/complaints",
        Some(&learner.token),
        filing(institution),
    )
    .await
    .expect(201)
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn events(app: &TestApp, user: &TestUser, id: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/complaints/{id}/events"),
        Some(&user.token),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn verify(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.get(
        &format!("/api/v1/complaints/{id}/verify"),
        Some(&user.token),
    )
    .await
    .expect(200)
    .body
}

/// One side of a race: who does what, and the timeline event it writes.
struct Move<'a> {
    user: &'a TestUser,
    action: &'static str,
    body: Option<Value>,
    event: &'static str,
}

/// The state every raced case is taken to first.
#[derive(Debug, Clone, Copy)]
enum Setup {
    AwaitingResponse,
    Responded,
    Withdrawn,
}

/// Files `n` cases, takes each to `setup`, then fires `a` and `b` at each case at the
/// same moment (all cases at once). Exactly one of each pair must win; the other gets
/// a 409 that reports the state the winner left; the timeline gains exactly one event
/// and stays intact. Returns the failures and which side won how often.
async fn race(
    app: &TestApp,
    c: &Case,
    n: usize,
    setup: Setup,
    a: Move<'_>,
    b: Move<'_>,
) -> (Vec<String>, [usize; 2]) {
    let mut ids = vec![];
    for _ in 0..n {
        let id = file(app, &c.learner, c.institution).await;
        match setup {
            Setup::AwaitingResponse => {}
            Setup::Responded => {
                act(app, &c.staff, &id, "respond", Some(refund_answer()))
                    .await
                    .expect(200);
            }
            Setup::Withdrawn => {
                act(app, &c.learner, &id, "withdraw", Some(json!({})))
                    .await
                    .expect(200);
            }
        }
        ids.push(id);
    }
    let before = match setup {
        Setup::AwaitingResponse => 1,
        Setup::Responded | Setup::Withdrawn => 2,
    };

    let replies = join_all(ids.iter().map(|id| {
        let (a, b) = (&a, &b);
        async move {
            tokio::join!(
                act(app, a.user, id, a.action, a.body.clone()),
                act(app, b.user, id, b.action, b.body.clone()),
            )
        }
    }))
    .await;

    let mut failures = vec![];
    let mut wins = [0, 0];
    for (id, (ra, rb)) in ids.iter().zip(replies) {
        let tag = format!("{} vs {} on {id}", a.action, b.action);
        let (winner, loser, won, lost): (&Move, &Move, Reply, Reply) =
            match (ra.status.as_u16(), rb.status.as_u16()) {
                (200, 409) => {
                    wins[0] += 1;
                    (&a, &b, ra, rb)
                }
                (409, 200) => {
                    wins[1] += 1;
                    (&b, &a, rb, ra)
                }
                (x, y) => {
                    failures.push(format!(
                        "{tag}: got {x} and {y}, want one 200 and one 409: {} / {}",
                        ra.body, rb.body
                    ));
                    continue;
                }
            };
        let now = app
            .get(
                &format!("/api/v1/complaints/{id}"),
                Some(&c.regulator.token),
            )
            .await
            .expect(200)
            .body;
        if won.body["state"] != now["state"] {
            failures.push(format!(
                "{tag}: the winner ({}) answered state {}, the case is {}",
                winner.action, won.body["state"], now["state"]
            ));
        }
        // The loser learns where the case stands now and what it may do there.
        let loser_view = app
            .get(&format!("/api/v1/complaints/{id}"), Some(&loser.user.token))
            .await
            .expect(200)
            .body;
        let ct = lost
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        if ct != Some("application/problem+json")
            || lost.body["state"] != now["state"]
            || lost.body["allowed_actions"] != loser_view["allowed_actions"]
        {
            failures.push(format!(
                "{tag}: the loser ({}) got {} (content-type {ct:?}); the case is {} and it may {}",
                loser.action, lost.body, now["state"], loser_view["allowed_actions"]
            ));
        }
        let timeline = events(app, &c.learner, id).await;
        let actions: Vec<&str> = timeline
            .iter()
            .map(|e| e["action"].as_str().unwrap_or_default())
            .collect();
        if timeline.len() != before + 1 || actions.last() != Some(&winner.event) {
            failures.push(format!(
                "{tag}: timeline {actions:?}, want {before} events then `{}`",
                winner.event
            ));
        }
        let v = verify(app, &c.learner, id).await;
        if v["intact"] != true || v["events"] != before + 1 {
            failures.push(format!("{tag}: verify says {v}"));
        }
        if a.action == "rating" {
            let score = &winner.body.as_ref().unwrap()["score"];
            if now["rating"] != *score {
                failures.push(format!(
                    "{tag}: stored rating {}, the winner sent {score}",
                    now["rating"]
                ));
            }
        }
    }
    (failures, wins)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_actions_on_one_case_one_wins_and_the_other_gets_409() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let mut failures = vec![];
    let mut tally = vec![];

    let (f, w) = race(
        &app,
        &c,
        20,
        Setup::AwaitingResponse,
        Move {
            user: &c.staff,
            action: "respond",
            body: Some(refund_answer()),
            event: "respond",
        },
        Move {
            user: &c.staff,
            action: "request_info",
            body: Some(json!({ "questions": "Order number?" })),
            event: "request_info",
        },
    )
    .await;
    failures.extend(f);
    tally.push(("respond / request_info", w));

    let (f, w) = race(
        &app,
        &c,
        20,
        Setup::Responded,
        Move {
            user: &c.learner,
            action: "accept_response",
            body: None,
            event: "accept_response",
        },
        Move {
            user: &c.learner,
            action: "escalate",
            body: Some(json!({ "reason": "Not enough" })),
            event: "escalate",
        },
    )
    .await;
    failures.extend(f);
    tally.push(("accept_response / escalate", w));

    // Two parties at once: the regulator rejects the case while the institution
    // answers it. Either order leaves the other refused.
    let (f, w) = race(
        &app,
        &c,
        10,
        Setup::AwaitingResponse,
        Move {
            user: &c.regulator,
            action: "reject",
            body: Some(json!({ "reason": "duplicate", "note": "Filed twice." })),
            event: "reject",
        },
        Move {
            user: &c.staff,
            action: "respond",
            body: Some(refund_answer()),
            event: "respond",
        },
    )
    .await;
    failures.extend(f);
    tally.push(("reject / respond", w));

    // The same action twice (a double click): it happens once.
    let (f, w) = race(
        &app,
        &c,
        10,
        Setup::AwaitingResponse,
        Move {
            user: &c.staff,
            action: "respond",
            body: Some(refund_answer()),
            event: "respond",
        },
        Move {
            user: &c.staff,
            action: "respond",
            body: Some(json!({ "message": "Here is why.", "remedy": "explanation" })),
            event: "respond",
        },
    )
    .await;
    failures.extend(f);
    tally.push(("respond / respond", w));

    // A case is rated once, even when two ratings arrive together.
    let (f, w) = race(
        &app,
        &c,
        10,
        Setup::Withdrawn,
        Move {
            user: &c.learner,
            action: "rating",
            body: Some(json!({ "score": 2 })),
            event: "rate",
        },
        Move {
            user: &c.learner,
            action: "rating",
            body: Some(json!({ "score": 5 })),
            event: "rate",
        },
    )
    .await;
    failures.extend(f);
    tally.push(("rating / rating", w));

    assert!(
        failures.is_empty(),
        "{} failures (wins per side: {tally:?}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn message(app: &TestApp, user: &TestUser, id: &str, text: &str) -> Reply {
    app.post(
        &format!("/api/v1/complaints/{id}/messages"),
        Some(&user.token),
        json!({ "text": text }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_that_do_not_conflict_all_land_on_an_intact_chain() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let mut ids = vec![c.id.clone()];
    for _ in 0..9 {
        ids.push(file(&app, &c.learner, c.institution).await);
    }
    let replies = join_all(ids.iter().map(|id| async {
        tokio::join!(
            message(&app, &c.learner, id, "Any news?"),
            message(&app, &c.staff, id, "We are looking into it."),
            act(&app, &c.staff, id, "respond", Some(refund_answer())),
            message(&app, &c.staff, id, "See our answer."),
        )
    }))
    .await;
    let mut failures = vec![];
    for (id, (m1, m2, r, m3)) in ids.iter().zip(replies) {
        let got = [m1.status, m2.status, r.status, m3.status].map(|s| s.as_u16());
        if got != [201, 201, 200, 201] {
            failures.push(format!("{id}: statuses {got:?}"));
        }
        let timeline = events(&app, &c.learner, id).await;
        let seqs: Vec<i64> = timeline.iter().filter_map(|e| e["seq"].as_i64()).collect();
        let mut actions: Vec<&str> = timeline
            .iter()
            .map(|e| e["action"].as_str().unwrap_or_default())
            .collect();
        actions.sort_unstable();
        if seqs != [1, 2, 3, 4, 5]
            || actions != ["file", "message", "message", "message", "respond"]
        {
            failures.push(format!("{id}: seqs {seqs:?}, actions {actions:?}"));
        }
        let v = verify(&app, &c.learner, id).await;
        if v["intact"] != true || v["events"] != 5 {
            failures.push(format!("{id}: verify says {v}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `POST /api/v1/complaints` with an `Idempotency-Key`.
async fn file_with_key(app: &TestApp, learner: &TestUser, key: &str, body: &Value) -> Reply {
    let resp = app
        .client
        .post(app.url("/api/v1/complaints"))
        .bearer_auth(&learner.token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request failed");
    TestApp::read(resp).await
}

fn replayed(r: &Reply) -> Option<&str> {
    r.headers
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
}

/// The ids of the cases `user` can list.
async fn listed(app: &TestApp, user: &TestUser) -> BTreeSet<String> {
    let r = app
        .get("/api/v1/complaints?limit=200", Some(&user.token))
        .await
        .expect(200);
    assert!(r.body["next_cursor"].is_null());
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filing_with_an_idempotency_key_is_replayed_not_duplicated() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let body = filing(c.institution);

    // A retry after a lost answer: the same case, marked as a replay.
    let first = file_with_key(&app, &c.learner, "key-1", &body)
        .await
        .expect(201);
    assert_ne!(replayed(&first), Some("true"));
    let id = first.body["id"].as_str().unwrap().to_owned();
    assert_ne!(id, c.id);
    let again = file_with_key(&app, &c.learner, "key-1", &body)
        .await
        .expect(200);
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(again.body["reference"], first.body["reference"]);
    assert_eq!(
        listed(&app, &c.learner).await,
        [c.id.clone(), id.clone()].into()
    );

    // Ten retries at once with a new key: one case, the same answer for all.
    let replies = join_all((0..10).map(|_| file_with_key(&app, &c.learner, "key-2", &body))).await;
    let ids: BTreeSet<&str> = replies
        .iter()
        .map(|r| r.body["id"].as_str().unwrap_or("(none)"))
        .collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(ids.len(), 1, "statuses {statuses:?}, ids {ids:?}");
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    for r in &replies {
        if r.status == 200 {
            assert_eq!(replayed(r), Some("true"));
        }
    }
    let second = ids.first().unwrap().to_string();
    assert!(second != id && second != c.id);
    assert_eq!(
        listed(&app, &c.learner).await,
        [c.id.clone(), id.clone(), second.clone()].into()
    );

    // The same key with another request is a client error, and files nothing.
    let mut other_body = body.clone();
    other_body["title"] = json!("另一个投诉");
    let r = file_with_key(&app, &c.learner, "key-1", &other_body)
        .await
        .expect_problem(400);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    assert_eq!(listed(&app, &c.learner).await.len(), 3);

    // Keys belong to the learner: another learner's "key-1" is their own.
    let other = app.learner().await;
    let theirs = file_with_key(&app, &other, "key-1", &body)
        .await
        .expect(201);
    let their_id = theirs.body["id"].as_str().unwrap().to_owned();
    assert_ne!(their_id, id);
    assert_eq!(theirs.body["learner_id"], other.id.to_string());
    let theirs_again = file_with_key(&app, &other, "key-1", &body)
        .await
        .expect(200);
    assert_eq!(theirs_again.body["id"], their_id.as_str());
    let mine_again = file_with_key(&app, &c.learner, "key-1", &body)
        .await
        .expect(200);
    assert_eq!(mine_again.body["id"], id.as_str());
    assert_eq!(listed(&app, &other).await, [their_id].into());
    assert_eq!(listed(&app, &c.learner).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_at_once_with_two_different_bodies_files_one_and_refuses_the_other() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let mut failures = vec![];
    let rounds = 10;
    for round in 0..rounds {
        let key = format!("race-{round}");
        let mut a = filing(c.institution);
        a["title"] = json!(format!("Complaint A{round}"));
        let mut b = filing(c.institution);
        b["title"] = json!(format!("Complaint B{round}"));
        let (ra, rb) = tokio::join!(
            file_with_key(&app, &c.learner, &key, &a),
            file_with_key(&app, &c.learner, &key, &b),
        );
        let (filed, refused, sent) = match (ra.status.as_u16(), rb.status.as_u16()) {
            (201, 400) => (ra, rb, a),
            (400, 201) => (rb, ra, b),
            (x, y) => {
                failures.push(format!(
                    "round {round}: got {x} and {y}, want 201 and 400: {} / {}",
                    ra.body["title"], rb.body["title"]
                ));
                continue;
            }
        };
        if filed.body["title"] != sent["title"] || refused.body["status"] != 400 {
            failures.push(format!(
                "round {round}: filed {} for {}, refused {}",
                filed.body["title"], sent["title"], refused.body
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(listed(&app, &c.learner).await.len(), 1 + rounds);
}

/// Runs SQL against the test database, returning the rows it changed.
async fn exec(app: &TestApp, sql: &str) -> u64 {
    app.db
        .execute_unprepared(sql)
        .await
        .expect("tamper statement")
        .rows_affected()
}

/// A case taken through three actions: four events.
async fn case_with_history(app: &TestApp) -> (Case, String) {
    let c = filed_case(app).await;
    act(
        app,
        &c.staff,
        &c.id,
        "request_info",
        Some(json!({ "questions": "Order number?" })),
    )
    .await
    .expect(200);
    act(
        app,
        &c.learner,
        &c.id,
        "provide_info",
        Some(json!({ "answer": "#A-1234" })),
    )
    .await
    .expect(200);
    let r = act(app, &c.staff, &c.id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let reference = r.body["reference"].as_str().unwrap().to_owned();
    let v = verify(app, &c.learner, &c.id).await;
    assert_eq!(v, json!({ "intact": true, "events": 4 }));
    (c, reference)
}

/// Selects a case's events by its reference: SQLite stores UUIDs as blobs.
fn of_case(reference: &str) -> String {
    format!("complaint_id = (SELECT id FROM complaints WHERE reference = '{reference}')")
}

#[tokio::test]
async fn rewriting_a_stored_event_breaks_the_chain_at_that_event() {
    let app = spawn_app().await;
    let (c, reference) = case_with_history(&app).await;
    let (bystander, _) = case_with_history(&app).await;

    let changed = exec(
        &app,
        &format!(
            r#"UPDATE complaint_events SET payload = '{{"x":1}}' WHERE seq = 2 AND {}"#,
            of_case(&reference)
        ),
    )
    .await;
    assert_eq!(changed, 1);
    // The rewrite is what the timeline now shows…
    let timeline = events(&app, &c.learner, &c.id).await;
    assert_eq!(timeline[1]["payload"], json!({ "x": 1 }));
    // …and verification finds it.
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_at_seq"], 2, "{v}");
    assert_eq!(v["events"], 4, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("altered"), "{v}");
    // Any party may verify, with the same answer.
    let by_staff = verify(&app, &c.staff, &c.id).await;
    assert_eq!(by_staff, v);
    // Other cases are untouched.
    let other = verify(&app, &bystander.learner, &bystander.id).await;
    assert_eq!(other, json!({ "intact": true, "events": 4 }));
}

#[tokio::test]
async fn deleting_the_last_but_one_event_is_detected() {
    let app = spawn_app().await;
    let (c, reference) = case_with_history(&app).await;
    let changed = exec(
        &app,
        &format!(
            "DELETE FROM complaint_events WHERE seq = 3 AND {}",
            of_case(&reference)
        ),
    )
    .await;
    assert_eq!(changed, 1);
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v["intact"], false, "{v}");
    // Event 4 is the first that no longer follows on from its predecessor.
    assert_eq!(v["broken_at_seq"], 4, "{v}");
    assert_eq!(v["events"], 3, "{v}");
}

#[tokio::test]
async fn deleting_the_last_event_is_detected() {
    let app = spawn_app().await;
    let (c, reference) = case_with_history(&app).await;
    let (bystander, _) = case_with_history(&app).await;
    let changed = exec(
        &app,
        &format!(
            "DELETE FROM complaint_events WHERE seq = 4 AND {}",
            of_case(&reference)
        ),
    )
    .await;
    assert_eq!(changed, 1);
    // What is left is a perfect chain of three; the case row says there were four.
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["events"], 3, "{v}");
    assert_eq!(v["recorded_events"], 4, "{v}");
    assert_eq!(v["broken_at_seq"], 4, "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("removed from the end"),
        "{v}"
    );
    let other = verify(&app, &bystander.learner, &bystander.id).await;
    assert_eq!(other, json!({ "intact": true, "events": 4 }));
}

#[tokio::test]
async fn deleting_every_event_is_detected() {
    let app = spawn_app().await;
    let (c, reference) = case_with_history(&app).await;
    let changed = exec(
        &app,
        &format!("DELETE FROM complaint_events WHERE {}", of_case(&reference)),
    )
    .await;
    assert_eq!(changed, 4);
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["events"], 0, "{v}");
    assert_eq!(v["recorded_events"], 4, "{v}");
    assert_eq!(v["broken_at_seq"], 1, "{v}");
}

#[tokio::test]
async fn rewriting_the_last_event_together_with_its_hash_is_detected() {
    use entity::complaint_event;
    let app = spawn_app().await;
    let (c, _) = case_with_history(&app).await;
    let case_id: Uuid = c.id.parse().unwrap();
    let row = complaint_event::Entity::find()
        .filter(complaint_event::Column::ComplaintId.eq(case_id))
        .filter(complaint_event::Column::Seq.eq(4))
        .one(&app.db)
        .await
        .unwrap()
        .expect("event 4");
    // The head has no successor to point at the original: only the case row does.
    let payload = r#"{"message":"No refund.","remedy":"explanation"}"#;
    let forged = hash(
        &row.prev_hash,
        &EventContent {
            complaint_id: row.complaint_id,
            seq: row.seq,
            actor_id: row.actor_id,
            actor_role: &row.actor_role,
            action: &row.action,
            from_state: row.from_state.as_deref(),
            to_state: row.to_state.as_deref(),
            payload,
            created_at: row.created_at,
        },
    );
    let mut edit: complaint_event::ActiveModel = row.into();
    edit.payload = Set(payload.to_owned());
    edit.hash = Set(forged);
    edit.update(&app.db).await.unwrap();
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["events"], 4, "{v}");
    assert_eq!(v["broken_at_seq"], 4, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("rewritten"), "{v}");
    assert!(v.get("recorded_events").is_none(), "{v}");
}

#[tokio::test]
async fn every_kind_of_append_moves_the_anchor() {
    use entity::complaint;
    let app = spawn_app().await;
    let (c, _) = case_with_history(&app).await;
    // Appends outside the lifecycle: a message, an attachment, a public response.
    message(&app, &c.learner, &c.id, "Thanks").await.expect(201);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"receipt".to_vec()).file_name("r.txt"),
    );
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/complaints/{}/attachments", c.id)))
        .bearer_auth(&c.learner.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    TestApp::read(resp).await.expect(201);
    app.put(
        &format!("/api/v1/complaints/{}/public_response", c.id),
        Some(&c.staff.token),
        json!({ "kind": "under_review", "text": "Looking into it." }),
    )
    .await
    .expect(200);
    // A timer: the learner's reply deadline lapses and the sweeper resolves the case.
    app.clock.set(app.clock_now() + chrono::Duration::days(60));
    assert!(app.sweep().await.deadlines >= 1);
    let timeline = events(&app, &c.learner, &c.id).await;
    let case = complaint::Entity::find_by_id(c.id.parse::<Uuid>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let last = timeline.last().unwrap();
    assert_eq!(case.timeline_len as usize, timeline.len());
    assert_eq!(last["hash"], case.timeline_head.as_str());
    assert_eq!(last["action"], "timeout");
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v, json!({ "intact": true, "events": timeline.len() }));
}

#[tokio::test]
async fn rewriting_an_event_together_with_its_hash_breaks_the_next_link() {
    use entity::complaint_event;
    let app = spawn_app().await;
    let (c, _) = case_with_history(&app).await;
    let case_id: Uuid = c.id.parse().unwrap();
    let row = complaint_event::Entity::find()
        .filter(complaint_event::Column::ComplaintId.eq(case_id))
        .filter(complaint_event::Column::Seq.eq(2))
        .one(&app.db)
        .await
        .unwrap()
        .expect("event 2");
    // A careful forger recomputes the rewritten event's own hash…
    let payload = r#"{"questions":"Nothing, thanks."}"#;
    let forged = hash(
        &row.prev_hash,
        &EventContent {
            complaint_id: row.complaint_id,
            seq: row.seq,
            actor_id: row.actor_id,
            actor_role: &row.actor_role,
            action: &row.action,
            from_state: row.from_state.as_deref(),
            to_state: row.to_state.as_deref(),
            payload,
            created_at: row.created_at,
        },
    );
    let mut edit: complaint_event::ActiveModel = row.into();
    edit.payload = Set(payload.to_owned());
    edit.hash = Set(forged);
    edit.update(&app.db).await.unwrap();
    // …but event 3 still points at the original.
    let v = verify(&app, &c.learner, &c.id).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_at_seq"], 3, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn references_are_unique_and_sequential_under_concurrent_filings() {
    let app = spawn_app().await;
    let c = filed_case(&app).await; // ED-2026-000001
    let mut learners = vec![];
    for _ in 0..30 {
        learners.push(app.learner().await);
    }
    let replies = join_all(
        learners
            .iter()
            .map(|l| app.post("/api/v1/complaints", Some(&l.token), filing(c.institution))),
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|&s| s == 201), "{statuses:?}");
    let refs: BTreeSet<String> = replies
        .iter()
        .map(|r| r.body["reference"].as_str().unwrap().to_owned())
        .collect();
    let ids: BTreeSet<&str> = replies
        .iter()
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), 30, "{refs:?}");
    assert_eq!(ids.len(), 30);
    // The first case took 000001; the thirty concurrent ones take 000002…000031, no gaps.
    let want: BTreeSet<String> = (2..=31).map(|n| format!("ED-2026-{n:06}")).collect();
    assert_eq!(refs, want);
    // Each learner got their own case.
    for (l, r) in learners.iter().zip(&replies) {
        assert_eq!(r.body["learner_id"], l.id.to_string());
    }
    assert_eq!(listed(&app, &c.regulator).await.len(), 31);
}

/// The failures counted for `key` in the login throttle.
async fn throttle_count(app: &TestApp, key: &str) -> i32 {
    use sea_orm::EntityTrait;
    entity::login_throttle::Entity::find_by_id(key.to_owned())
        .one(&app.db)
        .await
        .unwrap()
        .map_or(0, |r| r.failures)
}

#[tokio::test]
async fn concurrent_failed_logins_each_count() {
    // Limits high enough that nothing blocks: only the counting is raced.
    let app = crate::helpers::spawn_app_with(|s| {
        s.login_max_failures_per_account = 1000;
        s.login_max_failures_per_address = 100_000;
    })
    .await;
    let mut users = vec![];
    for _ in 0..20 {
        users.push(app.learner().await);
    }
    let app = &app;
    let attempts = users.iter().flat_map(|u| {
        [0, 1].map(move |_| {
            let email = u.email.clone();
            async move { app.login(&email, "wrong password!").await.status.as_u16() }
        })
    });
    let answers = join_all(attempts).await;
    assert!(answers.iter().all(|&s| s == 401), "{answers:?}");
    let mut lost = vec![];
    for u in &users {
        let n = throttle_count(app, &redress::service::throttle::account_key(&u.email)).await;
        if n != 2 {
            lost.push((u.email.clone(), n));
        }
    }
    assert!(lost.is_empty(), "failures lost to the race: {lost:?}");
    assert_eq!(throttle_count(app, "addr:127.0.0.1").await, 40);
}

#[tokio::test]
async fn concurrent_secret_rotations_never_answer_a_secret_that_does_not_sign() {
    use crate::helpers::{Receiver, credit_code};
    use redress::domain::webhook_signature::{WebhookSecret, verify};
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let reg = app.regulator().await;
    // Five subscriptions for each of four owners.
    let mut hooks = vec![];
    for i in 0..4 {
        let inst = app
            .institution(&reg, &credit_code(300 + i), "Rotating Online", "110108")
            .await;
        let staff = app
            .user(entity::account::Role::InstitutionStaff, Some(inst), None)
            .await;
        for _ in 0..5 {
            let hook = app.subscribe(&staff, &receiver.url, None).await;
            hooks.push((staff.token.clone(), hook["id"].as_str().unwrap().to_owned()));
        }
    }
    let rotate = |token: String, id: String| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/webhooks/{id}/rotate"),
                Some(&token),
                json!({}),
            )
            .await
        }
    };
    let pairs = join_all(hooks.iter().map(|(token, id)| {
        let (a, b) = (
            rotate(token.clone(), id.clone()),
            rotate(token.clone(), id.clone()),
        );
        async move { futures_util::join!(a, b) }
    }))
    .await;
    let mut answered: Vec<Vec<String>> = vec![];
    for (i, (a, b)) in pairs.iter().enumerate() {
        let mut secrets = vec![];
        for r in [a, b] {
            match r.status.as_u16() {
                200 => secrets.push(r.body["secret"].as_str().unwrap().to_owned()),
                409 => assert_eq!(r.body["status"], 409),
                other => panic!("pair {i}: rotation answered {other}: {}", r.body),
            }
        }
        assert!(!secrets.is_empty(), "pair {i}: neither rotation succeeded");
        answered.push(secrets);
    }
    // Every secret a rotation answered signs what is sent now.
    for (token, id) in &hooks {
        app.post(
            &format!("/api/v1/webhooks/{id}/ping"),
            Some(token),
            json!({}),
        )
        .await
        .expect(202);
    }
    app.deliver().await;
    let got = receiver.received();
    assert_eq!(got.len(), hooks.len());
    for ((_, id), secrets) in hooks.iter().zip(&answered) {
        let r = got
            .iter()
            .find(|r| r.json["data"]["subscription_id"] == id.as_str())
            .expect("the ping of every subscription arrived");
        for s in secrets {
            verify(
                &WebhookSecret::parse(s).unwrap(),
                &r.id,
                &r.timestamp,
                &r.signature,
                &r.body,
                r.timestamp.parse().unwrap(),
            )
            .unwrap_or_else(|e| {
                panic!("a secret answered by a rotation of {id} does not sign: {e}")
            });
        }
    }
}

/// Two reports on one settlement at once (a double click, two tabs): one is recorded,
/// the other is refused with 409 as if it had come second, and the timeline, the
/// institution's record and the statistics count it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reports_on_one_settlement_at_once_record_one() {
    use crate::stage_timers::{quiet_world, settled};
    let app = &spawn_app().await;
    let w = quiet_world(app).await;
    let c = &w.case;
    let pairs = 20;
    let kinds: [(&str, &TestUser, Option<Value>, &str, &str); 3] = [
        (
            "settlement/fulfil",
            &c.staff,
            None,
            "settlement_fulfilled",
            "fulfilled",
        ),
        (
            "settlement/confirm",
            &c.learner,
            None,
            "settlement_confirmed",
            "confirmed",
        ),
        (
            "settlement/report_unfulfilled",
            &c.learner,
            Some(json!({ "note": "Nothing was refunded" })),
            "settlement_unfulfilled",
            "unfulfilled",
        ),
    ];
    let mut failures = vec![];
    for (path, user, body, event, status) in kinds {
        let mut ids = vec![];
        for _ in 0..pairs {
            ids.push(settled(app, &w).await.0);
        }
        let replies = join_all(ids.iter().map(|id| {
            let body = body.clone();
            async move {
                tokio::join!(
                    act(app, user, id, path, body.clone()),
                    act(app, user, id, path, body),
                )
            }
        }))
        .await;
        for (id, (a, b)) in ids.iter().zip(replies) {
            let got = [a.status.as_u16(), b.status.as_u16()];
            let (won, lost) = match got {
                [200, 409] => (a, b),
                [409, 200] => (b, a),
                _ => {
                    failures.push(format!("{path} on {id}: {got:?}, want one 200 and one 409"));
                    continue;
                }
            };
            if won.body["status"] != status
                || !lost.body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(status))
            {
                failures.push(format!("{path} on {id}: {} / {}", won.body, lost.body));
            }
            let recorded = events(app, &c.learner, id)
                .await
                .iter()
                .filter(|e| e["action"] == event)
                .count();
            if recorded != 1 {
                failures.push(format!("{path} on {id}: {recorded} `{event}` events"));
            }
        }
    }
    let record = app
        .get(
            &format!("/api/v1/institutions/{}/record", c.institution),
            None,
        )
        .await
        .expect(200);
    if record.body["settlements_unfulfilled"] != pairs {
        failures.push(format!("record: {}", record.body));
    }
    let differences = redress::service::stats::verify(&app.db).await.unwrap();
    assert!(differences.is_empty(), "{differences:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
