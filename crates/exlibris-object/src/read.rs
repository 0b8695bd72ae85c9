//! Reading: head, list, streaming and ranged GETs.
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use tokio::sync::mpsc;

use crate::{runtime, store, Error, ObjectUrl, Result};

/// Network chunks of one object held in memory at most (each is what the
/// HTTP client hands over, typically 8 to 64 KiB): the bound on a stream's
/// memory, whatever the object's size.
pub const CHANNEL_CHUNKS: usize = 32;

/// Ranged GETs tried again from where a body broke off.
const RESUMES: u32 = 5;

/// An object's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its URL.
    pub url: ObjectUrl,
    /// Its size in bytes.
    pub size: u64,
    /// Its entity tag, when the store gives one.
    pub e_tag: Option<String>,
    /// Last modification, in nanoseconds since the Unix epoch.
    pub last_modified_ns: u64,
}

impl ObjectInfo {
    fn of(bucket: &str, m: object_store::ObjectMeta) -> ObjectInfo {
        ObjectInfo {
            url: ObjectUrl { bucket: bucket.to_string(), key: m.location.to_string() },
            size: m.size,
            e_tag: m.e_tag,
            last_modified_ns: m.last_modified.timestamp_nanos_opt().unwrap_or(0).max(0) as u64,
        }
    }
}

/// The metadata of the object at `url`.
pub fn head(url: &ObjectUrl) -> Result<ObjectInfo> {
    let s = store(url)?;
    let m = runtime().block_on(s.head(&url.path())).map_err(|e| Error::store(url, e))?;
    Ok(ObjectInfo::of(&url.bucket, m))
}

/// The objects under `prefix` (taken as a folder: `s3://b/d` lists
/// `d/…`), sorted as a local directory walk would visit them: by path
/// components, so `d/a/x` comes before `d/a.x`. Names starting with `.`
/// (at any depth below the prefix) are left out, as hidden files are.
pub fn list(prefix: &ObjectUrl) -> Result<Vec<ObjectInfo>> {
    let s = store(prefix)?;
    let folder = prefix.as_prefix();
    let path = object_store::path::Path::from(folder.key.trim_end_matches('/'));
    let metas: Vec<object_store::ObjectMeta> = runtime()
        .block_on(async {
            let mut out = Vec::new();
            let mut stream = s.list(if folder.key.is_empty() { None } else { Some(&path) });
            while let Some(m) = stream.next().await {
                out.push(m?);
            }
            Ok::<_, object_store::Error>(out)
        })
        .map_err(|e| Error::store(prefix, e))?;
    let mut objects: Vec<ObjectInfo> = metas
        .into_iter()
        .map(|m| ObjectInfo::of(&prefix.bucket, m))
        .filter(|o| {
            let below = o.url.key.strip_prefix(&folder.key).unwrap_or(&o.url.key);
            !below.split('/').any(|c| c.starts_with('.'))
        })
        .collect();
    objects.sort_by(|a, b| Path::new(&a.url.key).cmp(Path::new(&b.url.key)));
    Ok(objects)
}

/// Bytes `range` of the object at `url`, in memory (one ranged GET). A
/// range past the end is cut at the end.
pub fn read_range(url: &ObjectUrl, range: Range<u64>) -> Result<Bytes> {
    if range.is_empty() {
        return Ok(Bytes::new());
    }
    let s = store(url)?;
    runtime().block_on(s.get_range(&url.path(), range)).map_err(|e| Error::store(url, e))
}

/// The whole object at `url`, streamed ([`ObjectReader`]).
pub fn open(url: &ObjectUrl) -> Result<ObjectReader> {
    let info = head(url)?;
    open_info(&info, 0..info.size)
}

/// Bytes `range` of the object at `url`, streamed; the range is cut at the
/// object's end.
pub fn open_range(url: &ObjectUrl, range: Range<u64>) -> Result<ObjectReader> {
    let info = head(url)?;
    let end = range.end.min(info.size);
    open_info(&info, range.start.min(end)..end)
}

fn open_info(info: &ObjectInfo, range: Range<u64>) -> Result<ObjectReader> {
    let s = store(&info.url)?;
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let task = (!range.is_empty())
        .then(|| runtime().spawn(pump(s, info.url.clone(), info.e_tag.clone(), range, tx)));
    Ok(ObjectReader { rx, current: Bytes::new(), task })
}

/// Send the body of `range` into `tx`, resuming a broken body from the byte
/// reached (pinned to the e_tag, so a replaced object is not spliced in).
async fn pump(
    s: Arc<dyn ObjectStore>,
    url: ObjectUrl,
    e_tag: Option<String>,
    range: Range<u64>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
) {
    let fail = |e: Error| std::io::Error::other(e.to_string());
    let mut pos = range.start;
    let mut resumes = 0;
    while pos < range.end {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(pos..range.end)),
            if_match: if pos > range.start { e_tag.clone() } else { None },
            ..Default::default()
        };
        let mut body = match s.get_opts(&url.path(), opts).await {
            Ok(r) => r.into_stream(),
            Err(e) => {
                let _ = tx.send(Err(fail(Error::store(&url, e)))).await;
                return;
            }
        };
        let mut broke = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(b) => {
                    pos += b.len() as u64;
                    if tx.send(Ok(b)).await.is_err() {
                        return; // the reader was dropped
                    }
                }
                Err(e) => {
                    broke = Some(e);
                    break;
                }
            }
        }
        match broke {
            Some(e) if resumes >= RESUMES => {
                let _ = tx.send(Err(fail(Error::store(&url, e)))).await;
                return;
            }
            Some(_) => resumes += 1,
            None if pos < range.end => {
                let e = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{url}: the body ended at byte {pos} of {}", range.end),
                );
                let _ = tx.send(Err(e)).await;
                return;
            }
            None => {}
        }
    }
}

/// A blocking reader over an object's bytes, fed by a GET running on the
/// crate's runtime through a bounded channel. Dropping it cancels the GET.
pub struct ObjectReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if self.task.is_none() {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}
