//! End-to-end checks of the taggers and the policy gate.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use exlibris_policy::corpus::{for_each_record, tag_inputs};
use exlibris_policy::filter::{filter, FilterDirs};
use exlibris_policy::{Ledger, Policy, TagKind, Tagger};
use exlibris_scan::{discover, ReadOptions};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Generate the shared benchmark's dev corpus, or `None` (with a message)
/// when the benchmark or its corpora are absent.
fn dev_corpus(dir: &Path) -> Option<PathBuf> {
    let s = shared();
    let script = s.join("bench/make_audit_corpus.py");
    let books = s.join("corpora/books");
    let wiki = s.join("corpora/wiki/enwiki-excerpt.jsonl");
    if !(script.exists() && books.exists() && wiki.exists()) {
        eprintln!("skipped: the shared benchmark is not at {}", s.display());
        return None;
    }
    let st = Command::new("python3")
        .arg(&script)
        .args(["--books".as_ref(), books.as_os_str(), "--background".as_ref(), wiki.as_os_str()])
        .args(["--out".as_ref(), dir.as_os_str()])
        .args(["--seed", "1", "--docs", "400"])
        .status();
    match st {
        Ok(s) if s.success() => Some(dir.to_path_buf()),
        other => {
            eprintln!("skipped: make_audit_corpus.py failed: {other:?}");
            None
        }
    }
}

#[test]
fn shadow_markers_match_the_benchmark() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(dir) = dev_corpus(tmp.path()) else { return };
    let truth: HashSet<String> = std::fs::read_to_string(dir.join("markers.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["doc_id"].as_str().unwrap().to_string()
        })
        .collect();
    let (inputs, _) = discover(&[dir.join("corpus.jsonl")]).unwrap();
    let mut tagged = HashSet::new();
    let sum = tag_inputs(&inputs, &ReadOptions::default(), &Tagger::default(), &Ledger::default(), |t| {
        if t.tag == TagKind::ShadowLibrary {
            tagged.insert(t.doc_id.clone());
        }
        Ok(())
    })
    .unwrap();
    assert!(sum.stats.reconciles(), "{:?}", sum.stats);
    assert_eq!(sum.stats.read, 400);
    let tp = tagged.intersection(&truth).count() as f64;
    let precision = if tagged.is_empty() { 1.0 } else { tp / tagged.len() as f64 };
    let recall = if truth.is_empty() { 1.0 } else { tp / truth.len() as f64 };
    println!(
        "shadow-library markers: {} marked documents, {} tagged, precision {precision:.3}, recall {recall:.3}",
        truth.len(),
        tagged.len()
    );
    println!("tags: {:?}", sum.stats.documents_by_tag);
    assert!(!truth.is_empty());
    assert!(precision >= 0.95 && recall >= 0.95, "precision {precision:.3} recall {recall:.3}");
}

fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    let mut s = Vec::new();
    let mut f = std::fs::File::open(path).unwrap();
    let mut raw = Vec::new();
    f.read_to_end(&mut raw).unwrap();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut s).unwrap();
    } else {
        s = raw;
    }
    s.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn counted(lines: Vec<Vec<u8>>) -> BTreeMap<Vec<u8>, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l).or_default() += 1;
    }
    m
}

#[test]
fn keep_and_quarantine_partition_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("c.jsonl");
    let mut text = String::new();
    let docs = [
        ("a", "Plain prose about a river.", "https://ok.example/a"),
        ("b", "Chapter text.\n\nOceanofPDF.com\n\nmore text", "https://ok.example/b"),
        (
            "c",
            "Copyright © 2001 Someone\nAll rights reserved.\nISBN 978-0-306-40615-7",
            "https://ok.example/c",
        ),
        ("d", "Undeclared prose.", "https://elsewhere.example/d"),
        ("a", "Plain prose about a river.", "https://ok.example/a"),
    ];
    for (id, t, u) in docs {
        text.push_str(&serde_json::json!({"id": id, "text": t, "url": u}).to_string());
        text.push('\n');
    }
    text.push_str("{not json}\n\n");
    text.push_str(&serde_json::json!({"id": "e", "text": "", "url": "https://ok.example/e"}).to_string());
    text.push('\n');
    std::fs::write(&corpus, &text).unwrap();
    // The same corpus gzip-compressed: the output keeps the format.
    let gz = tmp.path().join("c2.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();

    let ledger =
        Ledger::parse("[[source]]\nname='ok'\nurl_prefix='https://ok.example/'\nlicence='CC-BY-4.0'\n", "t")
            .unwrap();
    let policy =
        Policy::parse("deny_tags=['shadow_library','copyright_page']\ndeny_undeclared=true\n", "policy.toml")
            .unwrap();
    let (inputs, _) = discover(&[corpus.clone(), gz.clone()]).unwrap();
    let (keep, quar) = (tmp.path().join("keep"), tmp.path().join("quarantine"));
    let dirs = FilterDirs { keep: &keep, quarantine: &quar };
    let s = filter(
        &inputs,
        &ReadOptions::default(),
        &Tagger::default(),
        &ledger,
        &policy,
        &HashMap::new(),
        &dirs,
    )
    .unwrap();
    assert!(s.reconciles(), "{s:?}");
    assert_eq!((s.read, s.kept, s.quarantined), (14, 4, 10), "{s:?}");
    for (input, name) in [(&corpus, "c.jsonl"), (&gz, "c2.jsonl.gz")] {
        let kept = lines_of(&keep.join(name));
        let quarantined = lines_of(&quar.join(name));
        let mut union = kept.clone();
        union.extend(quarantined.clone());
        assert_eq!(counted(union), counted(lines_of(input)), "{name}: keep ∪ quarantine is the input");
        let kept: HashSet<_> = kept.into_iter().collect();
        assert!(quarantined.iter().all(|l| !kept.contains(l)));
    }
    let reasons = std::fs::read_to_string(quar.join("reasons.jsonl")).unwrap();
    assert_eq!(reasons.lines().count(), 10);
    assert!(reasons.contains("tag shadow_library"), "{reasons}");
    assert!(reasons.contains("source: undeclared"));
    assert!(reasons.contains("unreadable: "));
}

fn warc_response(id: &str, url: &str, http: &str) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: {url}\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
        http.len()
    )
    .into_bytes();
    r.extend_from_slice(http.as_bytes());
    r.extend_from_slice(b"\r\n\r\n");
    r
}

#[test]
fn opt_outs_in_warc_records_are_tagged() {
    let tmp = tempfile::tempdir().unwrap();
    let warc = tmp.path().join("w.warc");
    let mut b = Vec::new();
    b.extend(warc_response("1", "https://a.example/1", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\ntdm-reservation: 1\r\ntdm-policy: https://a.example/policy.json\r\n\r\n<p>Some page text here.</p>"));
    b.extend(warc_response("2", "https://b.example/2", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><meta name=\"robots\" content=\"noai, noimageai\"></head><body><p>Another page.</p></body></html>"));
    b.extend(warc_response(
        "3",
        "https://c.example/books/3",
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>Free to mine.</p>",
    ));
    std::fs::write(&warc, b).unwrap();
    let robots = tmp.path().join("robots");
    std::fs::create_dir(&robots).unwrap();
    std::fs::write(robots.join("c.example.txt"), "User-agent: CCBot\nDisallow: /books/\n").unwrap();
    let (inputs, _) = discover(&[warc]).unwrap();
    let tagger = Tagger::default().with_robots_dir(&robots).unwrap();
    let mut n = 0;
    for input in &inputs {
        for_each_record(input, &ReadOptions::default(), |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    }
    let mut tags = Vec::new();
    let sum = tag_inputs(&inputs, &ReadOptions::default(), &tagger, &Ledger::default(), |t| {
        tags.push((t.doc_id.clone(), t.tag, t.evidence.clone()));
        Ok(())
    })
    .unwrap();
    assert_eq!(sum.stats.read, n);
    assert!(sum.stats.reconciles());
    let by_doc = |id: &str| tags.iter().filter(|t| t.0.contains(id)).map(|t| t.1).collect::<Vec<_>>();
    assert_eq!(by_doc(":1>"), [TagKind::TdmOptOut, TagKind::TdmOptOut], "{tags:?}");
    assert_eq!(by_doc(":2>"), [TagKind::TdmOptOut], "{tags:?}");
    assert_eq!(by_doc(":3>"), [TagKind::RobotsDisallow], "{tags:?}");
}
