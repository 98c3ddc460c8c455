//! The authorization table for the spine's and the webhooks' endpoints: every
//! endpoint × every caller, with the expected status. A row per pair; none missing.
use entity::account::Role;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, credit_code, institution_body, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Learner,
    StaffOwn,
    StaffOther,
    Mediator,
    Regulator,
    Admin,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::Learner,
    Caller::StaffOwn,
    Caller::StaffOther,
    Caller::Mediator,
    Caller::Regulator,
    Caller::Admin,
];

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Me,
    CreateAccount,
    ListInstitutions,
    GetInstitution,
    CreateInstitution,
    PatchInstitution,
    PutDisclosure,
    ListAssociations,
    CreateAssociation,
    CreateWebhook,
    ListWebhooks,
    GetWebhook,
    PatchWebhook,
    ListWebhookDeliveries,
    RedeliverWebhook,
    RotateWebhookSecret,
    PingWebhook,
    ListAccounts,
    PatchAccount,
    ChangePassword,
    DeleteWebhook,
}

/// `DeleteWebhook` comes last: it removes the subscription the others use.
const ENDPOINTS: [Endpoint; 21] = [
    Endpoint::Me,
    Endpoint::CreateAccount,
    Endpoint::ListInstitutions,
    Endpoint::GetInstitution,
    Endpoint::CreateInstitution,
    Endpoint::PatchInstitution,
    Endpoint::PutDisclosure,
    Endpoint::ListAssociations,
    Endpoint::CreateAssociation,
    Endpoint::CreateWebhook,
    Endpoint::ListWebhooks,
    Endpoint::GetWebhook,
    Endpoint::PatchWebhook,
    Endpoint::ListWebhookDeliveries,
    Endpoint::RedeliverWebhook,
    Endpoint::RotateWebhookSecret,
    Endpoint::PingWebhook,
    Endpoint::ListAccounts,
    Endpoint::PatchAccount,
    Endpoint::ChangePassword,
    Endpoint::DeleteWebhook,
];

/// The expected status for each pair (DESIGN §1 and §6).
fn expected(e: Endpoint, c: Caller) -> u16 {
    use Caller::*;
    use Endpoint::*;
    match (e, c) {
        (ListInstitutions | GetInstitution | ListAssociations, _) => 200,
        (_, Anonymous) => 401,
        (Me, _) => 200,
        (CreateAccount | CreateAssociation, Admin) => 201,
        (CreateAccount | CreateAssociation, _) => 403,
        (ListAccounts | PatchAccount, Admin) => 200,
        (ListAccounts | PatchAccount, _) => 403,
        // Everyone may change their own password; the row sends a wrong current
        // password, so it reaches the check (and no token is revoked).
        (ChangePassword, _) => 422,
        (CreateInstitution, Regulator | Admin) => 201,
        (CreateInstitution, _) => 403,
        (PatchInstitution, Regulator | Admin) => 200,
        (PatchInstitution, _) => 403,
        (PutDisclosure, StaffOwn) => 200,
        (PutDisclosure, _) => 403,
        // Learners and admins do not subscribe; the others own their subscriptions, and
        // another owner's answer 404.
        (
            CreateWebhook
            | ListWebhooks
            | GetWebhook
            | PatchWebhook
            | ListWebhookDeliveries
            | RedeliverWebhook
            | RotateWebhookSecret
            | PingWebhook
            | DeleteWebhook,
            Learner | Admin,
        ) => 403,
        (CreateWebhook, _) => 201,
        (ListWebhooks, _) => 200,
        (GetWebhook | PatchWebhook | ListWebhookDeliveries | RotateWebhookSecret, StaffOwn) => 200,
        (RedeliverWebhook | PingWebhook, StaffOwn) => 202,
        (DeleteWebhook, StaffOwn) => 204,
        (
            GetWebhook
            | PatchWebhook
            | ListWebhookDeliveries
            | RedeliverWebhook
            | RotateWebhookSecret
            | PingWebhook
            | DeleteWebhook,
            _,
        ) => 404,
    }
}

struct World {
    institution: Uuid,
    tokens: Vec<(Caller, Option<String>)>,
    /// A subscription of the own institution's staff, and one of its deliveries.
    webhook: String,
    delivery: String,
    /// An account for the admin to enable (left as it is).
    spare_account: Uuid,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let reg = app.regulator().await;
    let own = app
        .institution(&reg, &credit_code(1), "Own Online", "110108")
        .await;
    let other = app
        .institution(&reg, &credit_code(2), "Other Online", "110108")
        .await;
    let assoc = app.association(&admin, "Assoc", &["110000"]).await;
    let mut tokens = vec![];
    for c in CALLERS {
        let token = match c {
            Caller::Anonymous => None,
            Caller::Learner => Some(app.learner().await.token),
            Caller::StaffOwn => Some(
                app.user(Role::InstitutionStaff, Some(own), None)
                    .await
                    .token,
            ),
            Caller::StaffOther => Some(
                app.user(Role::InstitutionStaff, Some(other), None)
                    .await
                    .token,
            ),
            Caller::Mediator => Some(app.user(Role::Mediator, None, Some(assoc)).await.token),
            Caller::Regulator => Some(reg.token.clone()),
            Caller::Admin => Some(admin.token.clone()),
        };
        tokens.push((c, token));
    }
    let staff = tokens
        .iter()
        .find(|(c, _)| *c == Caller::StaffOwn)
        .and_then(|(_, t)| t.clone())
        .unwrap();
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&staff),
            json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await
        .expect(201)
        .body;
    let webhook = hook["id"].as_str().unwrap().to_owned();
    let delivery = app
        .post(
            &format!("/api/v1/webhooks/{webhook}/ping"),
            Some(&staff),
            json!({}),
        )
        .await
        .expect(202)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let spare_account = app.learner().await.id;
    World {
        institution: own,
        tokens,
        webhook,
        delivery,
        spare_account,
    }
}

fn request(e: Endpoint, w: &World, n: u32) -> (Method, String, Option<Value>) {
    let inst = w.institution;
    let hook = format!("/api/v1/webhooks/{}", w.webhook);
    match e {
        Endpoint::Me => (Method::GET, "/api/v1/me".into(), None),
        Endpoint::CreateAccount => (
            Method::POST,
            "/api/v1/accounts".into(),
            Some(
                json!({ "email": format!("new{n}@example.com"), "password": PASSWORD,
                         "display_name": "New", "role": "regulator" }),
            ),
        ),
        Endpoint::ListInstitutions => (Method::GET, "/api/v1/institutions".into(), None),
        Endpoint::GetInstitution => (Method::GET, format!("/api/v1/institutions/{inst}"), None),
        Endpoint::CreateInstitution => (
            Method::POST,
            "/api/v1/institutions".into(),
            Some(institution_body(
                &credit_code(100 + n),
                "New Online",
                "110108",
            )),
        ),
        Endpoint::PatchInstitution => (
            Method::PATCH,
            format!("/api/v1/institutions/{inst}"),
            Some(json!({ "filing_number": format!("备案{n}") })),
        ),
        Endpoint::PutDisclosure => (
            Method::PUT,
            format!("/api/v1/institutions/{inst}/disclosure"),
            Some(json!({ "refund_policy": format!("version {n}") })),
        ),
        Endpoint::ListAssociations => (Method::GET, "/api/v1/associations".into(), None),
        Endpoint::CreateAssociation => (
            Method::POST,
            "/api/v1/associations".into(),
            Some(json!({ "name": format!("Assoc {n}"), "regions": ["110000"] })),
        ),
        Endpoint::CreateWebhook => (
            Method::POST,
            "/api/v1/webhooks".into(),
            Some(json!({ "url": format!("http://127.0.0.1:9/hook/{n}") })),
        ),
        Endpoint::ListWebhooks => (Method::GET, "/api/v1/webhooks".into(), None),
        Endpoint::GetWebhook => (Method::GET, hook, None),
        Endpoint::PatchWebhook => (
            Method::PATCH,
            hook,
            Some(json!({ "description": format!("version {n}") })),
        ),
        Endpoint::ListWebhookDeliveries => (Method::GET, format!("{hook}/deliveries"), None),
        Endpoint::RedeliverWebhook => (
            Method::POST,
            format!("{hook}/deliveries/{}/redeliver", w.delivery),
            Some(json!({})),
        ),
        Endpoint::RotateWebhookSecret => (Method::POST, format!("{hook}/rotate"), Some(json!({}))),
        Endpoint::PingWebhook => (Method::POST, format!("{hook}/ping"), Some(json!({}))),
        Endpoint::ListAccounts => (Method::GET, "/api/v1/accounts?limit=5".into(), None),
        Endpoint::PatchAccount => (
            Method::PATCH,
            format!("/api/v1/accounts/{}", w.spare_account),
            Some(json!({ "disabled": false })),
        ),
        Endpoint::ChangePassword => (
            Method::POST,
            "/api/v1/me/password".into(),
            Some(json!({ "current_password": format!("not it {n}"),
                         "new_password": "a fresh passphrase 2026" })),
        ),
        Endpoint::DeleteWebhook => (Method::DELETE, hook, None),
    }
}

#[tokio::test]
async fn every_endpoint_times_every_caller() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut n = 0;
    let mut failures = vec![];
    for e in ENDPOINTS {
        for (caller, token) in &w.tokens {
            n += 1;
            let (method, path, body) = request(e, &w, n);
            let got = app.request(method, &path, token.as_deref(), body).await;
            let want = expected(e, *caller);
            if got.status.as_u16() != want {
                failures.push(format!(
                    "{e:?} as {caller:?}: got {}, want {want}: {}",
                    got.status, got.body
                ));
            } else if want >= 400 {
                assert_eq!(got.headers["content-type"], "application/problem+json");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
