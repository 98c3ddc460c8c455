//! Revocation and where permissions come from: disabling an account, token versions,
//! password changes, and tokens whose role claim is not the account's.
use entity::account::Role;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, TestUser, spawn_app};

async fn token(app: &TestApp, email: &str, password: &str) -> String {
    app.login(email, password).await.expect(200).body["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn set_disabled(app: &TestApp, admin: &TestUser, who: &TestUser, disabled: bool) -> Value {
    app.patch(
        &format!("/api/v1/accounts/{}", who.id),
        Some(&admin.token),
        json!({ "disabled": disabled }),
    )
    .await
    .expect(200)
    .body
}

#[tokio::test]
async fn a_disabled_account_is_refused_at_the_next_request_and_an_enabled_one_signs_in_again() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let learner = app.learner().await;
    // The first request caches the account's standing.
    app.get("/api/v1/me", Some(&learner.token))
        .await
        .expect(200);

    let view = set_disabled(&app, &admin, &learner, true).await;
    assert_eq!(view["disabled"], true);
    assert!(view["disabled_at"].is_string());
    // The very next request with the old token: 401, though the token is in the cache.
    let r = app
        .get("/api/v1/me", Some(&learner.token))
        .await
        .expect_problem(401);
    assert!(
        r.body["detail"].as_str().unwrap().contains("disabled"),
        "{}",
        r.body
    );
    // Signing in is refused too.
    app.login(&learner.email, PASSWORD)
        .await
        .expect_problem(401);

    let view = set_disabled(&app, &admin, &learner, false).await;
    assert_eq!(view["disabled"], false);
    // The token from before the disabling stays revoked; a new sign-in works.
    app.get("/api/v1/me", Some(&learner.token))
        .await
        .expect_problem(401);
    let fresh = token(&app, &learner.email, PASSWORD).await;
    let me = app.get("/api/v1/me", Some(&fresh)).await.expect(200);
    assert_eq!(me.body["disabled"], false);
}

#[tokio::test]
async fn admins_cannot_disable_themselves_and_unknown_accounts_are_404() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.patch(
        &format!("/api/v1/accounts/{}", admin.id),
        Some(&admin.token),
        json!({ "disabled": true }),
    )
    .await
    .expect_problem(409);
    app.patch(
        &format!("/api/v1/accounts/{}", uuid::Uuid::now_v7()),
        Some(&admin.token),
        json!({ "disabled": true }),
    )
    .await
    .expect_problem(404);
    app.get("/api/v1/me", Some(&admin.token)).await.expect(200);
}

#[tokio::test]
async fn a_password_change_revokes_every_earlier_token() {
    let app = spawn_app().await;
    let learner = app.learner().await;
    let second = token(&app, &learner.email, PASSWORD).await;
    app.get("/api/v1/me", Some(&second)).await.expect(200);

    // The current password is required, and the new one meets the policy.
    let wrong = app
        .post(
            "/api/v1/me/password",
            Some(&learner.token),
            json!({ "current_password": "not my password", "new_password": "a brand new passphrase" }),
        )
        .await
        .expect_problem(422);
    assert_eq!(wrong.field_errors(), ["current_password"]);
    let weak = app
        .post(
            "/api/v1/me/password",
            Some(&learner.token),
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await
        .expect_problem(422);
    assert_eq!(weak.field_errors(), ["new_password"]);
    app.get("/api/v1/me", Some(&learner.token))
        .await
        .expect(200);

    let changed = app
        .post(
            "/api/v1/me/password",
            Some(&learner.token),
            json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" }),
        )
        .await
        .expect(200);
    let new_token = changed.body["access_token"].as_str().unwrap().to_owned();
    for old in [&learner.token, &second] {
        let r = app.get("/api/v1/me", Some(old)).await.expect_problem(401);
        assert!(
            r.body["detail"].as_str().unwrap().contains("revoked"),
            "{}",
            r.body
        );
    }
    app.get("/api/v1/me", Some(&new_token)).await.expect(200);
    app.login(&learner.email, PASSWORD)
        .await
        .expect_problem(401);
    token(&app, &learner.email, "a brand new passphrase").await;
}

/// A token signed with the real key (tests know it) for `who`, claiming `role`.
fn forged(app: &TestApp, who: &TestUser, role: &str, extra: Value) -> String {
    let now = app.clock_now().timestamp();
    let mut claims = json!({
        "sub": who.id,
        "role": role,
        "iss": app.settings.jwt_issuer,
        "aud": app.settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
    });
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_validly_signed_token_claiming_another_role_is_not_honoured() {
    let app = spawn_app().await;
    let learner = app.learner().await;
    // Claims that match the stored account are accepted (the forgery helper is sound).
    let honest = forged(&app, &learner, "learner", json!({}));
    app.get("/api/v1/me", Some(&honest)).await.expect(200);

    // The same account claiming to be an admin: refused outright, on every endpoint.
    let admin_claim = forged(&app, &learner, "admin", json!({}));
    let r = app
        .get("/api/v1/me", Some(&admin_claim))
        .await
        .expect_problem(401);
    assert!(
        r.body["detail"].as_str().unwrap().contains("role"),
        "{}",
        r.body
    );
    app.get("/api/v1/accounts", Some(&admin_claim))
        .await
        .expect_problem(401);
    app.post(
        "/api/v1/associations",
        Some(&admin_claim),
        json!({ "name": "Forged", "regions": ["110000"] }),
    )
    .await
    .expect_problem(401);

    // Staff claiming another institution's binding: refused too.
    let reg = app.regulator().await;
    let own = app
        .institution(&reg, &crate::helpers::credit_code(11), "Own", "110108")
        .await;
    let other = app
        .institution(&reg, &crate::helpers::credit_code(12), "Other", "110108")
        .await;
    let staff = app.user(Role::InstitutionStaff, Some(own), None).await;
    let rebound = forged(&app, &staff, "institution_staff", json!({ "inst": other }));
    app.get(&format!("/api/v1/institutions/{other}"), None)
        .await
        .expect(200);
    app.put(
        &format!("/api/v1/institutions/{other}/disclosure"),
        Some(&rebound),
        crate::helpers::institution_body(&crate::helpers::credit_code(12), "Other", "110108")
            ["disclosure"]
            .clone(),
    )
    .await
    .expect_problem(401);

    // A token with an older version than the account's is refused.
    let stale = forged(&app, &learner, "learner", json!({ "ver": -1 }));
    app.get("/api/v1/me", Some(&stale))
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn admins_list_accounts_filtered_by_role_and_email_prefix_in_pages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut learners = vec![];
    for i in 0..3 {
        let email = format!("page{i}_x@example.com");
        app.register(&email, PASSWORD).await.expect(201);
        learners.push(email);
    }
    // `_` is not a wildcard in the prefix.
    app.register("pageZZx@example.com", PASSWORD)
        .await
        .expect(201);
    let staff_reg = app.regulator().await;

    let page = app
        .get("/api/v1/accounts?role=learner&limit=2", Some(&admin.token))
        .await
        .expect(200);
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|a| a["role"] == "learner"));
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/accounts?role=learner&limit=2&cursor={cursor}"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert!(rest.body.get("next_cursor").is_none_or(Value::is_null));
    let rest = rest.body["items"].as_array().unwrap();
    // Newest first: the first learner comes last.
    assert_eq!(rest.len(), 2);
    assert_eq!(rest.last().unwrap()["email"], learners[0]);

    let found = app
        .get("/api/v1/accounts?email_prefix=PAGE1_", Some(&admin.token))
        .await
        .expect(200);
    let found = found.body["items"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["email"], learners[1]);
    assert_eq!(found[0]["disabled"], false);
    assert!(found[0]["created_at"].is_string());
    assert!(found[0].get("password_hash").is_none());

    let regs = app
        .get("/api/v1/accounts?role=regulator", Some(&admin.token))
        .await
        .expect(200);
    let regs = regs.body["items"].as_array().unwrap();
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0]["email"], staff_reg.email);

    app.get("/api/v1/accounts?limit=0", Some(&admin.token))
        .await
        .expect_problem(422);
}
