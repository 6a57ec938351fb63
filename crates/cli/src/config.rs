//! Configuration: defaults, then `storefort.toml`, then `STOREFORT_*` environment variables
//! (nested keys with double underscores, e.g. `STOREFORT_SERVER__LISTEN=0.0.0.0:443`).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory holding the database, keys and certificates (mode 0700).
    pub data_dir: PathBuf,
    /// Database settings.
    pub database: DatabaseConfig,
    /// Listeners.
    pub server: ServerConfig,
    /// Certificates.
    pub tls: TlsConfig,
    /// The shop itself.
    pub shop: ShopConfig,
    /// Logging.
    pub log: LogConfig,
    /// Sessions, lockout, audit retention.
    #[serde(default)]
    pub security: SecurityConfig,
    /// Outgoing email (password resets, staff invitations). Absent: links are shown instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<storefort_web::mail::SmtpConfig>,
}

/// Security numbers (defaults follow PCI DSS 4.0 and OWASP ASVS level 2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Admin sessions end after this many idle minutes (15).
    pub session_idle_minutes: i64,
    /// Admin sessions end this many hours after sign-in (12).
    pub session_absolute_hours: i64,
    /// Consecutive failed sign-ins that lock an account (10).
    pub lockout_attempts: i64,
    /// Minutes a locked account stays locked (30).
    pub lockout_minutes: i64,
    /// Failed sign-ins from one address in 15 minutes before it is refused (30).
    pub ip_login_failures: i64,
    /// Days the audit log keeps entries (400).
    pub audit_retention_days: i64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let p = storefort_core::access::SecurityPolicy::default();
        Self {
            session_idle_minutes: p.session_idle_ms / 60_000,
            session_absolute_hours: p.session_absolute_ms / 3_600_000,
            lockout_attempts: p.lockout_threshold,
            lockout_minutes: p.lockout_ms / 60_000,
            ip_login_failures: p.ip_failure_limit,
            audit_retention_days: p.audit_retention_ms / 86_400_000,
        }
    }
}

impl SecurityConfig {
    /// The policy these settings describe.
    pub fn policy(&self) -> storefort_core::access::SecurityPolicy {
        storefort_core::access::SecurityPolicy {
            session_idle_ms: self.session_idle_minutes * 60_000,
            session_absolute_ms: self.session_absolute_hours * 3_600_000,
            lockout_threshold: self.lockout_attempts,
            lockout_ms: self.lockout_minutes * 60_000,
            ip_failure_limit: self.ip_login_failures,
            audit_retention_ms: self.audit_retention_days * 86_400_000,
            ..Default::default()
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let checks = [
            ("session_idle_minutes", self.session_idle_minutes, 1, 15),
            ("session_absolute_hours", self.session_absolute_hours, 1, 24),
            ("lockout_attempts", self.lockout_attempts, 1, 10),
            ("lockout_minutes", self.lockout_minutes, 30, 1440),
            ("ip_login_failures", self.ip_login_failures, 1, 1000),
            ("audit_retention_days", self.audit_retention_days, 365, 3650),
        ];
        for (name, v, lo, hi) in checks {
            if v < lo || v > hi {
                return Err(ConfigError::Invalid(format!(
                    "security.{name} must be between {lo} and {hi} (PCI DSS 4.0 limits), not {v}"
                )));
            }
        }
        Ok(())
    }
}

/// Database settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (default: `storefort.db` in the data dir) or `postgres://USER@HOST/DB`.
    pub url: Option<String>,
}

/// Listeners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// HTTPS address.
    pub listen: SocketAddr,
    /// Plain-HTTP address that only redirects to HTTPS; empty to disable.
    pub http_listen: String,
    /// Prometheus metrics address (loopback only); empty to disable.
    pub metrics_listen: String,
    /// Reverse proxies whose `X-Forwarded-For`/`-Proto` headers are trusted.
    pub trusted_proxies: Vec<IpAddr>,
}

/// How the certificate is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Generated and kept in the data dir; browsers will warn. For localhost and trials.
    SelfSigned,
    /// `cert` and `key` PEM files.
    Files,
    /// Automatic certificates from Let's Encrypt (TLS-ALPN-01 on port 443).
    Acme,
}

/// Certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// `self-signed`, `files` or `acme`.
    pub mode: TlsMode,
    /// Certificate chain PEM (mode `files`).
    pub cert: Option<PathBuf>,
    /// Private key PEM (mode `files`).
    pub key: Option<PathBuf>,
    /// Names for the self-signed certificate.
    pub self_signed_names: Vec<String>,
    /// Domains to certify (mode `acme`).
    pub acme_domains: Vec<String>,
    /// Contact email for the ACME account (mode `acme`).
    pub acme_email: Option<String>,
    /// Use Let's Encrypt production (`false`: staging, for trying things out).
    pub acme_production: bool,
}

/// The shop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    /// Shop name.
    pub name: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// The address customers and staff use (`https://shop.example`), for links in emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `storefort_web=debug,info`.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("storefort-data"),
            database: DatabaseConfig { url: None },
            server: ServerConfig {
                listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
                http_listen: "0.0.0.0:8080".into(),
                metrics_listen: "127.0.0.1:9464".into(),
                trusted_proxies: Vec::new(),
            },
            tls: TlsConfig {
                mode: TlsMode::SelfSigned,
                cert: None,
                key: None,
                self_signed_names: vec!["localhost".into()],
                acme_domains: Vec::new(),
                acme_email: None,
                acme_production: true,
            },
            shop: ShopConfig {
                name: "My Shop".into(),
                currency: "GBP".into(),
                public_url: None,
            },
            log: LogConfig {
                format: "text".into(),
                level: "info".into(),
            },
            security: SecurityConfig::default(),
            smtp: None,
        }
    }
}

/// A configuration problem, explained.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment did not parse.
    #[error("configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    /// A value is wrong.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Load defaults, then the file (if it exists), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Invalid(format!(
                    "{} does not exist; create one with `storefort init`",
                    f.display()
                )));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(
            Env::prefixed("STOREFORT_")
                .split("__")
                .ignore(&["test_postgres_url"]),
        );
        let mut cfg: Config = fig.extract().map_err(Box::new)?;
        if let Some(f) = file {
            // A relative data dir is relative to the config file, not to wherever we were started.
            if cfg.data_dir.is_relative() {
                if let Some(parent) = f.parent() {
                    cfg.data_dir = parent.join(&cfg.data_dir);
                }
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        storefort_core::money::Currency::from_code(&self.shop.currency)
            .map_err(|e| ConfigError::Invalid(format!("shop.currency: {}", e.message)))?;
        if let Some(url) = &self.database.url {
            storefort_store::Backend::from_url(url)
                .map_err(|e| ConfigError::Invalid(format!("database.url: {e}")))?;
        }
        self.http_listen()?;
        self.metrics_listen()?;
        self.security.validate()?;
        match self.tls.mode {
            TlsMode::Files if self.tls.cert.is_none() || self.tls.key.is_none() => Err(
                ConfigError::Invalid("tls.mode = \"files\" needs tls.cert and tls.key".into()),
            ),
            TlsMode::Acme if self.tls.acme_domains.is_empty() || self.tls.acme_email.is_none() => {
                Err(ConfigError::Invalid(
                    "tls.mode = \"acme\" needs tls.acme_domains and tls.acme_email".into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The database URL (SQLite in the data dir unless set).
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("storefort.db").display()),
        }
    }

    /// The master key file.
    pub fn master_key_path(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }

    fn optional_addr(field: &str, v: &str) -> Result<Option<SocketAddr>, ConfigError> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        v.trim().parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!(
                "{field}: {v:?} is not an address like 0.0.0.0:8080"
            ))
        })
    }

    /// The redirect listener's address, if enabled.
    pub fn http_listen(&self) -> Result<Option<SocketAddr>, ConfigError> {
        Self::optional_addr("server.http_listen", &self.server.http_listen)
    }

    /// The metrics listener's address, if enabled.
    pub fn metrics_listen(&self) -> Result<Option<SocketAddr>, ConfigError> {
        Self::optional_addr("server.metrics_listen", &self.server.metrics_listen)
    }
}

/// The commented file `storefort init` writes.
pub fn commented_toml(data_dir: &Path, shop_name: &str, listen: SocketAddr) -> String {
    format!(
        r#"# storefort configuration. Every value can also be set from the environment:
# STOREFORT_<SECTION>__<KEY>, e.g. STOREFORT_SERVER__LISTEN=0.0.0.0:443 (environment wins).

# Holds the SQLite database, the master key and certificates. Keep it mode 0700 and back it up.
data_dir = {data_dir:?}

[database]
# Default: SQLite in the data dir. For several storefort nodes, use PostgreSQL:
# url = "postgres://storefort@db.internal/storefort"

[server]
listen = "{listen}"
# Plain HTTP only redirects to HTTPS. Empty disables it.
http_listen = "0.0.0.0:8080"
# Prometheus metrics, loopback only. Empty disables it.
metrics_listen = "127.0.0.1:9464"
# Reverse proxies allowed to set X-Forwarded-For / X-Forwarded-Proto, e.g. ["10.0.0.2"].
trusted_proxies = []

[tls]
# "self-signed" (browsers warn; fine for trying out), "files" or "acme".
mode = "self-signed"
self_signed_names = ["localhost"]
# mode = "files":
# cert = "/etc/storefort/fullchain.pem"
# key = "/etc/storefort/privkey.pem"
# mode = "acme" (Let's Encrypt; the shop must be reachable on port 443 for TLS-ALPN-01):
# acme_domains = ["shop.example.com"]
# acme_email = "you@example.com"
# acme_production = true

[shop]
name = {shop_name:?}
currency = "GBP"

[log]
# "text" or "json"
format = "text"
level = "info"
"#
    )
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's test jail returns its own large error type
mod tests {
    use super::*;

    #[test]
    fn commented_file_loads_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("storefort.toml");
        std::fs::write(
            &f,
            commented_toml(
                Path::new("data"),
                "Corner Shop",
                "127.0.0.1:9443".parse().unwrap(),
            ),
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            jail.set_env("STOREFORT_SHOP__NAME", "From Env");
            let c = Config::load(Some(&f)).unwrap();
            assert_eq!(c.shop.name, "From Env");
            assert_eq!(c.server.listen.port(), 9443);
            assert_eq!(c.data_dir, dir.path().join("data"));
            assert!(c.database_url().starts_with("sqlite://"));
            jail.set_env("STOREFORT_SHOP__CURRENCY", "XXX");
            let e = Config::load(Some(&f)).unwrap_err();
            assert!(e.to_string().contains("shop.currency"), "{e}");
            Ok(())
        });
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
    }

    #[test]
    fn bad_values_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("STOREFORT_DATABASE__URL", "mysql://x");
            let e = Config::load(None).unwrap_err();
            assert!(e.to_string().contains("database.url"), "{e}");
            jail.set_env("STOREFORT_DATABASE__URL", "sqlite://x.db");
            jail.set_env("STOREFORT_SERVER__HTTP_LISTEN", "nope");
            assert!(Config::load(None)
                .unwrap_err()
                .to_string()
                .contains("http_listen"));
            Ok(())
        });
    }
}
