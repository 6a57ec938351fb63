//! "Backups" (owners only: the Backups permission): how the shop's backups stand (last
//! success, last failure and why, the last check of the stored copies, the last full verify
//! with the recovery kit, when the next one is due), every destination with the backups it
//! holds, and the schedule and retention settings. When the server has no backup service
//! (no `[backup]` section in `storefort.toml`) the page says so and what to do, instead of
//! failing. The actions (run now, check now, download) are in
//! [`super::admin_backups_actions`], the settings form in [`super::admin_backups_settings`].

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use storefort_backup::settings::{BackupSettings, BackupStatus};
use storefort_backup::BackupError;

use super::admin::AdminChrome;
use super::admin_backups_actions as act;
use super::admin_backups_settings::{save, SettingsForm, FIELDS};
use super::render::{page, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::AppState;

/// Staff who may see and run backups: owners.
pub type BackupOwner = Admin<perm::Backups>;

/// The page.
pub const PAGE: &str = "/admin/backups";

/// This module's routes (and the actions').
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(show))
        .route("/admin/backups/settings", post(save))
        .route("/admin/backups/run", post(act::run))
        .route("/admin/backups/check", post(act::check))
        .route("/admin/backups/download", post(act::download))
}

struct FieldRow {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: String,
    invalid: bool,
}

/// One line of the status panel.
struct StatusLine {
    label: &'static str,
    text: String,
    /// `ok`, `bad` or `` (neither).
    tone: &'static str,
}

struct BackupRow {
    name: String,
    created: String,
    size: String,
}

struct DestRow {
    name: String,
    offsite: bool,
    backups: Vec<BackupRow>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_backups.html")]
struct BackupsPage {
    admin: AdminChrome,
    notice: Option<String>,
    problem: Option<String>,
    /// The server runs the backup service.
    configured: bool,
    /// The last attempt failed (a failure newer than the last success).
    failing: Option<String>,
    status: Vec<StatusLine>,
    fields: Vec<FieldRow>,
    destinations: Vec<DestRow>,
    /// At least one destination is off this machine.
    offsite: bool,
}

/// Bytes as "512 bytes", "1.5 KB", "23.4 MB", "1.2 GB" (powers of 1000, like disk makers).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1000.0;
    let mut u = 0;
    while v >= 999.95 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// `at` as UTC, or `none` words.
fn when(at: Option<i64>, none: &str) -> String {
    at.map_or_else(|| none.to_string(), |t| format!("{} UTC", utc(t)))
}

fn status_lines(
    st: &BackupStatus,
    set: &BackupSettings,
    configured: bool,
    now: i64,
) -> Vec<StatusLine> {
    let success = match (st.last_success_at, &st.last_success_name) {
        (Some(t), Some(n)) => format!("{} UTC: {n}", utc(t)),
        (Some(t), None) => format!("{} UTC", utc(t)),
        _ => "none yet".to_string(),
    };
    let failure = match (st.last_failure_at, &st.last_failure_reason) {
        (Some(t), Some(r)) => format!("{} UTC: {r}", utc(t)),
        (Some(t), None) => format!("{} UTC", utc(t)),
        _ => "none".to_string(),
    };
    let failing = st.problem().is_some();
    let verdict = |at: Option<i64>, ok: Option<bool>, note: &Option<String>, never: &str| {
        let Some(t) = at else {
            return (never.to_string(), "");
        };
        let word = match ok {
            Some(true) => "passed",
            Some(false) => "FAILED",
            None => "done",
        };
        let mut text = format!("{} UTC: {word}", utc(t));
        if let Some(n) = note.as_deref().filter(|n| !n.is_empty()) {
            text.push_str(": ");
            text.push_str(n);
        }
        (text, tone(ok))
    };
    let (check, check_tone) = verdict(
        st.last_check_at,
        st.last_check_ok,
        &st.last_check_note,
        "never (use \"Check stored copies now\" below)",
    );
    let (verify, verify_tone) = verdict(
        st.last_verify_at,
        st.last_verify_ok,
        &st.last_verify_note,
        "never: on the server run storefort backup verify latest --identity - and paste the recovery kit",
    );
    let interval_ms = i64::from(set.interval_minutes) * 60_000;
    let next = if !configured {
        "not scheduled: backups are not set up on this server".to_string()
    } else {
        match st.last_attempt_at {
            None => "within a few minutes (the first one after the server started)".to_string(),
            Some(t) if t + interval_ms <= now => "now (within a minute)".to_string(),
            Some(t) => format!("{} UTC", utc(t + interval_ms)),
        }
    };
    vec![
        StatusLine {
            label: "Last successful backup",
            text: success,
            tone: if st.last_success_at.is_some() && !failing {
                "ok"
            } else {
                ""
            },
        },
        StatusLine {
            label: "Last failed backup",
            text: failure,
            tone: if failing { "bad" } else { "" },
        },
        StatusLine {
            label: "Last check of the stored copies",
            text: check,
            tone: check_tone,
        },
        StatusLine {
            label: "Last full verify with the recovery kit",
            text: verify,
            tone: verify_tone,
        },
        StatusLine {
            label: "Last attempt",
            text: when(st.last_attempt_at, "none yet"),
            tone: "",
        },
        StatusLine {
            label: "Next backup due",
            text: next,
            tone: "",
        },
    ]
}

fn tone(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok",
        Some(false) => "bad",
        None => "",
    }
}

/// A backup error as a page: the message is written for the owner.
pub fn backup_error(e: BackupError) -> PageError {
    match e {
        BackupError::Store(s) => s.into(),
        BackupError::Io(_) => PageError::internal(&e),
        other => PageError {
            status: StatusCode::CONFLICT,
            title: "That did not work",
            message: other.to_string(),
        },
    }
}

/// What the page shows besides the state: a notice or a problem, and a refused settings form.
#[derive(Default)]
pub struct Shown {
    /// A notice (green).
    pub notice: Option<String>,
    /// A problem (red).
    pub problem: Option<String>,
    /// The settings form as typed, when it was refused.
    pub typed: Option<SettingsForm>,
    /// The settings field to mark.
    pub bad_input: &'static str,
}

/// The page with `status`.
pub async fn backups_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    shown: Shown,
) -> Result<Response, PageError> {
    let db = &state.db;
    let st = BackupStatus::load(db).await.map_err(backup_error)?;
    let set = BackupSettings::load(db).await.map_err(backup_error)?;
    let svc = state.backups.as_ref();
    let form = shown.typed.unwrap_or_else(|| SettingsForm::of(&set));
    let fields = FIELDS
        .iter()
        .zip(form.0)
        .map(|((name, label, hint), value)| FieldRow {
            name,
            label,
            hint,
            invalid: *name == shown.bad_input,
            value,
        })
        .collect();
    let mut destinations = Vec::new();
    if let Some(svc) = svc {
        for (name, listed) in svc.list().await {
            let offsite = svc.destination(&name).is_some_and(|d| d.offsite);
            let (backups, error) = match listed {
                Ok(list) => (
                    list.into_iter()
                        .map(|b| BackupRow {
                            created: utc(b.created_at),
                            size: human_size(b.size),
                            name: b.name,
                        })
                        .collect(),
                    None,
                ),
                Err(e) => (Vec::new(), Some(e)),
            };
            destinations.push(DestRow {
                name,
                offsite,
                backups,
                error,
            });
        }
    }
    let failing = st.problem();
    Ok(page(
        status,
        &BackupsPage {
            admin: AdminChrome::new(state, s, "backups"),
            notice: shown.notice,
            problem: shown.problem,
            configured: svc.is_some(),
            failing,
            status: status_lines(&st, &set, svc.is_some(), db.now()),
            fields,
            offsite: destinations.iter().any(|d| d.offsite),
            destinations,
        },
    ))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "started" => "Backup started. It runs in the background: reload this page in a minute to see it listed.",
        "created" => "Backup done: it is listed below.",
        "settings" => "Backup settings saved. The schedule and retention use them from the next run.",
        "password" => "Password confirmed: press Download again to get the file (it is asked for again after a few minutes).",
        _ => return None,
    })
}

/// `GET /admin/backups`.
pub async fn show(
    s: BackupOwner,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let shown = Shown {
        notice: q.get("done").and_then(|d| notice_for(d)).map(String::from),
        ..Default::default()
    };
    backups_page(&state, &s, StatusCode::OK, shown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_disk_label() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1_000), "1.0 KB");
        assert_eq!(human_size(1_536), "1.5 KB");
        assert_eq!(human_size(23_400_000), "23.4 MB");
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(human_size(1_200_000_000), "1.2 GB");
    }
}
