//! WARC files (ISO 28500, WARC/1.0 and 1.1), as Common Crawl writes them.
//!
//! A small parser of our own rather than a crate: it needs to bound every
//! read (a record's `Content-Length` is untrusted), to report records by
//! number and byte offset, and to resynchronise after a record whose length
//! lies, none of which the available crates do. `.warc.gz` (one gzip member
//! per record) is decompressed by [`super::open_decompressed`]; offsets are
//! in the decompressed stream, like those of JSON Lines.
//!
//! Records become documents as follows; the id is `WARC-Record-ID`, the URL
//! `WARC-Target-URI`:
//! - `conversion` (WET): the block is the text, as it is;
//! - `response` with an HTTP message: [`Payload::Web`], whose HTML is turned
//!   into text on the worker threads (see [`super::web`]);
//! - `resource`: by its `Content-Type`, HTML or text.
//!
//! `warcinfo`, `request`, `metadata`, `revisit` and `continuation` records
//! carry no document and are passed over, as blank lines of JSON Lines are.
use std::io::BufRead;
use std::sync::Arc;

use super::{CorpusReader, Payload, RawRecord};
use crate::document::{Origin, Rejection};
use crate::error::Result;

/// Most bytes of one record's header block.
const MAX_HEADER_BYTES: usize = 64 << 10;

/// WARC records of one (decompressed) stream.
pub struct WarcReader<R> {
    inner: R,
    /// Bytes given back after a record whose length lied: read before `inner`.
    pending: Vec<u8>,
    pending_at: usize,
    file: Arc<str>,
    offset: u64,
    record: u64,
    max: usize,
    failed: bool,
}

/// A parsed header block.
struct Header {
    fields: Vec<(String, String)>,
}

impl Header {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

enum Step {
    Record(RawRecord),
    NotADocument,
    End,
}

impl<R: BufRead> WarcReader<R> {
    /// Records of `stream`, named `file` in origins; blocks longer than
    /// `max_record_bytes` are refused without being held in memory.
    pub fn new(stream: R, file: Arc<str>, max_record_bytes: usize) -> Self {
        WarcReader {
            inner: stream,
            pending: Vec::new(),
            pending_at: 0,
            file,
            offset: 0,
            record: 0,
            max: max_record_bytes,
            failed: false,
        }
    }

    fn fill(&mut self) -> std::io::Result<&[u8]> {
        if self.pending_at < self.pending.len() {
            return Ok(&self.pending[self.pending_at..]);
        }
        loop {
            match self.inner.fill_buf() {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) => break,
            }
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.offset += n as u64;
        if self.pending_at < self.pending.len() {
            self.pending_at += n;
            if self.pending_at == self.pending.len() {
                self.pending.clear();
                self.pending_at = 0;
            }
        } else {
            self.inner.consume(n);
        }
    }

    /// Give bytes back to be read again (they were just consumed).
    fn unread(&mut self, bytes: Vec<u8>) {
        self.offset -= bytes.len() as u64;
        let mut rest = bytes;
        rest.extend_from_slice(&self.pending[self.pending_at..]);
        self.pending = rest;
        self.pending_at = 0;
    }

    /// One line with its terminator, at most `max` bytes (then `Ok(None)`
    /// after consuming them); an empty vector at the end of the stream.
    fn line(&mut self, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        loop {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                return Ok(Some(out));
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let take = take.min(max + 1 - out.len().min(max));
            out.extend_from_slice(&chunk[..take]);
            self.consume(take);
            if done && out.last() == Some(&b'\n') {
                return Ok(Some(out));
            }
            if out.len() > max {
                return Ok(None);
            }
        }
    }

    /// Read exactly `n` bytes, or as many as the stream has.
    fn bytes(&mut self, n: u64, keep: bool) -> std::io::Result<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut got = 0u64;
        while got < n {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                break;
            }
            let take = chunk.len().min((n - got) as usize);
            if keep {
                out.extend_from_slice(&chunk[..take]);
            }
            self.consume(take);
            got += take as u64;
        }
        Ok((got, out))
    }

    fn refuse(&self, record: u64, offset: u64, id: Option<String>, reason: String) -> RawRecord {
        let origin = Origin { file: self.file.clone(), record, offset };
        RawRecord { origin: origin.clone(), payload: Payload::Refused(Rejection { origin, id, reason }) }
    }

    fn stream_error(&mut self, record: u64, offset: u64, e: std::io::Error) -> Step {
        self.failed = true;
        Step::Record(self.refuse(record, offset, None, format!("stream error, rest of file unreadable: {e}")))
    }

    /// True when the next bytes are `WARC/` (nothing is consumed).
    fn at_header(&mut self) -> std::io::Result<bool> {
        let mut head = Vec::with_capacity(5);
        while head.len() < 5 {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                break;
            }
            let take = chunk.len().min(5 - head.len());
            head.extend_from_slice(&chunk[..take]);
            self.consume(take);
        }
        let yes = head == b"WARC/";
        self.unread(head);
        Ok(yes)
    }

    /// Skip to the next line that starts a record (or the end), holding
    /// nothing of what is skipped.
    fn resync(&mut self) -> std::io::Result<()> {
        loop {
            if self.fill()?.is_empty() || self.at_header()? {
                return Ok(());
            }
            loop {
                let chunk = self.fill()?;
                if chunk.is_empty() {
                    return Ok(());
                }
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.consume(i + 1);
                        break;
                    }
                    None => {
                        let n = chunk.len();
                        self.consume(n);
                    }
                }
            }
        }
    }

    fn step(&mut self) -> Step {
        // Blank lines between records are tolerated.
        let start = loop {
            let start = self.offset;
            match self.line(MAX_HEADER_BYTES) {
                Err(e) => return self.stream_error(self.record + 1, start, e),
                Ok(Some(l)) if l.is_empty() => return Step::End,
                Ok(Some(l)) if l.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Some(l)) if l.starts_with(b"WARC/") => break start,
                Ok(other) => {
                    self.record += 1;
                    let seen = String::from_utf8_lossy(&other.unwrap_or_default())
                        .chars()
                        .take(40)
                        .collect::<String>();
                    let n = self.record;
                    if let Err(e) = self.resync() {
                        return self.stream_error(n, start, e);
                    }
                    return Step::Record(self.refuse(
                        n,
                        start,
                        None,
                        format!("not a WARC record header (found {seen:?}); skipped to the next record"),
                    ));
                }
            }
        };
        self.record += 1;
        let n = self.record;
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut size = 0usize;
        loop {
            let line = match self.line(MAX_HEADER_BYTES) {
                Err(e) => return self.stream_error(n, start, e),
                Ok(Some(l)) => l,
                Ok(None) => {
                    let _ = self.resync();
                    return Step::Record(self.refuse(
                        n,
                        start,
                        None,
                        format!("header block over {MAX_HEADER_BYTES} bytes"),
                    ));
                }
            };
            if line.is_empty() {
                self.failed = true;
                return Step::Record(self.refuse(
                    n,
                    start,
                    None,
                    "file ends inside a record header (truncated)".into(),
                ));
            }
            size += line.len();
            if size > MAX_HEADER_BYTES {
                let _ = self.resync();
                return Step::Record(self.refuse(
                    n,
                    start,
                    None,
                    format!("header block over {MAX_HEADER_BYTES} bytes"),
                ));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                break;
            }
            if text.starts_with([' ', '\t']) {
                if let Some(last) = fields.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(text.trim());
                }
                continue;
            }
            match text.split_once(':') {
                Some((k, v)) => fields.push((k.trim().to_string(), v.trim().to_string())),
                None => {
                    let _ = self.resync();
                    return Step::Record(self.refuse(n, start, None, format!("bad header line {text:?}")));
                }
            }
        }
        let header = Header { fields };
        let id = header.get("WARC-Record-ID").map(str::to_string);
        let Some(len) = header.get("Content-Length").and_then(|v| v.parse::<u64>().ok()) else {
            let _ = self.resync();
            return Step::Record(self.refuse(n, start, id, "missing or invalid Content-Length".into()));
        };
        let kind = header.get("WARC-Type").unwrap_or("").to_ascii_lowercase();
        let wanted = matches!(kind.as_str(), "conversion" | "response" | "resource");
        let too_long = len > self.max as u64;
        let (got, block) = match self.bytes(len, !too_long) {
            Ok(b) => b,
            Err(e) => return self.stream_error(n, start, e),
        };
        if got < len {
            self.failed = true;
            return Step::Record(self.refuse(n, start, id, format!("record declares Content-Length {len} but the file ends {got} bytes into its block (truncated)")));
        }
        // The block must be followed by CRLF CRLF; otherwise its length lied.
        let trailer = match self.bytes(4, true) {
            Ok((_, t)) => t,
            Err(e) => return self.stream_error(n, start, e),
        };
        let ends = trailer == b"\r\n\r\n" || trailer == b"\n\n" || b"\r\n".starts_with(&trailer);
        if !ends && trailer.starts_with(b"\r\n") && b"WARC/".starts_with(&trailer[2..]) {
            // A single CRLF and the next header: tolerated.
            self.unread(trailer[2..].to_vec());
        } else if !ends {
            // Read again from the start of the block: the records it swallowed
            // (length too long) or the rest of its block (too short) are found
            // by the next record header.
            let mut back = block;
            back.extend_from_slice(&trailer);
            if !too_long {
                self.unread(back);
            }
            if let Err(e) = self.resync() {
                return self.stream_error(n, start, e);
            }
            return Step::Record(self.refuse(n, start, id, format!("Content-Length {len} does not end at a record boundary (the length is wrong); skipped to the next record")));
        }
        if !wanted {
            return Step::NotADocument;
        }
        if too_long {
            return Step::Record(self.refuse(
                n,
                start,
                id,
                format!(
                    "record block of {len} bytes exceeds the limit of {} bytes (--max-record-bytes)",
                    self.max
                ),
            ));
        }
        let Some(id) = id else {
            return Step::Record(self.refuse(n, start, None, "missing WARC-Record-ID".into()));
        };
        let url = header.get("WARC-Target-URI").map(str::to_string);
        let content_type = header.get("Content-Type").map(str::to_ascii_lowercase).unwrap_or_default();
        let payload = match kind.as_str() {
            "conversion" => Payload::Text { id, url, bytes: block },
            "response" if content_type.starts_with("application/http") => {
                Payload::Web { id, url, http: true, content_type: None, bytes: block }
            }
            _ => Payload::Web { id, url, http: false, content_type: Some(content_type), bytes: block },
        };
        Step::Record(RawRecord {
            origin: Origin { file: self.file.clone(), record: n, offset: start },
            payload,
        })
    }
}

impl<R: BufRead + Send> CorpusReader for WarcReader<R> {
    fn next_record(&mut self) -> Result<Option<RawRecord>> {
        if self.failed {
            return Ok(None);
        }
        loop {
            match self.step() {
                Step::Record(r) => return Ok(Some(r)),
                Step::NotADocument => continue,
                Step::End => return Ok(None),
            }
        }
    }
}

/// True when `head` (the first bytes of a decompressed stream) starts a WARC file.
pub(crate) fn is_warc(head: &[u8]) -> bool {
    head.starts_with(b"WARC/1.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: &str, id: &str, block: &str) -> String {
        format!("WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {id}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n", block.len())
    }

    fn read_all(input: &[u8], max: usize) -> Vec<String> {
        let mut r = WarcReader::new(input, "t.warc".into(), max);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let o = &rec.origin;
            out.push(match rec.payload {
                Payload::Text { id, bytes, .. } => {
                    format!("{}@{} {id}={}", o.record, o.offset, String::from_utf8_lossy(&bytes))
                }
                Payload::Refused(r) => format!("{}@{} refused: {}", o.record, o.offset, r.reason),
                other => format!("{other:?}"),
            });
        }
        out
    }

    #[test]
    fn records_limits_and_truncation() {
        let a = rec("conversion", "a", "alpha");
        let big = rec("conversion", "b", &"x".repeat(100));
        let c = rec("conversion", "c", "gamma");
        let input = format!("\r\n{a}{}{big}{c}", rec("request", "r", "GET /"));
        let at_big = 2 + a.len() + rec("request", "r", "GET /").len();
        let got = read_all(input.as_bytes(), 50);
        assert_eq!(got[0], "1@2 a=alpha");
        assert_eq!(got[1], format!("3@{at_big} refused: record block of 100 bytes exceeds the limit of 50 bytes (--max-record-bytes)"));
        assert_eq!(got[2], format!("4@{} c=gamma", at_big + big.len()));
        assert_eq!(got.len(), 3);
        let cut = &input.as_bytes()[..input.len() - 8];
        let got = read_all(cut, 500);
        assert!(got[2].starts_with("4@") && got[2].contains("truncated"), "{got:?}");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn garbage_is_refused_and_skipped() {
        let input = format!("junk line\nmore junk\n{}", rec("conversion", "a", "alpha"));
        assert_eq!(
            read_all(input.as_bytes(), 100),
            [
                "1@0 refused: not a WARC record header (found \"junk line\\n\"); skipped to the next record",
                "2@20 a=alpha"
            ]
        );
        let no_len = "WARC/1.0\r\nWARC-Type: conversion\r\n\r\nabc\r\n\r\n";
        assert_eq!(read_all(no_len.as_bytes(), 100), ["1@0 refused: missing or invalid Content-Length"]);
    }
}
