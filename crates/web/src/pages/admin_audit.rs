//! The audit log page: filters, paging, the hash chain's status, and CSV export. Reading or
//! exporting the log is itself audited (PCI DSS 10.2.1.3: all access to audit logs).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use storefort_store::audit::{AuditEvent, AuditFilter, AuditVerdict};

use super::admin::AdminChrome;
use super::admin_products::Opt;
use super::render::{page, url_with, PageError};
use crate::auth::{perm, Admin};
use crate::middleware::ClientInfo;
use crate::AppState;

pub mod csv_export;

use csv_export::utc_seconds;
pub use csv_export::{iso_utc, safe_cell, CsvExport, CSV_HEADER, CSV_LIMIT};

/// Entries per page.
const PER_PAGE: usize = 100;
/// Longest text filter kept.
const MAX_FILTER: usize = 200;
const DAY_MS: i64 = 86_400_000;
/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(list))
        .route("/admin/audit.csv", get(export))
}

/// The filters as typed (shown back in the form).
#[derive(Debug, Clone, Default)]
struct Typed {
    actor: String,
    action: String,
    outcome: String,
    from: String,
    to: String,
}

impl Typed {
    fn read(params: &HashMap<String, String>) -> Self {
        let get = |k: &str| -> String {
            params
                .get(k)
                .map(|v| v.trim().chars().take(MAX_FILTER).collect())
                .unwrap_or_default()
        };
        Self {
            actor: get("actor"),
            action: get("action"),
            outcome: get("outcome"),
            from: get("from"),
            to: get("to"),
        }
    }

    /// The store filter, or a message naming the field that is wrong.
    fn filter(&self, before: Option<&String>) -> Result<AuditFilter, String> {
        if !matches!(self.outcome.as_str(), "" | "success" | "failure" | "denied") {
            return Err("Outcome: choose success, failure or denied (or any).".into());
        }
        let from = day_start("From", &self.from)?;
        let to = day_start("To", &self.to)?.map(|t| t + DAY_MS);
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err("To: must be on or after the From date.".into());
            }
        }
        let before_seq = match before.map(|b| b.trim()).filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => Some(b.parse::<i64>().ok().filter(|n| *n > 0).ok_or(
                "Older entries: that page link is broken; start again from the newest entries.",
            )?),
        };
        Ok(AuditFilter {
            actor: Some(self.actor.clone()),
            action: Some(self.action.clone()),
            outcome: Some(self.outcome.clone()),
            from,
            to,
            before_seq,
            limit: None,
        })
    }

    /// `path?...` with the non-empty filters (and `extra`).
    fn url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut params: Vec<(&str, &str)> = [
            ("actor", self.actor.as_str()),
            ("action", self.action.as_str()),
            ("outcome", self.outcome.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        params.extend_from_slice(extra);
        if params.is_empty() {
            path.to_string()
        } else {
            url_with(path, &params)
        }
    }

    /// The filters in words, for the audit entry that records this access.
    fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("actor", &self.actor),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
        if parts.is_empty() {
            "no filters".into()
        } else {
            parts.join(" ")
        }
    }
}

/// `YYYY-MM-DD` as the UTC midnight starting that day, in ms; empty is `None`.
fn day_start(field: &str, s: &str) -> Result<Option<i64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    super::render::day_start(s)
        .map(Some)
        .ok_or_else(|| format!("{field}: use a date like 2024-05-31 (UTC)."))
}

struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    ip: String,
    outcome: String,
    details: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    admin: AdminChrome,
    chain_ok: bool,
    chain: String,
    f: Typed,
    outcomes: Vec<Opt>,
    error: Option<String>,
    rows: Vec<Row>,
    csv_url: String,
    older_url: Option<String>,
    retention_days: i64,
}

fn outcome_opts(current: &str) -> Vec<Opt> {
    [
        ("", "Any"),
        ("success", "Success"),
        ("failure", "Failure"),
        ("denied", "Denied"),
    ]
    .iter()
    .map(|(v, l)| Opt {
        value: (*v).into(),
        label: (*l).into(),
        selected: *v == current,
    })
    .collect()
}

/// Record a read of the log; failing to record it refuses the read.
async fn record(
    state: &AppState,
    s: &Admin<perm::Audit>,
    client: &ClientInfo,
    action: &str,
    details: String,
) -> Result<(), PageError> {
    let u = s.user();
    let ev = AuditEvent::new(action, &u.email, &client.ip.to_string())
        .by(u.id.as_str())
        .details(details);
    crate::login::audit(state, ev).await?;
    Ok(())
}

/// `GET /admin/audit`: newest first, 100 a page, filters, and whether the chain holds.
pub async fn list(
    s: Admin<perm::Audit>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let typed = Typed::read(&params);
    let (status, error, rows, older_url) = match typed.filter(params.get("before")) {
        Err(msg) => (StatusCode::BAD_REQUEST, Some(msg), Vec::new(), None),
        Ok(mut filter) => {
            filter.limit = Some(PER_PAGE as i64 + 1);
            let mut entries = state.db.audit_entries(&filter).await?;
            let more = entries.len() > PER_PAGE;
            entries.truncate(PER_PAGE);
            let older = match entries.last() {
                Some(last) if more => {
                    Some(typed.url("/admin/audit", &[("before", &last.seq.to_string())]))
                }
                _ => None,
            };
            let rows = entries
                .into_iter()
                .map(|e| Row {
                    seq: e.seq,
                    at: utc_seconds(e.at),
                    actor: e.actor,
                    action: e.action,
                    target: e.target,
                    ip: e.ip,
                    outcome: e.outcome,
                    details: e.details,
                })
                .collect();
            (StatusCode::OK, None, rows, older)
        }
    };
    // Walks the whole chain: fine for a shop's log at today's sizes.
    let (chain_ok, chain) = match state.db.verify_audit().await? {
        AuditVerdict::Intact { entries } => (true, format!("Chain intact ({entries} entries)")),
        AuditVerdict::Broken { seq, reason } => {
            (false, format!("Chain broken at entry #{seq}: {reason}"))
        }
    };
    if error.is_none() {
        record(&state, &s, &client, "audit.viewed", typed.describe()).await?;
    }
    Ok(page(
        status,
        &AuditPage {
            admin: AdminChrome::new(&state, &s, "audit"),
            chain_ok,
            chain,
            outcomes: outcome_opts(&typed.outcome),
            csv_url: typed.url("/admin/audit.csv", &[]),
            f: typed,
            error,
            rows,
            older_url,
            retention_days: state.db.policy.audit_retention_ms / DAY_MS,
        },
    ))
}

/// `GET /admin/audit.csv`: the newest 10,000 entries matching the same filters, as a download.
pub async fn export(
    s: Admin<perm::Audit>,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let typed = Typed::read(&params);
    let mut filter = typed
        .filter(params.get("before"))
        .map_err(PageError::bad_request)?;
    filter.limit = Some(CSV_LIMIT);
    let entries = state.db.audit_entries(&filter).await?;
    let csv_err = |e: csv::Error| PageError::internal(&e);
    let mut out = CsvExport::new(Vec::new()).map_err(csv_err)?;
    out.write(&entries).map_err(csv_err)?;
    let body = out.finish().map_err(csv_err)?;
    record(
        &state,
        &s,
        &client,
        "audit.exported",
        format!("{} entries as CSV; {}", entries.len(), typed.describe()),
    )
    .await?;
    let stamp: String = iso_utc(state.db.now())
        .chars()
        .filter(char::is_ascii_digit)
        .take(12)
        .collect();
    let disposition = format!("attachment; filename=\"audit-log-{stamp}.csv\"");
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| PageError::internal(&e))?,
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(day_start("From", ""), Ok(None));
        assert_eq!(day_start("From", "1970-01-02"), Ok(Some(DAY_MS)));
        assert_eq!(day_start("From", "2024-02-29"), Ok(Some(1_709_164_800_000)));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-1-01",
            "2024/01/01",
            "+024-01-01",
            "2024-01-01-01",
            "yesterday",
        ] {
            let e = day_start("To", bad).unwrap_err();
            assert!(e.starts_with("To:"), "{bad}: {e}");
        }
    }

    #[test]
    fn filters_check_outcome_order_and_paging() {
        let t = |pairs: &[(&str, &str)]| {
            let p: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let typed = Typed::read(&p);
            typed.filter(p.get("before"))
        };
        assert!(t(&[("outcome", "maybe")])
            .unwrap_err()
            .starts_with("Outcome:"));
        assert!(t(&[("from", "2024-02-02"), ("to", "2024-02-01")])
            .unwrap_err()
            .starts_with("To:"));
        let same_day = t(&[("from", "2024-02-01"), ("to", "2024-02-01")]).unwrap();
        assert_eq!(same_day.to.unwrap() - same_day.from.unwrap(), DAY_MS);
        assert!(t(&[("before", "x")]).is_err());
        assert!(t(&[("before", "-3")]).is_err());
        assert_eq!(t(&[("before", "42")]).unwrap().before_seq, Some(42));
    }
}
