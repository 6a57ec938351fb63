//! The "Plugins" admin page: owners only (managers and cashiers get 403 and no link); a clear
//! 409 page when the server runs without plugins; an example or an upload is only staged and
//! shown on an approval page, installed once the owner types the right password (a wrong one
//! installs nothing and counts as a failed sign-in); hostile, broken and tampered packages
//! are refused naming the problem and nothing is kept; switching off and on and removing are
//! audited and need the CSRF token; unknown uploads, examples and plugins are 404; a module
//! changed on disk is switched off with the reason shown, cannot be switched on, and is back
//! on once its new module is approved.

mod admin_customers_support;
mod common;
mod plugins_support;
mod staff_support;

use admin_customers_support::{owner, staff};
use axum::http::StatusCode;
use common::{app, OWNER_EMAIL, OWNER_PASSWORD};
use plugins_support::{
    done, example_as, example_parts, expect, failed_logins, find, hostile_package, install_example,
    lacks, refused, stage_example, upload, with_custom_section, with_plugins, PAGE,
};
use staff_support::audit_log;
use storefort_plugins::examples;
use storefort_plugins::package::sha256_hex;
use storefort_plugins::service::ModuleState;
use storefort_plugins::Package;

const NAV_LINK: &str = "href=\"/admin/plugins\"";
const OK: StatusCode = StatusCode::OK;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
const PASSWORD: [(&str, &str); 1] = [("password", OWNER_PASSWORD)];

#[tokio::test]
async fn owners_only_and_a_clear_page_when_the_server_has_no_plugins() {
    let mut t = app().await;
    let o = owner(&t).await;
    expect(&o.get(&t, "/admin").await, OK, &[NAV_LINK]);
    // No plugin service: the page and the actions say so instead of failing.
    let res = o.get(&t, PAGE).await;
    let unavailable = ["Plugins are not available on this server"];
    expect(&res, StatusCode::CONFLICT, &unavailable);
    let example = [("name", "bulk-discount")];
    let res = o.post(&t, "/admin/plugins/example", &example).await;
    expect(&res, StatusCode::CONFLICT, &unavailable);

    let p = with_plugins(&mut t).await;
    let res = o.get(&t, PAGE).await;
    let wants = [
        "href=\"/admin/plugins\" aria-current=\"page\"",
        "Each plugin runs in a sandbox and sees only what you allow. Do you really need it? \
         Do you trust its author?",
        "No plugins are installed.",
        "action=\"/admin/plugins/upload\" method=\"post\" enctype=\"multipart/form-data\"",
        "name=\"package\" type=\"file\" accept=\".sfplugin\"",
        "up to 8 MB",
    ];
    expect(&res, OK, &wants);
    for e in examples::names() {
        expect(&res, OK, &[&format!("name=\"name\" value=\"{e}\"")]);
    }
    lacks(&res, "id=\"many-on\"");

    // Managers and cashiers have no link and are refused every route (audited as denied).
    for role in ["manager", "cashier"] {
        let m = staff(&t, role).await;
        let dash = m.get(&t, "/admin").await;
        assert_eq!(dash.status, OK);
        lacks(&dash, NAV_LINK);
        let staged = format!("/admin/plugins/approve/{}", "a".repeat(64));
        for path in [PAGE, &staged] {
            expect(&m.get(&t, path).await, FORBIDDEN, &["does not allow you"]);
        }
        for path in ["/admin/plugins/example", "/admin/plugins/x/remove"] {
            let res = m.post(&t, path, &example).await;
            assert_eq!(res.status, FORBIDDEN, "{role} {path}");
        }
        let res = upload(&t, &m, &hostile_package(), Some(&m.csrf)).await;
        assert_eq!(res.status, FORBIDDEN, "{role} upload");
    }
    assert_eq!(audit_log(&t, "access.denied").await.len(), 10);
    assert_eq!(p.pending(), 0, "nothing was staged");
    assert!(p.names().await.is_empty());
}

#[tokio::test]
async fn an_example_is_installed_only_with_the_owners_password() {
    let mut t = app().await;
    let p = with_plugins(&mut t).await;
    let o = owner(&t).await;
    let approve = stage_example(&t, &o, "bulk-discount").await;
    assert_eq!(p.pending(), 1);
    assert!(p.names().await.is_empty(), "staged, not installed");

    let pkg = examples::package("bulk-discount").unwrap().unwrap();
    let sha = Package::read(&pkg).unwrap().manifest.module_sha256;
    let res = o.get(&t, &approve).await;
    let wants = [
        "Install bulk-discount?",
        "<dd>1.0.0</dd>",
        "<dd>storefort examples</dd>",
        "Takes 10% off the goods",
        "<li>adds discounts when a cart is priced</li>",
        "It will be able to:",
        "<li>change cart prices</li>",
        "And nothing else: no files, no network, no other data.",
        sha.as_str(),
        "Type your password to approve",
        "Approve and install",
    ];
    expect(&res, OK, &wants);
    lacks(&res, "This replaces");

    // A wrong password: 422 on the approval page naming the field, counted, nothing installed.
    let res = o.post(&t, &approve, &[("password", "not mine")]).await;
    let wants = [
        "Password: that is not your password",
        "Nothing was installed.",
        "aria-invalid=\"true\"",
        "Approve and install",
    ];
    expect(&res, UNPROCESSABLE, &wants);
    assert!(p.names().await.is_empty());
    assert_eq!(p.svc.running(), 0);
    assert!(audit_log(&t, "plugin.installed").await.is_empty());
    let failures = audit_log(&t, "login.failure").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].details, "wrong password approving a plugin");
    assert_eq!(failed_logins(&t).await, 1);
    // Without the CSRF token even the right password installs nothing.
    let res = t.post(&approve, Some(&o.cookie), &PASSWORD).await;
    assert_eq!(res.status, FORBIDDEN, "{}", res.body);
    assert!(p.names().await.is_empty());

    // The right password: installed, on, running, audited; the staged copy is gone.
    let res = o.post(&t, &approve, &PASSWORD).await;
    done(&res, "installed", "bulk-discount");
    assert!(p.is_on("bulk-discount").await);
    assert_eq!(p.svc.running(), 1);
    assert_eq!(p.pending(), 0);
    assert_eq!(failed_logins(&t).await, 0, "a right password clears it");
    let installed = audit_log(&t, "plugin.installed").await;
    assert_eq!(installed.len(), 1);
    assert_eq!(installed[0].actor, OWNER_EMAIL);
    assert_eq!(installed[0].target, "plugin:bulk-discount");
    assert!(installed[0].details.contains(&sha), "{installed:?}");
    let wants = [
        "Installed bulk-discount. It is on.",
        "id=\"plugin-bulk-discount\"",
        "<span class=\"status status-active\">On</span>",
        "<li>change cart prices</li>",
        "action=\"/admin/plugins/bulk-discount/disable\"",
        "Remove bulk-discount for good",
    ];
    expect(&o.get(&t, res.location()).await, OK, &wants);

    // The same upload cannot be approved twice.
    let res = o.post(&t, &approve, &PASSWORD).await;
    assert_eq!(res.status, NOT_FOUND, "{}", res.body);
    assert_eq!(audit_log(&t, "plugin.installed").await.len(), 1);

    // A newer version under the same name says what it replaces.
    let newer = example_as("bulk-discount", "bulk-discount", "1.1.0");
    let res = upload(&t, &o, &newer, Some(&o.csrf)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let wants = ["This replaces version 1.0.0 (installed ", "<dd>1.1.0</dd>"];
    expect(&o.get(&t, res.location()).await, OK, &wants);
}

#[tokio::test]
async fn hostile_broken_and_tampered_uploads_are_refused_and_nothing_is_kept() {
    let mut t = app().await;
    let p = with_plugins(&mut t).await;
    let o = owner(&t).await;
    let csrf = Some(o.csrf.as_str());
    let res = upload(&t, &o, &hostile_package(), csrf).await;
    refused(&res, "wasi_snapshot_preview1.fd_write");
    let res = upload(&t, &o, b"just some words, not a package", csrf).await;
    refused(&res, "this is not a storefort plugin package");

    // The module changed after the package was built: its hash no longer matches.
    let (_, wasm) = example_parts("bulk-discount");
    let mut tampered = examples::package("bulk-discount").unwrap().unwrap();
    let at = find(&tampered, &wasm) + wasm.len() - 1;
    tampered[at] ^= 1;
    let res = upload(&t, &o, &tampered, csrf).await;
    refused(&res, "the package was changed after it was built");

    // A manifest breaking a rule (an upper-case name) is refused naming the field.
    let mut bad_name = examples::package("bulk-discount").unwrap().unwrap();
    let at = find(&bad_name, b"\"name\": \"bulk-discount\"") + 9;
    bad_name[at] = b'B';
    let res = upload(&t, &o, &bad_name, csrf).await;
    refused(&res, "manifest is not valid: name:");

    // No file: 422 naming the field.
    let res = upload(&t, &o, b"", csrf).await;
    let marked = "accept=\".sfplugin\" required aria-invalid=\"true\"";
    let no_file = ["Plugin package: choose a .sfplugin file", marked];
    expect(&res, UNPROCESSABLE, &no_file);

    // No CSRF token, or a wrong one: 403 before anything is read into the service.
    let good = examples::package("bulk-discount").unwrap().unwrap();
    for csrf in [None, Some("not-the-token")] {
        let res = upload(&t, &o, &good, csrf).await;
        assert_eq!(res.status, FORBIDDEN, "{csrf:?}: {}", res.body);
    }
    // Unknown or malformed upload IDs, unknown examples: 404, no password try spent.
    let unknown = format!("/admin/plugins/approve/{}", "0".repeat(64));
    expect(&o.get(&t, &unknown).await, NOT_FOUND, &["upload it again"]);
    let res = o.post(&t, &unknown, &PASSWORD).await;
    assert_eq!(res.status, NOT_FOUND, "{}", res.body);
    assert_eq!(failed_logins(&t).await, 0, "no password try spent on it");
    for bad in ["short", "..%2F..%2Fetc"] {
        let res = o.get(&t, &format!("/admin/plugins/approve/{bad}")).await;
        assert_eq!(res.status, NOT_FOUND, "{bad}");
    }
    let no_such = [("name", "no-such-example")];
    let res = o.post(&t, "/admin/plugins/example", &no_such).await;
    assert_eq!(res.status, NOT_FOUND, "{}", res.body);
    // Not a multipart body at all.
    let res = o.post(&t, "/admin/plugins/upload", &[]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);

    assert_eq!(p.pending(), 0, "nothing was staged");
    assert!(p.names().await.is_empty(), "nothing was installed");
    assert!(audit_log(&t, "plugin.installed").await.is_empty());
}

#[tokio::test]
async fn switching_off_and_on_and_removing_are_audited_and_need_the_csrf_token() {
    let mut t = app().await;
    let p = with_plugins(&mut t).await;
    let o = owner(&t).await;
    install_example(&t, &o, "bulk-discount").await;

    // Without the token (or with a wrong one) nothing changes.
    let off = "/admin/plugins/bulk-discount/disable";
    let on = "/admin/plugins/bulk-discount/enable";
    let res = t.post(off, Some(&o.cookie), &[]).await;
    assert_eq!(res.status, FORBIDDEN, "{}", res.body);
    let remove = "/admin/plugins/bulk-discount/remove";
    let res = t.post(remove, Some(&o.cookie), &[("csrf", "nope")]).await;
    assert_eq!(res.status, FORBIDDEN, "{}", res.body);
    assert!(p.is_on("bulk-discount").await);
    assert!(audit_log(&t, "plugin.disabled").await.is_empty());

    let res = o.post(&t, off, &[]).await;
    done(&res, "off", "bulk-discount");
    assert!(!p.is_on("bulk-discount").await);
    assert_eq!(p.svc.running(), 0);
    let disabled = audit_log(&t, "plugin.disabled").await;
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].actor, OWNER_EMAIL);
    let page = o.get(&t, res.location()).await;
    let wants = [
        "bulk-discount is off.",
        "action=\"/admin/plugins/bulk-discount/enable\"",
    ];
    expect(&page, OK, &wants);
    lacks(&page, "was switched off:");

    let res = o.post(&t, on, &[]).await;
    done(&res, "on", "bulk-discount");
    assert!(p.is_on("bulk-discount").await);
    assert_eq!(p.svc.running(), 1);
    assert_eq!(audit_log(&t, "plugin.enabled").await.len(), 1);

    // Its last error is shown with when it happened.
    let db = &t.db;
    db.record_plugin_error("bulk-discount", "it ran out of fuel")
        .await
        .unwrap();
    let wants = ["Last error: ", "UTC: it ran out of fuel"];
    expect(&o.get(&t, PAGE).await, OK, &wants);

    // Unknown plugins, names and actions: 404, nothing changes.
    for path in [
        "/admin/plugins/no-such/disable",
        "/admin/plugins/no-such/approve-module",
        "/admin/plugins/bulk-discount/explode",
        "/admin/plugins/Bulk%20Discount/remove",
    ] {
        let res = o.post(&t, path, &PASSWORD).await;
        assert_eq!(res.status, NOT_FOUND, "{path}: {}", res.body);
    }
    assert!(p.is_on("bulk-discount").await);

    let res = o.post(&t, remove, &[]).await;
    done(&res, "removed", "bulk-discount");
    assert!(p.names().await.is_empty());
    assert!(!p.module("bulk-discount").exists(), "its module is deleted");
    assert_eq!(p.svc.running(), 0);
    let removed = audit_log(&t, "plugin.removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].target, "plugin:bulk-discount");
    let wants = ["Removed bulk-discount", "No plugins are installed."];
    expect(&o.get(&t, res.location()).await, OK, &wants);
    let res = o.post(&t, remove, &[]).await;
    assert_eq!(res.status, NOT_FOUND, "already gone");
}

#[tokio::test]
async fn a_changed_module_is_switched_off_until_the_owner_approves_it() {
    let mut t = app().await;
    let p = with_plugins(&mut t).await;
    let o = owner(&t).await;
    install_example(&t, &o, "bulk-discount").await;

    // Someone replaces the module on disk with another plugin's.
    let (_, fraud) = example_parts("fraud-rule");
    std::fs::write(p.module("bulk-discount"), &fraud).unwrap();
    assert_eq!(p.svc.refresh().await.unwrap(), vec!["bulk-discount"]);
    assert!(!p.is_on("bulk-discount").await);
    assert_eq!(audit_log(&t, "plugin.module_changed").await.len(), 1);
    let page = o.get(&t, PAGE).await;
    let wants = [
        "bulk-discount was switched off: its module changed on disk since it was approved",
        "Its module changed since you approved it.",
        "action=\"/admin/plugins/bulk-discount/approve-module\"",
        "Approve the changed module",
    ];
    expect(&page, OK, &wants);
    let on = "/admin/plugins/bulk-discount/enable";
    lacks(&page, on);

    // Switching it on anyway is refused with the reason.
    let res = o.post(&t, on, &[]).await;
    expect(&res, StatusCode::CONFLICT, &["not the one approved"]);
    assert!(!p.is_on("bulk-discount").await);

    let approve = "/admin/plugins/bulk-discount/approve-module";
    let res = o.post(&t, approve, &[("password", "wrong")]).await;
    let wants = [
        "Password: that is not your password",
        "The module was not approved.",
        "id=\"password-bulk-discount\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required aria-invalid=\"true\"",
    ];
    expect(&res, UNPROCESSABLE, &wants);
    assert_eq!(failed_logins(&t).await, 1);

    // The right password cannot approve a module that does not do the plugin's job.
    let res = o.post(&t, approve, &PASSWORD).await;
    expect(&res, UNPROCESSABLE, &["cart_adjust_v1"]);
    assert!(!p.is_on("bulk-discount").await);
    assert!(audit_log(&t, "plugin.module_approved").await.is_empty());

    // An update of its own module copied in place: approved, and on again.
    let (_, bulk) = example_parts("bulk-discount");
    let update = with_custom_section(bulk);
    std::fs::write(p.module("bulk-discount"), &update).unwrap();
    let res = o.post(&t, approve, &PASSWORD).await;
    done(&res, "approved", "bulk-discount");
    assert!(p.is_on("bulk-discount").await);
    assert_eq!(p.svc.running(), 1);
    let view = p.svc.list().await.unwrap().remove(0);
    assert_eq!(view.module, ModuleState::Matches);
    assert_eq!(view.record.module_sha256, sha256_hex(&update));
    let approved = audit_log(&t, "plugin.module_approved").await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].actor, OWNER_EMAIL);
    let page = o.get(&t, res.location()).await;
    expect(&page, OK, &["Approved the changed module of bulk-discount"]);
    lacks(&page, "was switched off:");
}

#[tokio::test]
async fn more_than_five_plugins_on_asks_whether_all_are_needed() {
    let mut t = app().await;
    let p = with_plugins(&mut t).await;
    let o = owner(&t).await;
    for n in 1..=6 {
        let pkg = example_as("bulk-discount", &format!("bulk-{n}"), "1.0.0");
        p.install(&pkg).await;
    }
    let wants = ["6 plugins are on: do you really need them all?"];
    expect(&o.get(&t, PAGE).await, OK, &wants);
    let res = o.post(&t, "/admin/plugins/bulk-6/disable", &[]).await;
    done(&res, "off", "bulk-6");
    lacks(&o.get(&t, PAGE).await, "id=\"many-on\"");
}

/// The upload route takes packages up to 8 MB: a 300 KiB body (over the usual 256 KiB, which
/// the card-number guard no longer applies to this route) reaches it and is judged on what it is.
#[tokio::test]
async fn a_package_over_the_usual_body_limit_reaches_the_upload() {
    let mut t = app().await;
    let p = with_plugins(&mut t).await;
    let o = owner(&t).await;
    let big = vec![b'x'; 300 * 1024];
    let res = upload(&t, &o, &big, Some(&o.csrf)).await;
    refused(&res, "not a storefort plugin package");
    assert_eq!(p.pending(), 0);
}
