//! Checkout for headless storefronts: the delivery and payment options, and placing the order.
//! `POST /checkout` needs the cart's token and an `Idempotency-Key`: the same cart and key give
//! the same order however often they are sent (no second order, no second stock reservation).
//! Payment starts through [`crate::payment_flow::start`]; the answer says what the shopper does
//! next (go to the gateway's page, show its card element, or nothing for bank transfers).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use storefort_core::checkout::CheckoutInput;
use storefort_core::ids::OrderId;
use storefort_core::order_state::OrderStatus;
use storefort_core::pricing::ShippingMethod;
use storefort_payments::{Channel, NextStep};
use storefort_store::checkout::PlaceOrder;
use storefort_store::StoreError;
use utoipa::ToSchema;

use super::cart::{cart_of, header, CartToken};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::AppState;

/// The header that makes a checkout safe to retry.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The `Idempotency-Key` header (1-200 characters). Missing: 400 naming it.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        header(parts, IDEMPOTENCY_HEADER)?
            .map(IdempotencyKey)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "missing_header",
                    "send an Idempotency-Key header: a new unique value (such as a UUID) for \
                     each checkout, and the same value again when retrying it",
                )
                .field(IDEMPOTENCY_HEADER)
            })
    }
}

/// A way to pay offered to shoppers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentMethod {
    /// Send as `payment_method` at checkout.
    pub id: String,
    /// What the shopper reads ("Card (test mode)", "Bank transfer").
    pub label: String,
}

/// What the shopper does next to pay.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum PaymentNext {
    /// Send the shopper to this address (the gateway's page, or the shop's payment step).
    Redirect {
        /// Where to go.
        url: String,
    },
    /// Show the gateway's card element with these values.
    Element {
        /// The gateway's public key.
        publishable_key: String,
        /// The payment's client secret (for the element only).
        client_secret: String,
        /// The gateway's script.
        js_url: String,
    },
    /// Nothing to do now (e.g. a bank transfer: the instructions are emailed).
    None,
}

impl From<NextStep> for PaymentNext {
    fn from(n: NextStep) -> Self {
        match n {
            NextStep::Redirect { url } => PaymentNext::Redirect { url },
            NextStep::Element {
                publishable_key,
                client_secret,
                js_url,
            } => PaymentNext::Element {
                publishable_key,
                client_secret,
                js_url,
            },
            NextStep::None => PaymentNext::None,
        }
    }
}

/// The order placed (201) or found again for a repeated key (200).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckoutResult {
    /// Order ID.
    pub order_id: String,
    /// Order number for the shopper.
    pub number: i64,
    /// Amount to pay (minor units).
    pub total_minor: i64,
    /// Currency (ISO 4217).
    pub currency: String,
    /// Status now (`pending_payment`, `on_hold`, `paid`, ...).
    pub status: String,
    /// Send as `X-Order-Token` to `GET /api/v1/orders/{id}`; only the shopper should have it.
    pub access_token: String,
    /// True when this key had already placed the order (nothing new was done).
    pub replayed: bool,
    /// What the shopper does next. A repeated key that finds the order still awaiting payment
    /// answers with a redirect to the shop's payment step, which starts a new attempt.
    pub payment: PaymentNext,
    /// Why payment could not be started (the order stands; `payment` then leads to the
    /// shop's payment step to try again).
    pub payment_error: Option<String>,
}

/// An enabled shipping method by ID, or `None` when unknown or switched off.
pub(crate) async fn enabled_method(
    state: &AppState,
    id: &str,
) -> ApiResult<Option<ShippingMethod>> {
    match state.db.shipping_method(id.trim()).await {
        Ok(m) if m.enabled => Ok(Some(m)),
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Delivery options offered at checkout.
#[utoipa::path(get, path = "/api/v1/shipping-methods", tag = "checkout", security(()),
    responses((status = 200, body = Vec<ShippingMethod>)))]
pub async fn shipping_methods(State(s): State<AppState>) -> ApiResult<Json<Vec<ShippingMethod>>> {
    Ok(Json(s.db.shipping_methods(true).await?))
}

/// Ways to pay offered online.
#[utoipa::path(get, path = "/api/v1/payment-methods", tag = "checkout", security(()),
    responses((status = 200, body = Vec<PaymentMethod>)))]
pub async fn payment_methods(State(s): State<AppState>) -> Json<Vec<PaymentMethod>> {
    Json(
        s.gateways
            .for_channel(Channel::Web)
            .iter()
            .map(|g| PaymentMethod {
                id: g.id().to_string(),
                label: g.label(),
            })
            .collect(),
    )
}

/// Check a first submission: a payment method offered online, an enabled delivery option,
/// then the contact details and addresses (`CheckoutInput::validate`).
async fn validated(s: &AppState, input: CheckoutInput) -> ApiResult<CheckoutInput> {
    let pm = input.payment_method.trim();
    let offered = s
        .gateways
        .for_channel(Channel::Web)
        .iter()
        .any(|g| g.id() == pm);
    if !offered {
        return Err(ApiError::invalid(
            "payment_method",
            "choose one of the payment methods offered (GET /api/v1/payment-methods)",
        ));
    }
    let Some(method) = enabled_method(s, &input.shipping_method_id).await? else {
        return Err(ApiError::invalid(
            "shipping_method_id",
            "choose one of the delivery options offered (GET /api/v1/shipping-methods)",
        ));
    };
    let country = s.db.shop_settings().await?.country;
    Ok(input.validate(&country, method.needs_address())?)
}

/// Place an order for the cart. Prices come from the catalog, never from the request. Stock is
/// reserved for 15 minutes while the shopper pays.
///
/// Errors: no `Idempotency-Key` (400), bad input (422 naming the field; also a discount code
/// that no longer applies, `discount_code`), the cart expired (410), sold out meanwhile or the
/// cart already ordered under another key (409).
#[utoipa::path(post, path = "/api/v1/checkout", tag = "checkout", security(()),
    params(("X-Cart-Token" = String, Header, description = "The cart's token"),
        ("Idempotency-Key" = String, Header, description = "A new unique value per checkout; repeat it when retrying")),
    request_body = CheckoutInput,
    responses((status = 201, body = CheckoutResult), (status = 200, description = "The order this key already placed", body = CheckoutResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn place(
    State(s): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    IdempotencyKey(key): IdempotencyKey,
    token: CartToken,
    ApiJson(input): ApiJson<CheckoutInput>,
) -> ApiResult<(StatusCode, Json<CheckoutResult>)> {
    s.limits
        .take(crate::rate_limit::Action::Order, client.ip, s.db.now())?;
    let cart = cart_of(&s, &token).await?;
    // An ordered cart can only replay its order (found by key before the input is used) or
    // be refused as already ordered, so the input is checked only for a first submission.
    let checkout = if cart.order_id.is_some() {
        input
    } else {
        let checkout = validated(&s, input).await?;
        crate::plugin_hooks::validate(&s, &cart, &checkout).await?;
        checkout
    };
    let placed =
        s.db.place_order(&PlaceOrder {
            cart_id: cart.id.clone(),
            checkout: checkout.clone(),
            customer_id: None,
            idempotency_key: key,
            channel: "api".into(),
        })
        .await?;
    let order = &placed.order_id;
    if !placed.replayed {
        crate::fraud_screen::note_placement(&s, order, &checkout, Some(client.ip), None).await;
        crate::plugin_hooks::order_created(&s, order).await;
    }
    let access_token = s.db.order_access_token(order)?;
    let (return_url, pay_url) = links(&s, order, &access_token);
    let mut payment_error = None;
    let payment = if placed.replayed {
        match s.db.order_status(order).await? {
            OrderStatus::PendingPayment => PaymentNext::Redirect { url: pay_url },
            _ => PaymentNext::None,
        }
    } else {
        match crate::payment_flow::start(&s, order, &return_url).await {
            Ok(next) => next.into(),
            Err(e) => {
                tracing::warn!(order = %order.0, error = %e.message, "could not start payment");
                payment_error = Some(e.message);
                PaymentNext::Redirect { url: pay_url }
            }
        }
    };
    let status = s.db.order_status(order).await?;
    let code = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        code,
        Json(CheckoutResult {
            order_id: order.0.clone(),
            number: placed.number,
            total_minor: placed.total_minor,
            currency: s.db.currency.code.to_string(),
            status: status.as_str().to_string(),
            access_token,
            replayed: placed.replayed,
            payment,
            payment_error,
        }),
    ))
}

/// Where the gateway sends the shopper back, and the shop's own payment step (to retry).
pub(crate) fn links(s: &AppState, order: &OrderId, token: &str) -> (String, String) {
    let base = s.cfg.public_url.trim_end_matches('/');
    (
        format!("{base}/checkout/return/{}?t={token}", order.0),
        format!("{base}/checkout/pay/{}?t={token}", order.0),
    )
}
