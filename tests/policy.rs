//! End-to-end tests of `exlibris tag`, `filter` and `summary`, as a user
//! runs them: corpora in every format, the ledger, the policy gate with
//! findings, the summary, and bad input.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

mod support;
use support::{exlibris, read_json, run, shared};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn decompressed(p: &Path) -> Vec<u8> {
    let raw = std::fs::read(p).unwrap();
    let mut out = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out).unwrap();
    } else if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::decode_all(&raw[..]).unwrap();
    } else {
        out = raw;
    }
    out
}

fn gzip_members(p: &Path) -> usize {
    let raw = std::fs::read(p).unwrap();
    let mut rest = &raw[..];
    let mut n = 0;
    while !rest.is_empty() {
        let mut d = flate2::bufread::GzDecoder::new(rest);
        std::io::copy(&mut d, &mut std::io::sink()).unwrap();
        rest = d.into_inner();
        n += 1;
    }
    n
}

/// Documents of a file, as (id, stored bytes), in order.
type Docs = Vec<(String, Vec<u8>)>;

fn jsonl_docs(p: &Path) -> Docs {
    decompressed(p)
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let id = serde_json::from_slice::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .unwrap_or_default();
            (id, l.to_vec())
        })
        .collect()
}

/// Records of a well-formed WARC file: (WARC-Record-ID, whole record).
fn warc_docs(p: &Path) -> Docs {
    let b = decompressed(p);
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let end_of_header = at + b[at..].windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let header = String::from_utf8_lossy(&b[at..end_of_header]).into_owned();
        let field = |name: &str| {
            header.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string())).unwrap()
        };
        let len: usize = field("Content-Length:").parse().unwrap();
        let end = end_of_header + len + 4;
        assert_eq!(&b[end - 4..end], b"\r\n\r\n");
        out.push((field("WARC-Record-ID:"), b[at..end].to_vec()));
        at = end;
    }
    out
}

fn parquet_docs(p: &Path) -> Docs {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;
    let r = SerializedFileReader::new(std::fs::File::open(p).unwrap()).unwrap();
    r.get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            (row.get_string(0).unwrap().clone(), row.to_string().into_bytes())
        })
        .collect()
}

fn parquet_schema(p: &Path) -> String {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let r = SerializedFileReader::new(std::fs::File::open(p).unwrap()).unwrap();
    format!("{:?}", r.metadata().file_metadata().schema())
}

fn sorted(mut d: Docs) -> Docs {
    d.sort();
    d
}

fn warc_record(kind: &str, id: &str, extra: &str, block: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\n{extra}Content-Length: {}\r\n\r\n",
        block.len()
    )
    .into_bytes();
    r.extend_from_slice(block);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

/// A crawl of `n` pages as Common Crawl writes it: warcinfo, then request,
/// response and metadata per page; page `i` is a shadow-library copy when
/// `i % 3 == 1` and opts out of TDM when `i % 3 == 2`.
fn crawl(n: usize) -> Vec<Vec<u8>> {
    let mut recs = vec![warc_record("warcinfo", "info", "", b"software: test\r\n")];
    for i in 0..n {
        let url = format!("https://site{i}.example/page");
        let req = format!("req-{i}");
        let resp = format!("resp-{i}");
        recs.push(warc_record(
            "request",
            &req,
            &format!("WARC-Target-URI: {url}\r\n"),
            b"GET /page HTTP/1.1\r\n\r\n",
        ));
        let (hdr, body) = match i % 3 {
            1 => ("", "<p>Chapter One.</p><p>Downloaded from OceanofPDF.com</p><p>It was a dark night.</p>"),
            2 => ("tdm-reservation: 1\r\n", "<p>A page whose owner reserves mining rights.</p>"),
            _ => ("", "<p>An ordinary page about rivers and hills.</p>"),
        };
        let http = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{hdr}\r\n<html><body>{body} {i}</body></html>"
        );
        recs.push(warc_record(
            "response",
            &resp,
            &format!("WARC-Target-URI: {url}\r\nWARC-Concurrent-To: <urn:uuid:{req}>\r\nContent-Type: application/http; msgtype=response\r\n"),
            http.as_bytes(),
        ));
        recs.push(warc_record(
            "metadata",
            &format!("meta-{i}"),
            &format!("WARC-Target-URI: {url}\r\nWARC-Concurrent-To: <urn:uuid:{resp}>\r\n"),
            b"fetchTimeMs: 12\r\n",
        ));
    }
    recs
}

/// A Parquet row of the test schema: id, text, n, labels.
type PqRow = (String, Option<String>, Option<i64>, Vec<String>);

fn write_parquet(p: &Path, rows: &[PqRow]) {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = parquet::schema::parser::parse_message_type(
        "message doc { required binary id (UTF8); optional binary text (UTF8); optional int64 n; repeated binary labels (UTF8); }",
    )
    .unwrap();
    let props = WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
    let mut w =
        SerializedFileWriter::new(std::fs::File::create(p).unwrap(), Arc::new(schema), Arc::new(props))
            .unwrap();
    // Two row groups, so routing keeps them apart.
    for chunk in rows.chunks(rows.len().div_ceil(2)) {
        let mut rg = w.next_row_group().unwrap();
        let ba = |s: &str| ByteArray::from(s);
        let mut c = rg.next_column().unwrap().unwrap();
        let ids: Vec<ByteArray> = chunk.iter().map(|r| ba(&r.0)).collect();
        c.typed::<ByteArrayType>().write_batch(&ids, None, None).unwrap();
        c.close().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        let texts: Vec<ByteArray> = chunk.iter().filter_map(|r| r.1.as_deref().map(ba)).collect();
        let def: Vec<i16> = chunk.iter().map(|r| i16::from(r.1.is_some())).collect();
        c.typed::<ByteArrayType>().write_batch(&texts, Some(&def), None).unwrap();
        c.close().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        let ns: Vec<i64> = chunk.iter().filter_map(|r| r.2).collect();
        let def: Vec<i16> = chunk.iter().map(|r| i16::from(r.2.is_some())).collect();
        c.typed::<Int64Type>().write_batch(&ns, Some(&def), None).unwrap();
        c.close().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        let (mut vals, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
        for r in chunk {
            if r.3.is_empty() {
                def.push(0);
                rep.push(0);
            }
            for (j, l) in r.3.iter().enumerate() {
                vals.push(ba(l));
                def.push(1);
                rep.push(i16::from(j > 0));
            }
        }
        c.typed::<ByteArrayType>().write_batch(&vals, Some(&def), Some(&rep)).unwrap();
        c.close().unwrap();
        rg.close().unwrap();
    }
    w.close().unwrap();
}

const POLICY: &str = "deny_tags = ['shadow_library', 'copyright_page', 'tdm_opt_out']\n";

fn filter(dir: &Path, policy: &str, inputs: &[PathBuf], extra: &[&str]) -> Output {
    let pp = dir.join("policy.toml");
    std::fs::write(&pp, policy).unwrap();
    run(exlibris()
        .arg("filter")
        .arg("--policy")
        .arg(&pp)
        .args(inputs)
        .arg("--keep")
        .arg(dir.join("keep"))
        .arg("--quarantine")
        .arg(dir.join("quarantine"))
        .args(extra))
}

fn reasons(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("quarantine/reasons.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// keep ∪ quarantine is the input, document by document, and the
/// quarantined documents are exactly those with reasons.
fn check_partition(dir: &Path, input: &Path, name: &str, docs: fn(&Path) -> Docs) -> (usize, usize) {
    let side = |s: &str| {
        let p = dir.join(s).join(name);
        if p.exists() {
            docs(&p)
        } else {
            Vec::new()
        }
    };
    let (kept, quarantined) = (side("keep"), side("quarantine"));
    let mut union = kept.clone();
    union.extend(quarantined.clone());
    assert_eq!(sorted(union), sorted(docs(input)), "{name}: keep ∪ quarantine is the input");
    let file = input.display().to_string();
    let with_reasons: BTreeSet<String> = reasons(dir)
        .iter()
        .filter(|r| r["file"] == file.as_str())
        .map(|r| r["doc_id"].as_str().unwrap_or("").to_string())
        .collect();
    let q_ids: BTreeSet<String> = quarantined.iter().map(|d| d.0.clone()).collect();
    // WARC companions (request, metadata) travel with their documents and
    // have no reasons of their own.
    assert!(with_reasons.is_subset(&q_ids), "{name}: {with_reasons:?} ⊄ {q_ids:?}");
    assert!(kept.iter().all(|d| !with_reasons.contains(&d.0)), "{name}: a kept document has reasons");
    (kept.len(), quarantined.len())
}

#[test]
fn filter_partitions_every_format_document_by_document() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let texts = [
        ("a", "Plain prose about a river and the hills beyond it."),
        ("b", "Chapter text.\n\nOceanofPDF.com\n\nmore text of the chapter"),
        ("c", "Copyright © 2001 Someone\nAll rights reserved.\nISBN 978-0-306-40615-7"),
        ("d", "Another plain page, about bridges."),
    ];
    let mut jl = String::new();
    for (id, t) in texts {
        jl.push_str(&serde_json::json!({"id": id, "text": t}).to_string());
        jl.push('\n');
    }
    jl.push_str("{not json}\n");
    std::fs::write(d.join("c.jsonl"), &jl).unwrap();
    std::fs::write(d.join("c.jsonl.zst"), zstd::encode_all(jl.as_bytes(), 3).unwrap()).unwrap();
    // WARC, each record its own gzip member; and the same crawl plain.
    let recs = crawl(6);
    let mut gz = Vec::new();
    for r in &recs {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(r).unwrap();
        gz.extend(e.finish().unwrap());
    }
    std::fs::write(d.join("crawl.warc.gz"), gz).unwrap();
    std::fs::write(d.join("crawl.warc"), recs.concat()).unwrap();
    // WET: conversion records.
    let wet: Vec<u8> = texts
        .iter()
        .flat_map(|(id, t)| {
            warc_record("conversion", id, "WARC-Target-URI: https://w.example/\r\n", t.as_bytes())
        })
        .collect();
    std::fs::write(d.join("pages.wet"), wet).unwrap();
    let rows: Vec<_> = (0..9)
        .map(|i| {
            let text = match i % 3 {
                0 => Some(format!("Row {i}: plain words about the sea.")),
                1 => Some(format!("Row {i}: a page from z-lib.org with words.")),
                _ => None,
            };
            let labels = (0..i % 3).map(|j| format!("l{j}")).collect();
            (format!("row-{i}"), text, (i % 2 == 0).then_some(i as i64), labels)
        })
        .collect();
    write_parquet(&d.join("rows.parquet"), &rows);
    let tdir = d.join("texts");
    std::fs::create_dir(&tdir).unwrap();
    std::fs::write(tdir.join("one.txt"), "A short story about a cat.").unwrap();
    std::fs::write(tdir.join("two.txt"), "Chapter 1\n\nDownloaded from libgen.li\n\nThe story.").unwrap();

    let names = ["c.jsonl", "c.jsonl.zst", "crawl.warc.gz", "crawl.warc", "pages.wet", "rows.parquet"];
    let mut inputs: Vec<PathBuf> = names.iter().map(|n| d.join(n)).collect();
    inputs.push(tdir.clone());
    let out = filter(d, POLICY, &inputs, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let so = stdout(&out);

    let jl_split = check_partition(d, &d.join("c.jsonl"), "c.jsonl", jsonl_docs);
    assert_eq!(jl_split, (2, 3), "a and d kept; b, c and the bad line quarantined");
    assert_eq!(check_partition(d, &d.join("c.jsonl.zst"), "c.jsonl.zst", jsonl_docs), jl_split);
    assert!(std::fs::read(d.join("keep/c.jsonl.zst")).unwrap().starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
    // 1 warcinfo + 6 × 3 records; pages 1, 2, 4, 5 (with their request and
    // metadata) are quarantined.
    assert_eq!(check_partition(d, &d.join("crawl.warc.gz"), "crawl.warc.gz", warc_docs), (7, 12));
    assert_eq!(check_partition(d, &d.join("crawl.warc"), "crawl.warc", warc_docs), (7, 12));
    for side in ["keep", "quarantine"] {
        let p = d.join(side).join("crawl.warc.gz");
        assert_eq!(gzip_members(&p), warc_docs(&p).len(), "{side}: one gzip member per record");
        // Each page's three records stay together.
        let ids: Vec<String> = warc_docs(&p).into_iter().map(|r| r.0).collect();
        for i in 0..6 {
            let n = ids.iter().filter(|id| id.ends_with(&format!("-{i}>"))).count();
            assert!(n == 0 || n == 3, "{side}: page {i} split: {ids:?}");
        }
    }
    assert_eq!(check_partition(d, &d.join("pages.wet"), "pages.wet", warc_docs), (2, 2));
    // Rows 1, 4, 7 carry a watermark; 2, 5, 8 have no text (unreadable).
    assert_eq!(check_partition(d, &d.join("rows.parquet"), "rows.parquet", parquet_docs), (3, 6));
    for side in ["keep", "quarantine"] {
        assert_eq!(
            parquet_schema(&d.join(side).join("rows.parquet")),
            parquet_schema(&d.join("rows.parquet"))
        );
    }
    assert_eq!(std::fs::read(d.join("keep/one.txt")).unwrap(), b"A short story about a cat.");
    assert!(!d.join("quarantine/one.txt").exists() && !d.join("keep/two.txt").exists());
    assert!(d.join("quarantine/two.txt").exists());

    let stats = read_json(&d.join("quarantine/filter-stats.json"));
    let n = |k: &str| stats[k].as_u64().unwrap();
    // Documents: 5 + 5 lines, 2 × 6 pages, 4 WET, 9 rows, 2 text files.
    assert_eq!(n("read"), 10 + 12 + 4 + 9 + 2, "{stats}");
    assert_eq!(n("read"), n("kept") + n("quarantined"));
    assert_eq!(n("input_bytes"), n("kept_bytes") + n("quarantined_bytes"));
    assert_eq!(n("quarantined") as usize, reasons(d).len());
    assert_eq!(n("other_records"), 2 * 13);
    let warc_bytes = decompressed(&d.join("crawl.warc")).len() as u64;
    let jl_bytes = jl.len() as u64;
    assert!(n("input_bytes") > 2 * warc_bytes + 2 * jl_bytes);
    assert!(so.contains(&format!("read {} documents ({} bytes)", n("read"), n("input_bytes"))), "{so}");
    assert!(!so.contains("NOT RECONCILE"));
    for r in reasons(d) {
        assert!(r["file"].is_string() && r["record"].is_u64() && r["offset"].is_u64(), "{r}");
        assert!(!r["reasons"].as_array().unwrap().is_empty());
    }
    // No temporary file is left behind.
    for side in ["keep", "quarantine"] {
        for e in std::fs::read_dir(d.join(side)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with('.'), "{side}/{name} left behind");
        }
    }
    // The kept side is a corpus exlibris reads again, with nothing to refuse.
    let again = run(exlibris().arg("tag").arg(d.join("keep")).arg("--out").arg(d.join("tags-keep")));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let ts = read_json(&d.join("tags-keep/tags-summary.json"));
    assert_eq!(ts["read"].as_u64().unwrap(), n("kept"), "{ts}");
}

#[test]
fn undeclared_sources_are_counted_and_denied() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut jl = String::new();
    for i in 0..10 {
        let host = if i % 4 == 0 { "unknown.example" } else { "wiki.example" };
        let text = format!("Page {i} about a harbour and its ships, {}", "words ".repeat(i));
        jl.push_str(
            &serde_json::json!({"id": format!("p{i}"), "text": text, "url": format!("https://{host}/{i}")})
                .to_string(),
        );
        jl.push('\n');
    }
    std::fs::write(d.join("web.jsonl"), &jl).unwrap();
    let sources = d.join("sources.toml");
    std::fs::write(
        &sources,
        "[[source]]\nname = 'wiki'\nurl_prefix = 'https://wiki.example/'\nlicence = 'CC-BY-SA-4.0'\nmethod = 'crawl'\n",
    )
    .unwrap();
    let out = run(exlibris()
        .arg("tag")
        .arg(d.join("web.jsonl"))
        .arg("--out")
        .arg(d.join("tags"))
        .arg("--sources")
        .arg(&sources));
    assert_eq!(out.status.code(), Some(0));
    let ts = read_json(&d.join("tags/tags-summary.json"));
    let undeclared_bytes: usize = (0..10)
        .filter(|i| i % 4 == 0)
        .map(|i| format!("Page {i} about a harbour and its ships, {}", "words ".repeat(i)).len())
        .sum();
    assert_eq!(ts["sources"]["undeclared"]["documents"], 3, "{ts}");
    assert_eq!(ts["sources"]["undeclared"]["bytes"].as_u64().unwrap() as usize, undeclared_bytes);
    assert_eq!(ts["sources"]["wiki"]["documents"], 7);
    assert_eq!(ts["licences"]["CC-BY-SA-4.0"]["documents"], 7, "{ts}");
    assert!(stdout(&out).contains("source undeclared"), "{}", stdout(&out));

    let out = filter(
        d,
        "deny_undeclared = true\n",
        &[d.join("web.jsonl")],
        &["--sources", sources.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    let q: BTreeSet<String> = reasons(d).iter().map(|r| r["doc_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(q, ["p0", "p4", "p8"].map(String::from).into());
    assert!(reasons(d)
        .iter()
        .all(|r| r["source"] == "undeclared" && r["reasons"][0] == "source: undeclared"));
    assert_eq!(check_partition(d, &d.join("web.jsonl"), "web.jsonl", jsonl_docs), (7, 3));
}

#[test]
fn summary_is_drafted_from_tags_sources_and_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let jl = [
        ("a", "Plain words about a mill.", "https://wiki.example/a"),
        ("b", "A chapter.\n\nz-lib.org\n\nMore.", "https://books.example/b"),
        ("c", "Plain words about a bridge.", "https://wiki.example/c"),
    ]
    .iter()
    .map(|(i, t, u)| serde_json::json!({"id": i, "text": t, "url": u}).to_string() + "\n")
    .collect::<String>();
    std::fs::write(d.join("c.jsonl"), jl).unwrap();
    let sources = d.join("sources.toml");
    std::fs::write(&sources, "[[source]]\nname = 'wiki'\nurl_prefix = 'https://wiki.example/'\nlicence = 'CC-BY-SA-4.0'\nmethod = 'crawl'\n\n[[source]]\nname = 'books'\nurl_prefix = 'https://books.example/'\nlicence = 'LicenseRef-agreement-42'\nrights_holder = 'A Publisher'\nmethod = 'licensed'\n").unwrap();
    let s = sources.to_str().unwrap();
    assert!(run(exlibris()
        .arg("tag")
        .arg(d.join("c.jsonl"))
        .arg("--out")
        .arg(d.join("tags"))
        .args(["--sources", s]))
    .status
    .success());
    assert!(filter(d, POLICY, &[d.join("c.jsonl")], &["--sources", s]).status.success());
    let out = run(exlibris()
        .arg("summary")
        .arg("--tags")
        .arg(d.join("tags"))
        .args(["--sources", s])
        .arg("--filter")
        .arg(d.join("quarantine"))
        .arg("--out")
        .arg(d.join("summary")));
    assert_eq!(out.status.code(), Some(0));
    let md = std::fs::read_to_string(d.join("summary/summary.md")).unwrap();
    for section in
        ["## 1. General information", "## 2. List of data sources", "## 3. Data processing aspects"]
    {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    assert!(md.contains("[TO BE COMPLETED BY THE PROVIDER]"));
    assert!(md.contains("1 of 3 documents"), "{md}");
    assert!(md.contains("CC-BY-SA-4.0") && md.contains("LicenseRef-agreement-42"), "{md}");
    let j = read_json(&d.join("summary/summary.json"));
    for field in ["general", "sources", "processing"] {
        assert!(!j[field].is_null(), "{field} missing: {j}");
    }
    let docs: u64 = j["sources"].as_array().unwrap().iter().map(|k| k["documents"].as_u64().unwrap()).sum();
    assert_eq!(docs, 3, "{j}");
    assert!(j["processing"]["removed by the policy gate"].as_str().unwrap().starts_with("1 of 3"), "{j}");
}

#[test]
fn bad_configuration_and_missing_input_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("c.jsonl"), "{\"id\":\"a\",\"text\":\"words\"}\n").unwrap();
    // Policy: bad TOML, and an unknown rule.
    for (bad, why) in [("deny_tags = [", "policy.toml"), ("deny_everything = true\n", "deny_everything")] {
        let out = filter(d, bad, &[d.join("c.jsonl")], &[]);
        assert_eq!(out.status.code(), Some(1));
        let e = stderr(&out);
        assert!(e.contains(&d.join("policy.toml").display().to_string()) && e.contains(why), "{e}");
    }
    assert!(!d.join("quarantine/filter-stats.json").exists());
    let sources = d.join("sources.toml");
    std::fs::write(&sources, "[[source]]\nname = 'x'\nlicense = 'MIT'\n").unwrap();
    for cmd in ["tag", "filter"] {
        let mut c = exlibris();
        c.arg(cmd).arg(d.join("c.jsonl")).arg("--sources").arg(&sources);
        if cmd == "tag" {
            c.arg("--out").arg(d.join("tags"));
        } else {
            std::fs::write(d.join("p.toml"), POLICY).unwrap();
            c.arg("--policy")
                .arg(d.join("p.toml"))
                .arg("--keep")
                .arg(d.join("k"))
                .arg("--quarantine")
                .arg(d.join("q"));
        }
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(stderr(&out).contains(&sources.display().to_string()), "{cmd}: {}", stderr(&out));
    }
    let missing = d.join("no-such-corpus.jsonl");
    let out = filter(d, POLICY, std::slice::from_ref(&missing), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&missing.display().to_string()), "{}", stderr(&out));
    assert!(!d.join("keep/no-such-corpus.jsonl").exists());
    let out =
        run(exlibris().arg("summary").arg("--tags").arg(d.join("nothing")).arg("--out").arg(d.join("s")));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("tags-summary.json"), "{}", stderr(&out));
}

fn ids_in(p: &Path, field: &str, filter: impl Fn(&serde_json::Value) -> bool) -> BTreeSet<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| filter(v))
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect()
}

/// Index the shared books (two of them marked in copyright), scan a
/// benchmark corpus, and let the gate deny the documents with findings of
/// those two.
#[test]
fn deny_findings_quarantines_documents_quoting_denied_works() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let books = shared.join("corpora/books");
    let denied = ["austen-emma", "kjv"];
    let mut catalog = String::new();
    for l in std::fs::read_to_string(books.join("catalog.jsonl")).unwrap().lines() {
        let mut w: serde_json::Value = serde_json::from_str(l).unwrap();
        let path = books.join(w["path"].as_str().unwrap());
        w["path"] = path.display().to_string().into();
        if denied.iter().any(|id| w["id"].as_str().unwrap().starts_with(id)) {
            w["rights"] = "in-copyright".into();
        }
        catalog.push_str(&(w.to_string() + "\n"));
    }
    assert!(catalog.contains("in-copyright"), "the shared catalog changed: {catalog}");
    std::fs::write(d.join("catalog.jsonl"), catalog).unwrap();
    let bench = d.join("bench");
    if !support::audit_corpus(&shared, &bench, 3, 120) {
        return;
    }
    let idx = d.join("books.exl");
    assert!(run(exlibris()
        .arg("index")
        .arg("--catalog")
        .arg(d.join("catalog.jsonl"))
        .arg("--out")
        .arg(&idx))
    .status
    .success());
    let results = d.join("results");
    let corpus = bench.join("corpus.jsonl");
    let out = run(exlibris().arg("scan").arg("--index").arg(&idx).arg("--out").arg(&results).arg(&corpus));
    assert_eq!(out.status.code(), Some(0));
    let rights: BTreeMap<String, String> = std::fs::read_to_string(d.join("catalog.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|w| (w["id"].as_str().unwrap().to_string(), w["rights"].as_str().unwrap_or("").to_string()))
        .collect();
    let denied_docs = ids_in(&results.join("findings.jsonl"), "doc_id", |f| {
        rights[f["work_id"].as_str().unwrap()] != "public-domain"
    });
    // The truth agrees that these documents quote the denied works.
    let truth_docs = ids_in(&bench.join("truth.jsonl"), "doc_id", |c| {
        rights[c["work_id"].as_str().unwrap()] != "public-domain"
    });
    assert!(
        !denied_docs.is_empty() && denied_docs.is_subset(&truth_docs),
        "{denied_docs:?} vs {truth_docs:?}"
    );

    let policy = "deny_findings = true\nallow_rights = ['public-domain']\n";
    let out = filter(d, policy, std::slice::from_ref(&corpus), &[]);
    assert_eq!(out.status.code(), Some(1), "deny_findings without --findings is refused");
    assert!(stderr(&out).contains("--findings"), "{}", stderr(&out));
    let out = filter(d, policy, std::slice::from_ref(&corpus), &["--findings", results.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let quarantined: BTreeSet<String> =
        reasons(d).iter().map(|r| r["doc_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(quarantined, denied_docs);
    assert!(reasons(d).iter().all(|r| r["reasons"].to_string().contains("in-copyright")), "{:?}", reasons(d));
    let (kept, q) = check_partition(d, &corpus, "corpus.jsonl", jsonl_docs);
    assert_eq!((kept + q, q), (120, denied_docs.len()));
}

/// The shadow-library tagger against the benchmark's `markers.jsonl` on one
/// seed with more positives than the default size gives (BENCHMARKS.md has
/// the table over seeds and profiles).
#[test]
fn shadow_library_markers_precision_and_recall_on_the_benchmark() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bench = tmp.path().join("bench");
    if !support::audit_corpus_profile(&shared, &bench, 7, 1500, "hard") {
        return;
    }
    let out =
        run(exlibris().arg("tag").arg(bench.join("corpus.jsonl")).arg("--out").arg(tmp.path().join("tags")));
    assert_eq!(out.status.code(), Some(0));
    let truth = ids_in(&bench.join("markers.jsonl"), "doc_id", |_| true);
    let tagged = ids_in(&tmp.path().join("tags/tags.jsonl"), "doc_id", |t| t["tag"] == "shadow_library");
    let tp = truth.intersection(&tagged).count() as f64;
    let (p, r) = (tp / tagged.len().max(1) as f64, tp / truth.len().max(1) as f64);
    println!("markers: {} true, {} tagged, precision {p:.3}, recall {r:.3}", truth.len(), tagged.len());
    assert!(truth.len() >= 20, "too few positives to measure: {}", truth.len());
    assert!(p >= 0.99 && r >= 0.99, "precision {p:.3} recall {r:.3}");
    // Tagging runs on all cores; its output does not depend on how many.
    let one = run(exlibris()
        .env("RAYON_NUM_THREADS", "1")
        .arg("tag")
        .arg(bench.join("corpus.jsonl"))
        .arg("--out")
        .arg(tmp.path().join("tags1")));
    assert_eq!(one.status.code(), Some(0));
    for f in ["tags.jsonl", "tags-summary.json"] {
        let a = std::fs::read(tmp.path().join("tags").join(f)).unwrap();
        assert!(a == std::fs::read(tmp.path().join("tags1").join(f)).unwrap(), "{f} differs with one thread");
    }
}
