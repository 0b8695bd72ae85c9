//! Coverage of works: which bytes of each work the corpus contains.
//!
//! Accumulated per work and per source (input file) as findings arrive;
//! merges associatively, so shards can be combined in any grouping.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use exlibris_text::{union_spans, Span};

/// Coverage of one work by one source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCoverage {
    /// Documents with findings of the work.
    pub documents: u64,
    /// Findings of the work.
    pub findings: u64,
    /// Covered byte ranges of the work (sorted, disjoint).
    pub ranges: Vec<Span>,
}

/// Coverage of every work, by work index then source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// work index → source → coverage.
    pub works: BTreeMap<u32, BTreeMap<String, SourceCoverage>>,
}

impl Coverage {
    /// Record the findings of one document: `(work, work span)` pairs.
    pub fn add_document(&mut self, source: &str, findings: impl IntoIterator<Item = (u32, Span)>) {
        let mut per_work: BTreeMap<u32, Vec<Span>> = BTreeMap::new();
        for (w, s) in findings {
            per_work.entry(w).or_default().push(s);
        }
        for (w, spans) in per_work {
            let c = self.works.entry(w).or_default().entry(source.to_string()).or_default();
            c.documents += 1;
            c.findings += spans.len() as u64;
            c.ranges.extend(spans);
            // Keep memory bounded by the work's size: re-merge now and then.
            if c.ranges.len() > 4096 {
                c.ranges = union_spans(std::mem::take(&mut c.ranges));
            }
        }
    }

    /// Merge another coverage into this one.
    pub fn merge(&mut self, other: &Coverage) {
        for (w, sources) in &other.works {
            let mine = self.works.entry(*w).or_default();
            for (src, c) in sources {
                let m = mine.entry(src.clone()).or_default();
                m.documents += c.documents;
                m.findings += c.findings;
                m.ranges.extend(c.ranges.iter().copied());
                m.ranges = union_spans(std::mem::take(&mut m.ranges));
            }
        }
    }

    /// Normalise every range list (sorted, disjoint).
    pub fn compact(&mut self) {
        for sources in self.works.values_mut() {
            for c in sources.values_mut() {
                c.ranges = union_spans(std::mem::take(&mut c.ranges));
            }
        }
    }

    /// All sources of one work together: (documents, findings, ranges).
    pub fn total(&self, work: u32) -> (u64, u64, Vec<Span>) {
        let Some(sources) = self.works.get(&work) else { return (0, 0, Vec::new()) };
        let docs = sources.values().map(|c| c.documents).sum();
        let finds = sources.values().map(|c| c.findings).sum();
        let ranges = union_spans(sources.values().flat_map(|c| c.ranges.iter().copied()).collect());
        (docs, finds, ranges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: u64, b: u64) -> Span {
        Span { start: a, end: b }
    }

    #[test]
    fn merge_is_associative_and_matches_one_pass() {
        let docs: Vec<(&str, Vec<(u32, Span)>)> = vec![
            ("a", vec![(0, s(0, 10)), (1, s(5, 8))]),
            ("b", vec![(0, s(8, 20))]),
            ("a", vec![(0, s(30, 40)), (0, s(35, 50))]),
            ("c", vec![(2, s(1, 2))]),
        ];
        let mut whole = Coverage::default();
        let mut parts: Vec<Coverage> = Vec::new();
        for (src, f) in &docs {
            whole.add_document(src, f.iter().copied());
            let mut p = Coverage::default();
            p.add_document(src, f.iter().copied());
            parts.push(p);
        }
        whole.compact();
        let mut left = parts[0].clone();
        for p in &parts[1..] {
            left.merge(p);
        }
        let mut right = parts[3].clone();
        let mut mid = parts[1].clone();
        mid.merge(&parts[2]);
        right.merge(&mid);
        let mut right2 = parts[0].clone();
        right2.merge(&right);
        assert_eq!(left, whole);
        assert_eq!(right2.total(0), whole.total(0));
        assert_eq!(whole.total(0), (3, 4, vec![s(0, 20), s(30, 50)]));
    }
}
