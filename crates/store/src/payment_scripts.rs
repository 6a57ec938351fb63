//! The payment page's script inventory (PCI DSS 6.4.3) and its accepted fingerprint (11.6.1).
//! Every script the card page may load is listed here with its origin, its SHA-384 (as in an
//! SRI `integrity` attribute), why it is needed, the gateway it serves and who approved it. The
//! fingerprint of the page as last accepted by an owner lives in the settings table, together
//! with the list of parts it was made from (so a later change can be described in words).

use base64::Engine;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::ValidationError;

use crate::db::new_id;
use crate::{Db, StoreError};

/// Settings key: the accepted fingerprint (hex SHA-256).
pub const FINGERPRINT_KEY: &str = "payment_page.fingerprint";
/// Settings key: when it was accepted (UTC ms).
pub const FINGERPRINT_AT_KEY: &str = "payment_page.fingerprint_at";
/// Settings key: the parts the accepted fingerprint was made from (JSON object).
pub const MANIFEST_KEY: &str = "payment_page.manifest";
/// Settings key: the latest check's result (JSON, written by the web layer).
pub const LAST_CHECK_KEY: &str = "payment_page.last_check";

const MAX_URL: usize = 2000;
const MAX_REASON: usize = 500;
const COLUMNS: &str = "id, url, origin, sha384, reason, gateway, added_by, created_at";

/// A script the payment page may load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedScript {
    /// Record ID.
    pub id: String,
    /// Full address of the script.
    pub url: String,
    /// Its origin (`https://js.stripe.com`), named in the page's CSP.
    pub origin: String,
    /// Expected content hash, SRI form: `sha384-` and 64 base64 characters.
    pub sha384: String,
    /// Why the payment page needs it (the inventory's justification).
    pub reason: String,
    /// The gateway it belongs to (`stripe`).
    pub gateway: String,
    /// Who approved it (staff email).
    pub added_by: String,
    /// When (UTC ms).
    pub created_at: i64,
}

/// What an owner enters to approve a script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewScript {
    /// Full `https://` address.
    pub url: String,
    /// SHA-384, with or without the `sha384-` prefix.
    pub sha384: String,
    /// Why the payment page needs it.
    pub reason: String,
    /// The gateway it belongs to.
    pub gateway: String,
}

/// The accepted fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFingerprint {
    /// Hex SHA-256.
    pub fingerprint: String,
    /// When it was accepted (UTC ms).
    pub at: i64,
    /// The parts it was made from (JSON), when known.
    pub manifest: Option<String>,
}

fn row(r: &AnyRow) -> Result<ApprovedScript, sqlx::Error> {
    Ok(ApprovedScript {
        id: r.try_get("id")?,
        url: r.try_get("url")?,
        origin: r.try_get("origin")?,
        sha384: r.try_get("sha384")?,
        reason: r.try_get("reason")?,
        gateway: r.try_get("gateway")?,
        added_by: r.try_get("added_by")?,
        created_at: r.try_get("created_at")?,
    })
}

fn bad(field: &str, message: &str) -> ValidationError {
    ValidationError::new(field, message)
}

/// Check a script address and return its origin (`scheme://host[:port]`, lower-case).
/// Only `https://` is accepted, except `http://127.0.0.1` and `http://localhost` (tests). The
/// host may hold only letters, digits, dots and hyphens, so the origin is safe in a CSP header.
pub fn script_origin(url: &str) -> Result<String, ValidationError> {
    const MSG: &str = "enter the script's full https:// address, e.g. https://js.stripe.com/v3/";
    if url.is_empty() || url.len() > MAX_URL {
        return Err(bad("url", MSG));
    }
    let allowed = |c: char| c.is_ascii_graphic() && !"\"'<>\\^`{|}".contains(c);
    if !url.chars().all(allowed) {
        return Err(bad(
            "url",
            "the address has spaces, quotes or other characters that do not belong in it",
        ));
    }
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = if let Some(r) = lower.strip_prefix("https://") {
        ("https", r)
    } else if let Some(r) = lower.strip_prefix("http://") {
        ("http", r)
    } else {
        return Err(bad("url", MSG));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    if !host_ok || !port_ok {
        return Err(bad("url", MSG));
    }
    if scheme == "http" && host != "127.0.0.1" && host != "localhost" {
        return Err(bad(
            "url",
            "the payment page loads scripts only over https:// (plain http:// is allowed only for 127.0.0.1 and localhost, in tests)",
        ));
    }
    Ok(format!("{scheme}://{authority}"))
}

/// Normalise a SHA-384 to SRI form (`sha384-` + base64 of the 48-byte digest); rejects anything
/// else (another algorithm, wrong length, not base64).
pub fn normalize_sha384(s: &str) -> Result<String, ValidationError> {
    let t = s.trim();
    let b64 = t.strip_prefix("sha384-").unwrap_or(t);
    match base64::engine::general_purpose::STANDARD.decode(b64) {
        Ok(d) if d.len() == 48 => Ok(format!("sha384-{b64}")),
        _ => Err(bad(
            "sha384",
            "enter the script's SHA-384 as in an integrity attribute: sha384- followed by 64 base64 characters",
        )),
    }
}

/// Validate what an owner entered; returns the cleaned script and its origin.
pub fn validate_new_script(s: &NewScript) -> Result<(NewScript, String), ValidationError> {
    let url = s.url.trim().to_string();
    let origin = script_origin(&url)?;
    let sha384 = normalize_sha384(&s.sha384)?;
    let reason = s.reason.trim().to_string();
    if reason.is_empty() {
        return Err(bad(
            "reason",
            "say why the payment page needs this script (PCI DSS asks for a reason for each)",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(bad("reason", "keep the reason under 500 characters"));
    }
    let gateway = s.gateway.trim().to_ascii_lowercase();
    let gateway_ok = !gateway.is_empty()
        && gateway.len() <= 40
        && gateway
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !gateway_ok {
        return Err(bad(
            "gateway",
            "name the payment gateway the script is for, e.g. stripe",
        ));
    }
    Ok((
        NewScript {
            url,
            sha384,
            reason,
            gateway,
        },
        origin,
    ))
}

impl Db {
    /// Approve a script for the payment page. Errors: a bad address, hash, reason or gateway
    /// (422 naming the field), the address already approved (conflict on `url`).
    pub async fn approve_script(
        &self,
        s: &NewScript,
        added_by: &str,
    ) -> Result<ApprovedScript, StoreError> {
        let (s, origin) = validate_new_script(s)?;
        let id = new_id();
        let r = sqlx::query(
            "INSERT INTO payment_scripts (id, url, origin, sha384, reason, gateway, added_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&s.url)
        .bind(&origin)
        .bind(&s.sha384)
        .bind(&s.reason)
        .bind(&s.gateway)
        .bind(added_by)
        .bind(self.now())
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => self.payment_script(&id).await,
            Err(e) => match StoreError::from(e) {
                StoreError::Conflict { .. } => Err(StoreError::Conflict {
                    field: "url".into(),
                }),
                other => Err(other),
            },
        }
    }

    /// One approved script.
    pub async fn payment_script(&self, id: &str) -> Result<ApprovedScript, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM payment_scripts WHERE id = $1");
        let r = sqlx::query(&q)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("payment script", id))?;
        Ok(row(&r)?)
    }

    /// Every approved script, by gateway, oldest first.
    pub async fn payment_scripts(&self) -> Result<Vec<ApprovedScript>, StoreError> {
        let q = format!("SELECT {COLUMNS} FROM payment_scripts ORDER BY gateway, created_at, id");
        let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    /// The scripts approved for one gateway, oldest first.
    pub async fn payment_scripts_for(
        &self,
        gateway: &str,
    ) -> Result<Vec<ApprovedScript>, StoreError> {
        let q = format!(
            "SELECT {COLUMNS} FROM payment_scripts WHERE gateway = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&q).bind(gateway).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    /// Take a script off the list; returns what was removed (for the audit entry).
    pub async fn remove_payment_script(&self, id: &str) -> Result<ApprovedScript, StoreError> {
        let s = self.payment_script(id).await?;
        let done = sqlx::query("DELETE FROM payment_scripts WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("payment script", id));
        }
        Ok(s)
    }

    /// The accepted fingerprint, if one was stored.
    pub async fn payment_page_fingerprint(&self) -> Result<Option<StoredFingerprint>, StoreError> {
        let Some(fingerprint) = self.setting(FINGERPRINT_KEY).await? else {
            return Ok(None);
        };
        let at = self
            .setting(FINGERPRINT_AT_KEY)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let manifest = self.setting(MANIFEST_KEY).await?;
        Ok(Some(StoredFingerprint {
            fingerprint,
            at,
            manifest,
        }))
    }

    /// Accept a fingerprint (and the parts it was made from), stamped now, in one transaction.
    pub async fn store_payment_page_fingerprint(
        &self,
        fingerprint: &str,
        manifest: &str,
    ) -> Result<(), StoreError> {
        let ok = fingerprint.len() == 64 && fingerprint.chars().all(|c| c.is_ascii_hexdigit());
        if !ok {
            return Err(bad("fingerprint", "a fingerprint is 64 hexadecimal characters").into());
        }
        let now = self.now().to_string();
        let mut tx = self.begin_write().await?;
        for (k, v) in [
            (FINGERPRINT_KEY, fingerprint),
            (FINGERPRINT_AT_KEY, now.as_str()),
            (MANIFEST_KEY, manifest),
        ] {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_derived_and_only_https_is_accepted() {
        assert_eq!(
            script_origin("https://js.stripe.com/v3/").unwrap(),
            "https://js.stripe.com"
        );
        assert_eq!(
            script_origin("HTTPS://JS.Stripe.com:8443?x=1").unwrap(),
            "https://js.stripe.com:8443"
        );
        assert_eq!(
            script_origin("http://127.0.0.1:4000/s.js").unwrap(),
            "http://127.0.0.1:4000"
        );
        for bad in [
            "",
            "js.stripe.com/v3/",
            "http://js.stripe.com/v3/",
            "ftp://js.stripe.com/x",
            "https:///x.js",
            "https://user@evil.example/x.js",
            "https://evil.example; script-src */x.js",
            "https://a.example/x.js\"",
            "https://a.example:99999/x.js",
            "https://a.example:/x.js",
            "https://-a.example/x.js",
            "https://[::1]/x.js",
        ] {
            let e = script_origin(bad).unwrap_err();
            assert_eq!(e.field, "url", "{bad}");
        }
    }

    #[test]
    fn hashes_must_be_sha384_in_base64() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 48]);
        let sri = format!("sha384-{b64}");
        assert_eq!(normalize_sha384(&b64).unwrap(), sri);
        assert_eq!(normalize_sha384(&format!(" {sri} ")).unwrap(), sri);
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        for bad in [
            String::new(),
            format!("sha256-{short}"),
            format!("sha384-{short}"),
            "sha384-not base64!".to_string(),
        ] {
            assert_eq!(normalize_sha384(&bad).unwrap_err().field, "sha384", "{bad}");
        }
    }

    #[test]
    fn reason_and_gateway_are_required() {
        let ok = NewScript {
            url: " https://js.stripe.com/v3/ ".into(),
            sha384: base64::engine::general_purpose::STANDARD.encode([1u8; 48]),
            reason: " Stripe.js renders the card fields ".into(),
            gateway: "Stripe".into(),
        };
        let (clean, origin) = validate_new_script(&ok).unwrap();
        assert_eq!(clean.url, "https://js.stripe.com/v3/");
        assert_eq!(clean.gateway, "stripe");
        assert_eq!(clean.reason, "Stripe.js renders the card fields");
        assert!(clean.sha384.starts_with("sha384-"));
        assert_eq!(origin, "https://js.stripe.com");
        let no_reason = NewScript {
            reason: "  ".into(),
            ..ok.clone()
        };
        assert_eq!(validate_new_script(&no_reason).unwrap_err().field, "reason");
        let no_gateway = NewScript {
            gateway: "strip e".into(),
            ..ok
        };
        assert_eq!(
            validate_new_script(&no_gateway).unwrap_err().field,
            "gateway"
        );
    }
}
