//! Framing of every on-disk component: a versioned header, the body, and a
//! footer with the body's length and checksum.
//!
//! ```text
//! "EXLIBRIS" | kind: 4 bytes | version: u32 LE | body … | body_len: u64 LE | xxh3-64(body): u64 LE | "EXLBEND\0"
//! ```
//! The header is 16 bytes, so a body starts 8-byte aligned in a memory map.
//! A reader checks the magic, the kind, the version, the length and the
//! checksum before it looks at the body: a truncated or corrupt file is
//! refused, never misread.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use xxhash_rust::xxh3::Xxh3;

use crate::error::{IndexError, IoContext, Result};

const MAGIC: &[u8; 8] = b"EXLIBRIS";
const END: &[u8; 8] = b"EXLBEND\0";
/// Bytes before the body.
pub const HEADER_LEN: usize = 16;
/// Bytes after the body.
pub const FOOTER_LEN: usize = 24;

/// Writes one component: header, body (streamed), footer.
pub struct ComponentWriter {
    out: BufWriter<File>,
    hasher: Xxh3,
    len: u64,
    path: PathBuf,
}

impl ComponentWriter {
    /// Create `path` (normally a temporary name) for a component.
    pub fn create(path: &Path, kind: &[u8; 4], version: u32) -> Result<Self> {
        let file = File::create(path).at(path)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC).at(path)?;
        out.write_all(kind).at(path)?;
        out.write_all(&version.to_le_bytes()).at(path)?;
        Ok(ComponentWriter { out, hasher: Xxh3::new(), len: 0, path: path.to_path_buf() })
    }

    /// Append body bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        self.out.write_all(bytes).at(&self.path)
    }

    /// Body bytes written so far.
    pub fn body_len(&self) -> u64 {
        self.len
    }

    /// Write the footer, flush and fsync. Returns the body checksum.
    pub fn finish(mut self) -> Result<u64> {
        let sum = self.hasher.digest();
        self.out.write_all(&self.len.to_le_bytes()).at(&self.path)?;
        self.out.write_all(&sum.to_le_bytes()).at(&self.path)?;
        self.out.write_all(END).at(&self.path)?;
        let file = self.out.into_inner().map_err(|e| e.into_error()).at(&self.path)?;
        file.sync_all().at(&self.path)?;
        Ok(sum)
    }
}

/// The check of a mapped component's checksum, not run yet
/// ([`Component::map`]).
pub struct PendingCheck {
    file: File,
    path: PathBuf,
    len: u64,
    expected: u64,
}

impl PendingCheck {
    /// Read the component's body through its file and compare the checksum
    /// with its footer's.
    pub fn run(&self) -> Result<()> {
        let actual = checksum_of(&self.file, HEADER_LEN as u64, self.len).at(&self.path)?;
        if actual != self.expected {
            return Err(IndexError::Corrupt {
                path: self.path.clone(),
                reason: format!("checksum mismatch (footer {:016x}, content {actual:016x})", self.expected),
            });
        }
        Ok(())
    }
}

/// A component opened for reading: memory-mapped and verified.
pub struct Component {
    map: Mmap,
    /// Checksum of the body, from the footer (verified).
    pub checksum: u64,
    /// Format version from the header.
    pub version: u32,
}

impl Component {
    /// Map and verify `path`, which must hold a component of `kind` with a
    /// version in `versions`.
    pub fn open(path: &Path, kind: &[u8; 4], supported: u32) -> Result<Self> {
        let (c, check) = Self::map(path, kind, supported)?;
        check.run()?;
        Ok(c)
    }

    /// Map `path` and check its header and footer, leaving the check of its
    /// checksum (a read of the whole body) to the caller, who must run it
    /// before trusting anything derived from the body.
    pub fn map(path: &Path, kind: &[u8; 4], supported: u32) -> Result<(Self, PendingCheck)> {
        let file = File::open(path).at(path)?;
        // SAFETY: index files are immutable once published (written under a
        // temporary name, then renamed); nothing writes them while mapped.
        let map = unsafe { Mmap::map(&file) }.at(path)?;
        let corrupt = |reason: String| IndexError::Corrupt { path: path.to_path_buf(), reason };
        if map.len() < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt(format!("file of {} bytes is too short to be a component", map.len())));
        }
        if &map[..8] != MAGIC {
            return Err(corrupt("not an exlibris file (bad magic)".into()));
        }
        if &map[8..12] != kind {
            return Err(corrupt(format!(
                "holds a {:?} component where {:?} was expected",
                String::from_utf8_lossy(&map[8..12]),
                String::from_utf8_lossy(kind)
            )));
        }
        let version = u32::from_le_bytes(map[12..16].try_into().unwrap());
        if version != supported {
            return Err(IndexError::Version { path: path.to_path_buf(), found: version, supported });
        }
        let n = map.len();
        if &map[n - 8..] != END {
            return Err(corrupt("truncated (no footer)".into()));
        }
        let body_len = u64::from_le_bytes(map[n - 24..n - 16].try_into().unwrap());
        let checksum = u64::from_le_bytes(map[n - 16..n - 8].try_into().unwrap());
        if body_len != (n - HEADER_LEN - FOOTER_LEN) as u64 {
            return Err(corrupt(format!(
                "footer says {body_len} body bytes, file holds {}",
                n - HEADER_LEN - FOOTER_LEN
            )));
        }
        // The check reads the body through the file, not the map: it then
        // leaves the pages in the page cache, not in this process's
        // resident set (a scan touches a small part of a large table).
        let check = PendingCheck { file, path: path.to_path_buf(), len: body_len, expected: checksum };
        Ok((Component { map, checksum, version }, check))
    }

    /// The verified body.
    pub fn body(&self) -> &[u8] {
        &self.map[HEADER_LEN..self.map.len() - FOOTER_LEN]
    }
}

/// xxh3-64 of `len` bytes of `file` from `offset`.
fn checksum_of(file: &File, offset: u64, len: u64) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    let mut hasher = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut body = f.take(len);
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.digest())
}

/// Write `bytes` to `path` atomically: a temporary file in the same
/// directory, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).at(dir)?;
    tmp.write_all(bytes).at(tmp.path())?;
    tmp.as_file().sync_all().at(tmp.path())?;
    tmp.persist(path).map_err(|e| e.error).at(path)?;
    sync_dir(dir)
}

/// fsync a directory so that a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_corruption_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.bin");
        let mut w = ComponentWriter::create(&p, b"TEST", 3).unwrap();
        w.write(b"hello body").unwrap();
        let sum = w.finish().unwrap();
        let c = Component::open(&p, b"TEST", 3).unwrap();
        assert_eq!(c.body(), b"hello body");
        assert_eq!(c.checksum, sum);
        assert!(matches!(Component::open(&p, b"TEST", 4), Err(IndexError::Version { found: 3, .. })));
        assert!(matches!(Component::open(&p, b"OTHR", 3), Err(IndexError::Corrupt { .. })));

        let good = std::fs::read(&p).unwrap();
        for cut in [0, 10, good.len() / 2, good.len() - 1] {
            std::fs::write(&p, &good[..cut]).unwrap();
            let err = Component::open(&p, b"TEST", 3).err().expect("truncated file accepted");
            assert!(matches!(err, IndexError::Corrupt { .. }), "{err}");
        }
        let mut flipped = good.clone();
        flipped[HEADER_LEN + 2] ^= 1;
        std::fs::write(&p, &flipped).unwrap();
        let err = Component::open(&p, b"TEST", 3).err().unwrap();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
    }
}
