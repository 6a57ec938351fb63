//! Admin API keys: list, create (the key is shown once) and revoke. Owner only.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_products::Opt;
use super::render::{field_label, ok, page, seg, utc, PageError};
use crate::auth::AdminSession;
use crate::AppState;

struct KeyRow {
    id: String,
    name: String,
    prefix: String,
    scope: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_keys.html")]
struct KeysPage {
    admin: AdminChrome,
    keys: Vec<KeyRow>,
    name: String,
    scopes: Vec<Opt>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_key_created.html")]
struct CreatedPage {
    admin: AdminChrome,
    name: String,
    scope: String,
    key: String,
}

fn owner_only(s: &AdminSession) -> Result<(), PageError> {
    if s.0.user.role == "owner" {
        Ok(())
    } else {
        Err(PageError::forbidden(
            "Only the shop owner may manage API keys.",
        ))
    }
}

async fn keys_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    name: String,
    scope: &str,
    error: Option<String>,
) -> Result<Response, PageError> {
    let keys = state
        .db
        .api_keys()
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: seg(k.id.as_str()),
            name: k.name,
            prefix: k.prefix,
            scope: k.scope,
            created: utc(k.created_at),
            last_used: k.last_used_at.map(utc).unwrap_or_else(|| "never".into()),
            revoked: k.revoked_at.map(utc),
        })
        .collect();
    let scopes = [("read", "Read only (GET)"), ("write", "Read and write")]
        .iter()
        .map(|(v, l)| Opt {
            value: (*v).into(),
            label: (*l).into(),
            selected: *v == scope,
        })
        .collect();
    Ok(page(
        status,
        &KeysPage {
            admin: AdminChrome::new(state, s, "keys"),
            keys,
            name,
            scopes,
            error,
        },
    ))
}

/// `GET /admin/api-keys`.
pub async fn list(s: AdminSession, State(state): State<AppState>) -> Result<Response, PageError> {
    owner_only(&s)?;
    keys_page(&state, &s, StatusCode::OK, String::new(), "read", None).await
}

/// `POST /admin/api-keys`: create a key and show it this once.
pub async fn create(
    s: AdminSession,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    owner_only(&s)?;
    let (name, scope) = (f.get("name").to_string(), f.text("scope"));
    match crate::auth::create_api_key(&state.db, &name, &scope, &s.0.user).await {
        Ok((key, rec)) => ok(&CreatedPage {
            admin: AdminChrome::new(&state, &s, "keys"),
            name: rec.name,
            scope: rec.scope,
            key,
        }),
        Err(e) if e.status.is_client_error() => {
            let msg = match &e.field {
                Some(field) => format!("{}: {}", field_label(field), e.message),
                None => e.message.clone(),
            };
            keys_page(&state, &s, e.status, name, &scope, Some(msg)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/api-keys/{id}/revoke`.
pub async fn revoke(
    s: AdminSession,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    owner_only(&s)?;
    state.db.revoke_api_key(&id).await?;
    Ok(see_other("/admin/api-keys"))
}
