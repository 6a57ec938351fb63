//! The card-number guard: a card number anywhere in a request (API JSON, admin form, query
//! string) is refused with 422, the field named, nothing stored, the number neither echoed nor
//! logged; ordinary numbers pass.

mod api_support;
mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use storefort_store::audit::AuditFilter;

/// A Luhn-valid GTIN-13: a real barcode that also passes the card check.
const CARD_LIKE_BARCODE: &str = "4006381333924";

/// The digits of `text` run together, to look for a number however it was spaced.
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// `body` does not hold the card number `pan` in any spacing.
fn no_echo(body: &str, pan: &str) {
    assert!(
        !digits(body).contains(&digits(pan)),
        "number echoed: {body}"
    );
}

#[tokio::test]
async fn api_json_with_a_card_number_is_refused_and_changes_nothing() {
    let t = api_support::setup().await;
    let s = api_support::seed(&t).await;
    let before = t.snapshot().await;
    let product = format!("/api/v1/products/{}", s.product);
    let cases = [
        (
            "POST",
            "/api/v1/products".to_string(),
            json!({"name": "Gift", "description": "pay with 4111 1111 1111 1111",
            "variants": [{"sku": "G-1", "price_minor": 500}]}),
            "description",
            "4111111111111111",
        ),
        (
            "PATCH",
            product.clone(),
            json!({"description": "4242-4242-4242-4242"}),
            "description",
            "4242424242424242",
        ),
        (
            "PATCH",
            product,
            json!({"name": "Mug 5555555555554444"}),
            "name",
            "5555555555554444",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            json!({"name": "Gift", "variants": [{"sku": "G-1", "price_minor": 500,
            "options": {"Colour": "Amex 3782 822463 10005"}}]}),
            "variants[0].options.Colour",
            "378282246310005",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            json!({"name": "Gift", "variants": [{"sku": "G-1",
            "price_minor": 6011111111111117u64}]}),
            "variants[0].price_minor",
            "6011111111111117",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": s.variant, "location_id": s.web, "delta": 1,
            "reason": "received", "note": "card 4111111111111111"}),
            "note",
            "4111111111111111",
        ),
    ];
    for (method, path, body, field, pan) in cases {
        let (st, e) = t.w(method, &path, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}: {e}");
        assert_eq!(e["error"]["code"], "card_number", "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("payment provider's page"), "{message}");
        no_echo(&e.to_string(), pan);
    }
    let (st, e, _) = t
        .call(
            "GET",
            "/api/v1/products?q=4111+1111+1111+1111",
            Some(&t.read_key),
            None,
        )
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("q"))
    );
    assert_eq!(before, t.snapshot().await, "nothing changed");

    let refused =
        t.db.audit_entries(&AuditFilter {
            action: Some("request.card_number_refused".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    // Seven refusals from one address within a minute: logged each time, audited once.
    assert_eq!(refused.len(), 1);
    for entry in &refused {
        assert!(entry.details.starts_with("field="), "{}", entry.details);
        no_echo(
            &format!("{} {}", entry.target, entry.details),
            "4111111111111111",
        );
    }
}

#[tokio::test]
async fn admin_form_with_a_card_number_is_refused_and_stores_nothing() {
    let t = common::app().await;
    let (cookie, csrf) = t.login().await;
    let cases = [
        ("description", "Description", "4111 1111 1111 1111"),
        ("name", "Name", "5555-5555-5555-4444"),
    ];
    for (field, label, pan) in cases {
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("name", "Wool Jumper"),
            ("description", "Warm."),
            ("status", "active"),
            ("sku", "WJ-1"),
            ("price", "30"),
        ];
        form.retain(|(k, _)| *k != field);
        form.push((field, pan));
        let r = t.post("/admin/products/new", Some(&cookie), &form).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        let says = format!("{label} looks like it holds a card number");
        assert!(r.body.contains(&says), "names the field: {}", r.body);
        assert!(r.body.contains("payment provider"), "{}", r.body);
        no_echo(&r.body, pan);
    }
    assert_eq!(t.product_count().await, 1, "nothing created");

    let edit = format!("/admin/products/{}", t.product.id.as_str());
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Linen Shirt"),
        ("description", "card 6011-1111-1111-1117 exp 12/30"),
        ("status", "active"),
    ];
    let r = t.post(&edit, Some(&cookie), &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r
        .body
        .contains("Description looks like it holds a card number"));
    no_echo(&r.body, "6011111111111117");
    let p = t.db.product_by_slug("linen-shirt").await.unwrap();
    assert_eq!(p.description, "Cool in summer.", "unchanged");
}

#[tokio::test]
async fn search_box_with_a_card_number_is_refused() {
    let t = common::app().await;
    for q in [
        "4111+1111+1111+1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "card%3A%204111%201111%201111%201111",
    ] {
        let r = t.get(&format!("/search?q={q}"), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert!(
            r.body.contains("Search looks like it holds a card number"),
            "{}",
            r.body
        );
        no_echo(&r.body, "4111111111111111");
    }
}

#[tokio::test]
async fn ordinary_numbers_pass() {
    let t = common::app().await;
    for q in [
        "%2B44+20+7946+0958",
        "12.50",
        "order+100234",
        "0190f0a0-0000-7000-8000-000000000000",
        "4111111111111112",
    ] {
        let r = t.get(&format!("/search?q={q}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{q}");
    }
    let (cookie, csrf) = t.login().await;
    let description = "Call +44 20 7946 0958 about order 100234 (ref 0190f0a0-0000-7000-8000-000000000000), £12.50.";
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Wool Jumper"),
        ("description", description),
        ("status", "active"),
        ("sku", "WJ-1"),
        ("barcode", CARD_LIKE_BARCODE),
        ("price", "12.50"),
    ];
    let r = t.post("/admin/products/new", Some(&cookie), &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = t.db.product_by_slug("wool-jumper").await.unwrap();
    assert_eq!(p.description, description);
    assert_eq!(p.variants[0].barcode.as_deref(), Some(CARD_LIKE_BARCODE));

    // A password is never checked: a digit-heavy one is just a wrong password here.
    let r = t
        .post(
            "/admin/login",
            None,
            &[
                ("email", common::OWNER_EMAIL),
                ("password", "4111111111111111"),
                ("next", "/admin"),
            ],
        )
        .await;
    assert_ne!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn api_barcodes_and_ids_pass() {
    let t = api_support::setup().await;
    let (st, p) = t
        .w(
            "POST",
            "/api/v1/products",
            json!({"name": "Jug", "description": "Holds 1.5 l; call +44 20 7946 0958",
            "variants": [{"sku": "JUG-1", "barcode": CARD_LIKE_BARCODE, "price_minor": 1250}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let found = t
        .get(&format!("/api/v1/variants/by-code/{CARD_LIKE_BARCODE}"))
        .await;
    assert_eq!(found["sku"], "JUG-1", "{found}");
}

#[tokio::test]
async fn an_oversized_form_is_still_413() {
    let t = common::app().await;
    let (cookie, csrf) = t.login().await;
    let big = "x".repeat(300 * 1024);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Big"),
        ("description", big.as_str()),
    ];
    let r = t.post("/admin/products/new", Some(&cookie), &form).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// Every tracing event as `name=value` text, before any redaction.
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = String::new();
        span.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&format!("span{line}\n"));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::new();
        values.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push_str(&format!("record{line}\n"));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = String::new();
        event.record(&mut Fields(&mut line));
        let level = event.metadata().level();
        self.0.lock().unwrap().push_str(&format!("{level}{line}\n"));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn the_log_never_holds_the_card_number() {
    let t = api_support::setup().await;
    let log = Arc::new(Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(Capture(log.clone()));
    let (st, _) = t
        .w(
            "POST",
            "/api/v1/products",
            json!({"name": "Gift", "description": "4111 1111 1111 1111",
            "variants": [{"sku": "G-1", "price_minor": 500}]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let req = Request::post("/admin/products/new?note=4111-1111-1111-1111")
        .body(Body::empty())
        .unwrap();
    let (st, _, _) = t.send(req).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("refused a request carrying a card number"),
        "{log}"
    );
    assert!(
        log.contains("field=description") && log.contains("field=note"),
        "{log}"
    );
    assert!(
        log.contains("path=/admin/products/new"),
        "path without the query: {log}"
    );
    no_echo(&log, "4111111111111111");
}
