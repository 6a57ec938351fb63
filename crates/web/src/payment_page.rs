//! The payment page for gateways whose card fields live on the shop's own page (Stripe's
//! Payment Element). PCI DSS 6.4.3: the page loads only scripts on the approved list (each with
//! its SRI hash) plus the shop's own `/static/payment.js`; a gateway script that is not on the
//! list means no page at all. Its CSP names the approved origins on this page only. PCI DSS
//! 11.6.1: the page's security headers and script list are fingerprinted, and [`check`] compares
//! that fingerprint and the scripts' served content with what an owner accepted.

pub mod check;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256, Sha384};
use storefort_core::ids::OrderId;
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::payment_scripts::ApprovedScript;

use crate::pages::render::{page, PageError};
use crate::AppState;

pub use check::{
    accept_current_page, check_payment_page, current_manifest, fetch_all, fetch_sha384, last_check,
    spawn_payment_page_check, LastCheck, PageCheck, ScriptMismatch,
};

/// The shop's own payment script, served at `/static/payment.js`.
pub const PAYMENT_JS: &[u8] = include_bytes!("../static/payment.js");
/// The page template and its layout, fingerprinted so a change to the markup is noticed.
const TEMPLATE_SRC: &str = include_str!("../templates/payment_element.html");
const LAYOUT_SRC: &str = include_str!("../templates/layout.html");
/// What a shopper reads when the card page cannot be shown safely.
pub const UNAVAILABLE: &str =
    "Card payment is unavailable right now; please choose another payment method or try later.";
/// Headers this page sets besides its CSP (part of the fingerprint).
pub const PAGE_HEADERS: [(&str, &str); 2] = [
    ("cache-control", "no-store"),
    // The page URL holds the order's access token: never send it to other sites.
    ("referrer-policy", "no-referrer"),
];

/// The parts a fingerprint is made of, by name (`script:URL`, `csp:GATEWAY`, `header:NAME`,
/// `file:PATH`), sorted.
pub type Manifest = BTreeMap<String, String>;

/// Origins a gateway's own script talks to from the browser besides the one it is served from:
/// its API (`connect-src`) and its 3-D Secure frames (`frame-src`).
pub fn gateway_extra_origins(gateway: &str) -> &'static [&'static str] {
    match gateway {
        "stripe" => &["https://api.stripe.com", "https://hooks.stripe.com"],
        _ => &[],
    }
}

/// SRI form of the SHA-384 of `bytes` (`sha384-` + base64).
pub fn sha384_sri(bytes: &[u8]) -> String {
    let d = Sha384::digest(bytes);
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(d)
    )
}

/// The SRI hash of `/static/payment.js` (computed once).
pub fn payment_js_sri() -> &'static str {
    static SRI: OnceLock<String> = OnceLock::new();
    SRI.get_or_init(|| sha384_sri(PAYMENT_JS))
}

/// Where the page loads our own script from: the version in the query, so a browser's cached
/// copy of an older version (which would fail its integrity check) is not used.
pub fn payment_js_src() -> String {
    format!("/static/payment.js?v={}", &sha256_hex(PAYMENT_JS)[..16])
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The payment page's CSP for `gateway`, whose approved scripts are `scripts`: the strict
/// policy of every other page, with the scripts' origins added to `script-src`, and those
/// origins plus the gateway's API and 3-D Secure origins to `frame-src` and `connect-src`.
pub fn page_csp(gateway: &str, scripts: &[ApprovedScript]) -> String {
    let script: BTreeSet<&str> = scripts
        .iter()
        .filter(|s| s.gateway == gateway)
        .map(|s| s.origin.as_str())
        .collect();
    let mut remote = script.clone();
    remote.extend(gateway_extra_origins(gateway).iter().copied());
    let join = |set: &BTreeSet<&str>| set.iter().copied().collect::<Vec<_>>().join(" ");
    let script_src = join(&script);
    let remote_src = join(&remote);
    let frame_src = if remote.is_empty() {
        "'none'".to_string()
    } else {
        remote_src.clone()
    };
    format!(
        "default-src 'none'; script-src 'self' {script_src}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self' {remote_src}; \
         frame-src {frame_src}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
         object-src 'none'"
    )
    .replace("  ", " ")
    .replace(" ;", ";")
}

/// What the page is made of, given every approved script: each script and its hash, each
/// gateway's CSP, the other headers, our own script's hash and the template's.
pub fn page_manifest(scripts: &[ApprovedScript]) -> Manifest {
    let mut m = Manifest::new();
    let gateways: BTreeSet<&str> = scripts.iter().map(|s| s.gateway.as_str()).collect();
    for s in scripts {
        m.insert(
            format!("script:{}", s.url),
            format!("{} {}", s.gateway, s.sha384),
        );
    }
    for g in gateways {
        m.insert(format!("csp:{g}"), page_csp(g, scripts));
    }
    for (name, value) in PAGE_HEADERS {
        m.insert(format!("header:{name}"), value.to_string());
    }
    m.insert(
        "file:/static/payment.js".into(),
        payment_js_sri().to_string(),
    );
    let markup = format!("{LAYOUT_SRC}\n{TEMPLATE_SRC}");
    m.insert(
        "file:templates/payment_element.html".into(),
        sha256_hex(markup.as_bytes()),
    );
    m
}

/// Hex SHA-256 over a manifest's `name\tvalue` lines.
pub fn manifest_fingerprint(m: &Manifest) -> String {
    let mut h = Sha256::new();
    for (k, v) in m {
        h.update(k.as_bytes());
        h.update(b"\t");
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The payment page's fingerprint: SHA-256 over its security headers (CSP per gateway and the
/// others it sets), the approved scripts (URL + SHA-384), our own script's SHA-384 and the
/// template.
pub fn payment_page_fingerprint(scripts: &[ApprovedScript]) -> String {
    manifest_fingerprint(&page_manifest(scripts))
}

fn part_name(key: &str) -> String {
    match key.split_once(':') {
        Some(("script", url)) => format!("script {url}"),
        Some(("csp", g)) => format!("the Content-Security-Policy for {g}"),
        Some(("header", h)) => format!("the {h} header"),
        Some(("file", "/static/payment.js")) => "the shop's own payment.js".into(),
        Some(("file", _)) => "the payment page's template".into(),
        _ => key.to_string(),
    }
}

/// What differs between an accepted manifest and the current one, in words.
pub fn describe_changes(accepted: &Manifest, current: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in current {
        match accepted.get(k) {
            None if k.starts_with("script:") => out.push(format!(
                "{} was added to the payment page (gateway and hash: {v})",
                part_name(k)
            )),
            None => out.push(format!("{} is new: {v}", part_name(k))),
            Some(old) if old != v => {
                out.push(format!("{} changed from {old} to {v}", part_name(k)))
            }
            Some(_) => {}
        }
    }
    for k in accepted.keys().filter(|k| !current.contains_key(*k)) {
        out.push(format!(
            "{} was removed from the payment page",
            part_name(k)
        ));
    }
    out
}

struct Script {
    url: String,
    integrity: String,
}

#[derive(Template)]
#[template(path = "payment_element.html")]
struct ElementPage {
    shop_name: String,
    scripts: Vec<Script>,
    own_src: String,
    own_integrity: &'static str,
    publishable_key: String,
    client_secret: String,
    return_url: String,
}

/// The neutral refusal the shopper sees (503).
fn unavailable() -> PageError {
    PageError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Card payment unavailable",
        message: UNAVAILABLE.into(),
    }
}

/// Log and audit a refusal to show the page (the script's address only: no personal data).
async fn refuse(state: &AppState, order: &OrderId, js_url: &str) -> PageError {
    let origin = storefort_store::payment_scripts::script_origin(js_url)
        .unwrap_or_else(|_| "an invalid address".into());
    tracing::error!(
        script = %js_url,
        "payment page not shown: the gateway's script is not on the approved list"
    );
    let ev = AuditEvent::new("payment_page.script_refused", "system", "")
        .on(&order.0)
        .outcome(Outcome::Denied)
        .details(format!(
            "the gateway asked for a script from {origin} that is not on the approved list: {}",
            js_url.chars().take(300).collect::<String>()
        ));
    if let Err(e) = state.db.audit(ev).await {
        tracing::error!(error = %e, "could not audit a refused payment script");
    }
    unavailable()
}

/// Render the card page for an Element-style gateway. `js_url` must be on the approved list:
/// otherwise the shopper sees [`UNAVAILABLE`] (503) and the refusal is logged and audited.
/// The page loads every script approved for that gateway with its `integrity`, then
/// `/static/payment.js`; its CSP allows the gateway's origins on this page only.
pub async fn element_page(
    state: &AppState,
    order: &OrderId,
    return_url: &str,
    publishable_key: &str,
    client_secret: &str,
    js_url: &str,
) -> Result<Response, PageError> {
    let approved = state.db.payment_scripts().await?;
    let Some(main) = approved.iter().find(|s| s.url == js_url) else {
        return Err(refuse(state, order, js_url).await);
    };
    let gateway = main.gateway.clone();
    let scripts: Vec<ApprovedScript> = approved
        .into_iter()
        .filter(|s| s.gateway == gateway)
        .collect();
    let csp = page_csp(&gateway, &scripts);
    let t = ElementPage {
        shop_name: state.cfg.shop_name.clone(),
        scripts: scripts
            .iter()
            .map(|s| Script {
                url: s.url.clone(),
                integrity: s.sha384.clone(),
            })
            .collect(),
        own_src: payment_js_src(),
        own_integrity: payment_js_sri(),
        publishable_key: publishable_key.to_string(),
        client_secret: client_secret.to_string(),
        return_url: return_url.to_string(),
    };
    let mut res = page(StatusCode::OK, &t);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).map_err(|e| PageError::internal(&e))?,
    );
    for (name, value) in PAGE_HEADERS {
        h.insert(name, HeaderValue::from_static(value));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(url: &str, origin: &str, gateway: &str) -> ApprovedScript {
        ApprovedScript {
            id: "1".into(),
            url: url.into(),
            origin: origin.into(),
            sha384: format!("sha384-{}", "A".repeat(64)),
            reason: "r".into(),
            gateway: gateway.into(),
            added_by: "o@example.com".into(),
            created_at: 0,
        }
    }

    #[test]
    fn csp_names_only_the_gateways_origins() {
        let s = [
            script(
                "https://js.stripe.com/v3/",
                "https://js.stripe.com",
                "stripe",
            ),
            script(
                "https://other.example/x.js",
                "https://other.example",
                "other",
            ),
        ];
        let csp = page_csp("stripe", &s);
        assert!(
            csp.contains("script-src 'self' https://js.stripe.com;"),
            "{csp}"
        );
        assert!(csp.contains(
            "connect-src 'self' https://api.stripe.com https://hooks.stripe.com https://js.stripe.com;"
        ), "{csp}");
        assert!(
            csp.contains(
                "frame-src https://api.stripe.com https://hooks.stripe.com https://js.stripe.com;"
            ),
            "{csp}"
        );
        assert!(!csp.contains("other.example"), "{csp}");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        let none = page_csp("manual", &s);
        assert!(none.contains("script-src 'self';"), "{none}");
        assert!(none.contains("frame-src 'none';"), "{none}");
    }

    #[test]
    fn fingerprint_follows_the_script_list_and_changes_are_described() {
        let a = [script(
            "https://js.stripe.com/v3/",
            "https://js.stripe.com",
            "stripe",
        )];
        let mut b = a.clone();
        b[0].sha384 = format!("sha384-{}", "B".repeat(64));
        assert_eq!(payment_page_fingerprint(&a), payment_page_fingerprint(&a));
        assert_ne!(payment_page_fingerprint(&a), payment_page_fingerprint(&b));
        assert_ne!(payment_page_fingerprint(&a), payment_page_fingerprint(&[]));
        let words = describe_changes(&page_manifest(&a), &page_manifest(&b));
        assert_eq!(words.len(), 1, "{words:?}");
        assert!(words[0].contains("script https://js.stripe.com/v3/ changed"));
        let gone = describe_changes(&page_manifest(&a), &page_manifest(&[]));
        assert!(gone.iter().any(|w| w.contains("was removed")), "{gone:?}");
        assert!(describe_changes(&page_manifest(&a), &page_manifest(&a)).is_empty());
    }
}
