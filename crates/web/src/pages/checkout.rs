//! The checkout form: contact, billing and shipping addresses, delivery and payment method.
//! Submitting it places the order (stock reserved for 15 minutes) and sends the shopper on to
//! pay. A hidden idempotency key makes a double click or a retried submission find the same
//! order. Prices are never read from the form.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_payments::Channel;
use storefort_store::carts::Cart;
use storefort_store::checkout::PlaceOrder;
use storefort_store::StoreError;

use super::cart::current_cart;
use super::render::{field_label, page, FormData, PageError};
use super::shopper::{current_shopper, refuse_cross_site};
use super::storefront::{shop, Shop};
use crate::AppState;

/// A choice on the form (delivery or payment method).
pub struct Choice {
    /// Value submitted.
    pub id: String,
    /// What the shopper reads.
    pub label: String,
    /// Chosen.
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    shop: Shop,
    f: FormValues,
    shipping_methods: Vec<Choice>,
    payment_methods: Vec<Choice>,
    lines: Vec<(String, i64, String)>,
    total_note: String,
    error: String,
    error_field: String,
}

/// What the form shows (the shopper's own input when it comes back with an error).
#[derive(Default)]
struct FormValues {
    email: String,
    phone: String,
    billing: Address,
    same: bool,
    shipping: Address,
    shipping_method: String,
    payment_method: String,
    idempotency_key: String,
}

fn address(f: &FormData, prefix: &str) -> Address {
    let g = |n: &str| f.text(&format!("{prefix}.{n}"));
    Address {
        name: g("name"),
        line1: g("line1"),
        line2: g("line2"),
        city: g("city"),
        region: g("region"),
        postcode: g("postcode"),
        country: g("country").to_ascii_uppercase(),
    }
}

fn values_of(f: &FormData) -> FormValues {
    FormValues {
        email: f.text("email"),
        phone: f.text("phone"),
        billing: address(f, "billing"),
        same: f.checked("same_as_billing"),
        shipping: address(f, "shipping"),
        shipping_method: f.text("shipping_method"),
        payment_method: f.text("payment_method"),
        idempotency_key: f.text("idempotency_key"),
    }
}

async fn render(
    state: &AppState,
    cart: &Cart,
    f: FormValues,
    status: StatusCode,
    error: (String, String),
) -> Result<Response, PageError> {
    let c = &state.cfg.currency;
    let settings = state.db.shop_settings().await?;
    let quote = state.db.price_cart(cart, &settings.country, None).await?;
    let methods = state.db.shipping_methods(true).await?;
    let shipping_methods = methods
        .iter()
        .map(|m| {
            let price = m.price(quote.goods_minor - quote.discount_minor);
            Choice {
                checked: f.shipping_method == m.id,
                label: if price == 0 {
                    format!("{} (free)", m.name)
                } else {
                    format!("{} ({})", m.name, c.format(price))
                },
                id: m.id.clone(),
            }
        })
        .collect();
    let payment_methods = state
        .gateways
        .for_channel(Channel::Web)
        .iter()
        .map(|g| Choice {
            id: g.id().to_string(),
            label: g.label(),
            checked: f.payment_method == g.id(),
        })
        .collect();
    let lines = quote
        .lines
        .iter()
        .map(|l| (l.name.clone(), l.quantity, c.format(l.total_minor)))
        .collect();
    let t = CheckoutPage {
        shop: shop(state, "", "").await?,
        f,
        shipping_methods,
        payment_methods,
        lines,
        total_note: format!(
            "Items {} before delivery{}.",
            c.format(quote.total_minor),
            if quote.discount_minor > 0 {
                let labels: Vec<&str> =
                    quote.adjustments.iter().map(|a| a.label.as_str()).collect();
                let which = if labels.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", labels.join("; "))
                };
                format!(
                    ", after a {} discount{which}",
                    c.format(quote.discount_minor)
                )
            } else {
                String::new()
            }
        ),
        error: error.0,
        error_field: error.1,
    };
    // The form may hold a signed-in shopper's details: never cache it.
    let mut res = page(status, &t);
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

async fn open_cart(state: &AppState, headers: &HeaderMap) -> Result<Option<Cart>, PageError> {
    Ok(current_cart(state, headers)
        .await?
        .filter(|c| !c.lines.is_empty()))
}

/// `GET /checkout`: the form, filled in from a signed-in shopper's details.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(cart) = open_cart(&state, &headers).await? else {
        return Ok(Redirect::to("/cart").into_response());
    };
    let mut f = FormValues {
        same: true,
        idempotency_key: storefort_crypto::token::random_token(),
        ..Default::default()
    };
    if let Some(s) = current_shopper(&state, &headers).await? {
        f.email = s.customer.email.clone();
        f.phone = s.customer.phone.clone();
        if let Some(a) = s.customer.addresses.first() {
            f.billing = a.address.clone();
        } else {
            f.billing.name = s.customer.name.clone();
        }
    }
    if f.billing.country.is_empty() {
        f.billing.country = state.db.shop_settings().await?.country;
    }
    if let Some(m) = state.db.shipping_methods(true).await?.first() {
        f.shipping_method = m.id.clone();
    }
    if let Some(g) = state.gateways.for_channel(Channel::Web).first() {
        f.payment_method = g.id().to_string();
    }
    render(&state, &cart, f, StatusCode::OK, Default::default()).await
}

/// `POST /checkout`: validate, place the order, go to the payment step (303).
pub async fn submit(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    refuse_cross_site(&headers)?;
    state
        .limits
        .take(crate::rate_limit::Action::Order, client.ip, state.db.now())?;
    let form = FormData::parse(&body);
    let values = values_of(&form);
    let shopper = current_shopper(&state, &headers).await?;
    // A repeated submission whose cart is already an order finds that order.
    let cart = match super::cart::cart_for_checkout(&state, &headers).await? {
        Some(c) => c,
        None => return Ok(Redirect::to("/cart").into_response()),
    };
    // A long-lived random cookie lets screening count orders per device (never the device's
    // own identifiers).
    let known_device =
        crate::auth::cookie(&headers, crate::fraud_screen::DEVICE_COOKIE).filter(|d| {
            d.len() == 43
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let device = known_device
        .clone()
        .unwrap_or_else(storefort_crypto::token::random_token);
    let customer = shopper.map(|s| s.customer.id);
    let result = place(&state, &cart, &values, customer).await;
    match result {
        Ok((placed, checkout)) => {
            if !placed.replayed {
                crate::fraud_screen::note_placement(
                    &state,
                    &placed.order_id,
                    &checkout,
                    Some(client.ip),
                    Some(device.clone()),
                )
                .await;
                crate::plugin_hooks::order_created(&state, &placed.order_id).await;
            }
            let token = state.db.order_access_token(&placed.order_id)?;
            let mut res = Redirect::to(&format!("/checkout/pay/{}?t={token}", placed.order_id.0))
                .into_response();
            if known_device.is_none() {
                if let Ok(c) = axum::http::HeaderValue::from_str(&format!(
                    "{}={device}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000",
                    crate::fraud_screen::DEVICE_COOKIE
                )) {
                    res.headers_mut().append(axum::http::header::SET_COOKIE, c);
                }
            }
            Ok(res)
        }
        Err(e) => {
            let (status, message, field) = match e {
                StoreError::Invalid(v) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("{}: {}", field_label(&v.field), v.message),
                    v.field,
                ),
                StoreError::State { field, message } => (StatusCode::CONFLICT, message, field),
                StoreError::Gone(m) => (StatusCode::GONE, m, "cart".into()),
                other => return Err(other.into()),
            };
            if cart.order_id.is_some() {
                return Err(PageError::from(StoreError::state(field, message)));
            }
            let fresh = state.db.cart(&cart.id).await?;
            render(&state, &fresh, values, status, (message, field)).await
        }
    }
}

async fn place(
    state: &AppState,
    cart: &Cart,
    v: &FormValues,
    customer: Option<storefort_core::ids::CustomerId>,
) -> Result<(storefort_store::checkout::Placed, CheckoutInput), StoreError> {
    let method = match state.db.shipping_method(&v.shipping_method).await {
        Ok(m) => m,
        Err(_) => {
            return Err(storefort_core::ValidationError::new(
                "shipping_method",
                "choose one of the delivery options offered",
            )
            .into())
        }
    };
    if state.gateways.get(&v.payment_method).is_none()
        || !state
            .gateways
            .for_channel(Channel::Web)
            .iter()
            .any(|g| g.id() == v.payment_method)
    {
        return Err(storefort_core::ValidationError::new(
            "payment_method",
            "choose one of the payment methods offered",
        )
        .into());
    }
    let input = CheckoutInput {
        email: v.email.clone(),
        phone: v.phone.clone(),
        billing: v.billing.clone(),
        shipping_same_as_billing: v.same,
        shipping: (!v.same).then(|| v.shipping.clone()),
        shipping_method_id: v.shipping_method.clone(),
        payment_method: v.payment_method.clone(),
    };
    let settings = state.db.shop_settings().await?;
    let checkout = input.validate(&settings.country, method.needs_address())?;
    if cart.order_id.is_none() {
        crate::plugin_hooks::validate(state, cart, &checkout).await?;
    }
    let placed = state
        .db
        .place_order(&PlaceOrder {
            cart_id: cart.id.clone(),
            checkout: checkout.clone(),
            customer_id: customer,
            idempotency_key: v.idempotency_key.clone(),
            channel: "web".into(),
        })
        .await?;
    Ok((placed, checkout))
}
