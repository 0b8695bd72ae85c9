//! A draft of the public summary of training content (EU AI Act, Article
//! 53(1)(d); AI Office template of July 2025): general information, data
//! sources by kind, data processing. Filled from the ledger, the taggers and
//! the filter; what they cannot know is left as a marked field.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::corpus::TagSummary;
use crate::filter::FilterStats;
use crate::ledger::{Ledger, UNDECLARED};

/// Marks a field the provider must fill.
pub const TO_FILL: &str = "[TO BE COMPLETED BY THE PROVIDER]";

/// One kind of data source (template section 2).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SourceKind {
    /// Template category.
    pub kind: String,
    /// Declared sources of this kind.
    pub sources: Vec<String>,
    /// Licences.
    pub licences: Vec<String>,
    /// Documents in the audited corpus.
    pub documents: u64,
    /// Text bytes.
    pub bytes: u64,
}

/// The draft summary.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Section 1: provider, model, modalities, size.
    pub general: BTreeMap<String, String>,
    /// Section 2: data sources by kind.
    pub sources: Vec<SourceKind>,
    /// Section 3: processing (opt-outs honoured, illegal content removal).
    pub processing: BTreeMap<String, String>,
}

/// The template's source category of a declared source, from its method.
fn kind_of(method: Option<&str>, url: bool, name: &str) -> &'static str {
    let m = method.unwrap_or("").to_lowercase();
    if name == UNDECLARED {
        "Undeclared (not attributed to any declared source)"
    } else if m.contains("licen") || m.contains("purchase") || m.contains("agreement") {
        "Commercially licensed data (2.2)"
    } else if m.contains("crawl") || m.contains("scrap") || (m.is_empty() && url) {
        "Data crawled and scraped from online sources (2.3)"
    } else if m.contains("user") {
        "User data (2.4)"
    } else if m.contains("synthetic") {
        "Synthetic data (2.5)"
    } else {
        "Publicly available datasets (2.1)"
    }
}

/// Draft the summary.
pub fn draft(ledger: &Ledger, tags: &TagSummary, filter: Option<&FilterStats>) -> TrainingSummary {
    let mut s = TrainingSummary::default();
    for k in ["provider", "model", "modalities", "training data size (tokens)", "knowledge cut-off"] {
        s.general.insert(k.into(), TO_FILL.into());
    }
    s.general.insert("documents audited".into(), tags.stats.read.to_string());
    let mut kinds: BTreeMap<&str, SourceKind> = BTreeMap::new();
    for (name, c) in &tags.sources {
        let src = ledger.sources.iter().find(|x| &x.name == name);
        let kind =
            kind_of(src.and_then(|x| x.method.as_deref()), src.is_some_and(|x| x.url_prefix.is_some()), name);
        let k = kinds.entry(kind).or_insert_with(|| SourceKind { kind: kind.into(), ..Default::default() });
        k.sources.push(name.clone());
        if !k.licences.contains(&c.licence) {
            k.licences.push(c.licence.clone());
        }
        k.documents += c.documents;
        k.bytes += c.bytes;
    }
    s.sources = kinds.into_values().collect();
    let count = |t: &str| tags.stats.documents_by_tag.get(t).copied().unwrap_or(0);
    let p = &mut s.processing;
    p.insert(
        "TDM opt-outs detected".into(),
        format!(
            "{} documents with a TDMRep or noai signal; {} disallowed to AI crawlers by robots.txt",
            count("tdm_opt_out"),
            count("robots_disallow")
        ),
    );
    p.insert("shadow-library markers detected".into(), format!("{} documents", count("shadow_library")));
    p.insert(
        "copyright pages detected".into(),
        format!("{} documents; {} distinct ISBNs", count("copyright_page"), tags.stats.isbns.len()),
    );
    match filter {
        Some(f) => {
            p.insert(
                "removed by the policy gate".into(),
                format!(
                    "{} of {} documents ({} of {} bytes)",
                    f.quarantined, f.read, f.quarantined_bytes, f.input_bytes
                ),
            );
            let rules: Vec<String> = f.by_rule.iter().map(|(r, n)| format!("{r}: {n}")).collect();
            p.insert("removals by rule".into(), rules.join(", "));
        }
        None => {
            p.insert("removed by the policy gate".into(), TO_FILL.into());
        }
    }
    p.insert("measures to respect reservations of rights (Art. 4(3) DSM)".into(), TO_FILL.into());
    p.insert("illegal content removal measures".into(), TO_FILL.into());
    s
}

impl TrainingSummary {
    /// The summary as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut m = String::from("# Public summary of training content (draft)\n\n");
        m.push_str("_EU AI Act, Article 53(1)(d); AI Office template (July 2025). Drafted by exlibris; fields marked ");
        m.push_str(TO_FILL);
        m.push_str(" are not known to it._\n\n## 1. General information\n\n");
        for (k, v) in &self.general {
            m.push_str(&format!("- **{k}**: {v}\n"));
        }
        m.push_str("\n## 2. List of data sources\n\n| kind | sources | licences | documents | bytes |\n|---|---|---|---|---|\n");
        for k in &self.sources {
            m.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                k.kind,
                k.sources.join(", "),
                k.licences.join(", "),
                k.documents,
                k.bytes
            ));
        }
        m.push_str("\n## 3. Data processing aspects\n\n");
        for (k, v) in &self.processing {
            m.push_str(&format!("- **{k}**: {v}\n"));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknowns_are_marked() {
        let ledger =
            Ledger::parse("[[source]]\nname='w'\npath='*'\nlicence='CC0-1.0'\nmethod='crawl'\n", "t")
                .unwrap();
        let mut tags = TagSummary { sources: ledger.counts(), ..Default::default() };
        tags.sources.get_mut("w").unwrap().documents = 3;
        let s = draft(&ledger, &tags, None);
        let md = s.to_markdown();
        assert!(md.contains("Data crawled and scraped"));
        assert!(md.contains(&format!("**provider**: {TO_FILL}")));
        assert!(serde_json::to_string(&s).unwrap().contains("CC0-1.0"));
    }
}
