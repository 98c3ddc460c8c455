//! Learner emails: written to the outbox with the change that causes them, sent by the
//! email worker through SMTP (a local sink here) or into the mail folder, retried, and
//! sent once however many workers race.
use std::collections::HashMap;

use chrono::Duration;
use entity::{
    account,
    email_outbox::{self, MailState},
};
use redress::{
    config::Settings,
    domain::webhook_retry::MAX_ATTEMPTS,
    service::email::sender::{self, LEASE, Mailer},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use crate::{
    helpers::{TestApp, TestUser, credit_code, spawn_app, spawn_app_with},
    lifecycle::{act, filing, rand_n, refund_answer},
    smtp_sink::{Mail, SinkMode, SmtpSink},
};

const NARRATIVE: &str = "I paid for 100 class hours and the teacher stopped showing up.";

async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(|s| s.smtp_url = Some(url.into())).await;
    (app, sink)
}

struct World {
    staff: TestUser,
    institution: Uuid,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    app.association(&admin, "北京市消费者协会", &["110000"])
        .await;
    let regulator = app.regulator().await;
    let institution = app
        .institution(&regulator, &credit_code(rand_n()), "Case Online", "110108")
        .await;
    let staff = app
        .user(
            entity::account::Role::InstitutionStaff,
            Some(institution),
            None,
        )
        .await;
    World { staff, institution }
}

async fn learner_speaking(app: &TestApp, language: Option<&str>) -> TestUser {
    let learner = app.learner().await;
    account::Entity::update_many()
        .col_expr(account::Column::Language, Expr::value(language))
        .filter(account::Column::Id.eq(learner.id))
        .exec(&app.db)
        .await
        .unwrap();
    learner
}

async fn file(app: &TestApp, w: &World, learner: &TestUser) -> (String, String) {
    let r = app
        .post(
            "/api/v1/complaints",
            Some(&learner.token),
            filing(w.institution),
        )
        .await
        .expect(201);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["reference"].as_str().unwrap().to_owned(),
    )
}

async fn outbox(app: &TestApp) -> Vec<email_outbox::Model> {
    email_outbox::Entity::find()
        .order_by_asc(email_outbox::Column::CreatedAt)
        .order_by_asc(email_outbox::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

fn assert_no_narrative(mail: &Mail) {
    assert!(!mail.raw.contains(NARRATIVE) && !mail.text.contains("teacher stopped"));
}

#[tokio::test]
async fn a_case_filed_responded_and_escalated_mails_exactly_those_in_the_learners_language() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let en = learner_speaking(&app, Some("en")).await;
    let (id, reference) = file(&app, &w, &en).await;
    act(&app, &w.staff, &id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    // A message moves nothing: no mail.
    app.post(
        &format!("/api/v1/complaints/{id}/messages"),
        Some(&w.staff.token),
        json!({ "text": "Please see our answer." }),
    )
    .await
    .expect(201);
    act(
        &app,
        &en,
        &id,
        "escalate",
        Some(json!({ "reason": "Not enough" })),
    )
    .await
    .expect(200);
    // A learner without a language set gets Chinese.
    let zh = learner_speaking(&app, None).await;
    let (zh_id, zh_reference) = file(&app, &w, &zh).await;

    assert!(sink.delivered().is_empty(), "sent only by the worker");
    let step = app.send_mail().await;
    assert_eq!(step.sent, 4, "{step:?}");
    assert_eq!(app.send_mail().await.attempted, 0, "each mail once");

    let delivered = sink.delivered();
    let to_en: Vec<_> = delivered
        .iter()
        .filter(|d| d.rcpt == [en.email.clone()])
        .collect();
    let mut subjects: Vec<String> = to_en.iter().map(|d| d.mail.subject.clone()).collect();
    subjects.sort_unstable();
    let mut want = vec![
        format!("Your complaint {reference} has been filed"),
        format!("{reference}: Case Online has responded"),
        format!("{reference} has gone to mediation"),
    ];
    want.sort_unstable();
    assert_eq!(subjects, want);
    for d in &to_en {
        assert_eq!(d.mail.header("To"), Some(en.email.as_str()));
        assert!(
            d.mail
                .header("From")
                .unwrap()
                .contains("no-reply@redress.localhost")
        );
        let link = format!("https://redress.test/cases/{id}");
        assert!(d.mail.text.contains(&link), "{}", d.mail.text);
        assert!(d.mail.html.contains(&format!("<a href=\"{link}\">")));
        assert!(d.mail.text.contains(&reference));
        assert!(d.mail.header("Message-ID").unwrap().ends_with("@redress>"));
        assert_no_narrative(&d.mail);
    }
    let to_zh: Vec<_> = delivered
        .iter()
        .filter(|d| d.rcpt == [zh.email.clone()])
        .collect();
    assert_eq!(to_zh.len(), 1);
    assert_eq!(
        to_zh[0].mail.subject,
        format!("您的投诉 {zh_reference} 已提交")
    );
    assert!(to_zh[0].mail.text.contains("您好"));
    assert!(to_zh[0].mail.text.contains(&format!("/cases/{zh_id}")));

    // Recorded as sent, and the rows name their cases and kinds.
    let rows = outbox(&app).await;
    assert!(
        rows.iter()
            .all(|r| r.state == MailState::Sent && r.sent_at.is_some())
    );
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "case_filed",
            "case_responded",
            "case_escalated",
            "case_filed"
        ]
    );
}

#[tokio::test]
async fn a_missed_deadline_is_mailed_once_as_such() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let learner = learner_speaking(&app, Some("en")).await;
    let (_, reference) = file(&app, &w, &learner).await;
    // The institution lets its deadline pass.
    app.clock.advance(Duration::days(30));
    app.sweep().await;
    let step = app.send_mail().await;
    assert_eq!(step.sent, 2, "{step:?}");
    let subjects: Vec<String> = sink
        .delivered()
        .iter()
        .map(|d| d.mail.subject.clone())
        .collect();
    assert!(
        subjects.contains(&format!("{reference}: Case Online missed its deadline")),
        "{subjects:?}"
    );
    // No second "gone to mediation" mail for the same move.
    assert!(!subjects.iter().any(|s| s.contains("gone to mediation")));
}

#[tokio::test]
async fn a_deferring_or_absent_smtp_server_is_retried_later_and_nothing_is_lost() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let learner = learner_speaking(&app, None).await;
    sink.set_mode(SinkMode::Defer);
    let (_, reference) = file(&app, &w, &learner).await;

    let step = app.send_mail().await;
    assert_eq!((step.attempted, step.retrying, step.sent), (1, 1, 0));
    let row = &outbox(&app).await[0];
    assert_eq!(row.state, MailState::Pending);
    assert_eq!(row.attempts, 1);
    let error = row.last_error.clone().unwrap();
    assert_eq!(error, "smtp 451 (deferred)");
    assert!(!error.contains(&learner.email));
    // Not due again at once.
    assert_eq!(app.send_mail().await.attempted, 0);

    // The server is gone altogether (nothing listens on the port).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let gone = Mailer::new(&Settings {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}").into()),
        ..app.settings.clone()
    })
    .unwrap();
    app.clock.advance(Duration::seconds(10));
    let step = sender::run_once(&app.db, &gone, app.clock_now())
        .await
        .unwrap();
    assert_eq!(step.retrying, 1, "{step:?}");
    let row = &outbox(&app).await[0];
    assert_eq!(row.attempts, 2);
    assert_eq!(
        row.last_error.as_deref(),
        Some("could not talk to the SMTP server")
    );

    // Back and accepting: sent on the next due attempt, once.
    sink.set_mode(SinkMode::Accept);
    app.clock.advance(Duration::minutes(6));
    assert_eq!(app.send_mail().await.sent, 1);
    let delivered = sink.delivered();
    assert_eq!(delivered.len(), 1);
    assert!(delivered[0].mail.subject.contains(&reference));
    let row = &outbox(&app).await[0];
    assert_eq!((row.state, row.attempts), (MailState::Sent, 3));
}

#[tokio::test]
async fn a_refused_mail_fails_at_once_and_a_deferred_one_after_the_last_retry() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let learner = learner_speaking(&app, None).await;
    sink.set_mode(SinkMode::Refuse);
    file(&app, &w, &learner).await;
    let step = app.send_mail().await;
    assert_eq!(step.given_up, 1, "{step:?}");
    let row = &outbox(&app).await[0];
    assert_eq!(row.state, MailState::Failed);
    assert_eq!(row.last_error.as_deref(), Some("smtp 550 (refused)"));

    sink.set_mode(SinkMode::Defer);
    file(&app, &w, &learner).await;
    let mut attempts = 0;
    for _ in 0..(MAX_ATTEMPTS + 2) {
        attempts += app.send_mail().await.attempted;
        app.clock.advance(Duration::hours(12));
    }
    assert_eq!(attempts as u32, MAX_ATTEMPTS);
    let rows = outbox(&app).await;
    let last = rows.last().unwrap();
    assert_eq!(last.state, MailState::Failed);
    assert_eq!(last.attempts as u32, MAX_ATTEMPTS);
    assert!(sink.delivered().is_empty());
}

#[tokio::test]
async fn a_crash_between_enqueue_and_send_is_sent_by_the_next_worker() {
    let (app, sink) = app_with_sink().await;
    let w = world(&app).await;
    let learner = learner_speaking(&app, None).await;
    file(&app, &w, &learner).await;
    // A worker claimed the mail and died before sending it.
    let now = app.clock_now();
    email_outbox::Entity::update_many()
        .col_expr(
            email_outbox::Column::LeaseUntil,
            Expr::value(Some(now + LEASE)),
        )
        .col_expr(
            email_outbox::Column::ClaimToken,
            Expr::value(Some(Uuid::new_v4())),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(app.send_mail().await.attempted, 0, "still leased");
    app.clock.advance(LEASE + Duration::seconds(1));
    assert_eq!(app.send_mail().await.sent, 1);
    assert_eq!(sink.delivered().len(), 1);
    assert_eq!(
        sink.delivered()[0].rcpt,
        std::slice::from_ref(&learner.email)
    );
}

#[tokio::test]
async fn two_senders_racing_send_each_mail_once() {
    let (app, sink) = app_with_sink().await;
    sink.set_delay(std::time::Duration::from_millis(5));
    let w = world(&app).await;
    let learner = learner_speaking(&app, None).await;
    for _ in 0..24 {
        file(&app, &w, &learner).await;
    }
    let settings = Settings {
        mail_batch_size: 3,
        ..app.settings.clone()
    };
    let mailers: Vec<Mailer> = (0..2).map(|_| Mailer::new(&settings).unwrap()).collect();
    let now = app.clock_now();
    let sent = futures_util::future::join_all(mailers.iter().map(|m| {
        let db = app.db.clone();
        async move {
            let mut total = 0;
            loop {
                let step = sender::run_once(&db, m, now).await.unwrap();
                if !step.busy() {
                    break total;
                }
                total += step.sent;
            }
        }
    }))
    .await;
    assert_eq!(sent.iter().sum::<usize>(), 24, "{sent:?}");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for d in sink.delivered() {
        *seen
            .entry(d.mail.header("Message-ID").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 24);
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}

#[tokio::test]
async fn without_smtp_mails_are_written_to_the_folder() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let learner = learner_speaking(&app, Some("en")).await;
    let (id, reference) = file(&app, &w, &learner).await;
    assert!(!app.settings.mail_dir.exists() || dir_files(&app).is_empty());
    assert_eq!(app.send_mail().await.sent, 1);
    let files = dir_files(&app);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "eml"));
    let mail = Mail::parse(&std::fs::read_to_string(&files[0]).unwrap());
    assert_eq!(
        mail.subject,
        format!("Your complaint {reference} has been filed")
    );
    assert_eq!(mail.header("To"), Some(learner.email.as_str()));
    assert!(
        mail.text
            .contains(&format!("https://redress.test/cases/{id}"))
    );
    assert_no_narrative(&mail);
    let row = &outbox(&app).await[0];
    assert_eq!(row.state, MailState::Sent);
}

fn dir_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(&app.settings.mail_dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_batch_of_filings_queues_one_mail_each_in_its_transaction() {
    use redress::{
        auth::Principal,
        db,
        service::complaints::{self, Filing, NewComplaint},
    };
    let app = spawn_app().await;
    let w = world(&app).await;
    let a = learner_speaking(&app, Some("en")).await;
    let b = learner_speaking(&app, None).await;
    let new = || NewComplaint {
        institution_id: w.institution,
        category: entity::complaint::Category::Refund,
        title: "Refund refused".into(),
        narrative: NARRATIVE.into(),
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
    let as_learner = |id| Principal {
        account_id: id,
        role: entity::account::Role::Learner,
        institution_id: None,
        association_id: None,
    };
    let filings: Vec<Filing> = [a.id, b.id, a.id]
        .into_iter()
        .map(|who| Filing {
            rules: app.state.rules(),
            who: as_learner(who),
            new: new(),
            idem: None,
        })
        .collect();
    // Rolled back: no mails.
    let txn = db::begin_write(&app.db).await.unwrap();
    complaints::file_many(&txn, &filings).await.unwrap();
    txn.rollback().await.unwrap();
    assert!(outbox(&app).await.is_empty());

    let txn = db::begin_write(&app.db).await.unwrap();
    let out = complaints::file_many(&txn, &filings).await.unwrap();
    txn.commit().await.unwrap();
    let rows = outbox(&app).await;
    assert_eq!(rows.len(), 3);
    for (o, who) in out.iter().zip([&a, &b, &a]) {
        let (case, _) = o.as_ref().unwrap();
        let row = rows
            .iter()
            .find(|r| r.complaint_id == Some(case.id))
            .unwrap();
        assert_eq!(row.account_id, Some(who.id));
        assert_eq!(row.to_address, who.email);
        assert_eq!(row.kind, "case_filed");
        assert!(!row.vars.contains("teacher"), "{}", row.vars);
    }
    let langs: Vec<&str> = rows.iter().map(|r| r.language.as_str()).collect();
    assert_eq!(langs.iter().filter(|l| **l == "en").count(), 2);
    assert_eq!(langs.iter().filter(|l| **l == "zh-CN").count(), 1);
}
