//! The example plugins in `examples/plugins/*/plugin.wat`, run in the real host with exactly
//! the permissions their manifests ask for, on inputs shaped as `docs/PLUGINS.md` describes.
//! Each test asserts the whole output JSON.

use std::path::PathBuf;

use serde_json::{json, Value};
use storefort_plugins::{Host, Limits, Permission, Plugin, PluginError};

/// The four hooks of interface version 1.
const HOOKS: [&str; 4] = [
    "cart_adjust",
    "checkout_validate",
    "fraud_signal",
    "order_created",
];

fn example_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/plugins")
        .join(name)
}

/// The example's manifest, compiled module and the permissions its manifest asks for.
fn example(name: &str) -> (Value, Vec<u8>, Vec<Permission>) {
    let dir = example_dir(name);
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let perms: Vec<Permission> = serde_json::from_value(manifest["permissions"].clone()).unwrap();
    let wasm = wat::parse_file(dir.join("plugin.wat")).unwrap();
    (manifest, wasm, perms)
}

/// The example loaded in a fresh host with its manifest's permissions.
fn load(name: &str) -> (Host, Plugin) {
    let (_, wasm, perms) = example(name);
    let host = Host::new(Limits::default()).unwrap();
    let plugin = host.load(&wasm, &perms).unwrap();
    (host, plugin)
}

/// A `cart_adjust` input; each line is (sku, name, unit price, quantity).
fn cart(lines: &[(&str, &str, i64, i64)], goods_minor: i64) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, name, price, qty)| {
            json!({"sku": sku, "name": name, "unit_price_minor": price, "quantity": qty})
        })
        .collect();
    json!({
        "version": 1, "hook": "cart_adjust", "currency": {"code": "GBP", "exponent": 2},
        "cart": {"lines": lines, "goods_minor": goods_minor}
    })
}

/// A `fraud_signal` or `order_created` input with `order` (read_orders) and no `customer`.
fn order_input(
    hook: &str,
    number: i64,
    goods: i64,
    discount: i64,
    bill: &str,
    ship: &str,
) -> Value {
    json!({
        "version": 1, "hook": hook, "currency": {"code": "GBP", "exponent": 2},
        "shipping_method": "standard", "channel": "web", "order_number": number,
        "created_at": 1_767_225_600_000i64,
        "billing_country": bill, "shipping_country": ship,
        "order": {
            "lines": [{"sku": "LAMP-2", "name": "Brass lamp", "unit_price_minor": goods / 2,
                       "quantity": 2}],
            "goods_minor": goods, "discount_minor": discount, "total_minor": goods - discount
        }
    })
}

fn bulk_out(amount: i64) -> Value {
    json!({"discounts": [{"label": "Bulk discount: 10% off 10 or more items", "amount_minor": amount}]})
}

#[test]
fn bulk_discount_starts_at_ten_items_across_all_lines() {
    let (h, p) = load("bulk-discount");
    let call = |input: Value| h.call(&p, "cart_adjust_v1", &input).unwrap();
    let none = json!({"discounts": []});
    assert_eq!(call(cart(&[("MUG-1", "Mug", 1000, 9)], 9000)), none);
    // 4 + 6 = 10 items over two lines: 10% of 7800.
    let two = cart(&[("MUG-1", "Mug", 1200, 4), ("TEA-1", "Tea", 500, 6)], 7800);
    assert_eq!(call(two), bulk_out(780));
    // Rounded down: 12345 / 10 = 1234.
    assert_eq!(
        call(cart(&[("PEN-1", "Pen", 823, 15)], 12345)),
        bulk_out(1234)
    );
    // Eight digits and more than 32 bits of intermediate sums stay exact.
    let big = cart(&[("RING-1", "Ring", 9_090_909, 11)], 99_999_999);
    assert_eq!(call(big), bulk_out(9_999_999));
    // Goods under 10 minor units would make a 0 discount, which the shop refuses: none.
    assert_eq!(call(cart(&[("BTN-1", "Button", 0, 12)], 9)), none);
}

#[test]
fn bulk_discount_ignores_quantity_written_inside_a_product_name() {
    let (h, p) = load("bulk-discount");
    // 1 + 8 = 9 items; the name's text would make it 108 if it were counted as a key.
    let input = cart(
        &[
            ("STK-1", r#"Sticker "quantity":99"#, 100, 1),
            ("STK-2", "Sticker", 100, 8),
        ],
        900,
    );
    assert!(serde_json::to_string(&input)
        .unwrap()
        .contains(r#"\"quantity\":99"#));
    assert_eq!(
        h.call(&p, "cart_adjust_v1", &input).unwrap(),
        json!({"discounts": []})
    );
}

#[test]
fn fraud_rule_flags_large_orders_shipping_abroad_only() {
    let (h, p) = load("fraud-rule");
    let call = |input: Value| h.call(&p, "fraud_signal_v1", &input).unwrap();
    let flagged = json!({"signals": [{"points": 30,
        "reason": "Large order (500.00 or more) shipping to another country."}]});
    let none = json!({"signals": []});
    // total 50000 (after a 2000 discount), GB to FR: flagged.
    assert_eq!(
        call(order_input("fraud_signal", 7, 52_000, 2_000, "GB", "FR")),
        flagged
    );
    // goods_minor is 50000 but total_minor 49999: only the key named exactly total_minor
    // counts, not even one ending in it (as a field a later release might add).
    let mut under = order_input("fraud_signal", 8, 50_000, 1, "GB", "FR");
    under["order"]["subtotal_minor"] = json!(50_000);
    assert_eq!(call(under), none);
    // Large, but shipping to the billing country.
    assert_eq!(
        call(order_input("fraud_signal", 9, 60_000, 0, "GB", "GB")),
        none
    );
    // Without the order (no read_orders granted), there is nothing to judge: no points.
    let mut no_order = order_input("fraud_signal", 10, 60_000, 0, "GB", "FR");
    no_order.as_object_mut().unwrap().remove("order");
    assert_eq!(call(no_order), none);
}

#[test]
fn order_webhook_sends_the_number_and_total() {
    let (h, p) = load("order-webhook");
    let input = order_input("order_created", 1042, 2_400, 0, "GB", "GB");
    assert_eq!(
        h.call(&p, "order_created_v1", &input).unwrap(),
        json!({"notify": {"event": "order.created", "order_number": 1042, "total_minor": 2400}})
    );
    // Without the order's total there is nothing to send.
    let mut no_order = input;
    no_order.as_object_mut().unwrap().remove("order");
    assert_eq!(
        h.call(&p, "order_created_v1", &no_order).unwrap(),
        json!({"notify": null})
    );
}

/// A realistic input for each hook (what the examples are called with below).
fn input_for(hook: &str) -> Value {
    match hook {
        "cart_adjust" => cart(&[("MUG-1", "Mug", 1200, 10)], 12_000),
        _ => order_input(hook, 1, 2_400, 0, "GB", "GB"),
    }
}

#[test]
fn manifests_match_their_modules_and_need_no_imports() {
    for name in ["bulk-discount", "fraud-rule", "order-webhook"] {
        let (manifest, wasm, perms) = example(name);
        assert_eq!(manifest["name"], name);
        assert_eq!(manifest["version"], "1.0.0");
        assert_eq!(manifest["author"], "storefort examples");
        assert!(
            manifest.get("module_sha256").is_none(),
            "{name}: the packer adds it"
        );
        // webhook_url is there exactly with the webhook permission.
        let url = &manifest["webhook_url"];
        assert_eq!(
            perms.contains(&Permission::Webhook),
            !url.is_null(),
            "{name}"
        );
        let hooks: Vec<&str> = manifest["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        // Loads with no permission at all: it imports nothing a permission would grant.
        let host = Host::new(Limits::default()).unwrap();
        let plugin = host.load(&wasm, &[]).unwrap();
        // Every declared hook answers; every other hook is not exported.
        for hook in HOOKS {
            let answer = host.call(&plugin, &format!("{hook}_v1"), &input_for(hook));
            if hooks.contains(&hook) {
                assert!(answer.is_ok(), "{name}: {hook} failed: {answer:?}");
            } else {
                assert!(
                    matches!(answer, Err(PluginError::MissingExport(_))),
                    "{name}: {hook} is exported but not declared: {answer:?}"
                );
            }
        }
    }
    let (manifest, _, _) = example("order-webhook");
    assert_eq!(
        manifest["webhook_url"],
        "https://hooks.example.com/storefort"
    );
}

#[test]
fn a_large_input_is_read_to_its_end() {
    // 1,200 lines of 1 item, about 80 kB of JSON: the bump allocator must grow memory past
    // its first 64 KiB page (else the host cannot write the input), and every line counts.
    let (h, p) = load("bulk-discount");
    let lines: Vec<(&str, &str, i64, i64)> =
        (0..1_200).map(|_| ("S", "Seed packet", 5, 1)).collect();
    let input = cart(&lines, 6_000);
    assert!(serde_json::to_vec(&input).unwrap().len() > 65_536);
    assert_eq!(h.call(&p, "cart_adjust_v1", &input).unwrap(), bulk_out(600));
}
