use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_with_a_request_id() {
    let app = spawn_app().await;
    let h = app.get("/healthz", None).await.expect(200);
    assert_eq!(h.body["status"], "ok");
    assert!(h.headers.contains_key("x-request-id"));
    let r = app.get("/readyz", None).await.expect(200);
    assert_eq!(r.body["database"], "ok");
}

#[tokio::test]
async fn docs_and_spec_are_served() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json", None).await.expect(200);
    assert_eq!(spec.body["info"]["title"], "redress");
    assert!(spec.body["paths"]["/auth/login"].is_object());
    let docs = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("swagger")
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    let r = app.get("/no/such/page", None).await.expect_problem(404);
    assert!(r.headers.contains_key("x-request-id"));
    app.request(reqwest::Method::DELETE, "/api/v1/me", None, None)
        .await
        .expect_problem(405);
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    crate::helpers::TestApp::read(resp)
        .await
        .expect_problem(400);
}

#[tokio::test]
async fn oversized_bodies_are_413_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let big = "x".repeat(app.settings.body_limit_bytes + 1);
    let declared = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(format!("{{\"email\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    crate::helpers::TestApp::read(declared)
        .await
        .expect_problem(413);

    // Streamed without Content-Length: counted while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let streamed = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    crate::helpers::TestApp::read(streamed)
        .await
        .expect_problem(413);

    app.get("/healthz", None).await.expect(200);
}
