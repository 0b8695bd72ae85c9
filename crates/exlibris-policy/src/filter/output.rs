//! Output files of the filter, written under a hidden temporary name and
//! renamed into place only when the whole run has succeeded: a failed run
//! leaves nothing in `keep/` or `quarantine/` that looks like a corpus file
//! (the temporary names start with a dot, which `discover` skips).
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::{Error, Result};

/// How an input is compressed (by its magic bytes), and so its outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    Plain,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// The compression of the file at `path`, by its first bytes.
pub fn compression_of(path: &Path) -> Result<Compression> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    let mut f = File::open(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
    while n < 4 {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(path.display().to_string(), e)),
        }
    }
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::Plain,
    })
}

/// A file being written under a temporary name in its final directory.
pub struct Staged {
    target: PathBuf,
    file: Option<BufWriter<File>>,
    temp: TempPath,
}

impl Staged {
    /// Start writing what will become `target`.
    pub fn create(target: &Path) -> Result<Staged> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let t = tempfile::Builder::new()
            .prefix(".exlibris-filter-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::Io(target.display().to_string(), e))?;
        let (file, temp) = t.into_parts();
        Ok(Staged { target: target.to_path_buf(), file: Some(BufWriter::with_capacity(1 << 20, file)), temp })
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary path (for writers that need a `File`).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Take the open file (a Parquet writer owns it); `finish` still works.
    pub fn take_file(&mut self) -> File {
        let w = self.file.take().expect("file taken once");
        w.into_inner().expect("nothing buffered before take_file")
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::Io(self.target.display().to_string(), e)
    }

    /// Append bytes.
    pub fn write_all(&mut self, b: &[u8]) -> Result<()> {
        let f = self.file.as_mut().expect("file not taken");
        f.write_all(b).map_err(|e| Error::Io(self.target.display().to_string(), e))
    }

    /// Close the file; it is renamed into place by [`Ready::publish`].
    pub fn finish(mut self) -> Result<Ready> {
        if let Some(mut f) = self.file.take() {
            f.flush().map_err(|e| self.io(e))?;
        }
        Ok(Ready { target: self.target, temp: self.temp })
    }
}

/// A complete file waiting to be renamed into place; dropped, it is removed.
pub struct Ready {
    target: PathBuf,
    temp: TempPath,
}

impl Ready {
    /// Rename it into place.
    pub fn publish(self) -> Result<PathBuf> {
        let target = self.target;
        self.temp.persist(&target).map_err(|e| Error::Io(target.display().to_string(), e.error))?;
        Ok(target)
    }
}

/// A record-oriented output in a given compression: gzip and zstd outputs
/// hold one member (frame) per [`Records::record`] call when `per_record`
/// (WARC), else one stream (JSON Lines).
pub struct Records {
    staged: Staged,
    comp: Compression,
    per_record: bool,
    stream: Stream,
}

enum Stream {
    /// Written straight to the staged file.
    Direct,
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Records {
    /// An output for `target`.
    pub fn create(target: &Path, comp: Compression, per_record: bool) -> Result<Records> {
        let mut staged = Staged::create(target)?;
        let stream = if per_record {
            Stream::Direct
        } else {
            match comp {
                Compression::Plain => Stream::Direct,
                Compression::Gzip => Stream::Gzip(flate2::write::GzEncoder::new(
                    BufWriter::with_capacity(1 << 20, staged.take_file()),
                    flate2::Compression::default(),
                )),
                Compression::Zstd => Stream::Zstd(
                    zstd::stream::write::Encoder::new(
                        BufWriter::with_capacity(1 << 20, staged.take_file()),
                        3,
                    )
                    .map_err(|e| Error::Io(target.display().to_string(), e))?,
                ),
            }
        };
        Ok(Records { staged, comp, per_record, stream })
    }

    /// Write one record (its bytes as stored, terminator included).
    pub fn record(&mut self, bytes: &[u8]) -> Result<()> {
        let io = |e| Error::Io(self.staged.target().display().to_string(), e);
        match &mut self.stream {
            Stream::Gzip(s) => return s.write_all(bytes).map_err(io),
            Stream::Zstd(s) => return s.write_all(bytes).map_err(io),
            Stream::Direct => {}
        }
        match (self.comp, self.per_record) {
            (Compression::Gzip, true) => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(bytes).map_err(io)?;
                let member = e.finish().map_err(io)?;
                self.staged.write_all(&member)
            }
            (Compression::Zstd, true) => {
                let frame = zstd::bulk::compress(bytes, 3).map_err(io)?;
                self.staged.write_all(&frame)
            }
            _ => self.staged.write_all(bytes),
        }
    }

    /// Close it (the compressed stream's trailer included).
    pub fn finish(self) -> Result<Ready> {
        let io = |e| Error::Io(self.staged.target().display().to_string(), e);
        match self.stream {
            Stream::Gzip(s) => s.finish().and_then(|mut w| w.flush()).map_err(io)?,
            Stream::Zstd(s) => s.finish().and_then(|mut w| w.flush()).map_err(io)?,
            Stream::Direct => {}
        }
        self.staged.finish()
    }
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut s = Staged::create(path)?;
    s.write_all(bytes)?;
    s.finish()?.publish().map(|_| ())
}
