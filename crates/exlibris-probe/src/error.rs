//! The error type of the probe.
use std::path::PathBuf;

/// Everything that can go wrong while loading a model or probing a work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A model file is truncated, corrupt or inconsistent with itself.
    #[error("{}: corrupt model file: {reason}", path.display())]
    CorruptModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The model's architecture is not one the probe can run.
    #[error("{}: unsupported architecture {architecture:?} (supported: {supported})", path.display())]
    UnknownArchitecture {
        /// The file.
        path: PathBuf,
        /// The architecture the file declares.
        architecture: String,
        /// What the probe supports.
        supported: &'static str,
    },
    /// The tokenizer cannot be built or does not fit the model.
    #[error("{}: tokenizer: {reason}", path.display())]
    Tokenizer {
        /// The file the tokenizer came from.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The work (or a reference) is too short for even one passage window.
    #[error("{}: {tokens} tokens, shorter than one window of {window} tokens", path.display())]
    TooShort {
        /// The text file.
        path: PathBuf,
        /// Its length in tokens.
        tokens: usize,
        /// The window length asked for.
        window: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The tensor library failed while running the model.
    #[error("model execution: {0}")]
    Candle(#[from] candle_core::Error),
    /// The result could not be serialised or parsed.
    #[error("{}", path.display())]
    Json {
        /// The output file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
}

/// The probe's result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Error::CorruptModel { path: path.into(), reason: reason.to_string() }
    }

    pub(crate) fn tokenizer(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Error::Tokenizer { path: path.into(), reason: reason.to_string() }
    }
}

/// A candle error's message without the backtrace it captures when
/// RUST_BACKTRACE is set (a user needs the reason, not our stack).
pub(crate) fn plain(e: candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => plain(*inner),
        e => e.to_string(),
    }
}
