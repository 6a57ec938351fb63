//! The owner's fraud screening settings page (the Settings permission): screening on or off,
//! the review and block thresholds, the points of every signal, the numeric limits (amounts in
//! the shop's currency as typed by people, "500.00"), extra throwaway and allowed email
//! domains; and the custom rules ([`super::admin_fraud_settings_rules`]) on the same page.
//! A refused form shows the page again (422, the field named and marked, what was typed kept)
//! and saves nothing. Every change is audited (`fraud.settings_changed`, saying what changed).

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_core::fraud::{Signal, VARIABLES};

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_fraud_settings_form::{changes, input_of, Problem, SettingsForm, NUMBERS};
use super::admin_fraud_settings_rules as rules;
use super::admin_staff::log as record;
use super::render::{page, url_with, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Staff who may change screening (owners).
pub type Owner = Admin<perm::Settings>;

/// The page.
pub const PAGE: &str = "/admin/fraud-settings";
/// The audit target of every change here.
pub const TARGET: &str = "fraud-settings";
/// The example rule shown as help.
pub const EXAMPLE: &str = "order.total > 50000 && billing.country != shipping.country";

/// This module's routes (and the custom rules' forms).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(show).post(save))
        .route("/admin/fraud-settings/rules", post(rules::add))
        .route("/admin/fraud-settings/rules/{id}", post(rules::edit))
        .route(
            "/admin/fraud-settings/rules/{id}/enabled",
            post(rules::set_enabled),
        )
        .route(
            "/admin/fraud-settings/rules/{id}/remove",
            post(rules::remove),
        )
}

/// Everything the page shows besides what is stored.
#[derive(Debug, Default)]
pub struct Extras {
    /// A refused form.
    pub problem: Option<Problem>,
    /// A success notice.
    pub notice: Option<&'static str>,
    /// The settings form as typed.
    pub settings: Option<SettingsForm>,
    /// The new rule form as typed.
    pub rule_new: Option<rules::RuleForm>,
    /// A rule's edit form as typed: (rule ID, values).
    pub rule_edit: Option<(String, rules::RuleForm)>,
}

struct NumberRow {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    money: bool,
    value: String,
    invalid: bool,
}

struct SignalRow {
    name: String,
    label: &'static str,
    default_points: i32,
    value: String,
    invalid: bool,
}

#[derive(Template)]
#[template(path = "admin_fraud_settings.html")]
struct SettingsPage {
    admin: AdminChrome,
    notice: Option<&'static str>,
    problem: Problem,
    failed: bool,
    enabled: bool,
    numbers: Vec<NumberRow>,
    signals: Vec<SignalRow>,
    extra_domains: String,
    allowed_domains: String,
    currency: String,
    rules: Vec<rules::RuleRow>,
    rule_new: rules::RuleForm,
    variables: &'static [(&'static str, &'static str)],
    example: &'static str,
}

/// Render the page with `status`.
pub async fn settings_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    x: Extras,
) -> Result<Response, PageError> {
    let cur = state.cfg.currency;
    let form = match x.settings {
        Some(f) => f,
        None => SettingsForm::of(&state.db.fraud_settings().await?, &cur),
    };
    let problem = x.problem.unwrap_or_default();
    let bad = |input: &str| problem.form == "settings" && problem.input == input;
    let numbers = NUMBERS
        .iter()
        .map(|n| NumberRow {
            name: n.0,
            label: n.1,
            hint: n.2,
            money: n.3,
            value: form.value(n.0).to_string(),
            invalid: bad(n.0),
        })
        .collect();
    let signals = Signal::ALL
        .iter()
        .zip(&form.points)
        .map(|(g, v)| {
            let name = format!("points_{}", g.as_str());
            SignalRow {
                invalid: bad(&name),
                name,
                label: g.label(),
                default_points: g.default_points(),
                value: v.clone(),
            }
        })
        .collect();
    let t = SettingsPage {
        admin: AdminChrome::new(state, s, "fraud-settings"),
        notice: x.notice,
        failed: !problem.text.is_empty(),
        enabled: form.enabled,
        numbers,
        signals,
        extra_domains: form.extra_domains,
        allowed_domains: form.allowed_domains,
        currency: cur.code.to_string(),
        rules: rules::rows(state, &problem, x.rule_edit).await?,
        rule_new: x.rule_new.unwrap_or_else(rules::RuleForm::blank),
        variables: VARIABLES,
        example: EXAMPLE,
        problem,
    };
    Ok(page(status, &t))
}

/// Back to the page with a notice.
pub fn done(what: &str) -> Response {
    see_other(&url_with(PAGE, &[("done", what)]))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "settings" => "Screening settings saved. They apply to orders paid from now on.",
        "rule-added" => "Rule added. It applies to orders paid from now on.",
        "rule-saved" => "Rule saved.",
        "rule-removed" => "Rule removed.",
        _ => return None,
    })
}

/// `GET /admin/fraud-settings`.
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

/// `POST /admin/fraud-settings`: every setting at once (an unticked `enabled` turns screening
/// off; an empty points box means the signal's default). Audited as `fraud.settings_changed`.
pub async fn save(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = SettingsForm::from_form(&f);
    let cur = state.cfg.currency;
    let refused = |p: Problem, form: SettingsForm| Extras {
        problem: Some(p),
        settings: Some(form),
        ..Default::default()
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let new = match form.settings(&cur) {
        Ok(n) => n,
        Err(p) => return settings_page(&state, &s, unprocessable, refused(p, form)).await,
    };
    let old = state.db.fraud_settings().await?;
    match state.db.save_fraud_settings(&new).await {
        Ok(()) => {
            let details = changes(&old, &new, &cur);
            record(
                &state,
                &s,
                &client,
                "fraud.settings_changed",
                TARGET,
                details,
            )
            .await?;
            Ok(done("settings"))
        }
        Err(storefort_store::StoreError::Invalid(v)) => {
            let p = Problem::new("settings", &input_of(&v.field), &v.message);
            settings_page(&state, &s, unprocessable, refused(p, form)).await
        }
        Err(e) => Err(e.into()),
    }
}
