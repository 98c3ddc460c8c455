use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, spawn_app};

#[tokio::test]
async fn a_learner_signs_up_logs_in_and_sees_themself() {
    let app = spawn_app().await;
    let created = app
        .register("  Li.Hua@Example.COM ", PASSWORD)
        .await
        .expect(201);
    assert_eq!(created.body["email"], "li.hua@example.com");
    assert_eq!(created.body["role"], "learner");
    assert!(created.body.get("password_hash").is_none());

    let login = app.login("li.hua@example.com", PASSWORD).await.expect(200);
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], app.settings.jwt_ttl_secs);
    let token = login.body["access_token"].as_str().unwrap();

    let me = app.get("/api/v1/me", Some(token)).await.expect(200);
    assert_eq!(me.body["id"], created.body["id"]);
    assert_eq!(me.body["role"], "learner");
}

#[tokio::test]
async fn sign_up_validates_and_refuses_duplicates() {
    let app = spawn_app().await;
    let bad = app
        .register("not-an-email", "short")
        .await
        .expect_problem(422);
    assert_eq!(bad.field_errors(), ["email"]);
    let weak = app
        .register("a@example.com", "short")
        .await
        .expect_problem(422);
    assert_eq!(weak.field_errors(), ["password"]);
    assert!(
        weak.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at least 10")
    );

    app.register("a@example.com", PASSWORD).await.expect(201);
    app.register("A@EXAMPLE.com", PASSWORD)
        .await
        .expect_problem(409);
}

#[tokio::test]
async fn wrong_credentials_do_not_reveal_whether_the_email_exists() {
    let app = spawn_app().await;
    app.register("known@example.com", PASSWORD)
        .await
        .expect(201);
    let wrong_pw = app
        .login("known@example.com", "wrong password!")
        .await
        .expect_problem(401);
    let unknown = app
        .login("unknown@example.com", PASSWORD)
        .await
        .expect_problem(401);
    assert_eq!(wrong_pw.body, unknown.body);
}

#[tokio::test]
async fn repeated_failures_are_throttled_until_the_window_passes() {
    let app = spawn_app().await;
    app.register("target@example.com", PASSWORD)
        .await
        .expect(201);
    for _ in 0..app.settings.login_max_failures_per_account {
        app.login("target@example.com", "wrong password!")
            .await
            .expect_problem(401);
    }
    let blocked = app
        .login("target@example.com", PASSWORD)
        .await
        .expect_problem(429);
    let retry: i64 = blocked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        retry > 0 && retry <= app.settings.login_window_secs,
        "{retry}"
    );

    // Another account from the same address is not blocked by the per-account limit.
    app.register("other@example.com", PASSWORD)
        .await
        .expect(201);
    app.login("other@example.com", PASSWORD).await.expect(200);

    app.clock
        .advance(Duration::seconds(app.settings.login_window_secs + 1));
    app.login("target@example.com", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn the_per_address_limit_covers_many_accounts() {
    let app = crate::helpers::spawn_app_with(|s| s.login_max_failures_per_address = 3).await;
    for i in 0..3 {
        app.login(&format!("nobody{i}@example.com"), "wrong password!")
            .await
            .expect_problem(401);
    }
    app.login("nobody9@example.com", "wrong password!")
        .await
        .expect_problem(429);
}

fn claims(app: &TestApp) -> Value {
    let now = app.clock_now().timestamp();
    json!({
        "sub": uuid::Uuid::now_v7(),
        "role": "admin",
        "iss": app.settings.jwt_issuer,
        "aud": app.settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
    })
}

fn forge(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn refused(app: &TestApp, token: &str) -> String {
    let r = app.get("/api/v1/me", Some(token)).await.expect_problem(401);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    r.body["detail"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn every_bad_token_is_refused_with_401() {
    let app = spawn_app().await;
    let good = claims(&app);

    // No token at all, and a token that is not a JWT.
    app.get("/api/v1/me", None).await.expect_problem(401);
    assert!(refused(&app, "not-a-jwt").await.contains("malformed"));

    // alg: none with no signature.
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(good.to_string());
    let none = format!("{header}.{body}.");
    assert!(!refused(&app, &none).await.is_empty());

    // Another HMAC algorithm with the right key is still refused (algorithm pinned).
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    assert!(refused(&app, &hs512).await.contains("algorithm"));

    // Wrong signature.
    let wrong_key = forge(&good, "another-secret-that-is-long-enough-for-hs256-xxxxx");
    assert!(refused(&app, &wrong_key).await.contains("signature"));

    // Wrong issuer, wrong audience.
    let mut c = good.clone();
    c["iss"] = json!("someone-else");
    assert!(
        refused(&app, &forge(&c, JWT_SECRET))
            .await
            .contains("issuer")
    );
    let mut c = good.clone();
    c["aud"] = json!("another-api");
    assert!(
        refused(&app, &forge(&c, JWT_SECRET))
            .await
            .contains("audience")
    );

    // Missing exp.
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("exp");
    assert!(!refused(&app, &forge(&c, JWT_SECRET)).await.is_empty());

    // Expired.
    let mut c = good.clone();
    c["exp"] = json!(app.clock_now().timestamp() - 3600);
    assert!(
        refused(&app, &forge(&c, JWT_SECRET))
            .await
            .contains("expired")
    );
}

#[tokio::test]
async fn a_real_token_expires_on_the_service_clock() {
    let app = spawn_app().await;
    let learner = app.learner().await;
    app.get("/api/v1/me", Some(&learner.token))
        .await
        .expect(200);
    app.clock
        .advance(Duration::seconds(app.settings.jwt_ttl_secs as i64 + 60));
    assert!(refused(&app, &learner.token).await.contains("expired"));
}

#[tokio::test]
async fn a_generated_secret_survives_a_restart() {
    // No configured secret: the first start generates one and stores it in the database;
    // a second instance on the same database (a restart, or another replica) accepts
    // tokens the first one issued.
    let first = crate::helpers::spawn_app_with(|s| s.jwt_secret = None).await;
    first
        .register("persist@example.com", PASSWORD)
        .await
        .expect(201);
    let token = first
        .login("persist@example.com", PASSWORD)
        .await
        .expect(200)
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = first.settings.database_url.clone();
    let second = crate::helpers::spawn_app_with(|s| {
        s.jwt_secret = None;
        s.database_url = url;
    })
    .await;
    second.get("/api/v1/me", Some(&token)).await.expect(200);
    // And it is not the fixed test secret.
    assert!(
        refused(&second, &forge(&claims(&second), JWT_SECRET))
            .await
            .contains("signature")
    );
}

/// A client whose requests come from `ip` (any 127.0.0.0/8 address reaches the server
/// on 127.0.0.1), so tests can sign in from different addresses.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> crate::helpers::Reply {
    let resp = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    TestApp::read(resp).await
}

#[tokio::test]
async fn an_attacker_cannot_lock_the_owner_out_from_a_known_address_but_stays_throttled() {
    let app = crate::helpers::spawn_app_with(|s| s.login_max_failures_per_address = 8).await;
    let owner = client_from("127.0.0.1");
    let attacker = client_from("127.0.0.2");
    let new_device = client_from("127.0.0.3");
    app.register("owner@example.com", PASSWORD)
        .await
        .expect(201);
    // The owner signs in once from home: that address becomes known.
    login_from(&app, &owner, "owner@example.com", PASSWORD)
        .await
        .expect(200);

    // The attacker's failures lock the account...
    for _ in 0..app.settings.login_max_failures_per_account {
        login_from(&app, &attacker, "owner@example.com", "wrong password!")
            .await
            .expect_problem(401);
    }
    // ...for the attacker, even with the right password,
    login_from(&app, &attacker, "owner@example.com", PASSWORD)
        .await
        .expect_problem(429);
    // and for an address the account never signed in from.
    login_from(&app, &new_device, "owner@example.com", PASSWORD)
        .await
        .expect_problem(429);
    // The owner at home still gets in with the right password (and only with it).
    login_from(&app, &owner, "owner@example.com", "wrong password!")
        .await
        .expect_problem(429);
    login_from(&app, &owner, "owner@example.com", PASSWORD)
        .await
        .expect(200);

    // The attacker stays throttled by address, whatever account they try.
    let mut answers = vec![];
    for i in 0..4 {
        answers.push(
            login_from(
                &app,
                &attacker,
                &format!("other{i}@example.com"),
                "wrong password!",
            )
            .await
            .status
            .as_u16(),
        );
    }
    assert_eq!(answers, [401, 401, 401, 429], "{answers:?}");
    login_from(&app, &attacker, "owner@example.com", PASSWORD)
        .await
        .expect_problem(429);

    // Known addresses are stored as keyed hashes, never as addresses.
    use sea_orm::EntityTrait;
    let known = entity::login_known_address::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(known.len(), 1);
    assert_eq!(known[0].address_hash.len(), 64);
    assert!(!known[0].address_hash.contains("127.0.0"));
    assert_ne!(
        known[0].address_hash,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"127.0.0.1"))
    );
}
