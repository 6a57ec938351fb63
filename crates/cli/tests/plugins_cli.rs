//! Plugins through the real binary: `plugin examples` and `plugin pack` write packages the shop
//! accepts; doctor's three checks (more than 5 on, personal data or webhooks listed, a module
//! changed on disk fails); `plugin list` shows the change and `plugin disable` switches one off.

mod common;

use std::path::Path;

use common::{init_shop, open_db, run, stderr, stdout};
use storefort_plugins::service::Who;
use storefort_plugins::{examples, Package, PluginService};

fn doctor(config: &Path) -> (serde_json::Value, bool) {
    let out = run(config, &["doctor", "--json"]);
    let v = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    (v, out.status.success())
}

fn check(v: &serde_json::Value, id: &str) -> (String, String) {
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"));
    (
        c["status"].as_str().unwrap().to_string(),
        c["detail"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn packages_doctor_list_and_disable() {
    let (dir, config) = init_shop();
    // The examples as packages, and a package built from a source folder.
    let out_dir = dir.path().join("example-plugins");
    let out = run(&config, &["plugin", "examples", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for n in examples::names() {
        let bytes = std::fs::read(out_dir.join(format!("{n}.sfplugin"))).unwrap();
        assert_eq!(Package::read(&bytes).unwrap().manifest.name, n);
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plugins/fraud-rule");
    let packed = dir.path().join("fraud.sfplugin");
    let out = run(
        &config,
        &[
            "plugin",
            "pack",
            src.to_str().unwrap(),
            "-o",
            packed.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(Package::read(&std::fs::read(&packed).unwrap()).is_ok());
    // A folder without a manifest: a clear error, nothing written.
    let out = run(&config, &["plugin", "pack", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("manifest.json"), "{}", stderr(&out));

    let (v, _) = doctor(&config);
    assert_eq!(check(&v, "plugins_count").0, "pass");
    assert_eq!(check(&v, "plugins_sensitive").0, "pass");
    assert_eq!(check(&v, "plugin_modules").0, "pass");

    // Six plugins on, one of them sending notifications out.
    let db = open_db(dir.path()).await;
    let svc = PluginService::open(db.clone(), dir.path().join("storefort-data/plugins"), None)
        .await
        .unwrap();
    let who = Who {
        id: String::new(),
        email: common::OWNER.into(),
        ip: "127.0.0.1".into(),
    };
    let mut packages: Vec<Vec<u8>> = examples::names()
        .into_iter()
        .map(|n| examples::package(n).unwrap().unwrap())
        .collect();
    for extra in ["bulk-two", "bulk-three", "bulk-four"] {
        let (mut m, wasm) = examples::parts("bulk-discount").unwrap().unwrap();
        m.name = extra.into();
        packages.push(Package::build(m, wasm).unwrap());
    }
    for p in packages {
        let staged = svc.stage(&p).await.unwrap();
        svc.approve(&staged.id, &who).await.unwrap();
    }
    let (v, _) = doctor(&config);
    let (status, detail) = check(&v, "plugins_count");
    assert_eq!(status, "warn", "{detail}");
    assert!(detail.contains("6 plugins are on"), "{detail}");
    let (status, detail) = check(&v, "plugins_sensitive");
    assert_eq!(status, "warn");
    assert!(
        detail.contains("order-webhook") && detail.contains("https://hooks.example.com/storefort"),
        "{detail}"
    );
    assert!(
        !detail.contains("bulk"),
        "only the ones with such permissions: {detail}"
    );
    assert_eq!(check(&v, "plugin_modules").0, "pass");

    // A module swapped on disk: doctor fails (and exits 1), list says so.
    std::fs::write(svc.module_path("bulk-two"), b"\0asm\x01\0\0\0").unwrap();
    let (v, ok) = doctor(&config);
    let (status, detail) = check(&v, "plugin_modules");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("bulk-two"), "{detail}");
    assert!(!ok, "doctor exits 1 on a failed check");
    let out = run(&config, &["plugin", "list"]);
    let text = stdout(&out);
    assert!(
        text.contains("bulk-two 1.0.0 by storefort examples: on, MODULE CHANGED"),
        "{text}"
    );
    assert!(text.contains("may change cart prices"), "{text}");

    // Switched off from the shell: recorded, audited as cli.
    let out = run(&config, &["plugin", "disable", "bulk-three"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!db.plugin("bulk-three").await.unwrap().enabled);
    let out = run(&config, &["plugin", "disable", "no-such-plugin"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-such-plugin"), "{}", stderr(&out));
}
