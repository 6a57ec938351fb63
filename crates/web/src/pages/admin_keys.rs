//! Admin API keys: list, create (the key is shown once) and revoke. Needs the Settings
//! permission (owners); creating and revoking also need the password typed in the last few
//! minutes, and are audited.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use storefort_store::audit::AuditEvent;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_products::Opt;
use super::render::{field_label, ok, page, seg, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::login::audit;
use crate::middleware::ClientInfo;
use crate::AppState;

/// Where key actions return to.
const BACK: &str = "/admin/api-keys";

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
pub async fn list(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    keys_page(&state, &s, StatusCode::OK, String::new(), "read", None).await
}

/// `POST /admin/api-keys`: create a key and show it this once (needs the password typed in
/// the last few minutes).
pub async fn create(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, BACK) {
        return Ok(to.into_response());
    }
    let (name, scope) = (f.get("name").to_string(), f.text("scope"));
    let u = s.user();
    match crate::auth::create_api_key(&state.db, &name, &scope, u).await {
        Ok((key, rec)) => {
            audit(
                &state,
                AuditEvent::new("api_key.created", &u.email, &client.ip.to_string())
                    .by(u.id.as_str())
                    .on(rec.id.as_str())
                    .details(format!("{} ({})", rec.name, rec.scope)),
            )
            .await?;
            ok(&CreatedPage {
                admin: AdminChrome::new(&state, &s, "keys"),
                name: rec.name,
                scope: rec.scope,
                key,
            })
        }
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

/// `POST /admin/api-keys/{id}/revoke` (needs the password typed in the last few minutes).
pub async fn revoke(
    s: Admin<perm::Settings>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, BACK) {
        return Ok(to.into_response());
    }
    state.db.revoke_api_key(&id).await?;
    let u = s.user();
    audit(
        &state,
        AuditEvent::new("api_key.revoked", &u.email, &client.ip.to_string())
            .by(u.id.as_str())
            .on(&id),
    )
    .await?;
    Ok(see_other(BACK))
}
