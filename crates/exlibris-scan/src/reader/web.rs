//! Web pages of WARC records: the HTTP message, its encodings, its charset,
//! and HTML to text. Runs in [`super::decode`], on the worker threads.
use std::io::Read;

/// The text of a web page, or why there is none. `http`: `bytes` is an HTTP
/// response message; otherwise `content_type` says what `bytes` is.
pub(crate) fn page_text(
    http: bool,
    content_type: Option<&str>,
    bytes: &[u8],
    max: usize,
) -> Result<String, String> {
    let (content_type, body) = if http {
        let (status, headers, body) = split_http(bytes)?;
        if !(200..300).contains(&status) {
            return Err(format!("HTTP status {status}, not a page"));
        }
        let mut body = body.to_vec();
        if header(&headers, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
            body = dechunk(&body)?;
        }
        if let Some(enc) = header(&headers, "content-encoding") {
            body = decompress(&enc.to_ascii_lowercase(), body, max)?;
        }
        (header(&headers, "content-type").unwrap_or("text/html").to_ascii_lowercase(), body)
    } else {
        (content_type.unwrap_or("text/html").to_ascii_lowercase(), bytes.to_vec())
    };
    let mime = content_type.split(';').next().unwrap_or("").trim();
    let html = match mime {
        "text/html" | "application/xhtml+xml" | "text/xml" | "application/xml" | "" => true,
        m if m.starts_with("text/") => false,
        m => return Err(format!("content type {m}, not text")),
    };
    let charset = charset_of(&content_type).or_else(|| if html { meta_charset(&body) } else { None });
    let text = to_utf8(&body, charset.as_deref(), html)?;
    Ok(if html { exlibris_text::html::html_to_text(&text) } else { text })
}

/// What a page says about itself outside its text: the HTTP response
/// headers and the HTML `<meta name=… content=…>` pairs (names lowercased),
/// which text extraction drops. Opt-out taggers (TDMRep, `X-Robots-Tag`,
/// robots `noai`) read them; the scan does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageHead {
    /// HTTP response headers, as sent (empty when the block is not HTTP).
    pub headers: Vec<(String, String)>,
    /// `<meta>` tags with a `name` (or `http-equiv`) and a `content`.
    pub meta: Vec<(String, String)>,
}

/// The [`PageHead`] of a web page's block. Never fails: what cannot be read
/// is left out. Only the first 64 KiB of the (decoded) body are searched.
pub fn page_head(http: bool, bytes: &[u8]) -> PageHead {
    let (headers, body) = if http {
        match split_http(bytes) {
            Ok((_, headers, body)) => {
                let mut body = body.to_vec();
                if header(&headers, "transfer-encoding")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
                {
                    body = dechunk(&body).unwrap_or_default();
                }
                if let Some(enc) = header(&headers, "content-encoding") {
                    body = decompress(&enc.to_ascii_lowercase(), body, 1 << 20).unwrap_or_default();
                }
                (headers, body)
            }
            Err(_) => (Vec::new(), Vec::new()),
        }
    } else {
        (Vec::new(), bytes.to_vec())
    };
    PageHead { headers, meta: meta_tags(&body[..body.len().min(64 << 10)]) }
}

/// `(name, content)` of the `<meta>` tags of an HTML prefix.
fn meta_tags(body: &[u8]) -> Vec<(String, String)> {
    let html = String::from_utf8_lossy(body);
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<meta") {
        let start = at + i + 5;
        let end = lower[start..].find('>').map_or(lower.len(), |j| start + j);
        let attrs = attributes(&html[start..end]);
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if let (Some(name), Some(content)) = (get("name").or_else(|| get("http-equiv")), get("content")) {
            out.push((name.to_ascii_lowercase(), content));
        }
        at = end;
    }
    out
}

/// Attributes of a tag's inside: `name="v"`, `name='v'` or `name=v`.
fn attributes(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].split_whitespace().last().unwrap_or("").trim_matches('/').to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(j) => (&after[1..1 + j], &after[2 + j..]),
                None => (&after[1..], ""),
            },
            _ => {
                let j = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..j], &after[j..])
            }
        };
        out.push((name, value.to_string()));
        rest = next;
    }
    out
}

type Headers = Vec<(String, String)>;

fn header<'h>(h: &'h Headers, name: &str) -> Option<&'h str> {
    h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Status, headers and body of an HTTP response message.
fn split_http(bytes: &[u8]) -> Result<(u16, Headers, &[u8]), String> {
    let end =
        find(bytes, b"\r\n\r\n").map(|i| (i, i + 4)).or_else(|| find(bytes, b"\n\n").map(|i| (i, i + 2)));
    let Some((head_end, body_start)) = end else {
        return Err("HTTP response without the end of its headers".into());
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/")
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| {
            format!(
                "not an HTTP response (status line {:?})",
                exlibris_text::truncate_at_char(status_line, 60)
            )
        })?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok((status, headers, &bytes[body_start..]))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(b.len());
    loop {
        let nl = b.iter().position(|&c| c == b'\n').ok_or("chunked body: missing chunk size")?;
        let line = String::from_utf8_lossy(&b[..nl]);
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("chunked body: bad chunk size {:?}", line.trim()))?;
        b = &b[nl + 1..];
        if size == 0 {
            return Ok(out);
        }
        if size > b.len() {
            return Err(format!("chunked body: chunk of {size} bytes, {} left (truncated)", b.len()));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size..];
        b = b.strip_prefix(b"\r\n").or_else(|| b.strip_prefix(b"\n")).unwrap_or(b);
    }
}

fn decompress(encoding: &str, body: Vec<u8>, max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let r = match encoding.trim() {
        "identity" | "" => return Ok(body),
        "gzip" | "x-gzip" => {
            flate2::read::MultiGzDecoder::new(&body[..]).take(max as u64 + 1).read_to_end(&mut out)
        }
        "deflate" => flate2::read::ZlibDecoder::new(&body[..]).take(max as u64 + 1).read_to_end(&mut out),
        other => return Err(format!("unsupported Content-Encoding {other:?}")),
    };
    r.map_err(|e| format!("Content-Encoding {encoding}: {e}"))?;
    if out.len() > max {
        return Err(format!("body decompresses to more than {max} bytes (--max-record-bytes)"));
    }
    Ok(out)
}

fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "charset").then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// A `<meta charset>` or `http-equiv` declaration in the first 1024 bytes.
fn meta_charset(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    let i = head.find("charset=")?;
    let v: String = head[i + 8..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!v.is_empty()).then_some(v)
}

/// Decode to UTF-8 by the declared charset. Without one, valid UTF-8 is
/// taken as such; otherwise HTML falls back to windows-1252, as browsers
/// do, and plain text is refused.
fn to_utf8(body: &[u8], charset: Option<&str>, html: bool) -> Result<String, String> {
    let declared = charset.and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()));
    let enc = match declared {
        Some(e) => e,
        None => match std::str::from_utf8(body) {
            Ok(s) => return Ok(s.to_string()),
            Err(_) if html => encoding_rs::WINDOWS_1252,
            Err(e) => {
                return Err(format!("invalid UTF-8 at byte {} and no charset declared", e.valid_up_to()))
            }
        },
    };
    let (text, _, _) = enc.decode(body);
    Ok(text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_heads_keep_headers_and_meta() {
        let msg = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\ntdm-reservation: 1\r\nX-Robots-Tag: noai\r\n\r\n<html><head><meta name=\"TDM-Reservation\" content=\"1\"><meta content='noai, noimageai' name=robots /></head><p>x</p>";
        let head = page_head(true, msg);
        assert_eq!(header(&head.headers, "tdm-reservation"), Some("1"));
        assert_eq!(header(&head.headers, "x-robots-tag"), Some("noai"));
        assert_eq!(
            head.meta,
            vec![("tdm-reservation".into(), "1".into()), ("robots".into(), "noai, noimageai".into())]
        );
        assert_eq!(page_head(false, b"<meta name=a content=b>").meta, vec![("a".into(), "b".into())]);
    }

    #[test]
    fn http_pages_are_decoded() {
        let msg = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-8859-1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n<p>caf\r\n4\r\n\xe9</p\r\n1\r\n>\r\n0\r\n\r\n";
        assert_eq!(page_text(true, None, msg, 1 << 20).unwrap(), "café");
        let redirect = b"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n";
        assert_eq!(page_text(true, None, redirect, 1 << 20).unwrap_err(), "HTTP status 301, not a page");
        let png = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG";
        assert_eq!(page_text(true, None, png, 1 << 20).unwrap_err(), "content type image/png, not text");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, "<meta charset=\"utf-8\"><p>naïve</p>".as_bytes()).unwrap();
        let mut msg = b"HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        msg.extend(gz.finish().unwrap());
        assert_eq!(page_text(true, None, &msg, 1 << 20).unwrap(), "naïve");
        assert!(page_text(true, None, &msg, 10).unwrap_err().contains("more than 10 bytes"));
        assert!(page_text(false, Some("text/plain"), b"a\xffb", 100)
            .unwrap_err()
            .contains("invalid UTF-8 at byte 1"));
    }
}
