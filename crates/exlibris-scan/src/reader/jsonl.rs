//! JSON Lines: a bounded line splitter and a field-picking record parser.
use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;
use std::sync::Arc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::{CorpusReader, Fields, Payload, RawRecord};
use crate::document::{Origin, Rejection};
use crate::error::Result;

/// Splits a stream into lines of at most `max` bytes. A longer line is
/// reported (its length) and skipped without being held in memory.
pub struct LineReader<R> {
    inner: R,
    max: usize,
    offset: u64,
    line: u64,
}

/// One line, or the fact that it was too long, or a stream error.
pub enum Line {
    /// A line (without `\n` or `\r\n`), with its 1-based number and offset.
    Ok(u64, u64, Vec<u8>),
    /// A line over the limit: number, offset, length.
    TooLong(u64, u64, u64),
    /// The stream failed (truncated compressed data, I/O error).
    Failed(u64, u64, std::io::Error),
}

impl<R: BufRead> LineReader<R> {
    /// Lines of `inner`, each at most `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader { inner, max, offset: 0, line: 0 }
    }

    /// The next line; `None` at the end.
    pub fn next_line(&mut self) -> Option<Line> {
        let mut buf = Vec::new();
        let start = self.offset;
        let mut len: u64 = 0;
        let mut too_long = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.line += 1;
                    return Some(Line::Failed(self.line, start, e));
                }
            };
            if chunk.is_empty() {
                if len == 0 {
                    return None;
                }
                break;
            }
            let (take, found) = match memchr(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let body = if found { take - 1 } else { take };
            if !too_long {
                if len as usize + body > self.max {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(&chunk[..body]);
                }
            }
            len += take as u64;
            self.inner.consume(take);
            if found {
                break;
            }
        }
        self.offset += len;
        self.line += 1;
        if too_long {
            return Some(Line::TooLong(self.line, start, len));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Some(Line::Ok(self.line, start, buf))
    }
}

#[inline]
fn memchr(s: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', s)
}

/// JSON Lines records of one stream.
pub struct JsonlReader<R> {
    lines: LineReader<R>,
    file: Arc<str>,
    failed: bool,
}

impl<R: BufRead> JsonlReader<R> {
    /// Records of `stream`, named `file` in origins.
    pub fn new(stream: R, file: Arc<str>, max_record_bytes: usize) -> Self {
        JsonlReader { lines: LineReader::new(stream, max_record_bytes), file, failed: false }
    }

    /// Records of `stream`, the slice `range` of `file`: origins are
    /// numbered as in the whole file.
    pub fn starting_at(
        stream: R,
        file: Arc<str>,
        max_record_bytes: usize,
        range: super::RecordRange,
    ) -> Self {
        let mut lines = LineReader::new(stream, max_record_bytes);
        lines.offset = range.start;
        lines.line = range.first_record.saturating_sub(1);
        JsonlReader { lines, file, failed: false }
    }
}

impl<R: BufRead + Send> CorpusReader for JsonlReader<R> {
    fn next_record(&mut self) -> Result<Option<RawRecord>> {
        if self.failed {
            return Ok(None);
        }
        loop {
            let origin = |record, offset| Origin { file: self.file.clone(), record, offset };
            let rec = match self.lines.next_line() {
                None => return Ok(None),
                Some(Line::Ok(n, off, bytes)) => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue; // blank lines are not records
                    }
                    RawRecord { origin: origin(n, off), payload: Payload::JsonLine(bytes) }
                }
                Some(Line::TooLong(n, off, len)) => {
                    let o = origin(n, off);
                    let reason = format!(
                        "record of {len} bytes exceeds the limit of {} bytes (--max-record-bytes)",
                        self.lines.max
                    );
                    RawRecord {
                        origin: o.clone(),
                        payload: Payload::Refused(Rejection { origin: o, id: None, reason }),
                    }
                }
                Some(Line::Failed(n, off, e)) => {
                    self.failed = true;
                    let o = origin(n, off);
                    let reason = format!("stream error, rest of file unreadable: {e}");
                    RawRecord {
                        origin: o.clone(),
                        payload: Payload::Refused(Rejection { origin: o, id: None, reason }),
                    }
                }
            };
            return Ok(Some(rec));
        }
    }
}

/// A record's (id, text, URL), or (id if known, reason).
type Parsed = std::result::Result<(String, String, Option<String>), (Option<String>, String)>;

/// Parse one JSON record, picking the id, text and URL fields.
pub(crate) fn parse_record(bytes: &[u8], fields: &Fields) -> Parsed {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let picked = Picker { fields }.deserialize(&mut de).map_err(|e| (None, format!("invalid JSON: {e}")))?;
    de.end().map_err(|e| (None, format!("invalid JSON: {e}")))?;
    let Picked { id, text, url, text_type } = picked;
    let id = id.ok_or_else(|| (None, format!("missing id field {:?}", fields.id)))?;
    match (text, text_type) {
        (Some(t), _) => Ok((id, t, url)),
        (None, Some(ty)) => Err((Some(id), format!("text field {:?} is {ty}, not a string", fields.text))),
        (None, None) => Err((Some(id), format!("missing text field {:?}", fields.text))),
    }
}

struct Picker<'f> {
    fields: &'f Fields,
}

#[derive(Default)]
struct Picked {
    id: Option<String>,
    text: Option<String>,
    url: Option<String>,
    /// When the text field is present but not a string: what it is.
    text_type: Option<&'static str>,
}

impl<'de> DeserializeSeed<'de> for Picker<'_> {
    type Value = Picked;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Picked, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Picker<'_> {
    type Value = Picked;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Picked, A::Error> {
        let mut p = Picked::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.fields.text {
                match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => p.text = Some(s),
                    other => p.text_type = Some(type_name(&other)),
                }
            } else if key == self.fields.id {
                p.id = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
            } else if key == self.fields.url {
                if let serde_json::Value::String(s) = map.next_value::<serde_json::Value>()? {
                    p.url = Some(s);
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(p)
    }
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line() {
            out.push(match l {
                Line::Ok(n, off, b) => format!("{n}@{off}:{}", String::from_utf8_lossy(&b)),
                Line::TooLong(n, off, len) => format!("{n}@{off}:too long {len}"),
                Line::Failed(n, _, e) => format!("{n}: failed {e}"),
            });
        }
        out
    }

    #[test]
    fn long_lines_are_skipped_and_offsets_kept() {
        let input = b"abc\r\n0123456789ABCDEF\nxyz";
        assert_eq!(lines(input, 8), ["1@0:abc", "2@5:too long 17", "3@22:xyz"]);
    }

    #[test]
    fn records_pick_fields_and_explain_failures() {
        let f = Fields::default();
        let ok = parse_record(br#"{"meta":{"a":[1,2]},"id":7,"text":"hello \u00e9","url":"http://x"}"#, &f)
            .unwrap();
        assert_eq!(ok, ("7".into(), "hello é".into(), Some("http://x".into())));
        let num = parse_record(br#"{"id":"a","text":42}"#, &f).unwrap_err();
        assert_eq!(num, (Some("a".into()), "text field \"text\" is a number, not a string".into()));
        assert!(parse_record(br#"{"id":"a"}"#, &f).unwrap_err().1.contains("missing text field"));
        assert!(parse_record(b"{\"id\":\"a\",\"text\":\"\xff\"}", &f)
            .unwrap_err()
            .1
            .contains("invalid JSON"));
        assert!(parse_record(br#"{"id":"a","text":"x"} trailing"#, &f)
            .unwrap_err()
            .1
            .contains("invalid JSON"));
        assert!(parse_record(b"[1,2]", &f).unwrap_err().1.contains("invalid JSON"));
    }
}
