//! The fraud screening settings page and API: every setting shown and saved (amounts typed in
//! the shop's currency), refused input (thresholds out of range, bad numbers, bad points) shown
//! again with 422, the field named and marked, what was typed kept and nothing saved; custom
//! rules added, changed, switched off and removed, an expression that does not compile refused
//! with the interpreter's reason and a taken name with 409; every change audited; owners only.

mod admin_customers_support;
mod admin_orders_support;
mod common;
mod reviews_support;
mod staff_support;

use admin_customers_support::{owner, staff, Staff};
use axum::http::{Method, StatusCode};
use common::{app, Res, TestApp};
use reviews_support::api;
use staff_support::audit_log;
use storefort_core::fraud::{FraudSettings, Signal};

const PAGE: &str = "/admin/fraud-settings";

/// (fields changed from the defaults, the message shown, the input marked).
type Case = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

/// The whole settings form with the defaults, as the page would post it.
fn defaults_form() -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("enabled", "on"),
        ("review_threshold", "50"),
        ("block_threshold", "85"),
        ("high_total", "500.00"),
        ("high_total_multiple", "3"),
        ("expensive_quantity", "5"),
        ("new_customer", "200.00"),
        ("velocity_window_minutes", "1440"),
        ("velocity_orders", "5"),
        ("velocity_failed_payments", "3"),
        ("velocity_cards", "2"),
        ("velocity_addresses", "2"),
        ("loyal_paid_orders", "2"),
        ("authorization_days", "7"),
        ("extra_disposable_domains", ""),
        ("allowed_domains", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for s in Signal::ALL {
        f.push((format!("points_{}", s.as_str()), String::new()));
    }
    f
}

fn with(mut f: Vec<(String, String)>, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in changes {
        f.retain(|(name, _)| name != k);
        if *v != "<absent>" {
            f.push((k.to_string(), v.to_string()));
        }
    }
    f
}

async fn post(t: &TestApp, who: &Staff, path: &str, f: &[(String, String)]) -> Res {
    let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    who.post(t, path, &form).await
}

#[tokio::test]
async fn the_page_shows_and_saves_every_setting() {
    let t = app().await;
    let o = owner(&t).await;
    let page = o.get(&t, PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    for want in [
        "name=\"review_threshold\"",
        "value=\"500.00\"",
        "value=\"200.00\"",
        "Card security code (CVC) did not match",
        "Loyal returning customer (lowers the score)",
        "order.total &#62; 50000 &#38;&#38; billing.country != shipping.country",
        "velocity.cards",
        "No custom rules yet.",
        "href=\"/admin/fraud-settings\" aria-current=\"page\"",
    ] {
        assert!(page.body.contains(want), "page shows {want}: {}", page.body);
    }
    for s in Signal::ALL {
        assert!(page
            .body
            .contains(&format!("name=\"points_{}\"", s.as_str())));
    }

    let f = with(
        defaults_form(),
        &[
            ("enabled", "<absent>"),
            ("review_threshold", "60"),
            ("high_total", "750.5"),
            ("points_cvc_failed", "55"),
            ("points_address_mismatch", ""),
            ("extra_disposable_domains", "Spam.Example\n\nother.test\n"),
        ],
    );
    let res = post(&t, &o, PAGE, &f).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/fraud-settings?done=settings");
    let s = t.db.fraud_settings().await.unwrap();
    assert!(!s.enabled);
    assert_eq!(s.review_threshold, 60);
    assert_eq!(s.high_total_minor, 75_050);
    assert_eq!(s.points(Signal::CvcFailed), 55);
    assert_eq!(
        s.points(Signal::AddressMismatch),
        Signal::AddressMismatch.default_points()
    );
    assert_eq!(s.extra_disposable_domains, ["spam.example", "other.test"]);
    let shown = o.get(&t, res.location()).await;
    assert!(shown.body.contains("Screening settings saved."));
    assert!(shown.body.contains("value=\"750.50\""));
    let audited = audit_log(&t, "fraud.settings_changed").await;
    assert_eq!(audited.len(), 1);
    let d = &audited[0].details;
    let cvc = format!(
        "points cvc_failed {} -> 55",
        Signal::CvcFailed.default_points()
    );
    for want in [
        "screening on -> off",
        "review threshold 50 -> 60",
        "high total £500.00 -> £750.50",
        cvc.as_str(),
        "extra throwaway domains: 0 -> 2 entries",
    ] {
        assert!(d.contains(want), "{d}");
    }
}

#[tokio::test]
async fn refused_settings_name_the_field_and_save_nothing() {
    let t = app().await;
    let o = owner(&t).await;
    let cases: &[Case] = &[
        (
            &[("review_threshold", "0")],
            "Review threshold: must be a score from 1 to 100",
            "review_threshold",
        ),
        (
            &[("review_threshold", "101")],
            "Review threshold: must be a score from 1 to 100",
            "review_threshold",
        ),
        (
            &[("block_threshold", "101")],
            "Block threshold: must be a score up to 100",
            "block_threshold",
        ),
        (
            &[("review_threshold", "70"), ("block_threshold", "60")],
            "Block threshold: must be at least the review threshold (70)",
            "block_threshold",
        ),
        (
            &[("review_threshold", "ten")],
            "Review threshold: enter a whole number",
            "review_threshold",
        ),
        (
            &[("velocity_cards", "")],
            "Different cards within the window: enter a number",
            "velocity_cards",
        ),
        (
            &[("authorization_days", "31")],
            "Card authorisations last (days): must be from 1 to 30",
            "authorization_days",
        ),
        (
            &[("high_total", "5.555")],
            "High order total: enter an amount like 12.50",
            "high_total",
        ),
        (
            &[("points_cvc_failed", "150")],
            "Points for",
            "points_cvc_failed",
        ),
        (
            &[("points_cvc_failed", "lots")],
            "Points for",
            "points_cvc_failed",
        ),
        (
            &[("allowed_domains", "me@example.com")],
            "Allowed domains:",
            "allowed_domains",
        ),
    ];
    let before = t.db.fraud_settings().await.unwrap();
    assert_eq!(before, FraudSettings::default());
    for (changes, message, input) in cases {
        let f = with(defaults_form(), changes);
        let res = post(&t, &o, PAGE, &f).await;
        let ctx = format!("{changes:?}");
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{ctx}");
        assert!(res.body.contains(message), "{ctx}: {}", res.body);
        assert!(
            res.body
                .contains(&format!("id=\"fraud-{input}\" name=\"{input}\"")),
            "{ctx}"
        );
        let marked = res
            .body
            .split(&format!("id=\"fraud-{input}\""))
            .nth(1)
            .unwrap();
        let tag_end = marked.find('>').unwrap();
        assert!(
            marked[..tag_end].contains("aria-invalid=\"true\""),
            "{ctx}: marked"
        );
        let typed = changes.last().unwrap().1;
        assert!(res.body.contains(typed), "{ctx}: typed value kept");
        assert_eq!(
            t.db.fraud_settings().await.unwrap(),
            before,
            "{ctx}: nothing saved"
        );
    }
    assert!(audit_log(&t, "fraud.settings_changed").await.is_empty());
}

#[tokio::test]
async fn custom_rules_are_checked_saved_changed_and_removed() {
    let t = app().await;
    let o = owner(&t).await;
    let rule = |name: &'static str, expr: &'static str| {
        vec![
            ("name".to_string(), name.to_string()),
            ("expression".to_string(), expr.to_string()),
            ("points".to_string(), "30".to_string()),
            (
                "reason".to_string(),
                "Large order shipped abroad".to_string(),
            ),
        ]
    };
    let add = "/admin/fraud-settings/rules";
    for (expr, says) in [
        ("order.total >", "Expression: the expression"),
        ("order.total > \"lots\"", "Expression: the expression"),
        ("order.weight > 5", "Expression: the expression"),
    ] {
        let res = post(&t, &o, add, &rule("abroad", expr)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{expr}");
        assert!(res.body.contains(says), "{expr}: {}", res.body);
        assert!(res.body.contains("id=\"rule-new-expression\" name=\"expression\" rows=\"2\" required class=\"key\" placeholder"));
        assert!(
            t.db.fraud_rules().await.unwrap().is_empty(),
            "{expr}: nothing saved"
        );
    }
    let bad_points = with(rule("abroad", "order.total > 1"), &[("points", "many")]);
    let res = post(&t, &o, add, &bad_points).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Points: enter whole points"));

    let good = rule(
        "abroad",
        "order.total > 50000 && billing.country != shipping.country",
    );
    let res = post(&t, &o, add, &good).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let rules = t.db.fraud_rules().await.unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].enabled);
    assert_eq!(rules[0].rule.points, 30);
    let page = o.get(&t, PAGE).await;
    assert!(page.body.contains("value=\"abroad\""));
    assert!(page.body.contains("Large order shipped abroad"));
    // The same name again: 409, still one rule.
    let res = post(&t, &o, add, &good).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("exists already"), "{}", res.body);
    assert_eq!(t.db.fraud_rules().await.unwrap().len(), 1);

    let id = rules[0].id.clone();
    let edit = format!("/admin/fraud-settings/rules/{id}");
    let broken = with(good.clone(), &[("expression", "billing.country ==")]);
    let res = post(&t, &o, &edit, &broken).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.db.fraud_rules().await.unwrap(),
        rules,
        "edit refused: unchanged"
    );
    let changed = with(good, &[("points", "45"), ("enabled", "on")]);
    let res = post(&t, &o, &edit, &changed).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(t.db.fraud_rules().await.unwrap()[0].rule.points, 45);
    let res = o
        .post(&t, &format!("{edit}/enabled"), &[("enabled", "no")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!t.db.fraud_rules().await.unwrap()[0].enabled);
    let res = o.post(&t, &format!("{edit}/remove"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(t.db.fraud_rules().await.unwrap().is_empty());
    let res = o.post(&t, &format!("{edit}/remove"), &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    assert_eq!(audit_log(&t, "fraud.rule_added").await.len(), 1);
    assert_eq!(audit_log(&t, "fraud.rule_changed").await.len(), 2);
    let removed = audit_log(&t, "fraud.rule_removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].details, "rule abroad");
}

#[tokio::test]
async fn only_owners_change_screening() {
    let t = app().await;
    for role in ["cashier", "manager"] {
        let who = staff(&t, role).await;
        let res = who.get(&t, PAGE).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}");
        let f = with(defaults_form(), &[("review_threshold", "10")]);
        let res = post(&t, &who, PAGE, &f).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}");
        let dash = who.get(&t, "/admin").await;
        assert!(
            !dash.body.contains("href=\"/admin/fraud-settings\""),
            "{role}"
        );
        let res = api(&t, &who, Method::GET, "/api/v1/admin/fraud/settings", None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}");
    }
    assert_eq!(
        t.db.fraud_settings().await.unwrap(),
        FraudSettings::default()
    );
}

#[tokio::test]
async fn the_api_reads_and_changes_settings_and_rules() {
    let t = app().await;
    let o = owner(&t).await;
    let path = "/api/v1/admin/fraud/settings";
    let res = api(&t, &o, Method::GET, path, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let v: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(v["review_threshold"], 50);
    assert_eq!(v["weights"].as_object().unwrap().len(), Signal::ALL.len());

    for (body, field) in [
        (r#"{"review_threshold": 0}"#, "review_threshold"),
        (r#"{"review_threshold": 101}"#, "review_threshold"),
        (r#"{"block_threshold": 101}"#, "block_threshold"),
        (
            r#"{"review_threshold": 90, "block_threshold": 80}"#,
            "block_threshold",
        ),
        (r#"{"review_threshold": 300}"#, "review_threshold"),
        (r#"{"weights": {"cvc_failed": 500}}"#, "weights.cvc_failed"),
        (r#"{"weights": {"moon_phase": 5}}"#, "weights.moon_phase"),
        (r#"{"strictness": "high"}"#, "strictness"),
    ] {
        let res = api(&t, &o, Method::PUT, path, Some(body)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            res.body.contains(&format!("\"field\":\"{field}\"")),
            "{body}: {}",
            res.body
        );
        assert_eq!(
            t.db.fraud_settings().await.unwrap(),
            FraudSettings::default(),
            "{body}"
        );
    }
    let body = r#"{"review_threshold": 55, "weights": {"cvc_failed": 45}}"#;
    let res = api(&t, &o, Method::PUT, path, Some(body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let s = t.db.fraud_settings().await.unwrap();
    assert_eq!((s.review_threshold, s.block_threshold), (55, 85));
    assert_eq!(s.points(Signal::CvcFailed), 45);
    let audited = audit_log(&t, "fraud.settings_changed").await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0].details.contains("review threshold 50 -> 55"));

    let rules = "/api/v1/admin/fraud/rules";
    let bad = r#"{"name":"abroad","expression":"order.total >","points":30,"reason":"Abroad"}"#;
    let res = api(&t, &o, Method::POST, rules, Some(bad)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("\"field\":\"expression\""),
        "{}",
        res.body
    );
    assert!(t.db.fraud_rules().await.unwrap().is_empty());
    let good = r#"{"name":"abroad","expression":"order.total > 50000 && billing.country != shipping.country","points":30,"reason":"Abroad"}"#;
    let res = api(&t, &o, Method::POST, rules, Some(good)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let made: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["name"], "abroad");
    let res = api(&t, &o, Method::POST, rules, Some(good)).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("\"field\":\"name\""));
    let one = format!("{rules}/{id}");
    let off = r#"{"name":"abroad","expression":"order.total > 60000","points":20,"reason":"Abroad","enabled":false}"#;
    let res = api(&t, &o, Method::PUT, &one, Some(off)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let listed = api(&t, &o, Method::GET, rules, None).await;
    assert!(
        listed.body.contains("order.total > 60000") && listed.body.contains("\"enabled\":false")
    );
    let res = api(&t, &o, Method::DELETE, &one, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = api(&t, &o, Method::DELETE, &one, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    for action in [
        "fraud.rule_added",
        "fraud.rule_changed",
        "fraud.rule_removed",
    ] {
        assert_eq!(audit_log(&t, action).await.len(), 1, "{action}");
    }
}
