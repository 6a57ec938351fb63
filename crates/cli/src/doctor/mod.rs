//! `storefort doctor`: the merchant's security checklist as code.
//!
//! Every check lives in [`registry`]; each one looks at the configuration, the files on disk or
//! the database and says pass, warn or fail, what it found and how to fix it. Later features add
//! their own checks to the registry. Doctor only reads: it never migrates or changes anything.

mod checks_backup;
mod checks_db;
mod checks_files;
mod checks_fraud;
mod checks_gateways;
mod checks_payments;
mod checks_plugins;
mod checks_staff;
mod checks_tls;
mod checks_vault;
mod report;
mod scan;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use storefort_store::Db;

use crate::config::Config;
use crate::keyfile::KeySource;
use crate::setup::CliResult;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Pass,
    /// Works, but should be improved (or could not be verified).
    Warn,
    /// Unsafe or broken: `doctor` exits with status 1.
    Fail,
}

impl Status {
    /// `PASS`, `WARN` or `FAIL`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Outcome.
    pub status: Status,
    /// What was found, in a sentence.
    pub detail: String,
    /// How to fix it (a command or a config key); `None` when it passed.
    pub fix: Option<String>,
}

impl Finding {
    /// A pass.
    pub fn pass(detail: impl Into<String>) -> Self {
        Self {
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A warning with its fix.
    pub fn warn(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A failure with its fix.
    pub fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Everything a check may look at, gathered once.
pub struct Ctx<'a> {
    /// The configuration file doctor was pointed at.
    pub config_path: &'a Path,
    /// The loaded configuration (file plus environment).
    pub cfg: &'a Config,
    /// The database, or why it could not be opened.
    pub db: Result<Db, String>,
    /// Now, Unix seconds.
    pub now: i64,
    /// Where the master key comes from.
    pub key_source: KeySource,
    /// With `--scan`: what the search of the database and the log files found.
    pub scan: Option<scan::Scan>,
}

/// A check's body: looks at the context, reports a finding.
pub type CheckFn = for<'a> fn(&'a Ctx<'a>) -> BoxFuture<'a, Finding>;

/// One item of the checklist.
pub struct Check {
    /// Stable identifier (used in `--json` output and by scripts).
    pub id: &'static str,
    /// Short human title.
    pub title: &'static str,
    /// The check itself.
    pub run: CheckFn,
}

/// A check's result, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Check id.
    pub id: &'static str,
    /// Check title.
    pub title: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it.
    pub fix: Option<String>,
}

/// The checklist, in the order it is printed. Add new checks here.
pub fn registry() -> Vec<Check> {
    vec![
        Check {
            id: "tls",
            title: "TLS certificate",
            run: checks_tls::tls,
        },
        Check {
            id: "hsts",
            title: "HSTS header",
            run: checks_tls::hsts,
        },
        Check {
            id: "http_redirect",
            title: "HTTP to HTTPS redirect",
            run: checks_tls::http_redirect,
        },
        Check {
            id: "config_file_permissions",
            title: "Config file permissions",
            run: checks_files::config_file,
        },
        Check {
            id: "data_dir_permissions",
            title: "Data directory permissions",
            run: checks_files::data_dir,
        },
        Check {
            id: "master_key_file",
            title: "Master key file",
            run: checks_files::master_key,
        },
        Check {
            id: "master_key_location",
            title: "Master key location",
            run: checks_vault::key_location,
        },
        Check {
            id: "database",
            title: "Database",
            run: checks_db::database,
        },
        Check {
            id: "master_key_in_database",
            title: "Master key not in the database",
            run: checks_vault::key_in_database,
        },
        Check {
            id: "data_key_age",
            title: "Data key age",
            run: checks_vault::data_key_age,
        },
        Check {
            id: "key_rotation",
            title: "Data key rotation",
            run: checks_vault::rotation,
        },
        Check {
            id: "smtp_password",
            title: "SMTP password stored encrypted",
            run: checks_vault::smtp_password,
        },
        Check {
            id: "payment_gateways",
            title: "No test-mode payment gateway",
            run: checks_gateways::sandbox,
        },
        Check {
            id: "stripe_secrets",
            title: "Stripe secrets stored encrypted",
            run: checks_gateways::stripe_secrets,
        },
        Check {
            id: "personal_data_encrypted",
            title: "Personal data encrypted",
            run: checks_vault::personal_data,
        },
        Check {
            id: "owner_password",
            title: "Owner account password",
            run: checks_db::owner_password,
        },
        Check {
            id: "mfa",
            title: "Two-step sign-in (MFA)",
            run: checks_staff::mfa,
        },
        Check {
            id: "passwords",
            title: "Staff passwords",
            run: checks_staff::passwords,
        },
        Check {
            id: "unused_accounts",
            title: "Unused staff accounts",
            run: checks_staff::unused_accounts,
        },
        Check {
            id: "audit_chain",
            title: "Audit log chain",
            run: checks_staff::audit_chain,
        },
        Check {
            id: "backup_recent",
            title: "Recent backup",
            run: checks_backup::recent,
        },
        Check {
            id: "backup_offsite",
            title: "Off-site backup destination",
            run: checks_backup::offsite,
        },
        Check {
            id: "backup_verified",
            title: "Backup verified with the kit",
            run: checks_backup::verified,
        },
        Check {
            id: "backup_identity",
            title: "Backup identity not on server",
            run: checks_backup::identity_absent,
        },
        Check {
            id: "fraud_screening",
            title: "Fraud screening on",
            run: checks_fraud::enabled,
        },
        Check {
            id: "held_orders",
            title: "Orders held for a phone check",
            run: checks_fraud::held_orders,
        },
        Check {
            id: "payment_page_fingerprint",
            title: "Payment page unchanged",
            run: checks_payments::fingerprint,
        },
        Check {
            id: "payment_scripts",
            title: "Payment page scripts",
            run: checks_payments::scripts,
        },
        Check {
            id: "plugins_count",
            title: "Plugins enabled",
            run: checks_plugins::count,
        },
        Check {
            id: "plugins_sensitive",
            title: "Plugins with personal data or webhooks",
            run: checks_plugins::sensitive,
        },
        Check {
            id: "plugin_modules",
            title: "Plugin modules as approved",
            run: checks_plugins::modules,
        },
    ]
}

/// The checks only `doctor --scan` runs: they read every row and the log files.
pub fn scan_registry() -> Vec<Check> {
    vec![
        Check {
            id: "card_numbers_database",
            title: "Card numbers in the database",
            run: checks_vault::card_numbers_database,
        },
        Check {
            id: "card_numbers_logs",
            title: "Card numbers in log files",
            run: checks_vault::card_numbers_logs,
        },
    ]
}

/// Run every check (with `scan`, also the searches of the database and the logs) and print the
/// results (text, or JSON with `json`). Exit status 1 if any check failed, else 0.
pub async fn run(config_path: &Path, cfg: &Config, json: bool, scan: bool) -> CliResult<ExitCode> {
    let key_source = KeySource::of(cfg);
    let db = open_db(cfg).await;
    let scan = if scan {
        let hex = crate::keyfile::key_hex(&key_source);
        Some(scan::run(cfg, db.as_ref().ok(), hex.as_deref()).await)
    } else {
        None
    };
    let ctx = Ctx {
        config_path,
        cfg,
        db,
        now: storefort_web::tls::now_secs(),
        key_source,
        scan,
    };
    let mut checks = registry();
    if ctx.scan.is_some() {
        checks.extend(scan_registry());
    }
    let mut results = Vec::new();
    for check in checks {
        let f = (check.run)(&ctx).await;
        results.push(CheckResult {
            id: check.id,
            title: check.title,
            status: f.status,
            detail: f.detail,
            fix: f.fix,
        });
    }
    if let Ok(db) = &ctx.db {
        db.pool.close().await;
    }
    if json {
        println!("{}", report::json(config_path, &results)?);
    } else {
        print!("{}", report::text(config_path, &results));
    }
    let failed = results.iter().any(|r| r.status == Status::Fail);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Connect without creating or migrating anything. With the master key (when this user can
/// read it) the audit chain can be verified; doctor still writes nothing.
async fn open_db(cfg: &Config) -> Result<Db, String> {
    let url = cfg.database_url();
    if let Some(file) = sqlite_file(&url) {
        if !file.exists() {
            return Err(format!("no database file at {}", file.display()));
        }
    }
    match tokio::time::timeout(Duration::from_secs(10), Db::connect(&url)).await {
        Ok(Ok(db)) => {
            let db = db.with_policy(cfg.security.policy());
            Ok(match crate::keyfile::load(cfg) {
                Ok(key) => match db.clone().with_master_key(&key).await {
                    Ok(unlocked) => unlocked,
                    Err(_) => db,
                },
                Err(_) => db,
            })
        }
        Ok(Err(e)) => Err(format!("cannot connect: {e}")),
        Err(_) => Err("no answer from the database within 10 s".into()),
    }
}

/// The file behind a `sqlite://PATH[?options]` URL (not for in-memory databases).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Boxes a finding that needs no waiting, for synchronous checks.
fn ready<'a>(f: Finding) -> BoxFuture<'a, Finding> {
    Box::pin(std::future::ready(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_sqlite_paths_parse() {
        let all: Vec<_> = registry().into_iter().chain(scan_registry()).collect();
        let ids: std::collections::HashSet<_> = all.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(
            sqlite_file("sqlite:///d/s.db?mode=rwc"),
            Some(PathBuf::from("/d/s.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://rel/s.db"),
            Some(PathBuf::from("rel/s.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }
}
