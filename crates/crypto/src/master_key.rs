//! The master key: 32 random bytes kept in a file readable only by the owner (0600). Data keys
//! for field encryption and keyed hashes are derived from it.

use std::path::Path;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::CryptoError;

/// The root secret. Its Debug output never shows the bytes.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// Derive a 32-byte subkey for one purpose (domain-separated hash of the key and a label).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"storefort-kdf-v1\0");
        h.update(purpose.as_bytes());
        h.update([0]);
        h.update(self.0);
        h.finalize().into()
    }

    /// Read a key file written by [`MasterKey::write_new`].
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let text = std::fs::read_to_string(path).map_err(|source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        })?;
        let bytes = hex::decode(text.trim())
            .map_err(|_| CryptoError::BadKey(path.display().to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey(path.display().to_string()))?;
        Ok(Self(arr))
    }

    /// A key given as 64 hex characters (the `STOREFORT_MASTER_KEY` form); `source` names where
    /// it came from in the error, never the value.
    pub fn from_hex(text: &str, source: &str) -> Result<Self, CryptoError> {
        let bytes =
            hex::decode(text.trim()).map_err(|_| CryptoError::BadKey(source.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKey(source.to_string()))?;
        Ok(Self(arr))
    }

    /// Create a new key file with mode 0600; refuses to overwrite an existing one.
    pub fn write_new(path: &Path) -> Result<Self, CryptoError> {
        let key = Self::generate();
        let io = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(io)?;
        use std::io::Write;
        writeln!(f, "{}", hex::encode(key.0)).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(key)
    }

    /// Load the key at `path`, creating it first if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        if path.exists() {
            Self::load(path)
        } else {
            Self::write_new(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let k = MasterKey::write_new(&path).unwrap();
        let again = MasterKey::load(&path).unwrap();
        assert_eq!(k.derive("x"), again.derive("x"));
        assert_ne!(k.derive("x"), k.derive("y"));
        assert!(MasterKey::write_new(&path).is_err(), "must not overwrite");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{k:?}"), "MasterKey(<redacted>)");
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            MasterKey::load(&path),
            Err(CryptoError::BadKey(_))
        ));
    }
}
