//! Staff management pages: invitations (link shown without SMTP, weak passwords refused,
//! single use, expiry, duplicates), role changes (recent password, last owner), disabling,
//! unlocking, ending sessions, the "device lost or account compromised" button (link never
//! emailed, second factor off, old links and their invitations dead), owner guards that hold
//! under concurrent changes, and that cashiers and managers cannot reach any of it.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{app, app_with, Res, TestApp, OWNER_EMAIL};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use storefort_crypto::token::hash_token;
use storefort_store::audit::{AuditEntry, AuditFilter};
use storefort_store::auth::User;
use storefort_store::StoreError;
use storefort_web::mail::{SmtpConfig, SmtpSecurity};
use storefort_web::WebConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const GOOD_PW: &str = "Plum-orbit-Saxophone-1975-ridge";
const DAY: i64 = 24 * 60 * 60 * 1000;

async fn audit_log(t: &TestApp, action: &str) -> Vec<AuditEntry> {
    t.db.audit_entries(&AuditFilter {
        action: Some(action.into()),
        limit: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// A staff member made directly in the database (managers are MFA-enrolled so they can reach
/// admin pages).
async fn add_staff(t: &TestApp, email: &str, role: &str) -> User {
    let hash = storefort_crypto::password::hash(GOOD_PW).unwrap();
    let u =
        t.db.create_user(email, "Sam Staff", role, &hash, 4)
            .await
            .unwrap();
    if role != "cashier" {
        t.db.begin_mfa_enrolment(u.id.as_str()).await.unwrap();
        t.db.confirm_mfa(u.id.as_str(), 0, &[]).await.unwrap();
    }
    t.db.user(u.id.as_str()).await.unwrap()
}

/// The session behind a cookie header value.
async fn session_id(t: &TestApp, cookie: &str) -> String {
    let tok = cookie.split_once('=').unwrap().1;
    t.db.touch_session(&hash_token(tok))
        .await
        .unwrap()
        .expect("live session")
        .id
}

/// Stand-in for the /admin/reauth page: the password was just typed again.
async fn reauth(t: &TestApp, cookie: &str) {
    let id = session_id(t, cookie).await;
    t.db.mark_reauthenticated(&id).await.unwrap();
}

async fn invite(t: &TestApp, cookie: &str, csrf: &str, email: &str, name: &str, role: &str) -> Res {
    t.post(
        "/admin/staff/invite",
        Some(cookie),
        &[
            ("csrf", csrf),
            ("email", email),
            ("name", name),
            ("role", role),
        ],
    )
    .await
}

/// The invitation token shown on the page.
fn shown_token(res: &Res) -> String {
    let marker = "https://localhost:8443/admin/invite?token=";
    let at = res.body.find(marker).expect("invitation link shown");
    let rest = &res.body[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn accept(t: &TestApp, tok: &str, pw: &str, confirm: &str) -> Res {
    t.post(
        "/admin/invite",
        None,
        &[("token", tok), ("password", pw), ("confirm", confirm)],
    )
    .await
}

async fn api_products(t: &TestApp, key: &str) -> StatusCode {
    let req = Request::builder()
        .uri("/api/v1/products")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    t.send(req).await.status
}

async fn signs_in(t: &TestApp, email: &str, pw: &str) -> bool {
    let r = t
        .post(
            "/admin/login",
            None,
            &[("email", email), ("password", pw), ("next", "/admin")],
        )
        .await;
    r.status == StatusCode::SEE_OTHER
}

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
    assert_eq!(done.location(), "/admin/login");
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

/// A fake SMTP server that accepts every message and counts them.
async fn smtp_sink() -> (WebConfig, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = l.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink\r\n").await?;
                let mut in_data = false;
                while let Some(line) = lines.next_line().await? {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        c.fetch_add(1, Ordering::SeqCst);
                        b"250 queued\r\n"
                    } else {
                        match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                            Some("DATA") => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            Some("QUIT") => b"221 bye\r\n",
                            _ => b"250 ok\r\n",
                        }
                    };
                    w.write_all(reply).await?;
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    let cfg = WebConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "Shop <shop@example.com>".into(),
        }),
        ..Default::default()
    };
    (cfg, count)
}

/// An invitation made directly in the database, sent by `by`; returns its link token.
async fn invitation_by(t: &TestApp, by: &User, email: &str) -> String {
    let tok = format!("tok-{email}");
    t.db.create_invitation(
        email,
        "Ivy Invitee",
        "cashier",
        by.id.as_str(),
        &hash_token(&tok),
    )
    .await
    .unwrap();
    tok
}

async fn invitation_open(t: &TestApp, tok: &str) -> bool {
    t.db.open_invitation(&hash_token(tok))
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn compromised_account_is_locked_down_in_one_step() {
    // Email is set up and works, yet the reset link must not be emailed.
    let (cfg, mails) = smtp_sink().await;
    let t = app_with(cfg).await;
    let m = add_staff(&t, "mgr@example.com", "manager").await;
    assert!(m.mfa_enabled);
    let (theirs, _) = t.login_as("mgr@example.com", GOOD_PW).await;
    let (key, _) = storefort_web::auth::create_api_key(&t.db, "till", "read", &m)
        .await
        .unwrap();
    assert_eq!(api_products(&t, &key).await, StatusCode::OK);
    // An older reset link, and an invitation they sent, both still open.
    let old = hash_token("an-older-reset-link");
    t.db.create_password_reset(m.id.as_str(), &old)
        .await
        .unwrap();
    let their_inv = invitation_by(&t, &m, "friend@example.com").await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    let owners_inv = invitation_by(&t, &owner, "other@example.com").await;

    let (cookie, csrf) = t.login().await;
    // The sink really delivers: an invitation is emailed, not shown.
    let r = invite(&t, &cookie, &csrf, "mailed@example.com", "Mae", "cashier").await;
    assert!(r.body.contains("Invitation emailed"), "{}", r.body);
    assert_eq!(mails.load(Ordering::SeqCst), 1);

    let path = format!("/admin/staff/{}/compromised", m.id);
    t.clock.advance(6 * 60 * 1000);
    let r = t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await;
    assert!(
        r.location().starts_with("/admin/reauth"),
        "recent password needed"
    );
    assert_eq!(
        api_products(&t, &key).await,
        StatusCode::OK,
        "nothing changed yet"
    );
    assert!(t.db.user(m.id.as_str()).await.unwrap().mfa_enabled);
    reauth(&t, &cookie).await;
    let r = t.post(&path, Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("1 signed-in session(s) ended"),
        "{}",
        r.body
    );
    assert!(r.body.contains("1 API key(s)"));
    assert!(r.body.contains("not emailed") && r.body.contains("in person"));
    assert!(
        r.body.contains("https://localhost:8443/admin/reset?token="),
        "link shown once"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(mails.load(Ordering::SeqCst), 1, "nothing emailed");

    assert_eq!(
        t.get("/admin", Some(&theirs)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(api_products(&t, &key).await, StatusCode::UNAUTHORIZED);
    assert!(!signs_in(&t, "mgr@example.com", GOOD_PW).await);
    let after = t.db.user(m.id.as_str()).await.unwrap();
    assert!(after.must_change_password);
    assert!(!after.mfa_enabled, "second factor turned off");
    assert!(t.db.use_password_reset(&old).await.unwrap().is_none());
    assert!(!invitation_open(&t, &their_inv).await, "their invitation");
    assert!(invitation_open(&t, &owners_inv).await, "others' stay");
    let e = &audit_log(&t, "staff.compromised").await[0];
    assert_eq!(e.target, "mgr@example.com");
    assert_eq!(
        e.details,
        "1 sessions ended, 1 API keys revoked, two-factor sign-in turned off, \
         1 earlier reset links expired, 1 pending invitations withdrawn"
    );
    assert_eq!(e.actor, OWNER_EMAIL);
    // The shown reset link is real (made after the old ones were expired).
    let marker = "/admin/reset?token=";
    let at = r.body.find(marker).unwrap() + marker.len();
    let tok = &r.body[at..at + r.body[at..].find('"').unwrap()];
    let u =
        t.db.password_reset_user(&hash_token(tok))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(u.id, m.id);
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
