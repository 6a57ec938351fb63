//! Configuration: defaults, then `storefort.toml`, then `STOREFORT_*` environment variables
//! (nested keys with double underscores, e.g. `STOREFORT_SERVER__LISTEN=0.0.0.0:443`).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use crate::config_policy::{PrivacyConfig, SecurityConfig};
pub use crate::config_toml::{backup_toml, commented_toml};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory holding the database and certificates (mode 0700).
    pub data_dir: PathBuf,
    /// The master key file (0600), kept outside the data dir and the database. Default:
    /// `master.key` beside the config file. `STOREFORT_MASTER_KEY` (64 hex characters), when
    /// set, is used instead of any file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
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
    /// How long customers' personal data is kept.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// Payment gateways offered at checkout.
    #[serde(default)]
    pub payments: crate::config_payments::PaymentsConfig,
    /// Fraud screening (the GeoIP database).
    #[serde(default)]
    pub fraud: crate::config_fraud::FraudFileConfig,
    /// Backups: the recipient key they are encrypted to and where they go.
    #[serde(default)]
    pub backup: storefort_backup::settings::BackupConfig,
    /// The config file's directory ("." without one): relative paths are relative to it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// The environment variable that holds the master key instead of a file.
pub const MASTER_KEY_ENV: &str = "STOREFORT_MASTER_KEY";

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
    /// Also write the log to this file (appended, 0600; card numbers and email addresses are
    /// masked). Unset: standard error only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("storefort-data"),
            master_key_file: None,
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
                file: None,
            },
            security: SecurityConfig::default(),
            smtp: None,
            privacy: PrivacyConfig::default(),
            payments: Default::default(),
            fraud: Default::default(),
            backup: Default::default(),
            base_dir: PathBuf::from("."),
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
        // Variables that are not settings: the master key and config path (read elsewhere) and
        // the test and bench switches (`.ci/run` sets STOREFORT_REQUIRE_BROWSER for every test).
        fig = fig.merge(Env::prefixed("STOREFORT_").split("__").ignore(&[
            "test_postgres_url",
            "master_key",
            "config",
            "require_browser",
            "pos_shots",
            "browser_shots",
            "bench_log",
            "require_moto",
            "test_restore_pause_ms",
            "backup_identity",
            "require_wasm_target",
        ]));
        let mut cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.base_dir = PathBuf::from(".");
        if let Some(parent) = file.and_then(Path::parent) {
            // Relative paths are relative to the config file, not to wherever we were started.
            cfg.base_dir = parent.to_path_buf();
            cfg.data_dir = parent.join(&cfg.data_dir);
            cfg.master_key_file = cfg.master_key_file.map(|p| parent.join(p));
            cfg.log.file = cfg.log.file.map(|p| parent.join(p));
            cfg.fraud.geoip_database = cfg.fraud.geoip_database.map(|p| parent.join(p));
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.payments.validate()?;
        storefort_core::money::Currency::from_code(&self.shop.currency)
            .map_err(|e| ConfigError::Invalid(format!("shop.currency: {}", e.message)))?;
        if let Some(url) = &self.database.url {
            storefort_store::Backend::from_url(url)
                .map_err(|e| ConfigError::Invalid(format!("database.url: {e}")))?;
        }
        self.http_listen()?;
        self.metrics_listen()?;
        self.security.validate()?;
        self.privacy.validate()?;
        self.backup
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("backup: {e}")))?;
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

    /// The master key file: `master_key_file`, else `master.key` beside the config file. A shop
    /// made before the key moved out of the data dir keeps its `data_dir/master.key` (doctor
    /// then asks to move it).
    pub fn master_key_path(&self) -> PathBuf {
        if let Some(p) = &self.master_key_file {
            return p.clone();
        }
        let beside = self.base_dir.join("master.key");
        let legacy = self.data_dir.join("master.key");
        if !beside.exists() && legacy.exists() {
            legacy
        } else {
            beside
        }
    }

    /// The erasure ledger: `erasures.log` beside the master key file, outside the data dir and
    /// the database, so restoring an older database leaves it in place.
    pub fn erasure_ledger_path(&self) -> PathBuf {
        let key = self.master_key_path();
        key.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("erasures.log")
    }

    /// Where backups are staged before upload and restores unpack: `.backup-work` in the data
    /// dir (the same filesystem as the database, so the restore's swap is a rename).
    pub fn backup_work_dir(&self) -> PathBuf {
        self.data_dir.join(".backup-work")
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
    fn key_and_log_paths_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("storefort.toml");
        let text = commented_toml(Path::new("data"), "Shop", "127.0.0.1:9443".parse().unwrap());
        std::fs::write(&f, &text).unwrap();
        figment::Jail::expect_with(|_| {
            let c = Config::load(Some(&f)).unwrap();
            assert_eq!(c.master_key_path(), dir.path().join("master.key"));
            assert_eq!(c.erasure_ledger_path(), dir.path().join("erasures.log"));
            assert_eq!(c.privacy.guest_retention_months, 24);
            assert_eq!(c.log.file, None);
            // A shop whose key is still in the data dir keeps using it.
            std::fs::create_dir_all(dir.path().join("data")).unwrap();
            std::fs::write(dir.path().join("data/master.key"), "k").unwrap();
            assert_eq!(c.master_key_path(), dir.path().join("data/master.key"));
            Ok(())
        });
        std::fs::write(
            &f,
            format!(
                "master_key_file = \"keys/m.key\"\n{}",
                text.replace(
                    "level = \"info\"",
                    "level = \"info\"\nfile = \"logs/s.log\""
                )
            ),
        )
        .unwrap();
        figment::Jail::expect_with(|jail| {
            let c = Config::load(Some(&f)).unwrap();
            assert_eq!(c.master_key_path(), dir.path().join("keys/m.key"));
            assert_eq!(
                c.erasure_ledger_path(),
                dir.path().join("keys/erasures.log")
            );
            assert_eq!(c.log.file, Some(dir.path().join("logs/s.log")));
            // The key itself in the environment is not a config setting.
            jail.set_env("STOREFORT_MASTER_KEY", "00");
            assert!(Config::load(Some(&f)).is_ok());
            jail.set_env("STOREFORT_PRIVACY__GUEST_RETENTION_MONTHS", "121");
            let e = Config::load(Some(&f)).unwrap_err().to_string();
            assert!(e.contains("privacy.guest_retention_months"), "{e}");
            Ok(())
        });
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
