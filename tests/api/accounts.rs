use entity::account::Role;
use serde_json::json;

use crate::helpers::{PASSWORD, VALID_CODES, spawn_app};

#[tokio::test]
async fn an_admin_creates_accounts_bound_to_the_right_things() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let reg = app.regulator().await;
    let inst = app
        .institution(&reg, VALID_CODES[0], "A Online", "350100")
        .await;
    let assoc = app
        .association(&admin, "福建省消费者委员会", &["350000"])
        .await;

    let staff = app
        .post(
            "/api/v1/accounts",
            Some(&admin.token),
            json!({ "email": "staff@a.example.com", "password": PASSWORD, "display_name": "客服",
                    "role": "institution_staff", "institution_id": inst }),
        )
        .await
        .expect(201);
    assert_eq!(staff.body["institution_id"], inst.to_string());

    let login = app.login("staff@a.example.com", PASSWORD).await.expect(200);
    let me = app
        .get("/api/v1/me", login.body["access_token"].as_str())
        .await
        .expect(200);
    assert_eq!(me.body["role"], "institution_staff");

    app.post(
        "/api/v1/accounts",
        Some(&admin.token),
        json!({ "email": "m@assoc.example.com", "password": PASSWORD, "display_name": "调解员",
                "role": "mediator", "association_id": assoc }),
    )
    .await
    .expect(201);

    // Role and binding must fit.
    for (role, inst_id, assoc_id, field) in [
        (
            "institution_staff",
            None,
            None::<uuid::Uuid>,
            "institution_id",
        ),
        ("mediator", Some(inst), None, "association_id"),
        ("regulator", Some(inst), None, "role"),
        (
            "institution_staff",
            Some(uuid::Uuid::now_v7()),
            None,
            "institution_id",
        ),
    ] {
        let r = app
            .post(
                "/api/v1/accounts",
                Some(&admin.token),
                json!({ "email": format!("{}@x.example.com", uuid::Uuid::new_v4().simple()),
                        "password": PASSWORD, "display_name": "X", "role": role,
                        "institution_id": inst_id, "association_id": assoc_id }),
            )
            .await
            .expect_problem(422);
        assert_eq!(r.field_errors(), [field], "{role}");
    }
}

#[tokio::test]
async fn only_admins_create_accounts() {
    let app = spawn_app().await;
    for role in [Role::Learner, Role::Regulator, Role::Mediator] {
        let assoc = if role == Role::Mediator {
            let admin = app.admin().await;
            Some(app.association(&admin, "Assoc", &["000000"]).await)
        } else {
            None
        };
        let user = app.user(role, None, assoc).await;
        app.post(
            "/api/v1/accounts",
            Some(&user.token),
            json!({ "email": "x@example.com", "password": PASSWORD, "display_name": "X", "role": "admin" }),
        )
        .await
        .expect_problem(403);
    }
}
