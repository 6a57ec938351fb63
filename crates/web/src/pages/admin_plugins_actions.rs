//! What an owner does on the plugins page: upload a package or pick an example (either is
//! only staged: checked, then shown on the approval page), approve a staged package with the
//! password typed there, switch a plugin off or on, remove it, and approve a module that
//! changed on disk (the password again). The plugin service audits every change
//! (`plugin.installed`, `plugin.enabled`, ...) with the owner and their address.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_plugins::package::{PackageError, MAX_PACKAGE_BYTES};
use storefort_plugins::service::{InstallError, Who};
use storefort_plugins::{examples, valid_name};

use super::admin::{checked_form, see_other};
use super::admin_plugins::{
    approve_page, install_error, plugins_page, service, PluginOwner, Shown, PAGE,
};
use super::admin_reauth::{ip_limited, password_ok, RATE_LIMITED};
use super::render::{url_with, FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// The actions on an installed plugin (`POST /admin/plugins/{name}/{action}`).
const ACTIONS: [&str; 4] = ["enable", "disable", "remove", "approve-module"];

/// Said when the password typed to approve is wrong (it names the field).
const WRONG_PASSWORD: &str = "Password: that is not your password (or the account is locked \
for a while after too many attempts).";

fn who(s: &PluginOwner, client: &ClientInfo) -> Who {
    let u = s.user();
    Who {
        id: u.id.as_str().to_string(),
        email: u.email.clone(),
        ip: client.ip.to_string(),
    }
}

/// Check `password` as the signed-in owner's (counted toward the lockout like a sign-in, and
/// refused unchecked while their address is rate limited): `Err` carries the status and
/// message to show.
async fn password_right(
    state: &AppState,
    s: &PluginOwner,
    client: &ClientInfo,
    password: &str,
    why: &str,
) -> Result<Result<(), (StatusCode, String)>, PageError> {
    let ip = client.ip.to_string();
    if ip_limited(state, &ip).await? {
        return Ok(Err((
            StatusCode::TOO_MANY_REQUESTS,
            RATE_LIMITED.to_string(),
        )));
    }
    if password_ok(state, s.user(), password, &ip, why).await? {
        Ok(Ok(()))
    } else {
        Ok(Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            WRONG_PASSWORD.to_string(),
        )))
    }
}

/// Stage a package and send the owner to its approval page; a package that is refused is
/// shown on the plugins page (422) and nothing is kept.
async fn stage(state: &AppState, s: &PluginOwner, bytes: &[u8]) -> Result<Response, PageError> {
    let svc = service(state)?;
    match svc.stage(bytes).await {
        Ok(staged) => Ok(see_other(&format!("{PAGE}/approve/{}", staged.id))),
        Err(e @ (InstallError::Package(PackageError::Io(_)) | InstallError::Store(_))) => {
            Err(install_error(e))
        }
        Err(e @ (InstallError::Package(_) | InstallError::Module(_))) => {
            let shown = Shown {
                problem: Some(format!("That plugin was not installed: {e}.")),
                ..Default::default()
            };
            plugins_page(state, s, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(e) => Err(install_error(e)),
    }
}

/// `POST /admin/plugins/upload` (multipart: `csrf`, `package`): stage the uploaded package.
/// The CSRF token travels in the multipart body, so it is read from there and checked before
/// anything is staged.
pub async fn upload(
    s: PluginOwner,
    State(state): State<AppState>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let mut form = form.map_err(|e| PageError::bad_request(e.body_text()))?;
    let (mut csrf, mut package) = (String::new(), Vec::new());
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return PageError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                title: "Too much to send",
                message: format!(
                    "That package is too large: plugins are at most {} MB.",
                    MAX_PACKAGE_BYTES / (1024 * 1024)
                ),
            };
        }
        PageError::bad_request("The upload could not be read; choose the file and try again.")
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(unreadable)?,
            Some("package") => package = field.bytes().await.map_err(unreadable)?.to_vec(),
            // Anything else is read past and ignored.
            _ => drop(field.bytes().await.map_err(unreadable)?),
        }
    }
    s.check_csrf(&csrf)?;
    if package.is_empty() {
        let shown = Shown {
            problem: Some("Plugin package: choose a .sfplugin file to upload.".into()),
            bad_package: true,
            ..Default::default()
        };
        return plugins_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    stage(&state, &s, &package).await
}

/// `POST /admin/plugins/example` (`name`): stage one of the built-in examples exactly like an
/// upload. An unknown example: 404.
pub async fn example(
    s: PluginOwner,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let Some(built) = examples::package(&f.text("name")) else {
        return Err(PageError::not_found());
    };
    // The examples are built into the server: one that does not build is our bug.
    let bytes = built.map_err(|e| PageError::internal(&e))?;
    stage(&state, &s, &bytes).await
}

/// `POST /admin/plugins/approve/{id}` (`password`): install the staged package as approved by
/// the signed-in owner. A wrong password: 422 on the approval page, counted like a failed
/// sign-in, nothing installed. An unknown or expired upload: 404.
pub async fn approve(
    s: PluginOwner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    // A plugin may be called "approve": its actions' paths land here.
    if ACTIONS.contains(&id.as_str()) {
        return act(&state, &s, &client, "approve", &id, &f).await;
    }
    let svc = service(&state)?;
    let staged = svc.staged(&id).await.map_err(install_error)?;
    let why = "wrong password approving a plugin";
    if let Err((status, message)) =
        password_right(&state, &s, &client, f.get("password"), why).await?
    {
        let message = format!("{message} Nothing was installed.");
        return Ok(approve_page(&state, &s, status, staged, Some(message)));
    }
    let record = svc
        .approve(&id, &who(&s, &client))
        .await
        .map_err(install_error)?;
    let to = url_with(PAGE, &[("done", "installed"), ("name", &record.name)]);
    Ok(see_other(&to))
}

/// `POST /admin/plugins/{name}/{action}`: `enable`, `disable`, `remove`, or `approve-module`
/// (with `password`). An unknown plugin or action: 404; a change the plugin's state does not
/// allow (switching on a changed module): 409 with the reason.
pub async fn action(
    s: PluginOwner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    act(&state, &s, &client, &name, &action, &f).await
}

async fn act(
    state: &AppState,
    s: &PluginOwner,
    client: &ClientInfo,
    name: &str,
    action: &str,
    f: &FormData,
) -> Result<Response, PageError> {
    let svc = service(state)?;
    if !valid_name(name) || !ACTIONS.contains(&action) {
        return Err(PageError::not_found());
    }
    let who = who(s, client);
    let done = match action {
        "enable" => svc.set_enabled(name, true, &who).await.map(|_| "on"),
        "disable" => svc.set_enabled(name, false, &who).await.map(|_| "off"),
        "remove" => svc.remove(name, &who).await.map(|_| "removed"),
        _ => {
            // Unknown plugin: 404 before a password try is spent on it.
            state.db.plugin(name).await?;
            let why = "wrong password approving a changed plugin module";
            if let Err((status, message)) =
                password_right(state, s, client, f.get("password"), why).await?
            {
                let shown = Shown {
                    problem: Some(format!("{message} The module was not approved.")),
                    bad_password: name.to_string(),
                    ..Default::default()
                };
                return plugins_page(state, s, status, shown).await;
            }
            svc.approve_changed(name, &who).await.map(|_| "approved")
        }
    };
    let done = done.map_err(install_error)?;
    Ok(see_other(&url_with(
        PAGE,
        &[("done", done), ("name", name)],
    )))
}
