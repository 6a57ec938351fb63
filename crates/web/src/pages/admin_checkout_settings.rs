//! The owner's checkout settings page: the shop's country, whether prices include tax, the
//! stock location online orders ship from, and tax rates per tax class and destination
//! country. Shipping methods are in [`super::admin_checkout_settings_shipping`], discount codes
//! in [`super::admin_checkout_settings_codes`]; all three share the one page rendered here.
//! Every change is audited as `settings.changed`, saying what changed. A refused form shows
//! the page again (422, the field named, what was typed kept) and stores nothing.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::admin::{see_other, AdminChrome};
use super::admin_checkout_settings_codes as codes;
use super::admin_checkout_settings_shipping as shipping;
use super::admin_checkout_settings_shop as shop;
use super::admin_orders_view::percent;
use super::render::{page, url_with, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::AppState;

/// Staff who may change settings (owners).
pub type Owner = Admin<perm::Settings>;

/// The page.
pub const PAGE: &str = "/admin/checkout-settings";
/// The audit target of every change here.
pub const TARGET: &str = "checkout-settings";

/// This module's routes (and those of the shipping and discount code forms).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(show))
        .route("/admin/checkout-settings/shop", post(shop::save_shop))
        .route("/admin/checkout-settings/tax-rates", post(shop::set_rate))
        .route(
            "/admin/checkout-settings/tax-rates/remove",
            post(shop::remove_rate),
        )
        .route("/admin/checkout-settings/shipping", post(shipping::add))
        .route(
            "/admin/checkout-settings/shipping/{id}",
            post(shipping::edit),
        )
        .route(
            "/admin/checkout-settings/shipping/{id}/enabled",
            post(shipping::set_enabled),
        )
        .route("/admin/checkout-settings/discounts", post(codes::add))
        .route(
            "/admin/checkout-settings/discounts/{id}/enabled",
            post(codes::set_enabled),
        )
}

/// A refused form: which form (`shop`, `tax`, `ship-new`, `ship-edit`, `code-new`), which row
/// (a shipping method's ID for `ship-edit`), which input, and the sentence shown.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// The form.
    pub form: &'static str,
    /// The row, for per-row forms.
    pub row: String,
    /// The input's name.
    pub field: String,
    /// What went wrong.
    pub text: String,
}

/// A person's name for an input of these forms (store field names accepted too).
pub fn label(field: &str) -> &'static str {
    match field.trim_end_matches("_minor") {
        "country" => "Country",
        "online_location" | "location" => "Online stock location",
        "tax_class" => "Tax class",
        "rate" => "Rate",
        "name" => "Name",
        "kind" => "Kind",
        "amount" => "Amount",
        "threshold" => "Free over",
        "code" => "Code",
        "value" => "Value",
        "min_spend" => "Minimum spend",
        "expires" => "Expiry date",
        "usage_limit" => "Usage limit",
        _ => "Value",
    }
}

impl Problem {
    /// A refusal of `field` in `form` with `message` (the text starts with the field's label).
    pub fn new(form: &'static str, field: &str, message: &str) -> Self {
        let field = field.trim_end_matches("_minor").to_string();
        Self {
            form,
            row: String::new(),
            text: format!("{}: {message}", label(&field)),
            field,
        }
    }
}

/// A percentage typed by a person (`20`, `12.5`, `7.25%`) in basis points.
pub fn parse_percent(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches('%').trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 2 || whole.len() > 6 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let hundredths: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    Some(whole * 100 + hundredths)
}

/// What was typed into the shop form.
#[derive(Debug, Clone, Default)]
pub struct ShopForm {
    /// Country code.
    pub country: String,
    /// Prices include tax.
    pub prices_include_tax: bool,
    /// Location ID (empty: the first location).
    pub online_location: String,
}

/// What was typed into the tax rate form.
#[derive(Debug, Clone, Default)]
pub struct TaxForm {
    /// Tax class ID.
    pub tax_class: String,
    /// Destination country.
    pub country: String,
    /// Rate in percent, as typed.
    pub rate: String,
}

/// Everything the page shows besides what is stored.
#[derive(Debug, Default)]
pub struct Extras {
    /// A refused form.
    pub problem: Option<Problem>,
    /// A success notice.
    pub notice: Option<&'static str>,
    /// The shop form as typed.
    pub shop: Option<ShopForm>,
    /// The tax rate form as typed.
    pub tax: TaxForm,
    /// The new shipping method form as typed.
    pub ship_new: Option<shipping::ShippingForm>,
    /// A shipping method's edit form as typed: (method ID, values).
    pub ship_edit: Option<(String, shipping::ShippingForm)>,
    /// The new discount code form as typed.
    pub code_new: Option<codes::CodeForm>,
}

/// A choice in a drop-down.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Submitted value.
    pub value: String,
    /// Shown label.
    pub label: String,
    /// Selected now.
    pub selected: bool,
}

struct RateRow {
    class_id: String,
    class_name: String,
    country: String,
    rate: String,
}

#[derive(Template)]
#[template(path = "admin_checkout_settings.html")]
struct SettingsPage {
    admin: AdminChrome,
    notice: Option<&'static str>,
    problem: Problem,
    failed: bool,
    shop: ShopForm,
    locations: Vec<Choice>,
    classes: Vec<Choice>,
    rates: Vec<RateRow>,
    tax: TaxForm,
    methods: Vec<shipping::MethodRow>,
    ship_new: shipping::ShippingForm,
    kinds: Vec<Choice>,
    codes: Vec<codes::CodeRow>,
    code_new: codes::CodeForm,
}

/// Render the page with `status`.
pub async fn settings_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    x: Extras,
) -> Result<Response, PageError> {
    let stored = state.db.shop_settings().await?;
    let shop = x.shop.unwrap_or_else(|| ShopForm {
        country: stored.country.clone(),
        prices_include_tax: stored.prices_include_tax,
        online_location: stored.online_location_id.clone().unwrap_or_default(),
    });
    let classes = state.db.tax_classes().await?;
    let names: HashMap<String, String> = classes
        .iter()
        .map(|c| (c.id.as_str().to_string(), c.name.clone()))
        .collect();
    let rates = state
        .db
        .tax_rates()
        .await?
        .into_iter()
        .map(|r| RateRow {
            class_name: names.get(&r.tax_class_id).cloned().unwrap_or_default(),
            class_id: r.tax_class_id,
            country: r.country,
            rate: percent(r.rate_bp),
        })
        .collect();
    let locations = state
        .db
        .locations()
        .await?
        .into_iter()
        .map(|l| Choice {
            selected: l.id.as_str() == shop.online_location,
            value: l.id.as_str().to_string(),
            label: l.name,
        })
        .collect();
    let class_choices = classes
        .iter()
        .map(|c| Choice {
            selected: c.id.as_str() == x.tax.tax_class,
            value: c.id.as_str().to_string(),
            label: format!("{} (default {})", c.name, percent(c.rate_bp)),
        })
        .collect();
    let ship_new = x.ship_new.unwrap_or_else(shipping::ShippingForm::blank);
    let t = SettingsPage {
        admin: AdminChrome::new(state, s, "checkout-settings"),
        notice: x.notice,
        failed: x.problem.is_some(),
        problem: x.problem.unwrap_or_default(),
        shop,
        locations,
        classes: class_choices,
        rates,
        tax: x.tax,
        methods: shipping::rows(state, x.ship_edit).await?,
        kinds: shipping::kind_choices(&ship_new.kind),
        ship_new,
        codes: codes::rows(state).await?,
        code_new: x.code_new.unwrap_or_else(codes::CodeForm::blank),
    };
    Ok(page(status, &t))
}

/// The `enabled` field of a Switch on / Switch off button: `yes` or `no`.
pub fn switched_on(f: &super::render::FormData) -> Result<bool, PageError> {
    match f.get("enabled") {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(PageError::bad_request(
            "Press Switch on or Switch off on the page.",
        )),
    }
}

/// Back to the page with a notice.
pub fn done(what: &str) -> Response {
    see_other(&url_with(PAGE, &[("done", what)]))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "shop" => "Shop settings saved.",
        "rate" => "Tax rate saved.",
        "rate-removed" => "Tax rate removed; the class's default rate applies there again.",
        "shipping" => "Shipping method saved.",
        "code" => "Discount code saved.",
        _ => return None,
    })
}

/// `GET /admin/checkout-settings`.
pub async fn show(
    s: Owner,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let x = Extras {
        notice: q.get("done").and_then(|d| notice_for(d)),
        ..Default::default()
    };
    settings_page(&state, &s, StatusCode::OK, x).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_typed_by_people() {
        assert_eq!(parse_percent("20"), Some(2000));
        assert_eq!(parse_percent("12.5"), Some(1250));
        assert_eq!(parse_percent(" 7.25% "), Some(725));
        assert_eq!(parse_percent("0"), Some(0));
        assert_eq!(parse_percent("150"), Some(15000));
        for bad in ["", "-1", "1.234", "ten", ".5", "1e3", "9999999"] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
        assert_eq!(label("amount_minor"), "Amount");
        assert_eq!(
            Problem::new("ship-new", "threshold_minor", "x").text,
            "Free over: x"
        );
    }
}
