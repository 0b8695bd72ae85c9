//! Writing and copying directories: multipart uploads, a publish marker
//! written last, downloads that refuse what is not published.
use std::io::Read;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use object_store::{ObjectStoreExt, WriteMultipart};

use crate::{list, runtime, store, Error, ObjectUrl, Result};

/// Size of an upload's parts (S3 wants at least 5 MiB but for the last).
/// A file at most this big goes up in one PUT, which is atomic too.
pub const PART_BYTES: usize = 8 << 20;

/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Upload the local file `path` to `url`: a single PUT up to
/// [`PART_BYTES`], else a multipart upload streamed from the file (at most
/// `PARTS_IN_FLIGHT` parts in memory), aborted on failure. Either way the
/// object appears whole or not at all.
pub fn upload_file(path: &Path, url: &ObjectUrl) -> Result<()> {
    let s = store(url)?;
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let len = f.metadata().map_err(io(path))?.len();
    let key = url.path();
    runtime().block_on(async {
        if len <= PART_BYTES as u64 {
            let mut buf = Vec::with_capacity(len as usize);
            f.read_to_end(&mut buf).map_err(io(path))?;
            s.put(&key, buf.into()).await.map_err(|e| Error::store(url, e))?;
            return Ok(());
        }
        let upload = s.put_multipart(&key).await.map_err(|e| Error::store(url, e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; 1 << 20];
        let sent: Result<()> = async {
            loop {
                let n = f.read(&mut buf).map_err(io(path))?;
                if n == 0 {
                    return Ok(());
                }
                w.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| Error::store(url, e))?;
                w.write(&buf[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => w.finish().await.map(|_| ()).map_err(|e| Error::store(url, e)),
            Err(e) => {
                let _ = w.abort().await;
                Err(e)
            }
        }
    })
}

/// Every file under `dir`, relative to it, sorted.
fn local_files(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for e in std::fs::read_dir(dir).map_err(io(dir))? {
            let p = e.map_err(io(dir))?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else {
                out.push(p.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn key_of(rel: &Path) -> String {
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Upload the directory `dir` under `url` so that a reader never sees half
/// of it: every file named `marker` (at any depth: `stats.json` of a
/// results directory and of each task) is deleted first, then the other
/// files are uploaded, then the markers, deepest first. Files ending in
/// `.tmp` are left out. Returns the number of files uploaded.
pub fn publish_dir(dir: &Path, url: &ObjectUrl, marker: &str) -> Result<usize> {
    let files: Vec<PathBuf> =
        local_files(dir)?.into_iter().filter(|f| !f.to_string_lossy().ends_with(".tmp")).collect();
    let is_marker = |f: &Path| f.file_name().is_some_and(|n| n == marker);
    let mut markers: Vec<&PathBuf> = files.iter().filter(|f| is_marker(f)).collect();
    markers.sort_by_key(|f| std::cmp::Reverse(f.components().count()));
    let s = store(url)?;
    for m in &markers {
        let target = url.join(&key_of(m));
        match runtime().block_on(s.delete(&target.path())) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(Error::store(&target, e)),
        }
    }
    for f in files.iter().filter(|f| !is_marker(f)) {
        upload_file(&dir.join(f), &url.join(&key_of(f)))?;
    }
    for m in &markers {
        upload_file(&dir.join(m), &url.join(&key_of(m)))?;
    }
    Ok(files.len())
}

/// Download every object under `prefix` into `dir` (keys below the prefix
/// become paths), each streamed to a `.tmp` file and renamed. Returns the
/// number of objects.
pub fn download_prefix(prefix: &ObjectUrl, dir: &Path) -> Result<usize> {
    let folder = prefix.as_prefix();
    let objects = list(&folder)?;
    let s = store(prefix)?;
    for o in &objects {
        let rel = o.url.key.strip_prefix(&folder.key).unwrap_or(&o.url.key);
        let target = dir.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let tmp = target.with_extension("download.tmp");
        runtime().block_on(async {
            use std::io::Write;
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io(&tmp))?);
            let mut body = s.get(&o.url.path()).await.map_err(|e| Error::store(&o.url, e))?.into_stream();
            while let Some(chunk) = body.next().await {
                f.write_all(&chunk.map_err(|e| Error::store(&o.url, e))?).map_err(io(&tmp))?;
            }
            f.flush().map_err(io(&tmp))?;
            Ok::<_, Error>(())
        })?;
        std::fs::rename(&tmp, &target).map_err(io(&target))?;
    }
    Ok(objects.len())
}

/// Download a published directory (one with its `marker` object): refuse a
/// prefix without it, and refuse a download during which the marker
/// changed (a republication under way).
pub fn download_published(prefix: &ObjectUrl, dir: &Path, marker: &str) -> Result<usize> {
    let marker_url = prefix.join(marker);
    let before = match crate::head(&marker_url) {
        Ok(m) => m,
        Err(e) if e.is_not_found() => {
            return Err(Error::NotFound {
                url: prefix.to_string(),
                what: format!(
                    "no {marker}: not a published results directory (an interrupted scan, or an upload under way)"
                ),
            })
        }
        Err(e) => return Err(e),
    };
    let n = download_prefix(prefix, dir)?;
    let after = crate::head(&marker_url)?;
    if (after.e_tag.as_ref(), after.last_modified_ns) != (before.e_tag.as_ref(), before.last_modified_ns) {
        return Err(Error::NotFound {
            url: prefix.to_string(),
            what: format!("{marker} changed during the download (republished); try again"),
        });
    }
    Ok(n)
}
