//! Presenting scan results: a table a person reads, JSON for machines, a
//! self-contained HTML report, and the findings store they read.
//!
//! - [`store`]: the SQLite findings store of a results directory
//!   ([`StoreWriter`] is the scan's sink for it, [`Store`] reads it).
//! - [`html`]: the HTML report ([`html_report`]); [`diff`] marks the
//!   differences between the two sides of a finding.
//!
//! [`text_report`] renders the totals and the works by coverage, each with a
//! coverage strip (the book from first to last byte, darker where more of
//! it was found); [`json_report`] gives the same as one JSON value.
//!
//! ```no_run
//! let results = exlibris_scan::Results::read("results".as_ref())?;
//! print!("{}", exlibris_report::text_report(&results, 50));
//! # Ok::<(), exlibris_scan::ScanError>(())
//! ```
#![deny(missing_docs)]

use std::fmt::Write;

pub mod diff;
#[doc(hidden)]
pub mod fixture;
pub mod html;
pub mod store;

pub use html::{html_report, HtmlOptions};
pub use store::{Store, StoreError, StoreFeed, StoreWriter};

use exlibris_scan::{Results, WorkSummary};
use exlibris_text::Span;

/// Cells of a terminal coverage strip.
pub const STRIP_CELLS: usize = 40;

/// Covered share of each of `cells` equal parts of a work of `bytes` bytes.
pub fn strip(ranges: &[Span], bytes: u64, cells: usize) -> Vec<f64> {
    let mut out = vec![0.0; cells];
    if bytes == 0 || cells == 0 {
        return out;
    }
    let cell = bytes as f64 / cells as f64;
    for r in ranges {
        let (s, e) = (r.start as f64, r.end.min(bytes) as f64);
        let (first, last) = ((s / cell) as usize, (((e / cell).ceil() as usize).max(1) - 1).min(cells - 1));
        for (i, v) in out.iter_mut().enumerate().take(last + 1).skip(first) {
            let (cs, ce) = (i as f64 * cell, (i + 1) as f64 * cell);
            *v += (e.min(ce) - s.max(cs)).max(0.0) / cell;
        }
    }
    out.iter_mut().for_each(|v| *v = v.min(1.0));
    out
}

fn strip_text(w: &WorkSummary) -> String {
    const LEVELS: [char; 5] = ['·', '░', '▒', '▓', '█'];
    strip(&w.ranges, w.bytes, STRIP_CELLS)
        .iter()
        .map(|&v| if v <= 0.0 { LEVELS[0] } else { LEVELS[1 + ((v * 3.999) as usize).min(3)] })
        .collect()
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The human-readable report: totals, then the `top` works by coverage.
pub fn text_report(r: &Results, top: usize) -> String {
    let st = &r.stats.stats;
    let mut o = String::new();
    let found: Vec<&WorkSummary> = {
        let mut v: Vec<&WorkSummary> = r.works.works.iter().filter(|w| w.findings > 0).collect();
        v.sort_by(|a, b| b.coverage.total_cmp(&a.coverage).then(a.work_id.cmp(&b.work_id)));
        v
    };
    let _ = writeln!(o, "exlibris audit of {} (index {})", r.dir.display(), r.stats.run.index_id);
    let _ = writeln!(
        o,
        "documents: read {} = scanned {} + rejected {}{}",
        st.documents_read,
        st.documents_scanned,
        st.documents_rejected,
        if r.stats.complete { "" } else { "  (PARTIAL RUN: see rejected.jsonl)" }
    );
    let share =
        if st.bytes_scanned > 0 { st.bytes_in_findings as f64 / st.bytes_scanned as f64 } else { 0.0 };
    let _ = writeln!(
        o,
        "text scanned: {:.1} MB in {:.1}s ({:.1} MB/s); catalogued text: {:.2}% of the corpus",
        st.bytes_scanned as f64 / 1e6,
        st.seconds,
        st.mb_per_s(),
        share * 100.0
    );
    let _ = writeln!(
        o,
        "findings: {} in {} documents; works found: {} of {}",
        st.findings,
        st.documents_with_findings,
        found.len(),
        r.works.works.len()
    );
    let _ = writeln!(
        o,
        "guarantee: any shared run of {} normalised words is found\n",
        r.stats.run.fingerprint.guarantee()
    );
    let _ = writeln!(
        o,
        "{:<32} {:<22} {:<14} {:>8} {:>6} {:>8}  coverage strip",
        "title", "author", "rights", "coverage", "docs", "findings"
    );
    for w in found.iter().take(top) {
        let _ = writeln!(
            o,
            "{:<32} {:<22} {:<14} {:>7.2}% {:>6} {:>8}  {}",
            cut(&w.title, 32),
            cut(&w.author, 22),
            cut(w.rights.as_deref().unwrap_or("-"), 14),
            w.coverage * 100.0,
            w.documents,
            w.findings,
            strip_text(w)
        );
    }
    if found.len() > top {
        let _ = writeln!(o, "… and {} more works (use --top)", found.len() - top);
    }
    let missing = r.works.works.len() - found.len();
    if missing > 0 {
        let _ = writeln!(o, "{missing} catalogued works were not found in the corpus");
    }
    o
}

/// The same as JSON.
pub fn json_report(r: &Results) -> serde_json::Value {
    serde_json::json!({
        "results": r.dir.display().to_string(),
        "run": r.stats.run,
        "complete": r.stats.complete,
        "totals": {
            "documents_read": r.stats.stats.documents_read,
            "documents_scanned": r.stats.stats.documents_scanned,
            "documents_rejected": r.stats.stats.documents_rejected,
            "bytes_scanned": r.stats.stats.bytes_scanned,
            "bytes_in_findings": r.stats.stats.bytes_in_findings,
            "findings": r.stats.stats.findings,
            "documents_with_findings": r.stats.stats.documents_with_findings,
            "works_found": r.works.works.iter().filter(|w| w.findings > 0).count(),
            "works": r.works.works.len(),
        },
        "works": r.works.works.iter().map(|w| serde_json::json!({
            "work_id": w.work_id, "title": w.title, "author": w.author, "rights": w.rights,
            "coverage": w.coverage, "covered_bytes": w.covered_bytes, "bytes": w.bytes,
            "documents": w.documents, "findings": w.findings, "strip": strip(&w.ranges, w.bytes, STRIP_CELLS),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_shares_are_exact() {
        let s = strip(&[Span { start: 0, end: 25 }, Span { start: 75, end: 100 }], 100, 4);
        assert_eq!(s, vec![1.0, 0.0, 0.0, 1.0]);
        let s = strip(&[Span { start: 10, end: 20 }], 100, 4);
        assert!((s[0] - 0.4).abs() < 1e-9 && s[1] == 0.0);
    }
}
