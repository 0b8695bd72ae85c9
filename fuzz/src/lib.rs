//! Fuzz target bodies, shared by the libFuzzer targets (`fuzz_targets/`,
//! nightly, `cargo fuzz run NAME`) and the stable driver (`fuzz-stable`).
//! Each body panics on a broken invariant, not only on a crash.
use std::io::Write;

use exlibris_scan::reader::{decode, CorpusReader, Fields, JsonlReader, WarcReader};

/// A target's body.
pub type Target = fn(&[u8]);

/// The targets, by name.
pub const TARGETS: &[(&str, Target)] =
    &[("normaliser", normaliser), ("jsonl", jsonl), ("warc", warc), ("epub", epub)];

/// The normaliser and HTML to text: tokens are increasing char-aligned
/// ranges of the input.
pub fn normaliser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for text in [text.as_ref(), exlibris_text::html::html_to_text(&text).as_str()] {
        let mut t = exlibris_text::Tokenizer::new(text);
        let mut last = 0;
        while let Some(tok) = t.next_token() {
            assert!(
                tok.start >= last && tok.start < tok.end && tok.end <= text.len(),
                "token {tok:?} after {last}"
            );
            assert!(text.is_char_boundary(tok.start) && text.is_char_boundary(tok.end));
            last = tok.end;
        }
        let settings = exlibris_text::FingerprintSettings { k: 3, w: 4, ..Default::default() };
        for f in exlibris_text::fingerprints(text, &settings) {
            let _ = f.hash;
        }
    }
}

fn drain(mut r: impl CorpusReader, len: usize) {
    let fields = Fields::default();
    let mut last = 0u64;
    let mut n = 0;
    while let Some(rec) = r.next_record().expect("in-memory reads do not fail") {
        assert!(
            rec.origin.offset >= last && rec.origin.offset <= len as u64,
            "offset {} after {last}",
            rec.origin.offset
        );
        last = rec.origin.offset;
        n += 1;
        assert!(n <= len + 1, "more records than bytes");
        let _ = decode(rec, &fields);
    }
}

/// The JSON Lines reader and record decoding.
pub fn jsonl(data: &[u8]) {
    drain(JsonlReader::new(data, "fuzz.jsonl".into(), 4096), data.len());
}

/// The WARC reader, HTTP decoding and HTML to text.
pub fn warc(data: &[u8]) {
    drain(WarcReader::new(data, "fuzz.warc".into(), 1 << 16), data.len());
}

/// The EPUB extractor, with small limits. Input starting `PK` is the zip
/// itself (the zip parser and the guards); otherwise it is parts separated
/// by `\n--\n`: container.xml, the OPF at `OEBPS/c.opf`, then entries as
/// `NAME\nCONTENT`, zipped here, so that mutations reach the container,
/// OPF, path and spine logic instead of breaking the zip's checksums.
pub fn epub(data: &[u8]) {
    let limits = exlibris_index::extract::Limits { max_unpacked_bytes: 8 << 20, ..Default::default() };
    let zip = if data.starts_with(b"PK") { data.to_vec() } else { zip_parts(data) };
    let _ = exlibris_index::extract::epub::epub_text(std::io::Cursor::new(zip), &limits);
}

fn zip_parts(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split("\n--\n");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut add = |name: &str, body: &str| {
        if w.start_file(name, opts).is_ok() {
            let _ = w.write_all(body.as_bytes());
        }
    };
    add("META-INF/container.xml", parts.next().unwrap_or(""));
    add("OEBPS/c.opf", parts.next().unwrap_or(""));
    for p in parts {
        let (name, body) = p.split_once('\n').unwrap_or((p, ""));
        add(name, body);
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// Valid inputs to start mutating from.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "normaliser" => vec![
            "It is a truth universally acknowledged, that a single man".into(),
            "The ﬁrst exam-\nple, don’t! Ça va? ΑΒΓ 東京 ١٢٣ e\u{301}".into(),
            "<p>Caf&eacute; <script>x<y</script><pre> a\n b</pre><br/><svg><p>z</svg>&#x1F600;&amp".into(),
        ],
        "jsonl" => vec![
            b"{\"id\":\"a\",\"text\":\"hello world\",\"url\":\"http://x\"}\n{\"id\":2,\"text\":\"caf\\u00e9\"}\r\n\n{\"id\":\"n\",\"text\":42}\n".to_vec(),
            b"{\"meta\":{\"a\":[1,{\"b\":null}]},\"text\":\"x\\ud83d\\ude00\",\"id\":\"z\"}\n[1,2]\n{bad\n".to_vec(),
        ],
        "warc" => {
            let rec = |kind: &str, ct: &str, block: &[u8]| {
                let mut r = format!("WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:1>\r\nWARC-Target-URI: http://e.org/\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n", block.len()).into_bytes();
                r.extend_from_slice(block);
                r.extend_from_slice(b"\r\n\r\n");
                r
            };
            let http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=iso-8859-1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<p>ab\r\n4\r\n\xe9</p\r\n0\r\n\r\n";
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(b"<html><body><p>zipped</p></body></html>").unwrap();
            let mut gzhttp = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
            gzhttp.extend(gz.finish().unwrap());
            vec![
                [rec("warcinfo", "application/warc-fields", b"software: x\r\n"), rec("conversion", "text/plain", b"plain text\nlines")].concat(),
                [rec("response", "application/http; msgtype=response", http), rec("resource", "text/html", b"<p>r</p>")].concat(),
                rec("response", "application/http; msgtype=response", &gzhttp),
            ]
        }
        "epub" => {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            let files: [(&str, &[u8]); 4] = [
                ("mimetype", b"application/epub+zip"),
                ("META-INF/container.xml", br#"<container><rootfiles><rootfile full-path="OEBPS/c.opf"/></rootfiles></container>"#),
                ("OEBPS/c.opf", br#"<package xmlns:dc="http://purl.org/dc/elements/1.1/"><metadata><dc:title>T</dc:title><dc:creator>A</dc:creator><dc:identifier>urn:isbn:9780141439688</dc:identifier></metadata><manifest><item id="a" href="t/a%20b.xhtml"/></manifest><spine><itemref idref="a"/></spine></package>"#),
                ("OEBPS/t/a b.xhtml", b"<html><body><p>Chapter one &amp; more</p></body></html>"),
            ];
            for (name, body) in files {
                w.start_file(name, opts).unwrap();
                w.write_all(body).unwrap();
            }
            let parts = concat!(
                r#"<container><rootfiles><rootfile full-path="OEBPS/c.opf"/></rootfiles></container>"#,
                "\n--\n",
                r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" xmlns:dc="http://purl.org/dc/elements/1.1/"><metadata><dc:title>T</dc:title><dc:identifier opf:scheme="ISBN" xmlns:opf="http://www.idpf.org/2007/opf">0-14-143968-X</dc:identifier></metadata><manifest><item id="a" href="t/a.xhtml#x"/><item id="b" href="../OEBPS/b.xhtml"/></manifest><spine><itemref idref="b"/><itemref idref="a"/></spine></package>"#,
                "\n--\nOEBPS/t/a.xhtml\n<html><body><h1>One</h1><p>text &amp; more</p></body></html>",
                "\n--\nOEBPS/b.xhtml\n<html><body><p>Two</p><script>x</script></body></html>",
            );
            vec![w.finish().unwrap().into_inner(), parts.as_bytes().to_vec()]
        }
        _ => Vec::new(),
    }
}
