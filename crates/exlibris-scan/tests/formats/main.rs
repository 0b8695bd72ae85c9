//! Corpus formats end to end: the same documents in every format give the
//! same findings; bad input is refused with its place and the scan goes on.
mod fixture;

use std::path::{Path, PathBuf};

use exlibris_scan::{FindingRecord, ScanOptions};
use fixture::*;

/// Works and documents: Austen novels and Wikipedia articles with pasted
/// passages when `../shared` has them, synthetic text otherwise.
fn works_and_docs() -> (Vec<(String, String)>, Vec<Doc>) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let books = ["persuasion", "northangerabbey"].map(|b| shared.join(format!("books/{b}.txt")));
    let wiki = shared.join("wiki/enwiki-excerpt.jsonl");
    let (works, bases): (Vec<(String, String)>, Vec<String>) = if books.iter().all(|b| b.exists())
        && wiki.exists()
    {
        let works = books
            .iter()
            .map(|b| {
                (b.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(b).unwrap())
            })
            .collect();
        let bases = std::fs::read_to_string(&wiki)
            .unwrap()
            .lines()
            .take(20)
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                exlibris_text::truncate_at_char(v["text"].as_str().unwrap(), 4000).to_string()
            })
            .collect();
        (works, bases)
    } else {
        eprintln!("note: ../shared/corpora not found; using synthetic works and documents");
        let works = (0..2).map(|i| (format!("work-{i}"), synthetic_text(i, 20_000))).collect();
        let bases = (0..20).map(|i| synthetic_text(100 + i, 500)).collect();
        (works, bases)
    };
    let docs = bases
        .into_iter()
        .enumerate()
        .map(|(i, mut text)| {
            if i % 2 == 0 {
                // Paste 400 words from the middle of a work into the document.
                let work = &works[i / 2 % works.len()].1;
                let from = work.len() / 3 + i * 5000;
                let from = (from..).find(|&j| work.is_char_boundary(j)).unwrap();
                let passage: String = work[from..].split(' ').skip(1).take(400).collect::<Vec<_>>().join(" ");
                let at = (text.len() / 2..).find(|&j| text.is_char_boundary(j)).unwrap();
                text.insert_str(at, &format!("\n{passage}\n"));
            }
            Doc { id: format!("<urn:exlibris:doc-{i}>"), text, url: format!("https://example.org/{i}") }
        })
        .collect();
    (works, docs)
}

type Key = (String, u64, u64, String, u64, u64, u32);

fn keys(f: &[FindingRecord]) -> Vec<Key> {
    let mut k: Vec<Key> = f
        .iter()
        .map(|f| {
            (f.doc_id.clone(), f.doc_start, f.doc_end, f.work_id.clone(), f.work_start, f.work_end, f.words)
        })
        .collect();
    k.sort();
    k
}

#[test]
fn the_same_documents_in_every_format_give_identical_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (works, docs) = works_and_docs();
    let index = index_of(dir.path(), &works);
    let data = jsonl(&docs);
    let wet = wet_records(&docs);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("plain.jsonl", data.clone()),
        ("members.jsonl.gz", gzip_members(&data, 3)),
        ("frames.jsonl.zst", zstd_frames(&data, 4)),
        // Misnamed: zstd content under a plain name, Parquet under .bin.
        ("misnamed.jsonl", zstd_frames(&data, 7)),
        ("rows.parquet", parquet(&docs, 6)),
        ("rows-misnamed.bin", parquet(&docs, 20)),
        ("plain.wet", wet.concat()),
        ("members.warc.gz", wet.iter().map(|r| gzip(r)).collect::<Vec<_>>().concat()),
    ];
    let mut results = Vec::new();
    for (name, bytes) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let (sink, stats) = scan_paths(&index, &[path], &ScanOptions::default()).unwrap();
        assert!(sink.rejected.is_empty(), "{name}: {:?}", sink.rejected);
        assert_eq!(stats.documents_scanned, docs.len() as u64, "{name}");
        assert!(stats.reconciles());
        results.push((name, sink.findings));
    }
    let expected = keys(&results[0].1);
    let with_findings: std::collections::HashSet<_> = expected.iter().map(|k| k.0.clone()).collect();
    assert!(with_findings.len() >= 10, "every pasted passage is found: {with_findings:?}");
    for (name, findings) in &results {
        assert_eq!(keys(findings), expected, "{name} differs from plain.jsonl");
        assert!(findings
            .iter()
            .all(|f| f.url.as_deref().is_some_and(|u| u.starts_with("https://example.org/"))));
    }
    // Origins lead back to the record's bytes.
    let plain = &files[0].1;
    for f in &results[0].1 {
        let i: usize = f.doc_id.trim_end_matches('>').rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(f.record, i as u64 + 1);
        assert!(plain[f.offset as usize..].starts_with(format!("{{\"id\":\"{}\"", f.doc_id).as_bytes()));
    }
    let wet_plain = &files[6].1;
    for f in &results[6].1 {
        let at = &wet_plain[f.offset as usize..];
        assert!(at.starts_with(b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: "));
        assert!(at[..200].windows(f.doc_id.len()).any(|w| w == f.doc_id.as_bytes()));
    }
    for f in &results[4].1 {
        let i: u64 = f.doc_id.trim_end_matches('>').rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(f.record, i + 1, "Parquet record = row");
    }
}

#[test]
fn warc_response_records_are_html_turned_into_text() {
    let dir = tempfile::tempdir().unwrap();
    let (works, docs) = works_and_docs();
    let index = index_of(dir.path(), &works);
    let mut warc = vec![warcinfo()];
    for d in &docs {
        let req = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
        warc.push(fixture::warc_record(
            "request",
            "<urn:req>",
            Some(&d.url),
            "application/http; msgtype=request",
            req.as_bytes(),
        ));
        let resp = http_response(&html_of(&d.text));
        warc.push(fixture::warc_record(
            "response",
            &d.id,
            Some(&d.url),
            "application/http; msgtype=response",
            &resp,
        ));
        warc.push(fixture::warc_record(
            "metadata",
            "<urn:meta>",
            Some(&d.url),
            "application/warc-fields",
            b"fetchTimeMs: 5\r\n",
        ));
    }
    let path = dir.path().join("crawl.warc.gz");
    std::fs::write(&path, warc.iter().map(|r| gzip(r)).collect::<Vec<_>>().concat()).unwrap();
    let (sink, stats) = scan_paths(&index, &[path], &ScanOptions::default()).unwrap();
    assert!(sink.rejected.is_empty(), "{:?}", sink.rejected);
    assert_eq!(
        stats.documents_scanned,
        docs.len() as u64,
        "request, metadata and warcinfo records are not documents"
    );
    let jpath = dir.path().join("docs.jsonl");
    std::fs::write(&jpath, jsonl(&docs)).unwrap();
    let (plain, _) = scan_paths(&index, &[jpath], &ScanOptions::default()).unwrap();
    // Offsets differ (markup is gone, whitespace collapsed) but the same
    // passages of the same works are found in the same documents.
    let work_spans = |f: &[FindingRecord]| {
        let mut v: Vec<_> =
            f.iter().map(|f| (f.doc_id.clone(), f.work_id.clone(), f.work_start / 1000)).collect();
        v.sort();
        v.dedup();
        v
    };
    assert_eq!(work_spans(&sink.findings), work_spans(&plain.findings));
    assert!(!sink.findings.is_empty());
    assert!(sink.findings.iter().all(|f| f.doc_id.starts_with("<urn:exlibris:doc-") && f.url.is_some()));
}

#[test]
fn directories_and_globs_are_expanded_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("a/b")).unwrap();
    let docs = vec![Doc { id: "x".into(), text: "some text here".into(), url: "u".into() }];
    std::fs::write(d.join("a/b/2.jsonl"), jsonl(&docs)).unwrap();
    std::fs::write(d.join("a/1.parquet"), parquet(&docs, 1)).unwrap();
    std::fs::write(d.join("a/b/crawl"), gzip(&wet_records(&docs).concat())).unwrap(); // sniffed: WARC in gzip
    std::fs::write(d.join("a/notes.md"), "not a corpus").unwrap();
    std::fs::write(d.join("a/.hidden.jsonl"), "").unwrap();
    let (inputs, skipped) = exlibris_scan::discover(&[d.join("a")]).unwrap();
    let got: Vec<(String, exlibris_scan::reader::InputKind)> =
        inputs.iter().map(|i| (i.path.strip_prefix(d).unwrap().display().to_string(), i.kind)).collect();
    use exlibris_scan::reader::InputKind::*;
    assert_eq!(
        got,
        [("a/1.parquet".into(), Parquet), ("a/b/2.jsonl".into(), Jsonl), ("a/b/crawl".into(), Warc)]
    );
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].path.ends_with("notes.md"));
    let (inputs, _) = exlibris_scan::discover(&[d.join("a/**/*.jsonl"), d.join("a/*.parquet")]).unwrap();
    assert_eq!(inputs.len(), 2);
    let err = exlibris_scan::discover(&[d.join("nothing/*.jsonl")]).unwrap_err();
    assert!(err.to_string().contains("no file matches"), "{err}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn bad_input_is_refused_with_its_place_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (works, docs) = works_and_docs();
    let index = index_of(dir.path(), &works);
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let data = jsonl(&docs[..6]);
    // Truncated gzip and zstd: the lines before the cut are scanned.
    let gz = gzip_members(&data, 2);
    write(&corpus, "01-truncated.jsonl.gz", &gz[..gz.len() * 2 / 3]);
    let zs = zstd_frames(&data, 2);
    write(&corpus, "02-truncated.jsonl.zst", &zs[..zs.len() * 2 / 3]);
    // Parquet with a corrupt footer.
    let mut pq = parquet(&docs[..4], 2);
    let n = pq.len();
    pq[n - 12..n - 8].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    write(&corpus, "03-corrupt-footer.parquet", &pq);
    // A WARC record whose Content-Length lies (too long, then too short).
    let mut recs = wet_records(&docs[..4]);
    let lie = |r: &mut Vec<u8>, delta: i64| {
        let s = String::from_utf8(r.clone()).unwrap();
        let i = s.find("Content-Length: ").unwrap() + 16;
        let j = i + s[i..].find('\r').unwrap();
        let len: i64 = s[i..j].parse().unwrap();
        *r = format!("{}{}{}", &s[..i], len + delta, &s[j..]).into_bytes();
    };
    lie(&mut recs[1], 300);
    lie(&mut recs[3], -50);
    write(&corpus, "04-lying-length.warc", &recs.concat());
    // Invalid UTF-8 in the middle of a document, a text field that is a number.
    let mut bad = jsonl(&docs[..1]);
    bad.extend_from_slice(b"{\"id\":\"utf\",\"text\":\"abc \xff\xfe def\"}\n{\"id\":\"num\",\"text\":42}\n");
    bad.extend(jsonl(&docs[1..2]));
    write(&corpus, "05-bad-records.jsonl", &bad);
    write(&corpus, "06-good.jsonl", &jsonl(&docs[..2]));

    let (sink, stats) = scan_paths(&index, std::slice::from_ref(&corpus), &ScanOptions::default()).unwrap();
    assert!(stats.reconciles());
    assert_eq!(stats.documents_rejected, sink.rejected.len() as u64);
    let by_file =
        |name: &str| sink.rejected.iter().filter(|r| r.origin.file.ends_with(name)).collect::<Vec<_>>();
    let f = by_file("01-truncated.jsonl.gz");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].reason.contains("stream error") && f[0].origin.record > 1 && f[0].origin.offset > 0,
        "{}",
        f[0]
    );
    let f = by_file("02-truncated.jsonl.zst");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].reason.contains("stream error") && f[0].origin.record > 1, "{}", f[0]);
    let f = by_file("03-corrupt-footer.parquet");
    assert_eq!(f.len(), 1);
    assert!(f[0].reason.contains("not a readable Parquet file"), "{}", f[0]);
    let f = by_file("04-lying-length.warc");
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(f.iter().all(|r| r.reason.contains("does not end at a record boundary")), "{f:?}");
    assert_eq!((f[0].origin.record, f[1].origin.record), (2, 4), "{f:?}");
    let f = by_file("05-bad-records.jsonl");
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].origin.record, f[0].id.as_deref()), (2, None));
    assert!(f[0].reason.contains("invalid JSON") && f[0].reason.contains("column"), "{}", f[0]);
    assert_eq!(f[1].id.as_deref(), Some("num"));
    assert!(f[1].reason.contains("is a number, not a string"), "{}", f[1]);
    // Everything after the bad records was read: records 3 of the lying WARC
    // (recovered after record 2) and the good file.
    let scanned_in = |name: &str| stats.files.iter().find(|f| f.path.ends_with(name)).unwrap().scanned;
    assert_eq!(scanned_in("04-lying-length.warc"), 2);
    assert_eq!(scanned_in("05-bad-records.jsonl"), 2);
    assert_eq!(scanned_in("06-good.jsonl"), 2);
    assert!(scanned_in("01-truncated.jsonl.gz") >= 2);

    let strict = ScanOptions { strict: true, ..Default::default() };
    let err =
        scan_paths(&index, std::slice::from_ref(&corpus), &strict).err().expect("--strict stops").to_string();
    assert!(err.contains("01-truncated.jsonl.gz") && err.contains("--strict"), "{err}");

    // Read by several threads at once, in batches of a record or two, the
    // same inputs give every input the same records and counts.
    std::fs::write(corpus.join("07-empty.jsonl"), "").unwrap();
    write(&corpus, "08-frames.jsonl.zst", &zstd_frames(&jsonl(&docs), 3));
    let (inputs, _) = exlibris_scan::discover(&[corpus]).unwrap();
    let run = |readers: usize| {
        let opts = ScanOptions { readers, batch_bytes: 3000, ..Default::default() };
        let mut sink = Recorder::default();
        let stats = exlibris_scan::scan(
            &index,
            &inputs,
            &opts,
            &mut [&mut sink as &mut dyn exlibris_scan::Sink],
            &Default::default(),
        )
        .unwrap();
        (sink, stats)
    };
    let (one, one_stats) = run(1);
    assert_eq!(one.ended, (0..inputs.len()).collect::<Vec<_>>(), "one reader: inputs in order");
    for readers in [2, 4, 64] {
        let (many, many_stats) = run(readers);
        assert_eq!(many.per_input, one.per_input, "{readers} readers");
        assert_eq!(many.part_stats, one.part_stats, "{readers} readers");
        let mut ended = many.ended.clone();
        ended.sort();
        assert_eq!(ended, (0..inputs.len()).collect::<Vec<_>>(), "every input ends once");
        let without_time =
            |s: &exlibris_scan::ScanStats| exlibris_scan::ScanStats { seconds: 0.0, ..s.clone() };
        assert_eq!(without_time(&many_stats), without_time(&one_stats), "{readers} readers");
    }
}

/// Records what a scan hands over, per input.
#[derive(Default)]
struct Recorder {
    /// Per input: its documents (id and finding count) and refusals, in order.
    per_input: std::collections::BTreeMap<usize, Vec<String>>,
    /// Per input: its counts (without seconds).
    part_stats: std::collections::BTreeMap<usize, exlibris_scan::ScanStats>,
    /// Inputs in the order they ended.
    ended: Vec<usize>,
}

impl exlibris_scan::Sink for Recorder {
    fn document(
        &mut self,
        input: usize,
        doc: &exlibris_scan::Document,
        findings: &[exlibris_scan::Finding],
        _index: &exlibris_index::Index,
    ) -> exlibris_scan::Result<bool> {
        assert!(!self.ended.contains(&input), "a document after its input ended");
        self.per_input.entry(input).or_default().push(format!("{} {}", doc.id, findings.len()));
        Ok(true)
    }
    fn rejected(&mut self, input: usize, r: &exlibris_scan::Rejection) -> exlibris_scan::Result<bool> {
        assert!(!self.ended.contains(&input), "a refusal after its input ended");
        self.per_input.entry(input).or_default().push(format!("refused {r}"));
        Ok(true)
    }
    fn input_done(
        &mut self,
        i: usize,
        _input: &exlibris_scan::Input,
        stats: &exlibris_scan::ScanStats,
    ) -> exlibris_scan::Result<bool> {
        assert!(!self.ended.contains(&i), "input {i} ended twice");
        self.ended.push(i);
        self.part_stats.insert(i, exlibris_scan::ScanStats { seconds: 0.0, ..stats.clone() });
        Ok(true)
    }
}

/// A stream of `len` bytes of `a` and then `tail`, never held in memory.
struct Endless {
    chunk: Vec<u8>,
    left: u64,
    tail: &'static [u8],
    at: usize,
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let b = std::io::BufRead::fill_buf(self)?;
        let n = b.len().min(buf.len());
        buf[..n].copy_from_slice(&b[..n]);
        std::io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl std::io::BufRead for Endless {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.left > 0 {
            Ok(&self.chunk[..self.chunk.len().min(self.left as usize)])
        } else {
            Ok(&self.tail[self.at..])
        }
    }
    fn consume(&mut self, n: usize) {
        if self.left > 0 {
            self.left -= n as u64;
        } else {
            self.at += n;
        }
    }
}

#[test]
fn a_2_gb_line_is_refused_without_buffering_it() {
    use exlibris_scan::reader::{CorpusReader, JsonlReader, Payload};
    let len = 2u64 << 30;
    let stream = Endless {
        chunk: vec![b'a'; 4 << 20],
        left: len,
        tail: b"\n{\"id\":\"after\",\"text\":\"still read\"}\n",
        at: 0,
    };
    let mut r = JsonlReader::new(stream, "endless.jsonl".into(), 1 << 20);
    let first = r.next_record().unwrap().unwrap();
    let Payload::Refused(rej) = first.payload else { panic!("not refused") };
    assert_eq!((rej.origin.record, rej.origin.offset), (1, 0));
    assert!(rej.reason.contains(&format!("record of {} bytes exceeds the limit", len + 1)), "{}", rej.reason);
    let second = r.next_record().unwrap().unwrap();
    assert_eq!((second.origin.record, second.origin.offset), (2, len + 1));
    assert!(matches!(second.payload, Payload::JsonLine(_)));
    assert!(r.next_record().unwrap().is_none());
}
