//! The custom rules section of the fraud settings page: each rule (name, CEL expression,
//! points, the sentence staff see, on or off), the form to add one, and per rule the edit,
//! switch on/off and remove forms. A rule is compiled and tried on sample orders before it is
//! saved: an expression that does not compile or does not give true or false is refused with
//! 422 and the interpreter's reason; a name already taken with 409. Nothing is saved on a
//! refusal. Changes are audited (`fraud.rule_added`, `fraud.rule_changed`,
//! `fraud.rule_removed`) with the rule's name, points and expression: the owner's own text,
//! no customer data.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::fraud::Rule;
use storefort_store::fraud_settings::StoredRule;
use storefort_store::StoreError;

use super::admin::checked_form;
use super::admin_fraud_settings::{done, settings_page, Extras, Owner, TARGET};
use super::admin_fraud_settings_form::Problem;
use super::admin_staff::log as record;
use super::render::{seg, utc, FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// A rule as typed.
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    /// Name.
    pub name: String,
    /// CEL expression.
    pub expression: String,
    /// Points, as typed.
    pub points: String,
    /// Sentence for staff.
    pub reason: String,
    /// Switched on.
    pub enabled: bool,
}

impl RuleForm {
    /// The empty add form (25 points, on).
    pub fn blank() -> Self {
        Self {
            points: "25".into(),
            enabled: true,
            ..Default::default()
        }
    }

    fn of(r: &StoredRule) -> Self {
        Self {
            name: r.rule.name.clone(),
            expression: r.rule.expression.clone(),
            points: r.rule.points.to_string(),
            reason: r.rule.reason.clone(),
            enabled: r.enabled,
        }
    }

    fn from_form(f: &FormData) -> Self {
        Self {
            name: f.text("name"),
            expression: f.text("expression"),
            points: f.text("points"),
            reason: f.text("reason"),
            enabled: f.checked("enabled"),
        }
    }

    /// The rule, or the refused input and why (points must be a whole number; the rest is
    /// checked when the store compiles the rule).
    fn rule(&self, form: &'static str) -> Result<Rule, Problem> {
        let points = self
            .points
            .parse::<i64>()
            .map_err(|_| Problem::new(form, "points", "enter whole points, like 25 or -10"))?;
        Ok(Rule {
            name: self.name.clone(),
            expression: self.expression.clone(),
            points: i32::try_from(points.clamp(-1000, 1000)).unwrap_or(0),
            reason: self.reason.clone(),
        })
    }
}

/// A saved rule on the page, with its edit form's values.
pub struct RuleRow {
    /// The rule's ID (URL-safe).
    pub id: String,
    /// The edit form (as stored, or as typed after a refusal).
    pub form: RuleForm,
    /// On, as stored.
    pub enabled: bool,
    /// Last changed (UTC).
    pub updated: String,
    /// The input to mark after a refused edit of this rule.
    pub invalid: String,
}

/// Every rule, the one being edited with what was typed.
pub async fn rows(
    state: &AppState,
    problem: &Problem,
    edit: Option<(String, RuleForm)>,
) -> Result<Vec<RuleRow>, PageError> {
    Ok(state
        .db
        .fraud_rules()
        .await?
        .iter()
        .map(|r| {
            let typed = edit.as_ref().filter(|(id, _)| *id == r.id);
            let failed = problem.form == "rule-edit" && problem.row == r.id;
            RuleRow {
                id: seg(&r.id),
                form: typed.map_or_else(|| RuleForm::of(r), |(_, f)| f.clone()),
                enabled: r.enabled,
                updated: utc(r.updated_at),
                invalid: if failed {
                    problem.input.clone()
                } else {
                    String::new()
                },
            }
        })
        .collect())
}

/// The store's refusal as a problem on `form` (422 for bad input, 409 for a taken name), or a
/// real error (404 for an unknown rule).
fn refusal(e: StoreError, form: &'static str) -> Result<(StatusCode, Problem), PageError> {
    match e {
        StoreError::Invalid(v) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Problem::new(form, &v.field, &v.message),
        )),
        StoreError::State { field, message } => {
            Ok((StatusCode::CONFLICT, Problem::new(form, &field, &message)))
        }
        other => Err(other.into()),
    }
}

fn described(r: &Rule) -> String {
    let expr: String = r.expression.chars().take(500).collect();
    format!("rule {}: {:+} points when {expr}", r.name, r.points)
}

/// `POST /admin/fraud-settings/rules` (fields `name`, `expression`, `points`, `reason`): add
/// a rule, switched on. Audited as `fraud.rule_added`.
pub async fn add(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = RuleForm::from_form(&f);
    let result = match form.rule("rule-new") {
        Ok(rule) => state
            .db
            .add_fraud_rule(&rule)
            .await
            .map_err(|e| refusal(e, "rule-new")),
        Err(p) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, p))),
    };
    match result {
        Ok(saved) => {
            let details = described(&saved.rule);
            record(&state, &s, &client, "fraud.rule_added", TARGET, details).await?;
            Ok(done("rule-added"))
        }
        Err(refused) => {
            let (status, p) = refused?;
            let x = Extras {
                problem: Some(p),
                rule_new: Some(form),
                ..Default::default()
            };
            settings_page(&state, &s, status, x).await
        }
    }
}

/// `POST /admin/fraud-settings/rules/{id}` (the add form's fields plus `enabled`, a
/// checkbox): change a rule. Audited as `fraud.rule_changed`.
pub async fn edit(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = RuleForm::from_form(&f);
    let result = match form.rule("rule-edit") {
        Ok(rule) => state
            .db
            .update_fraud_rule(&id, &rule, form.enabled)
            .await
            .map_err(|e| refusal(e, "rule-edit")),
        Err(p) => Err(Ok((StatusCode::UNPROCESSABLE_ENTITY, p))),
    };
    match result {
        Ok(saved) => {
            let on = if saved.enabled { "on" } else { "off" };
            let details = format!("{}, {on}", described(&saved.rule));
            record(&state, &s, &client, "fraud.rule_changed", TARGET, details).await?;
            Ok(done("rule-saved"))
        }
        Err(refused) => {
            let (status, mut p) = refused?;
            // An unknown rule is a 404 page, not a refusal shown on the form.
            if !state.db.fraud_rules().await?.iter().any(|r| r.id == id) {
                return Err(PageError::not_found());
            }
            p.row = id.clone();
            let x = Extras {
                problem: Some(p),
                rule_edit: Some((id, form)),
                ..Default::default()
            };
            settings_page(&state, &s, status, x).await
        }
    }
}

/// `POST /admin/fraud-settings/rules/{id}/enabled` (field `enabled`: `yes` or `no`): switch a
/// rule on or off. Audited as `fraud.rule_changed`.
pub async fn set_enabled(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let on = super::admin_checkout_settings::switched_on(&f)?;
    let rules = state.db.fraud_rules().await?;
    let Some(stored) = rules.iter().find(|r| r.id == id) else {
        return Err(PageError::not_found());
    };
    let saved = state.db.update_fraud_rule(&id, &stored.rule, on).await?;
    let details = format!(
        "rule {} switched {}",
        saved.rule.name,
        if on { "on" } else { "off" }
    );
    record(&state, &s, &client, "fraud.rule_changed", TARGET, details).await?;
    Ok(done("rule-saved"))
}

/// `POST /admin/fraud-settings/rules/{id}/remove`: delete a rule (an unknown one is 404).
/// Audited as `fraud.rule_removed`.
pub async fn remove(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let name = state.db.delete_fraud_rule(&id).await?;
    let details = format!("rule {name}");
    record(&state, &s, &client, "fraud.rule_removed", TARGET, details).await?;
    Ok(done("rule-removed"))
}
