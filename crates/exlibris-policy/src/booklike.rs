//! Book-likeness: a weak signal from length, chapter headings, front matter
//! and running headers.
use std::collections::HashMap;

use crate::tag::{Tag, TagKind};

/// Words from which a document counts as long.
const LONG_WORDS: usize = 2_000;

/// A book-likeness tag, when the document looks like (part of) a book.
pub fn book_like(doc_id: &str, text: &str) -> Option<Tag> {
    let words = text.split_whitespace().count();
    if words < LONG_WORDS {
        return None;
    }
    let mut chapters = 0;
    let mut front = Vec::new();
    let mut repeated: HashMap<String, usize> = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && l.len() < 80) {
        let lower = line.to_lowercase();
        let first = lower.split_whitespace().next().unwrap_or("");
        if matches!(first, "chapter" | "book" | "part" | "canto" | "letter")
            && lower.split_whitespace().count() <= 6
        {
            chapters += 1;
        }
        if matches!(
            lower.as_str(),
            "contents" | "table of contents" | "dedication" | "preface" | "prologue" | "foreword"
        ) {
            front.push(line.to_string());
        }
        // Running headers: short lines repeated, page numbers masked.
        if line.starts_with(['|', '{', '}', '=', '!', '*', '<', '[', '#', '-']) {
            continue; // markup (wiki tables, headings, lists), not a page header
        }
        let key: String = lower.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
        *repeated.entry(key).or_default() += 1;
    }
    let headers = repeated.iter().filter(|(k, &n)| n >= 4 && k.chars().any(char::is_alphabetic)).count();
    let mut score: f32 = if words >= 20_000 { 0.2 } else { 0.1 };
    let mut why = vec![format!("{words} words")];
    if chapters >= 2 {
        score += 0.3;
        why.push(format!("{chapters} chapter headings"));
    }
    if !front.is_empty() {
        score += 0.15;
        why.push(format!("front matter ({})", front.join(", ")));
    }
    if headers > 0 {
        score += 0.2;
        why.push(format!("{headers} repeated header lines"));
    }
    (score >= 0.4).then(|| Tag::new(doc_id, TagKind::BookLike, score.min(0.6), why.join("; "), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_chaptered_text_is_book_like() {
        let mut t = String::new();
        for c in 1..=3 {
            t.push_str(&format!("CHAPTER {c}\n\n"));
            t.push_str(&"word ".repeat(2500));
            t.push('\n');
        }
        let tag = book_like("d", &t).unwrap();
        assert!(tag.evidence.contains("3 chapter headings"), "{}", tag.evidence);
        assert!(book_like("d", "CHAPTER 1\nshort").is_none());
        assert!(book_like("d", &"word ".repeat(30000)).is_none());
    }
}
