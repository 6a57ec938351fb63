//! The admin stock page of one variant: levels per location, adjust / transfer / count forms
//! and the ledger, newest first.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use storefort_core::access::Permission;
use storefort_core::stock::Reason;
use storefort_core::ValidationError;
use storefort_store::stock::Change;
use storefort_store::StoreError;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_products::Opt;
use super::render::{form_error, page, seg, url_with, utc, FormData, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::AppState;

const HISTORY_PER_PAGE: i64 = 25;

/// What was typed into the three stock forms (kept after an error).
#[derive(Debug, Clone, Default)]
pub struct StockForms {
    adjust_location: String,
    delta: String,
    reason: String,
    adjust_note: String,
    from: String,
    to: String,
    quantity: String,
    transfer_note: String,
    count_location: String,
    counted: String,
    count_note: String,
}

struct LevelRow {
    name: String,
    quantity: i64,
}

struct MoveRow {
    time: String,
    location: String,
    delta: String,
    after: i64,
    reason: &'static str,
    actor: String,
    note: String,
}

#[derive(Template)]
#[template(path = "admin_stock.html")]
struct StockPage {
    admin: AdminChrome,
    id: String,
    product_name: String,
    product_url: String,
    variant_title: String,
    sku: String,
    levels: Vec<LevelRow>,
    adjust_locations: Vec<Opt>,
    from_locations: Vec<Opt>,
    to_locations: Vec<Opt>,
    count_locations: Vec<Opt>,
    reasons: Vec<Opt>,
    f: StockForms,
    history: Vec<MoveRow>,
    next_url: Option<String>,
    error: Option<String>,
    notice: Option<&'static str>,
    /// May adjust, transfer and count (shows the three forms).
    can_edit: bool,
}

/// How to show the page: which history page, with what status, typed values and messages.
struct View<'a> {
    cursor: Option<&'a str>,
    status: StatusCode,
    f: StockForms,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn render(
    state: &AppState,
    s: &AdminSession,
    id: &str,
    view: View<'_>,
) -> Result<Response, PageError> {
    let View {
        cursor,
        status,
        f,
        error,
        notice,
    } = view;
    let v = state.db.variant(id).await?;
    let p = state.db.product(v.product_id.as_str()).await?;
    let locations = state.db.locations().await?;
    let names: HashMap<&str, &str> = locations
        .iter()
        .map(|l| (l.id.as_str(), l.name.as_str()))
        .collect();
    let loc_opts = |current: &str| -> Vec<Opt> {
        locations
            .iter()
            .map(|l| Opt {
                value: l.id.0.clone(),
                label: l.name.clone(),
                selected: l.id.0 == current,
            })
            .collect()
    };
    let levels = state.db.stock_levels(id).await?;
    let moves = state.db.movements(id, cursor, HISTORY_PER_PAGE).await?;
    let history = moves
        .items
        .iter()
        .map(|m| MoveRow {
            time: utc(m.created_at),
            location: names
                .get(m.location_id.as_str())
                .copied()
                .unwrap_or("(removed location)")
                .to_string(),
            delta: if m.delta > 0 {
                format!("+{}", m.delta)
            } else {
                m.delta.to_string()
            },
            after: m.quantity_after,
            reason: m.reason.label(),
            actor: m.actor.clone(),
            note: m.note.clone(),
        })
        .collect();
    let path = format!("/admin/variants/{}/stock", seg(id));
    let reasons = Reason::MANUAL
        .iter()
        .map(|r| Opt {
            value: r.as_str().into(),
            label: r.label().into(),
            selected: r.as_str() == f.reason,
        })
        .collect();
    let t = StockPage {
        admin: AdminChrome::new(state, s, "products"),
        id: seg(id),
        product_name: p.name.clone(),
        product_url: format!("/admin/products/{}", seg(p.id.as_str())),
        variant_title: v.title(),
        sku: v.sku.clone(),
        levels: levels
            .into_iter()
            .map(|l| LevelRow {
                name: l.location_name,
                quantity: l.quantity,
            })
            .collect(),
        adjust_locations: loc_opts(&f.adjust_location),
        from_locations: loc_opts(&f.from),
        to_locations: loc_opts(&f.to),
        count_locations: loc_opts(&f.count_location),
        reasons,
        history,
        next_url: moves
            .next_cursor
            .map(|c| url_with(&path, &[("cursor", &c)])),
        f,
        error,
        notice,
        can_edit: s.can(Permission::StockEdit),
    };
    Ok(page(status, &t))
}

/// `GET /admin/variants/{id}/stock?cursor=`.
pub async fn show(
    s: Admin<perm::StockView>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let cursor = params
        .get("cursor")
        .map(String::as_str)
        .filter(|c| !c.is_empty());
    let notice = match params.get("done").map(String::as_str) {
        Some("adjusted") => Some("Stock adjusted."),
        Some("transferred") => Some("Stock transferred."),
        Some("counted") => Some("Stock count recorded."),
        _ => None,
    };
    let f = StockForms {
        reason: Reason::Received.as_str().into(),
        ..Default::default()
    };
    render(
        &state,
        &s,
        &id,
        View {
            cursor,
            status: StatusCode::OK,
            f,
            error: None,
            notice,
        },
    )
    .await
}

fn number(field: &str, text: &str) -> Result<i64, StoreError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    t.parse()
        .map_err(|_| ValidationError::new(field, "enter a whole number, like 5 or -2").into())
}

/// Which stock form was posted.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Add or remove units with a reason.
    Adjust,
    /// Move units between locations.
    Transfer,
    /// Record a physical count.
    Count,
}

fn read(action: Action, f: &FormData) -> StockForms {
    let mut out = StockForms {
        reason: Reason::Received.as_str().into(),
        ..Default::default()
    };
    match action {
        Action::Adjust => {
            out.adjust_location = f.text("location_id");
            out.delta = f.text("delta");
            out.reason = f.text("reason");
            out.adjust_note = f.get("note").to_string();
        }
        Action::Transfer => {
            out.from = f.text("location_id");
            out.to = f.text("to_location_id");
            out.quantity = f.text("quantity");
            out.transfer_note = f.get("note").to_string();
        }
        Action::Count => {
            out.count_location = f.text("location_id");
            out.counted = f.text("counted");
            out.count_note = f.get("note").to_string();
        }
    }
    out
}

async fn apply(
    state: &AppState,
    actor: &str,
    id: &str,
    action: Action,
    f: &StockForms,
) -> Result<(), StoreError> {
    match action {
        Action::Adjust => {
            let delta = number("delta", &f.delta)?;
            let reason = Reason::parse(&f.reason)
                .filter(|r| Reason::MANUAL.contains(r))
                .ok_or_else(|| {
                    ValidationError::new("reason", "choose one of the listed reasons")
                })?;
            let c = Change {
                variant_id: id,
                location_id: &f.adjust_location,
                note: &f.adjust_note,
                actor,
            };
            state.db.adjust_stock(&c, delta, reason).await?;
        }
        Action::Transfer => {
            let qty = number("quantity", &f.quantity)?;
            let c = Change {
                variant_id: id,
                location_id: &f.from,
                note: &f.transfer_note,
                actor,
            };
            state.db.transfer_stock(&c, &f.to, qty).await?;
        }
        Action::Count => {
            let counted = number("counted", &f.counted)?;
            let c = Change {
                variant_id: id,
                location_id: &f.count_location,
                note: &f.count_note,
                actor,
            };
            state.db.count_stock(&c, counted).await?;
        }
    }
    Ok(())
}

async fn post(
    state: AppState,
    s: AdminSession,
    id: String,
    body: Bytes,
    action: Action,
) -> Result<Response, PageError> {
    let form = checked_form(&s, &body)?;
    state.db.variant(&id).await?;
    let f = read(action, &form);
    match apply(&state, &s.0.user.email, &id, action, &f).await {
        Ok(()) => {
            let done = match action {
                Action::Adjust => "adjusted",
                Action::Transfer => "transferred",
                Action::Count => "counted",
            };
            Ok(see_other(&url_with(
                &format!("/admin/variants/{}/stock", seg(&id)),
                &[("done", done)],
            )))
        }
        Err(StoreError::NotFound {
            what: "location", ..
        }) => {
            let msg = "Location: choose one of the listed locations".to_string();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(
                &state,
                &s,
                &id,
                View {
                    cursor: None,
                    status,
                    f,
                    error: Some(msg),
                    notice: None,
                },
            )
            .await
        }
        Err(e) => {
            let (status, msg) = form_error(e)?;
            render(
                &state,
                &s,
                &id,
                View {
                    cursor: None,
                    status,
                    f,
                    error: Some(msg),
                    notice: None,
                },
            )
            .await
        }
    }
}

/// `POST /admin/variants/{id}/stock/adjust`.
pub async fn adjust(
    s: Admin<perm::StockEdit>,
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    post(st, s.session, id, body, Action::Adjust).await
}

/// `POST /admin/variants/{id}/stock/transfer`.
pub async fn transfer(
    s: Admin<perm::StockEdit>,
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    post(st, s.session, id, body, Action::Transfer).await
}

/// `POST /admin/variants/{id}/stock/count`.
pub async fn count(
    s: Admin<perm::StockEdit>,
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    post(st, s.session, id, body, Action::Count).await
}
