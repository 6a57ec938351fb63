//! Harness for the plugins page tests: a real plugin service keeping its modules in a
//! temporary directory, the test app rebuilt with it, uploads sent as a browser sends them
//! (multipart, the CSRF token in the body), the approval flow driven through the pages, and
//! packages made to be refused (a WASI import, a changed module, a broken manifest).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use storefort_plugins::service::Who;
use storefort_plugins::{examples, Hook, Manifest, Package, Permission, PluginService};
use storefort_web::{router, AppState, WebConfig};

use crate::admin_customers_support::Staff;
use crate::common::{Res, TestApp, OWNER_EMAIL, OWNER_PASSWORD};

/// The page.
pub const PAGE: &str = "/admin/plugins";
/// Letters only: the card-number guard reads a multipart body as text.
const BOUNDARY: &str = "storefortTestBoundaryXyz";

/// The service the app was rebuilt with.
pub struct Plugins {
    pub svc: Arc<PluginService>,
    _tmp: tempfile::TempDir,
}

impl Plugins {
    /// Packages waiting for approval (the service's `pending` folder).
    pub fn pending(&self) -> usize {
        std::fs::read_dir(self.svc.dir().join("pending"))
            .unwrap()
            .count()
    }

    /// Where a plugin's module lives.
    pub fn module(&self, name: &str) -> PathBuf {
        self.svc.module_path(name)
    }

    /// Names of the installed plugins.
    pub async fn names(&self) -> Vec<String> {
        let list = self.svc.list().await.unwrap();
        list.into_iter().map(|v| v.record.name).collect()
    }

    /// Install a package straight through the service, as the owner.
    pub async fn install(&self, package: &[u8]) {
        let who = Who {
            id: "test".into(),
            email: OWNER_EMAIL.into(),
            ip: "127.0.0.1".into(),
        };
        let staged = self.svc.stage(package).await.unwrap();
        self.svc.approve(&staged.id, &who).await.unwrap();
    }

    /// Whether the named plugin is installed and on.
    pub async fn is_on(&self, name: &str) -> bool {
        let list = self.svc.list().await.unwrap();
        list.iter()
            .any(|v| v.record.name == name && v.record.enabled)
    }
}

/// Give the app a plugin service keeping its files in a temporary directory.
pub async fn with_plugins(t: &mut TestApp) -> Plugins {
    let tmp = tempfile::tempdir().unwrap();
    let svc = PluginService::open(t.db.clone(), tmp.path().join("plugins"), None)
        .await
        .unwrap();
    t.app = router(AppState::new(t.db.clone(), WebConfig::default()).with_plugins(svc.clone()));
    Plugins { svc, _tmp: tmp }
}

/// Upload `package` as the file field, with `csrf` (none: the field is left out).
pub async fn upload(t: &TestApp, who: &Staff, package: &[u8], csrf: Option<&str>) -> Res {
    let mut body = Vec::new();
    if let Some(c) = csrf {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{c}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"package\"; \
             filename=\"plugin.sfplugin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(package);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/admin/plugins/upload")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::COOKIE, &who.cookie)
        .body(Body::from(body))
        .unwrap();
    t.send(req).await
}

/// Stage an example through the page: the approval page's path.
pub async fn stage_example(t: &TestApp, o: &Staff, name: &str) -> String {
    let res = o.post(t, "/admin/plugins/example", &[("name", name)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let to = res.location().to_string();
    assert!(to.starts_with("/admin/plugins/approve/"), "{to}");
    to
}

/// Install an example through the pages (stage, approve with the owner's password).
pub async fn install_example(t: &TestApp, o: &Staff, name: &str) {
    let approve = stage_example(t, o, name).await;
    let res = o.post(t, &approve, &[("password", OWNER_PASSWORD)]).await;
    done(&res, "installed", name);
}

/// A module that exports everything a `cart_adjust` plugin needs but imports WASI's
/// `fd_write`, which no permission grants.
pub fn hostile_package() -> Vec<u8> {
    let wasm = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "alloc") (param i32) (result i32) i32.const 1024)
            (func (export "cart_adjust_v1") (param i32 i32) (result i64) i64.const 0))"#,
    )
    .unwrap();
    let manifest = Manifest {
        name: "sneaky".into(),
        version: "1.0.0".into(),
        author: "someone".into(),
        description: "Looks like a discount.".into(),
        hooks: vec![Hook::CartAdjust],
        permissions: vec![Permission::ChangeCartPrices],
        module_sha256: String::new(),
        webhook_url: None,
    };
    Package::build(manifest, wasm).unwrap()
}

/// An example's manifest and module.
pub fn example_parts(name: &str) -> (Manifest, Vec<u8>) {
    examples::parts(name).unwrap().unwrap()
}

/// An example as a package under another name and version.
pub fn example_as(example: &str, name: &str, version: &str) -> Vec<u8> {
    let (mut m, wasm) = example_parts(example);
    m.name = name.into();
    m.version = version.into();
    Package::build(m, wasm).unwrap()
}

/// The same module with a custom section appended: a different file (and hash) that still
/// loads and exports the same functions, like an update copied in place.
pub fn with_custom_section(mut wasm: Vec<u8>) -> Vec<u8> {
    // Section id 0 (custom), 5 bytes: a 4-byte name "note" and no payload.
    wasm.extend_from_slice(&[0, 5, 4, b'n', b'o', b't', b'e']);
    wasm
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

/// Assert the response's status, and that its page holds every one of `wants`.
pub fn expect(res: &Res, status: StatusCode, wants: &[&str]) {
    assert_eq!(res.status, status, "{}", res.body);
    for want in wants {
        assert!(res.body.contains(want), "shows {want}: {}", res.body);
    }
}

/// Assert the page does not hold `text`.
pub fn lacks(res: &Res, text: &str) {
    assert!(
        !res.body.contains(text),
        "does not show {text}: {}",
        res.body
    );
}

/// Assert a 303 back to the plugins page with the notice `done` about `name`.
pub fn done(res: &Res, done: &str, name: &str) {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), format!("{PAGE}?done={done}&name={name}"));
}

/// Assert an upload was refused with 422 on the plugins page, the problem naming `want`.
pub fn refused(res: &Res, want: &str) {
    let page = ["That plugin was not installed", "Install a plugin", want];
    expect(res, StatusCode::UNPROCESSABLE_ENTITY, &page);
}

/// The owner's count of failed sign-ins in a row.
pub async fn failed_logins(t: &TestApp) -> i64 {
    let u = t.db.user_by_email(OWNER_EMAIL).await.unwrap().unwrap();
    u.failed_logins
}
