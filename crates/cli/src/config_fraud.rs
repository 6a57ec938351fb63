//! The `[fraud]` section: where the optional GeoIP database is. Screening's thresholds, weights
//! and rules are shop settings changed in admin (Fraud screening), not here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Fraud screening's file settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FraudFileConfig {
    /// A GeoIP country database in MaxMind's mmdb format (GeoLite2-Country.mmdb, or DB-IP's
    /// free country database). Turns on the "IP country differs from billing country" signal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geoip_database: Option<PathBuf>,
}

/// Open the configured GeoIP database; a file that cannot be read stops start-up with the
/// reason (a shop that asked for the check should not silently run without it).
pub fn open_geoip(
    cfg: &FraudFileConfig,
) -> Result<Option<std::sync::Arc<storefort_web::geoip::GeoIp>>, String> {
    match &cfg.geoip_database {
        None => Ok(None),
        Some(p) => storefort_web::geoip::GeoIp::open(p)
            .map(|g| Some(std::sync::Arc::new(g)))
            .map_err(|e| format!("fraud.geoip_database: {e}")),
    }
}
