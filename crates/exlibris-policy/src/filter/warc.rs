//! Splitting a WARC (or WET) stream into its records' exact bytes, so that
//! the filter can copy each record verbatim to keep or quarantine.
//!
//! The scanner's reader (`exlibris_scan::reader::WarcReader`) decodes
//! records but does not keep their bytes; this splitter cuts the same
//! decompressed stream at the same places: a record runs from its `WARC/`
//! line to the end of its block and trailer (blank lines before it belong to
//! it); junk, a bad header or a `Content-Length` that does not end at a
//! record boundary extends the record to the next line that starts with
//! `WARC/`, as the reader resynchronises. The filter matches the two by the
//! offset of the `WARC/` line, and checks that every document the reader
//! gave was found here.
use std::io::{BufRead, Read};

/// One record's bytes and the header fields the filter routes by.
pub struct RawWarcRecord {
    /// Offset, in the decompressed stream, of its `WARC/` line (or of the
    /// junk that stands in its place): the reader's record offset.
    pub at: u64,
    /// Every byte from the end of the previous record to the end of this one.
    pub bytes: Vec<u8>,
    /// `WARC-Type`, lower case ("" when unknown).
    pub kind: String,
    /// `WARC-Record-ID`.
    pub id: Option<String>,
    /// `WARC-Concurrent-To` and `WARC-Refers-To` values.
    pub links: Vec<String>,
}

/// Cuts a decompressed WARC stream into [`RawWarcRecord`]s.
pub struct WarcSplitter<R> {
    inner: R,
    pending: Vec<u8>,
    offset: u64,
}

impl<R: BufRead> WarcSplitter<R> {
    /// Records of `stream`.
    pub fn new(stream: R) -> Self {
        WarcSplitter { inner: stream, pending: Vec::new(), offset: 0 }
    }

    /// One line with its terminator (empty at the end).
    fn line(&mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            match self.pending.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    out = self.pending.drain(..=i).collect();
                    self.offset += out.len() as u64;
                    return Ok(out);
                }
                None => out = std::mem::take(&mut self.pending),
            }
        }
        self.inner.read_until(b'\n', &mut out)?;
        self.offset += out.len() as u64;
        Ok(out)
    }

    /// Up to `n` bytes (fewer at the end of the stream).
    fn bytes(&mut self, n: u64) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let from_pending = (n as usize).min(self.pending.len());
        out.extend(self.pending.drain(..from_pending));
        let rest = n - from_pending as u64;
        (&mut self.inner).take(rest).read_to_end(&mut out)?;
        self.offset += out.len() as u64;
        Ok(out)
    }

    fn unread(&mut self, mut b: Vec<u8>) {
        self.offset -= b.len() as u64;
        b.extend_from_slice(&self.pending);
        self.pending = b;
    }

    /// Append lines to `out` up to (not including) the next line that
    /// starts with `WARC/`, or the end.
    fn take_to_next_header(&mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        loop {
            let l = self.line()?;
            if l.is_empty() {
                return Ok(());
            }
            if l.starts_with(b"WARC/") {
                self.unread(l);
                return Ok(());
            }
            out.extend_from_slice(&l);
        }
    }

    /// The next record, or `None` at the end. Bytes after the last record
    /// that are only blank lines are returned as a record of kind "" with
    /// no id, so that no byte is lost.
    pub fn next_record(&mut self) -> std::io::Result<Option<RawWarcRecord>> {
        let mut bytes = Vec::new();
        let (at, first) = loop {
            let at = self.offset;
            let l = self.line()?;
            if l.is_empty() {
                if bytes.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(RawWarcRecord {
                    at,
                    bytes,
                    kind: String::new(),
                    id: None,
                    links: Vec::new(),
                }));
            }
            if l.iter().all(u8::is_ascii_whitespace) {
                bytes.extend_from_slice(&l);
                continue;
            }
            break (at, l);
        };
        let mut rec = RawWarcRecord { at, bytes, kind: String::new(), id: None, links: Vec::new() };
        let header_line = first.starts_with(b"WARC/");
        rec.bytes.extend_from_slice(&first);
        if !header_line {
            self.take_to_next_header(&mut rec.bytes)?;
            return Ok(Some(rec));
        }
        let mut len: Option<u64> = None;
        let mut good = true;
        loop {
            let l = self.line()?;
            if l.is_empty() {
                // Truncated inside the header: what there is is the record.
                return Ok(Some(rec));
            }
            rec.bytes.extend_from_slice(&l);
            let text = String::from_utf8_lossy(&l);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                break;
            }
            if text.starts_with([' ', '\t']) {
                continue;
            }
            let Some((k, v)) = text.split_once(':') else {
                good = false;
                break;
            };
            let (k, v) = (k.trim(), v.trim().to_string());
            if k.eq_ignore_ascii_case("WARC-Type") {
                rec.kind = v.to_ascii_lowercase();
            } else if k.eq_ignore_ascii_case("WARC-Record-ID") {
                rec.id = Some(v);
            } else if k.eq_ignore_ascii_case("WARC-Concurrent-To") || k.eq_ignore_ascii_case("WARC-Refers-To")
            {
                rec.links.push(v);
            } else if k.eq_ignore_ascii_case("Content-Length") {
                len = v.parse().ok();
            }
        }
        let Some(len) = len.filter(|_| good) else {
            self.take_to_next_header(&mut rec.bytes)?;
            return Ok(Some(rec));
        };
        let block = self.bytes(len)?;
        if (block.len() as u64) < len {
            rec.bytes.extend_from_slice(&block);
            return Ok(Some(rec));
        }
        let trailer = self.bytes(4)?;
        let ends = trailer == b"\r\n\r\n" || trailer == b"\n\n" || b"\r\n".starts_with(&trailer);
        if ends {
            rec.bytes.extend_from_slice(&block);
            rec.bytes.extend_from_slice(&trailer);
        } else if trailer.starts_with(b"\r\n") && b"WARC/".starts_with(&trailer[2..]) {
            rec.bytes.extend_from_slice(&block);
            rec.bytes.extend_from_slice(&trailer[..2]);
            self.unread(trailer[2..].to_vec());
        } else {
            // The length lies: the record runs to the next header line
            // after its header, as the reader resynchronises.
            let mut back = block;
            back.extend_from_slice(&trailer);
            self.unread(back);
            self.take_to_next_header(&mut rec.bytes)?;
        }
        Ok(Some(rec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: &str, id: &str, block: &str) -> String {
        format!(
            "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {id}\r\nContent-Length: {}\r\n\r\n{block}\r\n\r\n",
            block.len()
        )
    }

    #[test]
    fn records_are_cut_exactly_even_when_lengths_lie() {
        let a = rec("conversion", "a", "alpha");
        let lying = "WARC/1.1\r\nWARC-Type: conversion\r\nWARC-Record-ID: l\r\nContent-Length: 3\r\n\r\nlonger than three\r\n\r\n";
        let c = rec("request", "c", "GET /");
        let input = format!("\r\n{a}junk line\n{lying}{c}\n");
        let mut s = WarcSplitter::new(input.as_bytes());
        let mut got = Vec::new();
        while let Some(r) = s.next_record().unwrap() {
            got.push(r);
        }
        let joined: Vec<u8> = got.iter().flat_map(|r| r.bytes.clone()).collect();
        assert_eq!(joined, input.as_bytes(), "every byte once, in order");
        let ats: Vec<u64> = got.iter().map(|r| r.at).collect();
        let junk = 2 + a.len() as u64;
        let l = junk + "junk line\n".len() as u64;
        assert_eq!(ats, [2, junk, l, l + lying.len() as u64, input.len() as u64]);
        assert_eq!(got[0].id.as_deref(), Some("a"));
        assert_eq!(got[3].kind, "request");
    }
}
