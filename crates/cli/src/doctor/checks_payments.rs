//! Payment page integrity (PCI DSS 6.4.3 and 11.6.1): the page as this build would serve it
//! must match the fingerprint an owner accepted, and every approved script must still be
//! served with its approved SHA-384. Doctor only reads: it never stores a fingerprint.

use futures::future::BoxFuture;
use storefort_web::payment_page as pp;

use super::{Ctx, Finding};

const PAGE: &str = "/admin/payment-scripts";

fn no_db() -> Finding {
    Finding::warn(
        "not checked: the database is unreachable",
        "fix the database check first",
    )
}

/// The current page fingerprint must equal the accepted one (warn when none is stored yet).
pub fn fingerprint<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let (manifest, stored) = match (
            pp::current_manifest(db).await,
            db.payment_page_fingerprint().await,
        ) {
            (Ok((_, m)), Ok(s)) => (m, s),
            (Err(e), _) | (_, Err(e)) => {
                return Finding::warn(
                    format!("cannot read the payment page's scripts: {e}"),
                    "run `storefort migrate`",
                )
            }
        };
        let current = pp::manifest_fingerprint(&manifest);
        let Some(stored) = stored else {
            return Finding::warn(
                "no accepted fingerprint of the payment page yet, so changes cannot be detected",
                format!(
                    "start the shop once (it records the fingerprint), or press \"Accept current page\" at {PAGE}"
                ),
            );
        };
        if stored.fingerprint == current {
            return Finding::pass(format!(
                "matches the version accepted on {}",
                storefort_web::pages::render::utc(stored.at)
            ));
        }
        let old = stored
            .manifest
            .as_deref()
            .and_then(|j| serde_json::from_str::<pp::Manifest>(j).ok())
            .unwrap_or_default();
        let mut words = pp::describe_changes(&old, &manifest);
        if words.is_empty() {
            words.push("the fingerprint differs from the accepted one".into());
        }
        Finding::fail(
            format!("the payment page changed: {}", words.join("; ")),
            format!(
                "review it at {PAGE}: if the change was deliberate press \"Accept current page\"; \
                 if not, remove the script in question and find out how it got there"
            ),
        )
    })
}

/// Every approved script is fetched: a different hash fails, an unreachable one warns.
pub fn scripts<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let scripts = match db.payment_scripts().await {
            Ok(s) => s,
            Err(e) => {
                return Finding::warn(
                    format!("cannot read the approved scripts: {e}"),
                    "run `storefort migrate`",
                )
            }
        };
        if scripts.is_empty() {
            return Finding::pass(
                "no external scripts approved (a card page that needs one is refused)",
            );
        }
        let (mismatches, unreachable) = pp::fetch_all(&scripts).await;
        if !mismatches.is_empty() {
            let list: Vec<String> = mismatches
                .iter()
                .map(|m| format!("{} serves {} (approved: {})", m.url, m.actual, m.expected))
                .collect();
            return Finding::fail(
                format!("script content changed: {}", list.join("; ")),
                format!(
                    "find out why the provider's script changed; if the new version is genuine, \
                     remove the script at {PAGE} and approve it again with its new SHA-384 \
                     (card payments are refused by browsers until then)"
                ),
            );
        }
        if !unreachable.is_empty() {
            return Finding::warn(
                format!("could not verify: {}", unreachable.join("; ")),
                "check this machine can reach the script's address (proxy, firewall, DNS)",
            );
        }
        Finding::pass(format!(
            "{} approved script(s) fetched; each matches its SHA-384",
            scripts.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use storefort_store::payment_scripts::NewScript;
    use storefort_store::Db;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::config::Config;
    use crate::doctor::Status;
    use crate::keyfile::KeySource;

    type Body = Arc<Mutex<Option<Vec<u8>>>>;

    /// Serves `body` (404 while it is `None`) at any path; returns the base URL.
    async fn server(body: Body) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let b = body.lock().unwrap().clone();
                let (status, b) = match b {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&b).await;
                let _ = s.shutdown().await;
            }
        });
        base
    }

    async fn run(db: &Db) -> (Finding, Finding) {
        let cfg = Config::default();
        let ctx = Ctx {
            config_path: Path::new("storefort.toml"),
            cfg: &cfg,
            db: Ok(db.clone()),
            now: 0,
            key_source: KeySource::Env,
            scan: None,
        };
        (fingerprint(&ctx).await, scripts(&ctx).await)
    }

    #[tokio::test]
    async fn fingerprint_and_script_changes_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();

        let (f, s) = run(&db).await;
        assert_eq!(f.status, Status::Warn, "{}", f.detail);
        assert_eq!(s.status, Status::Pass, "{}", s.detail);
        pp::accept_current_page(&db).await.unwrap();
        assert_eq!(run(&db).await.0.status, Status::Pass);

        let body: Body = Arc::new(Mutex::new(Some(b"v1".to_vec())));
        let js = format!("{}/v3.js", server(body.clone()).await);
        let script = NewScript {
            url: js.clone(),
            sha384: pp::sha384_sri(b"v1"),
            reason: "card fields".into(),
            gateway: "stripe".into(),
        };
        db.approve_script(&script, "o@example.com").await.unwrap();
        let (f, s) = run(&db).await;
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.detail.contains(&js) && f.detail.contains("added"),
            "{}",
            f.detail
        );
        assert_eq!(s.status, Status::Pass, "{}", s.detail);

        pp::accept_current_page(&db).await.unwrap();
        *body.lock().unwrap() = Some(b"v2".to_vec());
        let (f, s) = run(&db).await;
        assert_eq!(f.status, Status::Pass, "{}", f.detail);
        assert_eq!(s.status, Status::Fail);
        assert!(s.detail.contains(&pp::sha384_sri(b"v2")), "{}", s.detail);

        *body.lock().unwrap() = None;
        let (_, s) = run(&db).await;
        assert_eq!(s.status, Status::Warn);
        assert!(s.detail.contains("404"), "{}", s.detail);
        // Doctor only reads: nothing was stored by the checks themselves.
        assert!(db
            .setting("payment_page.last_check")
            .await
            .unwrap()
            .is_none());
    }
}
