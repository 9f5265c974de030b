//! Provider tokens at rest: sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the
//! server's secret, and bound to their row, so that a copied database or backup does not hand out
//! anyone's Spotify, TMDB or Google session, and a sealed token moved to another row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Marks a sealed value; anything else in the column was written in clear (by another tool, or the
/// reference) and is read as it is.
const PREFIX: &str = "rfv1:";
const NONCE_BYTES: usize = 12;

#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a stored provider token does not open (was the server secret changed?)")]
pub struct Unreadable;

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault")
    }
}

impl Vault {
    pub fn new(server_secret: &[u8]) -> Vault {
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"recofinement"), server_secret);
        let mut key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit of 255 × 32: this cannot fail.
        let _ = hkdf.expand(b"external_service tokens v1", &mut key);
        Vault {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// `bound_to` names the value's place (user, service, column): opening elsewhere fails.
    pub fn seal(&self, clear: &str, bound_to: &str) -> String {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let payload = Payload {
            msg: clear.as_bytes(),
            aad: bound_to.as_bytes(),
        };
        // Encryption fails only for messages of more than 64 GB.
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, stored: &str, bound_to: &str) -> Result<String, Unreadable> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| Unreadable)?;
        if bytes.len() < NONCE_BYTES {
            return Err(Unreadable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Unreadable)?;
        let payload = Payload {
            msg: sealed,
            aad: bound_to.as_bytes(),
        };
        let clear = self
            .cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| Unreadable)?;
        String::from_utf8(clear).map_err(|_| Unreadable)
    }
}

/// Where a token lives, as sealed into it.
pub fn place(user_id: i64, service_name: &str, column: &str) -> String {
    format!("{user_id}/{service_name}/{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_in_their_place_and_under_their_key() {
        let vault = Vault::new(b"0123456789abcdef0123456789abcdef");
        let sealed = vault.seal("BQD-token", "1/Spotify/access_token");
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("BQD-token"));
        assert_ne!(sealed, vault.seal("BQD-token", "1/Spotify/access_token"));
        assert_eq!(
            vault.open(&sealed, "1/Spotify/access_token").as_deref(),
            Ok("BQD-token")
        );
        assert_eq!(
            vault.open(&sealed, "2/Spotify/access_token"),
            Err(Unreadable)
        );
        let other = Vault::new(b"another secret of thirty-two bytes!");
        assert_eq!(
            other.open(&sealed, "1/Spotify/access_token"),
            Err(Unreadable)
        );
        assert_eq!(vault.open("rfv1:%%%", "x"), Err(Unreadable));
    }

    #[test]
    fn tokens_written_in_clear_by_other_tools_are_read_as_they_are() {
        let vault = Vault::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            vault
                .open("plain-session-id", "1/TMDB/access_token")
                .as_deref(),
            Ok("plain-session-id")
        );
    }
}
