//! The catalog manifest: one work a line, JSON Lines.
//!
//! ```json
//! {"id": "austen-emma", "path": "emma.txt", "title": "Emma", "author": "Jane Austen",
//!  "year": 1815, "isbn": "…", "rights": "public-domain", "rightsholder": "…", "licence": "…"}
//! ```
//! `id`, `path` (relative to the manifest), `title` and `author` are
//! required (for an EPUB, title, author and ISBN default to the OPF's
//! metadata); the rest are optional; unknown fields are kept as metadata.
//! Work files may be text, Markdown, HTML, EPUB or PDF ([`crate::extract`]).
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IndexError, IoContext, Result};

/// Descriptive metadata of one work, as catalogued.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkMeta {
    /// Unique id within the catalog.
    pub id: String,
    /// Path of the work's file as written in the manifest.
    pub path: String,
    /// Title.
    pub title: String,
    /// Author(s).
    pub author: String,
    /// Year of publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i64>,
    /// ISBN as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isbn: Option<String>,
    /// Rights status (e.g. `public-domain`, `in-copyright`, `licensed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
    /// Holder of the rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rightsholder: Option<String>,
    /// Licence (SPDX id or agreement reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// Every other field of the manifest line.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One usable catalog entry: metadata and where its file is.
#[derive(Clone, Debug)]
pub struct CatalogEntry {
    /// 1-based line of the manifest.
    pub line: u64,
    /// The metadata.
    pub meta: WorkMeta,
    /// The work's file, resolved against the manifest's directory.
    pub file: PathBuf,
}

/// A catalog line that was refused, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectedWork {
    /// 1-based line of the manifest.
    pub line: u64,
    /// The id, when the line had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it was refused.
    pub reason: String,
}

/// A parsed manifest: the entries that can be indexed, and those refused.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The manifest's path.
    pub path: PathBuf,
    /// Usable entries, in manifest order.
    pub entries: Vec<CatalogEntry>,
    /// Refused lines, in manifest order.
    pub rejected: Vec<RejectedWork>,
}

impl Catalog {
    /// Read a manifest. Lines that cannot be used are collected in
    /// [`Catalog::rejected`] (a duplicate id, a missing field, bad JSON); an
    /// unreadable manifest is an error.
    pub fn read(path: &Path) -> Result<Catalog> {
        let text = std::fs::read(path).at(path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut cat = Catalog { path: path.to_path_buf(), ..Default::default() };
        let mut ids = HashSet::new();
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = i as u64 + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match parse_line(raw) {
                Ok(meta) if !ids.insert(meta.id.clone()) => cat.rejected.push(RejectedWork {
                    line,
                    reason: format!("duplicate id {:?}", meta.id),
                    id: Some(meta.id),
                }),
                Ok(meta) => {
                    let file = base.join(&meta.path);
                    cat.entries.push(CatalogEntry { line, meta, file });
                }
                Err((id, reason)) => cat.rejected.push(RejectedWork { line, id, reason }),
            }
        }
        if cat.entries.is_empty() && cat.rejected.is_empty() {
            return Err(IndexError::Catalog {
                path: path.to_path_buf(),
                line: 0,
                reason: "empty catalog".into(),
            });
        }
        Ok(cat)
    }
}

fn parse_line(raw: &[u8]) -> std::result::Result<WorkMeta, (Option<String>, String)> {
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| (None, format!("invalid JSON: {e}")))?;
    let serde_json::Value::Object(mut map) = value else {
        return Err((None, "a catalog line must be a JSON object".into()));
    };
    let id = match map.remove("id") {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(_) => return Err((None, "field \"id\" must be a non-empty string".into())),
        None => return Err((None, "missing field \"id\"".into())),
    };
    let fail = |reason: String| (Some(id.clone()), reason);
    let mut string =
        |name: &str, required: bool| -> std::result::Result<Option<String>, (Option<String>, String)> {
            match map.remove(name) {
                Some(serde_json::Value::String(s)) => Ok(Some(s)),
                Some(serde_json::Value::Null) | None if !required => Ok(None),
                None | Some(serde_json::Value::Null) => Err(fail(format!("missing field {name:?}"))),
                Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
                Some(other) => Err(fail(format!("field {name:?} must be a string, not {other}"))),
            }
        };
    let path = string("path", true)?.unwrap_or_default();
    // An EPUB says its own title and author; the manifest may leave them out.
    let own_meta = path.to_ascii_lowercase().ends_with(".epub");
    let title = string("title", !own_meta)?.unwrap_or_default();
    let author = string("author", !own_meta)?.unwrap_or_default();
    let isbn = string("isbn", false)?;
    let rights = string("rights", false)?;
    let rightsholder = string("rightsholder", false)?;
    let licence = string("licence", false)?.or(string("license", false)?);
    let year = match map.remove("year") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) if n.is_i64() => n.as_i64(),
        Some(serde_json::Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
        Some(other) => return Err(fail(format!("field \"year\" must be an integer, not {other}"))),
    };
    if path.is_empty() {
        return Err(fail("field \"path\" is empty".into()));
    }
    Ok(WorkMeta { id, path, title, author, year, isbn, rights, rightsholder, licence, extra: map })
}

pub use crate::extract::extract_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lines_are_parsed_or_refused_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("catalog.jsonl");
        std::fs::write(
            &m,
            concat!(
                r#"{"id":"a","path":"a.txt","title":"A","author":"X","year":1900,"shelf":"3b"}"#,
                "\n\n",
                "{not json\n",
                r#"{"id":"a","path":"b.txt","title":"B","author":"Y"}"#,
                "\n",
                r#"{"id":"c","path":"c.txt","author":"Y"}"#,
                "\n",
                r#"{"id":"d","path":"d.txt","title":"D","author":"Z","year":"1811"}"#,
                "\r\n",
            ),
        )
        .unwrap();
        let cat = Catalog::read(&m).unwrap();
        let ids: Vec<&str> = cat.entries.iter().map(|e| e.meta.id.as_str()).collect();
        assert_eq!(ids, ["a", "d"]);
        assert_eq!(cat.entries[0].meta.extra["shelf"], "3b");
        assert_eq!(cat.entries[0].file, dir.path().join("a.txt"));
        assert_eq!(cat.entries[1].meta.year, Some(1811));
        let lines: Vec<u64> = cat.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(cat.rejected[0].reason.contains("invalid JSON"));
        assert!(cat.rejected[1].reason.contains("duplicate id"));
        assert!(cat.rejected[2].reason.contains("title"));
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.txt");
        std::fs::write(&p, b"abc\xffdef").unwrap();
        assert!(extract_text(&p).unwrap_err().contains("invalid UTF-8 at byte 3"));
    }
}
