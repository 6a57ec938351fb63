//! Harness for the staff management tests: staff members made directly in the database,
//! the owner's "password typed again" step, sending and accepting invitations, a fake SMTP
//! server that counts what it receives, and the audit entries of one action.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use storefort_crypto::token::hash_token;
use storefort_store::audit::{AuditEntry, AuditFilter};
use storefort_store::auth::User;
use storefort_web::mail::{SmtpConfig, SmtpSecurity};
use storefort_web::WebConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::{Res, TestApp};

pub const GOOD_PW: &str = "Plum-orbit-Saxophone-1975-ridge";
pub const DAY: i64 = 24 * 60 * 60 * 1000;

pub async fn audit_log(t: &TestApp, action: &str) -> Vec<AuditEntry> {
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
pub async fn add_staff(t: &TestApp, email: &str, role: &str) -> User {
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
pub async fn session_id(t: &TestApp, cookie: &str) -> String {
    let tok = cookie.split_once('=').unwrap().1;
    t.db.touch_session(&hash_token(tok))
        .await
        .unwrap()
        .expect("live session")
        .id
}

/// Stand-in for the /admin/reauth page: the password was just typed again.
pub async fn reauth(t: &TestApp, cookie: &str) {
    let id = session_id(t, cookie).await;
    t.db.mark_reauthenticated(&id).await.unwrap();
}

pub async fn invite(
    t: &TestApp,
    cookie: &str,
    csrf: &str,
    email: &str,
    name: &str,
    role: &str,
) -> Res {
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
pub fn shown_token(res: &Res) -> String {
    let marker = "https://localhost:8443/admin/invite?token=";
    let at = res.body.find(marker).expect("invitation link shown");
    let rest = &res.body[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub async fn accept(t: &TestApp, tok: &str, pw: &str, confirm: &str) -> Res {
    t.post(
        "/admin/invite",
        None,
        &[("token", tok), ("password", pw), ("confirm", confirm)],
    )
    .await
}

pub async fn api_products(t: &TestApp, key: &str) -> StatusCode {
    let req = Request::builder()
        .uri("/api/v1/products")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    t.send(req).await.status
}

pub async fn signs_in(t: &TestApp, email: &str, pw: &str) -> bool {
    let r = t
        .post(
            "/admin/login",
            None,
            &[("email", email), ("password", pw), ("next", "/admin")],
        )
        .await;
    r.status == StatusCode::SEE_OTHER
}

/// A fake SMTP server that accepts every message and counts them.
pub async fn smtp_sink() -> (WebConfig, Arc<AtomicUsize>) {
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
pub async fn invitation_by(t: &TestApp, by: &User, email: &str) -> String {
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

pub async fn invitation_open(t: &TestApp, tok: &str) -> bool {
    t.db.open_invitation(&hash_token(tok))
        .await
        .unwrap()
        .is_some()
}
