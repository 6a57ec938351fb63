//! API keys: only a signed-in owner may list, create or revoke them (creating and revoking need
//! the password typed in the last 5 minutes). A new key is shown once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};
use storefort_store::auth::ApiKey;
use utoipa::ToSchema;

use storefort_store::audit::AuditEvent;

use crate::auth::{perm, Api};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::login::audit;
use crate::middleware::ClientInfo;
use crate::AppState;

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// What the key is for (e.g. "Accounting export").
    pub name: String,
    /// `read` (GET only) or `write`.
    pub scope: String,
}

/// A created key: `key` is shown this once and never stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The secret key; send it as `Authorization: Bearer <key>`.
    pub key: String,
    /// The stored record.
    pub record: ApiKey,
}

/// List API keys (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "access", responses((status = 200, body = Vec<ApiKey>), (status = 403, body = ErrorBody)))]
pub async fn list(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
) -> ApiResult<Json<Vec<ApiKey>>> {
    p.staff()?;
    Ok(Json(s.db.api_keys().await?))
}

/// Create an API key.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "access", request_body = KeyInput,
    responses((status = 201, body = CreatedKey), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    ApiJson(i): ApiJson<KeyInput>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let owner = p.staff()?;
    p.require_recent_password(&s)?;
    let (key, record) = crate::auth::create_api_key(&s.db, &i.name, &i.scope, owner).await?;
    audit(
        &s,
        AuditEvent::new("api_key.created", &owner.email, &client.ip.to_string())
            .by(owner.id.as_str())
            .on(record.id.as_str())
            .details(format!("{} ({})", record.name, record.scope)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedKey { key, record })))
}

/// Revoke an API key; its next request is refused.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    p: Api<perm::Settings>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let owner = p.staff()?;
    p.require_recent_password(&s)?;
    s.db.revoke_api_key(&id).await?;
    audit(
        &s,
        AuditEvent::new("api_key.revoked", &owner.email, &client.ip.to_string())
            .by(owner.id.as_str())
            .on(&id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
