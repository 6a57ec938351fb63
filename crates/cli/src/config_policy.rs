//! The policy sections of the configuration: `[security]` (sessions, lockout, audit
//! retention) and `[privacy]` (how long customers' personal data is kept).

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

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

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
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

/// Retention of customers' personal data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Guests (customers without an account) are anonymized after this many months without
    /// activity (24).
    pub guest_retention_months: i64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            guest_retention_months: 24,
        }
    }
}

impl PrivacyConfig {
    /// The guest retention period in milliseconds (a month is 1/12 of 365.25 days).
    pub fn guest_retention_ms(&self) -> i64 {
        self.guest_retention_months * MONTH_MS
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let m = self.guest_retention_months;
        if !(1..=120).contains(&m) {
            return Err(ConfigError::Invalid(format!(
                "privacy.guest_retention_months must be between 1 and 120, not {m}"
            )));
        }
        Ok(())
    }
}

/// An average month, in milliseconds.
const MONTH_MS: i64 = 2_629_800_000;
