//! Roles and permissions on every API route and admin page: a table of routes, each with the
//! permission it needs (or, for a staff member's own pages, only a session), walked by nobody,
//! a bogus key, the owner, a manager, a cashier, a read key and a write key. What is allowed
//! comes from `Role::allows` and `Permission::allowed_for_key_scope`, not from this file. A
//! refusal is a 403 that changes nothing (catalog, stock, keys, staff accounts, sessions,
//! invitations, orders, reviews, checkout and fraud settings) and leaves an `access.denied`
//! entry; made-up IDs give 404. The OpenAPI document proves no staff API route is missing from the table (its
//! shopper routes, documented with the empty security requirement, must refuse a request
//! without their token whoever sends it); a scan of the page source proves no admin page is.

mod common;
mod roles_support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use roles_support::routes::{api_template, API, NOT_WALKED, PAGES};
use roles_support::spec::operations;
use roles_support::world;
use storefort_store::audit::AuditFilter;

#[tokio::test]
async fn every_api_route_enforces_the_matrix() {
    let w = world().await;
    // The table covers the whole staff API: every operation in the OpenAPI document but the
    // shopper routes (security `[{}]`, see `shopper_api_routes_take_only_their_token`), and
    // no more.
    let documented: BTreeSet<_> = operations(&w.openapi().await)
        .into_iter()
        .filter(|o| !o.public)
        .map(|o| (o.method, o.path))
        .collect();
    let table: BTreeSet<_> = API
        .iter()
        .map(|r| (r.0.to_string(), r.1.to_string()))
        .collect();
    let missing: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "API routes missing from the role table: {missing:?}"
    );
    let extra: Vec<_> = table.difference(&documented).collect();
    assert!(
        extra.is_empty(),
        "table rows not among the OpenAPI document's staff operations: {extra:?}"
    );

    let mut worked = BTreeSet::new();
    for (n, who) in w.who.iter().enumerate() {
        for r in API {
            let path = w.fill(&api_template(r), false, n);
            let body = (!r.3.is_empty()).then(|| w.fill(r.3, false, n));
            let ctx = format!("{} {} {path}", who.label, r.0);
            let before = w.before(who.allows(r.4) != Some(true)).await;
            let res = w.api(who, r.0, &path, body).await;
            match who.allows(r.4) {
                None => {
                    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{ctx}: {}", res.body);
                    assert_eq!(w.snapshot().await, before.0, "{ctx}: changed something");
                }
                Some(true) if r.0 == "GET" => {
                    assert_eq!(res.status, StatusCode::OK, "{ctx}: {}", res.body)
                }
                Some(true) => {
                    let s = res.status;
                    assert!(
                        s != StatusCode::UNAUTHORIZED
                            && s != StatusCode::FORBIDDEN
                            && !s.is_server_error(),
                        "{ctx}: {s} {}",
                        res.body
                    );
                    if s.is_success() {
                        worked.insert(r.1);
                    }
                }
                Some(false) => {
                    let line = format!("{} {path}", r.0);
                    w.assert_refused(&ctx, res.status, &before, &who.actor, &line)
                        .await;
                    assert!(
                        res.body.contains("\"error\""),
                        "{ctx}: JSON error body: {}",
                        res.body
                    );
                }
            }
        }
    }
    // Each caller allowed to acted on its own orders: fulfilled, then refunded 0.01.
    w.assert_orders(["partially_refunded 1 T{n}", "on_hold 0 ", "cancelled 0 "])
        .await;
    w.assert_reviews().await;
    for r in API.iter().filter(|r| r.0 != "GET") {
        assert!(
            worked.contains(r.1),
            "{} {}: no allowed caller ever succeeded (bad test body?)",
            r.0,
            r.1
        );
    }

    // Another object's ID: the owner (who may do everything) gets 404, never 200 or 500; a
    // cashier is refused before the ID is even looked at.
    let (owner, cashier) = (w.by("owner"), w.by("cashier"));
    for r in API
        .iter()
        .filter(|r| w.names_object(&api_template(r)) || w.names_object(r.3))
    {
        let path = w.fill(&api_template(r), true, 99);
        let body = (!r.3.is_empty()).then(|| w.fill(r.3, true, 99));
        let res = w.api(owner, r.0, &path, body.clone()).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "owner {} {path}: {}",
            r.0,
            res.body
        );
        if cashier.allows(r.4) == Some(false) {
            let res = w.api(cashier, r.0, &path, body).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "cashier {} {path}", r.0);
        }
    }
}

/// The shopper routes left out of the staff table (security `[{}]` in the OpenAPI document)
/// cannot hide a staff route: each refuses a request without the token its header
/// parameters name (401 naming the header, nothing changed), whoever sends it, staff
/// sessions and API keys included; the few that take no token are listed with a reason.
#[tokio::test]
async fn shopper_api_routes_take_only_their_token() {
    let w = world().await;
    roles_support::spec::assert_shopper_routes_take_only_their_token(&w).await;
}

#[tokio::test]
async fn every_admin_page_enforces_the_matrix() {
    let w = world().await;
    let pages = PAGES;
    let mut worked = BTreeSet::new();
    for (n, who) in w.who.iter().enumerate() {
        for r in pages {
            let path = w.fill_for(who, r.1, false, n);
            let form: Vec<(&str, String)> =
                r.2.iter().map(|(k, v)| (*k, w.fill(v, false, n))).collect();
            let ctx = format!("{} {} {path}", who.label, r.0);
            let before = w.before(who.may(r.3) != Some(true)).await;
            let res = w.page(who, r.0, &path, &form).await;
            if !who.is_staff() {
                // No session (an API key means nothing to the admin pages): off to sign in.
                assert_eq!(res.status, StatusCode::SEE_OTHER, "{ctx}");
                assert!(
                    res.location().starts_with("/admin/login"),
                    "{ctx}: {}",
                    res.location()
                );
                assert_eq!(w.snapshot().await, before.0, "{ctx}: changed something");
                continue;
            }
            match who.may(r.3) {
                Some(true) if r.0 == "GET" => {
                    assert_eq!(res.status, StatusCode::OK, "{ctx}: {}", res.body)
                }
                Some(true) => {
                    let s = res.status;
                    assert!(
                        s != StatusCode::UNAUTHORIZED
                            && s != StatusCode::FORBIDDEN
                            && !s.is_server_error(),
                        "{ctx}: {s} {}",
                        res.body
                    );
                    assert!(
                        !res.location().starts_with("/admin/login"),
                        "{ctx}: {}",
                        res.location()
                    );
                    // Sent to confirm the password first: let in, but not done.
                    let reauth = res.location().starts_with("/admin/reauth");
                    if (s.is_success() || s.is_redirection()) && !reauth {
                        worked.insert((r.0, r.1));
                    }
                }
                _ => {
                    let line = format!("{} {path}", r.0);
                    w.assert_refused(&ctx, res.status, &before, &who.actor, &line)
                        .await;
                    assert!(
                        res.body.contains("does not allow you"),
                        "{ctx}: says why: {}",
                        res.body
                    );
                }
            }
        }
    }
    for r in pages.iter().filter(|r| r.0 != "GET") {
        assert!(
            worked.contains(&(r.0, r.1)),
            "{} {}: no allowed caller ever succeeded (bad test form?)",
            r.0,
            r.1
        );
    }
    // Each caller allowed to acted on its own orders: refunded 0.01 then fulfilled, marked
    // paid, cancelled.
    w.assert_orders(["fulfilled 1 T{n}", "paid 0 ", "cancelled 0 "])
        .await;
    w.assert_reviews().await;
    // The owner's staff actions really happened to the target (and nobody else's did).
    let target = w.t.db.user(&w.ids["target"]).await.unwrap();
    assert_eq!(
        (
            target.role.as_str(),
            target.disabled,
            target.must_change_password
        ),
        ("manager", false, true),
        "role changed, disabled and enabled again, then secured"
    );
    assert!(w
        .t
        .db
        .sessions_of(&w.ids["target"])
        .await
        .unwrap()
        .is_empty());
    let open = w.t.db.pending_invitations().await.unwrap();
    assert!(
        open.iter().all(|i| i.id != w.ids["invitation"]),
        "withdrawn"
    );
    assert!(
        open.iter().any(|i| i.email == "invitee6@example.com"),
        "invited"
    );
    assert!(
        open.iter().all(|i| i.email == "invitee6@example.com"),
        "only the owner invited"
    );
    for r in pages.iter().filter(|r| w.names_object(r.1)) {
        let owner = w.by("owner");
        let path = w.fill_for(owner, r.1, true, 99);
        let form: Vec<(&str, String)> =
            r.2.iter().map(|(k, v)| (*k, w.fill(v, true, 99))).collect();
        let res = w.page(owner, r.0, &path, &form).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "owner {} {path}", r.0);
    }
}

/// The page table (with the routes left out on purpose) is exactly the admin routes the
/// source declares: a new admin page fails here until it is walked or explained.
#[test]
fn every_admin_route_in_the_source_is_in_the_table() {
    use roles_support::scan::{admin_routes, normalize};
    let source = admin_routes();
    let table: BTreeSet<(String, String)> = PAGES
        .iter()
        .map(|r| (r.0.to_string(), normalize(r.1)))
        .collect();
    assert_eq!(table.len(), PAGES.len(), "a route is in the table twice");
    let skipped: BTreeSet<(String, String)> = NOT_WALKED
        .iter()
        .map(|r| (r.0.to_string(), normalize(r.1)))
        .collect();
    assert!(NOT_WALKED.iter().all(|r| r.2.len() > 10), "give a reason");
    let both: Vec<_> = table.intersection(&skipped).collect();
    assert!(both.is_empty(), "walked and also left out: {both:?}");
    let known: BTreeSet<_> = table.union(&skipped).cloned().collect();
    let missing: Vec<_> = source.difference(&known).collect();
    assert!(
        missing.is_empty(),
        "admin routes neither walked by the role test nor left out with a reason \
         (add them to PAGES or NOT_WALKED in tests/roles_support/routes.rs): {missing:?}"
    );
    let stale: Vec<_> = known.difference(&source).collect();
    assert!(stale.is_empty(), "table rows with no such route: {stale:?}");
}

/// Who sees which buttons: the pages hide what a role may not use.
#[tokio::test]
async fn pages_hide_what_a_role_cannot_use() {
    let w = world().await;
    let (cashier, manager, owner) = (w.by("cashier"), w.by("manager"), w.by("owner"));
    let product = w.fill("/admin/products/{product}", false, 0);
    let stock = w.fill("/admin/variants/{variant}/stock", false, 0);
    let edit_form = format!("action=\"{product}\"");
    for (who, edits, keys) in [
        (cashier, false, false),
        (manager, true, false),
        (owner, true, true),
    ] {
        let dash = w.page(who, "GET", "/admin", &[]).await;
        let list = w.page(who, "GET", "/admin/products", &[]).await;
        let edit = w.page(who, "GET", &product, &[]).await;
        let st = w.page(who, "GET", &stock, &[]).await;
        for res in [&dash, &list, &edit, &st] {
            assert_eq!(res.status, StatusCode::OK, "{}", who.label);
        }
        let shown = [
            (
                "dashboard add link",
                dash.body.contains("/admin/products/new"),
                edits,
            ),
            (
                "dashboard keys link",
                dash.body.contains("/admin/api-keys"),
                keys,
            ),
            (
                "list add button",
                list.body.contains("/admin/products/new"),
                edits,
            ),
            ("product form", edit.body.contains(&edit_form), edits),
            (
                "archive button",
                edit.body.contains("Archive product"),
                edits,
            ),
            ("add-variant form", edit.body.contains("Add variant"), edits),
            ("stock forms", st.body.contains("/stock/adjust"), edits),
            (
                "the product",
                edit.body.contains("LS-M") && edit.body.contains("Linen Shirt"),
                true,
            ),
            ("the stock levels", st.body.contains("Main warehouse"), true),
            // Owners and managers hold Devices; the nav's Tills link follows it.
            (
                "Tills link",
                dash.body.contains("href=\"/admin/devices\""),
                edits,
            ),
        ];
        for (what, seen, expected) in shown {
            assert_eq!(seen, expected, "{} sees {what}", who.label);
        }
    }
}

/// Creating and revoking a key from the admin pages needs a recent password and is audited.
#[tokio::test]
async fn admin_key_changes_need_a_recent_password_and_are_audited() {
    let w = world().await;
    let owner = w.by("owner");
    let keys = w.t.db.api_keys().await.unwrap().len();
    w.t.clock.advance(6 * 60_000);
    let form = [
        ("name", "Late key".to_string()),
        ("scope", "read".to_string()),
    ];
    let res = w.page(owner, "POST", "/admin/api-keys", &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/admin/reauth?next=%2Fadmin%2Fapi-keys");
    let revoke = w.fill("/admin/api-keys/{key}/revoke", false, 0);
    let res = w.page(owner, "POST", &revoke, &[]).await;
    assert!(
        res.location().starts_with("/admin/reauth"),
        "{}",
        res.location()
    );
    let listed = w.t.db.api_keys().await.unwrap();
    assert_eq!(listed.len(), keys, "nothing created");
    assert!(
        listed.iter().all(|k| k.revoked_at.is_none()),
        "nothing revoked"
    );

    let signed = w.t.login().await;
    let fresh = roles_support::Who {
        cred: roles_support::Cred::Session {
            cookie: signed.0,
            csrf: signed.1,
        },
        ..owner.clone()
    };
    let res = w.page(&fresh, "POST", "/admin/api-keys", &form).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = w.page(&fresh, "POST", &revoke, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    for action in ["api_key.created", "api_key.revoked"] {
        let f = AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        let e = w.t.db.audit_entries(&f).await.unwrap();
        assert_eq!(e.len(), 1, "{action}");
        assert_eq!(e[0].actor, common::OWNER_EMAIL);
    }
}
