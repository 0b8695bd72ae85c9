//! The HTML audit report: one self-contained file (inline CSS, inline
//! script, the data as one JSON block), which opens from disk with no
//! network.
//!
//! Size is bounded by design, whatever the size of the results: the file
//! holds at most [`HtmlOptions::max_works`] works (the most covered; each
//! a row and a strip of [`STRIP_CELLS`] document counts, about 0.5 KB), and
//! evidence (both sides, diffed, at most 2 KB each) for the
//! [`HtmlOptions::evidence_per_work`] longest findings of each work, up to
//! [`HtmlOptions::max_evidence_bytes`] (8 MB of HTML) in all. Every other
//! finding stays in the findings store, where `exlibris serve` pages through
//! it. With the defaults a report of 10⁴ works and 10⁶ findings is 18 MB
//! (measured; it does not grow with the number of findings), and the page draws one page of 50
//! rows at a time (strips included), so it stays responsive.
use serde_json::{json, Value};

use exlibris_scan::Results;

use crate::diff::diff_html;
use crate::store::{Result, Store, STRIP_CELLS};

const CSS: &str = include_str!("../assets/report.css");
const JS: &str = include_str!("../assets/report.js");

/// Bounds of an HTML report.
#[derive(Clone, Debug)]
pub struct HtmlOptions {
    /// Works listed (the most covered).
    pub max_works: u32,
    /// Findings shown as evidence per work (the longest).
    pub evidence_per_work: u32,
    /// Evidence in all, in bytes of its HTML (once reached, later works get none).
    pub max_evidence_bytes: usize,
    /// Rows per page of the table.
    pub page_rows: u32,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions { max_works: 10_000, evidence_per_work: 3, max_evidence_bytes: 8 << 20, page_rows: 50 }
    }
}

/// The evidence of one finding as JSON for a page: provenance, spans and
/// the two sides as HTML with their differences marked.
pub fn evidence_json(f: &crate::store::FindingRow) -> Value {
    let (doc_html, work_html, changed) = diff_html(&f.doc_text, &f.work_text);
    json!({
        "id": f.id, "doc_id": f.doc_id, "source": f.source, "record": f.record, "offset": f.offset,
        "url": f.url, "doc_start": f.doc_start, "doc_end": f.doc_end, "work_start": f.work_start,
        "work_end": f.work_end, "words": f.words, "score": f.score, "changed_words": changed,
        "doc_html": doc_html, "work_html": work_html,
        "truncated": (f.doc_text.len() as u64) < f.doc_end - f.doc_start,
    })
}

/// The data of the report, as embedded in the page.
pub fn report_data(r: &Results, store: &Store, o: &HtmlOptions) -> Result<Value> {
    let st = &r.stats.stats;
    let (found, works) = store.found_works(o.max_works)?;
    let mut evidence_bytes = 0usize;
    let mut rows = Vec::with_capacity(works.len());
    for w in &works {
        let mut ev = Vec::new();
        if evidence_bytes < o.max_evidence_bytes {
            for f in store.top_findings(w.idx, o.evidence_per_work)? {
                let e = evidence_json(&f);
                evidence_bytes +=
                    e["doc_html"].as_str().map_or(0, str::len) + e["work_html"].as_str().map_or(0, str::len);
                ev.push(e);
            }
        }
        rows.push(json!({
            "id": w.work_id, "title": w.title, "author": w.author, "rights": w.rights, "isbn": w.isbn,
            "year": w.year, "bytes": w.bytes, "coverage": w.coverage, "covered_bytes": w.covered_bytes,
            "documents": w.documents, "findings": w.findings, "strip": w.strip, "evidence": ev,
        }));
    }
    let share =
        if st.bytes_scanned > 0 { st.bytes_in_findings as f64 / st.bytes_scanned as f64 } else { 0.0 };
    Ok(json!({
        "results": r.dir.display().to_string(),
        "index_id": r.stats.run.index_id,
        "complete": r.stats.complete,
        "guarantee": r.stats.run.fingerprint.guarantee(),
        "totals": {
            "documents": st.documents_scanned, "documents_rejected": st.documents_rejected,
            "bytes": st.bytes_scanned, "bytes_in_findings": st.bytes_in_findings, "share": share,
            "findings": st.findings, "documents_with_findings": st.documents_with_findings,
            "works_found": found, "works": store.work_count()?,
        },
        "limits": {
            "works_shown": works.len(), "evidence_per_work": o.evidence_per_work,
            "evidence_bytes": evidence_bytes, "page_rows": o.page_rows, "strip_cells": STRIP_CELLS,
        },
        "works": rows,
        "sources": store.sources(false, 200)?,
        "domains": store.sources(true, 200)?,
    }))
}

/// The report page.
pub fn html_report(r: &Results, store: &Store, o: &HtmlOptions) -> Result<String> {
    let data = report_data(r, store, o)?;
    // `<` only occurs inside JSON strings, where \u003c means the same; so
    // no text of a document can close the script element.
    let data = serde_json::to_string(&data).expect("report data serialises").replace('<', "\\u003c");
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>exlibris audit report</title><style>{CSS}</style></head>\n<body>\n\
         <header><h1>exlibris audit report</h1><p id=\"run\"></p></header>\n\
         <main>\n<section id=\"totals\" aria-label=\"Totals\"></section>\n\
         <section aria-labelledby=\"works-h\"><h2 id=\"works-h\">Works found</h2>\
         <p><label>Filter <input id=\"filter\" type=\"search\" placeholder=\"title, author, rights\"></label> \
         <span id=\"count\"></span></p>\
         <table id=\"works\"><thead><tr>\
         <th data-key=\"title\" aria-sort=\"none\"><button>Title</button></th>\
         <th data-key=\"author\" aria-sort=\"none\"><button>Author</button></th>\
         <th data-key=\"rights\" aria-sort=\"none\"><button>Rights</button></th>\
         <th data-key=\"coverage\" aria-sort=\"descending\" class=\"num\"><button>Coverage</button></th>\
         <th data-key=\"documents\" aria-sort=\"none\" class=\"num\"><button>Documents</button></th>\
         <th data-key=\"findings\" aria-sort=\"none\" class=\"num\"><button>Findings</button></th>\
         <th>Coverage strip (first to last byte)</th></tr></thead><tbody></tbody></table>\
         <nav id=\"pager\" aria-label=\"Pages\"><button id=\"prev\">‹ Previous</button> <span id=\"page\"></span> \
         <button id=\"next\">Next ›</button></nav></section>\n\
         <section id=\"work\" aria-live=\"polite\" hidden></section>\n\
         <section aria-labelledby=\"src-h\"><h2 id=\"src-h\">By source</h2><div id=\"sources\"></div></section>\n\
         </main>\n<script type=\"application/json\" id=\"data\">{data}</script>\n<script>{JS}</script>\n</body></html>\n"
    ))
}
