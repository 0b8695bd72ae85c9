//! Fixtures written at test time: an index of works, and the same documents
//! in every corpus format.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use exlibris_index::{build_index, BuildOptions, Catalog, Index};
use exlibris_scan::{discover, scan, CollectSink, ScanOptions, ScanStats, Sink};

/// One corpus document.
#[derive(Clone, Debug)]
pub struct Doc {
    pub id: String,
    pub text: String,
    pub url: String,
}

/// Deterministic pseudo-random prose: a work nobody wrote.
pub fn synthetic_text(seed: u64, words: usize) -> String {
    const VOCAB: &[&str] = &[
        "the",
        "river",
        "light",
        "morning",
        "quiet",
        "she",
        "walked",
        "across",
        "field",
        "letter",
        "never",
        "answered",
        "garden",
        "window",
        "brother",
        "winter",
        "promise",
        "kept",
        "silver",
        "road",
        "house",
        "evening",
        "remembered",
        "village",
        "stone",
        "bridge",
        "careful",
        "whisper",
        "lantern",
        "harbour",
        "orchard",
        "captain",
        "travelled",
        "northward",
        "forgotten",
        "song",
        "daughter",
        "table",
        "bread",
    ];
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out = String::new();
    for i in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i > 0 {
            out.push(if i % 13 == 0 { '\n' } else { ' ' });
        }
        out.push_str(VOCAB[(x % VOCAB.len() as u64) as usize]);
        out.push_str(&((x >> 20) % 97).to_string());
    }
    out
}

/// An index of `works` (id, text) built in `dir`.
pub fn index_of(dir: &Path, works: &[(String, String)]) -> Index {
    let mut cat = String::new();
    for (id, text) in works {
        std::fs::write(dir.join(format!("{id}.txt")), text).unwrap();
        cat.push_str(
            &serde_json::json!({"id": id, "path": format!("{id}.txt"), "title": id, "author": "T"})
                .to_string(),
        );
        cat.push('\n');
    }
    std::fs::write(dir.join("catalog.jsonl"), cat).unwrap();
    let catalog = Catalog::read(&dir.join("catalog.jsonl")).unwrap();
    build_index(&catalog, &dir.join("index"), &BuildOptions::default(), &|_| {}).unwrap();
    Index::open(&dir.join("index")).unwrap()
}

/// Scan `paths` (files, directories, globs) and collect what comes out.
pub fn scan_paths(
    index: &Index,
    paths: &[PathBuf],
    opts: &ScanOptions,
) -> exlibris_scan::Result<(CollectSink, ScanStats)> {
    let (inputs, _) = discover(paths)?;
    let mut sink = CollectSink::default();
    let stats = scan(index, &inputs, opts, &mut [&mut sink as &mut dyn Sink], &Default::default())?;
    Ok((sink, stats))
}

pub fn jsonl(docs: &[Doc]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in docs {
        serde_json::to_writer(&mut out, &serde_json::json!({"id": d.id, "text": d.text, "url": d.url}))
            .unwrap();
        out.push(b'\n');
    }
    out
}

/// gzip, one member per `per` lines.
pub fn gzip_members(bytes: &[u8], per: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.split_inclusive(|&b| b == b'\n').collect::<Vec<_>>().chunks(per) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for line in chunk {
            gz.write_all(line).unwrap();
        }
        out.extend(gz.finish().unwrap());
    }
    out
}

/// zstd, one frame per `per` lines.
pub fn zstd_frames(bytes: &[u8], per: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.split_inclusive(|&b| b == b'\n').collect::<Vec<_>>().chunks(per) {
        out.extend(zstd::encode_all(&chunk.concat()[..], 3).unwrap());
    }
    out
}

/// A Parquet file of `docs`, `per_group` rows a row group (snappy pages).
pub fn parquet(docs: &[Doc], per_group: usize) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type(
            "message doc { required binary id (UTF8); required binary text (UTF8); optional binary url (UTF8); required int64 n; }",
        )
        .unwrap(),
    );
    let props =
        Arc::new(WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build());
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, props).unwrap();
    for group in docs.chunks(per_group) {
        let mut rg = w.next_row_group().unwrap();
        let mut col = 0;
        while let Some(mut c) = rg.next_column().unwrap() {
            if col == 3 {
                let v: Vec<i64> = (0..group.len() as i64).collect();
                c.typed::<parquet::data_type::Int64Type>().write_batch(&v, None, None).unwrap();
            } else {
                let v: Vec<ByteArray> =
                    group.iter().map(|d| ByteArray::from([&d.id, &d.text, &d.url][col].as_str())).collect();
                let defs = vec![1i16; group.len()];
                c.typed::<ByteArrayType>().write_batch(&v, (col == 2).then_some(&defs[..]), None).unwrap();
            }
            c.close().unwrap();
            col += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
    out
}

/// One WARC record.
pub fn warc_record(kind: &str, id: &str, uri: Option<&str>, content_type: &str, block: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {id}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
    );
    if let Some(u) = uri {
        out.push_str(&format!("WARC-Target-URI: {u}\r\n"));
    }
    out.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", block.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

pub fn warcinfo() -> Vec<u8> {
    warc_record(
        "warcinfo",
        "<urn:uuid:info>",
        None,
        "application/warc-fields",
        b"software: exlibris-test\r\n",
    )
}

/// A WET file of `docs` (conversion records), one record per item.
pub fn wet_records(docs: &[Doc]) -> Vec<Vec<u8>> {
    let mut out = vec![warcinfo()];
    for d in docs {
        out.push(warc_record("conversion", &d.id, Some(&d.url), "text/plain", d.text.as_bytes()));
    }
    out
}

/// `<p>`-escaped HTML of a text, one paragraph a line.
pub fn html_of(text: &str) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body: String = text.lines().map(|l| format!("<p>{}</p>\n", esc(l))).collect();
    format!("<!DOCTYPE html><html><head><title>x</title><script>var a = '<p>no</p>';</script></head><body>{body}</body></html>")
}

pub fn http_response(html: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        html.len()
    )
    .into_bytes();
    out.extend_from_slice(html.as_bytes());
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}
