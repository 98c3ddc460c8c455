//! Open data over HTTP: JSON and CSV agree, only published cases appear, narratives
//! are redacted, institutions answer publicly, mediators and regulators review.
use chrono::Duration;
use entity::account::Role;
use redress::{
    domain::{
        account::{Email, Password},
        redaction::{id_number_checksum_ok, luhn_ok},
    },
    service::accounts,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::disclosure::{file, filing_with, institution_named};
use crate::helpers::{PASSWORD, TestApp, TestUser, spawn_app};
use crate::lifecycle::{act, refund_answer};

async fn csv_rows(app: &TestApp, query: &str) -> (reqwest::header::HeaderMap, Vec<Vec<String>>) {
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/public/complaints.csv{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, redress::api::public::CSV_COLUMNS);
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

/// Every item of the JSON list, following cursors with a small page size.
async fn json_items(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/public/complaints?limit=2{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path, None).await.expect(200);
        items.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

fn as_csv(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn csv_and_json_agree_and_only_published_cases_appear() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Open Data Online").await;
    let learner = app.learner().await;

    // Answered: published at once.
    let answered = file(
        &app,
        &learner,
        filing_with(inst.id, "Answered, consented.", true),
    )
    .await;
    act(
        &app,
        &inst.staff,
        &answered,
        "respond",
        Some(refund_answer()),
    )
    .await
    .expect(200);
    act(&app, &learner, &answered, "accept_response", None)
        .await
        .expect(200);
    app.put(
        &format!("/api/v1/complaints/{answered}/public_response"),
        Some(&inst.staff.token),
        json!({ "kind": "resolved_with_the_learner", "text": "Refunded in full, \"sorry\", again." }),
    )
    .await
    .expect(200);
    // Answered without consent: published without its narrative.
    let private = file(
        &app,
        &learner,
        filing_with(inst.id, "Private words.", false),
    )
    .await;
    act(
        &app,
        &inst.staff,
        &private,
        "respond",
        Some(refund_answer()),
    )
    .await
    .expect(200);
    // Waiting for an answer: not yet published.
    let waiting = file(&app, &learner, filing_with(inst.id, "Still waiting.", true)).await;

    let items = json_items(&app, "").await;
    let refs: Vec<&str> = items
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    let narratives: Vec<&Value> = items.iter().map(|i| &i["narrative"]).collect();
    assert!(narratives.contains(&&json!("Answered, consented.")));
    assert!(narratives.contains(&&Value::Null));
    assert!(
        !items
            .iter()
            .any(|i| i.to_string().contains("Private words."))
    );
    let answered_item = items
        .iter()
        .find(|i| i["narrative"] == "Answered, consented.")
        .unwrap();
    assert_eq!(answered_item["state"], "resolved");
    assert_eq!(answered_item["outcome"], "monetary_relief");
    assert_eq!(answered_item["timely"], true);
    assert_eq!(answered_item["days_to_first_answer"], 0);
    assert_eq!(answered_item["institution_name"], "Open Data Online");
    assert_eq!(answered_item["region_code"], "110108");
    assert_eq!(
        answered_item["public_response"]["kind"],
        "resolved_with_the_learner"
    );

    // The response deadline passes: the waiting case is published (before any sweep).
    app.clock.advance(Duration::days(20));
    let items = json_items(&app, "").await;
    assert_eq!(items.len(), 3);
    app.sweep().await;
    let items = json_items(&app, "").await;
    let late = items
        .iter()
        .find(|i| i["narrative"] == "Still waiting.")
        .unwrap();
    assert_eq!(late["state"], "awaiting_mediation");
    assert_eq!(late["timely"], false);
    assert!(late["days_to_first_answer"].is_null());
    let _ = waiting;

    // CSV: same rows, same order, same values.
    let (headers, rows) = csv_rows(&app, "").await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("complaints.csv")
    );
    assert_eq!(rows.len(), items.len());
    for (row, item) in rows.iter().zip(&items) {
        let expected: Vec<String> = vec![
            as_csv(&item["reference"]),
            as_csv(&item["received_at"]),
            as_csv(&item["category"]),
            as_csv(&item["institution_id"]),
            as_csv(&item["institution_name"]),
            as_csv(&item["region_code"]),
            as_csv(&item["state"]),
            as_csv(&item["outcome"]),
            as_csv(&item["timely"]),
            as_csv(&item["days_to_first_answer"]),
            as_csv(&item["narrative"]),
            as_csv(&item["public_response"]["kind"]),
            as_csv(&item["public_response"]["text"]),
        ];
        // Times may differ only in how they are written; compare the instants.
        let t_csv: chrono::DateTime<chrono::Utc> = row[1].parse().unwrap();
        let t_json: chrono::DateTime<chrono::Utc> = expected[1].parse().unwrap();
        assert_eq!(t_csv, t_json);
        let (mut a, mut b) = (row.clone(), expected);
        a[1].clear();
        b[1].clear();
        assert_eq!(a, b);
    }

    // Filters apply to both.
    let mediated = json_items(&app, "&state=awaiting_mediation").await;
    assert_eq!(mediated.len(), 1);
    let (_, rows) = csv_rows(&app, "?state=awaiting_mediation").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(json_items(&app, "&region=110000").await.len(), 3);
    assert_eq!(json_items(&app, "&region=440000").await.len(), 0);
    let (_, rows) = csv_rows(&app, "?region=440000").await;
    assert!(rows.is_empty());
    assert_eq!(
        json_items(&app, &format!("&institution_id={}", Uuid::now_v7()))
            .await
            .len(),
        0
    );
    app.get("/api/v1/public/complaints?region=99", None)
        .await
        .expect_problem(422);
}

#[tokio::test]
async fn the_csv_streams_many_pages() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Busy Online").await;
    let learner = app.learner().await;
    // More than one CSV chunk (500 rows) would be slow to build over HTTP; check the
    // page boundaries with a few cases and small JSON pages instead, and the CSV
    // against them.
    for i in 0..7 {
        let id = file(
            &app,
            &learner,
            filing_with(inst.id, &format!("Case number {i}."), true),
        )
        .await;
        act(&app, &inst.staff, &id, "respond", Some(refund_answer()))
            .await
            .expect(200);
    }
    let items = json_items(&app, "").await;
    assert_eq!(items.len(), 7);
    let (_, rows) = csv_rows(&app, "").await;
    let json_refs: Vec<String> = items.iter().map(|i| as_csv(&i["reference"])).collect();
    let csv_refs: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(json_refs, csv_refs);
    // Newest first.
    let mut sorted = json_refs.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(json_refs, sorted);
}

/// A learner account with a real-looking name (a party name to redact).
async fn named_user(app: &TestApp, name: &str, role: Role, institution: Option<Uuid>) -> TestUser {
    let email = format!("u-{}@example.com", Uuid::new_v4().simple());
    let parsed = Email::parse(&email).unwrap();
    let acct = accounts::create(
        &app.db,
        accounts::NewAccount {
            password: Password::parse(PASSWORD, &parsed).unwrap(),
            email: parsed,
            display_name: name.to_owned(),
            role,
            institution_id: institution,
            association_id: None,
        },
        app.clock_now(),
    )
    .await
    .unwrap();
    let token = app.login(&email, PASSWORD).await.expect(200).body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    TestUser {
        id: acct.id,
        email,
        token,
    }
}

fn valid_id(prefix17: &str) -> String {
    "0123456789X"
        .chars()
        .map(|c| format!("{prefix17}{c}"))
        .find(|s| id_number_checksum_ok(s))
        .unwrap()
}

fn valid_card(prefix: &str) -> String {
    (0..10)
        .map(|d| format!("{prefix}{d}"))
        .find(|s| luhn_ok(s))
        .unwrap()
}

#[tokio::test]
async fn published_narratives_leak_no_personal_data_in_either_language() {
    let app = spawn_app().await;
    let regulator = app.regulator().await;
    let inst_id = app
        .institution(
            &regulator,
            &crate::helpers::credit_code(crate::lifecycle::rand_n()),
            "Redaction Online",
            "440305",
        )
        .await;
    let staff = named_user(&app, "赵敏", Role::InstitutionStaff, Some(inst_id)).await;

    let id1 = valid_id("11010519491231002");
    let id2 = valid_id("44030519900307123");
    let card1 = valid_card("622202123456789012");
    let card2 = valid_card("622848001234567");
    let id3 = valid_id("31011519900101441");
    let card3 = valid_card("621700001234567890");
    // (learner name, narrative, secrets that must vanish, ordinary text that must stay)
    let corpus: Vec<(&str, String, Vec<String>, Vec<&str>)> = vec![
        (
            "张伟",
            format!(
                "我是张伟，手机13812345678，身份证{id1}。课程费用12800元，共100课时，\
                 已上20课时。客服赵敏说可以退款，请打到我的银行卡{card1}。"
            ),
            vec![
                "张伟".into(),
                "13812345678".into(),
                id1.clone(),
                card1.clone(),
                "赵敏".into(),
            ],
            vec!["12800元", "100课时", "20课时"],
        ),
        (
            "李娜",
            "家住北京市海淀区中关村大街27号院3号楼501室，座机010-62345678，\
             微信号：lina_2024，QQ：123456789。孩子8岁，报了36节课，每节180元。"
                .into(),
            vec![
                "中关村大街27号".into(),
                "62345678".into(),
                "lina_2024".into(),
                "123456789".into(),
            ],
            vec!["8岁", "36节课", "180元"],
        ),
        (
            "Chen Jun",
            format!(
                "My name is Chen Jun. I paid 4,999 yuan on 2026-01-15 for 48 lessons. \
                 Call me on +86 139 1234 5678 or write to chen.jun@example.com. \
                 I live at Room 1201, Building 5, 88 Century Avenue. ID {id2}. \
                 Refund to card {card2} please; order no. 20260115001."
            ),
            vec![
                "Chen Jun".into(),
                "139 1234 5678".into(),
                "chen.jun@example.com".into(),
                "88 Century Avenue".into(),
                id2.clone(),
                card2.clone(),
            ],
            vec!["4,999 yuan", "2026-01-15", "48 lessons", "20260115001"],
        ),
        (
            "王芳",
            format!(
                "电话１３８００１３８０００，身份证{}，邮箱ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ，\
                 卡号 {}。学费６９９９元。",
                id3.chars()
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .join("\u{200B}"),
                card3
                    .chars()
                    .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
                    .collect::<String>(),
            ),
            vec![
                "１３８００１３８０００".into(),
                "13800138000".into(),
                id3.clone(),
                "wang@example.com".into(),
                "ｗａｎｇ".into(),
                card3.clone(),
            ],
            vec!["6999元"],
        ),
    ];

    let mut all_secrets = Vec::new();
    let mut all_keep = Vec::new();
    for (name, narrative, secrets, keep) in &corpus {
        let learner = named_user(&app, name, Role::Learner, None).await;
        let id = file(&app, &learner, filing_with(inst_id, narrative, true)).await;
        act(&app, &staff, &id, "respond", Some(refund_answer()))
            .await
            .expect(200);
        all_secrets.extend(secrets.iter().cloned());
        all_keep.extend(keep.iter().copied());
    }

    let json = app
        .get("/api/v1/public/complaints", None)
        .await
        .expect(200)
        .body
        .to_string();
    let csv = app
        .client
        .get(app.url("/api/v1/public/complaints.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page = crate::disclosure::page(&app, &format!("/institutions/{inst_id}"), None)
        .await
        .html;
    for (what, body) in [("json", &json), ("csv", &csv), ("page", &page)] {
        for s in &all_secrets {
            assert!(!body.contains(s.as_str()), "{what} leaks {s}");
        }
        for k in &all_keep {
            assert!(body.contains(k), "{what} lost {k}");
        }
        assert!(body.contains("[电话/phone]"), "{what}");
        assert!(body.contains("[姓名/name]"), "{what}");
    }
}

#[tokio::test]
async fn institutions_answer_publicly_and_reviewers_amend_the_redaction() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let assoc = app
        .association(&admin, "北京市消费者协会", &["110000"])
        .await;
    let other_assoc = app
        .association(&admin, "上海市消费者协会", &["310000"])
        .await;
    let inst = institution_named(&app, "Review Online").await;
    let other = institution_named(&app, "Other Online").await;
    let learner = app.learner().await;
    let id = file(
        &app,
        &learner,
        filing_with(
            inst.id,
            "Teacher Wang Fang never came; call 13912345678. My neighbour Lao Zhou saw it.",
            true,
        ),
    )
    .await;
    act(&app, &inst.staff, &id, "respond", Some(refund_answer()))
        .await
        .expect(200);

    // Public response: the institution's staff only.
    let path = format!("/api/v1/complaints/{id}/public_response");
    let body = json!({ "kind": "acted_on_the_feedback", "text": "We replaced the teacher." });
    app.put(&path, Some(&learner.token), body.clone())
        .await
        .expect_problem(403);
    app.put(&path, Some(&other.staff.token), body.clone())
        .await
        .expect_problem(404);
    app.put(&path, None, body.clone()).await.expect_problem(401);
    app.put(
        &path,
        Some(&inst.staff.token),
        json!({ "kind": "acted_on_the_feedback", "text": "x".repeat(501) }),
    )
    .await
    .expect_problem(422);
    app.put(
        &path,
        Some(&inst.staff.token),
        json!({ "kind": "made_up", "text": "x" }),
    )
    .await
    .expect_problem(400);
    let r = app
        .put(&path, Some(&inst.staff.token), body.clone())
        .await
        .expect(200);
    assert_eq!(r.body["kind"], "acted_on_the_feedback");
    let events = app
        .get(
            &format!("/api/v1/complaints/{id}/events"),
            Some(&learner.token),
        )
        .await
        .expect(200);
    assert!(
        events.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "public_response")
    );

    // Review: regulators, and the mediator of the case's association once it is theirs.
    let pub_path = format!("/api/v1/complaints/{id}/publication");
    app.get(&pub_path, Some(&learner.token))
        .await
        .expect_problem(403);
    app.get(&pub_path, Some(&inst.staff.token))
        .await
        .expect_problem(403);
    let mediator = app.user(Role::Mediator, None, Some(assoc)).await;
    let stranger = app.user(Role::Mediator, None, Some(other_assoc)).await;
    app.get(&pub_path, Some(&mediator.token))
        .await
        .expect_problem(404);
    act(
        &app,
        &learner,
        &id,
        "escalate",
        Some(json!({ "reason": "Want mediation" })),
    )
    .await
    .expect(200);
    app.get(&pub_path, Some(&stranger.token))
        .await
        .expect_problem(404);
    let p = app.get(&pub_path, Some(&mediator.token)).await.expect(200);
    assert_eq!(p.body["consent_to_publish"], true);
    let automatic = p.body["automatic"].as_str().unwrap();
    assert!(automatic.contains("[电话/phone]"));
    assert!(!automatic.contains("13912345678"));
    assert_eq!(p.body["findings"][0]["kind"], "phone");
    assert!(p.body["amended"].is_null());
    // The automatic redaction missed the neighbour's nickname: the mediator who holds
    // the case amends it (a colleague who does not hold it may not), and a phone number
    // typed into the amendment is removed as well.
    let amended =
        "Teacher [姓名/name] never came; call 13800001111. My neighbour [姓名/name] saw it.";
    let peer = app.user(Role::Mediator, None, Some(assoc)).await;
    app.put(&pub_path, Some(&mediator.token), json!({ "text": amended }))
        .await
        .expect_problem(403);
    act(&app, &mediator, &id, "assign", Some(json!({})))
        .await
        .expect(200);
    app.get(&pub_path, Some(&peer.token)).await.expect(200);
    app.put(&pub_path, Some(&peer.token), json!({ "text": amended }))
        .await
        .expect_problem(403);
    let p = app
        .put(&pub_path, Some(&mediator.token), json!({ "text": amended }))
        .await
        .expect(200);
    let published = p.body["published_text"].as_str().unwrap();
    assert!(!published.contains("Lao Zhou"));
    assert!(!published.contains("13800001111"));
    assert!(published.contains("[电话/phone]"));
    let items = json_items(&app, "").await;
    let item = items
        .iter()
        .find(|i| i["reference"] == p.body["reference"])
        .unwrap();
    assert_eq!(item["narrative"].as_str().unwrap(), published);
    assert_eq!(item["public_response"]["text"], "We replaced the teacher.");
    // Reverting goes back to the automatic redaction.
    let p = app
        .put(
            &pub_path,
            Some(&inst.regulator.token),
            json!({ "text": null }),
        )
        .await
        .expect(200);
    assert!(p.body["amended"].is_null());
    assert!(
        p.body["published_text"]
            .as_str()
            .unwrap()
            .contains("Lao Zhou")
    );
}

#[tokio::test]
async fn days_to_first_answer_count_only_the_institutions_own_time() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Paused Clock Online").await;
    let learner = app.learner().await;
    // Filed on Monday 2 March 2026; the institution asks for information the next day
    // and gets it a week later, then answers at once.
    let id = file(&app, &learner, filing_with(inst.id, "Paused.", true)).await;
    app.clock.advance(Duration::days(1));
    act(
        &app,
        &inst.staff,
        &id,
        "request_info",
        Some(json!({ "questions": "Order number?" })),
    )
    .await
    .expect(200);
    // While paused, the case is not yet public.
    assert!(json_items(&app, "").await.is_empty());
    app.clock.advance(Duration::days(7));
    act(
        &app,
        &learner,
        &id,
        "provide_info",
        Some(json!({ "answer": "A-1" })),
    )
    .await
    .expect(200);
    act(&app, &inst.staff, &id, "respond", Some(refund_answer()))
        .await
        .expect(200);
    let items = json_items(&app, "").await;
    assert_eq!(items.len(), 1);
    // One working day of its own (2 to 3 March), not the six since filing.
    assert_eq!(items[0]["days_to_first_answer"], 1);
    assert_eq!(items[0]["timely"], true);
}
