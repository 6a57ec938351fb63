//! Pairing a till, what it needs to start, heartbeats, and cashiers signing in with their PIN,
//! locking and signing out.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::pos_pins::PinCheck;

use super::approve::pin_refusal;
use super::error::{PosError, PosResult};
use super::till::{credential_cookie, Cashier, Till};
use super::PosJson;
use crate::middleware::ClientInfo;
use crate::rate_limit::Action;
use crate::AppState;

/// `POST /pos/api/pair` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairBody {
    /// The 8-character code from the admin's Devices page.
    pub code: String,
    /// The app's version.
    #[serde(default)]
    pub app_version: String,
}

fn device_json(d: &storefort_store::pos_devices::PosDevice) -> Value {
    json!({"id": d.id, "name": d.name, "location": d.location_name, "location_id": d.location_id})
}

/// `POST /pos/api/pair`: use a one-time code; the answer sets the device credential cookie.
pub async fn pair(
    State(s): State<AppState>,
    axum::Extension(client): axum::Extension<ClientInfo>,
    headers: axum::http::HeaderMap,
    PosJson(b): PosJson<PairBody>,
) -> PosResult<Response> {
    if headers
        .get(super::till::REQUEST_HEADER)
        .and_then(|v| v.to_str().ok())
        != Some("1")
    {
        return Err(PosError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "till requests must come from the till app",
        ));
    }
    s.limits.take(Action::Pair, client.ip, s.db.now())?;
    let ip = client.ip.to_string();
    let version: String = b.app_version.chars().take(40).collect();
    match s.db.pair_device(&b.code, &version).await {
        Ok((device, token)) => {
            let ev = AuditEvent::new("pos.device_paired", "device", &ip)
                .on(&device.id)
                .details(format!(
                    "till {:?} at {} paired",
                    device.name, device.location_name
                ));
            s.db.audit(ev).await?;
            let cookie = credential_cookie(&token);
            Ok((
                StatusCode::OK,
                [(header::SET_COOKIE, cookie)],
                Json(json!({"device": device_json(&device)})),
            )
                .into_response())
        }
        Err(e) => {
            let ev = AuditEvent::new("pos.pairing_failed", "device", &ip)
                .outcome(Outcome::Denied)
                .details(e.to_string());
            s.db.audit(ev).await?;
            Err(e.into())
        }
    }
}

/// `GET /pos/api/state`: the device, the settings, the shop and who may sign in.
pub async fn state(State(s): State<AppState>, till: Till) -> PosResult<Json<Value>> {
    let settings = s.db.pos_settings().await?;
    let shop = s.db.shop_settings().await?;
    let cashiers = s.db.pos_cashiers().await?;
    let cashiers: Vec<Value> = cashiers
        .iter()
        .map(|c| json!({"id": c.user_id, "name": c.name, "role": c.role, "has_pin": c.has_pin, "locked": c.locked}))
        .collect();
    Ok(Json(json!({
        "device": device_json(&till.device),
        "settings": settings,
        "shop": {
            "name": s.cfg.shop_name,
            "currency": s.cfg.currency.code,
            "prices_include_tax": shop.prices_include_tax,
        },
        "cashiers": cashiers,
        "server_time": s.db.now(),
    })))
}

/// `POST /pos/api/heartbeat` body.
#[derive(Debug, Deserialize)]
pub struct HeartbeatBody {
    /// The app's version.
    #[serde(default)]
    pub app_version: String,
    /// Sales waiting in the device's offline queue.
    #[serde(default)]
    pub queued: i64,
    /// The cashier touched the screen in the last 30 s (browsing the cached catalog makes no
    /// other request), so their session stays awake.
    #[serde(default)]
    pub active: bool,
}

/// `POST /pos/api/heartbeat`: every 30 s. Tells the app whether its cashier is still signed in
/// (a manager may have signed them out remotely). Counts as the cashier's activity only when
/// the app says there was input since the last beat.
pub async fn heartbeat(
    State(s): State<AppState>,
    till: Till,
    headers: axum::http::HeaderMap,
    PosJson(b): PosJson<HeartbeatBody>,
) -> PosResult<Json<Value>> {
    let version: String = b.app_version.chars().take(40).collect();
    s.db.touch_device(&till.device.id, &version, b.queued.clamp(0, 1_000_000))
        .await?;
    let signed_in = match headers
        .get(super::till::CASHIER_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty() && t.len() <= 100)
    {
        Some(token) => {
            let idle = s.db.pos_settings().await?.idle_lock_minutes * 60_000 + 30_000;
            s.db.cashier_on_device(&till.device.id, token, idle, b.active)
                .await?
                .is_some()
        }
        None => false,
    };
    Ok(Json(
        json!({"server_time": s.db.now(), "signed_in": signed_in}),
    ))
}

/// `POST /pos/api/unlock` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockBody {
    /// Who is signing in.
    pub cashier_id: String,
    /// Their PIN.
    pub pin: String,
}

/// `POST /pos/api/unlock`: a cashier's PIN opens the till (and takes it over from whoever was
/// signed in; their parked carts stay on the device).
pub async fn unlock(
    State(s): State<AppState>,
    till: Till,
    PosJson(b): PosJson<UnlockBody>,
) -> PosResult<Json<Value>> {
    let ip = till.client.ip.to_string();
    let user = match s.db.user(&b.cashier_id).await {
        Ok(u) => u,
        Err(storefort_store::StoreError::NotFound { .. }) => {
            return Err(PosError::invalid(
                "cashier_id",
                "Choose your name from the list.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let was_locked =
        s.db.pos_cashiers()
            .await?
            .iter()
            .any(|c| c.user_id == user.id.0 && c.locked);
    let check = s.db.verify_pin(&user.id.0, &b.pin).await?;
    let base = AuditEvent::new("pos.unlock", &user.email, &ip)
        .by(&user.id.0)
        .on(&till.device.id);
    if !matches!(check, PinCheck::Ok) {
        let locked_now = matches!(check, PinCheck::Locked) && !was_locked;
        let ev = base
            .outcome(Outcome::Denied)
            .details(format!("{:?} at till {:?}", check, till.device.name));
        s.db.audit(ev).await?;
        if locked_now {
            let ev = AuditEvent::new("pos.pin_locked", &user.email, &ip)
                .by(&user.id.0)
                .on(&user.id.0)
                .outcome(Outcome::Denied)
                .details("5 wrong PINs in a row: the PIN is locked until a manager resets it");
            s.db.audit(ev).await?;
        }
        return Err(pin_refusal(check, "pin"));
    }
    let token = s.db.start_cashier(&till.device.id, &user.id.0).await?;
    s.db.audit(base.details(format!("signed in at till {:?}", till.device.name)))
        .await?;
    let settings = s.db.pos_settings().await?;
    let role = storefort_core::access::Role::parse(&user.role)
        .unwrap_or(storefort_core::access::Role::Cashier);
    let limit = match role {
        storefort_core::access::Role::Cashier => settings.cashier_discount_limit_bp,
        _ => 10_000,
    };
    let shift = s.db.open_shift_of(&till.device.id).await?;
    // What lets this cashier's offline sales be accepted later (kept by the app with its
    // queue; useless without this device's credential and outside the grace period).
    let grant =
        s.db.issue_offline_grant(&till.device.id, &user.id.0, settings.offline_grace_ms())
            .await?;
    Ok(Json(json!({
        "token": token,
        "offline_grant": grant,
        "cashier": {"id": user.id.0, "name": user.name, "role": user.role, "discount_limit_bp": limit},
        "shift": shift.map(|sh| super::shifts::shift_json(&sh)),
    })))
}

/// `POST /pos/api/lock`: the screen locked (idle or the Lock button). The token stops working.
pub async fn lock(State(s): State<AppState>, till: Till) -> PosResult<StatusCode> {
    s.db.lock_device(&till.device.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /pos/api/sign-out`: the cashier leaves the till.
pub async fn sign_out(State(s): State<AppState>, till: Till) -> PosResult<StatusCode> {
    s.db.end_cashier(&till.device.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /pos/api/pin` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    /// The PIN now.
    pub current_pin: String,
    /// The new PIN (4-8 digits).
    pub new_pin: String,
}

/// `POST /pos/api/pin`: a cashier changes their own PIN (the current one first).
pub async fn change_pin(
    State(s): State<AppState>,
    c: Cashier,
    PosJson(b): PosJson<PinBody>,
) -> PosResult<StatusCode> {
    storefort_core::pos_device_rules::check_pin(&b.new_pin)
        .map_err(|e| PosError::invalid("new_pin", e.message))?;
    let check = s.db.verify_pin(&c.user_id, &b.current_pin).await?;
    if !matches!(check, PinCheck::Ok) {
        return Err(pin_refusal(check, "current_pin"));
    }
    s.db.set_pin(&c.user_id, &b.new_pin, &c.user_id).await?;
    let user = s.db.user(&c.user_id).await?;
    let ev = AuditEvent::new("pos.pin_set", &user.email, &c.till.client.ip.to_string())
        .by(&c.user_id)
        .on(&c.user_id)
        .details("changed their own PIN at the till");
    s.db.audit(ev).await?;
    Ok(StatusCode::NO_CONTENT)
}
