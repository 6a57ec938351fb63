//! The cart for headless storefronts. `POST /carts` starts a cart and hands out its token once;
//! the token, sent back as `X-Cart-Token`, is the only credential (no staff auth, no cookie).
//! Lines hold a variant and a quantity only: every answer carries the server's quote (lines,
//! goods, discount, shipping when a method is given, tax, total), so a client never sends a
//! price, and a body with any field the server does not expect (`price`, ...) is refused (422).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use storefort_core::customer::is_country_code;
use storefort_core::pricing::{Quote, MAX_QUANTITY};
use storefort_core::ValidationError;
use storefort_store::carts::Cart;
use storefort_store::StoreError;
use utoipa::{IntoParams, ToSchema};

use super::checkout::enabled_method;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::AppState;

/// The header carrying a cart's token.
pub const CART_TOKEN_HEADER: &str = "X-Cart-Token";

/// Longest token or key accepted in a header (ours are 43 characters).
const MAX_HEADER_CHARS: usize = 200;

/// The value of header `name`, trimmed; `None` when absent or empty. Too long or not text: 400
/// naming the header.
pub(crate) fn header(parts: &Parts, name: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = parts.headers.get(name) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            format!(
                "the {name} header must be plain text of at most {MAX_HEADER_CHARS} characters"
            ),
        )
        .field(name)
    };
    let text = v.to_str().map_err(|_| bad())?.trim();
    if text.chars().count() > MAX_HEADER_CHARS {
        return Err(bad());
    }
    Ok(Some(text.to_string()).filter(|t| !t.is_empty()))
}

/// The `X-Cart-Token` header: whoever holds it may see and change the cart. Missing: 401
/// naming the header.
#[derive(Debug, Clone)]
pub struct CartToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CartToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        header(parts, CART_TOKEN_HEADER)?
            .map(CartToken)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send the cart's token (from POST /api/v1/carts) in the X-Cart-Token header",
                )
                .field(CART_TOKEN_HEADER)
            })
    }
}

/// The cart a token opens, even one already ordered (checkout replays need it). Unknown token:
/// 404 naming the header; past its 14 days: 410.
pub async fn cart_of(state: &AppState, token: &CartToken) -> ApiResult<Cart> {
    match state.db.cart_by_token(&token.0).await {
        Err(StoreError::NotFound { .. }) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no cart has this token; start a new one with POST /api/v1/carts",
        )
        .field(CART_TOKEN_HEADER)),
        other => Ok(other?),
    }
}

/// How to price the cart in the answer.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    /// Destination country (ISO 3166 alpha-2) whose tax rates apply; default the shop's.
    pub country: Option<String>,
    /// Include shipping by this method (an ID from `GET /api/v1/shipping-methods`).
    pub shipping_method_id: Option<String>,
}

/// Something that stops the cart being checked out as it is, or a code that no longer applies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CartProblem {
    /// `discount_code`, `quantity` (not enough stock) or `variant_id` (no longer on sale).
    pub field: String,
    /// The line it is about, if any.
    pub variant_id: Option<String>,
    /// What the shopper should read.
    pub message: String,
}

/// A cart with the server's quote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PricedCart {
    /// The cart and its lines (variant, quantity, current unit price, stock).
    pub cart: Cart,
    /// Currency of every amount (ISO 4217).
    pub currency: String,
    /// Country the tax is for.
    pub country: String,
    /// Shipping method included in the quote, if one was asked for.
    pub shipping_method_id: Option<String>,
    /// What checkout would charge now (a code that no longer applies is left out; see
    /// `problems`).
    pub quote: Quote,
    /// Reasons the cart cannot be checked out as it is (empty when it can).
    pub problems: Vec<CartProblem>,
    /// True when the cart has lines, no problems and is not yet ordered.
    pub can_checkout: bool,
}

/// A new cart: keep `token`, it is shown only this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedCart {
    /// Send it as `X-Cart-Token` with every cart and checkout call.
    pub token: String,
    /// The (empty) cart, priced.
    pub cart: PricedCart,
}

fn bad_param(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).field(field)
}

/// Price `cart` as `params` ask.
pub async fn priced(state: &AppState, cart: Cart, params: &QuoteParams) -> ApiResult<PricedCart> {
    let settings = state.db.shop_settings().await?;
    let country = match &params.country {
        Some(c) => {
            let c = c.trim().to_ascii_uppercase();
            if !is_country_code(&c) {
                return Err(bad_param(
                    "country",
                    "use a two-letter ISO country code such as GB, DE or US",
                ));
            }
            c
        }
        None => settings.country,
    };
    let method = match &params.shipping_method_id {
        Some(id) => Some(enabled_method(state, id).await?.ok_or_else(|| {
            bad_param(
                "shipping_method_id",
                "not one of the delivery options offered (see GET /api/v1/shipping-methods)",
            )
        })?),
        None => None,
    };
    let mut problems = Vec::new();
    let quote = if cart.lines.is_empty() {
        Quote {
            prices_include_tax: settings.prices_include_tax,
            ..Default::default()
        }
    } else {
        match state.db.price_cart(&cart, &country, method.as_ref()).await {
            Ok(q) => q,
            Err(StoreError::Invalid(v)) if cart.discount_code.is_some() => {
                // Most likely the code (expired, used up, minimum spend): price without it and
                // say so, as the cart page does. Any other rule broken fails again below.
                let mut plain = cart.clone();
                plain.discount_code = None;
                let q = state
                    .db
                    .price_cart(&plain, &country, method.as_ref())
                    .await?;
                problems.push(CartProblem {
                    field: v.field,
                    variant_id: None,
                    message: v.message,
                });
                q
            }
            Err(e) => return Err(e.into()),
        }
    };
    for l in &cart.lines {
        let (field, message) = if !l.on_sale {
            (
                "variant_id",
                format!("{} is no longer on sale; please remove it", l.name),
            )
        } else if !l.in_stock() {
            let m = match l.available {
                n if n <= 0 => format!("{} is out of stock", l.name),
                n => format!("only {n} of {} left in stock", l.name),
            };
            ("quantity", m)
        } else {
            continue;
        };
        problems.push(CartProblem {
            field: field.into(),
            variant_id: Some(l.variant_id.clone()),
            message,
        });
    }
    let can_checkout = !cart.lines.is_empty()
        && cart.order_id.is_none()
        && !problems.iter().any(|p| p.variant_id.is_some());
    Ok(PricedCart {
        currency: state.db.currency.code.to_string(),
        country,
        shipping_method_id: method.map(|m| m.id),
        quote,
        problems,
        can_checkout,
        cart,
    })
}

/// Units of a variant to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLine {
    /// The variant.
    pub variant_id: String,
    /// Units to add to any already in the cart (1-999).
    pub quantity: i64,
}

/// A line's new quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantity {
    /// Units wanted (0 removes the line; at most 999).
    pub quantity: i64,
}

/// A discount code to apply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountInput {
    /// The code as the shopper typed it (case does not matter).
    pub code: String,
}

/// Start a cart. The token in the answer is its credential and is shown only once.
#[utoipa::path(post, path = "/api/v1/carts", tag = "cart", security(()), params(QuoteParams),
    responses((status = 201, body = CreatedCart), (status = 400, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    ApiQuery(q): ApiQuery<QuoteParams>,
) -> ApiResult<(StatusCode, Json<CreatedCart>)> {
    s.limits
        .take(crate::rate_limit::Action::Cart, client.ip, s.db.now())?;
    let (token, cart) = s.db.create_cart(None).await?;
    let cart = priced(&s, cart, &q).await?;
    Ok((StatusCode::CREATED, Json(CreatedCart { token, cart })))
}

/// The cart with the server's quote.
#[utoipa::path(get, path = "/api/v1/cart", tag = "cart", security(()),
    params(("X-Cart-Token" = String, Header, description = "The cart's token"), QuoteParams),
    responses((status = 200, body = PricedCart), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn show(
    State(s): State<AppState>,
    token: CartToken,
    ApiQuery(q): ApiQuery<QuoteParams>,
) -> ApiResult<Json<PricedCart>> {
    let cart = cart_of(&s, &token).await?;
    Ok(Json(priced(&s, cart, &q).await?))
}

/// Add units of a variant. Refused (422, `quantity`) beyond the stock at the online location
/// unless the product allows backorders; items not on sale are refused (422, `variant_id`).
#[utoipa::path(post, path = "/api/v1/cart/lines", tag = "cart", security(()),
    params(("X-Cart-Token" = String, Header, description = "The cart's token"), QuoteParams), request_body = AddLine,
    responses((status = 200, body = PricedCart), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_line(
    State(s): State<AppState>,
    token: CartToken,
    ApiQuery(q): ApiQuery<QuoteParams>,
    ApiJson(i): ApiJson<AddLine>,
) -> ApiResult<Json<PricedCart>> {
    if !(1..=MAX_QUANTITY).contains(&i.quantity) {
        return Err(
            ValidationError::new("quantity", format!("add between 1 and {MAX_QUANTITY}")).into(),
        );
    }
    let cart = cart_of(&s, &token).await?;
    let cart =
        s.db.cart_add(&cart.id, i.variant_id.trim(), i.quantity)
            .await?;
    Ok(Json(priced(&s, cart, &q).await?))
}

/// Set a line's quantity (0 removes it; a variant not yet in the cart is added).
#[utoipa::path(put, path = "/api/v1/cart/lines/{variant_id}", tag = "cart", security(()),
    params(("variant_id" = String, Path), ("X-Cart-Token" = String, Header, description = "The cart's token"), QuoteParams),
    request_body = SetQuantity,
    responses((status = 200, body = PricedCart), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_line(
    State(s): State<AppState>,
    token: CartToken,
    Path(variant_id): Path<String>,
    ApiQuery(q): ApiQuery<QuoteParams>,
    ApiJson(i): ApiJson<SetQuantity>,
) -> ApiResult<Json<PricedCart>> {
    if !(0..=MAX_QUANTITY).contains(&i.quantity) {
        return Err(ValidationError::new(
            "quantity",
            format!("choose between 0 (remove) and {MAX_QUANTITY}"),
        )
        .into());
    }
    let cart = cart_of(&s, &token).await?;
    let cart =
        s.db.cart_set_quantity(&cart.id, &variant_id, i.quantity)
            .await?;
    Ok(Json(priced(&s, cart, &q).await?))
}

/// Remove a line (removing one that is not there changes nothing).
#[utoipa::path(delete, path = "/api/v1/cart/lines/{variant_id}", tag = "cart", security(()),
    params(("variant_id" = String, Path), ("X-Cart-Token" = String, Header, description = "The cart's token"), QuoteParams),
    responses((status = 200, body = PricedCart), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn remove_line(
    State(s): State<AppState>,
    token: CartToken,
    Path(variant_id): Path<String>,
    ApiQuery(q): ApiQuery<QuoteParams>,
) -> ApiResult<Json<PricedCart>> {
    let cart = cart_of(&s, &token).await?;
    let cart = s.db.cart_set_quantity(&cart.id, &variant_id, 0).await?;
    Ok(Json(priced(&s, cart, &q).await?))
}

/// Apply a discount code. An unknown code, or one that does not apply to this cart (expired,
/// used up, minimum spend), is refused (422, `discount_code`) and the cart keeps no code.
#[utoipa::path(put, path = "/api/v1/cart/discount", tag = "cart", security(()),
    params(("X-Cart-Token" = String, Header, description = "The cart's token"), QuoteParams), request_body = DiscountInput,
    responses((status = 200, body = PricedCart), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn set_discount(
    State(s): State<AppState>,
    axum::Extension(client): axum::Extension<crate::middleware::ClientInfo>,
    token: CartToken,
    ApiQuery(q): ApiQuery<QuoteParams>,
    ApiJson(i): ApiJson<DiscountInput>,
) -> ApiResult<Json<PricedCart>> {
    s.limits
        .take(crate::rate_limit::Action::Code, client.ip, s.db.now())?;
    let code = i.code.trim();
    if code.is_empty() {
        return Err(ValidationError::new("discount_code", "enter a discount code").into());
    }
    let cart = cart_of(&s, &token).await?;
    let cart = s.db.cart_set_discount(&cart.id, Some(code)).await?;
    if !cart.lines.is_empty() {
        // Check it now (expiry, minimum spend) so the shopper hears at once.
        let country = s.db.shop_settings().await?.country;
        if let Err(e) = s.db.price_cart(&cart, &country, None).await {
            s.db.cart_set_discount(&cart.id, None).await?;
            return Err(e.into());
        }
    }
    Ok(Json(priced(&s, cart, &q).await?))
}

/// Remove the discount code.
#[utoipa::path(delete, path = "/api/v1/cart/discount", tag = "cart", security(()),
    params(("X-Cart-Token" = String, Header, description = "The cart's token"), QuoteParams),
    responses((status = 200, body = PricedCart), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn remove_discount(
    State(s): State<AppState>,
    token: CartToken,
    ApiQuery(q): ApiQuery<QuoteParams>,
) -> ApiResult<Json<PricedCart>> {
    let cart = cart_of(&s, &token).await?;
    let cart = s.db.cart_set_discount(&cart.id, None).await?;
    Ok(Json(priced(&s, cart, &q).await?))
}
