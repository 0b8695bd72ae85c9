//! `s3://` URLs for the index, the results and the inputs of a command.
//!
//! - The index is fetched into the cache (`<cache>/index/<index_id>`),
//!   checked by `Index::open` (every component's checksum) before it is
//!   renamed into place, and reused while it is there: it is memory-mapped,
//!   so it must be local.
//! - Results are written to a local staging directory, then published by
//!   `exlibris_object::publish_dir`: every file first (multipart uploads for
//!   the big ones), `stats.json` last, so a reader never sees half a result.
//! - Results read from `s3://` (report, merge) are downloaded to a temporary
//!   directory, refused if the prefix has no `stats.json`.
use std::path::{Path, PathBuf};

use anyhow::Context;

use exlibris_object::ObjectUrl;

/// The marker object of a published results directory.
const MARKER: &str = "stats.json";

/// Options of `s3://` URLs.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RemoteArgs {
    /// Endpoint of an S3-compatible store for s3:// URLs, e.g. http://127.0.0.1:8333 (default:
    /// $AWS_ENDPOINT_URL or $AWS_ENDPOINT, else AWS). Credentials and region come from the usual
    /// AWS variables.
    #[arg(long)]
    s3_endpoint: Option<String>,
    /// Cache of indexes fetched from s3:// and staging of s3:// results (default:
    /// $XDG_CACHE_HOME/exlibris, else ~/.cache/exlibris).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

fn url_of(p: &Path) -> Option<anyhow::Result<ObjectUrl>> {
    let s = p.to_str().filter(|s| exlibris_object::is_url(s))?;
    Some(s.parse::<ObjectUrl>().map_err(Into::into))
}

/// A directory name for `url` (readable, no separators).
fn slot(url: &ObjectUrl) -> String {
    url.to_string()
        .trim_start_matches("s3://")
        .trim_end_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect()
}

impl RemoteArgs {
    /// Apply the options (call before any other use).
    pub fn init(&self) -> &Self {
        exlibris_object::set_endpoint(self.s3_endpoint.clone());
        self
    }

    fn cache(&self) -> PathBuf {
        if let Some(d) = &self.cache_dir {
            return d.clone();
        }
        match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x).join("exlibris"),
            None => {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache/exlibris")
            }
        }
    }

    /// A local index directory: `given` itself, or the cached copy of an
    /// `s3://` index (fetched and verified when missing).
    pub fn index(&self, given: &Path) -> anyhow::Result<PathBuf> {
        let Some(url) = url_of(given) else { return Ok(given.to_path_buf()) };
        let url = url?;
        let meta = exlibris_object::read_range(&url.join("meta.json"), 0..(64 << 20))?;
        let meta: serde_json::Value = serde_json::from_slice(&meta)
            .with_context(|| format!("{}: meta.json is not JSON", url.join("meta.json")))?;
        let id = meta["index_id"].as_str().unwrap_or_default();
        anyhow::ensure!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{url}: meta.json has no usable index_id"
        );
        let root = self.cache().join("index");
        let dir = root.join(id);
        if dir.join("meta.json").exists() && exlibris_index::Index::open(&dir).is_ok() {
            return Ok(dir);
        }
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{id}-"))
            .tempdir_in(&root)
            .with_context(|| format!("creating a directory in {}", root.display()))?;
        let n = exlibris_object::download_prefix(&url, tmp.path())?;
        eprintln!("exlibris: fetched index {url} ({n} objects) into {}", dir.display());
        exlibris_index::Index::open(tmp.path()).with_context(|| format!("the index fetched from {url}"))?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        let kept = tmp.keep();
        if let Err(e) = std::fs::rename(&kept, &dir) {
            // Another process may have put the same index there first.
            let _ = std::fs::remove_dir_all(&kept);
            if exlibris_index::Index::open(&dir).is_err() {
                return Err(e).with_context(|| format!("renaming into {}", dir.display()));
            }
        }
        Ok(dir)
    }

    /// Where to write results named `given`: itself, or a staging directory
    /// for an `s3://` URL. With `resume`, results already published there
    /// are downloaded first, so that a rerun keeps their valid parts.
    pub fn output(&self, given: &Path, resume: bool) -> anyhow::Result<Output> {
        let Some(url) = url_of(given) else { return Ok(Output { local: given.to_path_buf(), remote: None }) };
        let url = url?.as_prefix();
        let local = self.cache().join("staging").join(slot(&url));
        std::fs::create_dir_all(&local).with_context(|| format!("creating {}", local.display()))?;
        if resume {
            exlibris_object::download_prefix(&url, &local)?;
        }
        Ok(Output { local, remote: Some(url) })
    }

    /// A local copy of the results directory `given` (itself when local),
    /// refused if it is not published (no `stats.json`).
    pub fn results(&self, given: &Path) -> anyhow::Result<Staged> {
        let Some(url) = url_of(given) else { return Ok(Staged { path: given.to_path_buf(), _tmp: None }) };
        let url = url?;
        let tmp = tempfile::Builder::new().prefix("exlibris-results-").tempdir()?;
        exlibris_object::download_published(&url, tmp.path(), MARKER)?;
        Ok(Staged { path: tmp.path().to_path_buf(), _tmp: Some(tmp) })
    }
}

/// Results being written: a local directory, published to `s3://` if so named.
pub struct Output {
    /// Where to write.
    pub local: PathBuf,
    remote: Option<ObjectUrl>,
}

impl Output {
    /// Upload the staging directory, `stats.json` last (nothing for a
    /// local directory).
    pub fn publish(&self) -> anyhow::Result<()> {
        let Some(url) = &self.remote else { return Ok(()) };
        let n = exlibris_object::publish_dir(&self.local, url, MARKER)?;
        eprintln!("exlibris: published {n} files to {url}");
        Ok(())
    }
}

/// Results read from a local directory, or a temporary copy of an `s3://` one.
pub struct Staged {
    /// The local directory.
    pub path: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}
