//! Extraction tests; fixtures are written here, at test time.
use std::io::Write;

use super::epub::epub_text;
use super::*;

/// An EPUB of `entries` (name, content), deflated.
pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const CONTAINER: &[u8] = br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#;

fn opf(items: &str, spine: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">
  <dc:title>Persuasion</dc:title><dc:creator opf:role="aut">Jane Austen</dc:creator>
  <dc:identifier id="id" opf:scheme="ISBN">978-0-14-143968-8</dc:identifier>
 </metadata>
 <manifest>{items}</manifest><spine toc="ncx">{spine}</spine>
</package>"#
    )
    .into_bytes()
}

fn chapter(body: &str) -> Vec<u8> {
    format!(r#"<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title><link rel="stylesheet" href="s.css"/></head><body>{body}</body></html>"#).into_bytes()
}

pub(crate) fn good_epub() -> Vec<u8> {
    let items = r#"<item id="c2" href="text/chapter%202.xhtml" media-type="application/xhtml+xml"/>
        <item id="c1" href="text/ch1.xhtml#start" media-type="application/xhtml+xml"/>
        <item id="css" href="s.css" media-type="text/css"/>"#;
    let opf = opf(items, r#"<itemref idref="c1"/><itemref idref="c2" linear="yes"/>"#);
    zip_of(&[
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", CONTAINER),
        ("OEBPS/content.opf", &opf),
        ("OEBPS/s.css", b"p { margin: 0 }"),
        ("OEBPS/text/chapter 2.xhtml", &chapter("<h1>Chapter 2</h1><p>Anne Elliot &amp; her father.</p>")),
        ("OEBPS/text/ch1.xhtml", &chapter("<h1>Chapter 1</h1><p>Sir Walter Elliot, of Kellynch Hall.</p>")),
    ])
}

#[test]
fn epub_spine_is_read_in_order_with_its_metadata() {
    let e = epub_text(std::io::Cursor::new(good_epub()), &Limits::default()).unwrap();
    assert_eq!(
        e.text,
        "Chapter 1\n\nSir Walter Elliot, of Kellynch Hall.\n\nChapter 2\n\nAnne Elliot & her father."
    );
    assert_eq!(e.title.as_deref(), Some("Persuasion"));
    assert_eq!(e.author.as_deref(), Some("Jane Austen"));
    assert_eq!(e.isbn.as_deref(), Some("9780141439688"));
}

#[test]
fn epub_paths_escaping_the_root_are_refused() {
    let mut entries: Vec<(&str, &[u8])> = vec![("META-INF/container.xml", CONTAINER)];
    let opf_ok = opf(r#"<item id="c" href="c.xhtml"/>"#, r#"<itemref idref="c"/>"#);
    let ch = chapter("<p>x</p>");
    entries.push(("OEBPS/content.opf", &opf_ok));
    entries.push(("OEBPS/c.xhtml", &ch));
    for evil in ["../evil.xhtml", "/etc/passwd", "OEBPS/../../evil", "C:/x", "a\\..\\b"] {
        let mut e = entries.clone();
        e.push((evil, b"x"));
        let err = epub_text(std::io::Cursor::new(zip_of(&e)), &Limits::default()).unwrap_err();
        assert!(err.contains("escapes the container's root"), "{evil}: {err}");
    }
    let opf_evil = opf(r#"<item id="c" href="../../../etc/passwd"/>"#, r#"<itemref idref="c"/>"#);
    let e = [("META-INF/container.xml", CONTAINER), ("OEBPS/content.opf", &opf_evil[..])];
    let err = epub_text(std::io::Cursor::new(zip_of(&e)), &Limits::default()).unwrap_err();
    assert!(err.contains("escapes the container's root"), "{err}");
}

#[test]
fn zip_bombs_are_refused() {
    let zeros = vec![0u8; 64 << 20];
    let bomb = zip_of(&[("META-INF/container.xml", CONTAINER), ("OEBPS/zeros.xhtml", &zeros)]);
    let err = epub_text(std::io::Cursor::new(bomb), &Limits::default()).unwrap_err();
    assert!(err.contains("zip bomb") && err.contains("ratio"), "{err}");
    let small = Limits { max_unpacked_bytes: 1000, ..Default::default() };
    let err = epub_text(std::io::Cursor::new(good_epub()), &small).unwrap_err();
    assert!(err.contains("over the limit of 1000 bytes"), "{err}");
    let err =
        epub_text(std::io::Cursor::new(b"PK\x03\x04 not really".to_vec()), &Limits::default()).unwrap_err();
    assert!(err.contains("not a readable EPUB"), "{err}");
}

/// A one-page PDF with the given lines, xref offsets computed.
pub(crate) fn tiny_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT /F1 12 Tf 72 720 Td 14 TL\n");
    for l in lines {
        content.push_str(&format!(
            "({}) Tj T*\n",
            l.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")
        ));
    }
    content.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).bytes(),
    );
    out
}

fn have_pdftotext() -> bool {
    let ok = std::process::Command::new("pdftotext").arg("-v").output().is_ok();
    if !ok {
        eprintln!("note: pdftotext not installed (poppler-utils); PDF extraction not tested");
    }
    ok
}

#[test]
fn pdf_text_is_extracted_and_bad_pdfs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let not_pdf = dir.path().join("x.pdf");
    std::fs::write(&not_pdf, b"hello").unwrap();
    assert!(extract_text(&not_pdf).unwrap_err().contains("not a PDF"));
    if !have_pdftotext() {
        return;
    }
    let good = dir.path().join("good.pdf");
    std::fs::write(
        &good,
        tiny_pdf(&["It is a truth universally acknowledged,", "that a single man (in possession)"]),
    )
    .unwrap();
    let e = extract_work(&good, &Limits::default()).unwrap();
    assert_eq!(e.format, "pdf:pdftotext");
    assert_eq!(
        e.text.split_whitespace().collect::<Vec<_>>().join(" "),
        "It is a truth universally acknowledged, that a single man (in possession)"
    );
    let broken = dir.path().join("broken.pdf");
    std::fs::write(
        &broken,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ngarbage without xref or trailer",
    )
    .unwrap();
    let err = extract_text(&broken).unwrap_err();
    assert!(
        err.contains("broken.pdf") && (err.contains("could not be parsed") || err.contains("no text layer")),
        "{err}"
    );
}

#[test]
fn html_and_markdown_works() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("w.html");
    std::fs::write(&h, "<html><body><script>x</script><p>One &amp; two</p><p>three</p></body></html>")
        .unwrap();
    let e = extract_work(&h, &Limits::default()).unwrap();
    assert_eq!((e.text.as_str(), e.format), ("One & two\n\nthree", "html"));
    let m = dir.path().join("w.md");
    std::fs::write(&m, "# Title\n\nSome *text*.").unwrap();
    assert_eq!(extract_work(&m, &Limits::default()).unwrap().format, "markdown");
    let odd = dir.path().join("w.docx");
    std::fs::write(&odd, "x").unwrap();
    assert!(extract_text(&odd).unwrap_err().contains("unsupported work format"));
}

#[test]
fn an_epub_work_takes_its_title_and_author_from_the_opf() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.epub"), good_epub()).unwrap();
    std::fs::write(
        dir.path().join("w.html"),
        "<p>Sir Walter Elliot, of Kellynch Hall, in Somersetshire, was a man who</p>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("catalog.jsonl"),
        "{\"id\":\"p\",\"path\":\"p.epub\"}\n{\"id\":\"h\",\"path\":\"w.html\",\"title\":\"H\",\"author\":\"A\"}\n{\"id\":\"n\",\"path\":\"n.html\"}\n",
    )
    .unwrap();
    let cat = crate::Catalog::read(&dir.path().join("catalog.jsonl")).unwrap();
    assert_eq!(cat.entries.len(), 2, "an HTML work still needs a title: {:?}", cat.rejected);
    let (meta, _) = crate::build_index(&cat, &dir.path().join("idx"), &Default::default(), &|_| {}).unwrap();
    let index = crate::Index::open(&dir.path().join("idx")).unwrap();
    let w = &index.works()[0];
    assert_eq!(
        (w.format.as_str(), w.meta.title.as_str(), w.meta.author.as_str()),
        ("epub", "Persuasion", "Jane Austen")
    );
    assert_eq!(w.meta.isbn.as_deref(), Some("9780141439688"));
    assert_eq!(index.works()[1].format, "html");
    assert_eq!(meta.rejected.len(), 1);
}
