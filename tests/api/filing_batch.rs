//! The group-commit path of filing: many filings written by one `file_many` call (as the
//! filing writer does with whatever is queued) leave exactly what single filings leave —
//! one intact first event, timers, an outbox row, statistics — and refuse or replay
//! the filings that must be, without disturbing the others.
use entity::{complaint, complaint_event, timer, webhook_event};
use redress::{
    auth::Principal,
    db,
    service::{
        complaints::{self, Filing, Idempotency, NewComplaint},
        stats, timeline,
    },
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};
use crate::lifecycle::filed_case;

fn learner(id: Uuid) -> Principal {
    Principal {
        account_id: id,
        role: entity::account::Role::Learner,
        institution_id: None,
        association_id: None,
    }
}

fn new_complaint(institution_id: Uuid, title: &str) -> NewComplaint {
    NewComplaint {
        institution_id,
        category: entity::complaint::Category::Refund,
        title: title.into(),
        narrative: "The classes stopped and the refund was refused.".into(),
        desired_remedy: entity::complaint::DesiredRemedy::FullRefund,
        desired_amount_minor: None,
        currency: "CNY".into(),
        amount_in_dispute_minor: Some(1_280_000),
        course_reference: None,
        purchase_date: None,
        prepaid_minor: None,
        hours_bought: Some(100),
        hours_used: Some(20),
        prepaid_period_days: None,
        minor: None,
        consent_to_publish: false,
    }
}

fn filing(app: &TestApp, who: Uuid, new: NewComplaint, key: Option<(&str, &str)>) -> Filing {
    Filing {
        rules: app.state.rules(),
        who: learner(who),
        new,
        idem: key.map(|(key, hash)| Idempotency {
            key: key.into(),
            request_hash: hash.into(),
        }),
    }
}

async fn file_together(app: &TestApp, filings: &[Filing]) -> Vec<complaints::Filed> {
    let txn = db::begin_write(&app.db).await.unwrap();
    let out = complaints::file_many(&txn, filings).await.unwrap();
    txn.commit().await.unwrap();
    out
}

#[tokio::test]
async fn a_batch_files_refuses_and_replays_each_filing_on_its_own_merits() {
    let app = spawn_app().await;
    let c = filed_case(&app).await; // ED-2026-000001
    let other = filed_case(&app).await; // ED-2026-000002, another institution
    let first = file_together(
        &app,
        &[filing(
            &app,
            c.learner.id,
            new_complaint(c.institution, "keyed"),
            Some(("k-1", "hash-1")),
        )],
    )
    .await;
    let (keyed, replayed) = first.into_iter().next().unwrap().unwrap();
    assert!(!replayed);
    assert_eq!(keyed.reference, "ED-2026-000003");

    let batch = [
        filing(&app, c.learner.id, new_complaint(c.institution, "a"), None),
        filing(
            &app,
            c.learner.id,
            new_complaint(Uuid::now_v7(), "nowhere"),
            None,
        ),
        filing(
            &app,
            other.learner.id,
            new_complaint(other.institution, "b"),
            Some(("k-1", "hash-other-learner")),
        ),
        filing(
            &app,
            c.learner.id,
            new_complaint(c.institution, "retry"),
            Some(("k-1", "hash-1")),
        ),
        filing(
            &app,
            c.learner.id,
            new_complaint(c.institution, "reused key"),
            Some(("k-1", "hash-2")),
        ),
        filing(
            &app,
            other.learner.id,
            new_complaint(other.institution, "c"),
            None,
        ),
    ];
    let out = file_together(&app, &batch).await;
    assert_eq!(out.len(), 6);

    let filed = |i: usize| -> complaint::Model {
        let (case, replayed) = out[i].as_ref().unwrap();
        assert!(!replayed, "filing {i} was not a replay");
        case.clone()
    };
    let (a, b, cc) = (filed(0), filed(2), filed(5));
    // References continue the sequence in the order the filings arrived.
    assert_eq!(
        [&a.reference, &b.reference, &cc.reference],
        ["ED-2026-000004", "ED-2026-000005", "ED-2026-000006"]
    );
    assert_eq!(b.learner_id, other.learner.id, "keys are per account");
    assert!(matches!(
        &out[1],
        Err(redress::error::ApiError::Validation(errors)) if errors[0].field == "institution_id"
    ));
    let (replay, was_replay) = out[3].as_ref().unwrap();
    assert!(was_replay);
    assert_eq!(replay.id, keyed.id);
    assert!(matches!(
        &out[4],
        Err(redress::error::ApiError::BadRequest(_))
    ));

    for case in [&a, &b, &cc] {
        let stored = complaint::Entity::find_by_id(case.id)
            .one(&app.db)
            .await
            .unwrap()
            .expect("the case is stored");
        assert_eq!(&stored, case, "the answer is the stored row");
        let events = timeline::list(&app.db, case.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "file");
        let payload: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
        assert_eq!(payload["reference"], json!(case.reference));
        assert_eq!(payload["institution_id"], json!(case.institution_id));
        // The case row anchors the timeline on its first event.
        assert_eq!(
            (stored.timeline_len, &stored.timeline_head),
            (1, &events[0].hash)
        );
        assert_eq!(
            timeline::verify(&events, &timeline::Anchor::of(&stored)),
            Ok(1)
        );
        let timers = timer::Entity::find()
            .filter(timer::Column::ComplaintId.eq(case.id))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(timers, 2, "a deadline and its warning");
        let outbox = webhook_event::Entity::find()
            .filter(webhook_event::Column::ComplaintId.eq(case.id))
            .all(&app.db)
            .await
            .unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].event_type, "complaint.filed");
        assert!(case.response_due_at.is_some());
    }
    // Nothing was written for the refused, replayed or unknown filings.
    let all = complaint_event::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(all, 6, "six cases, one event each");
    assert!(stats::verify(&app.db).await.unwrap().is_empty());
}

#[tokio::test]
async fn two_filings_of_one_batch_with_one_key_spoil_the_batch_for_a_retry_one_by_one() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let same = || {
        filing(
            &app,
            c.learner.id,
            new_complaint(c.institution, "twice"),
            Some(("dup", "h")),
        )
    };
    let txn = db::begin_write(&app.db).await.unwrap();
    let refused = complaints::file_many(&txn, &[same(), same()]).await;
    assert!(matches!(
        refused,
        Err(redress::error::ApiError::Conflict { .. })
    ));
    txn.rollback().await.unwrap();
    // Through the queue, the same pair files one case and replays it for the other.
    let (a, b) = tokio::join!(
        app.state.filings.file(&app.db, same()),
        app.state.filings.file(&app.db, same())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.0.id, b.0.id);
    assert!(a.1 != b.1, "one filed, one replayed");
    assert!(stats::verify(&app.db).await.unwrap().is_empty());
}
