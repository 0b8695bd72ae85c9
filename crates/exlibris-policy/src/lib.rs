//! Policy over a corpus without a catalog: taggers, the licence ledger, the
//! policy gate and the EU AI Act training-content summary.
//!
//! - [`Tagger`] marks documents with [`Tag`]s: shadow-library watermarks
//!   and file names ([`tag`]), copyright pages and ISBNs ([`copyright`],
//!   [`isbn`]), TDM opt-outs in web records and robots.txt rules for AI
//!   crawlers ([`robots`]), book-likeness ([`booklike`]).
//! - [`Ledger`] (`sources.toml`) attributes every document to one declared
//!   source, or to "undeclared".
//! - [`Policy`] (`policy.toml`) decides keep or quarantine, with reasons;
//!   [`filter`] applies it, writing each document to keep or quarantine in
//!   its input's format (JSON Lines, WARC/WET, Parquet, text files).
//!
//! ```
//! use exlibris_policy::isbn::valid_isbn13;
//! assert!(valid_isbn13("9780306406157"));
//! ```
#![deny(missing_docs)]

pub mod booklike;
pub mod copyright;
pub mod corpus;
pub mod filter;
pub mod isbn;
pub mod ledger;
pub mod policy;
pub mod robots;
pub mod summary;
pub mod tag;

pub use ledger::{Ledger, Source};
pub use policy::{Decision, Policy};
pub use tag::{Tag, TagKind, TagStats, Tagger};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// A configuration file is not valid.
    #[error("{0}: {1}")]
    Config(String, String),
    /// A corpus could not be read.
    #[error(transparent)]
    Scan(#[from] exlibris_scan::ScanError),
    /// An input this command does not handle.
    #[error("{0}")]
    Unsupported(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, Error>;
