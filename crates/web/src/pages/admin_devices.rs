//! The shop's tills (owners and managers: the Devices permission): every registered device
//! with its location, state, current cashier, when it was last heard from, its app version and
//! the offline sales it still has to send; registering a new till (which shows its one-time
//! pairing code); and the staff's till PINs, for the manager on the floor who has to unlock
//! a cashier. The per-device actions (new code, sign the cashier out, revoke and wipe) are in
//! [`super::admin_devices_actions`], PIN forms in [`super::admin_staff_pin`].

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_core::access::{Permission, Role};
use storefort_store::pos_devices::PosDevice;
use storefort_store::StoreError;

use super::admin::{checked_form, AdminChrome};
use super::admin_devices_actions as act;
use super::admin_staff::log;
use super::render::{field_label, page, seg, url_with, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Staff who manage tills: owners and managers.
pub type TillManager = Admin<perm::Devices>;

/// The devices page.
pub const PAGE: &str = "/admin/devices";
/// A device counts as online when it was heard from this recently (heartbeats come every 30 s).
pub const ONLINE_MS: i64 = 90_000;
/// Longest till name.
const NAME_MAX: usize = 60;

/// This module's routes (and the device actions).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(list).post(register))
        .route("/admin/devices/{id}/pairing-code", post(act::new_code))
        .route("/admin/devices/{id}/sign-out", post(act::sign_out))
        .route(
            "/admin/devices/{id}/revoke",
            get(act::confirm_revoke).post(act::revoke),
        )
}

/// The devices page with a `done` notice.
pub fn done(what: &str) -> Response {
    super::admin::see_other(&url_with(PAGE, &[("done", what)]))
}

/// `then` in words relative to `now`: "just now", "2 min ago", "3 h ago", "4 days ago".
pub fn ago(now: i64, then: i64) -> String {
    let s = (now - then).max(0) / 1000;
    match s {
        0..=59 => "just now".into(),
        60..=3_599 => format!("{} min ago", s / 60),
        3_600..=172_799 => format!("{} h ago", s / 3_600),
        _ => format!("{} days ago", s / 86_400),
    }
}

struct DeviceRow {
    id: String,
    name: String,
    location: String,
    status: &'static str,
    active: bool,
    revoked: bool,
    cashier: Option<String>,
    cashier_since: String,
    last_seen: String,
    online: bool,
    app_version: String,
    queued: i64,
    /// Pending: when its pairing code stops working (UTC), or that it already has.
    code_until: Option<String>,
    revoked_at: String,
}

fn row(now: i64, d: &PosDevice) -> DeviceRow {
    let code_until = (d.status == "pending").then(|| match d.pairing_expires_at {
        Some(t) if t > now => format!("code valid until {} UTC", utc(t)),
        _ => "code expired: make a new one".into(),
    });
    DeviceRow {
        id: seg(&d.id),
        name: d.name.clone(),
        location: d.location_name.clone(),
        status: match d.status.as_str() {
            "pending" => "Waiting to pair",
            "active" => "Paired",
            _ => "Revoked",
        },
        active: d.status == "active",
        revoked: d.status == "revoked",
        cashier: d.cashier_name.clone(),
        cashier_since: d.cashier_since.map(|t| ago(now, t)).unwrap_or_default(),
        last_seen: d
            .last_seen_at
            .map(|t| ago(now, t))
            .unwrap_or_else(|| "never".into()),
        online: d.status == "active" && d.last_seen_at.is_some_and(|t| now - t < ONLINE_MS),
        app_version: d.app_version.clone(),
        queued: d.queued_sales,
        code_until,
        revoked_at: d.revoked_at.map(utc).unwrap_or_default(),
    }
}

/// One staff member's till PIN, with whether the viewer may set it.
struct PinRow {
    id: String,
    name: String,
    role: String,
    has_pin: bool,
    locked: bool,
    may_set: bool,
}

/// Owners set anyone's PIN; a manager sets cashiers' PINs and their own (not another
/// manager's or an owner's: that would let them unlock a till, and approve, as that person).
pub fn may_set_pin(s: &AdminSession, target_id: &str, target_role: &str) -> bool {
    s.can(Permission::Staff)
        || target_id == s.user().id.as_str()
        || Role::parse(target_role) == Some(Role::Cashier)
}

/// The register form as typed, and what was wrong with it.
#[derive(Debug, Default)]
pub struct Extras {
    /// Name typed.
    pub name: String,
    /// Location chosen.
    pub location_id: String,
    /// The field at fault (`name`, `location_id`) and the sentence.
    pub problem: Option<(&'static str, String)>,
    /// Success notice.
    pub notice: Option<&'static str>,
}

struct LocationOpt {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin_devices.html")]
struct ListPage {
    admin: AdminChrome,
    devices: Vec<DeviceRow>,
    pins: Vec<PinRow>,
    locations: Vec<LocationOpt>,
    name: String,
    problem_field: &'static str,
    problem: Option<String>,
    notice: Option<&'static str>,
}

/// Render the devices page with `status`.
pub async fn list_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    x: Extras,
) -> Result<Response, PageError> {
    let now = state.db.now();
    let devices = state.db.pos_devices().await?;
    let pins = state
        .db
        .pos_cashiers()
        .await?
        .into_iter()
        .map(|p| PinRow {
            may_set: may_set_pin(s, &p.user_id, &p.role),
            id: seg(&p.user_id),
            name: p.name,
            role: p.role,
            has_pin: p.has_pin,
            locked: p.locked,
        })
        .collect();
    let locations = state
        .db
        .locations()
        .await?
        .into_iter()
        .map(|l| LocationOpt {
            selected: l.id.as_str() == x.location_id,
            id: l.id.as_str().to_string(),
            name: l.name,
        })
        .collect();
    let (problem_field, problem) = match x.problem {
        Some((f, p)) => (f, Some(p)),
        None => ("", None),
    };
    Ok(page(
        status,
        &ListPage {
            admin: AdminChrome::new(state, s, "devices"),
            devices: devices.iter().map(|d| row(now, d)).collect(),
            pins,
            locations,
            name: x.name,
            problem_field,
            problem,
            notice: x.notice,
        },
    ))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "signed-out" => "The cashier was signed out. The till shows its lock screen now.",
        "revoked" => {
            "Till revoked. Its next request wipes what it stored and it shows that it was \
             removed from the shop."
        }
        "pin" => "Till PIN saved. It works on every till from now on.",
        _ => return None,
    })
}

/// `GET /admin/devices`.
pub async fn list(
    s: TillManager,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let x = Extras {
        notice: q.get("done").and_then(|d| notice_for(d)),
        ..Default::default()
    };
    list_page(&state, &s, StatusCode::OK, x).await
}

#[derive(Template)]
#[template(path = "admin_devices_code.html")]
struct CodePage {
    admin: AdminChrome,
    name: String,
    location: String,
    code: String,
    expires: String,
    pos_url: String,
    again: bool,
}

/// `ABCDEFGH` -> `ABCD-EFGH`, easier to read out and type.
pub fn grouped(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 8 {
        return code.to_string();
    }
    let (a, b) = chars.split_at(4);
    format!(
        "{}-{}",
        a.iter().collect::<String>(),
        b.iter().collect::<String>()
    )
}

/// The page that shows a fresh pairing code once (never in a URL, never in the audit log).
pub fn code_page(
    state: &AppState,
    s: &AdminSession,
    d: &PosDevice,
    code: &str,
    again: bool,
) -> Response {
    let expires = d
        .pairing_expires_at
        .unwrap_or_else(|| state.db.now() + 15 * 60_000);
    page(
        StatusCode::OK,
        &CodePage {
            admin: AdminChrome::new(state, s, "devices"),
            name: d.name.clone(),
            location: d.location_name.clone(),
            code: grouped(code),
            expires: utc(expires),
            pos_url: format!("{}/pos", state.cfg.public_url.trim_end_matches('/')),
            again,
        },
    )
}

/// `POST /admin/devices`: register a till (name 1-60 characters, one of the shop's locations)
/// and show its pairing code. Bad input: the page again (422) naming the field, nothing made.
pub async fn register(
    s: TillManager,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let name = f.text("name");
    let location_id = f.text("location_id");
    let locations = state.db.locations().await?;
    let problem = if name.is_empty() {
        Some((
            "name",
            "Name: give the till a name, like \"Front counter\".".to_string(),
        ))
    } else if name.chars().count() > NAME_MAX {
        Some(("name", format!("Name: use at most {NAME_MAX} characters.")))
    } else if !locations.iter().any(|l| l.id.as_str() == location_id) {
        Some((
            "location_id",
            "Location: choose one of the shop's locations.".to_string(),
        ))
    } else {
        None
    };
    let refused = |problem| Extras {
        name: name.clone(),
        location_id: location_id.clone(),
        problem: Some(problem),
        notice: None,
    };
    if let Some(p) = problem {
        return list_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, refused(p)).await;
    }
    let actor = s.user().email.clone();
    let (d, code) = match state.db.register_device(&name, &location_id, &actor).await {
        Ok(x) => x,
        Err(StoreError::Invalid(v)) => {
            let field = if v.field.contains("location") {
                "location_id"
            } else {
                "name"
            };
            let p = (field, format!("{}: {}", field_label(field), v.message));
            return list_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, refused(p)).await;
        }
        Err(e) => return Err(e.into()),
    };
    let details = format!("\"{}\" at {}", d.name, d.location_name);
    log(&state, &s, &client, "pos.device_registered", &d.id, details).await?;
    Ok(code_page(&state, &s, &d, &code, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_words() {
        let now = 1_000_000_000;
        assert_eq!(ago(now, now - 5_000), "just now");
        assert_eq!(ago(now, now - 125_000), "2 min ago");
        assert_eq!(ago(now, now - 3 * 3_600_000), "3 h ago");
        assert_eq!(ago(now, now - 4 * 86_400_000), "4 days ago");
        assert_eq!(ago(now, now + 9_000), "just now", "a clock a little ahead");
    }

    #[test]
    fn codes_are_grouped() {
        assert_eq!(grouped("ABCDEFGH"), "ABCD-EFGH");
        assert_eq!(grouped("ABC"), "ABC");
    }
}
