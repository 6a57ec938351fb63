//! "Plugins" (owners only: the Plugins permission): the installed plugins with what each may
//! see and do, whether it is on, why the shop switched it off, whether its module on disk is
//! still the one approved and its last error; and the way in for a new one (an upload or an
//! example), which is staged and shown on an approval page first. Nothing is installed until
//! the owner types their password there. When the server runs without plugins the page says
//! so. The actions are in [`super::admin_plugins_actions`].

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use storefort_plugins::package::{PackageError, MAX_PACKAGE_BYTES};
use storefort_plugins::service::{InstallError, ModuleState, PluginView, Staged};
use storefort_plugins::{examples, valid_name, PluginService};

use super::admin::AdminChrome;
use super::admin_plugins_actions as act;
use super::render::{page, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::AppState;

/// Staff who may see and manage plugins: owners.
pub type PluginOwner = Admin<perm::Plugins>;

/// The page.
pub const PAGE: &str = "/admin/plugins";

/// The largest upload: the biggest package plus room for the multipart framing and the CSRF
/// field. Only the upload route takes more than the router's usual limit.
pub const UPLOAD_LIMIT: usize = MAX_PACKAGE_BYTES + 64 * 1024;

/// More plugins on than this, and the page asks whether they are all needed.
const MANY_ON: usize = 5;

/// This module's routes (and the actions').
pub fn routes() -> Router<AppState> {
    // A router of its own, so that the larger body limit covers this one route only.
    let upload = Router::new()
        .route("/admin/plugins/upload", post(act::upload))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    Router::new()
        .merge(upload)
        .route(PAGE, get(show))
        .route("/admin/plugins/example", post(act::example))
        .route(
            "/admin/plugins/approve/{id}",
            get(approve_form).post(act::approve),
        )
        .route("/admin/plugins/{name}/{action}", post(act::action))
}

/// The plugin service, or a 409 page saying this server runs without plugins.
pub fn service(state: &AppState) -> Result<Arc<PluginService>, PageError> {
    state.plugins.clone().ok_or_else(|| PageError {
        status: StatusCode::CONFLICT,
        title: "Plugins are not available",
        message: "Plugins are not available on this server.".into(),
    })
}

/// A refused install or change as a page: the message is written for the owner.
pub fn install_error(e: InstallError) -> PageError {
    match e {
        InstallError::Store(s) => s.into(),
        InstallError::Package(PackageError::Io(_)) => PageError::internal(&e),
        InstallError::NoSuchUpload => PageError {
            status: StatusCode::NOT_FOUND,
            title: "Upload not found",
            message: e.to_string(),
        },
        InstallError::State(message) => PageError {
            status: StatusCode::CONFLICT,
            title: "That did not work",
            message,
        },
        other => PageError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "That plugin cannot be installed",
            message: other.to_string(),
        },
    }
}

/// One installed plugin as a row of the table.
struct PluginRow {
    name: String,
    version: String,
    author: String,
    description: String,
    /// What its hooks do, in words.
    hooks: Vec<&'static str>,
    /// What it may see and do, in words.
    permissions: Vec<&'static str>,
    webhook_url: Option<String>,
    on: bool,
    /// Why the shop switched it off ("" when the owner did, or it is on).
    disabled_reason: String,
    /// `ok`, `changed` or `missing`.
    module: &'static str,
    last_error: Option<String>,
    approved: String,
}

impl PluginRow {
    fn of(v: PluginView) -> Self {
        let r = v.record;
        let last_error = (!r.last_error.is_empty()).then(|| match r.last_error_at {
            Some(at) => format!("{} UTC: {}", utc(at), r.last_error),
            None => r.last_error.clone(),
        });
        PluginRow {
            hooks: v.hooks.iter().map(|h| h.words()).collect(),
            permissions: v.permissions.iter().map(|p| p.words()).collect(),
            module: match v.module {
                ModuleState::Matches => "ok",
                ModuleState::Changed => "changed",
                ModuleState::Missing => "missing",
            },
            approved: format!("{} UTC by {}", utc(r.approved_at), r.approved_by),
            last_error,
            name: r.name,
            version: r.version,
            author: r.author,
            description: r.description,
            webhook_url: r.webhook_url,
            on: r.enabled,
            disabled_reason: r.disabled_reason,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_plugins.html")]
struct PluginsPage {
    admin: AdminChrome,
    notice: Option<String>,
    problem: Option<String>,
    /// How many are on, when that is more than [`MANY_ON`].
    many_on: Option<usize>,
    plugins: Vec<PluginRow>,
    examples: Vec<&'static str>,
    max_mb: usize,
    /// The upload was refused for want of a file: mark the field.
    bad_package: bool,
    /// The plugin whose "approve the changed module" password was wrong.
    bad_password: String,
}

/// What the page shows besides the plugins: a notice or a problem, and a field to mark.
#[derive(Default)]
pub struct Shown {
    /// A notice (green).
    pub notice: Option<String>,
    /// A problem (red).
    pub problem: Option<String>,
    /// The upload had no file.
    pub bad_package: bool,
    /// The plugin whose password field to mark.
    pub bad_password: String,
}

/// The page with `status`.
pub async fn plugins_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    shown: Shown,
) -> Result<Response, PageError> {
    let svc = service(state)?;
    let plugins: Vec<PluginRow> = svc.list().await?.into_iter().map(PluginRow::of).collect();
    let on = plugins.iter().filter(|p| p.on).count();
    Ok(page(
        status,
        &PluginsPage {
            admin: AdminChrome::new(state, s, "plugins"),
            notice: shown.notice,
            problem: shown.problem,
            many_on: (on > MANY_ON).then_some(on),
            plugins,
            examples: examples::names(),
            max_mb: MAX_PACKAGE_BYTES / (1024 * 1024),
            bad_package: shown.bad_package,
            bad_password: shown.bad_password,
        },
    ))
}

/// The notice for `?done=...&name=...` after an action.
fn notice_for(done: &str, name: &str) -> Option<String> {
    if !valid_name(name) {
        return None;
    }
    Some(match done {
        "installed" => format!("Installed {name}. It is on."),
        "on" => format!("{name} is on."),
        "off" => format!("{name} is off. The shop carries on without it."),
        "removed" => format!("Removed {name} and its module."),
        "approved" => format!("Approved the changed module of {name}. It is on."),
        _ => return None,
    })
}

/// `GET /admin/plugins`.
pub async fn show(
    s: PluginOwner,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let shown = Shown {
        notice: notice_for(get("done"), get("name")),
        ..Default::default()
    };
    plugins_page(&state, &s, StatusCode::OK, shown).await
}

#[derive(Template)]
#[template(path = "admin_plugin_approve.html")]
struct ApprovePage {
    admin: AdminChrome,
    id: String,
    name: String,
    version: String,
    author: String,
    description: String,
    hooks: Vec<&'static str>,
    permissions: Vec<&'static str>,
    webhook_url: Option<String>,
    sha256: String,
    /// "This replaces version 1.0.0 (installed ...)".
    replaces: Option<String>,
    error: Option<String>,
}

/// The approval page of a staged package, with `error` by the password field.
pub fn approve_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    staged: Staged,
    error: Option<String>,
) -> Response {
    let m = staged.manifest;
    let replaces = staged.replaces.map(|r| {
        format!(
            "This replaces version {} (installed {} UTC, approved by {}).",
            r.version,
            utc(r.installed_at),
            r.approved_by
        )
    });
    page(
        status,
        &ApprovePage {
            admin: AdminChrome::new(state, s, "plugins"),
            id: staged.id,
            hooks: m.hooks.iter().map(|h| h.words()).collect(),
            permissions: m.permissions.iter().map(|p| p.words()).collect(),
            name: m.name,
            version: m.version,
            author: m.author,
            description: m.description,
            webhook_url: m.webhook_url,
            sha256: m.module_sha256,
            replaces,
            error,
        },
    )
}

/// `GET /admin/plugins/approve/{id}`: what a staged package asks for, and the approval form.
/// An unknown or expired upload: 404.
pub async fn approve_form(
    s: PluginOwner,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let svc = service(&state)?;
    let staged = svc.staged(&id).await.map_err(install_error)?;
    Ok(approve_page(&state, &s, StatusCode::OK, staged, None))
}
