use serde_json::json;

use crate::helpers::{VALID_CODES, institution_body, spawn_app};

#[tokio::test]
async fn a_regulator_registers_and_edits_an_institution() {
    let app = spawn_app().await;
    let reg = app.regulator().await;
    let created = app
        .post(
            "/api/v1/institutions",
            Some(&reg.token),
            institution_body(" 91350100m000100y43 ", "福州学而思网校", "350100"),
        )
        .await
        .expect(201);
    assert_eq!(created.body["credit_code"], "91350100M000100Y43");
    assert_eq!(created.body["status"], "active");
    assert_eq!(
        created.body["disclosure"]["complaint_contact"],
        "service@learn.example.com"
    );
    let id = created.body["id"].as_str().unwrap();

    let patched = app
        .patch(
            &format!("/api/v1/institutions/{id}"),
            Some(&reg.token),
            json!({ "status": "suspended", "website": null }),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["status"], "suspended");
    assert!(patched.body.get("website").is_none());
    assert_eq!(patched.body["name"], "福州学而思网校");

    let public = app
        .get(&format!("/api/v1/institutions/{id}"), None)
        .await
        .expect(200);
    assert_eq!(public.body["status"], "suspended");
}

#[tokio::test]
async fn credit_codes_are_checked() {
    let app = spawn_app().await;
    let reg = app.regulator().await;
    for code in VALID_CODES {
        app.post(
            "/api/v1/institutions",
            Some(&reg.token),
            institution_body(code, "Valid Co", "110108"),
        )
        .await
        .expect(201);
    }
    // Real-looking codes with a wrong check character, a bad alphabet, a bad length.
    for bad in [
        "911100001000013428",
        "91310000MA1FL4T82X",
        "52110000500021429E",
        "91350100M000100Y44",
        "91350100M0001O0Y43",
        "9135010",
    ] {
        let r = app
            .post(
                "/api/v1/institutions",
                Some(&reg.token),
                institution_body(bad, "Bad Co", "110108"),
            )
            .await
            .expect_problem(422);
        assert_eq!(r.field_errors(), ["credit_code"], "{bad}");
    }
    // Already registered.
    app.post(
        "/api/v1/institutions",
        Some(&reg.token),
        institution_body(VALID_CODES[0], "Dup", "110108"),
    )
    .await
    .expect_problem(409);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let reg = app.regulator().await;
    let mut body = institution_body("bad", "", "99");
    body["website"] = json!("ftp://nope");
    let r = app
        .post("/api/v1/institutions", Some(&reg.token), body)
        .await
        .expect_problem(422);
    assert_eq!(
        r.field_errors(),
        ["name", "credit_code", "region_code", "website"]
    );
}

#[tokio::test]
async fn staff_keep_their_own_disclosures_only() {
    let app = spawn_app().await;
    let reg = app.regulator().await;
    let a = app
        .institution(&reg, VALID_CODES[0], "A Online", "350100")
        .await;
    let b = app
        .institution(&reg, VALID_CODES[1], "B Online", "110000")
        .await;
    let staff_a = app
        .user(entity::account::Role::InstitutionStaff, Some(a), None)
        .await;

    let disclosure = json!({
        "service_rules": "新规则",
        "fees_and_prepayment": "按月收费",
        "refund_policy": "未上课全额退费",
        "teacher_qualifications": "持证上岗",
        "complaint_contact": "400-000-0000"
    });
    let ok = app
        .put(
            &format!("/api/v1/institutions/{a}/disclosure"),
            Some(&staff_a.token),
            disclosure.clone(),
        )
        .await
        .expect(200);
    assert_eq!(ok.body["disclosure"]["refund_policy"], "未上课全额退费");

    app.put(
        &format!("/api/v1/institutions/{b}/disclosure"),
        Some(&staff_a.token),
        disclosure.clone(),
    )
    .await
    .expect_problem(403);
    // Staff cannot change registry data, even their own.
    app.patch(
        &format!("/api/v1/institutions/{a}"),
        Some(&staff_a.token),
        json!({ "name": "Renamed" }),
    )
    .await
    .expect_problem(403);
    let unknown = uuid::Uuid::now_v7();
    app.put(
        &format!("/api/v1/institutions/{unknown}/disclosure"),
        Some(&staff_a.token),
        disclosure,
    )
    .await
    .expect_problem(404);
}

#[tokio::test]
async fn the_directory_filters_and_pages() {
    let app = spawn_app().await;
    let reg = app.regulator().await;
    app.institution(&reg, VALID_CODES[0], "Alpha 学堂", "350100")
        .await;
    app.institution(&reg, VALID_CODES[1], "Beta Academy", "110000")
        .await;
    let c = app
        .institution(&reg, VALID_CODES[2], "Gamma ACADEMY", "440300")
        .await;
    app.patch(
        &format!("/api/v1/institutions/{c}"),
        Some(&reg.token),
        json!({ "status": "exited" }),
    )
    .await
    .expect(200);

    let by_name = app
        .get("/api/v1/institutions?name=academy", None)
        .await
        .expect(200);
    assert_eq!(by_name.body["items"].as_array().unwrap().len(), 2);
    let by_region = app
        .get("/api/v1/institutions?region=350100", None)
        .await
        .expect(200);
    assert_eq!(by_region.body["items"][0]["name"], "Alpha 学堂");
    let by_status = app
        .get("/api/v1/institutions?status=exited", None)
        .await
        .expect(200);
    assert_eq!(by_status.body["items"][0]["name"], "Gamma ACADEMY");
    let literal = app
        .get("/api/v1/institutions?name=%25", None)
        .await
        .expect(200);
    assert!(literal.body["items"].as_array().unwrap().is_empty());

    let mut names = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/institutions?limit=2&cursor={c}"),
            None => "/api/v1/institutions?limit=2".to_owned(),
        };
        let page = app.get(&path, None).await.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            names.push(item["name"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["Alpha 学堂", "Beta Academy", "Gamma ACADEMY"]);

    app.get("/api/v1/institutions?cursor=garbage", None)
        .await
        .expect_problem(422);
    app.get("/api/v1/institutions?limit=0", None)
        .await
        .expect_problem(422);
    app.get("/api/v1/institutions?region=12", None)
        .await
        .expect_problem(422);
    app.get(
        &format!("/api/v1/institutions/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await
    .expect_problem(404);
}

#[tokio::test]
async fn associations_are_created_by_admins_and_listed_publicly() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/associations",
            Some(&admin.token),
            json!({ "name": "北京市消费者协会", "regions": ["110000", "110000"] }),
        )
        .await
        .expect(201);
    assert_eq!(r.body["regions"], json!(["110000"]));
    app.association(&admin, "中国消费者协会", &["000000"]).await;
    let bad = app
        .post(
            "/api/v1/associations",
            Some(&admin.token),
            json!({ "name": "X", "regions": ["1100"] }),
        )
        .await
        .expect_problem(422);
    assert_eq!(bad.field_errors(), ["regions[0]"]);
    let list = app.get("/api/v1/associations", None).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);
}
