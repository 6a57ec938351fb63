//! Order emails through the outbox to a real SMTP sink (aiosmtpd on 127.0.0.1): while the mail
//! server is down the email stays queued, after the backoff it is delivered as text + HTML,
//! and the rendered emails escape HTML and never show a card number.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use storefort_store::outbox::OutgoingEmail;
use storefort_store::{Db, ManualClock};
use storefort_web::emails::{
    cancellation_notice, order_confirmation, refund_notice, EmailLine, EmailOrder,
};
use storefort_web::mail::{SmtpConfig, SmtpSecurity};
use storefort_web::outbox_worker::{send_due, spawn_outbox};

/// Parses each message with Python's email package and writes it as JSON (subject, content
/// type, and every leaf part's type and decoded text) to the directory given.
const SINK: &str = r#"
import email, json, os, sys, time
from email import policy
from aiosmtpd.controller import Controller
out, port = sys.argv[1], int(sys.argv[2])
class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        parts = [{"type": p.get_content_type(), "body": p.get_content()}
                 for p in msg.walk() if not p.is_multipart()]
        doc = {"to": envelope.rcpt_tos, "subject": str(msg["subject"]),
               "type": msg.get_content_type(), "parts": parts}
        n = len([f for f in os.listdir(out) if f.endswith(".json")])
        tmp = os.path.join(out, "%04d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.rename(tmp, os.path.join(out, "%04d.json" % n))
        return "250 OK"
Controller(Handler(), hostname="127.0.0.1", port=port).start()
while True:
    time.sleep(3600)
"#;

/// The SMTP sink; killed when dropped.
struct Sink {
    child: Child,
    dir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sink {
    fn start(port: u16, dir: &Path) -> Sink {
        let found = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "aiosmtpd is not installed: pip install aiosmtpd (see .ci/run)"
        );
        let child = Command::new("python3")
            .args(["-c", SINK])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "the SMTP sink did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Sink {
            child,
            dir: dir.to_path_buf(),
        }
    }

    fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    async fn wait_for(&self, n: usize, wait: Duration) -> Vec<Value> {
        let until = Instant::now() + wait;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() >= until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `raw` appears in `html` only escaped (askama writes `&#60;`; `&lt;` would do as well).
fn escaped(html: &str, raw: &str) -> bool {
    let named = raw
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let numeric = raw
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;");
    !html.contains(raw) && (html.contains(&named) || html.contains(&numeric))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn smtp(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Corner Shop <shop@example.com>".into(),
    }
}

async fn db(dir: &Path, clock: Arc<ManualClock>) -> Db {
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let db = Db::connect_with(&url, Default::default(), clock)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db.with_master_key(&storefort_crypto::master_key::MasterKey::generate())
        .await
        .unwrap()
}

fn order() -> EmailOrder {
    EmailOrder {
        shop_name: "Corner Shop".into(),
        order_number: 1042,
        lines: vec![
            EmailLine {
                name: "Linen Shirt (M)".into(),
                quantity: 2,
                amount: "£90.00".into(),
            },
            EmailLine {
                name: "Tea & <Biscuits>".into(),
                quantity: 1,
                amount: "£4.50".into(),
            },
        ],
        subtotal: "£94.50".into(),
        discount: Some("£9.45".into()),
        shipping: "£3.95".into(),
        tax: "£14.83".into(),
        tax_included: true,
        instructions: None,
        total: "£89.00".into(),
        shipping_address: vec![
            "Ann Archer".into(),
            "1 Mill Lane".into(),
            "Leeds LS1 1AA".into(),
        ],
        payment: "Visa ending 4242".into(),
        order_url: "https://shop.example.com/orders/1042?key=abc".into(),
    }
}

async fn queue(db: &Db, r: &storefort_web::emails::Rendered) -> String {
    db.enqueue_email(&OutgoingEmail {
        kind: "order_confirmation".into(),
        customer_id: None,
        to: "ann@example.com".into(),
        subject: r.subject.clone(),
        text: r.text.clone(),
        html: r.html.clone(),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_then_arrives_as_text_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let db = db(dir.path(), clock.clone()).await;
    let port = free_port();
    let cfg = smtp(port);
    let id = queue(&db, &order_confirmation(&order()).unwrap()).await;

    // Nothing listens on the port yet.
    let r = send_due(&db, &cfg).await.unwrap();
    assert_eq!((r.sent, r.failed), (0, 1), "{r:?}");
    assert!(!r.last_error.unwrap_or_default().contains("ann@"));
    let s = db.outbox_status().await.unwrap();
    assert_eq!((s.pending, s.failed_recently), (1, 1), "still queued");

    let mail_dir = dir.path().join("mail");
    std::fs::create_dir(&mail_dir).unwrap();
    let sink = Sink::start(port, &mail_dir);
    // Within the backoff nothing is tried, even though the server is back.
    let r = send_due(&db, &cfg).await.unwrap();
    assert_eq!((r.sent, r.failed), (0, 0));
    clock.advance(61_000);
    let r = send_due(&db, &cfg).await.unwrap();
    assert_eq!((r.sent, r.failed), (1, 0), "{r:?}");
    assert_eq!(db.outbox_status().await.unwrap().pending, 0);
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM outbox WHERE id = $1")
        .bind(&id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(body, None, "body cleared once sent");

    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "one message delivered");
    let m = &got[0];
    assert_eq!(m["to"][0], "ann@example.com");
    assert_eq!(m["subject"], "Corner Shop: order 1042 received");
    assert_eq!(m["type"], "multipart/alternative");
    let part = |t: &str| -> String {
        m["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == t)
            .unwrap_or_else(|| panic!("no {t} part in {m}"))["body"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (text, html) = (part("text/plain"), part("text/html"));
    assert!(text.contains("Order 1042") && html.contains("Order 1042"));
    assert!(text.contains("1 x Tea & <Biscuits>"), "{text}");
    assert!(escaped(&html, "Tea & <Biscuits>"), "{html}");
    assert!(text.contains("Payment: Visa ending 4242"));
    assert!(text.contains("See your order: https://shop.example.com/orders/1042?key=abc"));

    // Sent once: more runs, later, send nothing more.
    clock.advance(24 * 3_600_000);
    assert_eq!(send_due(&db, &cfg).await.unwrap().sent, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn the_background_worker_sends_and_without_smtp_leaves_mail_queued() {
    let dir = tempfile::tempdir().unwrap();
    let db = db(dir.path(), Arc::new(ManualClock::new(1_700_000_000_000))).await;
    queue(&db, &cancellation_notice(&order()).unwrap()).await;

    let idle = spawn_outbox(db.clone(), None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!idle.is_finished());
    idle.abort();
    let s = db.outbox_status().await.unwrap();
    assert_eq!(
        (s.pending, s.failed_recently),
        (1, 0),
        "untouched without SMTP"
    );

    let port = free_port();
    let mail_dir = dir.path().join("mail");
    std::fs::create_dir(&mail_dir).unwrap();
    let sink = Sink::start(port, &mail_dir);
    let worker = spawn_outbox(db.clone(), Some(smtp(port)));
    let got = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["subject"], "Corner Shop: order 1042 cancelled");
    // The worker records the send once the server has answered.
    let until = Instant::now() + Duration::from_secs(10);
    while db.outbox_status().await.unwrap().pending > 0 {
        assert!(Instant::now() < until, "the sent email is still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    assert_eq!(sink.messages().len(), 1, "sent once");
}

#[test]
fn emails_read_well_escape_html_and_never_show_a_card_number() {
    let o = order();
    let c = order_confirmation(&o).unwrap();
    // Amounts line up in the text version.
    let col = |needle: &str| {
        let line = c.text.lines().find(|l| l.contains(needle)).unwrap();
        line.find('£').unwrap()
    };
    assert_eq!(col("Linen Shirt"), col("Tea &"), "{}", c.text);
    assert!(
        c.text
            .lines()
            .any(|l| l.starts_with("  Discount:") && l.ends_with(" -£9.45")),
        "{}",
        c.text
    );
    // Prices included tax: the tax is shown as part of the total, not added to it.
    let total_at = c.text.find("Total:").unwrap();
    assert!(c.text[total_at..].contains("Of which tax:"), "{}", c.text);
    assert!(c
        .text
        .contains("Shipping to:\n  Ann Archer\n  1 Mill Lane\n  Leeds LS1 1AA\n"));
    assert!(
        !c.text.contains("\n\n\n"),
        "no runs of blank lines:\n{}",
        c.text
    );
    assert!(c.html.contains("-£9.45") && c.html.contains("Leeds LS1 1AA"));

    let r = refund_notice(&o, "£12.00").unwrap();
    assert_eq!(r.subject, "Corner Shop: refund for order 1042");
    assert!(r.text.contains("We have refunded £12.00 for order 1042"));

    let leaky = EmailOrder {
        payment: "Card 4242 4242 4242 4242".into(),
        shop_name: "Shop <b>&</b>".into(),
        order_url: "javascript:alert(1)".into(),
        discount: None,
        ..order()
    };
    for e in [
        order_confirmation(&leaky).unwrap(),
        cancellation_notice(&leaky).unwrap(),
        refund_notice(&leaky, "£1.00").unwrap(),
    ] {
        let all = format!("{}{}{}", e.subject, e.text, e.html);
        assert!(!all.contains("4242 4242 4242 4242"), "{all}");
        assert!(!all.contains("javascript:"), "unsafe link left out");
        assert!(escaped(&e.html, "Shop <b>&</b>"), "{}", e.html);
        assert!(!e.text.contains("Discount"));
    }
}
