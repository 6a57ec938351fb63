//! Reading Stripe's answers: PaymentIntents as [`PaymentState`]s (card brand and last 4,
//! CVC / postcode / 3-D Secure checks, captured and refunded amounts, decline wording) and
//! error bodies as [`GatewayError`]s.

use serde_json::Value;

use crate::{Card, Check, Checks, GatewayError, PaymentState, PaymentStatus};

/// Stripe's error answer as a [`GatewayError`].
pub(crate) fn stripe_error(status: u16, body: &Value) -> GatewayError {
    let err = body.get("error").unwrap_or(&Value::Null);
    let text = |k: &str| err.get(k).and_then(Value::as_str);
    let message = text("message").unwrap_or("no message").to_string();
    let code = text("code").unwrap_or("");
    match status {
        402 => GatewayError::Declined(message),
        _ if text("type") == Some("card_error") => GatewayError::Declined(message),
        _ if code == "payment_intent_unexpected_state" || code == "charge_already_refunded" => {
            GatewayError::Conflict(message)
        }
        409 => GatewayError::Conflict(message),
        401 | 403 => GatewayError::Unavailable(format!(
            "Stripe refused the secret key ({message}); check the Stripe settings"
        )),
        404 => GatewayError::invalid("reference", format!("Stripe does not know it ({message})")),
        400 => GatewayError::Invalid {
            field: text("param").unwrap_or("payment").to_string(),
            message,
        },
        _ => GatewayError::Unavailable(format!("Stripe answered {status}: {message}")),
    }
}

fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

/// Stripe's check words (`pass`, `fail`, `unavailable`, `unchecked`, null).
fn check(v: Option<&Value>) -> Check {
    match v.and_then(Value::as_str) {
        Some("pass") => Check::Pass,
        Some("fail") => Check::Fail,
        Some("unavailable") => Check::Unavailable,
        _ => Check::NotChecked,
    }
}

/// 3-D Secure's `result` (`authenticated`, `attempt_acknowledged`, `failed`, ...).
fn three_ds(v: Option<&Value>) -> Check {
    match v.and_then(|t| t.get("result")).and_then(Value::as_str) {
        Some("authenticated" | "attempt_acknowledged") => Check::Pass,
        Some("failed") => Check::Fail,
        Some(_) => Check::Unavailable,
        None => Check::NotChecked,
    }
}

/// A PaymentIntent (with `latest_charge` and `payment_method` expanded when available) as a
/// [`PaymentState`]. The card and checks come from the charge's `payment_method_details.card`,
/// else from the payment method's `card`.
pub fn pi_state(pi: &Value) -> PaymentState {
    let amount = int(pi, "amount").unwrap_or(0);
    let charge = match pi.get("latest_charge") {
        Some(c) if c.is_object() => Some(c),
        _ => pi.pointer("/charges/data/0"),
    };
    let error = pi.get("last_payment_error").filter(|e| e.is_object());
    let status = match pi.get("status").and_then(Value::as_str) {
        Some("requires_capture") => PaymentStatus::Authorized,
        Some("succeeded") => PaymentStatus::Captured,
        Some("canceled") => PaymentStatus::Voided,
        Some("processing") => PaymentStatus::Pending,
        Some("requires_payment_method") if error.is_some() => PaymentStatus::Failed,
        _ => PaymentStatus::RequiresAction,
    };
    let mut s = PaymentState::new(status, amount);
    if status == PaymentStatus::Captured {
        let charged = charge.and_then(|c| int(c, "amount")).unwrap_or(amount);
        s.captured_minor = int(pi, "amount_received")
            .filter(|n| *n > 0)
            .or_else(|| charge.and_then(|c| int(c, "amount_captured")))
            .unwrap_or(charged);
        // The uncaptured rest of a partial capture shows as refunded on the charge.
        let released = (charged - s.captured_minor).max(0);
        let refunded = charge.and_then(|c| int(c, "amount_refunded")).unwrap_or(0);
        s.refunded_minor = (refunded - released).clamp(0, s.captured_minor);
    }
    let details = charge.and_then(|c| c.pointer("/payment_method_details/card"));
    let pm_card = pi.pointer("/payment_method/card").filter(|c| c.is_object());
    if let Some(card) = details.or(pm_card) {
        let text = |k: &str| card.get(k).and_then(Value::as_str).unwrap_or("");
        s.card = Card::new(text("brand"), text("last4"));
        s.card_fingerprint = Some(text("fingerprint"))
            .filter(|f| {
                !f.is_empty() && f.len() <= 64 && f.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .map(str::to_string);
        let checks = card.get("checks");
        s.checks = Checks {
            cvc: check(checks.and_then(|c| c.get("cvc_check"))),
            postcode: check(checks.and_then(|c| c.get("address_postal_code_check"))),
            three_d_secure: three_ds(card.get("three_d_secure").filter(|t| t.is_object())),
        };
    }
    if status == PaymentStatus::Failed {
        let msg = error
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("Your card was declined.");
        s.decline = Some(msg.to_string());
        if error.and_then(|e| e.get("code")).and_then(Value::as_str)
            == Some("payment_intent_authentication_failure")
        {
            s.checks.three_d_secure = Check::Fail;
        }
    }
    s
}
