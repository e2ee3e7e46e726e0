//! API tokens: random, shown once, stored only as their SHA-256.

use base64::Engine;

use crate::domain::sha256_hex;

/// 32 random bytes, base64url without padding (43 characters): 256 bits.
pub fn random_base64url() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `ds_` + 32 random bytes, base64url: 256 bits, so a fast hash is enough to store it.
pub fn generate() -> String {
    format!("ds_{}", random_base64url())
}

pub fn hash(token: &str) -> String {
    sha256_hex(token.trim().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with("ds_") && a.len() == 3 + 43, "{a}");
        assert_eq!(hash(&a), hash(&format!(" {a}\n")));
        assert_ne!(hash(&a), hash(&b));
    }
}
