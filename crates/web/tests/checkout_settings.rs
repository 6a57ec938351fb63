//! The owner's checkout settings page: shop country and tax mode, tax rates per country,
//! shipping methods and discount codes; every change audited; refused values (422 naming the
//! field, what was typed kept, nothing stored); owners only.

mod admin_customers_support;
mod common;
mod staff_support;

use admin_customers_support::{owner, staff};
use axum::http::StatusCode;
use common::app;
use staff_support::audit_log;
use storefort_core::pricing::{DiscountKind, ShippingKind};

const PAGE: &str = "/admin/checkout-settings";

/// A posted form, the field label its refusal must name, and the status.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, StatusCode);

/// `YYYY-MM-DD` of a UTC instant.
fn day(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test]
async fn owner_adds_and_switches_shipping_methods() {
    let t = app().await;
    let o = owner(&t).await;
    let page = o.get(&t, PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Checkout settings"));

    let res = o
        .post(
            &t,
            "/admin/checkout-settings/shipping",
            &[
                ("name", "Royal Mail 2nd class"),
                ("kind", "free_over"),
                ("amount", "3.50"),
                ("threshold", "40"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let all = t.db.shipping_methods(false).await.unwrap();
    assert_eq!(all.len(), 1);
    let m = &all[0];
    assert_eq!(
        (
            m.name.as_str(),
            m.kind,
            m.amount_minor,
            m.threshold_minor,
            m.enabled
        ),
        (
            "Royal Mail 2nd class",
            ShippingKind::FreeOver,
            350,
            Some(4000),
            true
        )
    );
    let shown = o.get(&t, res.location()).await;
    assert!(
        shown.body.contains("Shipping method saved.") && shown.body.contains("free from £40.00")
    );
    let audited = audit_log(&t, "settings.changed").await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0]
        .details
        .contains("shipping method added: Royal Mail 2nd class"));

    // Switch off, then change it to a flat rate.
    let off = o
        .post(
            &t,
            &format!("/admin/checkout-settings/shipping/{}/enabled", m.id),
            &[("enabled", "no")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(!t.db.shipping_method(&m.id).await.unwrap().enabled);
    assert!(t.db.shipping_methods(true).await.unwrap().is_empty());
    let edit = o
        .post(
            &t,
            &format!("/admin/checkout-settings/shipping/{}", m.id),
            &[
                ("name", "Courier"),
                ("kind", "flat"),
                ("amount", "6"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER, "{}", edit.body);
    let m2 = t.db.shipping_method(&m.id).await.unwrap();
    assert_eq!(
        (m2.name.as_str(), m2.kind, m2.amount_minor, m2.enabled),
        ("Courier", ShippingKind::Flat, 600, true)
    );
    assert_eq!(audit_log(&t, "settings.changed").await.len(), 3);

    // Refused: an edit with a negative amount keeps the stored method.
    let bad = o
        .post(
            &t,
            &format!("/admin/checkout-settings/shipping/{}", m.id),
            &[("name", "Courier"), ("kind", "flat"), ("amount", "-1")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Amount:"), "{}", bad.body);
    assert_eq!(t.db.shipping_method(&m.id).await.unwrap(), m2);
}

#[tokio::test]
async fn refused_shipping_methods_name_the_field_and_store_nothing() {
    let t = app().await;
    let o = owner(&t).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("name", "Post"), ("kind", "flat"), ("amount", "-3.50")],
            "Amount:",
        ),
        (
            &[("name", "Post"), ("kind", "flat"), ("amount", "3.505")],
            "Amount:",
        ),
        (&[("name", ""), ("kind", "flat"), ("amount", "3")], "Name:"),
        (
            &[("name", "Post"), ("kind", "drone"), ("amount", "3")],
            "Kind:",
        ),
        (
            &[("name", "Post"), ("kind", "free_over"), ("amount", "3")],
            "Free over:",
        ),
    ];
    for (form, field) in cases {
        let res = o.post(&t, "/admin/checkout-settings/shipping", form).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(res.body.contains(field), "{form:?}: {}", res.body);
        assert!(res.body.contains("aria-invalid=\"true\""), "{form:?}");
        // What was typed is kept.
        assert!(
            res.body.contains(&format!("value=\"{}\"", form[2].1)),
            "{form:?}"
        );
    }
    assert!(t.db.shipping_methods(false).await.unwrap().is_empty());
    assert!(audit_log(&t, "settings.changed").await.is_empty());
}

#[tokio::test]
async fn owner_adds_discount_codes_and_bad_values_are_refused() {
    let t = app().await;
    let o = owner(&t).await;
    let next_week = day(t.db.now() + 7 * 24 * 60 * 60 * 1000);
    let res = o
        .post(
            &t,
            "/admin/checkout-settings/discounts",
            &[
                ("code", " summer10 "),
                ("kind", "percent"),
                ("value", "12.5"),
                ("min_spend", "20"),
                ("expires", next_week.as_str()),
                ("usage_limit", "5"),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let codes = t.db.discount_codes().await.unwrap();
    assert_eq!(codes.len(), 1);
    let d = &codes[0];
    assert_eq!(
        (
            d.code.as_str(),
            d.kind,
            d.value,
            d.min_spend_minor,
            d.usage_limit,
            d.enabled
        ),
        ("SUMMER10", DiscountKind::Percent, 1250, 2000, Some(5), true)
    );
    // Works through the whole last day.
    let expires = d.expires_at.unwrap();
    assert!(expires > t.db.now() + 7 * 24 * 60 * 60 * 1000 - 1);
    assert_eq!(day(expires - 1), next_week);
    let page = o.get(&t, PAGE).await;
    assert!(page.body.contains("SUMMER10") && page.body.contains("12.5% off"));
    assert!(page.body.contains("0 of 5"));
    assert!(audit_log(&t, "settings.changed").await[0]
        .details
        .contains("discount code added: SUMMER10"));

    let off = o
        .post(
            &t,
            &format!("/admin/checkout-settings/discounts/{}/enabled", d.id),
            &[("enabled", "no")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert!(!t.db.discount_code(&d.id).await.unwrap().enabled);

    let yesterday = day(t.db.now() - 24 * 60 * 60 * 1000);
    let cases: [Case; 7] = [
        (
            &[("code", "BIG"), ("kind", "percent"), ("value", "150")],
            "Value:",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &[("code", "BIG"), ("kind", "percent"), ("value", "ten")],
            "Value:",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &[("code", "BIG"), ("kind", "fixed"), ("value", "-5")],
            "Value:",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &[("code", "no spaces"), ("kind", "fixed"), ("value", "5")],
            "Code:",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &[
                ("code", "BIG"),
                ("kind", "fixed"),
                ("value", "5"),
                ("usage_limit", "0"),
            ],
            "Usage limit:",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &[
                ("code", "BIG"),
                ("kind", "fixed"),
                ("value", "5"),
                ("expires", yesterday.as_str()),
            ],
            "Expiry date:",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &[("code", "Summer10"), ("kind", "fixed"), ("value", "5")],
            "Code:",
            StatusCode::CONFLICT,
        ),
    ];
    for (form, field, status) in cases {
        let res = o.post(&t, "/admin/checkout-settings/discounts", form).await;
        assert_eq!(res.status, status, "{form:?}");
        assert!(res.body.contains(field), "{form:?}: {}", res.body);
    }
    assert_eq!(t.db.discount_codes().await.unwrap().len(), 1);
    assert_eq!(audit_log(&t, "settings.changed").await.len(), 2);
}

#[tokio::test]
async fn shop_settings_and_tax_rates() {
    let t = app().await;
    let o = owner(&t).await;
    let res = o
        .post(
            &t,
            "/admin/checkout-settings/shop",
            &[
                ("country", "de"),
                ("online_location", t.location.id.0.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let s = t.db.shop_settings().await.unwrap();
    assert_eq!(
        (
            s.country.as_str(),
            s.prices_include_tax,
            s.online_location_id.as_deref()
        ),
        ("DE", false, Some(t.location.id.0.as_str()))
    );
    let changed = audit_log(&t, "settings.changed").await;
    assert!(
        changed[0].details.contains("country GB -> DE"),
        "{}",
        changed[0].details
    );

    for (form, field) in [
        (
            vec![("country", "ZZ"), ("prices_include_tax", "on")],
            "Country:",
        ),
        (
            vec![("country", "GB"), ("online_location", "nowhere")],
            "Online stock location:",
        ),
    ] {
        let res = o.post(&t, "/admin/checkout-settings/shop", &form).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(res.body.contains(field), "{form:?}: {}", res.body);
    }
    assert_eq!(t.db.shop_settings().await.unwrap(), s);

    // A country rate for the default tax class.
    let class = t.db.tax_classes().await.unwrap().remove(0);
    let class_id = class.id.0.clone();
    let set = o
        .post(
            &t,
            "/admin/checkout-settings/tax-rates",
            &[
                ("tax_class", class_id.as_str()),
                ("country", "fr"),
                ("rate", "5.5"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert_eq!(t.db.tax_rate_for(&class_id, "FR").await.unwrap(), 550);
    for (form, field) in [
        (
            vec![
                ("tax_class", class_id.as_str()),
                ("country", "QQ"),
                ("rate", "20"),
            ],
            "Country:",
        ),
        (
            vec![
                ("tax_class", class_id.as_str()),
                ("country", "IT"),
                ("rate", "120"),
            ],
            "Rate:",
        ),
        (
            vec![
                ("tax_class", class_id.as_str()),
                ("country", "IT"),
                ("rate", "-1"),
            ],
            "Rate:",
        ),
        (
            vec![("tax_class", "nope"), ("country", "IT"), ("rate", "20")],
            "Tax class:",
        ),
    ] {
        let res = o
            .post(&t, "/admin/checkout-settings/tax-rates", &form)
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(res.body.contains(field), "{form:?}: {}", res.body);
    }
    assert_eq!(t.db.tax_rates().await.unwrap().len(), 1);
    let removed = o
        .post(
            &t,
            "/admin/checkout-settings/tax-rates/remove",
            &[("tax_class", class_id.as_str()), ("country", "FR")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(t.db.tax_rates().await.unwrap().is_empty());
    assert_eq!(
        t.db.tax_rate_for(&class_id, "FR").await.unwrap(),
        class.rate_bp
    );
}

#[tokio::test]
async fn only_owners_change_checkout_settings() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    assert_eq!(m.get(&t, PAGE).await.status, StatusCode::FORBIDDEN);
    let res = m
        .post(
            &t,
            "/admin/checkout-settings/shipping",
            &[("name", "Post"), ("kind", "flat"), ("amount", "3")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(t.db.shipping_methods(false).await.unwrap().is_empty());
    // The nav shows the link to owners only.
    let dash = m.get(&t, "/admin").await;
    assert!(!dash.body.contains("href=\"/admin/checkout-settings\""));
    assert!(dash.body.contains("href=\"/admin/orders\""));
    let o = owner(&t).await;
    let dash = o.get(&t, "/admin").await;
    assert!(dash.body.contains("href=\"/admin/checkout-settings\""));
}
