//! EPUB: a zip of XHTML documents, ordered by the OPF package's spine.
//!
//! Every entry's path is checked before anything is read: no absolute path,
//! no `..` escaping the container's root, no backslash or drive prefix; the
//! same holds for the spine's references once resolved against the OPF's
//! folder. Unpacking is bounded: the entries' declared sizes must sum to at
//! most [`Limits::max_unpacked_bytes`], no entry over 1 MiB may claim a
//! compression ratio over [`Limits::max_ratio`], and reads stop at the
//! declared size, so a lying header cannot unpack more.
use std::io::{Read, Seek};

use super::{Extracted, Limits};

/// Most entries of an EPUB.
const MAX_ENTRIES: usize = 100_000;

/// The text and metadata of an EPUB.
pub fn epub_text<R: Read + Seek>(reader: R, limits: &Limits) -> Result<Extracted, String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| format!("not a readable EPUB (zip): {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!("{} entries, more than {MAX_ENTRIES}", zip.len()));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
        let name = entry.name().map_err(|e| format!("entry {i}: {e}"))?.into_owned();
        check_path(&name)?;
        total = total.saturating_add(entry.size());
        if entry.size() > 1 << 20 && entry.size() / entry.compressed_size().max(1) > limits.max_ratio {
            return Err(format!(
                "entry {name:?} unpacks {} bytes from {} (ratio over {}): refused as a zip bomb",
                entry.size(),
                entry.compressed_size(),
                limits.max_ratio
            ));
        }
    }
    if total > limits.max_unpacked_bytes {
        return Err(format!(
            "entries unpack to {total} bytes, over the limit of {} bytes: refused as a zip bomb",
            limits.max_unpacked_bytes
        ));
    }
    let mut budget = limits.max_unpacked_bytes;
    let container = read_entry(&mut zip, "META-INF/container.xml", &mut budget)?;
    let container = xml(&container, "META-INF/container.xml")?;
    let opf_path = container
        .descendants()
        .find(|n| n.has_tag_name("rootfile") || n.tag_name().name() == "rootfile")
        .and_then(|n| n.attribute("full-path"))
        .ok_or("META-INF/container.xml names no rootfile")?
        .to_string();
    check_path(&opf_path)?;
    let opf_bytes = read_entry(&mut zip, &opf_path, &mut budget)?;
    let opf = xml(&opf_bytes, &opf_path)?;
    let base = opf_path.rsplit_once('/').map_or("", |(d, _)| d);

    let child_text = |name: &str| -> Vec<(String, Option<String>)> {
        opf.descendants()
            .filter(|n| {
                n.tag_name().name() == name && n.ancestors().any(|a| a.tag_name().name() == "metadata")
            })
            .map(|n| {
                let text: String = n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect();
                let scheme = n.attributes().find(|a| a.name() == "scheme").map(|a| a.value().to_string());
                (text.trim().to_string(), scheme)
            })
            .filter(|(t, _)| !t.is_empty())
            .collect()
    };
    let title = child_text("title").into_iter().next().map(|t| t.0);
    let authors: Vec<String> = child_text("creator").into_iter().map(|t| t.0).collect();
    let isbn = child_text("identifier").into_iter().find_map(|(t, scheme)| isbn_of(&t, scheme.as_deref()));

    let manifest: Vec<(String, String)> = opf
        .descendants()
        .filter(|n| n.tag_name().name() == "item")
        .filter_map(|n| Some((n.attribute("id")?.to_string(), n.attribute("href")?.to_string())))
        .collect();
    let spine: Vec<String> = opf
        .descendants()
        .filter(|n| n.tag_name().name() == "itemref")
        .filter_map(|n| n.attribute("idref").map(str::to_string))
        .collect();
    if spine.is_empty() {
        return Err(format!("{opf_path}: the spine lists no documents"));
    }
    let mut parts = Vec::new();
    for idref in &spine {
        let href = manifest
            .iter()
            .find(|(id, _)| id == idref)
            .map(|(_, h)| h)
            .ok_or_else(|| format!("{opf_path}: spine item {idref:?} is not in the manifest"))?;
        let path = resolve(base, href)?;
        let bytes = read_entry(&mut zip, &path, &mut budget)?;
        let xhtml = String::from_utf8(bytes)
            .map_err(|e| format!("{path}: invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))?;
        let text = exlibris_text::html::html_to_text(&xhtml);
        if !text.is_empty() {
            parts.push(text);
        }
    }
    Ok(Extracted {
        text: parts.join("\n\n"),
        format: "epub",
        title,
        author: (!authors.is_empty()).then(|| authors.join(", ")),
        isbn,
    })
}

/// Refuse a path that could leave the container's root.
fn check_path(name: &str) -> Result<(), String> {
    let bad = name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').next().is_some_and(|c| c.contains(':'))
        || {
            let mut depth = 0i64;
            name.split('/').any(|c| {
                depth += match c {
                    ".." => -1,
                    "" | "." => 0,
                    _ => 1,
                };
                depth < 0
            })
        };
    if bad {
        return Err(format!("entry path {name:?} escapes the container's root: refused"));
    }
    Ok(())
}

/// Resolve an OPF `href` against the OPF's folder, refusing escapes.
fn resolve(base: &str, href: &str) -> Result<String, String> {
    let href = href.split('#').next().unwrap_or("");
    let href = percent_decode(href);
    if href.starts_with('/') || href.contains("://") {
        return Err(format!("manifest href {href:?} escapes the container's root: refused"));
    }
    let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    for c in href.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!("manifest href {href:?} escapes the container's root: refused"));
                }
            }
            c => parts.push(c),
        }
    }
    let path = parts.join("/");
    check_path(&path)?;
    Ok(path)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    budget: &mut u64,
) -> Result<Vec<u8>, String> {
    let entry = zip.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let declared = entry.size();
    let cap = declared.min(*budget);
    let mut out = Vec::with_capacity(cap.min(64 << 20) as usize);
    entry.take(cap + 1).read_to_end(&mut out).map_err(|e| format!("{name}: {e}"))?;
    if out.len() as u64 > cap {
        return Err(format!(
            "{name}: unpacks to more than its declared {declared} bytes or the limit: refused as a zip bomb"
        ));
    }
    *budget -= out.len() as u64;
    Ok(out)
}

fn xml<'a>(bytes: &'a [u8], name: &str) -> Result<roxmltree::Document<'a>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("{name}: invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    roxmltree::Document::parse_with_options(text, opts).map_err(|e| format!("{name}: invalid XML: {e}"))
}

/// An ISBN from an identifier: by its scheme, a `urn:isbn:` prefix, or its shape.
fn isbn_of(id: &str, scheme: Option<&str>) -> Option<String> {
    let raw = id.trim();
    let lower = raw.to_ascii_lowercase();
    let value = lower.strip_prefix("urn:isbn:").or_else(|| lower.strip_prefix("isbn:")).unwrap_or(&lower);
    let digits: String = value.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    let shaped = (digits.len() == 13 && digits.chars().all(|c| c.is_ascii_digit()))
        || (digits.len() == 10
            && digits[..9].chars().all(|c| c.is_ascii_digit())
            && digits[9..].chars().all(|c| c.is_ascii_digit() || c == 'x'));
    let by_scheme = scheme.is_some_and(|s| s.eq_ignore_ascii_case("isbn"));
    (shaped || by_scheme).then(|| digits.to_ascii_uppercase())
}
