//! `s3://` inputs (feature `s3`): an [`Input`] whose path is an object URL
//! is read through `exlibris-object`, streamed with bounded memory; the
//! readers above see a `Read` like a file's.
//!
//! Parquet needs random access: [`ObjectChunks`] is a `ChunkReader` made of
//! ranged GETs, keeping a few windows of [`WINDOW`] bytes (a row group's
//! columns are read in turn), so neither the object nor a spill of it is
//! ever held whole.
use std::io::Read;
use std::path::Path;

use super::{Input, InputKind, SkippedFile};
use crate::error::{Result, ScanError};

/// Whether `path` names an object (`s3://…`) rather than a local file.
pub fn is_object(path: &Path) -> bool {
    path.to_str().is_some_and(exlibris_object::is_url)
}

pub(crate) fn url(path: &Path) -> Result<exlibris_object::ObjectUrl> {
    Ok(path.to_str().unwrap_or_default().parse()?)
}

/// The object, streamed.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    Ok(Box::new(exlibris_object::open(&url(path)?)?))
}

/// Bytes `start..end` of the object, streamed.
pub(crate) fn open_range(path: &Path, start: u64, end: u64) -> Result<Box<dyn Read + Send>> {
    Ok(Box::new(exlibris_object::open_range(&url(path)?, start..end)?))
}

/// The object's first `n` bytes (one ranged GET), for format sniffing.
pub(crate) fn head_bytes(path: &Path, n: u64) -> Result<Vec<u8>> {
    Ok(exlibris_object::read_range(&url(path)?, 0..n)?.to_vec())
}

/// Expand an `s3://` argument: `s3://b/prefix/` (or a key that is no
/// object but has objects under it) is read like a directory, with the same
/// filters and in the same order; `s3://b/key` is one object, read whatever
/// its name, like a file named on the command line. A missing object or
/// prefix, a missing bucket or bad credentials are errors naming the URL.
pub(crate) fn discover(path: &Path, inputs: &mut Vec<Input>, skipped: &mut Vec<SkippedFile>) -> Result<()> {
    let u = url(path)?;
    if !u.key.is_empty() && !u.key.ends_with('/') {
        match exlibris_object::head(&u) {
            Ok(_) => {
                let kind = super::classify(path).unwrap_or(InputKind::Jsonl);
                inputs.push(Input::file(path, kind));
                return Ok(());
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let objects = exlibris_object::list(&u)?;
    if objects.is_empty() {
        return Err(ScanError::Input(format!("{u}: no such object, and no object under this prefix")));
    }
    for o in objects {
        let p = Path::new(&o.url.to_string()).to_path_buf();
        match super::classify(&p) {
            Some(kind) => inputs.push(Input::file(p, kind)),
            None => skipped.push(super::not_corpus(&p)),
        }
    }
    Ok(())
}

/// What identifies an object's content: size, last modification, e_tag.
pub(crate) fn identity(path: &Path) -> Option<(u64, u64, Option<String>)> {
    let o = exlibris_object::head(&url(path).ok()?).ok()?;
    Some((o.size, o.last_modified_ns, o.e_tag))
}

/// Size of an object, or the store's answer (missing, forbidden …).
pub fn stored_size(path: &Path) -> Result<u64> {
    Ok(exlibris_object::head(&url(path)?)?.size)
}

/// Size of an object (0 when it cannot be read), for progress.
pub fn size(path: &Path) -> u64 {
    identity(path).map_or(0, |i| i.0)
}

#[cfg(feature = "parquet")]
pub(crate) use chunks::ObjectChunks;

#[cfg(feature = "parquet")]
mod chunks {
    use std::sync::Mutex;

    use bytes::Bytes;
    use parquet::errors::ParquetError;
    use parquet::file::reader::{ChunkReader, Length};

    use exlibris_object::ObjectUrl;

    /// Bytes fetched per ranged GET (more when a page is bigger).
    pub(crate) const WINDOW: u64 = 8 << 20;
    /// Windows kept: a row group's id, text and URL column chunks.
    const WINDOWS: usize = 4;

    /// A Parquet object read by ranged GETs.
    pub(crate) struct ObjectChunks {
        url: ObjectUrl,
        size: u64,
        windows: Mutex<Vec<(u64, Bytes)>>,
    }

    impl ObjectChunks {
        pub(crate) fn open(url: ObjectUrl) -> crate::Result<ObjectChunks> {
            let size = exlibris_object::head(&url)?.size;
            Ok(ObjectChunks { url, size, windows: Mutex::new(Vec::new()) })
        }

        /// Bytes `start..start + len` (`len: None`: to the end of a window
        /// holding `start`), from a window kept or a new ranged GET.
        fn bytes(&self, start: u64, len: Option<u64>) -> Result<Bytes, ParquetError> {
            let end = (start + len.unwrap_or(0)).min(self.size);
            let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            let held =
                |s: u64, b: &Bytes| s <= start && start < s + b.len() as u64 && end <= s + b.len() as u64;
            if let Some((s, b)) = w.iter().find(|(s, b)| held(*s, b)) {
                let to = if len.is_some() { end } else { s + b.len() as u64 };
                return Ok(b.slice((start - s) as usize..(to - s) as usize));
            }
            let fetch_end = (start + len.unwrap_or(0).max(WINDOW)).min(self.size);
            let b = exlibris_object::read_range(&self.url, start..fetch_end)
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            if w.len() >= WINDOWS {
                w.remove(0);
            }
            w.push((start, b.clone()));
            let to = if len.is_some() { (end - start) as usize } else { b.len() };
            Ok(b.slice(0..to.min(b.len())))
        }
    }

    impl Length for ObjectChunks {
        fn len(&self) -> u64 {
            self.size
        }
    }

    impl ChunkReader for ObjectChunks {
        type T = ChunkRead;

        fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
            // A reader of the next window: page headers are small, and a
            // header cut by the window's end is read on from a new one.
            let buf = if start < self.size { self.bytes(start, None)? } else { Bytes::new() };
            Ok(ChunkRead { url: self.url.clone(), size: self.size, pos: start, buf })
        }

        fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
            self.bytes(start, Some(length as u64))
        }
    }

    /// A sequential reader from some offset of a Parquet object.
    pub(crate) struct ChunkRead {
        url: ObjectUrl,
        size: u64,
        pos: u64,
        buf: Bytes,
    }

    impl std::io::Read for ChunkRead {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.buf.is_empty() && self.pos < self.size {
                let end = (self.pos + WINDOW).min(self.size);
                self.buf =
                    exlibris_object::read_range(&self.url, self.pos..end).map_err(std::io::Error::other)?;
            }
            let n = out.len().min(self.buf.len());
            out[..n].copy_from_slice(&self.buf.split_to(n));
            self.pos += n as u64;
            Ok(n)
        }
    }
}
