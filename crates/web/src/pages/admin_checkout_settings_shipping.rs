//! Shipping methods on the checkout settings page: add one (name; flat rate, free over an
//! amount, or collection; amount; threshold), change one, switch one on or off. Amounts are
//! typed as decimals in the shop's currency, in the same tax mode as product prices. Audited
//! as `settings.changed`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_store::StoreError;

use super::admin::checked_form;
use super::admin_checkout_settings::{done, settings_page, Choice, Extras, Owner, Problem, TARGET};
use super::admin_staff::log as record;
use super::render::{FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

const KINDS: [(ShippingKind, &str); 3] = [
    (ShippingKind::Flat, "Flat rate"),
    (ShippingKind::FreeOver, "Free over an amount"),
    (ShippingKind::Pickup, "Collection in person"),
];

/// What was typed into a shipping method form.
#[derive(Debug, Clone, Default)]
pub struct ShippingForm {
    /// Name shown to shoppers.
    pub name: String,
    /// `flat`, `free_over` or `pickup`.
    pub kind: String,
    /// Charge, as a decimal.
    pub amount: String,
    /// Free from this amount (free-over only), as a decimal.
    pub threshold: String,
    /// Offered to shoppers.
    pub enabled: bool,
}

impl ShippingForm {
    /// The empty add form (a flat rate, switched on).
    pub fn blank() -> Self {
        Self {
            kind: "flat".into(),
            enabled: true,
            ..Default::default()
        }
    }

    fn read(f: &FormData) -> Self {
        Self {
            name: f.text("name"),
            kind: f.text("kind"),
            amount: f.text("amount"),
            threshold: f.text("threshold"),
            enabled: f.checked("enabled"),
        }
    }

    fn of(state: &AppState, m: &ShippingMethod) -> Self {
        let c = &state.cfg.currency;
        Self {
            name: m.name.clone(),
            kind: m.kind.as_str().into(),
            amount: c.to_decimal(m.amount_minor),
            threshold: m
                .threshold_minor
                .map(|t| c.to_decimal(t))
                .unwrap_or_default(),
            enabled: m.enabled,
        }
    }

    /// The method these values describe, or the refused field and why.
    fn method(&self, state: &AppState, id: &str) -> Result<ShippingMethod, (&'static str, String)> {
        let kind = ShippingKind::parse(&self.kind).ok_or((
            "kind",
            "choose flat rate, free over an amount, or collection".into(),
        ))?;
        let c = &state.cfg.currency;
        let amount_minor = if self.amount.is_empty() {
            return Err(("amount", "enter the charge, like 3.50 (0 for free)".into()));
        } else {
            c.parse("amount", &self.amount)
                .map_err(|v| ("amount", v.message))?
        };
        let threshold_minor = match (kind, self.threshold.is_empty()) {
            (ShippingKind::FreeOver, false) => Some(
                c.parse("threshold", &self.threshold)
                    .map_err(|v| ("threshold", v.message))?,
            ),
            _ => None,
        };
        Ok(ShippingMethod {
            id: id.to_string(),
            name: self.name.clone(),
            kind,
            amount_minor,
            threshold_minor,
            enabled: self.enabled,
        })
    }
}

/// A shipping method as the page lists it, with its edit form's values.
pub struct MethodRow {
    /// ID.
    pub id: String,
    /// Stored name.
    pub name: String,
    /// How it charges, in words.
    pub summary: String,
    /// Offered to shoppers.
    pub enabled: bool,
    /// The edit form's values (typed ones after a refusal).
    pub form: ShippingForm,
    /// The kind drop-down.
    pub kinds: Vec<Choice>,
}

/// The kind drop-down with `chosen` selected.
pub fn kind_choices(chosen: &str) -> Vec<Choice> {
    KINDS
        .iter()
        .map(|(k, label)| Choice {
            value: k.as_str().into(),
            label: (*label).into(),
            selected: k.as_str() == chosen,
        })
        .collect()
}

fn summary(state: &AppState, m: &ShippingMethod) -> String {
    let c = &state.cfg.currency;
    match (m.kind, m.threshold_minor) {
        (ShippingKind::FreeOver, Some(t)) => {
            format!("{}, free from {}", c.format(m.amount_minor), c.format(t))
        }
        (ShippingKind::Pickup, _) => format!("collection, {}", c.format(m.amount_minor)),
        _ => format!("flat rate, {}", c.format(m.amount_minor)),
    }
}

/// Every method as a row; `edited` replaces one row's form values with what was typed.
pub async fn rows(
    state: &AppState,
    edited: Option<(String, ShippingForm)>,
) -> Result<Vec<MethodRow>, PageError> {
    let methods = state.db.shipping_methods(false).await?;
    Ok(methods
        .iter()
        .map(|m| {
            let form = match &edited {
                Some((id, typed)) if *id == m.id => typed.clone(),
                _ => ShippingForm::of(state, m),
            };
            MethodRow {
                id: m.id.clone(),
                name: m.name.clone(),
                summary: summary(state, m),
                enabled: m.enabled,
                kinds: kind_choices(&form.kind),
                form,
            }
        })
        .collect())
}

fn refusal(form: &'static str, e: StoreError) -> Result<Problem, PageError> {
    match e {
        StoreError::Invalid(v) => Ok(Problem::new(form, &v.field, &v.message)),
        other => Err(other.into()),
    }
}

/// `POST /admin/checkout-settings/shipping` (fields `name`, `kind`, `amount`, `threshold`,
/// `enabled`): add a shipping method.
pub async fn add(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = ShippingForm::read(&f);
    let problem = match form.method(&state, "") {
        Err((field, message)) => Problem::new("ship-new", field, &message),
        Ok(m) => match state.db.create_shipping_method(&m).await {
            Ok(saved) => {
                let details = format!(
                    "shipping method added: {} ({}{})",
                    saved.name,
                    summary(&state, &saved),
                    if saved.enabled { "" } else { ", switched off" }
                );
                record(&state, &s, &client, "settings.changed", TARGET, details).await?;
                return Ok(done("shipping"));
            }
            Err(e) => refusal("ship-new", e)?,
        },
    };
    let x = Extras {
        problem: Some(problem),
        ship_new: Some(form),
        ..Default::default()
    };
    settings_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, x).await
}

/// `POST /admin/checkout-settings/shipping/{id}` (the add form's fields): change a method.
pub async fn edit(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let old = state.db.shipping_method(&id).await?;
    let form = ShippingForm::read(&f);
    let problem = match form.method(&state, &id) {
        Err((field, message)) => Problem::new("ship-edit", field, &message),
        Ok(m) => match state.db.update_shipping_method(&m).await {
            Ok(saved) => {
                let details = format!(
                    "shipping method changed: {} ({}) -> {} ({}{})",
                    old.name,
                    summary(&state, &old),
                    saved.name,
                    summary(&state, &saved),
                    if saved.enabled { "" } else { ", switched off" }
                );
                record(&state, &s, &client, "settings.changed", TARGET, details).await?;
                return Ok(done("shipping"));
            }
            Err(e) => refusal("ship-edit", e)?,
        },
    };
    let x = Extras {
        problem: Some(Problem {
            row: id.clone(),
            ..problem
        }),
        ship_edit: Some((id, form)),
        ..Default::default()
    };
    settings_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, x).await
}

/// `POST /admin/checkout-settings/shipping/{id}/enabled` (field `enabled`: `yes` or `no`):
/// offer the method to shoppers or stop offering it.
pub async fn set_enabled(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let on = super::admin_checkout_settings::switched_on(&f)?;
    let m = state.db.shipping_method(&id).await?;
    let saved = state
        .db
        .update_shipping_method(&ShippingMethod { enabled: on, ..m })
        .await?;
    let details = format!(
        "shipping method {}: {}",
        if on { "switched on" } else { "switched off" },
        saved.name
    );
    record(&state, &s, &client, "settings.changed", TARGET, details).await?;
    Ok(done("shipping"))
}
