//! What an owner does to a staff member's account: role changes (recent password, last
//! owner), disabling (sessions end, their invitations are withdrawn) and enabling, unlocking,
//! ending sessions, resetting the second factor.

mod common;
mod staff_support;

use axum::http::StatusCode;
use common::{app, OWNER_EMAIL};
use staff_support::*;

#[tokio::test]
async fn role_change_needs_a_recent_password_and_keeps_an_owner() {
    let t = app().await;
    let m = add_staff(&t, "cash@example.com", "cashier").await;
    let (cookie, csrf) = t.login().await;
    let page = t
        .get(&format!("/admin/staff/{}", m.id), Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("cash@example.com"));
    let path = format!("/admin/staff/{}/role", m.id);
    t.clock.advance(6 * 60 * 1000);
    let r = t
        .post(
            &path,
            Some(&cookie),
            &[("csrf", &csrf), ("role", "manager")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().starts_with("/admin/reauth"),
        "{}",
        r.location()
    );
    assert_eq!(t.db.user(m.id.as_str()).await.unwrap().role, "cashier");

    reauth(&t, &cookie).await;
    let bad = t
        .post(&path, Some(&cookie), &[("csrf", &csrf), ("role", "root")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .post(
            &path,
            Some(&cookie),
            &[("csrf", &csrf), ("role", "manager")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(t.db.user(m.id.as_str()).await.unwrap().role, "manager");
    let e = &audit_log(&t, "staff.role_changed").await[0];
    assert_eq!(
        (e.target.as_str(), e.details.as_str()),
        ("cash@example.com", "cashier -> manager")
    );
    assert_eq!(e.actor, OWNER_EMAIL);

    // The only owner cannot demote or disable themselves; nothing changes.
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    for (action, form) in [
        ("role", vec![("csrf", csrf.as_str()), ("role", "cashier")]),
        ("disable", vec![("csrf", csrf.as_str())]),
    ] {
        let r = t
            .post(
                &format!("/admin/staff/{}/{action}", owner.id),
                Some(&cookie),
                &form,
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{action}");
        assert!(r.body.contains("only owner"), "{}", r.body);
    }
    let owner = t.db.user(owner.id.as_str()).await.unwrap();
    assert!(owner.role == "owner" && !owner.disabled);
    // With a second owner, it is still refused on yourself.
    let r = t
        .post(&path, Some(&cookie), &[("csrf", &csrf), ("role", "owner")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = t
        .post(
            &format!("/admin/staff/{}/role", owner.id),
            Some(&cookie),
            &[("csrf", &csrf), ("role", "cashier")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("your own account"));
    assert_eq!(
        t.get("/admin/staff/no-such-id", Some(&cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    let r = t
        .post(
            "/admin/staff/no-such-id/role",
            Some(&cookie),
            &[("csrf", &csrf), ("role", "cashier")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn disable_ends_sessions_and_enable_lets_them_back() {
    let t = app().await;
    let m = add_staff(&t, "cash@example.com", "cashier").await;
    let (theirs, _) = t.login_as("cash@example.com", GOOD_PW).await;
    let (cookie, csrf) = t.login().await;
    let page = t
        .get(&format!("/admin/staff/{}", m.id), Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let r = t
        .post(
            &format!("/admin/staff/{}/disable", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("/admin", Some(&theirs)).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(t.db.sessions_of(m.id.as_str()).await.unwrap().is_empty());
    assert!(!signs_in(&t, "cash@example.com", GOOD_PW).await);
    let e = &audit_log(&t, "staff.disabled").await[0];
    assert_eq!(
        (e.target.as_str(), e.details.as_str()),
        ("cash@example.com", "1 sessions ended")
    );
    let r = t
        .post(
            &format!("/admin/staff/{}/enable", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(signs_in(&t, "cash@example.com", GOOD_PW).await);
    assert_eq!(audit_log(&t, "staff.enabled").await.len(), 1);
}

#[tokio::test]
async fn unlock_and_end_sessions() {
    let t = app().await;
    let m = add_staff(&t, "cash@example.com", "cashier").await;
    let (a, _) = t.login_as("cash@example.com", GOOD_PW).await;
    let (b, _) = t.login_as("cash@example.com", GOOD_PW).await;
    for _ in 0..10 {
        t.db.record_login_failure(m.id.as_str()).await.unwrap();
    }
    assert!(!signs_in(&t, "cash@example.com", GOOD_PW).await, "locked");
    let (cookie, csrf) = t.login().await;
    let page = t
        .get(&format!("/admin/staff/{}", m.id), Some(&cookie))
        .await;
    assert!(page.body.contains("Locked until"));
    let r = t
        .post(
            &format!("/admin/staff/{}/unlock", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!t
        .db
        .user(m.id.as_str())
        .await
        .unwrap()
        .is_locked(t.db.now()));
    assert_eq!(
        audit_log(&t, "staff.unlocked").await[0].target,
        "cash@example.com"
    );

    // Ending a session that belongs to someone else through this member's page: 404.
    let owner_sid = session_id(&t, &cookie).await;
    let r = t
        .post(
            &format!("/admin/staff/{}/sessions/{owner_sid}/end", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let sid = session_id(&t, &a).await;
    let r = t
        .post(
            &format!("/admin/staff/{}/sessions/{sid}/end", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("/admin", Some(&a)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(t.get("/admin", Some(&b)).await.status, StatusCode::OK);
    let r = t
        .post(
            &format!("/admin/staff/{}/sessions/end-all", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("/admin", Some(&b)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        t.get("/admin", Some(&cookie)).await.status,
        StatusCode::OK,
        "owner still in"
    );
    assert_eq!(audit_log(&t, "staff.session").await.len(), 2);
}

#[tokio::test]
async fn disabling_withdraws_their_invitations() {
    let t = app().await;
    let o2 = add_staff(&t, "second@example.com", "owner").await;
    let theirs = invitation_by(&t, &o2, "their-pick@example.com").await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let mine = invitation_by(&t, &owner, "my-pick@example.com").await;
    let (cookie, csrf) = t.login().await;
    let r = t
        .post(
            &format!("/admin/staff/{}/disable", o2.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(t.db.user(o2.id.as_str()).await.unwrap().disabled);
    assert!(!invitation_open(&t, &theirs).await);
    assert_eq!(
        accept(&t, &theirs, GOOD_PW, GOOD_PW).await.status,
        StatusCode::BAD_REQUEST
    );
    assert!(t
        .db
        .user_by_email("their-pick@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(invitation_open(&t, &mine).await);
    assert_eq!(
        audit_log(&t, "staff.disabled").await[0].details,
        "0 sessions ended, 1 pending invitations withdrawn"
    );
}

#[tokio::test]
async fn mfa_reset_ends_their_sessions() {
    let t = app().await;
    let m = add_staff(&t, "mgr@example.com", "manager").await;
    let (theirs, _) = t.login_as("mgr@example.com", GOOD_PW).await;
    assert_eq!(t.get("/admin", Some(&theirs)).await.status, StatusCode::OK);
    let (cookie, csrf) = t.login().await;
    let r = t
        .post(
            &format!("/admin/staff/{}/mfa-reset", m.id),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!t.db.user(m.id.as_str()).await.unwrap().mfa_enabled);
    assert!(t.db.sessions_of(m.id.as_str()).await.unwrap().is_empty());
    // Not merely sent to set up a second factor: signed out.
    let r = t.get("/admin", Some(&theirs)).await;
    assert!(r.location().starts_with("/admin/login"), "{}", r.location());
    assert_eq!(t.get("/admin", Some(&cookie)).await.status, StatusCode::OK);
    assert_eq!(
        audit_log(&t, "staff.mfa_reset").await[0].details,
        "1 sessions ended"
    );
}
