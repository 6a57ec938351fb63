//! Till PINs from the admin console: an owner or manager sets or resets a staff member's PIN
//! (resetting also lifts the lock after 5 wrong tries), and every staff member sets their own
//! on their account page. The PIN is checked by the store (4-8 digits, not an obvious run);
//! a refused PIN changes nothing and says why, naming the field. Audited `pos.pin_set` (a
//! first PIN, or your own) and `pos.pin_reset` (replacing someone else's); never the PIN.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use storefort_core::pos_device_rules::check_pin;
use storefort_store::pos_pins::PinStatus;
use storefort_store::StoreError;

use super::admin::{checked_form, see_other};
use super::admin_devices::{may_set_pin, TillManager};
use super::admin_staff::{log, member_url};
use super::render::{FormData, PageError};
use crate::auth::{audit_denied, AdminSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/staff/{id}/pin", post(set_for))
        .route("/admin/account/pin", post(set_own))
}

/// A staff member's PIN state as the pages show it.
#[derive(Debug, Clone, Default)]
pub struct PinView {
    /// A PIN is set.
    pub has_pin: bool,
    /// Locked after too many wrong tries.
    pub locked: bool,
    /// Whether the account may sell at all (disabled staff are not offered on the till).
    pub listed: bool,
}

/// The PIN state of `user_id`.
pub async fn pin_view(state: &AppState, user_id: &str) -> Result<PinView, PageError> {
    let all: Vec<PinStatus> = state.db.pos_cashiers().await?;
    Ok(all
        .into_iter()
        .find(|p| p.user_id == user_id)
        .map(|p| PinView {
            has_pin: p.has_pin,
            locked: p.locked,
            listed: true,
        })
        .unwrap_or_default())
}

fn unprocessable(message: String) -> PageError {
    PageError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "That did not work",
        message,
    }
}

/// The typed PIN (and its confirmation when the form has one), or why not.
fn typed_pin(f: &FormData) -> Result<String, PageError> {
    let pin = f.text("pin");
    if pin.is_empty() {
        return Err(unprocessable("Till PIN: type 4 to 8 digits.".into()));
    }
    if f.checked("pin_confirm") && f.text("pin_confirm") != pin {
        return Err(unprocessable(
            "Till PIN again: the two PINs are not the same; type it again.".into(),
        ));
    }
    // Checked here as well as in the store, so a refused PIN never reaches the hashing.
    check_pin(&pin).map_err(|e| unprocessable(format!("Till PIN: {}.", e.message)))?;
    Ok(pin)
}

/// Set the PIN through the store; a PIN it refuses becomes a 422 naming the field.
async fn store_pin(
    state: &AppState,
    user_id: &str,
    pin: &str,
    actor: &str,
) -> Result<(), PageError> {
    match state.db.set_pin(user_id, pin, actor).await {
        Ok(()) => Ok(()),
        Err(StoreError::Invalid(v)) => Err(unprocessable(format!("Till PIN: {}.", v.message))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/staff/{id}/pin` (owners and managers): set or reset their PIN; resetting a
/// locked PIN unlocks it. A manager may set cashiers' PINs and their own only (403 otherwise,
/// audited). Back to the staff page, or to the tills page when posted from there.
pub async fn set_for(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    if !may_set_pin(&s, u.id.as_str(), &u.role) {
        let me = s.user();
        let why = "set the till PIN of a manager or an owner";
        let line = format!("POST /admin/staff/{id}/pin");
        audit_denied(
            &state,
            Some(me.id.as_str()),
            &me.email,
            &client.ip.to_string(),
            &line,
            why,
        )
        .await;
        return Err(PageError::forbidden(
            "Only an owner can set the till PIN of a manager or an owner.",
        ));
    }
    let pin = typed_pin(&f)?;
    let before = pin_view(&state, u.id.as_str()).await?;
    store_pin(&state, u.id.as_str(), &pin, s.user().id.as_str()).await?;
    let own = u.id == s.user().id;
    let (action, details) = match (before.has_pin && !own, before.locked) {
        (true, true) => (
            "pos.pin_reset",
            "PIN replaced; it was locked after wrong tries and is unlocked",
        ),
        (true, false) => ("pos.pin_reset", "PIN replaced"),
        (false, _) if own => ("pos.pin_set", "own PIN"),
        (false, _) => ("pos.pin_set", "first PIN"),
    };
    log(&state, &s, &client, action, &u.email, details).await?;
    if f.get("from") == "devices" || !s.can(storefort_core::access::Permission::Staff) {
        return Ok(see_other("/admin/devices?done=pin#pins"));
    }
    Ok(see_other(&member_url(&id, "pin")))
}

/// `POST /admin/account/pin` (anyone signed in): set or change your own PIN (`pin` and
/// `pin_confirm`). A locked PIN stays locked (409) until a manager resets it, as at the till:
/// the lock says someone was guessing it, which a manager should hear about.
pub async fn set_own(
    s: AdminSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let pin = typed_pin(&f)?;
    let me = s.user().id.as_str().to_string();
    let before = pin_view(&state, &me).await?;
    if before.locked {
        return Err(PageError {
            status: StatusCode::CONFLICT,
            title: "Not possible",
            message: "Your till PIN is locked after 5 wrong tries. Ask a manager to reset it."
                .into(),
        });
    }
    store_pin(&state, &me, &pin, &me).await?;
    let details = if before.has_pin {
        "own PIN changed"
    } else {
        "own PIN"
    };
    let email = s.user().email.clone();
    log(&state, &s, &client, "pos.pin_set", &email, details).await?;
    Ok(see_other("/admin/account?done=pin#till-pin"))
}
