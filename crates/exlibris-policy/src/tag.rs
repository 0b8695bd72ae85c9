//! Tags and the [`Tagger`] that runs every tagger over a document.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use exlibris_scan::reader::PageHead;
use exlibris_scan::Document;
use serde::{Deserialize, Serialize};

use crate::robots::{Robots, AI_AGENTS};
use crate::{booklike, copyright, Error, Result};

/// What a tag says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    /// A pirate ebook site's watermark line or file-name pattern.
    ShadowLibrary,
    /// A copyright-page statement, © line or printing line.
    CopyrightPage,
    /// A valid ISBN (the evidence is the ISBN).
    Isbn,
    /// A text-and-data-mining opt-out (TDMRep, `noai`).
    TdmOptOut,
    /// robots.txt forbids an AI crawler this page.
    RobotsDisallow,
    /// Looks like a book (weak).
    BookLike,
}

impl TagKind {
    /// The tag's name in files and policies.
    pub fn name(self) -> &'static str {
        match self {
            TagKind::ShadowLibrary => "shadow_library",
            TagKind::CopyrightPage => "copyright_page",
            TagKind::Isbn => "isbn",
            TagKind::TdmOptOut => "tdm_opt_out",
            TagKind::RobotsDisallow => "robots_disallow",
            TagKind::BookLike => "book_like",
        }
    }
}

/// One tag on a document (and a span of it, when the evidence has one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// The document.
    pub doc_id: String,
    /// What it says.
    pub tag: TagKind,
    /// 0 to 1.
    pub confidence: f32,
    /// Why: the line, header or rule that matched.
    pub evidence: String,
    /// Byte span in the document's text.
    pub span: Option<(usize, usize)>,
}

impl Tag {
    /// A tag.
    pub fn new(
        doc_id: &str,
        tag: TagKind,
        confidence: f32,
        evidence: String,
        span: Option<(usize, usize)>,
    ) -> Tag {
        Tag { doc_id: doc_id.to_string(), tag, confidence, evidence, span }
    }
}

/// Runs the taggers; built once, shared by reference.
#[derive(Clone, Debug)]
pub struct Tagger {
    watermarks: Vec<String>,
    filenames: Vec<String>,
    robots: HashMap<String, Robots>,
}

/// Counts of a tagging run; `read = tagged + untagged + rejected`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TagStats {
    /// Records read.
    pub read: u64,
    /// Documents with at least one tag.
    pub tagged: u64,
    /// Documents without tags.
    pub untagged: u64,
    /// Records that could not be decoded.
    pub rejected: u64,
    /// Documents per tag.
    pub documents_by_tag: BTreeMap<String, u64>,
    /// Tags per tag.
    pub tags_by_tag: BTreeMap<String, u64>,
    /// Distinct ISBNs seen.
    pub isbns: Vec<String>,
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_lowercase).collect()
}

impl Default for Tagger {
    fn default() -> Self {
        Tagger {
            watermarks: lines(include_str!("../data/shadow_watermarks.txt")),
            filenames: lines(include_str!("../data/shadow_filenames.txt")),
            robots: HashMap::new(),
        }
    }
}

impl Tagger {
    /// Replace the watermark list (one string a line, `#` comments).
    pub fn with_watermarks(mut self, list: &str) -> Self {
        self.watermarks = lines(list);
        self
    }

    /// Load robots.txt files: `DIR/<host>.txt` or `DIR/<host>/robots.txt`.
    pub fn with_robots_dir(mut self, dir: &Path) -> Result<Self> {
        let io = |e: std::io::Error| Error::Io(dir.display().to_string(), e);
        for e in std::fs::read_dir(dir).map_err(io)? {
            let p = e.map_err(io)?.path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let (host, file) = if p.is_dir() {
                (name, p.join("robots.txt"))
            } else if let Some(h) = name.strip_suffix(".txt") {
                (h.to_string(), p.clone())
            } else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(&file) {
                self.robots.insert(host.to_ascii_lowercase(), Robots::parse(&text));
            }
        }
        Ok(self)
    }

    /// Every tag of a document; `head`: its HTTP headers and `<meta>` tags.
    pub fn tag(&self, doc: &Document, head: Option<&PageHead>) -> Vec<Tag> {
        let mut tags = self.shadow_tags(doc);
        tags.extend(copyright::copyright_tags(&doc.id, &doc.text));
        if let Some(h) = head {
            tags.extend(opt_out_tags(&doc.id, h));
        }
        tags.extend(self.robots_tags(doc));
        tags.extend(booklike::book_like(&doc.id, &doc.text));
        tags
    }

    /// Watermark lines (a short line holding a marker: a site's stamp, not
    /// prose about the site) and file names or URLs of shadow libraries.
    pub fn shadow_tags(&self, doc: &Document) -> Vec<Tag> {
        let mut tags = Vec::new();
        let mut offset = 0;
        for line in doc.text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let l = line.trim();
            if l.is_empty() || l.len() > 120 {
                continue;
            }
            let lower = l.to_lowercase();
            if let Some(m) = self.watermarks.iter().find(|m| lower.contains(m.as_str())) {
                let s = start + (line.len() - line.trim_start().len());
                tags.push(Tag::new(
                    &doc.id,
                    TagKind::ShadowLibrary,
                    0.95,
                    format!("watermark {m:?}: {l}"),
                    Some((s, s + l.len())),
                ));
            }
        }
        let names = [Some(doc.id.as_str()), doc.url.as_deref(), Some(&*doc.origin.file)];
        for name in names.into_iter().flatten() {
            let lower = name.to_lowercase();
            if let Some(p) = self.filenames.iter().find(|p| lower.contains(p.as_str())) {
                tags.push(Tag::new(
                    &doc.id,
                    TagKind::ShadowLibrary,
                    0.8,
                    format!("name {name:?} matches {p:?}"),
                    None,
                ));
                break;
            }
        }
        tags
    }

    fn robots_tags(&self, doc: &Document) -> Vec<Tag> {
        let Some(url) = &doc.url else { return Vec::new() };
        let Some((host, path)) = split_url(url) else { return Vec::new() };
        let Some(robots) = self.robots.get(&host) else { return Vec::new() };
        let denied: Vec<String> = AI_AGENTS
            .iter()
            .filter_map(|a| match robots.check(a, &path) {
                (false, Some(r)) => Some(format!("{a}: Disallow: {}", r.pattern)),
                _ => None,
            })
            .collect();
        if denied.is_empty() {
            return Vec::new();
        }
        vec![Tag::new(
            &doc.id,
            TagKind::RobotsDisallow,
            0.9,
            format!("robots.txt of {host}: {}", denied.join("; ")),
            None,
        )]
    }
}

/// Host (lowercased) and path of an http(s) URL.
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://")?.1;
    let (host, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let host = host.rsplit('@').next()?.split(':').next()?.to_ascii_lowercase();
    Some((host, path.to_string()))
}

/// TDMRep headers and meta, `X-Robots-Tag` and robots meta `noai`.
pub fn opt_out_tags(doc_id: &str, head: &PageHead) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut push = |conf: f32, ev: String| tags.push(Tag::new(doc_id, TagKind::TdmOptOut, conf, ev, None));
    for (k, v) in &head.headers {
        let k = k.to_ascii_lowercase();
        let lv = v.to_ascii_lowercase();
        if k == "tdm-reservation" && v.trim() == "1" {
            push(1.0, format!("HTTP header tdm-reservation: {v}"));
        } else if k == "tdm-policy" {
            push(0.9, format!("HTTP header tdm-policy: {v}"));
        } else if k == "x-robots-tag" && (lv.contains("noai") || lv.contains("noimageai")) {
            push(0.9, format!("HTTP header X-Robots-Tag: {v}"));
        }
    }
    for (name, v) in &head.meta {
        let lv = v.to_ascii_lowercase();
        if name == "tdm-reservation" && v.trim() == "1" {
            push(1.0, format!("<meta name=\"tdm-reservation\" content=\"{v}\">"));
        } else if name == "tdm-policy" {
            push(0.9, format!("<meta name=\"tdm-policy\" content=\"{v}\">"));
        } else if (name == "robots" || name.ends_with("bot"))
            && (lv.contains("noai") || lv.contains("noimageai"))
        {
            push(0.9, format!("<meta name=\"{name}\" content=\"{v}\">"));
        }
    }
    tags
}

impl TagStats {
    /// Count one document's tags.
    pub fn add(&mut self, tags: &[Tag]) {
        self.read += 1;
        if tags.is_empty() {
            self.untagged += 1;
            return;
        }
        self.tagged += 1;
        let mut kinds: Vec<TagKind> = tags.iter().map(|t| t.tag).collect();
        for t in tags {
            *self.tags_by_tag.entry(t.tag.name().into()).or_default() += 1;
            if t.tag == TagKind::Isbn && !self.isbns.contains(&t.evidence) {
                self.isbns.push(t.evidence.clone());
            }
        }
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            *self.documents_by_tag.entry(k.name().into()).or_default() += 1;
        }
    }

    /// Whether the counts reconcile.
    pub fn reconciles(&self) -> bool {
        self.read == self.tagged + self.untagged + self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exlibris_scan::Origin;

    fn doc(text: &str, url: Option<&str>) -> Document {
        let origin = Origin { file: "c.jsonl".into(), record: 1, offset: 0 };
        Document { id: "d".into(), text: text.into(), url: url.map(String::from), origin }
    }

    #[test]
    fn watermark_lines_are_tagged_but_prose_is_not() {
        let t = Tagger::default();
        let tags = t.shadow_tags(&doc("Some text.\n\nOceanofPDF.com\n\nMore.", None));
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].span, Some((12, 26)));
        let prose = "Library Genesis, also known as libgen.li, is a file-sharing site that hosts millions of books and articles for free download without the permission of their publishers.";
        assert!(t.shadow_tags(&doc(prose, None)).is_empty());
        let named = t.shadow_tags(&doc("x", Some("https://h/Book (z-lib.org).epub")));
        assert_eq!(named[0].confidence, 0.8);
    }

    #[test]
    fn opt_outs_are_tagged() {
        let head = PageHead {
            headers: vec![("TDM-Reservation".into(), "1".into()), ("X-Robots-Tag".into(), "noai".into())],
            meta: vec![("robots".into(), "noai, noimageai".into()), ("tdm-reservation".into(), "0".into())],
        };
        assert_eq!(opt_out_tags("d", &head).len(), 3);
    }

    #[test]
    fn robots_tags_name_the_agents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("example.org.txt"), "User-agent: GPTBot\nDisallow: /books/\n")
            .unwrap();
        let t = Tagger::default().with_robots_dir(dir.path()).unwrap();
        let tags = t.robots_tags(&doc("x", Some("https://Example.org/books/1")));
        assert_eq!(tags[0].evidence, "robots.txt of example.org: GPTBot: Disallow: /books/");
        assert!(t.robots_tags(&doc("x", Some("https://example.org/news"))).is_empty());
    }
}
