//! The one hex helper: a SHA-256 in lowercase hex, for fingerprints, the
//! ledger's checks and names derived from paths. A leaf: it uses nothing of
//! the crate, so every module may use it.

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes` in lowercase hex: the one hex helper.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    // By hand rather than through `{:x}`: the formatting machinery costs
    // more than the hash on the small files hashed here, at every command.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in Sha256::digest(bytes) {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_in_lowercase_hex_keeps_leading_zeros() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Bytes below 0x10 (0x01, 0x03, 0x00) keep both digits.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
