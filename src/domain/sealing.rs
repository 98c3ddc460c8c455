//! Sealing secrets at rest: the JWT signing key and webhook signing secrets are stored
//! encrypted under a key-encryption key (the *master key*), never in clear.
//!
//! A sealed value is text: `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`,
//! encrypted with XChaCha20-Poly1305 under a fresh random 24-byte nonce. The key id
//! names the master key that sealed it (a fingerprint of the key, which reveals
//! nothing about it), so a database sealed with another key is recognised as such and
//! a rotation can tell old values from new. Each value is bound to where it is stored
//! (the *context*, e.g. `webhook_subscriptions/<id>`, passed as associated data), so a
//! sealed value copied into another row does not open.
use std::fmt;

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD},
};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Size of a master key in bytes.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const PREFIX: &str = "sealed:v1:";

/// Why a master key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be {KEY_BYTES} bytes, written as base64 or hex (got {0} bytes)")]
    WrongLength(usize),
    #[error("the master key is neither base64 nor hex")]
    NotEncoded,
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the value is not sealed")]
    NotSealed,
    #[error("the value was sealed with master key {0}, which is not the configured one")]
    UnknownKey(String),
    #[error("the sealed value is damaged, or belongs elsewhere")]
    Inauthentic,
}

/// A key-encryption key. `Debug` shows only its id.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; KEY_BYTES],
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| KeyError::WrongLength(bytes.len()))?;
        let digest = Sha256::new()
            .chain_update(b"redress master key id\0")
            .chain_update(bytes)
            .finalize();
        Ok(Self {
            bytes,
            id: hex::encode(&digest[..8]),
        })
    }

    /// Reads a key written as hex (64 digits) or base64 (standard or URL-safe, padded
    /// or not); surrounding whitespace is ignored (key files end with a newline).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() == 2 * KEY_BYTES
            && let Ok(bytes) = hex::decode(text)
        {
            return Self::from_bytes(&bytes);
        }
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(KeyError::NotEncoded)
            .and_then(|bytes| Self::from_bytes(&bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_bytes(&bytes).expect("a key of the right length")
    }

    /// The key as written to a key file: standard base64.
    pub fn encode(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// The key's fingerprint, stored with every value it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(&self.bytes).expect("a 32-byte key")
    }

    /// Seals `plain` for `context` under a fresh random nonce.
    pub fn seal(&self, plain: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any short message");
        let mut blob = Vec::with_capacity(NONCE_BYTES + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", self.id, STANDARD.encode(blob))
    }

    /// Opens a value this key sealed for `context`.
    pub fn open(&self, stored: &str, context: &str) -> Result<Vec<u8>, OpenError> {
        let (key_id, blob) = split(stored)?;
        if key_id != self.id {
            return Err(OpenError::UnknownKey(key_id.to_owned()));
        }
        let blob = STANDARD.decode(blob).map_err(|_| OpenError::Inauthentic)?;
        if blob.len() < NONCE_BYTES {
            return Err(OpenError::Inauthentic);
        }
        let (nonce, sealed) = blob.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| OpenError::Inauthentic)?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Inauthentic)
    }
}

fn split(stored: &str) -> Result<(&str, &str), OpenError> {
    stored
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once(':'))
        .ok_or(OpenError::NotSealed)
}

/// Whether a stored value is sealed (as opposed to clear text from before sealing).
pub fn is_sealed(stored: &str) -> bool {
    split(stored).is_ok()
}

/// The id of the master key that sealed a value, if it is sealed.
pub fn sealed_with(stored: &str) -> Option<&str> {
    split(stored).ok().map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_and_context_only() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"whsec_abc", "webhook_subscriptions/1");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("whsec_"));
        assert_eq!(sealed_with(&sealed), Some(key.id()));
        assert_eq!(
            key.open(&sealed, "webhook_subscriptions/1").unwrap(),
            b"whsec_abc"
        );
        assert_eq!(
            key.open(&sealed, "webhook_subscriptions/2"),
            Err(OpenError::Inauthentic)
        );
        let other = MasterKey::generate();
        assert_eq!(
            other.open(&sealed, "webhook_subscriptions/1"),
            Err(OpenError::UnknownKey(key.id().to_owned()))
        );
        assert_eq!(key.open("whsec_abc", "x"), Err(OpenError::NotSealed));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = MasterKey::generate();
        assert_ne!(key.seal(b"same", "c"), key.seal(b"same", "c"));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"secret bytes", "c");
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut blob = STANDARD.decode(body).unwrap();
        let last = blob.len() - 1;
        blob[last] ^= 1;
        let tampered = format!("{head}:{}", STANDARD.encode(blob));
        assert_eq!(key.open(&tampered, "c"), Err(OpenError::Inauthentic));
    }

    #[test]
    fn keys_parse_from_base64_and_hex_and_keep_their_id() {
        let key = MasterKey::generate();
        let again = MasterKey::parse(&format!("{}\n", key.encode())).unwrap();
        assert_eq!(again.id(), key.id());
        let hexed = MasterKey::parse(&hex::encode(key.bytes)).unwrap();
        assert_eq!(hexed.id(), key.id());
        assert_eq!(
            MasterKey::parse(&STANDARD.encode([0u8; 16])).unwrap_err(),
            KeyError::WrongLength(16)
        );
        assert_eq!(
            MasterKey::parse("not a key!").unwrap_err(),
            KeyError::NotEncoded
        );
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.encode()), "{shown}");
    }
}
