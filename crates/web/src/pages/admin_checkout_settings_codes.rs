//! Discount codes on the checkout settings page: add one (code; percent or fixed amount off;
//! minimum spend; last day it works; how many orders may use it), switch one on or off, and
//! the list with how often each was used. Audited as `settings.changed`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::pricing::{DiscountCode, DiscountKind};
use storefort_store::StoreError;

use super::admin::checked_form;
use super::admin_checkout_settings::{
    done, parse_percent, settings_page, Choice, Extras, Owner, Problem, TARGET,
};
use super::admin_orders_filters::day_start;
use super::admin_orders_view::percent;
use super::admin_staff::log as record;
use super::render::{utc, FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What was typed into the new discount code form.
#[derive(Debug, Clone, Default)]
pub struct CodeForm {
    /// What shoppers type.
    pub code: String,
    /// `percent` or `fixed`.
    pub kind: String,
    /// Percentage or amount, as typed.
    pub value: String,
    /// Minimum spend, as a decimal (empty: none).
    pub min_spend: String,
    /// Last day the code works, `YYYY-MM-DD` (empty: never expires).
    pub expires: String,
    /// How many orders may use it (empty: no limit).
    pub usage_limit: String,
    /// Switched on.
    pub enabled: bool,
    /// The kind drop-down.
    pub kinds: Vec<Choice>,
}

fn kinds(chosen: &str) -> Vec<Choice> {
    [("percent", "Percent off"), ("fixed", "Amount off")]
        .into_iter()
        .map(|(v, l)| Choice {
            value: v.into(),
            label: l.into(),
            selected: v == chosen,
        })
        .collect()
}

impl CodeForm {
    /// The empty form (percent off, switched on).
    pub fn blank() -> Self {
        Self {
            kind: "percent".into(),
            enabled: true,
            kinds: kinds("percent"),
            ..Default::default()
        }
    }

    fn read(f: &FormData) -> Self {
        let kind = f.text("kind");
        Self {
            code: f.text("code"),
            value: f.text("value"),
            min_spend: f.text("min_spend"),
            expires: f.text("expires"),
            usage_limit: f.text("usage_limit"),
            enabled: f.checked("enabled"),
            kinds: kinds(&kind),
            kind,
        }
    }

    /// The code these values describe, or the refused field and why.
    fn code(&self, state: &AppState) -> Result<DiscountCode, (&'static str, String)> {
        let c = &state.cfg.currency;
        let kind = DiscountKind::parse(&self.kind)
            .ok_or(("kind", "choose percent off or amount off".to_string()))?;
        let value = match kind {
            DiscountKind::Percent => parse_percent(&self.value)
                .ok_or(("value", "enter a percentage like 10 or 12.5".to_string()))?,
            DiscountKind::Fixed => c
                .parse("value", &self.value)
                .map_err(|v| ("value", v.message))?,
        };
        let min_spend_minor = if self.min_spend.is_empty() {
            0
        } else {
            c.parse("min_spend", &self.min_spend)
                .map_err(|v| ("min_spend", v.message))?
        };
        let expires_at = if self.expires.is_empty() {
            None
        } else {
            let start = day_start(&self.expires).ok_or((
                "expires",
                "enter the last day the code works, like 2025-12-31 (YYYY-MM-DD)".to_string(),
            ))?;
            // Works to the end of the day given.
            let end = start + DAY_MS;
            if end <= state.db.now() {
                return Err(("expires", "must be today or later".into()));
            }
            Some(end)
        };
        let usage_limit = if self.usage_limit.is_empty() {
            None
        } else {
            Some(self.usage_limit.parse::<i64>().map_err(|_| {
                (
                    "usage_limit",
                    "enter a whole number, or leave it empty for no limit".to_string(),
                )
            })?)
        };
        Ok(DiscountCode {
            id: String::new(),
            code: self.code.clone(),
            kind,
            value,
            min_spend_minor,
            expires_at,
            usage_limit,
            used_count: 0,
            enabled: self.enabled,
        })
    }
}

/// A discount code as the page lists it.
pub struct CodeRow {
    /// ID.
    pub id: String,
    /// The code.
    pub code: String,
    /// `10%` or `£5.00`.
    pub value: String,
    /// Minimum spend, or `-`.
    pub min_spend: String,
    /// Last moment it works (UTC), or `never`.
    pub expires: String,
    /// `3 of 10` or `3 (no limit)`.
    pub uses: String,
    /// Switched on.
    pub enabled: bool,
}

fn value_text(state: &AppState, d: &DiscountCode) -> String {
    match d.kind {
        DiscountKind::Percent => format!("{} off", percent(d.value)),
        DiscountKind::Fixed => format!("{} off", state.cfg.currency.format(d.value)),
    }
}

/// Every code, newest first.
pub async fn rows(state: &AppState) -> Result<Vec<CodeRow>, PageError> {
    let c = &state.cfg.currency;
    Ok(state
        .db
        .discount_codes()
        .await?
        .iter()
        .map(|d| CodeRow {
            id: d.id.clone(),
            code: d.code.clone(),
            value: value_text(state, d),
            min_spend: if d.min_spend_minor > 0 {
                c.format(d.min_spend_minor)
            } else {
                "-".into()
            },
            // Stored as the first instant it no longer works; show the last minute it does.
            expires: d.expires_at.map_or("never".into(), |t| utc(t - 60_000)),
            uses: match d.usage_limit {
                Some(n) => format!("{} of {n}", d.used_count),
                None => format!("{} (no limit)", d.used_count),
            },
            enabled: d.enabled,
        })
        .collect())
}

/// `POST /admin/checkout-settings/discounts` (fields `code`, `kind`, `value`, `min_spend`,
/// `expires`, `usage_limit`, `enabled`): add a code. A code already in use is 409.
pub async fn add(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = CodeForm::read(&f);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    let problem = match form.code(&state) {
        Err((field, message)) => Problem::new("code-new", field, &message),
        Ok(d) => match state.db.create_discount_code(&d).await {
            Ok(saved) => {
                let details = format!(
                    "discount code added: {} ({}{})",
                    saved.code,
                    value_text(&state, &saved),
                    if saved.enabled { "" } else { ", switched off" }
                );
                record(&state, &s, &client, "settings.changed", TARGET, details).await?;
                return Ok(done("code"));
            }
            Err(StoreError::Invalid(v)) => Problem::new("code-new", &v.field, &v.message),
            Err(StoreError::Conflict { .. }) => {
                status = StatusCode::CONFLICT;
                Problem::new(
                    "code-new",
                    "code",
                    "there is already a code like this; choose another",
                )
            }
            Err(e) => return Err(e.into()),
        },
    };
    let x = Extras {
        problem: Some(problem),
        code_new: Some(form),
        ..Default::default()
    };
    settings_page(&state, &s, status, x).await
}

/// `POST /admin/checkout-settings/discounts/{id}/enabled` (field `enabled`: `yes` or `no`).
pub async fn set_enabled(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let on = super::admin_checkout_settings::switched_on(&f)?;
    let d = state.db.discount_code(&id).await?;
    state.db.set_discount_enabled(&id, on).await?;
    let details = format!(
        "discount code {}: {}",
        if on { "switched on" } else { "switched off" },
        d.code
    );
    record(&state, &s, &client, "settings.changed", TARGET, details).await?;
    Ok(done("code"))
}
