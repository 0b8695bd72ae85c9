//! The licence ledger: `sources.toml` declares where the corpus came from,
//! under which licence, and every document is attributed to exactly one
//! source (the first that matches, in declaration order) or to
//! [`UNDECLARED`].
//!
//! ```toml
//! [[source]]
//! name = "wiki"
//! path = "corpora/wiki/*.jsonl"        # glob over the input file's path
//! url_prefix = "https://en.wikipedia.org/"  # or the document's URL
//! licence = "CC-BY-SA-4.0"             # SPDX id or agreement reference
//! rights_holder = "Wikipedia contributors"
//! acquired = "2025-06-01"
//! method = "download of the dump"
//! notes = ""
//! ```
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The source name of documents no source claims.
pub const UNDECLARED: &str = "undeclared";

/// One declared source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Its name, unique.
    pub name: String,
    /// Glob over input file paths.
    #[serde(default)]
    pub path: Option<String>,
    /// Prefix of document URLs.
    #[serde(default)]
    pub url_prefix: Option<String>,
    /// SPDX identifier or licence agreement reference.
    pub licence: String,
    /// Who holds the rights.
    #[serde(default)]
    pub rights_holder: Option<String>,
    /// When it was acquired.
    #[serde(default)]
    pub acquired: Option<String>,
    /// How it was acquired (crawl, download, purchase, licence …).
    #[serde(default)]
    pub method: Option<String>,
    /// Anything else.
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(skip)]
    glob: Option<glob::Pattern>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerFile {
    #[serde(default)]
    source: Vec<Source>,
}

/// The declared sources.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// In declaration order.
    pub sources: Vec<Source>,
}

/// Documents and bytes of one source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCount {
    /// Its licence (`undeclared` for [`UNDECLARED`]).
    pub licence: String,
    /// Documents attributed to it.
    pub documents: u64,
    /// Their text bytes.
    pub bytes: u64,
}

impl Ledger {
    /// Parse a `sources.toml` (`name` for messages).
    pub fn parse(text: &str, name: &str) -> Result<Ledger> {
        let bad = |m: String| Error::Config(name.to_string(), m);
        let file: LedgerFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut sources = file.source;
        for (i, s) in sources.iter_mut().enumerate() {
            if s.name == UNDECLARED || s.name.is_empty() {
                return Err(bad(format!("source {}: name {:?} is reserved or empty", i + 1, s.name)));
            }
            if s.path.is_none() && s.url_prefix.is_none() {
                return Err(bad(format!("source {:?}: give a path glob or a url_prefix", s.name)));
            }
            if let Some(p) = &s.path {
                s.glob = Some(glob::Pattern::new(p).map_err(|e| bad(format!("source {:?}: {e}", s.name)))?);
            }
        }
        let mut names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("source {:?} declared twice", w[0])));
        }
        Ok(Ledger { sources })
    }

    /// Read a `sources.toml`.
    pub fn read(path: &Path) -> Result<Ledger> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
        Ledger::parse(&text, &path.display().to_string())
    }

    /// The source of a document, by its input file and URL.
    pub fn attribute(&self, file: &str, url: Option<&str>) -> Option<&Source> {
        self.sources.iter().find(|s| {
            s.glob.as_ref().is_some_and(|g| g.matches(file))
                || matches!((&s.url_prefix, url), (Some(p), Some(u)) if u.starts_with(p.as_str()))
        })
    }

    /// The source name of a document ([`UNDECLARED`] when none).
    pub fn source_name(&self, file: &str, url: Option<&str>) -> &str {
        self.attribute(file, url).map_or(UNDECLARED, |s| s.name.as_str())
    }

    /// An empty per-source count table, every declared source listed.
    pub fn counts(&self) -> BTreeMap<String, SourceCount> {
        let mut m: BTreeMap<String, SourceCount> = self
            .sources
            .iter()
            .map(|s| (s.name.clone(), SourceCount { licence: s.licence.clone(), ..Default::default() }))
            .collect();
        m.insert(UNDECLARED.into(), SourceCount { licence: UNDECLARED.into(), ..Default::default() });
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_go_to_the_first_matching_source() {
        let l = Ledger::parse(
            "[[source]]\nname='wiki'\npath='data/wiki*'\nlicence='CC-BY-SA-4.0'\n\n[[source]]\nname='web'\nurl_prefix='https://'\nlicence='LicenseRef-crawl'\n",
            "t",
        )
        .unwrap();
        assert_eq!(l.source_name("data/wiki-1.jsonl", Some("https://x")), "wiki");
        assert_eq!(l.source_name("other.jsonl", Some("https://x")), "web");
        assert_eq!(l.source_name("other.jsonl", None), UNDECLARED);
        assert!(Ledger::parse("[[source]]\nname='a'\nlicence='MIT'\n", "t").is_err());
        assert!(Ledger::parse("[[source]]\nname='a'\npath='*'\nlicence='MIT'\nlicense='x'\n", "t").is_err());
    }
}
