use reqwest::multipart::{Form, Part};
use sha2::{Digest, Sha256};

use crate::{
    helpers::{Reply, TestApp, TestUser, spawn_app},
    lifecycle::filed_case,
};

async fn upload(app: &TestApp, user: &TestUser, case: &str, name: &str, bytes: Vec<u8>) -> Reply {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/complaints/{case}/attachments")))
        .bearer_auth(&user.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    TestApp::read(resp).await
}

#[tokio::test]
async fn parties_upload_and_download_evidence() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let r = upload(&app, &c.learner, &c.id, "../receipt.pdf", pdf.clone())
        .await
        .expect(201);
    assert_eq!(r.body["file_name"], "receipt.pdf");
    assert_eq!(r.body["content_type"], "application/pdf");
    let sha = hex::encode(Sha256::digest(&pdf));
    assert_eq!(r.body["sha256"], sha);
    let att = r.body["id"].as_str().unwrap().to_owned();

    // The institution downloads exactly those bytes.
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/complaints/{}/attachments/{att}", c.id)))
        .bearer_auth(&c.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);

    // Another learner cannot see it.
    let stranger = app.learner().await;
    app.get(
        &format!("/api/v1/complaints/{}/attachments/{att}", c.id),
        Some(&stranger.token),
    )
    .await
    .expect_problem(404);
    upload(&app, &stranger, &c.id, "x.txt", b"hello".to_vec())
        .await
        .expect_problem(404);

    // The timeline records the hash.
    let ev = app
        .get(
            &format!("/api/v1/complaints/{}/events", c.id),
            Some(&c.learner.token),
        )
        .await
        .expect(200);
    let last = ev.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "attachment");
    assert_eq!(last["payload"]["sha256"], sha);

    let list = app
        .get(
            &format!("/api/v1/complaints/{}/attachments", c.id),
            Some(&c.staff.token),
        )
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn files_are_checked_by_content_size_and_count() {
    let app = spawn_app().await;
    let c = filed_case(&app).await;
    // An executable named like a PDF.
    let r = upload(
        &app,
        &c.learner,
        &c.id,
        "invoice.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00".to_vec(),
    )
    .await
    .expect_problem(422);
    assert_eq!(r.field_errors(), ["file"]);
    // Over 10 MiB.
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let r = upload(&app, &c.learner, &c.id, "big.txt", big).await;
    assert!(r.status == 413 || r.status == 422, "{}", r.status);
    // At most 20 per case.
    let png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0];
    for i in 0..20 {
        upload(&app, &c.learner, &c.id, &format!("p{i}.png"), png.clone())
            .await
            .expect(201);
    }
    upload(&app, &c.staff, &c.id, "one-more.png", png)
        .await
        .expect_problem(409);
    app.get("/healthz", None).await.expect(200);
}
