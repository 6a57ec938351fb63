//! The public storefront: home, category, product and search pages. Only active products show.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use storefort_core::catalog::ProductStatus;
use storefort_core::stock::availability;
use storefort_store::products::ProductFilter;

use super::render::{card, ok, page, price_label, seg, url_with, Card, PageError};
use crate::AppState;

/// Products on the home page.
const HOME_PRODUCTS: i64 = 12;
/// Products per category or search page.
const PER_PAGE: i64 = 24;
/// Longest search accepted.
const MAX_QUERY_CHARS: usize = 200;

/// A category in the shop's menu.
#[derive(Debug, Clone)]
pub struct CatLink {
    /// Name.
    pub name: String,
    /// Link.
    pub url: String,
    /// This is the page being shown.
    pub current: bool,
}

/// What every storefront page shows around its content.
#[derive(Debug, Clone)]
pub struct Shop {
    /// Shop name.
    pub name: String,
    /// Category menu.
    pub categories: Vec<CatLink>,
    /// The search box's text.
    pub q: String,
}

/// Products as the storefront sees them: each variant's availability is the stock at the
/// location online orders are taken from, not the sum over every location.
async fn online(
    state: &AppState,
    products: &[storefort_core::model::Product],
) -> Result<Vec<storefort_core::model::Product>, PageError> {
    let ids: Vec<String> = products
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.id.0.clone()))
        .collect();
    let stock = state.db.online_stock(&ids).await?;
    Ok(products
        .iter()
        .cloned()
        .map(|mut p| {
            for v in &mut p.variants {
                v.available = stock.get(&v.id.0).copied().unwrap_or(0);
            }
            p
        })
        .collect())
}

/// The shop's frame for a page: name, category menu (marking `current_slug`), search text.
pub async fn shop(state: &AppState, current_slug: &str, q: &str) -> Result<Shop, PageError> {
    let categories = state
        .db
        .categories()
        .await?
        .into_iter()
        .map(|c| CatLink {
            url: format!("/c/{}", seg(&c.slug)),
            current: c.slug == current_slug,
            name: c.name,
        })
        .collect();
    Ok(Shop {
        name: state.cfg.shop_name.clone(),
        categories,
        q: q.to_string(),
    })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    shop: Shop,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "category.html")]
struct CategoryPage {
    shop: Shop,
    title: String,
    cards: Vec<Card>,
    next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    shop: Shop,
    q: String,
    searched: bool,
    cards: Vec<Card>,
    next_url: Option<String>,
}

struct VariantView {
    id: String,
    title: String,
    sku: String,
    price: String,
    availability: String,
    purchasable: bool,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    shop: Shop,
    name: String,
    initial: String,
    description: String,
    price: String,
    availability: String,
    purchasable: bool,
    variants: Vec<VariantView>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    shop: Shop,
    message: String,
}

fn active(
    category_id: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> ProductFilter {
    ProductFilter {
        category_id,
        status: Some(ProductStatus::Active),
        q,
        cursor,
        limit,
    }
}

fn cursor_of(params: &HashMap<String, String>) -> Option<String> {
    params.get("cursor").filter(|c| !c.is_empty()).cloned()
}

/// `GET /`: the home page.
pub async fn home(State(state): State<AppState>) -> Result<Response, PageError> {
    let products = state
        .db
        .list_products(&active(None, None, None, HOME_PRODUCTS))
        .await?;
    let cards = online(&state, &products.items)
        .await?
        .iter()
        .map(|p| card(&state, p))
        .collect();
    ok(&HomePage {
        shop: shop(&state, "", "").await?,
        cards,
    })
}

/// `GET /c/{slug}`: one category, 24 products a page.
pub async fn category(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let cat = state.db.category_by_slug(&slug).await?;
    let cursor = cursor_of(&params);
    let list = state
        .db
        .list_products(&active(Some(cat.id.0.clone()), None, cursor, PER_PAGE))
        .await?;
    let next_url = list
        .next_cursor
        .clone()
        .map(|c| url_with(&format!("/c/{}", seg(&cat.slug)), &[("cursor", &c)]));
    ok(&CategoryPage {
        shop: shop(&state, &cat.slug, "").await?,
        title: cat.name,
        cards: online(&state, &list.items)
            .await?
            .iter()
            .map(|p| card(&state, p))
            .collect(),
        next_url,
    })
}

/// `GET /p/{slug}`: one active product with its variants.
pub async fn product(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let p = state.db.product_by_slug(&slug).await?;
    let p = online(&state, std::slice::from_ref(&p))
        .await?
        .pop()
        .ok_or_else(PageError::not_found)?;
    if p.status != ProductStatus::Active {
        return Err(PageError::not_found());
    }
    let a = availability(p.available(), p.allow_backorder);
    let variants = p
        .variants
        .iter()
        .map(|v| {
            let va = availability(v.available, p.allow_backorder);
            VariantView {
                id: v.id.0.clone(),
                title: v.title(),
                sku: v.sku.clone(),
                price: state.cfg.currency.format(v.price_minor),
                availability: va.label(),
                purchasable: va.purchasable(),
            }
        })
        .collect();
    ok(&ProductPage {
        shop: shop(&state, "", "").await?,
        initial: super::render::initial(&p.name),
        price: price_label(&state, &p),
        availability: a.label(),
        purchasable: a.purchasable(),
        name: p.name,
        description: p.description,
        variants,
    })
}

/// `GET /search?q=`: name substring, exact SKU or barcode.
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let q = params
        .get("q")
        .map(|q| q.trim().to_string())
        .unwrap_or_default();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(PageError::bad_request(format!(
            "Please search with at most {MAX_QUERY_CHARS} characters."
        )));
    }
    let shop = shop(&state, "", &q).await?;
    if q.is_empty() {
        return ok(&SearchPage {
            shop,
            q,
            searched: false,
            cards: Vec::new(),
            next_url: None,
        });
    }
    let list = state
        .db
        .list_products(&active(None, Some(q.clone()), cursor_of(&params), PER_PAGE))
        .await?;
    let next_url = list
        .next_cursor
        .clone()
        .map(|c| url_with("/search", &[("q", &q), ("cursor", &c)]));
    let cards = online(&state, &list.items)
        .await?
        .iter()
        .map(|p| card(&state, p))
        .collect();
    ok(&SearchPage {
        shop,
        q,
        searched: true,
        cards,
        next_url,
    })
}

/// Any unknown path: a 404 page in the shop's layout (JSON under `/api/`).
pub async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::error::ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such API endpoint",
        )
        .into_response();
    }
    let message = PageError::not_found().message;
    match shop(&state, "", "").await {
        Ok(shop) => page(StatusCode::NOT_FOUND, &NotFoundPage { shop, message }),
        Err(_) => PageError::not_found().into_response(),
    }
}
