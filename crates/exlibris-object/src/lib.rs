//! S3 object storage for exlibris: corpus inputs, the index and results may
//! be `s3://bucket/key` URLs.
//!
//! - [`ObjectUrl`]: a parsed `s3://bucket/key` (a key ending in `/`, or
//!   empty, is a prefix).
//! - [`head`], [`list`]: an object's [`ObjectInfo`] (size, e_tag, last
//!   modified), the objects under a prefix in the order of a local
//!   directory walk.
//! - [`open`], [`open_range`]: a blocking [`std::io::Read`] over an object,
//!   streamed with bounded memory ([`ObjectReader`]); [`read_range`]: one
//!   ranged GET into memory (format sniffing, Parquet pages).
//! - [`upload_file`], [`publish_dir`]: multipart uploads; a results
//!   directory is published with its marker (`stats.json`) last.
//!   [`download_prefix`] is the reverse; [`download_published`] refuses a
//!   prefix without its marker.
//!
//! ```no_run
//! use std::io::Read;
//! let objects = exlibris_object::list(&"s3://corpus/crawl/".parse()?)?;
//! let mut r = exlibris_object::open(&objects[0].url)?;
//! let mut head = [0u8; 4];
//! r.read_exact(&mut head)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Why this shape: the scanner is synchronous (a reader thread, a rayon
//! pool), and `object_store` is async. One small tokio runtime, owned here,
//! runs the requests; a GET's body is pumped into a bounded channel that the
//! blocking reader drains ([`ObjectReader`]), so at most
//! [`CHANNEL_CHUNKS`] network chunks of an object are in memory however big
//! the object is, and the existing decompressors and readers run unchanged
//! on top. A body cut off mid-stream is resumed with a ranged GET from the
//! byte reached, pinned to the object's e_tag.
//!
//! Configuration: the usual AWS variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` or `AWS_ENDPOINT`, …), read by
//! `object_store`'s `AmazonS3Builder::from_env`; [`set_endpoint`] overrides
//! the endpoint (the command line's `--s3-endpoint`). An `http://` endpoint
//! (a local S3-compatible store) is allowed.
#![deny(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use object_store::aws::AmazonS3Builder;
use object_store::ObjectStore;

mod read;
mod write;

pub use read::{head, list, open, open_range, read_range, ObjectInfo, ObjectReader, CHANNEL_CHUNKS};
pub use write::{download_prefix, download_published, publish_dir, upload_file, PART_BYTES};

/// What went wrong, naming the URL (or local path) concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not an `s3://bucket/key` URL.
    #[error("{url}: not an s3:// URL ({reason})")]
    BadUrl {
        /// What was given.
        url: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// No such object (or no object under a prefix).
    #[error("{url}: {what}")]
    NotFound {
        /// The URL.
        url: String,
        /// What is missing.
        what: String,
    },
    /// The store refused or failed a request (bad credentials, no such
    /// bucket, network). Shown by its innermost cause (the server's answer,
    /// or the network error): the layers above repeat it.
    #[error("{url}: {}", innermost(source))]
    Store {
        /// The URL.
        url: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// A local file of a download or upload.
    #[error("{path}: {source}")]
    Io {
        /// The local file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store's client could not be set up.
    #[error("s3://{bucket}: cannot configure the S3 client: {reason}")]
    Config {
        /// The bucket.
        bucket: String,
        /// Why.
        reason: String,
    },
}

fn innermost(e: &object_store::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn store(url: &ObjectUrl, source: object_store::Error) -> Error {
        match source {
            object_store::Error::NotFound { .. } => {
                Error::NotFound { url: url.to_string(), what: "no such object (or no such bucket)".into() }
            }
            source => Error::Store { url: url.to_string(), source },
        }
    }

    /// Whether this is a missing object.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// Whether `s` is an object URL (`s3://…`), not a local path.
pub fn is_url(s: &str) -> bool {
    s.starts_with("s3://")
}

/// A parsed `s3://bucket/key`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectUrl {
    /// The bucket.
    pub bucket: String,
    /// The key, without a leading `/` (may be empty, or end in `/`: a prefix).
    pub key: String,
}

impl ObjectUrl {
    /// The URL of `name` under this one taken as a prefix.
    pub fn join(&self, name: &str) -> ObjectUrl {
        let mut key = self.key.clone();
        if !key.is_empty() && !key.ends_with('/') {
            key.push('/');
        }
        key.push_str(name.trim_start_matches('/'));
        ObjectUrl { bucket: self.bucket.clone(), key }
    }

    /// This URL as a prefix: the key ends in `/` (or is empty).
    pub fn as_prefix(&self) -> ObjectUrl {
        self.join("")
    }

    fn path(&self) -> object_store::path::Path {
        object_store::path::Path::from(self.key.trim_end_matches('/'))
    }
}

impl std::str::FromStr for ObjectUrl {
    type Err = Error;
    fn from_str(s: &str) -> Result<ObjectUrl> {
        let bad = |reason| Error::BadUrl { url: s.to_string(), reason };
        let rest = s.strip_prefix("s3://").ok_or_else(|| bad("expected s3://bucket/key"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        if key.split('/').any(|c| c == "." || c == "..") || key.contains("//") {
            return Err(bad("the key has an empty, `.` or `..` segment"));
        }
        Ok(ObjectUrl { bucket: bucket.to_string(), key: key.to_string() })
    }
}

impl std::fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

static ENDPOINT: OnceLock<Option<String>> = OnceLock::new();

/// Use this endpoint (an S3-compatible store, e.g. `http://127.0.0.1:8333`)
/// instead of `AWS_ENDPOINT_URL`/`AWS_ENDPOINT` or AWS. Call it before the
/// first request; a later call is ignored.
pub fn set_endpoint(endpoint: Option<String>) {
    let _ = ENDPOINT.set(endpoint);
}

/// The runtime that runs every request (two worker threads: the work is
/// waiting on the network, and the scan needs the cores).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("exlibris-s3")
            .enable_all()
            .build()
            .expect("cannot start the S3 client's runtime")
    })
}

/// The client of `bucket`, made once.
fn store(url: &ObjectUrl) -> Result<Arc<dyn ObjectStore>> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
    let mut stores = STORES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = stores.get(&url.bucket) {
        return Ok(s.clone());
    }
    // reqwest is built without a bundled TLS provider: use ring, which the
    // workspace already builds (a second C crypto library only for S3 would
    // double the build for nothing).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
    let endpoint = ENDPOINT
        .get()
        .cloned()
        .flatten()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT").ok());
    if let Some(e) = endpoint {
        if e.starts_with("http://") {
            b = b.with_allow_http(true);
        }
        b = b.with_endpoint(e);
    }
    let s: Arc<dyn ObjectStore> =
        Arc::new(b.build().map_err(|e| Error::Config { bucket: url.bucket.clone(), reason: e.to_string() })?);
    stores.insert(url.bucket.clone(), s.clone());
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_join() {
        let u: ObjectUrl = "s3://b/corpus/a.jsonl".parse().unwrap();
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("b", "corpus/a.jsonl"));
        assert_eq!(u.to_string(), "s3://b/corpus/a.jsonl");
        let p: ObjectUrl = "s3://b".parse().unwrap();
        assert_eq!(p.join("x/y").to_string(), "s3://b/x/y");
        assert_eq!("s3://b/d".parse::<ObjectUrl>().unwrap().join("stats.json").key, "d/stats.json");
        assert_eq!("s3://b/d/".parse::<ObjectUrl>().unwrap().join("stats.json").key, "d/stats.json");
        for bad in ["/tmp/x", "s3:///k", "s3://b/a/../c", "s3://b/a//c"] {
            assert!(bad.parse::<ObjectUrl>().is_err(), "{bad}");
        }
        assert!(is_url("s3://b/k") && !is_url("corpus/s3://"));
    }
}
