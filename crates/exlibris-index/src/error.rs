//! Errors of the catalog and the index.
use std::path::PathBuf;

/// What can go wrong reading a catalog or building, opening or reading an
/// index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A catalog line that cannot be used.
    #[error("{path}:{line}: {reason}")]
    Catalog {
        /// The catalog manifest.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Why.
        reason: String,
    },
    /// An index file that fails its checks: truncated, wrong checksum,
    /// wrong magic. Never read further.
    #[error("{path}: corrupt index: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// An index written by another format version.
    #[error("{path}: index format version {found} is not supported (this build reads version {supported}); rebuild the index with `exlibris index`")]
    Version {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// Bad settings or arguments.
    #[error("{0}")]
    Invalid(String),
}

/// Result alias of this crate.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;

/// Attach a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| IndexError::Io { path: path.to_path_buf(), source })
    }
}
