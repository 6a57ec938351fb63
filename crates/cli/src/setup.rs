//! Shared start-up steps: data directory, master key, database, owner account, listeners.

use std::path::Path;

use storefort_core::money::Currency;
use storefort_crypto::master_key::MasterKey;
use storefort_crypto::password;
use storefort_store::audit::AuditEvent;
use storefort_store::Db;
use storefort_web::server::{Certificates, Listeners, Running};
use storefort_web::{AppState, WebConfig};

use crate::config::{Config, TlsMode};

/// Errors at the top of the binary are reported as text.
pub type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Exit status for bad input (unknown email, bad role, missing file): nothing was changed.
pub const BAD_INPUT: u8 = 2;

/// Report bad input on stderr; returns the exit status for it.
pub fn bad_input(message: impl std::fmt::Display) -> std::process::ExitCode {
    eprintln!("error: {message}");
    std::process::ExitCode::from(BAD_INPUT)
}

/// Record an operator's change in the audit log: actor and address are both `cli`.
pub async fn audit_cli(db: &Db, action: &str, target: &str, details: &str) -> CliResult<()> {
    db.audit(
        AuditEvent::new(action, "cli", "cli")
            .on(target)
            .details(details),
    )
    .await?;
    Ok(())
}

/// Create the data directory with mode 0700 (or tighten an existing one we created).
pub fn ensure_data_dir(dir: &Path) -> CliResult<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot set permissions on {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Write a file readable only by its owner (0600).
pub fn write_private(path: &Path, text: &str) -> CliResult<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Open a log file for appending, created 0600.
pub fn open_log_file(path: &Path) -> CliResult<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    Ok(opts
        .open(path)
        .map_err(|e| format!("log.file: cannot open {}: {e}", path.display()))?)
}

/// Load the master key (from `STOREFORT_MASTER_KEY` or the key file); a missing key is refused
/// with a message naming the file and the variable.
pub fn master_key(cfg: &Config) -> CliResult<MasterKey> {
    crate::keyfile::load(cfg)
}

/// Connect to the configured database and apply migrations, then unlock it with the master key
/// (finishing an interrupted master key rotation), attach the erasure ledger and re-apply the
/// erasures an older restored database is missing. A missing or wrong key is refused before
/// anything is written.
pub async fn open_db(cfg: &Config) -> CliResult<Db> {
    let key = master_key(cfg)?;
    let db = Db::connect(&cfg.database_url())
        .await?
        .with_policy(cfg.security.policy());
    let db = match storefort_core::money::Currency::from_code(&cfg.shop.currency) {
        Ok(c) => db.with_currency(c),
        Err(_) => db,
    };
    // A wrong key is refused before migrations touch the database (unless a `.next` key from
    // an interrupted master key rotation is the right one; `unlock` sorts that out).
    if let Err(e) = db.check_master_key(&key).await {
        if !crate::keyfile::next_matches(cfg, &db).await {
            db.pool.close().await;
            return Err(e.into());
        }
    }
    let applied = db.migrate().await?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    let db = match crate::keyfile::unlock(cfg, db.clone()).await {
        Ok(unlocked) => unlocked,
        Err(e) => {
            db.pool.close().await;
            return Err(e);
        }
    };
    let db = db.with_erasure_ledger(cfg.erasure_ledger_path());
    let reapplied = db.reapply_erasures().await?;
    if reapplied > 0 {
        tracing::warn!(
            reapplied,
            ledger = %cfg.erasure_ledger_path().display(),
            "erasures re-applied: the database was older than the erasure ledger"
        );
    }
    Ok(db)
}

/// Create the owner account with a generated strong password; returns the password.
pub async fn create_owner(db: &Db, email: &str, name: &str, shop_name: &str) -> CliResult<String> {
    let pw = password::generate();
    let score =
        password::check_policy(&pw, &[email, name, shop_name]).map_err(|e| e.to_string())?;
    let hash = {
        let pw = pw.clone();
        tokio::task::spawn_blocking(move || password::hash(&pw)).await??
    };
    let user = db.create_user(email, name, "owner", &hash, score).await?;
    audit_cli(
        db,
        "staff.created",
        &user.email,
        "role owner; generated password",
    )
    .await?;
    Ok(pw)
}

/// Give a user a new generated password (ending their sessions); returns it. The demo uses
/// this; `storefort user reset-password` makes a temporary one instead.
pub async fn reset_password(db: &Db, email: &str) -> CliResult<String> {
    let user = db
        .user_by_email(email)
        .await?
        .ok_or_else(|| format!("no user {email}"))?;
    let pw = password::generate();
    let score = password::check_policy(&pw, &[email]).map_err(|e| e.to_string())?;
    let hash = {
        let pw = pw.clone();
        tokio::task::spawn_blocking(move || password::hash(&pw)).await??
    };
    db.set_password(user.id.as_str(), &hash, score).await?;
    audit_cli(
        db,
        "password.reset",
        &user.email,
        "new generated password; every session ended",
    )
    .await?;
    Ok(pw)
}

/// The web layer's settings from the configuration.
pub fn web_config(cfg: &Config) -> CliResult<WebConfig> {
    Ok(WebConfig {
        shop_name: cfg.shop.name.clone(),
        currency: Currency::from_code(&cfg.shop.currency)?,
        https: true,
        trusted_proxies: cfg.server.trusted_proxies.clone(),
        public_url: cfg
            .shop
            .public_url
            .clone()
            .unwrap_or_else(|| public_base(cfg.server.listen)),
        smtp: cfg.smtp.clone(),
        geoip: crate::config_fraud::open_geoip(&cfg.fraud)
            .map_err(crate::config::ConfigError::Invalid)?,
    })
}

/// Certificates as configured.
pub fn certificates(cfg: &Config) -> CliResult<Certificates> {
    use storefort_web::tls;
    Ok(match cfg.tls.mode {
        TlsMode::SelfSigned => {
            let (cert, key) = tls::self_signed(&cfg.data_dir, &cfg.tls.self_signed_names)?;
            let (chain, key) = tls::load_pem(&cert, &key)?;
            Certificates::Fixed(tls::server_config(chain, key)?)
        }
        TlsMode::Files => {
            let (cert, key) = (
                cfg.tls.cert.clone().unwrap_or_default(),
                cfg.tls.key.clone().unwrap_or_default(),
            );
            let (chain, key) = tls::load_pem(&cert, &key)?;
            Certificates::Fixed(tls::server_config(chain, key)?)
        }
        TlsMode::Acme => Certificates::Acme {
            domains: cfg.tls.acme_domains.clone(),
            email: cfg.tls.acme_email.clone().unwrap_or_default(),
            cache_dir: cfg.data_dir.join("acme"),
            production: cfg.tls.acme_production,
        },
    })
}

/// Start every listener for the shop.
pub async fn start(
    cfg: &Config,
    db: Db,
    backups: Option<std::sync::Arc<storefort_backup::service::BackupService>>,
) -> CliResult<Running> {
    let mut web = web_config(cfg)?;
    if let Some(smtp) = web.smtp.as_mut() {
        if smtp.password.is_none() {
            smtp.password = db.secret(crate::secrets_cmd::SMTP_PASSWORD).await?;
        }
    }
    let gateways = cfg
        .payments
        .gateways(&db, &web.public_url)
        .await
        .map_err(|e| crate::config::ConfigError::Invalid(format!("payments: {e}")))?;
    let plugins = crate::plugin_setup::start(cfg, &db, web.smtp.clone()).await?;
    let mut state = AppState::with_gateways(db, web, gateways).with_plugins(plugins);
    if let Some(svc) = backups {
        state = state.with_backups(svc);
    }
    storefort_web::background::spawn_all(&state);
    let app = storefort_web::router(state);
    let on = Listeners {
        https: cfg.server.listen,
        http: cfg.http_listen()?,
        metrics: cfg.metrics_listen()?,
    };
    Ok(storefort_web::server::start(app, certificates(cfg)?, on).await?)
}

/// The URL people type for an address: `localhost` for loopback, as bound otherwise.
pub fn public_base(addr: std::net::SocketAddr) -> String {
    let host = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    if addr.port() == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{}", addr.port())
    }
}

/// Block until Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
