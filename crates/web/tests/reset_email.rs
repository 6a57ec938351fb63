//! Password reset by email, through a real SMTP sink (aiosmtpd): the link arrives, works once,
//! expires after 30 minutes, ends every session; unknown addresses get the same page and no
//! email.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{app, app_with, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use storefort_store::audit::{AuditEvent, AuditFilter};
use storefort_web::mail::{SmtpConfig, SmtpSecurity};
use storefort_web::WebConfig;

const NEW_PASSWORD: &str = "marble kestrel 84 lighthouse";
const MINUTE: i64 = 60_000;

/// A local SMTP server that prints every message it receives; killed when dropped.
struct Sink {
    child: Child,
    port: u16,
    messages: Receiver<String>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sink {
    fn start() -> Sink {
        let found = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            panic!("aiosmtpd is not installed: pip install aiosmtpd (see .ci/run)");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            // -u: print each message as it arrives, not when a buffer fills.
            .args(["-u", "-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Debugging"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            let mut msg = String::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.starts_with("------------ END MESSAGE") {
                    if tx.send(std::mem::take(&mut msg)).is_err() {
                        return;
                    }
                } else {
                    msg.push_str(&line);
                    msg.push('\n');
                }
            }
        });
        let sink = Sink {
            child,
            port,
            messages,
        };
        let until = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        sink
    }

    /// The next message, or `None` after `wait`. Sleeps on the runtime so the background
    /// send can run.
    async fn next(&self, wait: Duration) -> Option<String> {
        let until = Instant::now() + wait;
        loop {
            if let Ok(m) = self.messages.try_recv() {
                return Some(m);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn smtp_app(sink: &Sink) -> TestApp {
    app_with(WebConfig {
        smtp: Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: sink.port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "Shop <shop@example.com>".into(),
        }),
        ..Default::default()
    })
    .await
}

/// The reset link's token in a message (the body may be quoted-printable).
fn token_in(msg: &str) -> String {
    let body = msg.replace("=\n", "").replace("=3D", "=");
    let prefix = "https://localhost:8443/admin/reset?token=";
    let at = body.find(prefix).expect("the message carries the link") + prefix.len();
    body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn forgot(t: &TestApp, email: &str) -> common::Res {
    t.post("/admin/forgot", None, &[("email", email)]).await
}

async fn reset(t: &TestApp, token: &str, new: &str, again: &str) -> common::Res {
    t.post(
        "/admin/reset",
        None,
        &[
            ("token", token),
            ("new_password", new),
            ("confirm_password", again),
        ],
    )
    .await
}

#[tokio::test]
async fn a_reset_link_arrives_by_email_works_once_and_ends_every_session() {
    let sink = Sink::start();
    let t = smtp_app(&sink).await;
    let (signed_in, _) = t.login().await;

    let unknown = forgot(&t, "nobody@example.com").await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(unknown.body.contains(
        "If an account exists for that address, we have emailed a link. It works for 30 minutes."
    ));
    assert!(
        sink.next(Duration::from_millis(1500)).await.is_none(),
        "no email for an unknown address"
    );

    let known = forgot(&t, OWNER_EMAIL).await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.body, unknown.body, "the same page either way");
    let msg = sink
        .next(Duration::from_secs(20))
        .await
        .expect("the email arrives");
    assert!(msg.contains("To: owner@example.com"), "{msg}");
    assert!(msg.contains("shop@example.com"), "{msg}");
    let token = token_in(&msg);
    assert_eq!(token.len(), 43, "256-bit token: {msg}");

    let form = t.get(&format!("/admin/reset?token={token}"), None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("autocomplete=\"new-password\""));
    assert!(
        !form.body.contains("action=\"/admin/reset?"),
        "the token stays out of other URLs"
    );

    // Bad new passwords leave the link usable.
    let r = reset(&t, &token, NEW_PASSWORD, "something else 12").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"confirm_password-error\""));
    let r = reset(&t, &token, OWNER_PASSWORD, OWNER_PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "one of the last 4"
    );
    let r = reset(&t, &token, "short 1", "short 1").await;
    assert!(r.body.contains("Use at least 12 characters."));

    let r = reset(&t, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/admin/login?changed=1");
    let dash = t.get("/admin", Some(&signed_in)).await;
    assert!(
        dash.location().starts_with("/admin/login"),
        "the old session ended"
    );
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    assert!(t
        .db
        .sessions_of(owner.id.as_str())
        .await
        .unwrap()
        .is_empty());
    t.login_as(OWNER_EMAIL, NEW_PASSWORD).await;

    // Used once: the same link now fails, on the page and on the form.
    let again = t.get(&format!("/admin/reset?token={token}"), None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again
        .body
        .contains("This link has expired or was already used. Ask for a new one."));
    assert!(again.body.contains("href=\"/admin/forgot\""));
    let r = reset(
        &t,
        &token,
        "another fine 99 password",
        "another fine 99 password",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    t.login_as(OWNER_EMAIL, NEW_PASSWORD).await;

    // The token itself is never written to the audit log.
    let log = t.db.audit_entries(&AuditFilter::default()).await.unwrap();
    assert!(log
        .iter()
        .all(|e| !e.details.contains(&token) && !e.target.contains(&token)));
    let f = AuditFilter {
        action: Some("password_reset".into()),
        ..Default::default()
    };
    let mut actions: Vec<String> =
        t.db.audit_entries(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "password_reset.completed",
            "password_reset.failed",
            "password_reset.requested",
            "password_reset.requested"
        ]
    );
}

#[tokio::test]
async fn a_link_older_than_thirty_minutes_fails() {
    let sink = Sink::start();
    let t = smtp_app(&sink).await;
    forgot(&t, OWNER_EMAIL).await;
    let token = token_in(&sink.next(Duration::from_secs(20)).await.expect("email"));
    t.clock.advance(31 * MINUTE);
    let r = t.get(&format!("/admin/reset?token={token}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = reset(&t, &token, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    t.login_as(OWNER_EMAIL, OWNER_PASSWORD).await;
    // A made-up token fails the same way.
    let fake = storefort_crypto::token::random_token();
    let r = t.get(&format!("/admin/reset?token={fake}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t.get("/admin/reset", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_account_gets_at_most_three_links_an_hour() {
    let sink = Sink::start();
    let t = smtp_app(&sink).await;
    for i in 0..3 {
        assert_eq!(forgot(&t, OWNER_EMAIL).await.status, StatusCode::OK);
        assert!(
            sink.next(Duration::from_secs(20)).await.is_some(),
            "email {i}"
        );
    }
    let r = forgot(&t, OWNER_EMAIL).await;
    assert_eq!(r.status, StatusCode::OK, "the same answer");
    assert!(
        sink.next(Duration::from_millis(1500)).await.is_none(),
        "no fourth email"
    );
    t.clock.advance(61 * MINUTE);
    forgot(&t, OWNER_EMAIL).await;
    assert!(
        sink.next(Duration::from_secs(20)).await.is_some(),
        "an hour later"
    );
}

#[tokio::test]
async fn disabled_accounts_get_no_email_and_floods_are_refused() {
    let sink = Sink::start();
    let t = smtp_app(&sink).await;
    let owner = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    t.db.set_disabled(owner.id.as_str(), true).await.unwrap();
    let r = forgot(&t, OWNER_EMAIL).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(sink.next(Duration::from_millis(1500)).await.is_none());
    t.db.set_disabled(owner.id.as_str(), false).await.unwrap();

    // An address that failed the login limit's worth of sign-ins is refused.
    for _ in 0..t.db.policy.ip_failure_limit {
        t.db.audit(AuditEvent::new(
            "login.failure",
            "x@example.com",
            "127.0.0.1",
        ))
        .await
        .unwrap();
    }
    let r = forgot(&t, OWNER_EMAIL).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(sink.next(Duration::from_millis(1500)).await.is_none());
}

#[tokio::test]
async fn without_smtp_the_page_says_how_else_to_reset() {
    let t = app().await;
    let known = forgot(&t, OWNER_EMAIL).await;
    let unknown = forgot(&t, "nobody@example.com").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.body, unknown.body);
    assert!(known.body.contains("Email is not set up"));
    assert!(known
        .body
        .contains("storefort user reset-password YOUR-EMAIL"));
    let form = t.get("/admin/forgot", None).await;
    assert!(
        form.body.contains("Email is not set up") && !form.body.contains("Email me a link"),
        "said before anyone types an address"
    );
    assert!(known.body.contains("Staff page"));
    // Posted from another site: refused.
    let r = t
        .send(
            axum::http::Request::post("/admin/forgot")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("sec-fetch-site", "cross-site")
                .body(axum::body::Body::from("email=owner%40example.com"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let login = t.get("/admin/login", None).await;
    assert!(login.body.contains("href=\"/admin/forgot\""));
}
