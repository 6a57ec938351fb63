//! Where the master key comes from: `STOREFORT_MASTER_KEY` when set, else the key file (0600,
//! outside the data dir; see [`Config::master_key_path`]). Also finishes or undoes a master-key
//! rotation that was interrupted: `storefort keys rotate-master` writes the new key to
//! `<key file>.next`, re-wraps the database's keys, then renames `.next` over the key file.

use std::path::{Path, PathBuf};

use storefort_crypto::master_key::MasterKey;
use storefort_store::{Db, StoreError};

use crate::config::{Config, MASTER_KEY_ENV};
use crate::setup::CliResult;

/// Where this process takes the master key from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `STOREFORT_MASTER_KEY` environment variable.
    Env,
    /// A key file.
    File(PathBuf),
}

impl KeySource {
    /// The configured source: the environment variable when set (and not empty), else the file.
    pub fn of(cfg: &Config) -> KeySource {
        match std::env::var_os(MASTER_KEY_ENV) {
            Some(v) if !v.is_empty() => KeySource::Env,
            _ => KeySource::File(cfg.master_key_path()),
        }
    }
}

/// `<key file>.next`: the new key while a master-key rotation is under way.
pub fn next_path(key: &Path) -> PathBuf {
    let mut name = key.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    key.with_file_name(name)
}

/// The message for a missing key: which file, and the variable that could hold it instead.
pub fn missing_message(path: &Path) -> String {
    format!(
        "no master key: {} does not exist and {MASTER_KEY_ENV} is not set. Restore the key file \
         from your backup (or set {MASTER_KEY_ENV} to the key's 64 hex characters), or run \
         `storefort init` for a new shop. Nothing was changed.",
        path.display()
    )
}

/// The key's 64 hex characters as stored (for doctor's search of the database).
pub fn key_hex(source: &KeySource) -> Option<String> {
    let text = match source {
        KeySource::Env => std::env::var(MASTER_KEY_ENV).ok()?,
        KeySource::File(p) => std::fs::read_to_string(p).ok()?,
    };
    let hex = text.trim().to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// Load the current master key without changing anything.
pub fn load(cfg: &Config) -> CliResult<MasterKey> {
    match KeySource::of(cfg) {
        KeySource::Env => {
            let text = std::env::var(MASTER_KEY_ENV)
                .map_err(|_| format!("{MASTER_KEY_ENV} is not valid UTF-8"))?;
            Ok(MasterKey::from_hex(&text, MASTER_KEY_ENV).map_err(|_| {
                format!(
                    "{MASTER_KEY_ENV} is not a valid master key: expected 64 hex characters. \
                     Nothing was changed."
                )
            })?)
        }
        KeySource::File(path) => {
            if !path.exists() {
                return Err(missing_message(&path).into());
            }
            Ok(MasterKey::load(&path)?)
        }
    }
}

/// Is there a readable `.next` key (from an interrupted `keys rotate-master`) that this
/// database's keys are wrapped with?
pub async fn next_matches(cfg: &Config, db: &Db) -> bool {
    let KeySource::File(path) = KeySource::of(cfg) else {
        return false;
    };
    match MasterKey::load(&next_path(&path)) {
        Ok(key) => db.check_master_key(&key).await.is_ok(),
        Err(_) => false,
    }
}

/// Unlock the (migrated) database with the master key. A `.next` key left by an interrupted
/// `keys rotate-master` is tried first: if the database already uses it, the rotation is
/// finished by renaming it over the key file; otherwise it is deleted and the current key used.
pub async fn unlock(cfg: &Config, db: Db) -> CliResult<Db> {
    if let KeySource::File(path) = KeySource::of(cfg) {
        let next = next_path(&path);
        if next.exists() {
            if let Some(unlocked) = try_next(&db, &path, &next).await? {
                return Ok(unlocked);
            }
        }
    }
    let key = load(cfg)?;
    Ok(db.with_master_key(&key).await?)
}

async fn try_next(db: &Db, path: &Path, next: &Path) -> CliResult<Option<Db>> {
    // A `.next` key that cannot be read (permissions, a half-written file) is never deleted:
    // the database may already depend on it. Only a key the database refuses is removed.
    let key = MasterKey::load(next).map_err(|e| {
        format!(
            "{} is left from a master key rotation but cannot be read ({e}); the database may \
             already need it. Make it readable by this user (or check it), then start again",
            next.display()
        )
    })?;
    {
        match db.clone().with_master_key(&key).await {
            Ok(unlocked) => {
                std::fs::rename(next, path).map_err(|e| {
                    format!(
                        "cannot finish the master key rotation: renaming {} to {}: {e}",
                        next.display(),
                        path.display()
                    )
                })?;
                tracing::warn!(key = %path.display(), "finished an interrupted master key rotation");
                return Ok(Some(unlocked));
            }
            Err(StoreError::WrongMasterKey { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    std::fs::remove_file(next)
        .map_err(|e| format!("cannot remove the unused {}: {e}", next.display()))?;
    tracing::warn!(
        file = %next.display(),
        "removed the new key of a master key rotation that did not complete; the current key stays"
    );
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_sits_beside_the_key() {
        assert_eq!(
            next_path(Path::new("/etc/sf/master.key")),
            PathBuf::from("/etc/sf/master.key.next")
        );
        let m = missing_message(Path::new("/etc/sf/master.key"));
        assert!(
            m.contains("/etc/sf/master.key") && m.contains(MASTER_KEY_ENV),
            "{m}"
        );
    }
}
