//! Staff invitations: the link shown once without SMTP, weak passwords refused, single use,
//! expiry, withdrawal, duplicates, a recent password to invite, the sign-in page after joining
//! and the invite form's wording with and without email.

mod common;
mod staff_support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{app, app_with, OWNER_EMAIL};
use staff_support::*;
use storefort_crypto::token::hash_token;
use storefort_store::StoreError;
use storefort_web::mail::{SmtpConfig, SmtpSecurity};
use storefort_web::WebConfig;

const READY: &str = "Your account is ready. Sign in with your email and new password.";
const PASS_ON: &str = "You will get a link to pass on to them (email is not set up)";
const BY_EMAIL: &str = "They get a link by email";

#[tokio::test]
async fn invitation_from_link_to_first_sign_in() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let r = invite(
        &t,
        &cookie,
        &csrf,
        "Cash@Example.com",
        "Cass Cashier",
        "cashier",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Email is not set up"), "{}", r.body);
    let tok = shown_token(&r);
    let e = &audit_log(&t, "staff.invited").await[0];
    assert_eq!(
        (e.actor.as_str(), e.target.as_str()),
        (OWNER_EMAIL, "cash@example.com")
    );
    assert!(!e.ip.is_empty());
    // The link is shown once: the list page afterwards has it no more.
    let list = t.get("/admin/staff", Some(&cookie)).await;
    assert!(list.body.contains("cash@example.com") && !list.body.contains(&tok));

    let form = t.get(&format!("/admin/invite?token={tok}"), None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("cash@example.com") && form.body.contains("cashier"));

    // Weak, mismatched, or containing the user's own name: refused, no account.
    let weak = accept(&t, &tok, "password123", "password123").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("Password:"), "{}", weak.body);
    let differ = accept(&t, &tok, GOOD_PW, "Plum-orbit-Saxophone-1975-ridgX").await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    let own = accept(
        &t,
        &tok,
        "Cass-Cashier-tango-4471",
        "Cass-Cashier-tango-4471",
    )
    .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", own.body);
    assert!(t
        .db
        .user_by_email("cash@example.com")
        .await
        .unwrap()
        .is_none());

    // Posted from another site: refused even with the right token.
    let body = format!("token={tok}&password={GOOD_PW}&confirm={GOOD_PW}");
    let req = Request::builder()
        .method("POST")
        .uri("/admin/invite")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(t.send(req).await.status, StatusCode::FORBIDDEN);
    assert!(t
        .db
        .user_by_email("cash@example.com")
        .await
        .unwrap()
        .is_none());

    let done = accept(&t, &tok, GOOD_PW, GOOD_PW).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location(),
        "/admin/login?joined=1&email=cash%40example.com"
    );
    let u =
        t.db.user_by_email("cash@example.com")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (u.role.as_str(), u.name.as_str()),
        ("cashier", "Cass Cashier")
    );
    assert_eq!(
        audit_log(&t, "staff.joined").await[0].target,
        "cash@example.com"
    );

    // Used up: neither the form nor a replayed post works.
    let again = t.get(&format!("/admin/invite?token={tok}"), None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again
        .body
        .contains("expired, was withdrawn or was already used"));
    let replay = accept(
        &t,
        &tok,
        "Another-fine-Passphrase-88",
        "Another-fine-Passphrase-88",
    )
    .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(t.get("/admin/invite?token=forged", None).await.status == StatusCode::BAD_REQUEST);
    assert!(t.get("/admin/invite", None).await.status == StatusCode::BAD_REQUEST);

    let (c2, _) = t.login_as("cash@example.com", GOOD_PW).await;
    assert_eq!(
        t.get("/admin/products", Some(&c2)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_withdrawn_and_bad_invitations() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let tok = shown_token(
        &invite(
            &t,
            &cookie,
            &csrf,
            "late@example.com",
            "Lee Late",
            "manager",
        )
        .await,
    );
    t.clock.advance(8 * DAY);
    assert_eq!(
        t.get(&format!("/admin/invite?token={tok}"), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        accept(&t, &tok, GOOD_PW, GOOD_PW).await.status,
        StatusCode::BAD_REQUEST
    );
    assert!(t
        .db
        .user_by_email("late@example.com")
        .await
        .unwrap()
        .is_none());

    let (cookie, csrf) = t.login().await;
    let r = invite(&t, &cookie, &csrf, "wd@example.com", "Wendy", "cashier").await;
    let tok = shown_token(&r);
    let inv = t.db.pending_invitations().await.unwrap();
    let id = &inv.iter().find(|i| i.email == "wd@example.com").unwrap().id;
    let path = format!("/admin/staff/invitations/{id}/withdraw");
    assert_eq!(
        t.post(&path, Some(&cookie), &[]).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF"
    );
    assert_eq!(
        t.get(&format!("/admin/invite?token={tok}"), None)
            .await
            .status,
        StatusCode::OK
    );
    let w = t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(w.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get(&format!("/admin/invite?token={tok}"), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.post(&path, Some(&cookie), &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        audit_log(&t, "staff.invitation_withdrawn").await[0].target,
        "wd@example.com"
    );
    let unknown = t
        .post(
            "/admin/staff/invitations/nope/withdraw",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Bad fields: 422 naming the field; an existing member: 409. Nothing is created.
    let before = t.db.pending_invitations().await.unwrap().len();
    for (email, name, role, field) in [
        ("not-an-email", "N", "cashier", "Email:"),
        ("ok@example.com", "  ", "cashier", "Name:"),
        ("ok@example.com", "N", "root", "Role:"),
    ] {
        let r = invite(&t, &cookie, &csrf, email, name, role).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{email} {role}");
        assert!(r.body.contains(field), "{field}");
    }
    let dup = invite(&t, &cookie, &csrf, "OWNER@example.com", "Twin", "owner").await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert!(dup.body.contains("already belongs to a staff member"));
    assert!(dup.body.contains("value=\"Twin\""), "form kept");
    let no_csrf = invite(&t, &cookie, "wrong", "x@example.com", "X", "cashier").await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(t.db.pending_invitations().await.unwrap().len(), before);

    // Inviting again replaces the earlier link.
    let first = shown_token(&invite(&t, &cookie, &csrf, "re@example.com", "Rae", "cashier").await);
    let second = shown_token(&invite(&t, &cookie, &csrf, "re@example.com", "Rae", "cashier").await);
    assert_eq!(
        accept(&t, &first, GOOD_PW, GOOD_PW).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        accept(&t, &second, GOOD_PW, GOOD_PW).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn inviting_needs_a_recent_password() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    t.clock.advance(6 * 60 * 1000);
    let r = invite(&t, &cookie, &csrf, "boss@example.com", "Bo", "owner").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/reauth?next=%2Fadmin%2Fstaff");
    assert!(t.db.pending_invitations().await.unwrap().is_empty());
    assert!(audit_log(&t, "staff.invited").await.is_empty());
    reauth(&t, &cookie).await;
    let r = invite(&t, &cookie, &csrf, "boss@example.com", "Bo", "owner").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(t.db.pending_invitations().await.unwrap().len(), 1);
}

#[tokio::test]
async fn withdrawn_or_clashing_invitations_are_not_accepted() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let tok = shown_token(&invite(&t, &cookie, &csrf, "wd@example.com", "Wendy", "owner").await);
    let id = t.db.pending_invitations().await.unwrap()[0].id.clone();
    t.db.revoke_invitation(&id).await.unwrap();
    assert_eq!(
        accept(&t, &tok, GOOD_PW, GOOD_PW).await.status,
        StatusCode::BAD_REQUEST
    );
    // The store itself re-checks, whatever the page looked at before.
    let hash = storefort_crypto::password::hash(GOOD_PW).unwrap();
    let r = t.db.accept_invitation(&hash_token(&tok), &hash, 4).await;
    assert!(matches!(r, Err(StoreError::NotFound { .. })), "{r:?}");
    assert!(t
        .db
        .user_by_email("wd@example.com")
        .await
        .unwrap()
        .is_none());

    // Expired: refused by the store too.
    let late = shown_token(&invite(&t, &cookie, &csrf, "late@example.com", "L", "cashier").await);
    t.clock.advance(8 * DAY);
    let r = t.db.accept_invitation(&hash_token(&late), &hash, 4).await;
    assert!(matches!(r, Err(StoreError::NotFound { .. })), "{r:?}");
    assert!(t
        .db
        .user_by_email("late@example.com")
        .await
        .unwrap()
        .is_none());

    // The email got taken meanwhile: refused, and the invitation is not used up by the failure.
    let (cookie, csrf) = t.login().await;
    let tok = shown_token(&invite(&t, &cookie, &csrf, "clash@example.com", "C", "cashier").await);
    t.db.create_user("clash@example.com", "Cee", "cashier", &hash, 4)
        .await
        .unwrap();
    let r = t.db.accept_invitation(&hash_token(&tok), &hash, 4).await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert!(invitation_open(&t, &tok).await, "rolled back");
    assert_eq!(t.db.users().await.unwrap().len(), 2);
}

#[tokio::test]
async fn after_joining_the_login_page_says_the_account_is_ready() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let tok = shown_token(&invite(&t, &cookie, &csrf, "new@example.com", "Nu", "cashier").await);
    let done = accept(&t, &tok, GOOD_PW, GOOD_PW).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = t.get(done.location(), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(READY), "{}", page.body);
    assert!(
        page.body.contains("value=\"new@example.com\""),
        "email prefilled: {}",
        page.body
    );
    // They can sign in from there.
    assert!(signs_in(&t, "new@example.com", GOOD_PW).await);

    // The plain login page: no notice, nothing filled in; an email alone is not prefilled.
    let plain = t.get("/admin/login", None).await;
    assert!(!plain.body.contains(READY));
    assert!(plain.body.contains("value=\"\""), "{}", plain.body);
    let stray = t.get("/admin/login?email=x%40example.com", None).await;
    assert!(!stray.body.contains("x@example.com"));
    // A crafted link cannot inject markup.
    let crafted = t
        .get(
            "/admin/login?joined=1&email=%22%3E%3Cscript%3Ex%3C%2Fscript%3E",
            None,
        )
        .await;
    assert_eq!(crafted.status, StatusCode::OK);
    assert!(!crafted.body.contains("<script>"), "{}", crafted.body);

    // The used link's page offers the sign-in page as well as the shop.
    let used = t.get(&format!("/admin/invite?token={tok}"), None).await;
    assert_eq!(used.status, StatusCode::BAD_REQUEST);
    assert!(used.body.contains("href=\"/admin/login\""), "{}", used.body);
    assert!(used.body.contains("href=\"/\""));
    let replay = accept(&t, &tok, GOOD_PW, GOOD_PW).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.body.contains("href=\"/admin/login\""));
    let forged = t.get("/admin/invite?token=forged", None).await;
    assert!(forged.body.contains("href=\"/admin/login\""));

    // The address was taken meanwhile: 409, with the sign-in link, and no second account.
    let tok = shown_token(&invite(&t, &cookie, &csrf, "clash@example.com", "C", "cashier").await);
    let hash = storefort_crypto::password::hash(GOOD_PW).unwrap();
    t.db.create_user("clash@example.com", "Cee", "cashier", &hash, 4)
        .await
        .unwrap();
    let clash = accept(&t, &tok, GOOD_PW, GOOD_PW).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{}", clash.body);
    assert!(clash.body.contains("already exists"));
    assert!(clash.body.contains("href=\"/admin/login\""));
    assert!(audit_log(&t, "staff.joined")
        .await
        .iter()
        .all(|e| e.target != "clash@example.com"));
}

#[tokio::test]
async fn the_invite_form_says_how_the_link_travels() {
    let t = app().await;
    let (cookie, _) = t.login().await;
    let page = t.get("/admin/staff", Some(&cookie)).await;
    assert!(page.body.contains(PASS_ON), "{}", page.body);
    assert!(!page.body.contains(BY_EMAIL));

    let smtp = SmtpConfig {
        host: "127.0.0.1".into(),
        port: 1,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Shop <shop@example.com>".into(),
    };
    let t = app_with(WebConfig {
        smtp: Some(smtp),
        ..Default::default()
    })
    .await;
    let (cookie, _) = t.login().await;
    let page = t.get("/admin/staff", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(BY_EMAIL), "{}", page.body);
    assert!(!page.body.contains(PASS_ON));
}
