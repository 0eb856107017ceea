//! Envelopes between hubs are signed: the pushing hub signs the exact bytes it POSTs with its
//! Ed25519 key (`X-Watchpost-Signature: ed25519=<base64>`), and a hub that holds a peer's public
//! key refuses an envelope from that peer's account that is unsigned, or signed over other
//! bytes, or by another key. Pulls are signed the other way: a hub signs each page of objects
//! it serves to a peer account, and a hub polling a peer whose key it holds refuses a page
//! that is unsigned or signed otherwise (`client::Poller`), storing nothing of it. Keys are
//! exchanged when peers are added (`watchpost peer key`, `watchpost peer add --key`).

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// The header that carries the signature.
pub const HEADER: &str = "x-watchpost-signature";
const SCHEME: &str = "ed25519=";

/// The header value signing `body` with the hub's 32-byte secret.
pub fn sign(secret: &[u8; 32], body: &[u8]) -> String {
    let signature = SigningKey::from_bytes(secret).sign(body);
    format!(
        "{SCHEME}{}",
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
    )
}

/// The public key of a secret, base64, as peers are given it.
pub fn public_key(secret: &[u8; 32]) -> String {
    let key = SigningKey::from_bytes(secret).verifying_key();
    base64::engine::general_purpose::STANDARD.encode(key.to_bytes())
}

/// Why a signature does not hold.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header.
    #[error("the envelope is not signed (expected an {HEADER} header)")]
    Missing,
    /// The header or the key cannot be read.
    #[error("the signature or the peer's key is malformed: {0}")]
    Malformed(String),
    /// The signature is not the key's over these bytes.
    #[error("the signature does not match the envelope and the peer's key")]
    Mismatch,
}

/// Checks the header value `header` over `body` against the base64 public key `public`.
pub fn verify(public: &str, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let signature = header
        .strip_prefix(SCHEME)
        .ok_or_else(|| SignatureError::Malformed(format!("expected {SCHEME}<base64>")))?;
    let signature: [u8; 64] = b64
        .decode(signature)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?
        .try_into()
        .map_err(|_| SignatureError::Malformed("a signature is 64 bytes".into()))?;
    let key: [u8; 32] = b64
        .decode(public)
        .map_err(|e| SignatureError::Malformed(e.to_string()))?
        .try_into()
        .map_err(|_| SignatureError::Malformed("a public key is 32 bytes".into()))?;
    let key =
        VerifyingKey::from_bytes(&key).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    key.verify(body, &Signature::from_bytes(&signature))
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_bytes_and_key_only() {
        let (a, b) = ([7u8; 32], [9u8; 32]);
        let body = br#"{"objects":[]}"#;
        let header = sign(&a, body);
        assert_eq!(verify(&public_key(&a), body, Some(&header)), Ok(()));
        assert_eq!(
            verify(&public_key(&a), br#"{"objects":[1]}"#, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public_key(&b), body, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&public_key(&a), body, None),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify(&public_key(&a), body, Some("hmac=abc")),
            Err(SignatureError::Malformed(_))
        ));
    }
}
