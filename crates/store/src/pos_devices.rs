//! Paired POS devices: registration with a one-time pairing code, pairing (the code becomes a
//! long-lived device credential), heartbeats, revocation, and the cashier signed in on a device.
//! Codes, credentials and cashier tokens are stored only as SHA-256 hashes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::pos_device_rules::{
    is_pairing_code, normalize_code, PAIRING_ALPHABET, PAIRING_CODE_LEN,
};
use storefort_core::{text, ValidationError};
use storefort_crypto::token::{hash_token, random_token};

use crate::db::{looks_like_id, new_id};
use crate::{Db, StoreError};

/// Cashier sessions on a device (`start_cashier`, `cashier_on_device`, lock, sign-out).
mod cashier;

/// How long a pairing code stays valid.
pub const PAIRING_TTL_MS: i64 = 15 * 60_000;
/// Longest app version a device may report.
pub const APP_VERSION_MAX: usize = 40;

const UNKNOWN_CODE: &str =
    "No device is waiting for this code. Check it, or ask a manager for a new one.";
const EXPIRED_CODE: &str = "This pairing code has expired. Ask a manager for a new one.";

/// A till as the admin pages and the POS API see it (never its secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PosDevice {
    /// Device id.
    pub id: String,
    /// Name staff gave it ("Front till").
    pub name: String,
    /// The stock location it sells from.
    pub location_id: String,
    /// That location's name.
    pub location_name: String,
    /// `pending` (waiting for its code), `active` (paired) or `revoked`.
    pub status: String,
    /// When the current pairing code stops working (pending devices), UTC ms.
    pub pairing_expires_at: Option<i64>,
    /// The cashier signed in (or locked out by idle but still "current").
    pub cashier_id: Option<String>,
    /// Their name.
    pub cashier_name: Option<String>,
    /// Since when they are signed in, UTC ms.
    pub cashier_since: Option<i64>,
    /// Last heartbeat or pairing, UTC ms.
    pub last_seen_at: Option<i64>,
    /// App version it last reported.
    pub app_version: String,
    /// Offline sales it reported waiting to sync.
    pub queued_sales: i64,
    /// Registered, UTC ms.
    pub created_at: i64,
    /// Last paired, UTC ms.
    pub paired_at: Option<i64>,
    /// Revoked, UTC ms.
    pub revoked_at: Option<i64>,
}

/// What a device credential is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceAuth {
    /// A paired device.
    Active(PosDevice),
    /// A device that was revoked: the web layer answers with `Clear-Site-Data`.
    Revoked(PosDevice),
    /// No device has this credential (never paired, or re-paired since).
    Unknown,
}

const DEVICE_COLS: &str = "d.id, d.name, d.location_id, l.name AS location_name, d.status, \
     d.pairing_expires_at, d.cashier_id, u.name AS cashier_name, d.cashier_since, d.last_seen_at, \
     d.app_version, d.queued_sales, d.created_at, d.paired_at, d.revoked_at \
     FROM pos_devices d JOIN locations l ON l.id = d.location_id \
     LEFT JOIN users u ON u.id = d.cashier_id";

fn device(r: &AnyRow) -> Result<PosDevice, sqlx::Error> {
    Ok(PosDevice {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        location_id: r.try_get("location_id")?,
        location_name: r.try_get("location_name")?,
        status: r.try_get("status")?,
        pairing_expires_at: r.try_get("pairing_expires_at")?,
        cashier_id: r.try_get("cashier_id")?,
        cashier_name: r.try_get("cashier_name")?,
        cashier_since: r.try_get("cashier_since")?,
        last_seen_at: r.try_get("last_seen_at")?,
        app_version: r.try_get("app_version")?,
        queued_sales: r.try_get("queued_sales")?,
        created_at: r.try_get("created_at")?,
        paired_at: r.try_get("paired_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

/// A new pairing code: 8 characters of the alphabet from the OS's random generator (via
/// `random_token`, 32 random bytes; 256 is a multiple of 32, so `byte % 32` has no bias).
fn new_code() -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(random_token())
        .map_err(|_| StoreError::state("code", "could not make a pairing code"))?;
    let alphabet = PAIRING_ALPHABET.as_bytes();
    Ok(bytes
        .iter()
        .take(PAIRING_CODE_LEN)
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect())
}

fn app_version(v: &str) -> Result<String, StoreError> {
    Ok(text::optional("app_version", v, APP_VERSION_MAX)?)
}

/// Clears the signed-in cashier (an SQL fragment for `SET`).
const NO_CASHIER: &str =
    "cashier_id = NULL, cashier_token_hash = NULL, cashier_since = NULL, cashier_active_at = NULL";

impl Db {
    /// Register a device (name 1-60 characters, an existing location) -> the device and its
    /// pairing code (valid [`PAIRING_TTL_MS`]). Only the code's hash is stored.
    pub async fn register_device(
        &self,
        name: &str,
        location_id: &str,
        actor: &str,
    ) -> Result<(PosDevice, String), StoreError> {
        let name = text::required("name", name, 60)?;
        if !looks_like_id(location_id) || self.location(location_id).await.is_err() {
            return Err(
                ValidationError::new("location_id", "choose one of the shop's locations").into(),
            );
        }
        let (id, code, now) = (new_id(), new_code()?, self.now());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO pos_devices (id, name, location_id, status, pairing_hash, \
             pairing_expires_at, created_by, created_at) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&name)
        .bind(location_id)
        .bind(hash_token(&code))
        .bind(now + PAIRING_TTL_MS)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((self.pos_device(&id).await?, code))
    }

    /// A new pairing code for a pending or active device. Re-pairing starts at once: the device
    /// is `pending` until the new code is used, so the old credential and any cashier session
    /// stop working now. The old credential's hash is kept until the new code replaces it, so a
    /// device revoked meanwhile is still told to wipe itself. A revoked device is refused (409):
    /// register it again.
    pub async fn new_pairing_code(
        &self,
        device_id: &str,
        actor: &str,
    ) -> Result<String, StoreError> {
        let _ = actor; // the web layer audits who asked; kept for the contract's signature
        let code = new_code()?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "UPDATE pos_devices SET status = 'pending', pairing_hash = $1, pairing_expires_at = $2, \
             {NO_CASHIER} WHERE id = $3 AND status <> 'revoked'"
        ))
        .bind(hash_token(&code))
        .bind(self.now() + PAIRING_TTL_MS)
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            self.pos_device(device_id).await?;
            return Err(StoreError::state(
                "status",
                "This device was revoked; register it again to pair a till.",
            ));
        }
        tx.commit().await?;
        self.withdraw_offline_grants(Some(device_id), None).await?;
        Ok(code)
    }

    /// Use a pairing code: single use (the code's hash is cleared in the same compare-and-swap
    /// that sets the credential, so of two devices using one code exactly one wins), not expired.
    /// Returns the device and its new 256-bit credential.
    pub async fn pair_device(
        &self,
        code: &str,
        app_version_given: &str,
    ) -> Result<(PosDevice, String), StoreError> {
        let version = app_version(app_version_given)?;
        let code = normalize_code(code);
        if !is_pairing_code(&code) {
            return Err(ValidationError::new("code", UNKNOWN_CODE).into());
        }
        let (hash, credential, now) = (hash_token(&code), random_token(), self.now());
        let mut tx = self.begin_write().await?;
        let won: Option<String> = sqlx::query_scalar(&format!(
            "UPDATE pos_devices SET status = 'active', pairing_hash = NULL, \
             pairing_expires_at = NULL, credential_hash = $1, paired_at = $2, last_seen_at = $2, \
             app_version = $3, {NO_CASHIER} \
             WHERE pairing_hash = $4 AND pairing_expires_at > $2 AND status <> 'revoked' RETURNING id"
        ))
        .bind(hash_token(&credential))
        .bind(now)
        .bind(&version)
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = won else {
            let expired: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT pairing_expires_at FROM pos_devices WHERE pairing_hash = $1",
            )
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match expired {
                Some(_) => StoreError::state("code", EXPIRED_CODE),
                None => ValidationError::new("code", UNKNOWN_CODE).into(),
            });
        };
        tx.commit().await?;
        Ok((self.pos_device(&id).await?, credential))
    }

    /// Look a device credential up by its hash: one indexed query, nothing cached, so a
    /// revocation takes effect on the device's very next request. A revoked device keeps its
    /// credential's hash (it never authenticates again) so it can be told to wipe itself; a
    /// device waiting for a new code (re-pair) is `Unknown` to its old credential.
    pub async fn device_by_credential(&self, token: &str) -> Result<DeviceAuth, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLS} WHERE d.credential_hash = $1"
        ))
        .bind(hash_token(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(d) = row.as_ref().map(device).transpose()? else {
            return Ok(DeviceAuth::Unknown);
        };
        Ok(match d.status.as_str() {
            "active" => DeviceAuth::Active(d),
            "revoked" => DeviceAuth::Revoked(d),
            _ => DeviceAuth::Unknown,
        })
    }

    /// Heartbeat of a paired device: seen now, its app version (at most 40 characters) and how
    /// many offline sales it still has queued (>= 0).
    pub async fn touch_device(
        &self,
        device_id: &str,
        app_version_given: &str,
        queued: i64,
    ) -> Result<(), StoreError> {
        let version = app_version(app_version_given)?;
        if queued < 0 {
            return Err(ValidationError::new("queued", "must be 0 or more").into());
        }
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE pos_devices SET last_seen_at = $1, app_version = $2, queued_sales = $3 \
             WHERE id = $4 AND status = 'active'",
        )
        .bind(self.now())
        .bind(&version)
        .bind(queued)
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            self.pos_device(device_id).await?;
            return Err(StoreError::state("status", "This device is not paired."));
        }
        Ok(())
    }

    /// Revoke a device for good: its credential stops working (its next request is told to
    /// wipe), the cashier is signed out and any pairing code is void. 409 if already revoked.
    pub async fn revoke_device(
        &self,
        device_id: &str,
        actor: &str,
    ) -> Result<PosDevice, StoreError> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "UPDATE pos_devices SET status = 'revoked', pairing_hash = NULL, \
             pairing_expires_at = NULL, {NO_CASHIER}, revoked_at = $1, revoked_by = $2 \
             WHERE id = $3 AND status <> 'revoked'"
        ))
        .bind(now)
        .bind(actor)
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            self.pos_device(device_id).await?;
            return Err(StoreError::state(
                "status",
                "This device is already revoked.",
            ));
        }
        self.withdraw_offline_grants(Some(device_id), None).await?;
        self.pos_device(device_id).await
    }

    /// Sign the cashier out of a device from the admin pages (the app locks at its next
    /// heartbeat). 409 if nobody is signed in.
    pub async fn sign_out_cashier(&self, device_id: &str) -> Result<PosDevice, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "UPDATE pos_devices SET {NO_CASHIER} WHERE id = $1 AND cashier_id IS NOT NULL"
        ))
        .bind(device_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            self.pos_device(device_id).await?;
            return Err(StoreError::state(
                "cashier",
                "Nobody is signed in on this device.",
            ));
        }
        self.withdraw_offline_grants(Some(device_id), None).await?;
        self.pos_device(device_id).await
    }

    /// Every device: newest first, revoked ones last.
    pub async fn pos_devices(&self) -> Result<Vec<PosDevice>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLS} ORDER BY CASE WHEN d.status = 'revoked' THEN 1 ELSE 0 END, \
             d.created_at DESC, d.id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(device).collect::<Result<_, _>>()?)
    }

    /// One device (404 when unknown).
    pub async fn pos_device(&self, id: &str) -> Result<PosDevice, StoreError> {
        let row = sqlx::query(&format!("SELECT {DEVICE_COLS} WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(device)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("device", id))
    }
}
