//! The cash drawer: open a shift with a counted float, cash in and out with a reason, close it
//! with the counted cash. A count off by more than the threshold needs a manager's PIN.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use storefort_store::audit::AuditEvent;
use storefort_store::pos_shifts::Shift;

use super::approve::{approve, Approver};
use super::error::{PosError, PosResult};
use super::till::Cashier;
use super::PosJson;
use crate::AppState;

/// A shift as the app sees it.
pub fn shift_json(s: &Shift) -> Value {
    json!({
        "id": s.id, "number": s.number, "status": s.status, "opened_by": s.opened_by_name,
        "opened_at": s.opened_at, "float_minor": s.float_minor, "closed_at": s.closed_at,
        "counted_minor": s.counted_minor, "expected_minor": s.expected_minor,
        "variance_minor": s.variance_minor,
    })
}

fn no_shift() -> PosError {
    PosError::new(
        StatusCode::CONFLICT,
        "no_shift",
        "No shift is open on this till. Open one with the float you counted.",
    )
}

/// `GET /pos/api/shift`: the open shift and the cash the drawer should hold.
pub async fn current(State(s): State<AppState>, c: Cashier) -> PosResult<Json<Value>> {
    match s.db.open_shift_of(&c.till.device.id).await? {
        Some(sh) => {
            let expected = s.db.expected_cash(&sh.id).await?;
            Ok(Json(
                json!({"shift": shift_json(&sh), "expected_minor": expected}),
            ))
        }
        None => Ok(Json(json!({"shift": null, "expected_minor": null}))),
    }
}

/// `POST /pos/api/shift/open` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// The float counted into the drawer.
    pub float_minor: i64,
}

async fn audit(
    s: &AppState,
    c: &Cashier,
    action: &str,
    target: &str,
    details: String,
) -> PosResult<()> {
    let user = s.db.user(&c.user_id).await?;
    let ev = AuditEvent::new(action, &user.email, &c.till.client.ip.to_string())
        .by(&c.user_id)
        .on(target)
        .details(details);
    s.db.audit(ev).await?;
    Ok(())
}

/// `POST /pos/api/shift/open`.
pub async fn open(
    State(s): State<AppState>,
    c: Cashier,
    PosJson(b): PosJson<OpenBody>,
) -> PosResult<(StatusCode, Json<Value>)> {
    if !(0..=100_000_000).contains(&b.float_minor) {
        return Err(PosError::invalid(
            "float_minor",
            "Count the float: 0 or more.",
        ));
    }
    let sh =
        s.db.open_shift(&c.till.device.id, &c.user_id, b.float_minor)
            .await?;
    let details = format!(
        "shift {} opened at till {:?} with a float of {}",
        sh.number,
        c.till.device.name,
        s.cfg.currency.format(b.float_minor)
    );
    audit(&s, &c, "pos.shift_opened", &sh.id, details).await?;
    Ok((StatusCode::CREATED, Json(shift_json(&sh))))
}

/// `POST /pos/api/shift/cash` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CashBody {
    /// `in` or `out`.
    pub kind: String,
    /// How much.
    pub amount_minor: i64,
    /// Why ("change from the bank", "window cleaner").
    pub reason: String,
    /// A manager approving cash out above the shop's limit.
    pub approver: Option<Approver>,
}

/// `POST /pos/api/shift/cash`: money into or out of the drawer.
pub async fn cash(
    State(s): State<AppState>,
    c: Cashier,
    PosJson(b): PosJson<CashBody>,
) -> PosResult<Json<Value>> {
    let Some(sh) = s.db.open_shift_of(&c.till.device.id).await? else {
        return Err(no_shift());
    };
    let settings = s.db.pos_settings().await?;
    if b.kind == "out" && b.amount_minor > settings.cash_out_approval_minor {
        let what = format!("cash out of {}", s.cfg.currency.format(b.amount_minor));
        let Some(a) = &b.approver else {
            return Err(PosError::approval_required(format!(
                "Taking more than {} out of the drawer needs a manager's PIN.",
                s.cfg.currency.format(settings.cash_out_approval_minor)
            )));
        };
        approve(&s, &c, a, &what).await?;
    }
    s.db.cash_movement(&sh.id, &b.kind, b.amount_minor, &b.reason, &c.user_id)
        .await?;
    let details = format!(
        "cash {} {} at till {:?}: {}",
        b.kind,
        s.cfg.currency.format(b.amount_minor),
        c.till.device.name,
        b.reason.chars().take(200).collect::<String>()
    );
    audit(&s, &c, "pos.cash_movement", &sh.id, details).await?;
    let expected = s.db.expected_cash(&sh.id).await?;
    Ok(Json(json!({"expected_minor": expected})))
}

/// `POST /pos/api/shift/close` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// Cash counted in the drawer.
    pub counted_minor: i64,
    /// Anything to say about the count.
    #[serde(default)]
    pub note: String,
    /// A manager approving a count that is off by more than the threshold.
    pub approver: Option<Approver>,
}

/// `POST /pos/api/shift/close`: count the drawer, compare with what it should hold.
pub async fn close(
    State(s): State<AppState>,
    c: Cashier,
    PosJson(b): PosJson<CloseBody>,
) -> PosResult<Json<Value>> {
    let Some(sh) = s.db.open_shift_of(&c.till.device.id).await? else {
        return Err(no_shift());
    };
    if b.counted_minor < 0 {
        return Err(PosError::invalid(
            "counted_minor",
            "Count the cash: 0 or more.",
        ));
    }
    let settings = s.db.pos_settings().await?;
    let expected = s.db.expected_cash(&sh.id).await?;
    let variance = b.counted_minor - expected;
    let approver = if variance.abs() > settings.variance_threshold_minor {
        let shown = format!(
            "{} {}",
            s.cfg.currency.format(variance.abs()),
            if variance > 0 { "over" } else { "short" }
        );
        let Some(a) = &b.approver else {
            return Err(PosError::approval_required(format!(
                "The drawer is {shown} (expected {}). A manager must approve the count with their PIN.",
                s.cfg.currency.format(expected)
            ))
            .field("approver"));
        };
        Some(
            approve(
                &s,
                &c,
                a,
                &format!("a cash count {shown} on shift {}", sh.number),
            )
            .await?,
        )
    } else {
        None
    };
    let closed =
        s.db.close_shift(
            &sh.id,
            &c.user_id,
            b.counted_minor,
            &b.note,
            approver.as_deref(),
            settings.variance_threshold_minor,
        )
        .await?;
    let details = format!(
        "shift {} closed at till {:?}: counted {}, expected {}, variance {}",
        closed.number,
        c.till.device.name,
        s.cfg.currency.format(b.counted_minor),
        s.cfg.currency.format(expected),
        s.cfg.currency.format(variance)
    );
    audit(&s, &c, "pos.shift_closed", &closed.id, details).await?;
    Ok(Json(json!({
        "shift": shift_json(&closed),
        "z_report_url": format!("/pos/z/{}", closed.id),
    })))
}
