//! Errors of a scan.
use std::path::PathBuf;

/// What can stop a scan (record-level problems are [`crate::Rejection`]s,
/// not errors).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The index could not be used.
    #[error(transparent)]
    Index(#[from] exlibris_index::IndexError),
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A bad record under `--strict`, or bad input that cannot be skipped.
    #[error("{0}")]
    Input(String),
    /// An object store request failed (`s3://` inputs).
    #[cfg(feature = "s3")]
    #[error(transparent)]
    Object(#[from] exlibris_object::Error),
    /// Results that cannot be read or merged.
    #[error("{path}: {reason}")]
    Results {
        /// The results file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ScanError> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl ScanError {
    /// An I/O error without a path (the caller had none to give).
    pub(crate) fn from_io(source: std::io::Error) -> ScanError {
        ScanError::Io { path: PathBuf::new(), source }
    }
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| ScanError::Io { path: path.to_path_buf(), source })
    }
}
