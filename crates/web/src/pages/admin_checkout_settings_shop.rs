//! The shop and tax rate forms of the checkout settings page: the shop's country, whether
//! prices include tax and where online orders ship from; a country's rate for a tax class
//! (added, changed, removed). Audited as `settings.changed`, saying what changed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_store::shop_settings::{ShopSettings, TaxRate};

use super::admin::checked_form;
use super::admin_checkout_settings::{
    done, parse_percent, settings_page, Extras, Owner, Problem, ShopForm, TaxForm, TARGET,
};
use super::admin_orders_format::percent;
use super::admin_staff::log as record;
use super::render::PageError;
use crate::middleware::ClientInfo;
use crate::AppState;

fn changes(old: &ShopSettings, new: &ShopSettings) -> String {
    let mut out = Vec::new();
    if old.country != new.country {
        out.push(format!("country {} -> {}", old.country, new.country));
    }
    if old.prices_include_tax != new.prices_include_tax {
        let word = |b: bool| if b { "included" } else { "added on top" };
        let (a, b) = (word(old.prices_include_tax), word(new.prices_include_tax));
        out.push(format!("tax in prices {a} -> {b}"));
    }
    if old.online_location_id != new.online_location_id {
        out.push("online stock location changed".into());
    }
    if out.is_empty() {
        "checkout: nothing changed".into()
    } else {
        format!("checkout: {}", out.join(", "))
    }
}

/// `POST /admin/checkout-settings/shop` (fields `country`, `prices_include_tax` checkbox,
/// `online_location`: a location ID, empty for the first location).
pub async fn save_shop(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = ShopForm {
        country: f.text("country").to_ascii_uppercase(),
        prices_include_tax: f.checked("prices_include_tax"),
        online_location: f.text("online_location"),
    };
    let loc = form.online_location.clone();
    let known = loc.is_empty()
        || state
            .db
            .locations()
            .await?
            .iter()
            .any(|l| l.id.as_str() == loc);
    let refuse = |field: &str, message: &str, form: ShopForm| Extras {
        problem: Some(Problem::new("shop", field, message)),
        shop: Some(form),
        ..Default::default()
    };
    if !known {
        let x = refuse("online_location", "choose one of the stock locations", form);
        return settings_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, x).await;
    }
    let old = state.db.shop_settings().await?;
    let new = ShopSettings {
        country: form.country.clone(),
        prices_include_tax: form.prices_include_tax,
        online_location_id: (!loc.is_empty()).then_some(loc),
    };
    match state.db.set_shop_settings(&new).await {
        Ok(saved) => {
            let details = changes(&old, &saved);
            record(&state, &s, &client, "settings.changed", TARGET, details).await?;
            Ok(done("shop"))
        }
        Err(storefort_store::StoreError::Invalid(v)) => {
            let x = refuse(&v.field, &v.message, form);
            settings_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, x).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/checkout-settings/tax-rates` (fields `tax_class`, `country`, `rate` in
/// percent): add a country's rate for a tax class, or change it.
pub async fn set_rate(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = TaxForm {
        tax_class: f.text("tax_class"),
        country: f.text("country").to_ascii_uppercase(),
        rate: f.text("rate"),
    };
    let classes = state.db.tax_classes().await?;
    let class = classes.iter().find(|c| c.id.as_str() == form.tax_class);
    let refuse = |field: &str, message: &str, form: TaxForm| Extras {
        problem: Some(Problem::new("tax", field, message)),
        tax: form,
        ..Default::default()
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(class) = class else {
        let x = refuse("tax_class", "choose one of the tax classes", form);
        return settings_page(&state, &s, unprocessable, x).await;
    };
    let Some(rate_bp) = parse_percent(&form.rate) else {
        let x = refuse("rate", "enter a percentage like 20 or 5.5", form);
        return settings_page(&state, &s, unprocessable, x).await;
    };
    let rate = TaxRate {
        tax_class_id: form.tax_class.clone(),
        country: form.country.clone(),
        rate_bp,
    };
    match state.db.set_tax_rate(&rate).await {
        Ok(saved) => {
            let details = format!(
                "tax rate set: {} in {} at {}",
                class.name,
                saved.country,
                percent(saved.rate_bp)
            );
            record(&state, &s, &client, "settings.changed", TARGET, details).await?;
            Ok(done("rate"))
        }
        Err(storefort_store::StoreError::Invalid(v)) => {
            let x = refuse(&v.field, &v.message, form);
            settings_page(&state, &s, unprocessable, x).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/checkout-settings/tax-rates/remove` (fields `tax_class`, `country`; an unknown
/// pair is 404).
pub async fn remove_rate(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let (class, country) = (f.text("tax_class"), f.text("country"));
    state.db.remove_tax_rate(&class, &country).await?;
    let name = state
        .db
        .tax_classes()
        .await?
        .into_iter()
        .find(|c| c.id.as_str() == class)
        .map_or(class, |c| c.name);
    let details = format!("tax rate removed: {name} in {country}");
    record(&state, &s, &client, "settings.changed", TARGET, details).await?;
    Ok(done("rate-removed"))
}
