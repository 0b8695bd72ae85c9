//! Copyright pages: rights statements, © lines (years and holder), printing
//! lines, and ISBNs.
use crate::isbn::find_isbns;
use crate::tag::{Tag, TagKind};

/// Statements of a copyright page, lowercased.
const STATEMENTS: &[&str] = &[
    "all rights reserved",
    "no part of this publication may be reproduced",
    "no part of this book may be reproduced",
    "no part of this work may be reproduced",
    "without the prior written permission of the publisher",
    "first published in",
    "printed and bound in",
];

/// Copyright-page tags of `text` (searched in its first and last 64 KiB,
/// where front and back matter sit).
pub fn copyright_tags(doc_id: &str, text: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut offset = 0;
    let head = floor(text, 64 << 10);
    let tail_start = ceil(text, text.len().saturating_sub(64 << 10)).max(head);
    for line in text.split_inclusive('\n') {
        let (start, end) = (offset, offset + line.len());
        offset = end;
        if start >= head && end <= tail_start {
            continue;
        }
        let l = line.trim();
        if l.is_empty() || l.len() > 400 {
            continue;
        }
        let lower = l.to_lowercase();
        let span = Some((start, start + line.trim_end().len()));
        // Short statements ("first published in") also occur in prose: only
        // on a short line do they read as a copyright page.
        let strong = lower.contains("all rights reserved") || lower.contains("no part of this");
        if let Some(s) = STATEMENTS.iter().find(|s| lower.contains(*s)).filter(|_| strong || l.len() <= 120) {
            tags.push(Tag::new(doc_id, TagKind::CopyrightPage, 0.8, format!("statement {s:?}: {l}"), span));
        } else if let Some((years, holder)) = copyright_line(l) {
            tags.push(Tag::new(
                doc_id,
                TagKind::CopyrightPage,
                0.8,
                format!("copyright line: years {years}, holder {holder:?}"),
                span,
            ));
        } else if printing_line(l) {
            tags.push(Tag::new(doc_id, TagKind::CopyrightPage, 0.5, format!("printing line: {l}"), span));
        }
    }
    for m in find_isbns(text) {
        let conf = if m.labelled { 0.95 } else { 0.7 };
        tags.push(Tag::new(doc_id, TagKind::Isbn, conf, m.isbn, Some(m.span)));
    }
    tags
}

fn floor(t: &str, mut i: usize) -> usize {
    i = i.min(t.len());
    while !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(t: &str, mut i: usize) -> usize {
    while !t.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// `© 1998, 2004 Jane Doe`, `Copyright (c) 2001 by X`: years and holder.
pub fn copyright_line(line: &str) -> Option<(String, String)> {
    let lower = line.to_lowercase();
    let at = ["©", "(c)", "copyright"].iter().filter_map(|m| lower.find(m).map(|i| i + m.len())).min()?;
    let rest = line.get(at..)?;
    let rest = rest.trim_start_matches(|c: char| c == '©' || c.is_whitespace());
    let rest = rest.strip_prefix("(c)").or_else(|| rest.strip_prefix("(C)")).unwrap_or(rest).trim_start();
    let year_end = rest.find(|c: char| !(c.is_ascii_digit() || " ,-–".contains(c))).unwrap_or(rest.len());
    let years = rest[..year_end].trim().trim_end_matches([',', '-', '–']).trim();
    let ok = years
        .split([',', '-', '–', ' '])
        .filter(|y| !y.is_empty())
        .all(|y| y.len() == 4 && y.parse::<u32>().is_ok_and(|y| (1500..2100).contains(&y)));
    if years.is_empty() || !ok {
        return None;
    }
    let holder = rest[year_end..].trim();
    let holder = holder.strip_prefix("by ").unwrap_or(holder).trim_end_matches('.').trim();
    Some((years.to_string(), holder.to_string()))
}

/// `10 9 8 7 6 5 4 3 2 1` and the like: at least five numbers, each one
/// more or less than the last.
pub fn printing_line(line: &str) -> bool {
    let nums: Option<Vec<i32>> = line.split_whitespace().map(|w| w.parse().ok()).collect();
    let Some(n) = nums else { return false };
    n.len() >= 5 && n.windows(2).all(|w| (w[0] - w[1]).abs() == 1 || (w[0] - w[1]).abs() == 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copyright_pages_are_recognised() {
        assert_eq!(copyright_line("© 1998, 2004 Jane Doe."), Some(("1998, 2004".into(), "Jane Doe".into())));
        assert_eq!(
            copyright_line("Copyright (c) 2001 by Acme Press"),
            Some(("2001".into(), "Acme Press".into()))
        );
        assert_eq!(copyright_line("the copyright of the text"), None);
        assert!(printing_line("10 9 8 7 6 5 4 3 2 1"));
        assert!(printing_line("1 3 5 7 9 10 8 6 4 2"));
        assert!(!printing_line("1 2 3"));
        let page = "Title\nCopyright © 2010 A. Author\nAll rights reserved.\nISBN 978-0-306-40615-7\n10 9 8 7 6 5 4 3 2 1\n";
        let kinds: Vec<_> = copyright_tags("d", page).into_iter().map(|t| (t.tag, t.evidence)).collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        assert_eq!(kinds[3], (TagKind::Isbn, "9780306406157".into()));
    }
}
