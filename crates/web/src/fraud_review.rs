//! Holds for a phone check and what staff do about them: screening's decision right after a
//! card is authorized (capture, hold or block), then approve (capture), cancel (void and
//! restock), ask the customer to pay again (the authorization ran out), and call notes.
//! Callers audit; every refusal changes nothing.

use axum::http::StatusCode;
use storefort_core::fraud::{Assessment, Decision, FraudSettings, Reason};
use storefort_core::ids::OrderId;
use storefort_core::order_state::{OrderEvent, OrderStatus};
use storefort_payments::{Gateway, PaymentState, PaymentStatus};
use storefort_store::outbox::OutgoingEmail;
use storefort_store::reviews::CallOutcome;
use storefort_store::StoreError;

use crate::error::ApiError;
use crate::fraud_screen::{screen, timeline_note};
use crate::payment_flow::{capture, gateway_error, update_of};
use crate::AppState;

/// How long a customer asked to pay again has to do it.
pub const PAY_AGAIN_MS: i64 = 48 * 3_600_000;
/// Staff are warned this long before a held order's authorization runs out.
pub const EXPIRY_WARNING_MS: i64 = 24 * 3_600_000;
/// The actor screening's timeline entries are written as.
pub const SCREENING: &str = "screening";

/// An order's card was authorized: capture it, hold it for a phone check, or void it, as
/// screening decides. Runs under the order's lock (from `payment_flow::apply`).
pub async fn after_authorization(
    state: &AppState,
    order: &OrderId,
    g: &dyn Gateway,
    reference: &str,
    st: &PaymentState,
    actor: &str,
) -> Result<OrderStatus, ApiError> {
    let db = &state.db;
    if st.status == PaymentStatus::Captured {
        // The gateway took the money at once (cash): there is nothing left to hold back.
        return capture(state, order, g, reference, st, actor).await;
    }
    let existing = db.order_risk(order).await?;
    let pay_again = existing
        .as_ref()
        .filter(|r| r.review.as_deref() == Some("pay_again"))
        .map(|r| r.decided_at.unwrap_or(0));
    let decided = existing
        .and_then(|r| r.decision)
        .filter(|_| pay_again.is_none());
    let decision = match decided {
        // Screened already (a retry after the capture failed): the same answer.
        Some(d) => d,
        None => decide(state, order, g, reference, st, pay_again.is_some()).await?,
    };
    // Staff spoke to this customer before asking them to pay again: only a block stops it.
    let decision = match (pay_again, decision) {
        (Some(_), Decision::Review) => {
            db.add_order_note(order, SCREENING, "paid again after a phone check")
                .await?;
            Decision::Pass
        }
        (_, d) => d,
    };
    match decision {
        Decision::Pass => capture(state, order, g, reference, st, actor).await,
        Decision::Review => {
            let now = db
                .transition(order, OrderEvent::Hold, SCREENING, "held for a phone check")
                .await?;
            db.keep_reservation(order).await?;
            crate::order_mail::under_review(state, order).await?;
            Ok(now)
        }
        Decision::Block => {
            let voided = g.void(reference).await.map_err(gateway_error)?;
            db.record_payment(order, g.id(), reference, &update_of(&voided))
                .await?;
            Ok(db
                .transition(
                    order,
                    OrderEvent::Cancel,
                    SCREENING,
                    "payment blocked by screening; the authorization was voided",
                )
                .await?)
        }
    }
}

/// After staff asked the customer to pay again, a report that an older payment (the one they
/// did not approve; its void may have failed) authorized is refused before it can pay the order:
/// voided, and true returned. Called by `payment_flow::apply` before the payment claims the order.
pub async fn stale_after_pay_again(
    state: &AppState,
    order: &OrderId,
    g: &dyn Gateway,
    reference: &str,
    st: &PaymentState,
) -> Result<bool, ApiError> {
    let db = &state.db;
    let Some(asked_at) = db
        .order_risk(order)
        .await?
        .filter(|r| r.review.as_deref() == Some("pay_again"))
        .map(|r| r.decided_at.unwrap_or(0))
    else {
        return Ok(false);
    };
    let row = db.payment_by_reference(g.id(), reference).await?;
    if row.is_some_and(|p| p.created_at >= asked_at) {
        return Ok(false);
    }
    if st.status == PaymentStatus::Authorized {
        let voided = g.void(reference).await.map_err(gateway_error)?;
        db.record_payment(order, g.id(), reference, &update_of(&voided))
            .await?;
    }
    db.add_order_note(
        order,
        SCREENING,
        "an authorization from before the customer was asked to pay again was refused",
    )
    .await?;
    Ok(true)
}

/// Screen the order once: the gateway is asked for the payment first (a webhook's copy may lack
/// the card and its checks), and only one screening's answer is kept when two race (the
/// shopper's return and the webhook, on two nodes): the loser takes the kept one.
async fn decide(
    state: &AppState,
    order: &OrderId,
    g: &dyn Gateway,
    reference: &str,
    st: &PaymentState,
    again: bool,
) -> Result<Decision, ApiError> {
    let db = &state.db;
    let fresh = match g.status(reference).await {
        Ok(f) if f.status == st.status => f,
        _ => st.clone(),
    };
    match screen(state, order, &fresh, again).await {
        Ok((a, true)) => {
            db.add_order_note(order, SCREENING, &timeline_note(&a))
                .await?;
            if a.decision == Decision::Review && !again {
                notify_staff(state, order, &a).await;
            }
            Ok(a.decision)
        }
        Ok((_, false)) => Ok(kept_decision(state, order).await?),
        Err(e) => {
            // Screening could not run: hold rather than ship unchecked.
            tracing::error!(order = %order.0, error = %e.message, "screening failed");
            let a = Assessment {
                score: 0,
                reasons: vec![Reason {
                    code: "screening_failed".into(),
                    points: 0,
                    text: "Screening could not run; check this order by hand.".into(),
                }],
                decision: Decision::Review,
            };
            // The default length: the settings may be what could not be read.
            let until = db.now() + FraudSettings::default().authorization_ms();
            if db.save_assessment(order, &a, "{}", Some(until)).await? {
                notify_staff(state, order, &a).await;
                return Ok(Decision::Review);
            }
            Ok(kept_decision(state, order).await?)
        }
    }
}

async fn kept_decision(state: &AppState, order: &OrderId) -> Result<Decision, StoreError> {
    Ok(state
        .db
        .order_risk(order)
        .await?
        .and_then(|r| r.decision)
        .unwrap_or(Decision::Review))
}

/// Email owners and managers that an order waits for a phone check (no customer data in it).
async fn notify_staff(state: &AppState, order: &OrderId, a: &Assessment) {
    let number = match state.db.order_detail(order).await {
        Ok(d) => d.summary.number,
        Err(e) => {
            tracing::warn!(error = %e, "held order not found for the staff email");
            return;
        }
    };
    let link = format!(
        "{}/admin/reviews/{}",
        state.cfg.public_url.trim_end_matches('/'),
        order.0
    );
    let shop = &state.cfg.shop_name;
    let reasons: Vec<String> = a.reasons.iter().map(|r| format!("- {}", r.text)).collect();
    let text = format!(
        "Order #{number} scored {} and is on hold: the card is authorized, not charged.\n\
         Call the customer before approving it.\n\nWhy:\n{}\n\nReview it: {link}\n",
        a.score,
        reasons.join("\n")
    );
    let html = format!(
        "<p>Order #{number} scored {} and is on hold: the card is authorized, not charged. \
         Call the customer before approving it.</p><p>Why:</p><ul>{}</ul>\
         <p><a href=\"{}\">Review it</a></p>",
        a.score,
        a.reasons
            .iter()
            .map(|r| format!("<li>{}</li>", crate::pages::render::escape(&r.text)))
            .collect::<String>(),
        crate::pages::render::escape(&link)
    );
    let subject = format!("{shop}: order #{number} needs a phone check");
    email_reviewers(state, "order_held", &subject, &text, &html).await;
}

/// Email every enabled owner and manager (failures are logged; mail is best effort here).
async fn email_reviewers(state: &AppState, kind: &str, subject: &str, text: &str, html: &str) {
    for role in ["owner", "manager"] {
        let users = match state.db.users_with_role(role).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "staff not found for a review email");
                continue;
            }
        };
        for u in users.into_iter().filter(|u| !u.disabled) {
            let mail = OutgoingEmail {
                kind: kind.to_string(),
                customer_id: None,
                to: u.email.clone(),
                subject: subject.to_string(),
                text: text.to_string(),
                html: html.to_string(),
            };
            if let Err(e) = state.db.enqueue_email(&mail).await {
                tracing::error!(error = %e, "could not queue a review email");
            }
        }
    }
}

/// Warn owners and managers (once per order) when a held order's card authorization runs out
/// within a day: after that the money cannot be taken. Returns how many were warned.
pub async fn warn_expiring(state: &AppState) -> Result<usize, ApiError> {
    let soon = state.db.take_expiry_warnings(EXPIRY_WARNING_MS).await?;
    let shop = &state.cfg.shop_name;
    for (order, number, at) in &soon {
        let link = format!(
            "{}/admin/reviews/{}",
            state.cfg.public_url.trim_end_matches('/'),
            order.0
        );
        let when = crate::pages::render::utc(*at) + " UTC";
        let text = format!(
            "The card authorization of held order #{number} runs out at {when}. After that the \
             payment can no longer be taken: call the customer and approve or cancel the order \
             before then.\n\nReview it: {link}\n"
        );
        let html = format!(
            "<p>The card authorization of held order #{number} runs out at {when}. After that \
             the payment can no longer be taken: call the customer and approve or cancel the \
             order before then.</p><p><a href=\"{}\">Review it</a></p>",
            crate::pages::render::escape(&link)
        );
        let subject = format!("{shop}: order #{number} must be checked before {when}");
        email_reviewers(state, "review_expiring", &subject, &text, &html).await;
    }
    Ok(soon.len())
}

fn expired_error(at: i64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "authorization_expired",
        format!(
            "the card authorization ran out on {}, so this payment can no longer be taken; use \
             \"Ask to pay again\" to send the customer a link to pay for this order",
            crate::pages::render::utc(at) + " UTC"
        ),
    )
    .field("authorization")
}

/// The open review of an on-hold order, or why there is none.
async fn open_review(
    state: &AppState,
    order: &OrderId,
) -> Result<storefort_store::reviews::OrderRisk, ApiError> {
    let status = state.db.order_status(order).await?;
    let risk = state.db.order_risk(order).await?;
    match risk {
        Some(r) if r.review.as_deref() == Some("open") && status == OrderStatus::OnHold => Ok(r),
        _ => Err(StoreError::state(
            "status",
            format!(
                "{} is not waiting for a phone check, so there is nothing to decide",
                crate::pages::render::capitalize(status.subject())
            ),
        )
        .into()),
    }
}

/// Approve a held order: capture its authorization (the shopper gets the confirmation).
pub async fn approve(state: &AppState, order: &OrderId, actor: &str) -> Result<(), ApiError> {
    let _one_at_a_time = state.lock_order(&order.0).await;
    let risk = open_review(state, order).await?;
    let now = state.db.now();
    if let Some(at) = risk.auth_expires_at.filter(|at| *at <= now) {
        return Err(expired_error(at));
    }
    let detail = state.db.order_detail(order).await?;
    // The payment that pays this order, never a second authorization that was meant to go.
    let claimed = state.db.order_payment_id(order).await?;
    let Some(p) = detail.payments.iter().find(|p| {
        Some(&p.id) == claimed.as_ref() && p.status == PaymentStatus::Authorized.as_str()
    }) else {
        return Err(StoreError::state(
            "payment",
            "this order has no authorized payment left to take; ask the customer to pay again",
        )
        .into());
    };
    let g = state
        .gateways
        .get(&p.gateway)
        .ok_or_else(|| StoreError::state("payment", "this order's payment method is gone"))?;
    let st = g.status(&p.reference).await.map_err(gateway_error)?;
    if st.status != PaymentStatus::Authorized && st.status != PaymentStatus::Captured {
        return Err(expired_error(risk.auth_expires_at.unwrap_or(now)));
    }
    capture(state, order, g.as_ref(), &p.reference, &st, actor).await?;
    state.db.close_review(order, "approved", actor).await?;
    Ok(())
}

/// Cancel a held order: void the authorization, return the stock, send a neutral email.
pub async fn cancel(
    state: &AppState,
    order: &OrderId,
    actor: &str,
    reason: &str,
) -> Result<(), ApiError> {
    storefort_core::text::optional("reason", reason, 500)?;
    // The check and the cancel under one lock: "ask to pay again" cannot slip in between.
    let _one_at_a_time = state.lock_order(&order.0).await;
    open_review(state, order).await?;
    let why = if reason.trim().is_empty() {
        "cancelled after review".to_string()
    } else {
        format!("cancelled after review: {}", reason.trim())
    };
    // Closes the review too (as a cancel from the order page does).
    crate::payment_flow::cancel_locked(state, order, actor, &why).await?;
    Ok(())
}

/// The authorization ran out (or the customer wants another card): give it back, put the order
/// back to awaiting payment for 48 hours and email the customer a link to pay.
pub async fn ask_to_pay(state: &AppState, order: &OrderId, actor: &str) -> Result<(), ApiError> {
    let _one_at_a_time = state.lock_order(&order.0).await;
    open_review(state, order).await?;
    let detail = state.db.order_detail(order).await?;
    if detail.record.email.is_empty() {
        return Err(StoreError::state(
            "email",
            "the customer's details were erased, so they cannot be asked to pay; cancel instead",
        )
        .into());
    }
    for p in detail
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Authorized.as_str())
    {
        let g = state
            .gateways
            .get(&p.gateway)
            .ok_or_else(|| StoreError::state("payment", "this order's payment method is gone"))?;
        let after = match g.void(&p.reference).await {
            Ok(st) => st,
            // An authorization that ran out cannot be voided; make sure it is really gone
            // before the order is freed for a new payment.
            Err(e) => match g.status(&p.reference).await {
                Ok(st) if st.status != PaymentStatus::Authorized => st,
                _ => {
                    tracing::warn!(reference = %p.reference, error = %e, "not voided");
                    return Err(ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "gateway_unavailable",
                        "the card authorization could not be released at the payment provider; \
                         nothing was changed, please try again in a minute",
                    ));
                }
            },
        };
        state
            .db
            .record_payment(order, g.id(), &p.reference, &update_of(&after))
            .await?;
    }
    state
        .db
        .transition(
            order,
            OrderEvent::AskToPay,
            actor,
            "customer asked to pay again after a phone check",
        )
        .await?;
    let until = state.db.now() + PAY_AGAIN_MS;
    state.db.release_order_payment(order, until).await?;
    state.db.close_review(order, "pay_again", actor).await?;
    crate::order_mail::pay_again(state, order).await?;
    Ok(())
}

/// Log a call to the customer.
pub async fn log_call(
    state: &AppState,
    order: &OrderId,
    outcome: &str,
    note: &str,
    actor: &str,
) -> Result<CallOutcome, ApiError> {
    let Some(outcome) = CallOutcome::parse(outcome) else {
        return Err(ApiError::invalid(
            "outcome",
            "choose how the call went: confirmed, denied, no_answer, left_message or wrong_number",
        ));
    };
    // Calls belong to a phone check: only an order waiting for one takes them.
    open_review(state, order).await?;
    state
        .db
        .add_review_call(order, outcome, note, actor)
        .await?;
    state
        .db
        .add_order_note(
            order,
            actor,
            &format!("called the customer: {}", outcome.label()),
        )
        .await?;
    Ok(outcome)
}
