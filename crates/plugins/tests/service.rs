//! The plugin service on every engine: install with approval, a cart priced through a plugin,
//! a module swapped on disk, a plugin that keeps failing, inputs without personal data, bad
//! packages refused, and notifications delivered only to the approved address.

#[path = "../../store/tests/common/mod.rs"]
mod common;
#[path = "../../store/tests/shop_support/mod.rs"]
mod shop_support;
mod support;

use std::time::Duration;

use storefort_plugins::hooks::OrderFacts;
use storefort_plugins::service::{InstallError, ModuleState, Who};
use storefort_plugins::{examples, Manifest, Package, PackageError, Permission, PluginError};
use support::*;

fn owner() -> Who {
    Who {
        id: "u1".into(),
        email: "owner@example.com".into(),
        ip: "127.0.0.1".into(),
    }
}

#[tokio::test]
async fn an_approved_bulk_discount_prices_carts_and_a_swapped_module_is_switched_off() {
    for t in common::backends().await {
        let (svc, told, _dir) = service(&t.db).await;
        let shop = shop_support::shop(&t.db, 100, 1000).await;
        // Staged only: nothing installed until approved.
        let staged = svc
            .stage(&examples::package("bulk-discount").unwrap().unwrap())
            .await
            .unwrap();
        assert_eq!(
            staged.manifest.permissions,
            vec![Permission::ChangeCartPrices]
        );
        assert!(svc.list().await.unwrap().is_empty(), "{}", t.name);
        svc.approve(&staged.id, &owner()).await.unwrap();
        assert_eq!(svc.running(), 1);
        assert!(audited(&t.db, "plugin.installed").await);
        // The store prices web carts through the plugin: 10 x £10 -> £10 off.
        let cart =
            t.db.cart(&shop_support::cart_with(&t.db, &shop, 10).await)
                .await
                .unwrap();
        let q = t.db.price_cart(&cart, "GB", None).await.unwrap();
        assert_eq!(q.discount_minor, 1000, "{}", t.name);
        assert_eq!(
            q.adjustments[0].label,
            "Bulk discount: 10% off 10 or more items"
        );
        let small =
            t.db.cart(&shop_support::cart_with(&t.db, &shop, 9).await)
                .await
                .unwrap();
        assert_eq!(
            t.db.price_cart(&small, "GB", None)
                .await
                .unwrap()
                .discount_minor,
            0
        );

        // The module file is replaced behind the owner's back.
        let other = examples::parts("fraud-rule").unwrap().unwrap().1;
        std::fs::write(svc.module_path("bulk-discount"), &other).unwrap();
        assert_eq!(
            svc.refresh().await.unwrap(),
            vec!["bulk-discount".to_string()]
        );
        assert_eq!(svc.running(), 0);
        let r = t.db.plugin("bulk-discount").await.unwrap();
        assert!(
            !r.enabled && r.disabled_reason.contains("changed on disk"),
            "{r:?}"
        );
        assert!(audited(&t.db, "plugin.module_changed").await);
        assert_eq!(told.lock().unwrap().len(), 1, "the owners are told");
        assert_eq!(
            t.db.price_cart(&cart, "GB", None)
                .await
                .unwrap()
                .discount_minor,
            0
        );
        // It cannot simply be switched back on...
        let again = svc.set_enabled("bulk-discount", true, &owner()).await;
        assert!(matches!(again, Err(InstallError::State(_))), "{again:?}");
        assert_eq!(svc.list().await.unwrap()[0].module, ModuleState::Changed);
        // ...and approving the changed module checks it against the granted permissions and
        // hooks: the fraud rule does not implement cart_adjust.
        let wrong = svc.approve_changed("bulk-discount", &owner()).await;
        assert!(
            matches!(
                wrong,
                Err(InstallError::Module(PluginError::MissingExport(_)))
            ),
            "{wrong:?}"
        );
        // Put back, approved again: on.
        let good = examples::parts("bulk-discount").unwrap().unwrap().1;
        std::fs::write(svc.module_path("bulk-discount"), &good).unwrap();
        svc.approve_changed("bulk-discount", &owner())
            .await
            .unwrap();
        assert_eq!(svc.running(), 1);
        // Switch off, on, remove: audited; removing deletes the module.
        svc.set_enabled("bulk-discount", false, &owner())
            .await
            .unwrap();
        assert_eq!(svc.running(), 0);
        svc.set_enabled("bulk-discount", true, &owner())
            .await
            .unwrap();
        svc.remove("bulk-discount", &owner()).await.unwrap();
        assert!(!svc.module_path("bulk-discount").exists());
        assert!(svc.list().await.unwrap().is_empty());
        for a in ["plugin.disabled", "plugin.enabled", "plugin.removed"] {
            assert!(audited(&t.db, a).await, "{a}");
        }
    }
}

#[tokio::test]
async fn a_plugin_that_keeps_failing_is_skipped_then_switched_off_and_pricing_goes_on() {
    for t in common::backends().await {
        let (svc, told, _dir) = service(&t.db).await;
        let shop = shop_support::shop(&t.db, 100, 1000).await;
        let spin = module("cart_adjust_v1", "(loop (br 0)) (i64.const 0)");
        install(
            &svc,
            manifest("spinner", &["cart_adjust"], &["change_cart_prices"]),
            spin,
        )
        .await;
        let cart =
            t.db.cart(&shop_support::cart_with(&t.db, &shop, 10).await)
                .await
                .unwrap();
        for _ in 0..5 {
            // Each pricing still answers, without the plugin's discount.
            let q = t.db.price_cart(&cart, "GB", None).await.unwrap();
            assert_eq!((q.discount_minor, q.total_minor), (0, 10_000), "{}", t.name);
        }
        // Switched off in the background: wait for the last step (the audit entry).
        let off = wait_until(|| async {
            // The last steps, in order: audit, tell the owners, reload without it.
            audited(&t.db, "plugin.disabled_after_failures").await
                && !told.lock().unwrap().is_empty()
                && svc.running() == 0
        })
        .await;
        assert!(off, "switched off after 5 failures in a row ({})", t.name);
        let r = t.db.plugin("spinner").await.unwrap();
        assert!(r.disabled_reason.contains("5 times in a row"), "{r:?}");
        assert!(r.last_error.contains("fuel"), "{r:?}");
        assert!(told.lock().unwrap()[0].0.contains("spinner"));
        assert_eq!(svc.running(), 0);
    }
}

#[tokio::test]
async fn without_the_personal_data_permission_a_plugin_never_sees_it() {
    for t in common::backends().await {
        let (svc, _told, _dir) = service(&t.db).await;
        // Returns 40 points when its input holds an '@' anywhere (an email address).
        let sniffer = || module("fraud_signal_v1", &AT_SNIFFER);
        install(
            &svc,
            manifest("sniffer", &["fraud_signal"], &["add_fraud_signal"]),
            sniffer(),
        )
        .await;
        let facts = OrderFacts {
            email: "ada@example.com".into(),
            ..Default::default()
        };
        let currency = t.db.currency;
        assert_eq!(svc.fraud_signals(&facts, &currency), vec![], "{}", t.name);
        // Granted the permission (a new approval), the same module sees the address.
        install(
            &svc,
            manifest(
                "sniffer",
                &["fraud_signal"],
                &["add_fraud_signal", "read_personal_data"],
            ),
            sniffer(),
        )
        .await;
        let got = svc.fraud_signals(&facts, &currency);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].1.points, got[0].0.as_str()), (40, "sniffer"));
    }
}

#[tokio::test]
async fn bad_packages_are_refused_with_a_reason_and_nothing_is_staged() {
    let t = common::backends().await.remove(0);
    let (svc, _told, dir) = service(&t.db).await;
    let refused = |r: Result<_, InstallError>| r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused(svc.stage(b"not a package").await).contains("not a storefort plugin"));
    // An import the manifest's permissions do not grant (WASI's fd_write).
    let wasi = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
           (memory (export "memory") 1)
           (func (export "alloc") (param i32) (result i32) (i32.const 1024))
           (func (export "cart_adjust_v1") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .unwrap();
    let m = manifest("wasi", &["cart_adjust"], &["change_cart_prices"]);
    let e = refused(svc.stage(&Package::build(m.clone(), wasi).unwrap()).await);
    assert!(
        e.contains("wasi_snapshot_preview1") && e.contains("fd_write"),
        "{e}"
    );
    // A hook without its permission is refused when the package is built.
    let no_perm = manifest("greedy", &["cart_adjust"], &[]);
    let e = Package::build(no_perm, module("cart_adjust_v1", "(i64.const 0)")).unwrap_err();
    assert!(e.to_string().contains("change_cart_prices"), "{e}");
    // A module changed after the package was built.
    let mut bytes = Package::build(m, module("cart_adjust_v1", "(i64.const 0)")).unwrap();
    let magic = bytes.windows(4).position(|w| w == b"\0asm").unwrap();
    bytes[magic + 20] ^= 1;
    let e = svc.stage(&bytes).await.unwrap_err();
    assert!(
        matches!(e, InstallError::Package(PackageError::HashMismatch { .. })),
        "{e:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("plugins/pending"))
            .unwrap()
            .count(),
        0
    );
    assert!(svc.list().await.unwrap().is_empty());
    // A made-up or expired upload ID.
    assert!(matches!(
        svc.approve(&"ab".repeat(32), &owner()).await,
        Err(InstallError::NoSuchUpload)
    ));
    assert!(matches!(
        svc.approve("../../etc/passwd", &owner()).await,
        Err(InstallError::NoSuchUpload)
    ));
}

#[tokio::test]
async fn order_notifications_go_only_to_the_approved_address() {
    let t = common::backends().await.remove(0);
    let (svc, _told, _dir) = service(&t.db).await;
    let (url, received) = receiver().await;
    let (mut m, wasm): (Manifest, Vec<u8>) = examples::parts("order-webhook").unwrap().unwrap();
    m.webhook_url = Some(url.clone());
    install(&svc, m, wasm).await;
    let facts = OrderFacts {
        order_number: Some(1042),
        total_minor: 2400,
        email: "ada@example.com".into(),
        ..Default::default()
    };
    assert_eq!(svc.order_created(&facts, &t.db.currency), 1);
    let got = wait_until(|| async { !received.lock().unwrap().is_empty() }).await;
    assert!(got, "the notification arrived");
    let (plugin, body) = received.lock().unwrap()[0].clone();
    assert_eq!(plugin, "order-webhook");
    assert_eq!(
        body,
        serde_json::json!({"event": "order.created", "order_number": 1042, "total_minor": 2400})
    );
    // A plain http:// address elsewhere than this machine is refused in the manifest.
    let mut m = examples::parts("order-webhook").unwrap().unwrap().0;
    m.webhook_url = Some("http://hooks.example.com/x".into());
    m.module_sha256 = "0".repeat(64);
    assert!(m.validate().unwrap_err().to_string().contains("https://"));
    tokio::time::sleep(Duration::from_millis(10)).await;
}
