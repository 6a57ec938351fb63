//! "Tills" settings (owners and managers: the Devices permission): how the tills behave
//! ([`PosSettings`]: idle lock, offline grace and limit, the cashier's discount limit, the cash
//! variance that needs a manager), the stock alerts offline sales left ("sold 3 more than the
//! shop had", each with a "Recounted" action) and the latest shifts, each linking to its Z
//! report ([`super::admin_shifts`]). A refused settings form shows the page again (422, the
//! field named and marked, what was typed kept) and saves nothing. Audited:
//! `pos.settings_changed`, `pos.stock_alert_resolved`.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_store::StoreError;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_devices::{ago, TillManager};
use super::admin_pos_form::{changes, input_of, PosForm, Problem, FIELDS};
use super::admin_staff::log;
use super::render::{page, seg, url_with, utc, PageError};
use crate::auth::AdminSession;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The page.
pub const PAGE: &str = "/admin/pos";
/// Audit target of settings changes.
const TARGET: &str = "pos-settings";
/// Open stock alerts shown.
const ALERTS: i64 = 200;
/// Latest shifts shown.
const SHIFTS: i64 = 50;

/// This module's routes (and the Z report's).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(show).post(save))
        .route("/admin/pos/alerts/{id}/resolve", post(resolve))
        .route("/admin/shifts/{id}", get(super::admin_shifts::show))
}

struct FieldRow {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: String,
    money: bool,
    invalid: bool,
}

struct AlertRow {
    id: String,
    name: String,
    sku: String,
    location: String,
    short_by: i64,
    order_url: String,
    order_number: i64,
    stock_url: String,
    when: String,
}

struct ShiftRow {
    url: String,
    number: i64,
    device: String,
    location: String,
    open: bool,
    opened_by: String,
    opened: String,
    closed: String,
    expected: String,
    counted: String,
    variance: String,
    over_threshold: bool,
}

#[derive(Template)]
#[template(path = "admin_pos.html")]
struct PosPage {
    admin: AdminChrome,
    notice: Option<&'static str>,
    problem: Option<String>,
    fields: Vec<FieldRow>,
    currency: String,
    alerts: Vec<AlertRow>,
    shifts: Vec<ShiftRow>,
}

/// `+£1.00` over, `-£1.00` short, `£0.00` even.
pub fn signed(state: &AppState, minor: i64) -> String {
    let cur = state.cfg.currency;
    if minor > 0 {
        format!("+{}", cur.format(minor))
    } else {
        cur.format(minor)
    }
}

async fn pos_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    typed: Option<PosForm>,
    problem: Option<Problem>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let cur = state.cfg.currency;
    let settings = state.db.pos_settings().await?;
    let form = typed.unwrap_or_else(|| PosForm::of(&settings, &cur));
    let bad = problem.as_ref().map(|p| p.input).unwrap_or("");
    let fields = FIELDS
        .iter()
        .zip(form.0)
        .map(|(f, value)| FieldRow {
            name: f.0,
            label: f.1,
            hint: f.2,
            money: f.3 == super::admin_pos_form::Kind::Money,
            invalid: f.0 == bad,
            value,
        })
        .collect();
    let now = state.db.now();
    let alerts = state
        .db
        .stock_alerts(true, ALERTS)
        .await?
        .into_iter()
        .map(|a| AlertRow {
            id: seg(&a.id),
            order_url: format!("/admin/orders/{}", seg(&a.order_id)),
            stock_url: format!("/admin/variants/{}/stock", seg(&a.variant_id)),
            name: a.name,
            sku: a.sku,
            location: a.location_name,
            short_by: a.short_by,
            order_number: a.order_number,
            when: ago(now, a.created_at),
        })
        .collect();
    let shifts = state
        .db
        .shifts(SHIFTS)
        .await?
        .into_iter()
        .map(|x| ShiftRow {
            url: format!("/admin/shifts/{}", seg(&x.id)),
            number: x.number,
            open: x.status == "open",
            device: x.device_name,
            location: x.location_name,
            opened_by: x.opened_by_name,
            opened: utc(x.opened_at),
            closed: x.closed_at.map(utc).unwrap_or_default(),
            expected: x.expected_minor.map(|m| cur.format(m)).unwrap_or_default(),
            counted: x.counted_minor.map(|m| cur.format(m)).unwrap_or_default(),
            variance: x
                .variance_minor
                .map(|m| signed(state, m))
                .unwrap_or_default(),
            over_threshold: x
                .variance_minor
                .is_some_and(|v| v.abs() > settings.variance_threshold_minor),
        })
        .collect();
    Ok(page(
        status,
        &PosPage {
            admin: AdminChrome::new(state, s, "pos"),
            notice,
            problem: problem.map(|p| p.text),
            fields,
            currency: cur.code.to_string(),
            alerts,
            shifts,
        },
    ))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "settings" => "Till settings saved. Tills pick them up at their next heartbeat.",
        "recounted" => "Alert closed. Check the item's stock page shows what is on the shelf.",
        _ => return None,
    })
}

/// `GET /admin/pos`.
pub async fn show(
    s: TillManager,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let notice = q.get("done").and_then(|d| notice_for(d));
    pos_page(&state, &s, StatusCode::OK, None, None, notice).await
}

/// `POST /admin/pos`: every setting at once. Audited as `pos.settings_changed`, saying what
/// changed.
pub async fn save(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = PosForm::from_form(&f);
    let cur = state.cfg.currency;
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    let new = match form.settings(&cur) {
        Ok(n) => n,
        Err(p) => return pos_page(&state, &s, refused, Some(form), Some(p), None).await,
    };
    let old = state.db.pos_settings().await?;
    match state.db.set_pos_settings(&new).await {
        Ok(_) => {}
        Err(StoreError::Invalid(v)) => {
            let input = input_of(&v.field);
            let label = FIELDS.iter().find(|x| x.0 == input).map_or(input, |x| x.1);
            let p = Problem {
                input,
                text: format!("{label}: {}", v.message),
            };
            return pos_page(&state, &s, refused, Some(form), Some(p), None).await;
        }
        Err(e) => return Err(e.into()),
    }
    let details = changes(&old, &new, &cur);
    log(&state, &s, &client, "pos.settings_changed", TARGET, details).await?;
    Ok(see_other(&url_with(PAGE, &[("done", "settings")])))
}

/// `POST /admin/pos/alerts/{id}/resolve`: "Recounted": the shelf was counted (on the item's
/// stock page) and the alert can close.
pub async fn resolve(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    // The store says 404 (unknown) or 409 (already closed) before anything changes.
    state.db.resolve_stock_alert(&id, &s.user().email).await?;
    let alert = state
        .db
        .stock_alerts(false, 500)
        .await?
        .into_iter()
        .find(|a| a.id == id);
    let details = match alert {
        Some(a) => format!(
            "{} ({}) at {}: sold {} more than the shop had, order #{}",
            a.name, a.sku, a.location_name, a.short_by, a.order_number
        ),
        None => "recounted".to_string(),
    };
    log(
        &state,
        &s,
        &client,
        "pos.stock_alert_resolved",
        &id,
        details,
    )
    .await?;
    Ok(see_other(&url_with(PAGE, &[("done", "recounted")])))
}
