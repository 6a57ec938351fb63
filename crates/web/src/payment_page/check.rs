//! Change and tamper detection for the payment page (PCI DSS 11.6.1): the page's fingerprint is
//! compared with the one an owner accepted, and each approved script is fetched and its SHA-384
//! compared with the approved one. Any difference is audited (`payment_page.changed`) and the
//! owners are emailed through the outbox. Runs at start, every 24 hours, and on "Check now".

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::outbox::OutgoingEmail;
use storefort_store::payment_scripts::{ApprovedScript, LAST_CHECK_KEY};
use storefort_store::{Db, StoreError};
use tokio::task::JoinHandle;

use super::{describe_changes, manifest_fingerprint, page_manifest, sha384_sri, Manifest};
use crate::AppState;

/// How often the scheduled check runs.
pub const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest wait for one script.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest script read (bigger means something is wrong anyway).
const MAX_SCRIPT_BYTES: usize = 4 * 1024 * 1024;
/// Longest audit detail kept.
const MAX_DETAILS: usize = 2000;

/// An approved script whose served content no longer matches its approved hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptMismatch {
    /// The script's address.
    pub url: String,
    /// The approved hash.
    pub expected: String,
    /// The hash of what is served now.
    pub actual: String,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCheck {
    /// Nothing changed: the fingerprint matches and every fetched script matches its hash.
    pub ok: bool,
    /// When the check ran (UTC ms).
    pub at: i64,
    /// The page's current fingerprint.
    pub fingerprint: String,
    /// No fingerprint had been accepted yet: this check stored the current one.
    pub first_run: bool,
    /// Every difference found, in words (empty when `ok`).
    pub changed: Vec<String>,
    /// Scripts whose served content differs from the approved hash.
    pub mismatches: Vec<ScriptMismatch>,
    /// Scripts that could not be fetched, with why (not a change; worth a look).
    pub unreachable: Vec<String>,
}

/// What the admin page shows: the latest stored check.
pub type LastCheck = PageCheck;

/// The approved scripts and the manifest of the page as it would be served now.
pub async fn current_manifest(db: &Db) -> Result<(Vec<ApprovedScript>, Manifest), StoreError> {
    let scripts = db.payment_scripts().await?;
    let m = page_manifest(&scripts);
    Ok((scripts, m))
}

/// Fetch `url` (10 s limit, 2xx only, at most 4 MiB) and return its SHA-384 in SRI form; the
/// error says why it could not be fetched.
pub async fn fetch_sha384(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let mut res = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("could not fetch {url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url} answered HTTP {}", res.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| format!("could not read {url}: {e}"))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_SCRIPT_BYTES {
            return Err(format!("{url} is larger than 4 MiB"));
        }
    }
    Ok(sha384_sri(&body))
}

/// Fetch every script: `(mismatches, unreachable)`.
pub async fn fetch_all(scripts: &[ApprovedScript]) -> (Vec<ScriptMismatch>, Vec<String>) {
    let client = match reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            let why = format!("no HTTP client: {e}");
            return (Vec::new(), scripts.iter().map(|_| why.clone()).collect());
        }
    };
    let fetched =
        futures::future::join_all(scripts.iter().map(|s| fetch_sha384(&client, &s.url))).await;
    let (mut mismatches, mut unreachable) = (Vec::new(), Vec::new());
    for (s, got) in scripts.iter().zip(fetched) {
        match got {
            Ok(actual) if actual != s.sha384 => mismatches.push(ScriptMismatch {
                url: s.url.clone(),
                expected: s.sha384.clone(),
                actual,
            }),
            Ok(_) => {}
            Err(why) => unreachable.push(why),
        }
    }
    (mismatches, unreachable)
}

/// Accept the page as it is now: store its fingerprint. Returns the fingerprint and what
/// changed since the previously accepted one, in words (for the audit entry).
pub async fn accept_current_page(db: &Db) -> Result<(String, Vec<String>), StoreError> {
    let (_, m) = current_manifest(db).await?;
    let fp = manifest_fingerprint(&m);
    let before = db
        .payment_page_fingerprint()
        .await?
        .and_then(|s| s.manifest)
        .and_then(|j| serde_json::from_str::<Manifest>(&j).ok())
        .unwrap_or_default();
    // A map of strings always serialises.
    let json = serde_json::to_string(&m).unwrap_or_else(|_| "{}".into());
    db.store_payment_page_fingerprint(&fp, &json).await?;
    Ok((fp, describe_changes(&before, &m)))
}

/// The latest stored check, if any.
pub async fn last_check(db: &Db) -> Result<Option<PageCheck>, StoreError> {
    Ok(db
        .setting(LAST_CHECK_KEY)
        .await?
        .and_then(|j| serde_json::from_str(&j).ok()))
}

/// Recompute the fingerprint and compare it with the accepted one (the first run stores it),
/// and fetch each approved script to compare its hash. On any difference: an audit entry
/// `payment_page.changed` (addresses and hashes only) and an email to every active owner. The
/// result is kept for the admin page.
pub async fn check_payment_page(state: &AppState) -> Result<PageCheck, StoreError> {
    let db = &state.db;
    let (scripts, manifest) = current_manifest(db).await?;
    let fingerprint = manifest_fingerprint(&manifest);
    let mut changed = Vec::new();
    let mut first_run = false;
    match db.payment_page_fingerprint().await? {
        None => {
            accept_current_page(db).await?;
            first_run = true;
            db.audit(
                AuditEvent::new("payment_page.fingerprint_stored", "system", "")
                    .on("payment page")
                    .details(format!("first fingerprint {fingerprint}")),
            )
            .await?;
        }
        Some(stored) if stored.fingerprint != fingerprint => {
            let old = stored
                .manifest
                .and_then(|j| serde_json::from_str::<Manifest>(&j).ok());
            let words = old
                .map(|o| describe_changes(&o, &manifest))
                .unwrap_or_default();
            if words.is_empty() {
                changed.push(
                    "the payment page's fingerprint differs from the accepted one".to_string(),
                );
            }
            changed.extend(words);
        }
        Some(_) => {}
    }
    let (mismatches, unreachable) = fetch_all(&scripts).await;
    for m in &mismatches {
        changed.push(format!(
            "{} now serves content with hash {}, not the approved {}",
            m.url, m.actual, m.expected
        ));
    }
    for u in &unreachable {
        tracing::warn!(problem = %u, "payment page check: a script could not be fetched");
    }
    let check = PageCheck {
        ok: changed.is_empty(),
        at: db.now(),
        fingerprint,
        first_run,
        changed,
        mismatches,
        unreachable,
    };
    if !check.ok {
        alert(state, &check).await?;
    }
    let json = serde_json::to_string(&check).unwrap_or_else(|_| "{}".into());
    db.set_setting(LAST_CHECK_KEY, &json).await?;
    Ok(check)
}

use crate::pages::render::escape as esc;

/// Email the owners (failures logged), then audit; a failed audit fails the check.
async fn alert(state: &AppState, check: &PageCheck) -> Result<(), StoreError> {
    tracing::error!(changes = ?check.changed, "the payment page changed");
    let link = format!(
        "{}/admin/payment-scripts",
        state.cfg.public_url.trim_end_matches('/')
    );
    let shop = &state.cfg.shop_name;
    let intro = "The card payment page differs from the version last accepted. If you or your \
                 team made this change on purpose, review it and press \"Accept current page\". \
                 If not, treat it as a possible attack: remove the script from the approved list \
                 (card payments stop until it is fixed) and find out what changed.";
    let text = format!(
        "{intro}\n\nWhat changed:\n{}\n\nReview: {link}\n",
        check
            .changed
            .iter()
            .map(|c| format!("- {c}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let html = format!(
        "<p>{}</p><p>What changed:</p><ul>{}</ul><p><a href=\"{}\">Review the payment page scripts</a></p>",
        esc(intro),
        check
            .changed
            .iter()
            .map(|c| format!("<li>{}</li>", esc(c)))
            .collect::<String>(),
        esc(&link)
    );
    for owner in state.db.users_with_role("owner").await? {
        if owner.disabled {
            continue;
        }
        let mail = OutgoingEmail {
            kind: "payment_page_changed".into(),
            customer_id: None,
            to: owner.email.clone(),
            subject: format!("{shop}: the payment page changed, please check"),
            text: text.clone(),
            html: html.clone(),
        };
        if let Err(e) = state.db.enqueue_email(&mail).await {
            tracing::error!(error = %e, "could not queue the payment page alert");
        }
    }
    let details: String = check.changed.join("; ").chars().take(MAX_DETAILS).collect();
    state
        .db
        .audit(
            AuditEvent::new("payment_page.changed", "system", "")
                .on("payment page")
                .outcome(Outcome::Failure)
                .details(details),
        )
        .await?;
    Ok(())
}

/// Check at start and then every 24 hours (the result is logged and kept for the admin page).
pub fn spawn_payment_page_check(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            match check_payment_page(&state).await {
                Ok(c) if c.ok => tracing::info!("payment page check: no changes"),
                Ok(c) => tracing::warn!(changes = c.changed.len(), "payment page check: changes"),
                Err(e) => tracing::error!(error = %e, "payment page check failed"),
            }
        }
    })
}
