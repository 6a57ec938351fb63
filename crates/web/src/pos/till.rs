//! Who is at the till: the device (its long-lived credential cookie) and, for selling, the
//! cashier signed in on it (a short-lived token the app keeps in memory only, so a reload or an
//! idle lock means the PIN again). Both are checked on every request: a revoked device's next
//! request is refused with `Clear-Site-Data`, a cashier signed out remotely or idle too long
//! gets `locked`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use storefort_core::access::Role;
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::pos_devices::{DeviceAuth, PosDevice};

use super::error::PosError;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The device credential cookie.
pub const DEVICE_COOKIE: &str = "__Host-sf_pos";
/// Header carrying the cashier's token.
pub const CASHIER_HEADER: &str = "x-pos-cashier";
/// Header every till API call sends: a cross-site page cannot add it without a CORS
/// preflight (which is refused), so with the SameSite=Strict cookie it stops forged requests.
pub const REQUEST_HEADER: &str = "x-pos-request";
/// How long the credential cookie lives in the browser (400 days, browsers' own cap).
pub const COOKIE_MAX_AGE_S: i64 = 400 * 24 * 3600;
/// Slack on top of the idle lock before the server also refuses the token: the app locks on
/// time, and a request already on its way should not bounce.
const IDLE_SLACK_MS: i64 = 30_000;

/// A paired, active device.
#[derive(Debug, Clone)]
pub struct Till {
    /// The device.
    pub device: PosDevice,
    /// Where the request came from.
    pub client: ClientInfo,
}

/// A paired device with a cashier signed in and not idle.
#[derive(Debug, Clone)]
pub struct Cashier {
    /// The device.
    pub till: Till,
    /// The cashier's staff ID.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Their role (discount limits and approvals depend on it).
    pub role: Role,
}

/// The `Set-Cookie` value that stores a device credential.
pub fn credential_cookie(token: &str) -> String {
    format!(
        "{DEVICE_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_S}"
    )
}

fn client(parts: &Parts) -> ClientInfo {
    parts
        .extensions
        .get::<ClientInfo>()
        .copied()
        .unwrap_or(ClientInfo {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            https: true,
        })
}

/// The till API's forged-request guard (see [`REQUEST_HEADER`]).
pub fn check_request_header(parts: &Parts) -> Result<(), PosError> {
    if !parts.uri.path().starts_with("/pos/api/") {
        return Ok(());
    }
    match parts
        .headers
        .get(REQUEST_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some("1") => Ok(()),
        _ => Err(PosError::new(
            axum::http::StatusCode::FORBIDDEN,
            "forbidden",
            "till requests must come from the till app (X-POS-Request header missing)",
        )),
    }
}

impl FromRequestParts<AppState> for Till {
    type Rejection = PosError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PosError> {
        check_request_header(parts)?;
        let client = client(parts);
        let Some(token) = crate::auth::cookie(&parts.headers, DEVICE_COOKIE) else {
            return Err(PosError::not_paired());
        };
        match state.db.device_by_credential(&token).await? {
            DeviceAuth::Active(device) => Ok(Till { device, client }),
            DeviceAuth::Revoked(device) => {
                // Audited at most once a minute per device: a copied cookie replayed in a loop
                // must not flood the log or hold its lock. Every refusal is still logged.
                tracing::warn!(device = %device.id, "refused a revoked till's request");
                let key = format!("revoked-till:{}", device.id);
                if crate::card_guard::first_in_a_minute(&state.card_refusals, &key, state.db.now())
                {
                    let path =
                        storefort_core::pan::mask_card_numbers(parts.uri.path()).into_owned();
                    let ev = AuditEvent::new(
                        "pos.revoked_device_refused",
                        "device",
                        &client.ip.to_string(),
                    )
                    .on(&device.id)
                    .outcome(Outcome::Denied)
                    .details(format!("revoked till {:?} tried {path}", device.name));
                    if let Err(e) = state.db.audit(ev).await {
                        tracing::error!(error = %e, "could not audit a revoked till's request");
                    }
                }
                Err(PosError::revoked())
            }
            DeviceAuth::Unknown => Err(PosError::not_paired()),
        }
    }
}

impl FromRequestParts<AppState> for Cashier {
    type Rejection = PosError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PosError> {
        let till = Till::from_request_parts(parts, state).await?;
        let token = parts
            .headers
            .get(CASHIER_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty() && t.len() <= 100)
            .map(str::to_string)
            .ok_or_else(PosError::locked)?;
        let settings = state.db.pos_settings().await?;
        let idle_ms = settings.idle_lock_minutes * 60_000 + IDLE_SLACK_MS;
        let Some(user_id) = state
            .db
            .cashier_on_device(&till.device.id, &token, idle_ms, true)
            .await?
        else {
            return Err(PosError::locked());
        };
        let user = state.db.user(&user_id).await?;
        if user.disabled {
            state.db.end_cashier(&till.device.id).await?;
            return Err(PosError::locked());
        }
        let role = Role::parse(&user.role).unwrap_or(Role::Cashier);
        Ok(Cashier {
            till,
            user_id,
            name: user.name,
            role,
        })
    }
}
