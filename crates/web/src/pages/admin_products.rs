//! Admin product pages: the list, the new-product form and the edit page.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use storefort_core::access::Permission;
use storefort_core::catalog::{ProductInput, ProductPatch, ProductStatus};
use storefort_core::ids::CategoryId;
use storefort_core::model::Product;
use storefort_core::ValidationError;
use storefort_store::products::ProductFilter;
use storefort_store::StoreError;

use super::admin::{checked_form, product_url, see_other, AdminChrome};
use super::admin_variants::{variant_rows, VariantForm, VariantRow};
use super::render::{form_error, ok, page, price_label, seg, url_with, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::AppState;

const PER_PAGE: i64 = 25;

/// An `<option>` in a select.
#[derive(Debug, Clone)]
pub struct Opt {
    /// Submitted value.
    pub value: String,
    /// Shown text.
    pub label: String,
    /// Pre-selected.
    pub selected: bool,
}

fn opts(items: &[(&str, &str)], current: &str) -> Vec<Opt> {
    items
        .iter()
        .map(|(v, l)| Opt {
            value: (*v).into(),
            label: (*l).into(),
            selected: *v == current,
        })
        .collect()
}

async fn category_opts(state: &AppState, current: &str) -> Result<Vec<Opt>, PageError> {
    let mut out = vec![Opt {
        value: String::new(),
        label: "No category".into(),
        selected: current.is_empty(),
    }];
    for c in state.db.categories().await? {
        out.push(Opt {
            selected: c.id.0 == current,
            value: c.id.0,
            label: c.name,
        });
    }
    Ok(out)
}

struct ProductRow {
    name: String,
    url: String,
    status: &'static str,
    variants: usize,
    price: String,
    available: i64,
}

#[derive(Template)]
#[template(path = "admin_products.html")]
struct ListPage {
    admin: AdminChrome,
    q: String,
    statuses: Vec<Opt>,
    rows: Vec<ProductRow>,
    next_url: Option<String>,
    /// May create products (shows the Add button).
    can_edit: bool,
}

/// `GET /admin/products?q=&status=&cursor=`.
pub async fn list(
    s: Admin<perm::CatalogView>,
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| {
        params
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (q, status, cursor) = (get("q"), get("status"), get("cursor"));
    if q.chars().count() > 200 {
        return Err(PageError::bad_request(
            "Please search with at most 200 characters.",
        ));
    }
    let filter = ProductFilter {
        category_id: None,
        status: matches!(status.as_str(), "active" | "draft" | "archived")
            .then(|| ProductStatus::parse(&status)),
        q: Some(q.clone()).filter(|q| !q.is_empty()),
        cursor: Some(cursor).filter(|c| !c.is_empty()),
        limit: PER_PAGE,
    };
    let list = state.db.list_products(&filter).await?;
    let rows = list
        .items
        .iter()
        .map(|p| ProductRow {
            name: p.name.clone(),
            url: format!("/admin/products/{}", seg(p.id.as_str())),
            status: p.status.as_str(),
            variants: p.variants.len(),
            price: price_label(&state, p),
            available: p.available(),
        })
        .collect();
    let next_url = list.next_cursor.clone().map(|c| {
        url_with(
            "/admin/products",
            &[("q", &q), ("status", &status), ("cursor", &c)],
        )
    });
    let statuses = opts(
        &[
            ("", "Active and draft"),
            ("active", "Active"),
            ("draft", "Draft"),
            ("archived", "Archived"),
        ],
        &status,
    );
    ok(&ListPage {
        admin: AdminChrome::new(&state, &s, "products"),
        q,
        statuses,
        rows,
        next_url,
        can_edit: s.can(Permission::CatalogEdit),
    })
}

/// What was typed into the new-product form.
#[derive(Debug, Clone, Default)]
pub struct NewProductForm {
    name: String,
    description: String,
    category_id: String,
    status: String,
    allow_backorder: bool,
    variant: VariantForm,
}

#[derive(Template)]
#[template(path = "admin_product_new.html")]
struct NewPage {
    admin: AdminChrome,
    form: NewProductForm,
    categories: Vec<Opt>,
    statuses: Vec<Opt>,
    error: Option<String>,
}

async fn new_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    form: NewProductForm,
    error: Option<String>,
) -> Result<Response, PageError> {
    let categories = category_opts(state, &form.category_id).await?;
    let statuses = opts(
        &[("active", "Active (on sale)"), ("draft", "Draft (hidden)")],
        &form.status,
    );
    let admin = AdminChrome::new(state, s, "products");
    Ok(page(
        status,
        &NewPage {
            admin,
            form,
            categories,
            statuses,
            error,
        },
    ))
}

/// `GET /admin/products/new`.
pub async fn new_form(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let form = NewProductForm {
        status: "active".into(),
        ..Default::default()
    };
    new_page(&state, &s, StatusCode::OK, form, None).await
}

fn category_of(v: &str) -> Option<CategoryId> {
    Some(v)
        .filter(|v| !v.is_empty())
        .map(|v| CategoryId(v.to_string()))
}

/// `POST /admin/products/new`.
pub async fn create(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = NewProductForm {
        name: f.get("name").to_string(),
        description: f.get("description").to_string(),
        category_id: f.text("category_id"),
        status: f.text("status"),
        allow_backorder: f.checked("allow_backorder"),
        variant: VariantForm::read(&f),
    };
    let result = async {
        let status = match form.status.as_str() {
            "active" => ProductStatus::Active,
            "draft" => ProductStatus::Draft,
            _ => {
                return Err(StoreError::from(ValidationError::new(
                    "status",
                    "choose active or draft",
                )))
            }
        };
        let input = ProductInput {
            name: form.name.clone(),
            slug: None,
            description: form.description.clone(),
            category_id: category_of(&form.category_id),
            tax_class_id: None,
            allow_backorder: form.allow_backorder,
            status: Some(status),
            variants: vec![form.variant.input(&state)?],
        };
        state.db.create_product(input).await
    }
    .await;
    match result {
        Ok(p) => Ok(see_other(&product_url(p.id.as_str(), "created"))),
        Err(e) => {
            let (status, msg) = form_error(e)?;
            new_page(&state, &s, status, form, Some(msg)).await
        }
    }
}

/// What was typed into the product edit form.
#[derive(Debug, Clone, Default)]
pub struct EditForm {
    name: String,
    description: String,
    category_id: String,
    status: String,
    allow_backorder: bool,
}

impl EditForm {
    fn of(p: &Product) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            category_id: p
                .category_id
                .as_ref()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            status: p.status.as_str().into(),
            allow_backorder: p.allow_backorder,
        }
    }
}

/// Everything the edit page may show besides the product itself.
#[derive(Debug, Default)]
pub struct EditState {
    /// Product form values (typed ones after an error).
    pub form: Option<EditForm>,
    /// The add-variant form's values.
    pub add: VariantForm,
    /// A variant row as typed (after an error editing it).
    pub row: Option<VariantRow>,
    /// An error to show.
    pub error: Option<String>,
    /// A success notice.
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "admin_product_edit.html")]
struct EditPage {
    admin: AdminChrome,
    id: String,
    title: String,
    public_url: Option<String>,
    form: EditForm,
    categories: Vec<Opt>,
    statuses: Vec<Opt>,
    variants: Vec<VariantRow>,
    add: VariantForm,
    error: Option<String>,
    notice: Option<&'static str>,
    /// May change the product (shows the forms; otherwise the page is read-only).
    can_edit: bool,
}

/// Render the edit page for `p` with `status`.
pub async fn edit_page(
    state: &AppState,
    s: &AdminSession,
    p: &Product,
    status: StatusCode,
    st: EditState,
) -> Result<Response, PageError> {
    let form = st.form.unwrap_or_else(|| EditForm::of(p));
    let categories = category_opts(state, &form.category_id).await?;
    let statuses = opts(
        &[
            ("active", "Active"),
            ("draft", "Draft"),
            ("archived", "Archived"),
        ],
        &form.status,
    );
    let mut variants = variant_rows(state, p);
    if let Some(row) = st.row {
        if let Some(slot) = variants.iter_mut().find(|r| r.id == row.id) {
            *slot = row;
        }
    }
    let t = EditPage {
        admin: AdminChrome::new(state, s, "products"),
        id: seg(p.id.as_str()),
        title: p.name.clone(),
        public_url: (p.status == ProductStatus::Active).then(|| format!("/p/{}", seg(&p.slug))),
        form,
        categories,
        statuses,
        variants,
        add: st.add,
        error: st.error,
        notice: st.notice,
        can_edit: s.can(Permission::CatalogEdit),
    };
    Ok(page(status, &t))
}

fn notice(done: Option<&String>) -> Option<&'static str> {
    match done.map(String::as_str) {
        Some("created") => Some("Product created."),
        Some("saved") => Some("Changes saved."),
        Some("archived") => Some("Product archived: it is no longer on sale."),
        Some("variant-added") => Some("Variant added."),
        Some("variant-saved") => Some("Variant saved."),
        Some("variant-archived") => Some("Variant archived."),
        _ => None,
    }
}

/// `GET /admin/products/{id}`.
pub async fn edit_form(
    s: Admin<perm::CatalogView>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let p = state.db.product(&id).await?;
    let st = EditState {
        notice: notice(params.get("done")),
        ..Default::default()
    };
    edit_page(&state, &s, &p, StatusCode::OK, st).await
}

/// `POST /admin/products/{id}`.
pub async fn update(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let p = state.db.product(&id).await?;
    let form = EditForm {
        name: f.get("name").to_string(),
        description: f.get("description").to_string(),
        category_id: f.text("category_id"),
        status: f.text("status"),
        allow_backorder: f.checked("allow_backorder"),
    };
    let result = async {
        if !matches!(form.status.as_str(), "active" | "draft" | "archived") {
            return Err(StoreError::from(ValidationError::new(
                "status",
                "choose active, draft or archived",
            )));
        }
        let patch = ProductPatch {
            name: Some(form.name.clone()),
            slug: None,
            description: Some(form.description.clone()),
            category_id: Some(category_of(&form.category_id)),
            tax_class_id: None,
            allow_backorder: Some(form.allow_backorder),
            status: Some(ProductStatus::parse(&form.status)),
        };
        state.db.update_product(&id, patch).await
    }
    .await;
    match result {
        Ok(p) => Ok(see_other(&product_url(p.id.as_str(), "saved"))),
        Err(e) => {
            let (status, msg) = form_error(e)?;
            let st = EditState {
                form: Some(form),
                error: Some(msg),
                ..Default::default()
            };
            edit_page(&state, &s, &p, status, st).await
        }
    }
}

/// `POST /admin/products/{id}/archive`.
pub async fn archive(
    s: Admin<perm::CatalogEdit>,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let p = state.db.archive_product(&id).await?;
    Ok(see_other(&product_url(p.id.as_str(), "archived")))
}
