//! The policy gate: rules over tags, sources and findings decide whether a
//! document is kept or quarantined, and say why.
//!
//! ```toml
//! deny_tags = ["shadow_library", "tdm_opt_out", "robots_disallow"]
//! min_confidence = 0.5          # tags below it are ignored
//! deny_undeclared = true        # documents of no declared source
//! allow_licences = ["CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0"]  # others denied
//! allow_sources = ["licensed-books"]  # kept whatever their tags
//! deny_findings = true          # findings of works whose rights are not allowed
//! allow_rights = ["public-domain", "licensed"]
//! ```
use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ledger::UNDECLARED;
use crate::tag::Tag;
use crate::{Error, Result};

/// A policy, as read from `policy.toml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Tags (by name) that quarantine a document.
    #[serde(default)]
    pub deny_tags: Vec<String>,
    /// Tags under this confidence are ignored.
    #[serde(default)]
    pub min_confidence: f32,
    /// Quarantine documents of no declared source.
    #[serde(default)]
    pub deny_undeclared: bool,
    /// When not empty, quarantine documents whose source's licence is not listed.
    #[serde(default)]
    pub allow_licences: Vec<String>,
    /// Sources whose documents are kept whatever else is found.
    #[serde(default)]
    pub allow_sources: Vec<String>,
    /// Quarantine documents with findings of works whose rights are not in `allow_rights`.
    #[serde(default)]
    pub deny_findings: bool,
    /// Rights that make a work's findings acceptable.
    #[serde(default = "default_rights")]
    pub allow_rights: Vec<String>,
}

fn default_rights() -> Vec<String> {
    vec!["public-domain".into(), "licensed".into()]
}

/// What the gate decided for one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Kept (true) or quarantined.
    pub keep: bool,
    /// Why it was quarantined (empty when kept).
    pub reasons: Vec<String>,
}

/// What is known of one document when it is judged.
pub struct Facts<'a> {
    /// Its tags.
    pub tags: &'a [Tag],
    /// Its source's name ([`UNDECLARED`] when none).
    pub source: &'a str,
    /// Its source's licence (None when undeclared).
    pub licence: Option<&'a str>,
    /// The works it has findings of, with their rights.
    pub works: &'a [(String, Option<String>)],
}

impl Policy {
    /// Parse a `policy.toml`.
    pub fn parse(text: &str, name: &str) -> Result<Policy> {
        let p: Policy = toml::from_str(text).map_err(|e| Error::Config(name.into(), e.to_string()))?;
        let known =
            ["shadow_library", "copyright_page", "isbn", "tdm_opt_out", "robots_disallow", "book_like"];
        if let Some(t) = p.deny_tags.iter().find(|t| !known.contains(&t.as_str())) {
            return Err(Error::Config(
                name.into(),
                format!("unknown tag {t:?} (known: {})", known.join(", ")),
            ));
        }
        Ok(p)
    }

    /// Read a `policy.toml`.
    pub fn read(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Judge one document.
    pub fn decide(&self, f: &Facts<'_>) -> Decision {
        if self.allow_sources.iter().any(|s| s == f.source) {
            return Decision { keep: true, reasons: Vec::new() };
        }
        let mut reasons = Vec::new();
        if self.deny_undeclared && f.source == UNDECLARED {
            reasons.push("source: undeclared".to_string());
        }
        if !self.allow_licences.is_empty() {
            if let Some(l) = f.licence.filter(|l| !self.allow_licences.iter().any(|a| a == l)) {
                reasons.push(format!("licence {l:?} of source {:?} not allowed", f.source));
            }
        }
        let mut seen: HashMap<&str, ()> = HashMap::new();
        for t in f.tags {
            let name = t.tag.name();
            if t.confidence >= self.min_confidence
                && self.deny_tags.iter().any(|d| d == name)
                && seen.insert(name, ()).is_none()
            {
                reasons.push(format!("tag {name} ({:.2}): {}", t.confidence, t.evidence));
            }
        }
        if self.deny_findings {
            for (work, rights) in f.works {
                if !rights.as_ref().is_some_and(|r| self.allow_rights.contains(r)) {
                    let r = rights.as_deref().unwrap_or("unknown");
                    reasons.push(format!("finding of work {work:?} (rights {r})"));
                }
            }
        }
        Decision { keep: reasons.is_empty(), reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag::TagKind;

    #[test]
    fn rules_give_reasons() {
        let p = Policy::parse(
            "deny_tags=['shadow_library']\nmin_confidence=0.5\ndeny_undeclared=true\nallow_licences=['CC0-1.0']\nallow_sources=['mine']\ndeny_findings=true\n",
            "t",
        )
        .unwrap();
        let tags = vec![
            Tag::new("d", TagKind::ShadowLibrary, 0.95, "watermark".into(), None),
            Tag::new("d", TagKind::ShadowLibrary, 0.95, "again".into(), None),
            Tag::new("d", TagKind::BookLike, 0.4, "long".into(), None),
        ];
        let works = vec![
            ("w1".to_string(), Some("in-copyright".to_string())),
            ("w2".into(), Some("public-domain".into())),
        ];
        let f = Facts { tags: &tags, source: UNDECLARED, licence: None, works: &works };
        let d = p.decide(&f);
        assert!(!d.keep);
        assert_eq!(d.reasons.len(), 3, "{:?}", d.reasons);
        let f = Facts { tags: &tags, source: "mine", licence: Some("Proprietary"), works: &works };
        assert!(p.decide(&f).keep);
        let f = Facts { tags: &[], source: "web", licence: Some("CC-BY-4.0"), works: &[] };
        assert_eq!(p.decide(&f).reasons, ["licence \"CC-BY-4.0\" of source \"web\" not allowed"]);
        assert!(Policy::parse("deny_tags=['nope']", "t").is_err());
        assert!(Policy::parse("deny_tag=['isbn']", "t").is_err());
    }
}
