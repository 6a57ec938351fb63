//! The audit log's hash chain: each entry's hash is an HMAC-SHA256 (keyed from the master key)
//! over the previous entry's hash and the entry's own fields. Changing, deleting or reordering
//! an entry breaks every link after it, and without the key nobody can forge a new chain.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::master_key::MasterKey;

/// The `prev_hash` of the very first entry.
pub const GENESIS: &str = "genesis";

/// The audit chain's key. Debug never shows it.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(<redacted>)")
    }
}

impl ChainKey {
    /// Derived from the master key.
    pub fn derive(master: &MasterKey) -> Self {
        Self(master.derive("audit-chain"))
    }

    /// A key from stored bytes (the keyring keeps it wrapped under the master key).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for wrapping.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// An HMAC key of the same kind for another purpose (e.g. hashing recovery codes), derived
    /// under its own label so it is independent of the audit chain's key.
    pub fn derive_for(master: &MasterKey, purpose: &str) -> Self {
        Self(master.derive(&format!("hmac:{purpose}")))
    }

    /// The hash of one entry: `prev` and each field, length-prefixed so no two different
    /// entries encode alike.
    pub fn link(&self, prev: &str, fields: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in std::iter::once(prev).chain(fields.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_depend_on_everything() {
        let k = ChainKey::derive(&MasterKey::generate());
        let a = k.link(GENESIS, &["1", "login", "x"]);
        assert_eq!(a, k.link(GENESIS, &["1", "login", "x"]));
        assert_ne!(a, k.link(GENESIS, &["1", "login", "y"]));
        assert_ne!(a, k.link("other", &["1", "login", "x"]));
        assert_ne!(k.link(GENESIS, &["ab", "c"]), k.link(GENESIS, &["a", "bc"]));
        let other = ChainKey::derive(&MasterKey::generate());
        assert_ne!(a, other.link(GENESIS, &["1", "login", "x"]));
    }
}
