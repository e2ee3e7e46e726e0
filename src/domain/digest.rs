//! The one digest doisoat records: of stored files, reports, tokens and the audit chain.

/// SHA-256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A reader that hashes what passes through it: a file is digested as it is imported,
/// never held whole for it.
pub struct Sha256Reader<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: std::io::Read> Sha256Reader<R> {
    pub fn new(inner: R) -> Self {
        use sha2::Digest;
        Sha256Reader {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    /// Read what is left, then give the digest of everything (lowercase hex).
    pub fn finish(mut self) -> std::io::Result<String> {
        use sha2::Digest;
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(hex::encode(self.hasher.finalize()))
    }
}

impl<R: std::io::Read> std::io::Read for Sha256Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_empty_input_has_the_known_digest() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_partly_read_stream_is_digested_whole() {
        use std::io::Read;
        let text = b"danh sach, 3.350.000 dong".repeat(1000);
        let mut r = super::Sha256Reader::new(&text[..]);
        let mut head = [0u8; 10];
        assert!(r.read_exact(&mut head).is_ok());
        assert_eq!(r.finish().ok(), Some(super::sha256_hex(&text)));
    }
}
