//! Who may manage staff: owner guards that hold under concurrent changes (the store keeps an
//! enabled owner), and cashiers and managers refused every staff page and action.

mod common;
mod staff_support;

use axum::http::StatusCode;
use common::{app, OWNER_EMAIL};
use staff_support::*;
use storefort_store::StoreError;

#[tokio::test]
async fn store_guards_keep_an_owner() {
    let t = app().await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let o = owner.id.as_str();
    let (cookie, _) = t.login().await;
    let refused = |r: Result<(), StoreError>| {
        assert!(
            matches!(&r, Err(StoreError::Conflict { field }) if field == "role"),
            "{r:?}"
        )
    };
    refused(
        t.db.change_role_keeping_an_owner(o, "cashier")
            .await
            .map(|_| ()),
    );
    refused(
        t.db.change_role_keeping_an_owner(o, "manager")
            .await
            .map(|_| ()),
    );
    refused(t.db.disable_keeping_an_owner(o).await);
    let u = t.db.user(o).await.unwrap();
    assert!(u.role == "owner" && !u.disabled);
    assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    assert!(t.db.change_role_keeping_an_owner(o, "owner").await.is_ok());
    assert!(matches!(
        t.db.disable_keeping_an_owner("no-such-user").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        t.db.change_role_keeping_an_owner("no-such-user", "cashier")
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // A disabled owner does not count as the other owner.
    let off = add_staff(&t, "off@example.com", "owner").await;
    t.db.disable_keeping_an_owner(off.id.as_str())
        .await
        .unwrap();
    refused(t.db.disable_keeping_an_owner(o).await);
    refused(
        t.db.change_role_keeping_an_owner(o, "cashier")
            .await
            .map(|_| ()),
    );

    // Two enabled owners removed at the same moment: exactly one change goes through.
    let o2 = add_staff(&t, "second@example.com", "owner").await;
    let (key, _) = storefort_web::auth::create_api_key(&t.db, "k", "read", &o2)
        .await
        .unwrap();
    assert_eq!(api_products(&t, &key).await, StatusCode::OK);
    let (a, b) = tokio::join!(
        t.db.change_role_keeping_an_owner(o, "cashier"),
        t.db.disable_keeping_an_owner(o2.id.as_str()),
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    let left: Vec<_> =
        t.db.users_with_role("owner")
            .await
            .unwrap()
            .into_iter()
            .filter(|u| !u.disabled)
            .collect();
    assert_eq!(left.len(), 1);
    if b.is_ok() {
        // Disabled: sessions gone and API keys stop at once.
        assert_eq!(api_products(&t, &key).await, StatusCode::UNAUTHORIZED);
        assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn cashiers_and_managers_cannot_manage_staff() {
    let t = app().await;
    let victim = add_staff(&t, "victim@example.com", "cashier").await;
    let (vcookie, _) = t.login_as("victim@example.com", GOOD_PW).await;
    let (key, _) = storefort_web::auth::create_api_key(&t.db, "v", "read", &victim)
        .await
        .unwrap();
    let (oc, ocsrf) = t.login().await;
    let tok = shown_token(&invite(&t, &oc, &ocsrf, "new@example.com", "Nu", "cashier").await);
    let inv_id = t.db.pending_invitations().await.unwrap()[0].id.clone();
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let vsid = session_id(&t, &vcookie).await;
    for role in ["cashier", "manager"] {
        let email = format!("{role}@example.com");
        add_staff(&t, &email, role).await;
        let (cookie, csrf) = t.login_as(&email, GOOD_PW).await;
        reauth(&t, &cookie).await;
        let denied_before = audit_log(&t, "access.denied").await.len();
        assert_eq!(
            t.get("/admin/staff", Some(&cookie)).await.status,
            StatusCode::FORBIDDEN
        );
        let page = t
            .get(&format!("/admin/staff/{}", victim.id), Some(&cookie))
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}");
        let v = victim.id.as_str();
        let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                "/admin/staff/invite".into(),
                vec![("email", "x@example.com"), ("name", "X"), ("role", "owner")],
            ),
            (
                format!("/admin/staff/invitations/{inv_id}/withdraw"),
                vec![],
            ),
            (format!("/admin/staff/{v}/role"), vec![("role", "owner")]),
            (
                format!("/admin/staff/{}/role", owner.id),
                vec![("role", "cashier")],
            ),
            (format!("/admin/staff/{v}/disable"), vec![]),
            (format!("/admin/staff/{}/disable", owner.id), vec![]),
            (format!("/admin/staff/{v}/enable"), vec![]),
            (format!("/admin/staff/{v}/unlock"), vec![]),
            (format!("/admin/staff/{v}/sessions/{vsid}/end"), vec![]),
            (format!("/admin/staff/{v}/sessions/end-all"), vec![]),
            (format!("/admin/staff/{}/mfa-reset", owner.id), vec![]),
            (format!("/admin/staff/{v}/compromised"), vec![]),
        ];
        for (path, mut form) in posts {
            form.push(("csrf", &csrf));
            let r = t.post(&path, Some(&cookie), &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} {path}");
        }
        assert_eq!(
            audit_log(&t, "access.denied").await.len(),
            denied_before + 14,
            "{role}"
        );
        assert!(t.get("/admin", Some(&cookie)).await.status == StatusCode::OK);
    }
    // Nothing changed.
    assert_eq!(t.get("/admin", Some(&vcookie)).await.status, StatusCode::OK);
    assert_eq!(api_products(&t, &key).await, StatusCode::OK);
    let v = t.db.user(victim.id.as_str()).await.unwrap();
    assert!(v.role == "cashier" && !v.disabled && !v.must_change_password);
    let o = t.db.user(owner.id.as_str()).await.unwrap();
    assert!(o.role == "owner" && !o.disabled && o.mfa_enabled);
    assert_eq!(
        t.get(&format!("/admin/invite?token={tok}"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert!(t.db.user_by_email("x@example.com").await.unwrap().is_none());
    for action in [
        "staff.role_changed",
        "staff.disabled",
        "staff.compromised",
        "staff.invitation_withdrawn",
        "staff.mfa_reset",
    ] {
        assert!(audit_log(&t, action).await.is_empty(), "{action}");
    }
}
