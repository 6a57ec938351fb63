//! Authenticated encryption of small secrets at rest (TOTP seeds now; customer data and gateway
//! keys later): XChaCha20-Poly1305 with a random 192-bit nonce and associated data that binds the
//! ciphertext to its row and column, so a sealed value copied to another row does not open.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::master_key::MasterKey;
use crate::CryptoError;

/// Version tag at the front of every sealed value, so the format can change later.
const TAG: &str = "v1.";

/// A data key for sealing. Debug never shows it.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    /// The data key for one purpose, derived from the master key.
    pub fn derive(master: &MasterKey, purpose: &str) -> Self {
        Self(master.derive(&format!("seal:{purpose}")))
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// A key from its raw bytes (after unwrapping).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for wrapping under another key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Encrypt with a random nonce; returns nonce || ciphertext.
    pub fn encrypt(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = XChaCha20Poly1305::new((&self.0).into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| CryptoError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypt nonce || ciphertext from [`SealKey::encrypt`].
    pub fn decrypt(&self, raw: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if raw.len() <= 24 {
            return Err(CryptoError::Seal);
        }
        let (nonce, ct) = raw.split_at(24);
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Seal)
    }

    /// Encrypt `plain`; `context` (e.g. `users.totp_secret:<id>`) must be given again to open it.
    /// This is the first format (`v1.`), kept for values sealed before the keyring existed.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String, CryptoError> {
        let out = self.encrypt(plain, context.as_bytes())?;
        Ok(format!("{TAG}{}", STANDARD_NO_PAD.encode(out)))
    }

    /// Decrypt a value from [`SealKey::seal`]; fails if it was changed, moved or sealed with
    /// another key.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, CryptoError> {
        let raw = sealed
            .strip_prefix(TAG)
            .and_then(|b| STANDARD_NO_PAD.decode(b).ok())
            .ok_or(CryptoError::Seal)?;
        self.decrypt(&raw, context.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let k = SealKey::derive(&MasterKey::generate(), "t");
        let s = k.seal(b"JBSWY3DPEHPK3PXP", "users.totp:1").unwrap();
        assert!(!s.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(k.open(&s, "users.totp:1").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(k.open(&s, "users.totp:2").is_err(), "moved to another row");
        let other = SealKey::derive(&MasterKey::generate(), "t");
        assert!(other.open(&s, "users.totp:1").is_err(), "other key");
        let mut flipped = s.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(k
            .open(&String::from_utf8(flipped).unwrap(), "users.totp:1")
            .is_err());
        assert!(k.open("garbage", "users.totp:1").is_err());
        assert_ne!(k.seal(b"x", "c").unwrap(), k.seal(b"x", "c").unwrap());
    }
}
