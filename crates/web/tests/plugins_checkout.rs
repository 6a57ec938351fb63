//! Plugins inside the real checkout: hostile ones never stop an order, a validation plugin's
//! refusal reaches the shopper and places nothing, and a discount plugin and a fraud plugin
//! change the order and its screening.

mod api_checkout_support;

use std::sync::Arc;

use axum::http::StatusCode;
use storefort_plugins::service::Who;
use storefort_plugins::{examples, Hook, Manifest, Package, Permission, PluginService};
use storefort_store::sandbox::SandboxOutcome;
use storefort_web::{router, AppState, WebConfig};

use api_checkout_support::{setup, PUBLIC_URL, T};

/// A module whose `export` runs `body` (it sees its input as locals 0 and 1); the string
/// `data` sits at address 16.
fn module(export: &str, data: &str, body: &str) -> Vec<u8> {
    let data = data.replace('\\', "\\\\").replace('"', "\\\"");
    wat::parse_str(format!(
        r#"(module
             (memory (export "memory") 1)
             (data (i32.const 16) "{data}")
             (func (export "alloc") (param i32) (result i32) (i32.const 1024))
             (func (export "{export}") (param i32 i32) (result i64) {body}))"#
    ))
    .unwrap()
}

/// A module whose hook always answers `output`.
fn answers(export: &str, output: &str) -> Vec<u8> {
    let packed = (16u64 << 32) | output.len() as u64;
    module(export, output, &format!("(i64.const {packed})"))
}

async fn install(svc: &PluginService, name: &str, hook: Hook, perms: &[Permission], wasm: Vec<u8>) {
    let m = Manifest {
        name: name.into(),
        version: "1.0.0".into(),
        author: "tests".into(),
        description: String::new(),
        hooks: vec![hook],
        permissions: perms.to_vec(),
        module_sha256: String::new(),
        webhook_url: (hook == Hook::OrderCreated).then(|| "https://hooks.example.com/x".into()),
    };
    install_package(svc, Package::build(m, wasm).unwrap()).await;
}

async fn install_package(svc: &PluginService, bytes: Vec<u8>) {
    let staged = svc.stage(&bytes).await.unwrap();
    let who = Who {
        id: "u1".into(),
        email: "owner@example.com".into(),
        ip: "127.0.0.1".into(),
    };
    svc.approve(&staged.id, &who).await.unwrap();
}

/// The test shop with a plugin service; the app rebuilt to use it.
async fn with_plugins() -> (T, Arc<PluginService>, tempfile::TempDir) {
    let mut t = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let svc = PluginService::open(t.db.clone(), dir.path().join("plugins"), None)
        .await
        .unwrap();
    let cfg = WebConfig {
        public_url: PUBLIC_URL.into(),
        ..WebConfig::default()
    };
    t.app = router(AppState::new(t.db.clone(), cfg).with_plugins(svc.clone()));
    (t, svc, dir)
}

/// Check out `qty` mugs with the sandbox and pay; the order's status and total.
async fn buy(t: &T, qty: i64, key: &str) -> (String, i64) {
    let cart = t.cart_with(qty).await;
    let r = t.checkout(&cart, Some(key), t.details("sandbox")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (id, token) = (
        r.body["order_id"].as_str().unwrap().to_string(),
        r.body["access_token"].as_str().unwrap().to_string(),
    );
    let url = r.body["payment"]["url"].as_str().unwrap();
    let reference = url.rsplit('/').next().unwrap();
    t.db.sandbox_set_outcome(reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let o = t.order(&id, &token).await;
    (
        o.body["status"].as_str().unwrap().to_string(),
        r.body["total_minor"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn hostile_plugins_never_stop_a_checkout() {
    let (t, svc, _dir) = with_plugins().await;
    use Permission::*;
    let spin = module("cart_adjust_v1", "", "(loop (br 0)) (i64.const 0)");
    install(&svc, "spinner", Hook::CartAdjust, &[ChangeCartPrices], spin).await;
    let bomb = module(
        "checkout_validate_v1",
        "",
        "(drop (memory.grow (i32.const 1000))) (unreachable)",
    );
    install(&svc, "bomb", Hook::CheckoutValidate, &[ReadOrders], bomb).await;
    let garbage = answers("fraud_signal_v1", "{\"signals\": [oops");
    install(
        &svc,
        "garbage",
        Hook::FraudSignal,
        &[AddFraudSignal],
        garbage,
    )
    .await;
    // Claims 1 MB of output.
    let huge = module("order_created_v1", "", "(i64.const 1048592)");
    install(&svc, "huge", Hook::OrderCreated, &[Webhook], huge).await;
    assert_eq!(svc.running(), 4);

    // 2 mugs at £11 plus £3.95 delivery: no plugin changed anything, and the order is paid.
    let (status, total) = buy(&t, 2, "hostile-1").await;
    assert_eq!((status.as_str(), total), ("paid", 2595));
    for (name, why) in [
        ("spinner", "fuel"),
        ("bomb", "memory"),
        ("garbage", "JSON"),
        ("huge", "output"),
    ] {
        let r = t.db.plugin(name).await.unwrap();
        assert!(r.last_error.contains(why), "{name}: {}", r.last_error);
    }
}

#[tokio::test]
async fn a_validation_plugin_refuses_with_its_message_and_nothing_is_placed() {
    let (t, svc, _dir) = with_plugins().await;
    let no = answers(
        "checkout_validate_v1",
        r#"{"accept":false,"message":"We cannot ship mugs this week."}"#,
    );
    install(
        &svc,
        "no-mugs",
        Hook::CheckoutValidate,
        &[Permission::ReadOrders],
        no,
    )
    .await;
    let before = (t.stock().await, t.orders().await);
    let cart = t.cart_with(2).await;
    let r = t
        .checkout(&cart, Some("refused-1"), t.details("sandbox"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "checkout");
    assert!(
        r.body
            .to_string()
            .contains("We cannot ship mugs this week."),
        "{}",
        r.body
    );
    assert_eq!(
        (t.stock().await, t.orders().await),
        before,
        "nothing placed or reserved"
    );
    // Switched off, the same cart goes through.
    let who = Who {
        id: "u1".into(),
        email: "owner@example.com".into(),
        ip: "127.0.0.1".into(),
    };
    svc.set_enabled("no-mugs", false, &who).await.unwrap();
    let r = t
        .checkout(&cart, Some("refused-2"), t.details("sandbox"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn a_discount_plugin_and_a_fraud_plugin_change_the_order_and_its_screening() {
    let (t, svc, _dir) = with_plugins().await;
    install_package(&svc, examples::package("bulk-discount").unwrap().unwrap()).await;
    let fifty = answers(
        "fraud_signal_v1",
        r#"{"signals":[{"points":50,"reason":"Test signal."}]}"#,
    );
    install(
        &svc,
        "always-fifty",
        Hook::FraudSignal,
        &[Permission::AddFraudSignal],
        fifty,
    )
    .await;
    // 10 mugs: £110 less the plugin's 10% (£11), plus £3.95 delivery.
    let (status, total) = buy(&t, 10, "bulk-1").await;
    assert_eq!(total, 11_000 - 1_100 + 395);
    // 50 points from the plugin reach the review threshold: held for a phone check.
    assert_eq!(status, "on_hold");
    let orders =
        t.db.orders_page(&storefort_store::order_read::OrderFilter::default())
            .await
            .unwrap();
    let d =
        t.db.order_detail(&storefort_core::ids::OrderId(orders.items[0].id.clone()))
            .await
            .unwrap();
    let seen = format!("{:?}", d.events);
    assert!(
        seen.contains("Test signal. (plugin always-fifty)"),
        "{seen}"
    );
}
