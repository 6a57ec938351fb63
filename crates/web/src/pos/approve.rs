//! A manager's PIN on the spot: discounts above the cashier's limit, refunds, and a cash count
//! that is off by more than the threshold. The PIN counts towards that manager's lock-out like
//! any other, and every approval (and every refused one) is audited.

use serde::Deserialize;
use storefort_core::access::Role;
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::pos_pins::PinCheck;

use super::error::{PosError, PosResult};
use super::till::Cashier;
use crate::AppState;

/// `{"user_id": ..., "pin": ...}` of the approving manager.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approver {
    /// The manager's (or owner's) staff ID.
    pub user_id: String,
    /// Their PIN.
    pub pin: String,
}

/// Turn a PIN check into an answer. `field` names where the PIN was typed.
pub fn pin_refusal(check: PinCheck, field: &str) -> PosError {
    use axum::http::StatusCode;
    match check {
        PinCheck::Ok => PosError::internal(&"pin_refusal called on a good PIN"),
        PinCheck::Wrong { tries_left } => PosError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_pin",
            match tries_left {
                0 => "Wrong PIN. This PIN is now locked; a manager can reset it.".to_string(),
                1 => "Wrong PIN. 1 try left before this PIN locks.".to_string(),
                n => format!("Wrong PIN. {n} tries left before this PIN locks."),
            },
        )
        .field(field),
        PinCheck::Locked => PosError::new(
            StatusCode::LOCKED,
            "pin_locked",
            "This PIN is locked after 5 wrong tries. A manager can reset it on the Staff page.",
        )
        .field(field),
        PinCheck::NoPin => PosError::new(
            StatusCode::CONFLICT,
            "no_pin",
            "This person has no till PIN yet. Set one on your account page, or ask a manager.",
        )
        .field(field),
        PinCheck::Disabled => PosError::new(
            StatusCode::FORBIDDEN,
            "disabled",
            "This staff account is disabled.",
        )
        .field(field),
    }
}

/// Check that `a` is a manager or owner whose PIN is right; audit the outcome. `what` says what
/// was approved ("a 25% discount", "a refund of £12.00 on sale #1042").
pub async fn approve(state: &AppState, c: &Cashier, a: &Approver, what: &str) -> PosResult<String> {
    let user = match state.db.user(&a.user_id).await {
        Ok(u) => u,
        Err(storefort_store::StoreError::NotFound { .. }) => {
            return Err(PosError::invalid(
                "approver.user_id",
                "Choose a manager from the list.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let role = Role::parse(&user.role).unwrap_or(Role::Cashier);
    if !matches!(role, Role::Owner | Role::Manager) {
        return Err(PosError::invalid(
            "approver.user_id",
            format!(
                "{} is not a manager; ask a manager or the owner.",
                user.name
            ),
        ));
    }
    let ip = c.till.client.ip.to_string();
    let check = state.db.verify_pin(&user.id.0, &a.pin).await?;
    let base = AuditEvent::new("pos.approval", &user.email, &ip)
        .by(&user.id.0)
        .on(&c.till.device.id);
    if !matches!(check, PinCheck::Ok) {
        let ev = base
            .outcome(Outcome::Denied)
            .details(format!("wrong manager PIN for {what}, asked by {}", c.name));
        state.db.audit(ev).await?;
        return Err(pin_refusal(check, "approver.pin"));
    }
    let ev = base.details(format!(
        "approved {what} for {} at till {:?}",
        c.name, c.till.device.name
    ));
    state.db.audit(ev).await?;
    Ok(user.id.0)
}
