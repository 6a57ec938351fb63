//! What an owner does on the backups page: start a backup now (it runs in the background; the
//! request returns at once), check the stored copies now (each destination's newest backup
//! read back and compared with its checksum), and download one backup file (the password
//! typed within the last few minutes; the file is streamed as stored, still encrypted: only
//! the recovery kit opens it). Downloads are audited as `backup.downloaded`; the service
//! itself audits `backup.created` and `backup.failed`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use storefort_backup::dest::parse_name;
use storefort_backup::progress::NoProgress;
use storefort_backup::service::BackupService;
use storefort_backup::BackupError;

use super::admin::{checked_form, see_other};
use super::admin_backups::{backup_error, backups_page, BackupOwner, Shown, PAGE};
use super::admin_staff::log;
use super::render::{url_with, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// How long "Back up now" waits for the backup to refuse at once ("already running") before
/// saying it has started.
const START_WAIT: Duration = Duration::from_millis(300);

/// The service, or a 409 page saying backups are not set up.
fn service(state: &AppState) -> Result<Arc<BackupService>, PageError> {
    state.backups.clone().ok_or_else(|| PageError {
        status: StatusCode::CONFLICT,
        title: "Backups are not set up",
        message: "This server has no backup settings yet. The backups page says what to do.".into(),
    })
}

/// `POST /admin/backups/run`: start a backup now. Returns at once with "Backup started"
/// (or, when it finished within a moment, "Backup done"); a backup already running is
/// said so (409), as is any other immediate refusal.
pub async fn run(
    s: BackupOwner,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let svc = service(&state)?;
    if svc.is_running() {
        return already_running(&state, &s).await;
    }
    let actor = s.user().email.clone();
    let mut job = tokio::spawn(async move {
        let r = svc.create(&actor, &NoProgress).await;
        if let Err(e) = &r {
            // The service recorded it as the last failure (shown on the page) and audited it.
            tracing::warn!(error = %e, "backup started from the admin failed");
        }
        r
    });
    // Keeps running in the background when this times out (a dropped JoinHandle detaches).
    let finished = match tokio::time::timeout(START_WAIT, &mut job).await {
        Err(_) => None,
        Ok(joined) => Some(joined.map_err(|e| PageError::internal(&e))?),
    };
    let problem = match finished {
        None => return Ok(see_other(&url_with(PAGE, &[("done", "started")]))),
        Some(Ok(_)) => return Ok(see_other(&url_with(PAGE, &[("done", "created")]))),
        // Another run took the lock between the check above and this one.
        Some(Err(BackupError::Invalid(m))) if m.contains("already running") => {
            return already_running(&state, &s).await;
        }
        Some(Err(e)) => format!("The backup failed: {e}"),
    };
    let shown = Shown {
        problem: Some(problem),
        ..Default::default()
    };
    backups_page(&state, &s, StatusCode::CONFLICT, shown).await
}

/// The page (409) saying a backup is already running.
async fn already_running(state: &AppState, s: &BackupOwner) -> Result<Response, PageError> {
    let shown = Shown {
        problem: Some(
            "A backup is already running. Wait for it to finish: it will be listed below.".into(),
        ),
        ..Default::default()
    };
    backups_page(state, s, StatusCode::CONFLICT, shown).await
}

/// `POST /admin/backups/check`: read back each destination's newest backup and compare it
/// with its checksum now; the page shows the verdict.
pub async fn check(
    s: BackupOwner,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let svc = service(&state)?;
    let shown = match svc.check_latest().await {
        Ok(r) if r.ok() => Shown {
            notice: Some(format!("Stored copies checked: {}.", r.note())),
            ..Default::default()
        },
        Ok(r) => Shown {
            problem: Some(format!(
                "The check of the stored copies failed: {}.",
                r.note()
            )),
            ..Default::default()
        },
        Err(e) => Shown {
            problem: Some(format!("The check of the stored copies could not run: {e}")),
            ..Default::default()
        },
    };
    backups_page(&state, &s, StatusCode::OK, shown).await
}

/// `POST /admin/backups/download` (`dest`, `name`; the password typed within the last few
/// minutes, else off to confirm it and back to the page): the backup file as stored, still
/// encrypted, streamed from its destination. Unknown destination or backup: 404. Audited as
/// `backup.downloaded`.
pub async fn download(
    s: BackupOwner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, &url_with(PAGE, &[("done", "password")])) {
        return Ok(to.into_response());
    }
    let svc = service(&state)?;
    let (dest, name) = (f.text("dest"), f.text("name"));
    // Checked against the exact backup name shape before it reaches an object key or a
    // header (`storefort-YYYYmmddTHHMMSSZ.sfbak`: safe inside the quoted file name below).
    let Some(d) = svc
        .destination(&dest)
        .filter(|_| parse_name(&name).is_some())
    else {
        return Err(PageError::not_found());
    };
    // Only a backup the destination lists as complete (its checksum recorded) is handed out.
    let listed = d.list().await.map_err(backup_error)?;
    let Some(stored) = listed.into_iter().find(|b| b.name == name) else {
        return Err(PageError::not_found());
    };
    let (size, chunks) = d.open_read(&name).await.map_err(backup_error)?;
    let details = format!("from {dest}: {} bytes (encrypted)", stored.size);
    log(&state, &s, &client, "backup.downloaded", &name, details).await?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| PageError::internal(&e))?;
    let mut res = (StatusCode::OK, Body::from_stream(chunks)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
