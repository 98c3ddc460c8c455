//! The public pages: directory and disclosure page, in zh-CN and English, with
//! small-number suppression, status banners and escaping of hostile text.
use chrono::Duration;
use entity::account::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, credit_code, institution_body, spawn_app};
use crate::lifecycle::{act, rand_n, refund_answer};

/// A page: status, headers and the HTML text.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub html: String,
}

pub async fn page(app: &TestApp, path: &str, accept_language: Option<&str>) -> Page {
    let mut req = app.client.get(app.url(path));
    if let Some(al) = accept_language {
        req = req.header("accept-language", al);
    }
    let resp = req.send().await.expect("request failed");
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        html: resp.text().await.expect("body"),
    }
}

/// The text of the table cell marked `data-figure="{key}"`.
pub fn figure(html: &str, key: &str) -> String {
    let marker = format!("data-figure=\"{key}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no figure {key} in page"))
        + marker.len();
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_owned()
}

pub struct Inst {
    pub id: Uuid,
    pub staff: TestUser,
    pub regulator: TestUser,
}

pub async fn institution_named(app: &TestApp, name: &str) -> Inst {
    let regulator = app.regulator().await;
    let id = app
        .institution(&regulator, &credit_code(rand_n()), name, "110108")
        .await;
    let staff = app.user(Role::InstitutionStaff, Some(id), None).await;
    Inst {
        id,
        staff,
        regulator,
    }
}

pub fn filing_with(institution: Uuid, narrative: &str, consent: bool) -> Value {
    json!({
        "institution_id": institution,
        "category": "refund",
        "title": "退费申请",
        "narrative": narrative,
        "desired_remedy": "full_refund",
        "consent_to_publish": consent
    })
}

/// Files a case and returns its id.
pub async fn file(app: &TestApp, learner: &TestUser, body: Value) -> String {
    app.post("/api/v1/complaints", Some(&learner.token), body)
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `n` cases at one institution: answered on the day with a refund and accepted, except
/// every third, which is explained and escalated.
async fn answered_cases(app: &TestApp, inst: &Inst, n: usize) {
    for i in 0..n {
        let learner = app.learner().await;
        let id = file(
            app,
            &learner,
            filing_with(inst.id, "The course stopped after two weeks.", true),
        )
        .await;
        if i % 3 == 2 {
            act(
                app,
                &inst.staff,
                &id,
                "respond",
                Some(json!({ "message": "Our terms exclude refunds.", "remedy": "explanation" })),
            )
            .await
            .expect(200);
            act(
                app,
                &learner,
                &id,
                "escalate",
                Some(json!({ "reason": "Not acceptable" })),
            )
            .await
            .expect(200);
        } else {
            act(app, &inst.staff, &id, "respond", Some(refund_answer()))
                .await
                .expect(200);
            act(app, &learner, &id, "accept_response", None)
                .await
                .expect(200);
            app.post(
                &format!("/api/v1/complaints/{id}/rating"),
                Some(&learner.token),
                json!({ "score": 4 }),
            )
            .await
            .expect(200);
        }
    }
}

#[tokio::test]
async fn an_institution_with_many_cases_shows_its_record() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Many Cases Online").await;
    answered_cases(&app, &inst, 12).await;

    let p = page(&app, &format!("/institutions/{}?lang=en", inst.id), None).await;
    assert_eq!(p.status, 200, "{}", p.html);
    assert!(p.html.contains("<html lang=\"en\">"));
    assert!(p.html.contains("<title>Many Cases Online"));
    assert!(!p.html.contains("too few cases to publish"), "{}", p.html);
    assert_eq!(figure(&p.html, "received-12m"), "12");
    assert_eq!(figure(&p.html, "received-all"), "12");
    assert_eq!(figure(&p.html, "timely-12m"), "100%");
    assert_eq!(figure(&p.html, "median-days-12m"), "0");
    // 4 of 12 escalated; 8 closed with a refund.
    assert_eq!(figure(&p.html, "escalated-12m"), "33%");
    assert_eq!(figure(&p.html, "closed-all"), "8");
    assert_eq!(figure(&p.html, "monetary-relief-all"), "8 (100%)");
    assert_eq!(figure(&p.html, "breaches-all"), "0");
    assert_eq!(figure(&p.html, "rating-all"), "4.0 (8)");
    // Registration and disclosures.
    assert!(p.html.contains("Unified social credit code"));
    assert!(p.html.contains("Full refund before the first class"));
    assert!(p.html.contains("Beijing (110108)"));
    // Its most recent published cases.
    assert!(p.html.contains("Most recent published cases"));
    assert!(p.html.contains("ED-2026-"));
    assert!(p.html.contains("The course stopped after two weeks."));

    // The JSON statistics agree with the page.
    let s = app
        .get(&format!("/api/v1/institutions/{}/stats", inst.id), None)
        .await
        .expect(200);
    let y = &s.body["last_12_months"];
    assert_eq!(y["cases_received"], 12);
    assert_eq!(y["suppressed"], false);
    assert_eq!(y["answered_in_time_share"], 1.0);
    assert_eq!(y["median_working_days_to_first_answer"], 0.0);
    assert_eq!(y["outcomes"]["monetary_relief"], 8);
    assert_eq!(y["outcomes"]["closed"], 8);
    assert_eq!(y["mean_rating"], 4.0);
    assert_eq!(s.body["all_time"]["sla_breaches"], 0);
    assert_eq!(s.body["min_cases"], 10);

    // The directory lists it with its figures.
    let d = page(&app, "/institutions?lang=en&q=many", None).await;
    assert_eq!(d.status, 200);
    assert!(d.html.contains("Many Cases Online"));
    assert!(d.html.contains(">12</td>"));
    assert!(d.html.contains(">100%</td>"));
}

#[tokio::test]
async fn an_institution_with_few_cases_is_suppressed() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Few Cases Online").await;
    answered_cases(&app, &inst, 3).await;

    let p = page(&app, &format!("/institutions/{}?lang=en", inst.id), None).await;
    assert_eq!(p.status, 200);
    assert_eq!(figure(&p.html, "received-12m"), "3");
    for key in [
        "timely-12m",
        "median-days-12m",
        "escalated-all",
        "rating-all",
        "breaches-all",
        "monetary-relief-all",
    ] {
        assert_eq!(figure(&p.html, key), "too few cases to publish", "{key}");
    }
    assert!(!p.html.contains(">100%<"));

    let zh = page(&app, &format!("/institutions/{}", inst.id), None).await;
    assert_eq!(figure(&zh.html, "timely-12m"), "案件过少，不予公布");

    let s = app
        .get(&format!("/api/v1/institutions/{}/stats", inst.id), None)
        .await
        .expect(200);
    let y = &s.body["last_12_months"];
    assert_eq!(y["cases_received"], 3);
    assert_eq!(y["suppressed"], true);
    for k in [
        "answered_in_time_share",
        "median_working_days_to_first_answer",
        "outcomes",
        "mean_rating",
        "sla_breaches",
    ] {
        assert!(y[k].is_null(), "{k}: {}", y[k]);
    }

    let d = page(&app, "/institutions?lang=en", None).await;
    assert!(d.html.contains("Few Cases Online"));
    assert!(d.html.contains("too few cases to publish"));
}

#[tokio::test]
async fn language_by_query_then_accept_language_then_chinese() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Bilingual Online").await;
    let path = format!("/institutions/{}", inst.id);

    let zh = page(&app, &path, None).await;
    assert!(zh.html.contains("<html lang=\"zh-CN\">"));
    assert!(zh.html.contains("统一社会信用代码"));
    assert!(zh.html.contains("北京市 (110108)"));
    assert_eq!(zh.headers["content-language"], "zh-CN");
    assert!(
        zh.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // The switch leads to the English page (`=` is escaped in attribute values).
    assert!(zh.html.contains(&format!("href=\"{path}?lang&#x3D;en\"")));

    let en = page(&app, &path, Some("en-GB,en;q=0.9,zh;q=0.5")).await;
    assert!(en.html.contains("<html lang=\"en\">"));
    assert!(en.html.contains("Unified social credit code"));
    assert!(
        en.html
            .contains(&format!("href=\"{path}?lang&#x3D;zh-CN\""))
    );

    let forced = page(&app, &format!("{path}?lang=zh-CN"), Some("en")).await;
    assert!(forced.html.contains("<html lang=\"zh-CN\">"));

    let dir_en = page(&app, "/institutions", Some("en")).await;
    assert!(dir_en.html.contains("Institution directory"));
    let dir_zh = page(&app, "/institutions", None).await;
    assert!(dir_zh.html.contains("机构名录"));

    let missing = page(
        &app,
        &format!("/institutions/{}?lang=en", Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.html.contains("There is no such institution."));
    let garbage = page(&app, "/institutions/not-a-uuid", None).await;
    assert_eq!(garbage.status, 404);
    assert!(garbage.html.contains("没有这个机构。"));
}

#[tokio::test]
async fn suspended_and_exited_institutions_are_marked_at_the_top() {
    let app = spawn_app().await;
    let inst = institution_named(&app, "Paused Online").await;
    let path = format!("/institutions/{}?lang=en", inst.id);
    let before = page(&app, &path, None).await;
    assert!(!before.html.contains("role=\"alert\""));

    app.patch(
        &format!("/api/v1/institutions/{}", inst.id),
        Some(&inst.regulator.token),
        json!({ "status": "suspended" }),
    )
    .await
    .expect(200);
    let p = page(&app, &path, None).await;
    let banner = p.html.find("This institution is suspended").unwrap();
    let h1 = p.html.find("<h1>").unwrap();
    assert!(banner < h1, "the banner comes before the heading");
    assert!(p.html.contains("class=\"banner\" role=\"alert\""));
    let zh = page(&app, &format!("/institutions/{}", inst.id), None).await;
    assert!(zh.html.contains("该机构已被暂停服务"));

    app.patch(
        &format!("/api/v1/institutions/{}", inst.id),
        Some(&inst.regulator.token),
        json!({ "status": "exited" }),
    )
    .await
    .expect(200);
    let p = page(&app, &path, None).await;
    assert!(p.html.contains("This institution has exited"));

    let d = page(&app, "/institutions?lang=en&status=exited", None).await;
    assert!(d.html.contains("Paused Online"));
    assert!(d.html.contains("status-exited"));
    let d = page(&app, "/institutions?lang=en&status=active", None).await;
    assert!(!d.html.contains("Paused Online"));
}

#[tokio::test]
async fn hostile_names_and_narratives_are_escaped() {
    let app = spawn_app().await;
    let regulator = app.regulator().await;
    let hostile = "<script>alert('x')</script> & \"Evil\" {{t.site_name}}";
    let mut body = institution_body(&credit_code(rand_n()), hostile, "110108");
    body["disclosure"]["refund_policy"] = json!("<img src=x onerror=alert(1)>No refunds.");
    let id: Uuid = app
        .post("/api/v1/institutions", Some(&regulator.token), body)
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let staff = app.user(Role::InstitutionStaff, Some(id), None).await;
    let learner = app.learner().await;
    let case = file(
        &app,
        &learner,
        filing_with(
            id,
            "<b onmouseover=alert(2)>bold</b> </article></main>",
            true,
        ),
    )
    .await;
    act(&app, &staff, &case, "respond", Some(refund_answer()))
        .await
        .expect(200);
    app.put(
        &format!("/api/v1/complaints/{case}/public_response"),
        Some(&staff.token),
        json!({ "kind": "disputes_the_facts", "text": "<iframe src=//evil>" }),
    )
    .await
    .expect(200);

    for path in [
        format!("/institutions/{id}?lang=en"),
        "/institutions?lang=en".to_owned(),
    ] {
        let p = page(&app, &path, None).await;
        assert_eq!(p.status, 200, "{path}");
        for raw in [
            "<script>alert",
            "<img src=x",
            "<b onmouseover",
            "<iframe",
            "</article></main>",
        ] {
            assert!(!p.html.contains(raw), "{raw} unescaped on {path}");
        }
        assert!(p.html.contains("&lt;script&gt;alert("), "{path}");
        // Template syntax inside data is data, not a template.
        assert!(p.html.contains("{{t.site_name}}"), "{path}");
    }
    let p = page(&app, &format!("/institutions/{id}?lang=en"), None).await;
    assert!(
        p.html
            .contains("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;No refunds.")
    );
    assert!(
        p.html
            .contains("&lt;b onmouseover&#x3D;alert(2)&gt;bold&lt;/b&gt;")
    );
    assert!(p.html.contains("&lt;iframe src&#x3D;//evil&gt;"));
    assert!(p.html.contains("Disputes the facts"));
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"));
}

#[tokio::test]
async fn a_missed_deadline_counts_as_a_breach_on_the_page() {
    let app = spawn_app_with_min(1).await;
    let inst = institution_named(&app, "Slow Online").await;
    let learner = app.learner().await;
    file(
        &app,
        &learner,
        filing_with(inst.id, "No answer at all.", false),
    )
    .await;
    app.clock.advance(Duration::days(20));
    app.sweep().await;
    let p = page(&app, &format!("/institutions/{}?lang=en", inst.id), None).await;
    assert_eq!(figure(&p.html, "breaches-all"), "1");
    assert_eq!(figure(&p.html, "timely-all"), "0%");
    assert_eq!(figure(&p.html, "escalated-all"), "100%");
    assert_eq!(figure(&p.html, "median-days-all"), "—");
    // Without consent the narrative is not shown, but the case is.
    assert!(
        p.html
            .contains("The learner did not consent to publishing the text.")
    );
    assert!(!p.html.contains("No answer at all."));
}

async fn spawn_app_with_min(min: i64) -> TestApp {
    crate::helpers::spawn_app_with(|s| s.stats_min_cases = min).await
}
