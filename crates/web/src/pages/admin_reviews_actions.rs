//! What staff do from a review page: approve (the authorization is captured and the order
//! released for fulfilment), cancel (voided, restocked, a neutral email), log a call with its
//! outcome, or ask the customer to pay again when the authorization ran out. The work is done
//! by [`crate::fraud_review`]; a refusal shows the review page again with the reason (409 when
//! the order's state does not allow it, 422 for bad input) and changes nothing. Each action is
//! audited with the order number and score, never the customer's details or free text.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::ids::OrderId;

use super::admin::{checked_form, see_other};
use super::admin_orders_actions::refusal;
use super::admin_orders_view::Problem;
use super::admin_reviews::{review_url, Reviewer};
use super::admin_reviews_view::{review_page, Extras, Typed};
use super::admin_staff::log as record;
use super::render::PageError;
use crate::auth::AdminSession;
use crate::fraud_review;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The order's number and score for audit entries (also proves the order exists: 404).
async fn described(state: &AppState, id: &OrderId) -> Result<String, PageError> {
    let number = state.db.order_detail(id).await?.summary.number;
    let score = state.db.order_risk(id).await?.and_then(|r| r.score);
    Ok(match score {
        Some(s) => format!("order #{number}, score {s}"),
        None => format!("order #{number}, not screened"),
    })
}

/// Show the review page again after a refused action, with the reason.
async fn again(
    state: &AppState,
    s: &AdminSession,
    client: &ClientInfo,
    id: &OrderId,
    (status, problem): (StatusCode, Problem),
    typed: Typed,
) -> Result<Response, PageError> {
    let x = Extras {
        problem: Some(problem),
        typed,
        ..Default::default()
    };
    review_page(state, s, client, id, status, x).await
}

/// `POST /admin/reviews/{id}/approve`: capture the authorization and release the order for
/// fulfilment. Refused (409, nothing changed) when the order is not waiting for a check or
/// its authorization ran out (the message offers "Ask to pay again"). Audited as
/// `review.approved`.
pub async fn approve(
    s: Reviewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let id = OrderId(id);
    let what = described(&state, &id).await?;
    let actor = s.user().email.clone();
    match fraud_review::approve(&state, &id, &actor).await {
        Ok(()) => {
            record(&state, &s, &client, "review.approved", id.as_str(), what).await?;
            Ok(see_other(&review_url(id.as_str(), "approved")))
        }
        Err(e) => {
            let refused = refusal(e, &|_| String::new())?;
            again(&state, &s, &client, &id, refused, Typed::default()).await
        }
    }
}

/// `POST /admin/reviews/{id}/cancel` (field `reason`, optional, kept in the timeline): void
/// the authorization, put the stock back and tell the customer neutrally. Audited as
/// `review.cancelled` (without the reason, which is free text).
pub async fn cancel(
    s: Reviewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let id = OrderId(id);
    let what = described(&state, &id).await?;
    let reason = f.text("reason");
    let actor = s.user().email.clone();
    match fraud_review::cancel(&state, &id, &actor, &reason).await {
        Ok(()) => {
            let details = format!(
                "{what}, {}",
                if reason.is_empty() {
                    "no reason given"
                } else {
                    "with a reason"
                }
            );
            record(
                &state,
                &s,
                &client,
                "review.cancelled",
                id.as_str(),
                details,
            )
            .await?;
            Ok(see_other(&review_url(id.as_str(), "cancelled")))
        }
        Err(e) => {
            let input = |f: &str| {
                if f == "reason" || f == "note" {
                    "cancel-reason".to_string()
                } else {
                    String::new()
                }
            };
            let typed = Typed {
                cancel_reason: reason,
                ..Default::default()
            };
            let refused = refusal(e, &input)?;
            again(&state, &s, &client, &id, refused, typed).await
        }
    }
}

/// `POST /admin/reviews/{id}/calls` (fields `outcome`: one of
/// [`storefort_store::reviews::CallOutcome`]'s names, and `note`, optional): log a call to
/// the customer. Audited as `review.call_logged` with the outcome (the note stays out: it is
/// sealed with the customer's data).
pub async fn call(
    s: Reviewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let id = OrderId(id);
    let what = described(&state, &id).await?;
    let (outcome, note) = (f.text("outcome"), f.text("note"));
    let actor = s.user().email.clone();
    match fraud_review::log_call(&state, &id, &outcome, &note, &actor).await {
        Ok(o) => {
            let details = format!(
                "{what}, outcome {}, {}",
                o.as_str(),
                if note.is_empty() {
                    "no note"
                } else {
                    "with a note"
                }
            );
            record(
                &state,
                &s,
                &client,
                "review.call_logged",
                id.as_str(),
                details,
            )
            .await?;
            Ok(see_other(&review_url(id.as_str(), "called")))
        }
        Err(e) => {
            let input = |f: &str| match f {
                "outcome" => "call-outcome".to_string(),
                "note" => "call-note".to_string(),
                _ => String::new(),
            };
            let typed = Typed {
                outcome,
                note,
                ..Default::default()
            };
            let refused = refusal(e, &input)?;
            again(&state, &s, &client, &id, refused, typed).await
        }
    }
}

/// `POST /admin/reviews/{id}/ask-to-pay`: for when the authorization ran out (or the
/// customer wants to use another card): release what is left of it, put the order back to
/// awaiting payment for 48 hours and email the customer a link to pay. Audited as
/// `review.pay_again`.
pub async fn ask_to_pay(
    s: Reviewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let id = OrderId(id);
    let what = described(&state, &id).await?;
    let actor = s.user().email.clone();
    match fraud_review::ask_to_pay(&state, &id, &actor).await {
        Ok(()) => {
            record(&state, &s, &client, "review.pay_again", id.as_str(), what).await?;
            Ok(see_other(&review_url(id.as_str(), "pay-again")))
        }
        Err(e) => {
            let refused = refusal(e, &|_| String::new())?;
            again(&state, &s, &client, &id, refused, Typed::default()).await
        }
    }
}
