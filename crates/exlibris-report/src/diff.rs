//! Word differences between the two sides of a finding, as HTML.
//!
//! A longest common subsequence over words (compared case-insensitively,
//! ignoring punctuation attached to them): words of one side missing from the
//! other are marked. That shows OCR errors, edits, inserted and dropped words.
//! The sides are evidence snippets (at most a few KB), so the quadratic table
//! is small; beyond [`MAX_CELLS`] the sides are shown unmarked.

/// Largest LCS table computed.
pub const MAX_CELLS: usize = 4_000_000;

/// Escape text for HTML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Words of `s` as (byte start, byte end, comparison key); what lies
/// between them is kept verbatim.
fn words(s: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(st)) => {
                let key: String =
                    s[st..i].chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
                out.push((st, i, key));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Which words of each side have a partner on the other.
fn matched(a: &[(usize, usize, String)], b: &[(usize, usize, String)]) -> Option<(Vec<bool>, Vec<bool>)> {
    let (n, m) = (a.len(), b.len());
    if (n + 1) * (m + 1) > MAX_CELLS {
        return None;
    }
    let w = m + 1;
    let mut t = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i * w + j] = if a[i].2 == b[j].2 {
                t[(i + 1) * w + j + 1] + 1
            } else {
                t[(i + 1) * w + j].max(t[i * w + j + 1])
            };
        }
    }
    let (mut ma, mut mb) = (vec![false; n], vec![false; m]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i].2 == b[j].2 {
            (ma[i], mb[j]) = (true, true);
            i += 1;
            j += 1;
        } else if t[(i + 1) * w + j] >= t[i * w + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    Some((ma, mb))
}

fn render(s: &str, ws: &[(usize, usize, String)], keep: &[bool], class: &str) -> String {
    let mut o = String::with_capacity(s.len() * 2);
    let mut at = 0;
    for ((st, e, _), &k) in ws.iter().zip(keep) {
        o.push_str(&escape(&s[at..*st]));
        if k {
            o.push_str(&escape(&s[*st..*e]));
        } else {
            o.push_str(&format!("<mark class=\"{class}\">{}</mark>", escape(&s[*st..*e])));
        }
        at = *e;
    }
    o.push_str(&escape(&s[at..]));
    o
}

/// Both sides as HTML with the words not shared marked (`<mark class="d">`
/// on the document's side, `<mark class="w">` on the work's), and the number
/// of words marked on either side.
pub fn diff_html(doc: &str, work: &str) -> (String, String, usize) {
    let (a, b) = (words(doc), words(work));
    match matched(&a, &b) {
        Some((ma, mb)) => {
            let changed = ma.iter().chain(&mb).filter(|k| !**k).count();
            (render(doc, &a, &ma, "d"), render(work, &b, &mb, "w"), changed)
        }
        None => (escape(doc), escape(work), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_ocr_errors_and_edits() {
        let (d, w, n) = diff_html(
            "It was the best of tirnes, it was <the> worst",
            "It was the best of times, it was the worst",
        );
        assert_eq!(n, 2);
        assert!(d.contains("<mark class=\"d\">tirnes,</mark>"), "{d}");
        assert!(d.contains("&lt;the&gt;"), "{d}");
        assert!(w.contains("<mark class=\"w\">times,</mark>"), "{w}");
        let (_, _, n) = diff_html("Same  words\nhere", "same words here.");
        assert_eq!(n, 0);
        let (d, _, n) = diff_html("one extra two", "one two");
        assert_eq!((n, d.as_str()), (1, "one <mark class=\"d\">extra</mark> two"));
    }
}
