//! An uploaded file as it arrives: kept in memory while small, moved to an unnamed
//! temporary file (in `TMPDIR`) past `IN_MEMORY` bytes, its SHA-256 taken on the way. A
//! national list (hundreds of MB) is never held in memory whole; the import then reads it
//! from disk as a stream.

use std::io::{Seek, Write};

use sha2::{Digest, Sha256};

use super::source::Input;

/// Files up to this size stay in memory (office lists are a few hundred KB).
pub const IN_MEMORY: usize = 8 * 1024 * 1024;

#[derive(Debug)]
enum Held {
    Memory(Vec<u8>),
    Disk(std::io::BufWriter<std::fs::File>),
}

/// A file being received.
#[derive(Debug)]
pub struct Spool {
    held: Held,
    len: u64,
    hasher: Sha256,
    in_memory: usize,
}

/// A file received whole.
#[derive(Debug)]
pub struct Spooled {
    body: Body,
    len: u64,
    sha256: String,
}

#[derive(Debug)]
enum Body {
    Memory(Vec<u8>),
    Disk(std::fs::File),
}

impl Default for Spool {
    fn default() -> Self {
        Self::new(IN_MEMORY)
    }
}

impl Spool {
    /// Kept in memory up to `in_memory` bytes.
    pub fn new(in_memory: usize) -> Self {
        Spool {
            held: Held::Memory(Vec::new()),
            len: 0,
            hasher: Sha256::new(),
            in_memory,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append the next piece. Written to the page cache in the caller's thread: pieces
    /// are the body's frames (kilobytes), so this does not hold up an async executor.
    pub fn write(&mut self, piece: &[u8]) -> std::io::Result<()> {
        self.hasher.update(piece);
        self.len += piece.len() as u64;
        if let Held::Memory(bytes) = &mut self.held {
            if bytes.len() + piece.len() <= self.in_memory {
                bytes.extend_from_slice(piece);
                return Ok(());
            }
            let mut disk = std::io::BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
            disk.write_all(bytes)?;
            self.held = Held::Disk(disk);
        }
        match &mut self.held {
            Held::Disk(disk) => disk.write_all(piece),
            Held::Memory(_) => Ok(()),
        }
    }

    /// The whole file, ready to read from its start.
    pub fn finish(self) -> std::io::Result<Spooled> {
        let body = match self.held {
            Held::Memory(bytes) => Body::Memory(bytes),
            Held::Disk(disk) => {
                let mut file = disk.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                Body::Disk(file)
            }
        };
        Ok(Spooled {
            body,
            len: self.len,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

impl Spooled {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Whether it went to disk (past `IN_MEMORY`).
    pub fn on_disk(&self) -> bool {
        matches!(self.body, Body::Disk(_))
    }

    /// What the importers read, from its start: the bytes in memory, or the file as a
    /// stream.
    pub fn into_input(self) -> std::io::Result<Input<std::io::BufReader<std::fs::File>>> {
        Ok(match self.body {
            Body::Memory(bytes) => Input::Bytes(bytes),
            Body::Disk(mut file) => {
                // A second reading (`reread`) shares the file's offset.
                file.rewind()?;
                Input::Reader(std::io::BufReader::with_capacity(1 << 20, file))
            }
        })
    }

    /// The same file for another reading, one after the other (never at once: a file on
    /// disk is one handle with one offset, each reading starts by rewinding it). In memory,
    /// a copy (at most `IN_MEMORY` bytes).
    pub fn reread(&self) -> std::io::Result<Spooled> {
        let body = match &self.body {
            Body::Memory(bytes) => Body::Memory(bytes.clone()),
            Body::Disk(file) => Body::Disk(file.try_clone()?),
        };
        Ok(Spooled {
            body,
            len: self.len,
            sha256: self.sha256.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read_all(s: Spooled) -> Vec<u8> {
        match s.into_input() {
            Err(e) => panic!("{e}"),
            Ok(Input::Bytes(b)) => b,
            Ok(Input::Reader(mut r)) => {
                let mut out = Vec::new();
                match r.read_to_end(&mut out) {
                    Ok(_) => out,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }

    /// Small files stay in memory, large ones go to disk; both read back byte for byte,
    /// with the digest of the whole.
    #[test]
    fn a_spool_keeps_every_byte_and_its_digest() {
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for (in_memory, disk) in [(1 << 20, false), (10_000, true), (0, true)] {
            let mut spool = Spool::new(in_memory);
            for piece in body.chunks(7_777) {
                if let Err(e) = spool.write(piece) {
                    panic!("{e}");
                }
            }
            assert_eq!(spool.len(), body.len() as u64);
            let done = match spool.finish() {
                Ok(d) => d,
                Err(e) => panic!("{e}"),
            };
            assert_eq!(done.on_disk(), disk);
            assert_eq!(done.sha256(), crate::domain::digest::sha256_hex(&body));
            // Read again after a first reading: the whole file each time.
            let again = match done.reread() {
                Ok(a) => a,
                Err(e) => panic!("{e}"),
            };
            assert_eq!((again.len(), again.sha256()), (done.len(), done.sha256()));
            assert_eq!(read_all(again), body);
            assert_eq!(read_all(done), body);
        }
        let empty = match Spool::default().finish() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        assert!(empty.is_empty() && !empty.on_disk());
        assert_eq!(empty.sha256(), crate::domain::digest::sha256_hex(b""));
    }
}
