//! The payment page's script inventory (PCI DSS 6.4.3) and its change detection (11.6.1), for
//! owners (the Settings permission): each approved script with its origin, SHA-384, why it is
//! needed, who approved it and when; adding and removing scripts; "Check now"; and "Accept
//! current page" after a deliberate change. Adding, removing and accepting need the password
//! typed in the last few minutes; every action is audited.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_store::payment_scripts::NewScript;
use storefort_store::StoreError;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_staff::log;
use super::render::{form_error, page, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::middleware::ClientInfo;
use crate::payment_page::{self as pp, Manifest};
use crate::AppState;

/// Where every action returns to.
const BACK: &str = "/admin/payment-scripts";

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BACK, get(list).post(add))
        .route("/admin/payment-scripts/{id}/remove", post(remove))
        .route("/admin/payment-scripts/check", post(check_now))
        .route("/admin/payment-scripts/accept", post(accept))
}

struct Row {
    id: String,
    url: String,
    origin: String,
    sha384: String,
    reason: String,
    gateway: String,
    added_by: String,
    added_at: String,
}

struct CheckView {
    at: String,
    ok: bool,
    first_run: bool,
    changed: Vec<String>,
    unreachable: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_payment_scripts.html")]
struct ScriptsPage {
    admin: AdminChrome,
    notice: Option<&'static str>,
    error: Option<String>,
    scripts: Vec<Row>,
    accepted_at: Option<String>,
    accepted_fp: String,
    current_fp: String,
    differences: Vec<String>,
    last: Option<CheckView>,
    gateways: Vec<String>,
    form: NewScript,
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "added" => "Script approved. The page now differs from the accepted one: review it and accept it below.",
        "removed" => "Script removed. The page now differs from the accepted one: review it and accept it below.",
        "checked" => "Check finished: the result is below.",
        "accepted" => "The payment page as it is now is accepted; later changes will be reported.",
        _ => return None,
    })
}

async fn render(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
    form: NewScript,
) -> Result<Response, PageError> {
    let (scripts, manifest) = pp::current_manifest(&state.db).await?;
    let current_fp = pp::manifest_fingerprint(&manifest);
    let stored = state.db.payment_page_fingerprint().await?;
    let differences = match &stored {
        Some(st) if st.fingerprint != current_fp => {
            let old = st
                .manifest
                .as_deref()
                .and_then(|j| serde_json::from_str::<Manifest>(j).ok())
                .unwrap_or_default();
            let words = pp::describe_changes(&old, &manifest);
            if words.is_empty() {
                vec!["the fingerprint differs from the accepted one".into()]
            } else {
                words
            }
        }
        _ => Vec::new(),
    };
    let last = pp::check::last_check(&state.db).await?.map(|c| CheckView {
        at: utc(c.at),
        ok: c.ok,
        first_run: c.first_run,
        changed: c.changed,
        unreachable: c.unreachable,
    });
    let mut gateways: Vec<String> = state
        .gateways
        .all()
        .iter()
        .map(|g| g.id().to_string())
        .collect();
    if !gateways.iter().any(|g| g == "stripe") {
        gateways.insert(0, "stripe".into());
    }
    let rows = scripts
        .into_iter()
        .map(|x| Row {
            id: super::render::seg(&x.id),
            url: x.url,
            origin: x.origin,
            sha384: x.sha384,
            reason: x.reason,
            gateway: x.gateway,
            added_by: x.added_by,
            added_at: utc(x.created_at),
        })
        .collect();
    Ok(page(
        status,
        &ScriptsPage {
            admin: AdminChrome::new(state, s, "payment-scripts"),
            notice,
            error,
            scripts: rows,
            accepted_at: stored.as_ref().map(|st| utc(st.at)),
            accepted_fp: stored.map(|st| st.fingerprint).unwrap_or_default(),
            current_fp,
            differences,
            last,
            gateways,
            form,
        },
    ))
}

/// The form's own names for its fields.
fn label(field: &str) -> &str {
    match field {
        "url" => "Script address",
        "sha384" => "SHA-384",
        "reason" => "Why it is needed",
        "gateway" => "Gateway",
        other => other,
    }
}

fn blank_form() -> NewScript {
    NewScript {
        gateway: "stripe".into(),
        ..Default::default()
    }
}

/// `GET /admin/payment-scripts` (`?done=` shows a notice).
pub async fn list(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let notice = q.get("done").and_then(|d| notice_for(d));
    render(&state, &s, StatusCode::OK, notice, None, blank_form()).await
}

/// `POST /admin/payment-scripts`: approve a script (needs the password typed recently).
pub async fn add(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, BACK) {
        return Ok(to.into_response());
    }
    let input = NewScript {
        url: f.text("url"),
        sha384: f.text("sha384"),
        reason: f.text("reason"),
        gateway: f.text("gateway"),
    };
    match state.db.approve_script(&input, &s.user().email).await {
        Ok(x) => {
            let details = format!(
                "gateway {}, {}, origin {}; reason: {}",
                x.gateway, x.sha384, x.origin, x.reason
            );
            log(
                &state,
                &s,
                &client,
                "payment_script.approved",
                &x.url,
                details,
            )
            .await?;
            Ok(see_other(&format!("{BACK}?done=added")))
        }
        Err(StoreError::Invalid(v)) => {
            let msg = format!("{}: {}", label(&v.field), v.message);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, &s, status, None, Some(msg), input).await
        }
        Err(e) => {
            let (status, msg) = form_error(e)?;
            render(&state, &s, status, None, Some(msg), input).await
        }
    }
}

/// `POST /admin/payment-scripts/{id}/remove` (needs the password typed recently).
pub async fn remove(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, BACK) {
        return Ok(to.into_response());
    }
    let x = state.db.remove_payment_script(&id).await?;
    let details = format!("gateway {}, {}", x.gateway, x.sha384);
    log(
        &state,
        &s,
        &client,
        "payment_script.removed",
        &x.url,
        details,
    )
    .await?;
    Ok(see_other(&format!("{BACK}?done=removed")))
}

/// `POST /admin/payment-scripts/check`: run the check now (fetches each approved script).
pub async fn check_now(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let c = pp::check_payment_page(&state).await?;
    let details = if c.ok {
        "no changes".to_string()
    } else {
        format!("{} change(s) found", c.changed.len())
    };
    log(
        &state,
        &s,
        &client,
        "payment_page.checked",
        "payment page",
        details,
    )
    .await?;
    Ok(see_other(&format!("{BACK}?done=checked")))
}

/// `POST /admin/payment-scripts/accept`: store the current page's fingerprint after a
/// deliberate change (needs the password typed recently).
pub async fn accept(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, BACK) {
        return Ok(to.into_response());
    }
    let (fp, changes) = pp::accept_current_page(&state.db).await?;
    let mut details = format!("fingerprint {fp}");
    if !changes.is_empty() {
        details.push_str("; accepted: ");
        details.push_str(&changes.join("; "));
    }
    let details: String = details.chars().take(2000).collect();
    log(
        &state,
        &s,
        &client,
        "payment_page.accepted",
        "payment page",
        details,
    )
    .await?;
    Ok(see_other(&format!("{BACK}?done=accepted")))
}
