//! The findings store and the HTML report, on the shared fixture.
use exlibris_report::store::{Store, DB, EVIDENCE_BYTES, STRIP_CELLS};
use exlibris_report::{fixture, html_report, HtmlOptions};
use exlibris_scan::Results;

#[test]
fn store_holds_what_the_results_files_hold() {
    let fx = fixture::build();
    let r = Results::read(&fx.results).unwrap();
    let s = Store::open_for(&r).unwrap();
    let (found, works) = s.found_works(100).unwrap();
    assert_eq!(found, 2);
    assert_eq!(works[0].work_id, "quiet-river");
    for w in &works {
        let summary = r.works.works.iter().find(|x| x.work_id == w.work_id).unwrap();
        assert_eq!(
            (w.documents, w.findings, w.covered_bytes),
            (summary.documents, summary.findings, summary.covered_bytes)
        );
        assert_eq!(w.strip.len(), STRIP_CELLS);
        // No part is in more documents than the work is.
        assert!(w.strip.iter().all(|&c| c as u64 <= w.documents));
        assert!(w.strip.iter().any(|&c| c > 0));
    }
    // quiet-river: doc-1 and doc-2 overlap on bytes 4000..7000 of it.
    assert_eq!(works[0].documents, 2);
    assert_eq!(*works[0].strip.iter().max().unwrap(), 2);
    // Every finding of findings.jsonl is in the store, with its evidence.
    let records: Vec<_> = r.findings().unwrap().map(Result::unwrap).collect();
    let mut n = 0;
    for w in &works {
        for f in s.findings_of_work(w.idx, 1000, 0).unwrap() {
            n += 1;
            let rec = records.iter().find(|x| x.doc_id == f.doc_id && x.work_start == f.work_start).unwrap();
            assert_eq!(
                (rec.doc_start, rec.doc_end, rec.work_end, rec.record),
                (f.doc_start, f.doc_end, f.work_end, f.record)
            );
            assert!(f.doc_text.len() <= EVIDENCE_BYTES && f.work_text.len() <= EVIDENCE_BYTES);
            assert!(!f.doc_text.is_empty());
            let text = &fx.works[f.work_idx as usize];
            assert!(
                text[f.work_start as usize..].starts_with(&f.work_text),
                "work evidence is the work's text"
            );
        }
    }
    assert_eq!(n, records.len());
    // Lookups by title, author, ISBN (with or without hyphens).
    assert_eq!(s.search_works("quiet", 10, 0).unwrap().0, 1);
    assert_eq!(s.search_works("ben stone", 10, 0).unwrap().1[0].work_id, "empty-house");
    assert_eq!(s.search_works("9781402894626", 10, 0).unwrap().1[0].work_id, "empty-house");
    assert_eq!(s.search_works("978-0-14-044913-6", 10, 0).unwrap().1[0].work_id, "north-road");
    assert_eq!(s.search_works("100%", 10, 0).unwrap().0, 0);
    assert_eq!(s.search_works("", 10, 0).unwrap().0, 3);
    // Sources: one input file; domains from URLs.
    let src = s.sources(false, 10).unwrap();
    assert_eq!(src.len(), 1);
    let dom = s.sources(true, 10).unwrap();
    assert!(dom.iter().any(|d| d.name == "example.org" && d.documents == 2), "{dom:?}");
}

#[test]
fn store_of_another_run_is_refused() {
    let fx = fixture::build();
    let mut r = Results::read(&fx.results).unwrap();
    r.stats.run.started_unix += 1;
    let e = Store::open_for(&r).err().unwrap().to_string();
    assert!(e.contains("different runs"), "{e}");
    std::fs::remove_file(fx.results.join(DB)).unwrap();
    assert!(Store::open_for(&r).err().unwrap().to_string().contains("rerun `exlibris scan`"));
}

#[test]
fn html_report_is_self_contained_and_bounded() {
    let fx = fixture::build();
    let r = Results::read(&fx.results).unwrap();
    let s = Store::open_for(&r).unwrap();
    let page = html_report(&r, &s, &HtmlOptions::default()).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    for forbidden in ["http://", "https://cdn", "<link", "src=\"http"] {
        // URLs of documents appear only inside the JSON data, escaped.
        let outside_data = page.split("<script type=\"application/json\"").next().unwrap();
        assert!(!outside_data.contains(forbidden), "{forbidden} outside the data");
    }
    // Document text cannot end the data block early.
    let data = page.split("id=\"data\">").nth(1).unwrap().split("</script>").next().unwrap();
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["totals"]["works_found"], 2);
    assert_eq!(v["totals"]["documents"], 4);
    assert!((1..=3).contains(&v["works"][0]["evidence"].as_array().unwrap().len()));
    // The OCR error of doc-1 shows as a difference.
    let ev = v["works"][0]["evidence"].as_array().unwrap();
    assert!(
        ev.iter().any(|e| e["doc_html"].as_str().unwrap().contains("<mark class=\"d\">rnorning</mark>")),
        "{ev:?}"
    );
    let small =
        html_report(&r, &s, &HtmlOptions { max_works: 1, evidence_per_work: 1, ..Default::default() })
            .unwrap();
    assert!(small.len() < page.len());
}

/// Every row of every table, in row order.
fn dump(db: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut out = Vec::new();
    for table in ["meta", "works", "sources", "documents", "findings", "work_sources"] {
        let mut st = c.prepare(&format!("SELECT * FROM {table} ORDER BY rowid")).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in rows {
            out.push(format!("{table}: {}", row.unwrap().join(" | ")));
        }
    }
    out
}

#[test]
fn the_store_a_scan_writes_is_the_one_built_from_its_results() {
    // The fixture scans as `exlibris scan` does: the store is fed by the
    // scan's sink while it runs. Built again from the published results
    // (as after a resumed scan or a merge), it must be the same.
    let fx = fixture::build();
    let fed = dump(&fx.results.join(DB));
    assert!(fed.iter().any(|r| r.starts_with("findings: ")), "{fed:?}");
    std::fs::rename(fx.results.join(DB), fx.results.join("fed.db")).unwrap();
    exlibris_report::StoreWriter::build(&Results::read(&fx.results).unwrap()).unwrap();
    assert_eq!(dump(&fx.results.join(DB)), fed);
}

#[test]
fn the_store_feed_refuses_inputs_out_of_order() {
    // A scan with several readers interleaves inputs; the feed, which must
    // insert in the order of the published findings, says so instead of
    // writing another order.
    let fx = fixture::build();
    let index = exlibris_index::Index::open(&fx.index).unwrap();
    let out = fx.dir.path().join("feed");
    std::fs::create_dir(&out).unwrap();
    let mut feed = exlibris_report::StoreFeed::start(&out, &index).unwrap();
    let doc = exlibris_scan::Document {
        id: "d".into(),
        text: "some text".into(),
        url: None,
        origin: exlibris_scan::Origin { file: "c.jsonl".into(), record: 1, offset: 0 },
    };
    use exlibris_scan::Sink;
    assert!(feed.document(0, &doc, &[], &index).unwrap());
    assert!(feed.document(1, &doc, &[], &index).unwrap());
    let err = feed.document(0, &doc, &[], &index).unwrap_err().to_string();
    assert!(err.contains("inputs in order") && err.contains("input 0 after input 1"), "{err}");
}
