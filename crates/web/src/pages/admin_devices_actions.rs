//! What a manager does to one till: a new pairing code (pairs it again; the old credential
//! stops working), sign the cashier out from afar, and revoke and wipe (a confirmation page,
//! and the password typed within the last few minutes, like other sensitive actions). Every
//! action is audited; the pairing code itself never is.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::admin::{checked_form, AdminChrome};
use super::admin_devices::{code_page, done, TillManager};
use super::admin_staff::log;
use super::render::{page, seg, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// `POST /admin/devices/{id}/pairing-code`: a new one-time code for a waiting or paired till
/// (a paired one must pair again with it), shown once. 409 for a revoked till.
pub async fn new_code(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let before = state.db.pos_device(&id).await?;
    let code = state.db.new_pairing_code(&id, &s.user().email).await?;
    let d = state.db.pos_device(&id).await?;
    let details = if before.status == "active" {
        format!(
            "\"{}\": new pairing code; its current pairing stopped working",
            d.name
        )
    } else {
        format!("\"{}\": new pairing code", d.name)
    };
    log(&state, &s, &client, "pos.pairing_code", &d.id, details).await?;
    Ok(code_page(&state, &s, &d, &code, true))
}

/// `POST /admin/devices/{id}/sign-out`: end the cashier's session on the till (its next
/// heartbeat locks the screen). 409 when nobody is signed in.
pub async fn sign_out(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let before = state.db.pos_device(&id).await?;
    let d = state.db.sign_out_cashier(&id).await?;
    let who = before.cashier_name.unwrap_or_else(|| "the cashier".into());
    let details = format!("\"{}\": {who} signed out", d.name);
    log(
        &state,
        &s,
        &client,
        "pos.cashier_signed_out",
        &d.id,
        details,
    )
    .await?;
    Ok(done("signed-out"))
}

#[derive(Template)]
#[template(path = "admin_devices_revoke.html")]
struct ConfirmPage {
    admin: AdminChrome,
    id: String,
    name: String,
    location: String,
    cashier: Option<String>,
    queued: i64,
    revoked: bool,
}

fn back(id: &str) -> String {
    format!("/admin/devices/{}/revoke", seg(id))
}

/// `GET /admin/devices/{id}/revoke`: what revoking does, and the button.
pub async fn confirm_revoke(
    s: TillManager,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let d = state.db.pos_device(&id).await?;
    Ok(page(
        StatusCode::OK,
        &ConfirmPage {
            admin: AdminChrome::new(&state, &s, "devices"),
            id: seg(&d.id),
            name: d.name,
            location: d.location_name,
            cashier: d.cashier_name,
            queued: d.queued_sales,
            revoked: d.status == "revoked",
        },
    ))
}

/// `POST /admin/devices/{id}/revoke` (password typed within the last few minutes, else off to
/// confirm it and back to the confirmation page): the till's credential, pairing and cashier
/// are cleared; its next request is answered with `Clear-Site-Data` and it wipes itself.
pub async fn revoke(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let before = state.db.pos_device(&id).await?;
    if let Err(to) = s.require_recent_password(&state, &back(&id)) {
        return Ok(to.into_response());
    }
    let d = state.db.revoke_device(&id, &s.user().email).await?;
    let mut details = format!("\"{}\" at {}: revoked and wiped", d.name, d.location_name);
    if let Some(c) = before.cashier_name {
        details.push_str(&format!(", {c} signed out"));
    }
    if before.queued_sales > 0 {
        // Sales still queued on it are lost with the wipe: worth knowing when counting stock.
        details.push_str(&format!(
            ", {} offline sales not yet sent",
            before.queued_sales
        ));
    }
    log(&state, &s, &client, "pos.device_revoked", &d.id, details).await?;
    Ok(done("revoked"))
}
