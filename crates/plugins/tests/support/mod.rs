//! Shared by the plugin service tests: a service over a temp dir that records what it tells
//! the owners, small hand-written modules, installing through the approval path, and a local
//! webhook receiver.
#![allow(dead_code)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use storefort_plugins::service::{Notifier, Who};
use storefort_plugins::{Hook, Manifest, Package, Permission, PluginService};
use storefort_store::audit::AuditFilter;
use storefort_store::Db;

/// What the service told the owners: (subject, body).
pub type Told = Arc<Mutex<Vec<(String, String)>>>;

/// A plugin service over a fresh temp dir, its notices recorded.
pub async fn service(db: &Db) -> (Arc<PluginService>, Told, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let told: Told = Default::default();
    let t = told.clone();
    let notifier: Notifier = Arc::new(move |s, b| t.lock().unwrap().push((s, b)));
    let svc = PluginService::open(db.clone(), dir.path().join("plugins"), Some(notifier))
        .await
        .unwrap();
    (svc, told, dir)
}

/// A module with `memory`, `alloc` (always 1024), and `export` whose body is given (it sees
/// its input as locals 0 and 1).
pub fn module(export: &str, body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
             (memory (export "memory") 1)
             (data (i32.const 16) "{{\"signals\":[{{\"points\":40,\"reason\":\"Saw an email address.\"}}]}}")
             (data (i32.const 256) "{{\"signals\":[]}}")
             (func (export "alloc") (param i32) (result i32) (i32.const 1024))
             (func (export "{export}") (param i32 i32) (result i64) {body}))"#
    ))
    .unwrap()
}

/// (ptr << 32) | len of the module's data strings.
fn packed(ptr: u64, len: u64) -> u64 {
    (ptr << 32) | len
}

/// A fraud_signal body: 40 points when the input holds a '@', none otherwise.
pub static AT_SNIFFER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let found = packed(
        16,
        r#"{"signals":[{"points":40,"reason":"Saw an email address."}]}"#.len() as u64,
    );
    let none = packed(256, r#"{"signals":[]}"#.len() as u64);
    format!(
        r#"(local $i i32)
           (block $done
             (loop $next
               (br_if $done (i32.ge_u (local.get $i) (local.get 1)))
               (if (i32.eq (i32.load8_u (i32.add (local.get 0) (local.get $i))) (i32.const 64))
                 (then (return (i64.const {found}))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br $next)))
           (i64.const {none})"#
    )
});

/// A manifest with these hooks and permissions (names as in manifests).
pub fn manifest(name: &str, hooks: &[&str], perms: &[&str]) -> Manifest {
    Manifest {
        name: name.into(),
        version: "1.0.0".into(),
        author: "tests".into(),
        description: String::new(),
        hooks: hooks.iter().map(|h| Hook::parse(h).unwrap()).collect(),
        permissions: perms
            .iter()
            .map(|p| Permission::parse(p).unwrap())
            .collect(),
        module_sha256: String::new(),
        webhook_url: None,
    }
}

/// Build, stage and approve.
pub async fn install(svc: &PluginService, m: Manifest, wasm: Vec<u8>) {
    let staged = svc.stage(&Package::build(m, wasm).unwrap()).await.unwrap();
    let who = Who {
        id: "u1".into(),
        email: "owner@example.com".into(),
        ip: "127.0.0.1".into(),
    };
    svc.approve(&staged.id, &who).await.unwrap();
}

/// Is there an audit entry with this action?
pub async fn audited(db: &Db, action: &str) -> bool {
    let f = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    !db.audit_entries(&f).await.unwrap().is_empty()
}

/// Poll `cond` for up to 5 seconds.
pub async fn wait_until<F, Fut>(cond: F) -> bool
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..250 {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// What the receiver got: (X-Storefort-Plugin, JSON body).
pub type Received = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A webhook receiver on loopback; its URL and what it received.
pub async fn receiver() -> (String, Received) {
    let got: Received = Default::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::Json<serde_json::Value>| {
                let g = g.clone();
                async move {
                    let plugin = headers
                        .get("x-storefort-plugin")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    g.lock().unwrap().push((plugin, body.0));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{}/hook", addr.port()), got)
}
