//! The per-install key that hashes cell values in the audit chain.
//!
//! A read's audit record says which cells were read and carries a hash of their values,
//! so a value shown later can be matched to the read without the chain holding the value.
//! A plain SHA-256 of a value is no secret, though: one cell's salary is found by hashing
//! every plausible number until one matches (a second's work). So value hashes are
//! HMAC-SHA-256 under a random 32-byte key that each install keeps in its data directory
//! (the bridge creates it, owner-only, and passes it in; the tracker reads no files for
//! it). Without the key, the hash says nothing about the values.
//!
//! Records written before keys existed carry `values_sha256`; keyed ones carry
//! `values_hmac` and `values_key`, the key's id (see [`AuditKey::id`]), so each record says
//! how its hash was made, and the chain's own hashes (which never needed the key) stay
//! valid across the change.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of the key in bytes.
pub const KEY_LEN: usize = 32;

/// What [`AuditKey::id`] is derived from; versioned with the scheme.
const ID_MESSAGE: &[u8] = b"office-bridge audit key id v1";

type HmacSha256 = Hmac<Sha256>;

/// The key. Its `Debug` form shows only its id, so it never lands in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; KEY_LEN]);

/// Why a key file's text is not a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuditKeyError {
    /// Not 64 hex digits.
    #[error("the audit key must be {} hexadecimal characters ({KEY_LEN} bytes); {found}", KEY_LEN * 2)]
    Malformed {
        /// What was found instead, in words (never the text itself).
        found: String,
    },
}

impl AuditKey {
    /// The key with these bytes (the bridge draws a new key from the OS's randomness).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        AuditKey(bytes)
    }

    /// The key from its file's text: 64 hex digits, surrounding whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, AuditKeyError> {
        let t = text.trim();
        if t.len() != KEY_LEN * 2 {
            return Err(AuditKeyError::Malformed {
                found: format!("found {} characters", t.chars().count()),
            });
        }
        let bytes = hex::decode(t).map_err(|_| AuditKeyError::Malformed {
            found: "found characters that are not hexadecimal".to_string(),
        })?;
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(&bytes);
        Ok(AuditKey(key))
    }

    /// The text of the key's file (no newline).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A short public name for the key: the first 8 bytes of HMAC(key, a fixed message),
    /// hex. Records carry it, so a key file can be matched to the records made with it
    /// without revealing anything about the key.
    pub fn id(&self) -> String {
        let mut mac = self.mac();
        mac.update(ID_MESSAGE);
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    /// A fresh HMAC-SHA-256 under this key, for the values of one read.
    pub fn values_hasher(&self) -> ValuesHasher {
        ValuesHasher(self.mac())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length; 32 bytes never fails.
        <HmacSha256 as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id {})", self.id())
    }
}

/// The keyed hash of one read's values, fed in the same length-prefixed encoding the
/// plain hash used.
pub struct ValuesHasher(HmacSha256);

impl ValuesHasher {
    /// Feeds more of the values' encoding into the hash.
    pub fn update(&mut self, bytes: impl AsRef<[u8]>) {
        self.0.update(bytes.as_ref());
    }

    /// Hex of the HMAC.
    pub fn finish(self) -> String {
        hex::encode(self.0.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // Key "Jefe" is shorter than ours; checks the HMAC construction itself.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_parse_print_and_hide_in_debug() {
        let key = AuditKey::from_bytes([0xab; KEY_LEN]);
        let text = key.to_hex();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(AuditKey::parse(&format!("{text}\n")).unwrap(), key);
        assert_eq!(key.id().len(), 16);
        assert_ne!(key.id(), AuditKey::from_bytes([0xac; KEY_LEN]).id());
        let debug = format!("{key:?}");
        assert!(!debug.contains(&text[..16]), "{debug}");
        assert_eq!(
            AuditKey::parse("abc").unwrap_err().to_string(),
            "the audit key must be 64 hexadecimal characters (32 bytes); found 3 characters"
        );
        assert_eq!(
            AuditKey::parse(&"zz".repeat(32)).unwrap_err().to_string(),
            "the audit key must be 64 hexadecimal characters (32 bytes); found characters that are not hexadecimal"
        );
        assert!(AuditKey::parse("").is_err());
    }
}
