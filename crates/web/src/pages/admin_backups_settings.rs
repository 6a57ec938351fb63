//! The backups page's schedule and retention form: every field at once, each a whole number;
//! a bad value shows the page again (422, the field named by its label and marked, what was
//! typed kept) and saves nothing. Audited: `backup.settings_changed`, saying what changed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_backup::settings::BackupSettings;
use storefort_backup::BackupError;

use super::admin::{checked_form, see_other};
use super::admin_backups::{backup_error, backups_page, BackupOwner, Shown, PAGE};
use super::admin_staff::log;
use super::render::{url_with, FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Audit target of settings changes.
const TARGET: &str = "backup-settings";

/// The settings fields: form name, label, hint.
pub const FIELDS: [(&str, &str, &str); 4] = [
    (
        "interval_minutes",
        "Back up every (minutes)",
        "From 5 to 1440 (once a day). 60 means every hour.",
    ),
    (
        "keep_hourly",
        "Hourly backups kept",
        "The newest backup of each of this many recent hours.",
    ),
    (
        "keep_daily",
        "Daily backups kept",
        "The newest backup of each of this many recent days.",
    ),
    (
        "keep_weekly",
        "Weekly backups kept",
        "The newest backup of each of this many recent weeks. The newest backup is always kept.",
    ),
];

/// What the settings form holds, as typed.
pub struct SettingsForm(pub [String; 4]);

impl SettingsForm {
    pub fn of(s: &BackupSettings) -> Self {
        Self([
            s.interval_minutes.to_string(),
            s.keep_hourly.to_string(),
            s.keep_daily.to_string(),
            s.keep_weekly.to_string(),
        ])
    }

    fn from_form(f: &FormData) -> Self {
        Self(FIELDS.map(|(name, _, _)| f.text(name)))
    }

    /// The settings `old` with the typed values, or the first field that is not a whole number.
    fn settings(&self, old: &BackupSettings) -> Result<BackupSettings, Problem> {
        let mut n = [0u32; 4];
        // Each field's example is its default (60 minutes, 24 hourly, 14 daily, 8 weekly).
        let examples = SettingsForm::of(&BackupSettings::default()).0;
        for (i, (name, label, _)) in FIELDS.iter().enumerate() {
            n[i] = self.0[i].trim().parse().map_err(|_| Problem {
                input: name,
                text: format!("{label}: enter a whole number (like {}).", examples[i]),
            })?;
        }
        let mut new = old.clone();
        new.interval_minutes = n[0];
        new.keep_hourly = n[1];
        new.keep_daily = n[2];
        new.keep_weekly = n[3];
        Ok(new)
    }
}

/// A refused form: the input to mark and what to say.
pub struct Problem {
    /// The form field's name.
    pub input: &'static str,
    /// The message, naming the field by its label.
    pub text: String,
}

/// The settings' refusal (`keep_daily: 2000 is out of range: ...`) as a [`Problem`] on the
/// field it names, by its label.
fn problem_of(msg: &str) -> Problem {
    let named = FIELDS.iter().find(|(name, _, _)| msg.contains(name));
    let Some((input, label, _)) = named else {
        return Problem {
            input: "",
            text: msg.to_string(),
        };
    };
    let rest = msg
        .strip_prefix(input)
        .and_then(|r| r.strip_prefix(": "))
        .unwrap_or(msg);
    Problem {
        input,
        text: format!("{label}: {rest}"),
    }
}

/// `POST /admin/backups/settings`: interval and retention at once. A bad value shows the page
/// again (422, the field named and marked, what was typed kept) and saves nothing. Audited as
/// `backup.settings_changed`, saying what changed.
pub async fn save(
    s: BackupOwner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = SettingsForm::from_form(&f);
    let old = BackupSettings::load(&state.db)
        .await
        .map_err(backup_error)?;
    let checked = form.settings(&old).and_then(|new| match new.validate() {
        Ok(()) => Ok(new),
        Err(BackupError::Invalid(msg)) => Err(problem_of(&msg)),
        Err(e) => Err(Problem {
            input: "",
            text: e.to_string(),
        }),
    });
    let new = match checked {
        Ok(n) => n,
        Err(p) => {
            let shown = Shown {
                problem: Some(p.text),
                typed: Some(form),
                bad_input: p.input,
                ..Default::default()
            };
            let refused = StatusCode::UNPROCESSABLE_ENTITY;
            return backups_page(&state, &s, refused, shown).await;
        }
    };
    new.save(&state.db).await.map_err(backup_error)?;
    let changed: Vec<String> = FIELDS
        .iter()
        .zip(SettingsForm::of(&old).0)
        .zip(SettingsForm::of(&new).0)
        .filter(|((_, a), b)| a != b)
        .map(|(((name, _, _), a), b)| format!("{name} {a} -> {b}"))
        .collect();
    let details = if changed.is_empty() {
        "saved unchanged".to_string()
    } else {
        changed.join(", ")
    };
    log(
        &state,
        &s,
        &client,
        "backup.settings_changed",
        TARGET,
        details,
    )
    .await?;
    Ok(see_other(&url_with(PAGE, &[("done", "settings")])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_marks_the_field_it_names() {
        let p = problem_of("keep_daily: 2000 is out of range: keep 0 to 1000");
        assert_eq!(p.input, "keep_daily");
        assert_eq!(
            p.text,
            "Daily backups kept: 2000 is out of range: keep 0 to 1000"
        );
        let p = problem_of("something else");
        assert_eq!((p.input, p.text.as_str()), ("", "something else"));
    }
}
