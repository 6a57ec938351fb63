//! The key hierarchy for data at rest.
//!
//! ```text
//! master key (file, 0600, or STOREFORT_MASTER_KEY)
//!   └─ key-encryption key (derived)          wraps ──┐
//!        data keys  dk-…   (random, stored wrapped) ◄┘  seal secrets, wrap customer keys
//!          customer keys ck-… (random, one per customer, stored wrapped) seal personal data
//!        system keys (audit chain, recovery codes, blind index; stored wrapped)
//! ```
//!
//! Every ciphertext names the key that sealed it (`v2.<key id>.<base64>`), and its associated
//! data binds it to that key id and to the row and column it belongs to, so a value copied to
//! another row, or relabelled with another key id, does not open.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::master_key::MasterKey;
use crate::seal::SealKey;
use crate::CryptoError;

/// Prefix of every value sealed under a keyring key.
pub const PREFIX: &str = "v2.";

/// The key-encryption key: wraps data and system keys; derived from the master key.
#[derive(Debug, Clone)]
pub struct Kek {
    key: SealKey,
    id: String,
}

impl Kek {
    /// The KEK of a master key.
    pub fn of(master: &MasterKey) -> Self {
        let fp = master.derive("master-fingerprint");
        Self {
            key: SealKey::from_bytes(master.derive("kek:v1")),
            id: hex::encode(&fp[..8]),
        }
    }

    /// A short public fingerprint of the master key, stored beside each wrapped key so a wrong
    /// master key is recognised as such (not as corrupt data).
    pub fn master_id(&self) -> &str {
        &self.id
    }

    /// Wrap a key so it can be stored; `key_id` is bound into the ciphertext.
    pub fn wrap(&self, key_id: &str, key: &SealKey) -> Result<String, CryptoError> {
        let raw = self
            .key
            .encrypt(&key.to_bytes(), format!("wrap|{key_id}").as_bytes())?;
        Ok(STANDARD_NO_PAD.encode(raw))
    }

    /// Unwrap a key stored by [`Kek::wrap`].
    pub fn unwrap_key(&self, key_id: &str, wrapped: &str) -> Result<SealKey, CryptoError> {
        unwrap_with(&self.key, key_id, wrapped)
    }
}

/// Wrap a (customer) key under a data key.
pub fn wrap_under(parent: &SealKey, key_id: &str, key: &SealKey) -> Result<String, CryptoError> {
    let raw = parent.encrypt(&key.to_bytes(), format!("wrap|{key_id}").as_bytes())?;
    Ok(STANDARD_NO_PAD.encode(raw))
}

/// Unwrap a key wrapped by [`wrap_under`].
pub fn unwrap_with(parent: &SealKey, key_id: &str, wrapped: &str) -> Result<SealKey, CryptoError> {
    let raw = STANDARD_NO_PAD
        .decode(wrapped)
        .map_err(|_| CryptoError::Seal)?;
    let bytes = parent.decrypt(&raw, format!("wrap|{key_id}").as_bytes())?;
    let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Seal)?;
    Ok(SealKey::from_bytes(arr))
}

/// A new key id with a prefix (`dk`, `ck`): random, no dots.
pub fn new_key_id(prefix: &str) -> String {
    let mut b = [0u8; 9];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    format!("{prefix}-{}", hex::encode(b))
}

/// Seal `plain` under `key` (named `key_id`) for `context` (`table.column:row`).
pub fn seal(
    key: &SealKey,
    key_id: &str,
    plain: &[u8],
    context: &str,
) -> Result<String, CryptoError> {
    let raw = key.encrypt(plain, aad(key_id, context).as_bytes())?;
    Ok(format!("{PREFIX}{key_id}.{}", STANDARD_NO_PAD.encode(raw)))
}

/// Open a value from [`seal`] with the key its header names (the caller looked it up with
/// [`key_id_of`]).
pub fn open(key: &SealKey, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
    let (key_id, body) = split(sealed).ok_or(CryptoError::Seal)?;
    let raw = STANDARD_NO_PAD
        .decode(body)
        .map_err(|_| CryptoError::Seal)?;
    key.decrypt(&raw, aad(key_id, context).as_bytes())
}

/// The key id a sealed value names, if it is in this format.
pub fn key_id_of(sealed: &str) -> Option<&str> {
    split(sealed).map(|(id, _)| id)
}

fn split(sealed: &str) -> Option<(&str, &str)> {
    sealed.strip_prefix(PREFIX)?.split_once('.')
}

fn aad(key_id: &str, context: &str) -> String {
    format!("v2|{key_id}|{context}")
}

/// The blind-index key: keyed hashes of normalized emails and phones, so lookups work without
/// storing the values. Separate from every encryption key.
#[derive(Clone)]
pub struct BlindIndexKey([u8; 32]);

impl std::fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindIndexKey(<redacted>)")
    }
}

impl BlindIndexKey {
    /// From stored key material.
    pub fn from_key(key: &SealKey) -> Self {
        Self(key.to_bytes())
    }

    /// HMAC-SHA256 over `kind` and the already-normalized `value`, hex.
    pub fn index(&self, kind: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_names_its_key_and_binds_the_row() {
        let k = SealKey::generate();
        let s = seal(&k, "ck-1", b"Ann Example", "customers.name:1").unwrap();
        assert!(s.starts_with("v2.ck-1."));
        assert_eq!(key_id_of(&s), Some("ck-1"));
        assert_eq!(open(&k, &s, "customers.name:1").unwrap(), b"Ann Example");
        assert!(open(&k, &s, "customers.name:2").is_err(), "moved row");
        assert!(open(&k, &s, "customers.email:1").is_err(), "moved column");
        let relabelled = s.replacen("ck-1", "ck-2", 1);
        assert!(open(&k, &relabelled, "customers.name:1").is_err());
        assert!(open(&SealKey::generate(), &s, "customers.name:1").is_err());
        assert!(key_id_of("v1.abc").is_none());
    }

    #[test]
    fn wrapping_needs_the_right_master_and_id() {
        let m = MasterKey::generate();
        let kek = Kek::of(&m);
        let dk = SealKey::generate();
        let w = kek.wrap("dk-1", &dk).unwrap();
        assert_eq!(
            kek.unwrap_key("dk-1", &w).unwrap().to_bytes(),
            dk.to_bytes()
        );
        assert!(kek.unwrap_key("dk-2", &w).is_err());
        let other = Kek::of(&MasterKey::generate());
        assert!(other.unwrap_key("dk-1", &w).is_err());
        assert_ne!(other.master_id(), kek.master_id());
        assert_eq!(Kek::of(&m).master_id(), kek.master_id());
        let ck = SealKey::generate();
        let wc = wrap_under(&dk, "ck-9", &ck).unwrap();
        assert_eq!(
            unwrap_with(&dk, "ck-9", &wc).unwrap().to_bytes(),
            ck.to_bytes()
        );
        assert!(new_key_id("dk").starts_with("dk-") && !new_key_id("dk").contains('.'));
    }

    #[test]
    fn blind_index_is_keyed_and_kind_separated() {
        let a = BlindIndexKey::from_key(&SealKey::generate());
        let b = BlindIndexKey::from_key(&SealKey::generate());
        assert_eq!(a.index("email", "ann@x.io"), a.index("email", "ann@x.io"));
        assert_ne!(a.index("email", "ann@x.io"), b.index("email", "ann@x.io"));
        assert_ne!(a.index("email", "1"), a.index("phone", "1"));
        assert!(!a.index("email", "ann@x.io").contains("ann"));
    }
}
