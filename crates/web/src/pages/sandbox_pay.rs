//! The sandbox gateway's hosted page, `/sandbox/pay/{id}`: clearly TEST MODE, shows the amount
//! and what it is for, and offers buttons only (no card fields at all) for each outcome:
//! success, decline, insufficient funds, CVC fail, postcode fail, or a 3-D Secure challenge
//! (then pass / fail). A decision is final: the shopper is sent (303) to the payment's return
//! URL with `?ref=<id>`, and the page shows the result from then on.
//!
//! There is no session here (the shopper is "at the provider"); the unguessable payment ID is
//! the capability, and cross-site posts are refused.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use storefort_core::money::Currency;
use storefort_payments::sandbox::sandbox_state;
use storefort_payments::PaymentStatus;
use storefort_store::sandbox::{SandboxOutcome, SandboxPayment};
use storefort_store::StoreError;
use tower_http::set_header::SetResponseHeaderLayer;

use super::render::{page, seg, FormData, PageError};
use crate::AppState;

/// The sandbox page's routes. Responses are `Cache-Control: no-store`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/pay/{id}", get(show).post(decide))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// One button on the page.
struct Choice {
    value: &'static str,
    label: &'static str,
    hint: &'static str,
}

const FIRST_CHOICES: [Choice; 6] = [
    Choice {
        value: "success",
        label: "Pay successfully",
        hint: "Authorized; test card visa ending 4242; all checks pass.",
    },
    Choice {
        value: "decline",
        label: "Decline",
        hint: "The card is declined.",
    },
    Choice {
        value: "insufficient_funds",
        label: "Insufficient funds",
        hint: "Declined: not enough money on the card.",
    },
    Choice {
        value: "cvc_fail",
        label: "CVC check fails",
        hint: "Declined: wrong security code.",
    },
    Choice {
        value: "postcode_fail",
        label: "Postcode check fails",
        hint: "Authorized, but the billing postcode did not match.",
    },
    Choice {
        value: "three_ds",
        label: "3-D Secure challenge",
        hint: "The bank asks the shopper to confirm; you choose how that ends.",
    },
];

const CHALLENGE_CHOICES: [Choice; 2] = [
    Choice {
        value: "three_ds_pass",
        label: "Pass the 3-D Secure check",
        hint: "Authorized.",
    },
    Choice {
        value: "three_ds_fail",
        label: "Fail the 3-D Secure check",
        hint: "Declined: the bank could not confirm the shopper.",
    },
];

#[derive(Template)]
#[template(path = "sandbox_pay.html")]
struct PayPage<'a> {
    id: &'a str,
    heading: &'a str,
    amount: String,
    description: &'a str,
    intro: &'a str,
    choices: &'a [Choice],
    result: String,
    return_url: String,
    error: Option<String>,
}

/// `return_url` with `ref=<id>` added to its query (before any `#fragment`).
fn return_with_ref(return_url: &str, id: &str) -> String {
    let (base, fragment) = match return_url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (return_url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{sep}ref={}", seg(id));
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

/// What the shopper is told once the payment is decided.
fn result_words(p: &SandboxPayment) -> String {
    let s = sandbox_state(p);
    let card = s
        .card
        .as_ref()
        .map(|c| format!(" with the test card {} ending {}", c.brand, c.last4))
        .unwrap_or_default();
    match s.status {
        PaymentStatus::Authorized if p.outcome == Some(SandboxOutcome::PostcodeFail) => format!(
            "Payment authorized{card}, but the billing postcode check failed. \
             The shop may review the order before taking the money."
        ),
        PaymentStatus::Authorized => format!(
            "Payment authorized{card}. The shop takes the money when it confirms the order."
        ),
        PaymentStatus::Captured => format!("Payment taken{card}."),
        PaymentStatus::Voided => "This payment was cancelled; no money was taken.".into(),
        PaymentStatus::Failed => format!(
            "Payment declined: {}",
            s.decline.as_deref().unwrap_or("Your card was declined.")
        ),
        PaymentStatus::RequiresAction | PaymentStatus::Pending => String::new(),
    }
}

/// Render the page for `p` as it stands.
fn render(p: &SandboxPayment, status: StatusCode, error: Option<String>) -> Response {
    let amount = Currency::from_code(&p.currency)
        .map(|c| c.format(p.amount_minor))
        .unwrap_or_else(|_| format!("{} {} (minor units)", p.amount_minor, p.currency));
    let (heading, intro, choices): (&str, &str, &[Choice]) = if !p.awaiting_shopper() {
        ("Test payment decided", "", &[])
    } else if p.outcome == Some(SandboxOutcome::ThreeDs) {
        (
            "3-D Secure check (test)",
            "The card's bank would now ask the shopper to confirm it is them. \
             Choose how the check ends.",
            &CHALLENGE_CHOICES,
        )
    } else {
        (
            "Test payment",
            "Choose what the card should do. Nothing is charged and no card details are needed.",
            &FIRST_CHOICES,
        )
    };
    page(
        status,
        &PayPage {
            id: &p.id,
            heading,
            amount,
            description: &p.description,
            intro,
            choices,
            result: result_words(p),
            return_url: return_with_ref(&p.return_url, &p.id),
            error,
        },
    )
}

/// The sandbox's pages exist only while the shop offers the sandbox gateway.
fn offered(state: &AppState) -> bool {
    state.gateways.get("sandbox").is_some()
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if !offered(&state) {
        return PageError::not_found().into_response();
    }
    match state.db.sandbox_payment(&id).await {
        Ok(p) => render(&p, StatusCode::OK, None),
        Err(e) => PageError::from(e).into_response(),
    }
}

async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !offered(&state) {
        return PageError::not_found().into_response();
    }
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return PageError::forbidden("Please use the payment page itself to choose an outcome.")
            .into_response();
    }
    let p = match state.db.sandbox_payment(&id).await {
        Ok(p) => p,
        Err(e) => return PageError::from(e).into_response(),
    };
    let form = FormData::parse(&body);
    let Some(outcome) = SandboxOutcome::parse(form.get("outcome")) else {
        let msg = "Choose one of the buttons below.".to_string();
        return render(&p, StatusCode::UNPROCESSABLE_ENTITY, Some(msg));
    };
    match state.db.sandbox_set_outcome(&id, outcome).await {
        Ok(p) if p.awaiting_shopper() => {
            Redirect::to(&format!("/sandbox/pay/{}", seg(&p.id))).into_response()
        }
        Ok(p) => Redirect::to(&return_with_ref(&p.return_url, &p.id)).into_response(),
        // Already decided (409) or not an answer that fits the page (422): show it again.
        Err(e @ (StoreError::State { .. } | StoreError::Invalid(_))) => {
            let (status, msg) = match e {
                StoreError::Invalid(v) => (StatusCode::UNPROCESSABLE_ENTITY, v.message),
                _ => (
                    StatusCode::CONFLICT,
                    "This payment was already decided; it cannot be decided again.".to_string(),
                ),
            };
            match state.db.sandbox_payment(&id).await {
                Ok(now) => render(&now, status, Some(msg)),
                Err(e) => PageError::from(e).into_response(),
            }
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_is_added_to_the_query() {
        assert_eq!(
            return_with_ref("https://s.example/return", "abc"),
            "https://s.example/return?ref=abc"
        );
        assert_eq!(
            return_with_ref("https://s.example/return?o=1#top", "abc"),
            "https://s.example/return?o=1&ref=abc#top"
        );
    }
}
