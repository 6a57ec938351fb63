//! Fraud screening's settings and custom rules through the API (the Settings permission, as on
//! the admin page). Settings: `GET` shows every value (and every signal's points); `PUT`
//! changes the fields it names and keeps the rest, after checking the whole result (422 naming
//! the field, nothing saved). Rules: list, add, change, remove; an expression that does not
//! compile or give true or false is 422 with the interpreter's reason, a name already taken
//! 409. Every change is audited like on the page (`fraud.settings_changed`,
//! `fraud.rule_added`, `fraud.rule_changed`, `fraud.rule_removed`).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use storefort_core::fraud::{FraudSettings, Rule, Signal};
use storefort_store::fraud_settings::StoredRule;
use utoipa::ToSchema;

use super::orders::record;
use crate::auth::{perm, Api};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::middleware::ClientInfo;
use crate::pages::admin_fraud_settings::TARGET;
use crate::pages::admin_fraud_settings_form::{changes, domains};
use crate::AppState;

/// Screening's settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FraudSettingsDoc {
    /// Screening on. Off: every authorized payment is captured at once.
    pub enabled: bool,
    /// Score (1-100) at or above which an order is held for a phone check.
    pub review_threshold: u8,
    /// Score (review threshold-100) at or above which the payment is voided.
    pub block_threshold: u8,
    /// Points (-100..=100) of every signal, by name: `address_mismatch`, `high_total`,
    /// `expensive_quantity`, `new_customer_large`, `name_mismatch`, `phone_invalid`,
    /// `phone_country`, `disposable_email`, `velocity_orders`, `velocity_failed_payments`,
    /// `velocity_cards`, `velocity_addresses`, `cvc_failed`, `postcode_failed`,
    /// `three_d_secure_failed`, `ip_country`, `loyal_customer`.
    pub weights: BTreeMap<String, i32>,
    /// "High total": above this amount (minor units)...
    pub high_total_minor: i64,
    /// ...and above this multiple of the shop's typical order.
    pub high_total_multiple: u32,
    /// More units than this of items priced in the shop's top tenth.
    pub expensive_quantity: u32,
    /// A new customer's first order above this amount (minor units).
    pub new_customer_minor: i64,
    /// Velocity window, minutes.
    pub velocity_window_minutes: u32,
    /// More orders than this within the window fires.
    pub velocity_orders: u32,
    /// More failed payments than this within the window fires.
    pub velocity_failed_payments: u32,
    /// More distinct cards than this within the window fires.
    pub velocity_cards: u32,
    /// More distinct delivery addresses than this within the window fires.
    pub velocity_addresses: u32,
    /// Paid orders (no refunds) that make a customer loyal.
    pub loyal_paid_orders: u32,
    /// How long a card authorization lasts at the gateway, days.
    pub authorization_days: u32,
    /// Throwaway email domains added to the bundled list.
    pub extra_disposable_domains: Vec<String>,
    /// Domains never treated as throwaway.
    pub allowed_domains: Vec<String>,
}

impl From<&FraudSettings> for FraudSettingsDoc {
    fn from(s: &FraudSettings) -> Self {
        Self {
            enabled: s.enabled,
            review_threshold: s.review_threshold,
            block_threshold: s.block_threshold,
            weights: Signal::ALL
                .iter()
                .map(|g| (g.as_str().to_string(), s.points(*g)))
                .collect(),
            high_total_minor: s.high_total_minor,
            high_total_multiple: s.high_total_multiple,
            expensive_quantity: s.expensive_quantity,
            new_customer_minor: s.new_customer_minor,
            velocity_window_minutes: s.velocity_window_minutes,
            velocity_orders: s.velocity_orders,
            velocity_failed_payments: s.velocity_failed_payments,
            velocity_cards: s.velocity_cards,
            velocity_addresses: s.velocity_addresses,
            loyal_paid_orders: s.loyal_paid_orders,
            authorization_days: s.authorization_days,
            extra_disposable_domains: s.extra_disposable_domains.clone(),
            allowed_domains: s.allowed_domains.clone(),
        }
    }
}

/// A change to the settings: fields left out keep their current values; `weights` names only
/// the signals whose points change. The fields are those of [`FraudSettingsDoc`].
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FraudSettingsInput {
    /// Screening on.
    pub enabled: Option<bool>,
    /// 1-100.
    pub review_threshold: Option<u8>,
    /// Review threshold-100.
    pub block_threshold: Option<u8>,
    /// Points per signal name (-100..=100).
    pub weights: Option<BTreeMap<String, i32>>,
    /// Minor units.
    pub high_total_minor: Option<i64>,
    /// 1-100.
    pub high_total_multiple: Option<u32>,
    /// 1-10000.
    pub expensive_quantity: Option<u32>,
    /// Minor units.
    pub new_customer_minor: Option<i64>,
    /// 1-43200 minutes.
    pub velocity_window_minutes: Option<u32>,
    /// 1-10000.
    pub velocity_orders: Option<u32>,
    /// 1-10000.
    pub velocity_failed_payments: Option<u32>,
    /// 1-10000.
    pub velocity_cards: Option<u32>,
    /// 1-10000.
    pub velocity_addresses: Option<u32>,
    /// 1-10000.
    pub loyal_paid_orders: Option<u32>,
    /// 1-30 days.
    pub authorization_days: Option<u32>,
    /// Domains, like `spam.example`.
    pub extra_disposable_domains: Option<Vec<String>>,
    /// Domains, like `example.org`.
    pub allowed_domains: Option<Vec<String>>,
}

/// `current` with the fields `i` names replaced (not yet checked). Weights equal to a
/// signal's default are not stored, so later changes to defaults still reach them.
fn merged(current: &FraudSettings, i: FraudSettingsInput) -> ApiResult<FraudSettings> {
    let mut s = current.clone();
    macro_rules! take {
        ($($f:ident),*) => {$( if let Some(v) = i.$f { s.$f = v; } )*};
    }
    take!(
        enabled,
        review_threshold,
        block_threshold,
        high_total_minor,
        high_total_multiple,
        expensive_quantity,
        new_customer_minor,
        velocity_window_minutes,
        velocity_orders,
        velocity_failed_payments,
        velocity_cards,
        velocity_addresses,
        loyal_paid_orders,
        authorization_days
    );
    let tidy = |v: Vec<String>| -> Vec<String> { domains(&v.join("\n")) };
    if let Some(v) = i.extra_disposable_domains {
        s.extra_disposable_domains = tidy(v);
    }
    if let Some(v) = i.allowed_domains {
        s.allowed_domains = tidy(v);
    }
    for (name, points) in i.weights.unwrap_or_default() {
        let Some(sig) = Signal::parse(&name) else {
            let shown: String = name.chars().take(40).collect();
            return Err(ApiError::invalid(
                format!("weights.{shown}"),
                "not a signal: see the weights GET returns for their names",
            ));
        };
        if points == sig.default_points() {
            s.weights.remove(&sig);
        } else {
            s.weights.insert(sig, points);
        }
    }
    Ok(s)
}

/// The screening settings.
#[utoipa::path(get, path = "/api/v1/admin/fraud/settings", tag = "fraud",
    responses((status = 200, body = FraudSettingsDoc), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn settings(
    _p: Api<perm::Settings>,
    State(s): State<AppState>,
) -> ApiResult<Json<FraudSettingsDoc>> {
    Ok(Json((&s.db.fraud_settings().await?).into()))
}

/// Change the screening settings (fields left out keep their values). 422 naming the field
/// (`review_threshold`, `weights.cvc_failed`, ...) when a value is out of range; nothing is
/// saved then. Audited as `fraud.settings_changed`.
#[utoipa::path(put, path = "/api/v1/admin/fraud/settings", tag = "fraud", request_body = FraudSettingsInput,
    responses((status = 200, body = FraudSettingsDoc), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_settings(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    ApiJson(i): ApiJson<FraudSettingsInput>,
) -> ApiResult<Json<FraudSettingsDoc>> {
    let old = s.db.fraud_settings().await?;
    let new = merged(&old, i)?;
    s.db.save_fraud_settings(&new).await?;
    let details = format!("{}, via the API", changes(&old, &new, &s.cfg.currency));
    record(&s, &p, &client, "fraud.settings_changed", TARGET, details).await?;
    Ok(Json((&new).into()))
}

/// A custom rule to add or change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Unique name: 1-40 letters, digits, `_` or `-`.
    pub name: String,
    /// CEL expression giving true or false, e.g.
    /// `order.total > 50000 && billing.country != shipping.country`.
    pub expression: String,
    /// Points added when true (-100..=100).
    pub points: i32,
    /// The sentence staff see when it fires (1-200 characters).
    pub reason: String,
    /// Evaluated for new orders (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl RuleInput {
    fn rule(&self) -> Rule {
        Rule {
            name: self.name.trim().to_string(),
            expression: self.expression.trim().to_string(),
            points: self.points,
            reason: self.reason.trim().to_string(),
        }
    }
}

fn described(r: &Rule, enabled: bool) -> String {
    let expr: String = r.expression.chars().take(500).collect();
    let on = if enabled { "on" } else { "off" };
    format!(
        "rule {}: {:+} points when {expr}, {on}, via the API",
        r.name, r.points
    )
}

/// Every custom rule, by name.
#[utoipa::path(get, path = "/api/v1/admin/fraud/rules", tag = "fraud",
    responses((status = 200, body = Vec<StoredRule>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rules(
    _p: Api<perm::Settings>,
    State(s): State<AppState>,
) -> ApiResult<Json<Vec<StoredRule>>> {
    Ok(Json(s.db.fraud_rules().await?))
}

/// Add a rule. 422 (field `name`, `expression`, `points` or `reason`) when it is refused, 409
/// when the name is taken; nothing saved then. Audited as `fraud.rule_added`.
#[utoipa::path(post, path = "/api/v1/admin/fraud/rules", tag = "fraud", request_body = RuleInput,
    responses((status = 201, body = StoredRule), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_rule(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    ApiJson(i): ApiJson<RuleInput>,
) -> ApiResult<(StatusCode, Json<StoredRule>)> {
    let rule = i.rule();
    let mut saved = s.db.add_fraud_rule(&rule).await?;
    if !i.enabled {
        saved = s.db.update_fraud_rule(&saved.id, &rule, false).await?;
    }
    let details = described(&saved.rule, saved.enabled);
    record(&s, &p, &client, "fraud.rule_added", TARGET, details).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Change a rule (checked like a new one; 404 for an unknown ID). Audited as
/// `fraud.rule_changed`.
#[utoipa::path(put, path = "/api/v1/admin/fraud/rules/{id}", tag = "fraud", params(("id" = String, Path)),
    request_body = RuleInput,
    responses((status = 200, body = StoredRule), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_rule(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    ApiJson(i): ApiJson<RuleInput>,
) -> ApiResult<Json<StoredRule>> {
    let saved = s.db.update_fraud_rule(&id, &i.rule(), i.enabled).await?;
    let details = described(&saved.rule, saved.enabled);
    record(&s, &p, &client, "fraud.rule_changed", TARGET, details).await?;
    Ok(Json(saved))
}

/// Remove a rule (404 for an unknown ID). Audited as `fraud.rule_removed`.
#[utoipa::path(delete, path = "/api/v1/admin/fraud/rules/{id}", tag = "fraud", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_rule(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let name = s.db.delete_fraud_rule(&id).await?;
    let details = format!("rule {name}, via the API");
    record(&s, &p, &client, "fraud.rule_removed", TARGET, details).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let cur = FraudSettings::default();
        let i: FraudSettingsInput = serde_json::from_str(
            r#"{"review_threshold": 60, "weights": {"cvc_failed": 50, "address_mismatch": 25},
                "extra_disposable_domains": ["Spam.example", "spam.example"]}"#,
        )
        .unwrap();
        let s = merged(&cur, i).unwrap();
        assert_eq!(s.review_threshold, 60);
        assert_eq!(s.block_threshold, cur.block_threshold);
        assert_eq!(s.points(Signal::CvcFailed), 50);
        assert_eq!(s.weights.len(), 1, "a default is not stored");
        assert_eq!(s.extra_disposable_domains, ["spam.example"]);
        let bad: FraudSettingsInput =
            serde_json::from_str(r#"{"weights": {"moon_phase": 5}}"#).unwrap();
        let e = merged(&cur, bad).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.field.as_deref()),
            (422, Some("weights.moon_phase"))
        );
        let doc = FraudSettingsDoc::from(&cur);
        assert_eq!(doc.weights.len(), Signal::ALL.len());
    }
}
