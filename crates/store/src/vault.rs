//! The keyring at the store's boundary: unwraps data keys and customer keys on demand, seals
//! and opens personal fields and secrets, and computes blind indexes. The rest of the code
//! sees plain values; the database sees only ciphertext.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::Row;
use storefort_crypto::chain::ChainKey;
use storefort_crypto::keyring::{self, BlindIndexKey, Kek};
use storefort_crypto::master_key::MasterKey;
use storefort_crypto::seal::SealKey;

use crate::{Db, StoreError};

/// How long a node keeps using the active data key it knows before asking the database again
/// (a rotation started elsewhere is picked up within this time).
pub const ACTIVE_KEY_REFRESH: Duration = Duration::from_secs(5);
/// Unwrapped customer keys kept in memory at most; the cache is emptied when full.
const CUSTOMER_KEY_CACHE: usize = 50_000;

/// Unwrapped keys, loaded from the `keyring` table.
#[derive(Debug)]
pub(crate) struct Vault {
    pub kek: Kek,
    /// Legacy `v1.` seal key (TOTP seeds sealed before the keyring existed).
    pub legacy: SealKey,
    pub index: BlindIndexKey,
    data_keys: RwLock<HashMap<String, Arc<SealKey>>>,
    customer_keys: RwLock<HashMap<String, Arc<SealKey>>>,
    active: RwLock<(String, Instant)>,
}

/// Keys of the whole shop, unlocked with the master key.
#[derive(Debug)]
pub(crate) struct Secrets {
    /// Data and customer keys.
    pub vault: Vault,
    /// Keys the audit log's hash chain.
    pub chain: ChainKey,
    /// Keys the hashes of MFA recovery codes.
    pub codes: ChainKey,
}

/// Where each system key came from the first time: the values derived from the master key
/// before the keyring existed, so audit chains and recovery codes made then stay valid.
fn legacy_system_key(master: &MasterKey, purpose: &str) -> [u8; 32] {
    match purpose {
        "audit-chain" => ChainKey::derive(master).to_bytes(),
        "recovery-codes" => ChainKey::derive_for(master, "recovery-codes").to_bytes(),
        "legacy-seal" => SealKey::derive(master, "staff-secrets").to_bytes(),
        _ => SealKey::generate().to_bytes(),
    }
}

const SYSTEM_KEYS: [&str; 4] = [
    "audit-chain",
    "recovery-codes",
    "legacy-seal",
    "blind-index",
];

impl Db {
    /// Unlock the shop's keys with the master key: check it is the key this database was made
    /// with, create the system keys and a first data key on first use, and load them. The
    /// database must be migrated. A wrong key is refused with a clear error; nothing is written.
    pub async fn with_master_key(mut self, master: &MasterKey) -> Result<Db, StoreError> {
        let kek = Kek::of(master);
        let other: Option<String> =
            sqlx::query_scalar("SELECT master_id FROM keyring WHERE master_id <> $1 LIMIT 1")
                .bind(kek.master_id())
                .fetch_optional(&self.pool)
                .await?;
        if let Some(found) = other {
            return Err(StoreError::WrongMasterKey {
                expected: found,
                given: kek.master_id().to_string(),
            });
        }
        let now = self.now();
        for purpose in SYSTEM_KEYS {
            let id = format!("sys-{purpose}");
            let key = SealKey::from_bytes(legacy_system_key(master, purpose));
            sqlx::query(
                "INSERT INTO keyring (id, purpose, wrapped, master_id, state, created_at) \
                 VALUES ($1, $2, $3, $4, 'active', $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(purpose)
            .bind(kek.wrap(&id, &key)?)
            .bind(kek.master_id())
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        let mut system = HashMap::new();
        for row in sqlx::query("SELECT id, purpose, wrapped FROM keyring WHERE id LIKE 'sys-%'")
            .fetch_all(&self.pool)
            .await?
        {
            let id: String = row.try_get("id")?;
            let wrapped: String = row.try_get("wrapped")?;
            system.insert(
                row.try_get::<String, _>("purpose")?,
                kek.unwrap_key(&id, &wrapped)?,
            );
        }
        let take = |p: &str| {
            system
                .get(p)
                .map(|k| k.to_bytes())
                .ok_or(StoreError::NoKeys)
        };
        let vault = Vault {
            legacy: SealKey::from_bytes(take("legacy-seal")?),
            index: BlindIndexKey::from_key(&SealKey::from_bytes(take("blind-index")?)),
            kek,
            data_keys: Default::default(),
            customer_keys: Default::default(),
            active: RwLock::new((String::new(), Instant::now())),
        };
        self.secrets = Some(Arc::new(Secrets {
            chain: ChainKey::from_bytes(take("audit-chain")?),
            codes: ChainKey::from_bytes(take("recovery-codes")?),
            vault,
        }));
        if self.active_data_key_id().await?.is_none() {
            self.create_data_key().await?;
        }
        self.refresh_active_key().await?;
        Ok(self)
    }

    /// Check, before migrating or writing anything, that `master` is the key this database's
    /// keys were wrapped with. A database without a keyring yet (new, or from before the
    /// vault) accepts any key.
    pub async fn check_master_key(&self, master: &MasterKey) -> Result<(), StoreError> {
        let kek = Kek::of(master);
        let other: Result<Option<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT master_id FROM keyring WHERE master_id <> $1 LIMIT 1")
                .bind(kek.master_id())
                .fetch_optional(&self.pool)
                .await;
        match other {
            Ok(Some(expected)) => Err(StoreError::WrongMasterKey {
                expected,
                given: kek.master_id().to_string(),
            }),
            // No keyring table yet: nothing to compare with.
            Ok(None) | Err(_) => Ok(()),
        }
    }

    pub(crate) fn vault(&self) -> Result<&Vault, StoreError> {
        Ok(&self.secrets()?.vault)
    }

    /// The newest active data key's id, from the database.
    pub(crate) async fn active_data_key_id(&self) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM keyring WHERE purpose = 'data' AND state = 'active' \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Make a new random data key, wrapped under the master key, and make it the active one.
    pub(crate) async fn create_data_key(&self) -> Result<String, StoreError> {
        let vault = self.vault()?;
        let id = keyring::new_key_id("dk");
        let key = SealKey::generate();
        // Refused if the keys were re-wrapped under another master key meanwhile (a node
        // still running with the old key must not add a key the new one cannot open).
        let done = sqlx::query(
            "INSERT INTO keyring (id, purpose, wrapped, master_id, state, created_at) \
             SELECT $1, 'data', $2, $3, 'active', $4 \
             WHERE NOT EXISTS (SELECT 1 FROM keyring WHERE master_id <> $3)",
        )
        .bind(&id)
        .bind(vault.kek.wrap(&id, &key)?)
        .bind(vault.kek.master_id())
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            let expected: String =
                sqlx::query_scalar("SELECT master_id FROM keyring WHERE master_id <> $1 LIMIT 1")
                    .bind(vault.kek.master_id())
                    .fetch_one(&self.pool)
                    .await?;
            return Err(StoreError::WrongMasterKey {
                expected,
                given: vault.kek.master_id().to_string(),
            });
        }
        write(&vault.data_keys).insert(id.clone(), Arc::new(key));
        Ok(id)
    }

    pub(crate) async fn refresh_active_key(&self) -> Result<String, StoreError> {
        let id = self.active_data_key_id().await?.ok_or(StoreError::NoKeys)?;
        *write(&self.vault()?.active) = (id.clone(), Instant::now());
        Ok(id)
    }

    /// The data key new values are sealed with (re-read from the database every few seconds).
    pub(crate) async fn active_key(&self) -> Result<(String, Arc<SealKey>), StoreError> {
        let vault = self.vault()?;
        let (id, at) = read(&vault.active).clone();
        let id = if id.is_empty() || at.elapsed() > ACTIVE_KEY_REFRESH {
            self.refresh_active_key().await?
        } else {
            id
        };
        let key = self.data_key(&id).await?;
        Ok((id, key))
    }

    /// A data key by id, unwrapped (cached after the first use).
    pub(crate) async fn data_key(&self, id: &str) -> Result<Arc<SealKey>, StoreError> {
        let vault = self.vault()?;
        if let Some(k) = read(&vault.data_keys).get(id) {
            return Ok(k.clone());
        }
        let wrapped: Option<Option<String>> =
            sqlx::query_scalar("SELECT wrapped FROM keyring WHERE id = $1 AND purpose = 'data'")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let wrapped = wrapped
            .flatten()
            .ok_or_else(|| StoreError::KeyGone(id.to_string()))?;
        let key = Arc::new(vault.kek.unwrap_key(id, &wrapped)?);
        write(&vault.data_keys).insert(id.to_string(), key.clone());
        Ok(key)
    }

    /// A customer key, unwrapped from the row data the caller already has.
    pub(crate) async fn customer_key_from(
        &self,
        id: &str,
        wrapped: &str,
        wrapped_by: &str,
    ) -> Result<Arc<SealKey>, StoreError> {
        let vault = self.vault()?;
        if let Some(k) = read(&vault.customer_keys).get(id) {
            return Ok(k.clone());
        }
        let parent = self.data_key(wrapped_by).await?;
        let key = Arc::new(keyring::unwrap_with(&parent, id, wrapped)?);
        let mut cache = write(&vault.customer_keys);
        if cache.len() >= CUSTOMER_KEY_CACHE {
            cache.clear();
        }
        cache.insert(id.to_string(), key.clone());
        Ok(key)
    }

    /// Open the sealed `columns` of a row selected with its customer key's `key_id`,
    /// `wrapped` and `wrapped_by`; an erased row (no key) gives empty strings.
    pub(crate) async fn open_row<const N: usize>(
        &self,
        row: &sqlx::any::AnyRow,
        table: &str,
        id: &str,
        columns: [&str; N],
    ) -> Result<[String; N], StoreError> {
        let mut out: [String; N] = std::array::from_fn(|_| String::new());
        let Some(key_id) = row.try_get::<Option<String>, _>("key_id")? else {
            return Ok(out);
        };
        let wrapped: Option<String> = row.try_get("wrapped")?;
        let by: Option<String> = row.try_get("wrapped_by")?;
        // No key row joined: the key is gone, or it is another customer's (the row was pointed
        // at a key that is not its customer's). Either way the values do not open.
        let (Some(wrapped), Some(by)) = (wrapped, by) else {
            return Err(StoreError::Unreadable {
                context: format!(
                    "{table}.{}:{id}",
                    columns.first().copied().unwrap_or("key_id")
                ),
            });
        };
        let key = self.customer_key_from(&key_id, &wrapped, &by).await?;
        for (i, col) in columns.iter().enumerate() {
            let sealed: Option<String> = row.try_get(*col)?;
            out[i] = open_field(&key, sealed.as_deref(), &format!("{table}.{col}:{id}"))?;
        }
        Ok(out)
    }

    /// A customer key by id.
    pub(crate) async fn customer_key(&self, id: &str) -> Result<Arc<SealKey>, StoreError> {
        if let Some(k) = read(&self.vault()?.customer_keys).get(id) {
            return Ok(k.clone());
        }
        let row = sqlx::query("SELECT wrapped, wrapped_by FROM customer_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::KeyGone(id.to_string()))?;
        let wrapped: String = row.try_get("wrapped")?;
        let by: String = row.try_get("wrapped_by")?;
        self.customer_key_from(id, &wrapped, &by).await
    }

    /// A new customer key wrapped under the active data key: (id, key, wrapped, wrapped_by).
    pub(crate) async fn new_customer_key(
        &self,
    ) -> Result<(String, Arc<SealKey>, String, String), StoreError> {
        let (dk_id, dk) = self.active_key().await?;
        let id = keyring::new_key_id("ck");
        let key = SealKey::generate();
        let wrapped = keyring::wrap_under(&dk, &id, &key)?;
        Ok((id, Arc::new(key), wrapped, dk_id))
    }

    /// Forget cached customer keys (after erasure or rotation deleted them).
    pub(crate) fn forget_customer_keys(&self, ids: &[String]) {
        if let Ok(v) = self.vault() {
            let mut cache = write(&v.customer_keys);
            for id in ids {
                cache.remove(id);
            }
        }
    }

    /// Forget destroyed data keys.
    pub(crate) fn forget_data_keys(&self, ids: &[String]) {
        if let Ok(v) = self.vault() {
            let mut cache = write(&v.data_keys);
            for id in ids {
                cache.remove(id);
            }
        }
    }

    /// Keyed blind index of a normalized value (`kind` is `email` or `phone`).
    pub(crate) fn blind_index(&self, kind: &str, normalized: &str) -> Result<String, StoreError> {
        Ok(self.vault()?.index.index(kind, normalized))
    }

    /// Seal a secret (not personal data) under the active data key.
    pub(crate) async fn seal_secret(
        &self,
        plain: &str,
        context: &str,
    ) -> Result<String, StoreError> {
        let (id, key) = self.active_key().await?;
        Ok(keyring::seal(&key, &id, plain.as_bytes(), context)?)
    }

    /// Open a sealed secret: the keyring format, or the first (`v1.`) format.
    pub(crate) async fn open_secret(
        &self,
        sealed: &str,
        context: &str,
    ) -> Result<String, StoreError> {
        let unreadable = || StoreError::Unreadable {
            context: context.to_string(),
        };
        let bytes = match keyring::key_id_of(sealed) {
            Some(id) => keyring::open(&*self.data_key(id).await?, sealed, context)
                .map_err(|_| unreadable())?,
            None => self
                .vault()?
                .legacy
                .open(sealed, context)
                .map_err(|_| unreadable())?,
        };
        String::from_utf8(bytes).map_err(|_| unreadable())
    }

    /// Store a named secret (SMTP password, gateway API key), sealed.
    pub async fn set_secret(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let sealed = self
            .seal_secret(value, &format!("secrets.value:{name}"))
            .await?;
        sqlx::query(
            "INSERT INTO secrets (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(sealed)
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A named secret, opened; `None` if never set.
    pub async fn secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        let sealed: Option<String> =
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        match sealed {
            Some(s) => Ok(Some(
                self.open_secret(&s, &format!("secrets.value:{name}"))
                    .await?,
            )),
            None => Ok(None),
        }
    }
}

impl Db {
    /// Names of the stored secrets (never their values).
    pub async fn secret_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM secrets ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Delete a stored secret; false if there was none.
    pub async fn remove_secret(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM secrets WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Seal a personal field under a customer key.
pub(crate) fn seal_field(
    key: &SealKey,
    key_id: &str,
    plain: &str,
    context: &str,
) -> Result<String, StoreError> {
    Ok(keyring::seal(key, key_id, plain.as_bytes(), context)?)
}

/// Open a personal field; `None` stays `None` (erased).
pub(crate) fn open_field(
    key: &SealKey,
    sealed: Option<&str>,
    context: &str,
) -> Result<String, StoreError> {
    match sealed {
        None => Ok(String::new()),
        Some(s) => {
            let bytes = keyring::open(key, s, context).map_err(|_| StoreError::Unreadable {
                context: context.to_string(),
            })?;
            String::from_utf8(bytes).map_err(|_| StoreError::Unreadable {
                context: context.to_string(),
            })
        }
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
