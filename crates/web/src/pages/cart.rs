//! The storefront cart: `/cart` shows it priced by the server, forms add, change and remove
//! lines and apply a discount code. A guest's cart is found by the `__Host-cart` cookie (only its
//! hash is stored); a signed-in shopper's cart follows them. Forms from other sites are refused.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use storefort_core::pricing::Quote;
use storefort_store::carts::{Cart, CART_LIFETIME_MS};
use storefort_store::StoreError;

use super::render::{field_label, page, FormData, PageError};
use super::shopper::{current_shopper, refuse_cross_site};
use super::storefront::{shop, Shop};
use crate::AppState;

/// The guest cart cookie (`SameSite=Lax` so a shopper arriving from a link still sees it; a
/// cross-site form cannot carry it).
pub const CART_COOKIE: &str = "__Host-cart";

/// The `Set-Cookie` value for a cart token.
pub fn cart_cookie(token: &str) -> Option<HeaderValue> {
    let max_age = CART_LIFETIME_MS / 1000;
    HeaderValue::from_str(&format!(
        "{CART_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .ok()
}

/// The request's open cart, if any: the signed-in shopper's, else the cookie's. A cart that
/// was already ordered or expired counts as none.
pub async fn current_cart(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Cart>, PageError> {
    if let Some(s) = current_shopper(state, headers).await? {
        if let Some(c) = state.db.cart_of_customer(&s.customer.id).await? {
            return Ok(Some(c));
        }
    }
    let Some(token) = crate::auth::cookie(headers, CART_COOKIE) else {
        return Ok(None);
    };
    match state.db.cart_by_token(&token).await {
        Ok(c) if c.order_id.is_none() => Ok(Some(c)),
        Ok(_) | Err(StoreError::NotFound { .. }) | Err(StoreError::Gone(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The cart a checkout submission is about: the open cart, else the cookie's cart even when it
/// was already ordered (so a repeated submission finds its order).
pub async fn cart_for_checkout(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Cart>, PageError> {
    if let Some(c) = current_cart(state, headers).await? {
        if !c.lines.is_empty() {
            return Ok(Some(c));
        }
    }
    let Some(token) = crate::auth::cookie(headers, CART_COOKIE) else {
        return Ok(None);
    };
    match state.db.cart_by_token(&token).await {
        Ok(c) => Ok(Some(c)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The open cart, or a new one (with the cookie to set).
async fn cart_or_new(
    state: &AppState,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
) -> Result<(Cart, Option<HeaderValue>), PageError> {
    if let Some(c) = current_cart(state, headers).await? {
        return Ok((c, None));
    }
    state
        .limits
        .take(crate::rate_limit::Action::Cart, ip, state.db.now())?;
    let shopper = current_shopper(state, headers).await?;
    let (token, cart) = state
        .db
        .create_cart(shopper.as_ref().map(|s| &s.customer.id))
        .await?;
    Ok((cart, cart_cookie(&token)))
}

struct LineView {
    variant_id: String,
    name: String,
    sku: String,
    url: String,
    unit: String,
    quantity: i64,
    total: String,
    problem: String,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    shop: Shop,
    lines: Vec<LineView>,
    goods: String,
    discount: String,
    discount_code: String,
    /// What the discount is: the code and any plugin's labels ("SAVE10; Bulk discount").
    discount_label: String,
    tax_note: String,
    total: String,
    error: String,
    notice: String,
    can_checkout: bool,
}

/// Priced view of a cart for the shop's own country (shipping is chosen at checkout).
async fn view(
    state: &AppState,
    cart: Option<&Cart>,
    error: String,
    notice: String,
) -> Result<CartPage, PageError> {
    let c = &state.cfg.currency;
    let settings = state.db.shop_settings().await?;
    let mut lines = Vec::new();
    let mut quote: Option<Quote> = None;
    let mut error = error;
    if let Some(cart) = cart.filter(|c| !c.lines.is_empty()) {
        match state.db.price_cart(cart, &settings.country, None).await {
            Ok(q) => quote = Some(q),
            Err(StoreError::Invalid(v)) => {
                error = format!("{}: {}", field_label(&v.field), v.message);
                let mut plain = cart.clone();
                plain.discount_code = None;
                quote = Some(state.db.price_cart(&plain, &settings.country, None).await?);
            }
            Err(e) => return Err(e.into()),
        }
        for (l, q) in cart
            .lines
            .iter()
            .zip(quote.iter().flat_map(|q| q.lines.iter()))
        {
            let problem = if !l.on_sale {
                "No longer on sale: please remove it.".to_string()
            } else if !l.in_stock() {
                match l.available {
                    n if n <= 0 => "Out of stock.".to_string(),
                    n => format!("Only {n} left."),
                }
            } else {
                String::new()
            };
            lines.push(LineView {
                variant_id: l.variant_id.clone(),
                name: l.name.clone(),
                sku: l.sku.clone(),
                url: format!("/p/{}", super::render::seg(&l.product_slug)),
                unit: c.format(l.unit_price_minor),
                quantity: l.quantity,
                total: c.format(q.gross_minor),
                problem,
            });
        }
    }
    let can_checkout = !lines.is_empty() && lines.iter().all(|l| l.problem.is_empty());
    let q = quote.unwrap_or_default();
    Ok(CartPage {
        shop: shop(state, "", "").await?,
        lines,
        goods: c.format(q.goods_minor),
        discount: if q.discount_minor > 0 {
            c.format(-q.discount_minor)
        } else {
            String::new()
        },
        discount_label: cart
            .and_then(|c| c.discount_code.clone())
            .into_iter()
            .chain(q.adjustments.iter().map(|a| a.label.clone()))
            .collect::<Vec<_>>()
            .join("; "),
        discount_code: cart
            .and_then(|c| c.discount_code.clone())
            .unwrap_or_default(),
        tax_note: if settings.prices_include_tax {
            format!(
                "Includes {} tax. Delivery is chosen at checkout.",
                c.format(q.tax_minor)
            )
        } else {
            format!(
                "Plus {} tax. Delivery is chosen at checkout.",
                c.format(q.tax_minor)
            )
        },
        total: c.format(q.total_minor),
        error,
        notice,
        can_checkout,
    })
}

/// `GET /cart`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let cart = current_cart(&state, &headers).await?;
    let notice = match q.get("done").map(String::as_str) {
        Some("added") => "Added to your cart.",
        Some("updated") => "Cart updated.",
        Some("code") => "Discount code applied.",
        _ => "",
    };
    let v = view(&state, cart.as_ref(), String::new(), notice.into()).await?;
    Ok(no_store(page(StatusCode::OK, &v)))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Run a cart change; on a rule broken show the cart again with the message (422/409), else
/// go back to the cart (303), setting the cookie for a new cart.
async fn change(
    state: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &Bytes,
    done: &str,
    op: impl AsyncFnOnce(&AppState, &Cart, &FormData) -> Result<Cart, StoreError>,
) -> Result<Response, PageError> {
    refuse_cross_site(headers)?;
    let form = FormData::parse(body);
    if done == "code" {
        state
            .limits
            .take(crate::rate_limit::Action::Code, ip, state.db.now())?;
    }
    let (cart, cookie) = cart_or_new(state, headers, ip).await?;
    let mut res = match op(state, &cart, &form).await {
        Ok(_) => Redirect::to(&format!("/cart?done={done}")).into_response(),
        Err(e) => {
            let (status, message) = super::render::form_error(e)?;
            let fresh = state.db.cart(&cart.id).await?;
            page(
                status,
                &view(state, Some(&fresh), message, String::new()).await?,
            )
        }
    };
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(no_store(res))
}

fn quantity(form: &FormData) -> Result<i64, StoreError> {
    form.get("quantity").trim().parse::<i64>().map_err(|_| {
        storefort_core::ValidationError::new("quantity", "enter a whole number such as 1 or 2")
            .into()
    })
}

/// `POST /cart/add` (`variant_id`, `quantity`).
pub async fn add(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    change(
        &state,
        client.ip,
        &headers,
        &body,
        "added",
        async |s, cart, f| {
            s.db.cart_add(&cart.id, f.get("variant_id"), quantity(f)?)
                .await
        },
    )
    .await
}

/// `POST /cart/update` (`variant_id`, `quantity`; 0 removes).
pub async fn update(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    change(
        &state,
        client.ip,
        &headers,
        &body,
        "updated",
        async |s, cart, f| {
            s.db.cart_set_quantity(&cart.id, f.get("variant_id"), quantity(f)?)
                .await
        },
    )
    .await
}

/// `POST /cart/remove` (`variant_id`).
pub async fn remove(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    change(
        &state,
        client.ip,
        &headers,
        &body,
        "updated",
        async |s, cart, f| {
            s.db.cart_set_quantity(&cart.id, f.get("variant_id"), 0)
                .await
        },
    )
    .await
}

/// `POST /cart/discount` (`code`; empty removes the code).
pub async fn discount(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    change(
        &state,
        client.ip,
        &headers,
        &body,
        "code",
        async |s, cart, f| {
            let code = f.get("code").trim();
            let cart =
                s.db.cart_set_discount(&cart.id, Some(code).filter(|c| !c.is_empty()))
                    .await?;
            if cart.discount_code.is_some() {
                // Check now (expiry, minimum spend) so the shopper hears at once.
                let country = s.db.shop_settings().await?.country;
                if let Err(e) = s.db.price_cart(&cart, &country, None).await {
                    s.db.cart_set_discount(&cart.id, None).await?;
                    return Err(e);
                }
            }
            Ok(cart)
        },
    )
    .await
}
