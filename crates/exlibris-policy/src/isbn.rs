//! ISBN-10 and ISBN-13: found in text, validated by their check digit.
//! An ISBN names the book even without a catalog.

/// Whether `digits` (no separators) is a valid ISBN-10: nine digits and a
/// check digit (`X` for 10), weighted sum 10..1 divisible by 11.
pub fn valid_isbn10(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 10 {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in b.iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'X' | b'x' if i == 9 => 10,
            _ => return false,
        };
        sum += v * (10 - i as u32);
    }
    sum.is_multiple_of(11)
}

/// Whether `digits` is a valid ISBN-13: a 978 or 979 EAN-13, weights 1,3.
pub fn valid_isbn13(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 13
        || !b.iter().all(u8::is_ascii_digit)
        || !(digits.starts_with("978") || digits.starts_with("979"))
    {
        return false;
    }
    let sum: u32 =
        b.iter().enumerate().map(|(i, &c)| (c - b'0') as u32 * if i % 2 == 0 { 1 } else { 3 }).sum();
    sum.is_multiple_of(10)
}

/// One ISBN found in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsbnMatch {
    /// The ISBN without separators (`X` upper case).
    pub isbn: String,
    /// Byte span in the text.
    pub span: (usize, usize),
    /// The word "ISBN" stands just before it.
    pub labelled: bool,
}

/// Valid ISBNs of `text`. ISBN-13s are taken anywhere (978/979 and the check
/// digit make chance matches rare); ISBN-10s only after the word "ISBN",
/// since one 10-digit number in 11 passes the check.
pub fn find_isbns(text: &str) -> Vec<IsbnMatch> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if !(b[i].is_ascii_digit() && boundary) {
            i += 1;
            continue;
        }
        // Groups of digits joined by single '-' or ' '.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut j = i;
        loop {
            let s = j;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'X' || b[j] == b'x') {
                j += 1;
                if b[j - 1].eq_ignore_ascii_case(&b'x') {
                    break;
                }
            }
            groups.push((s, j));
            if b[j - 1].eq_ignore_ascii_case(&b'x') {
                break;
            }
            if j + 1 < b.len()
                && (b[j] == b'-' || b[j] == b' ')
                && (b[j + 1].is_ascii_digit() || b[j + 1].eq_ignore_ascii_case(&b'x'))
                && groups.len() < 6
            {
                j += 1;
            } else {
                break;
            }
        }
        let mut from = i.saturating_sub(12);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let before = &text[from..i];
        let labelled = before.to_ascii_uppercase().contains("ISBN");
        let mut found = None;
        let mut digits = String::new();
        for &(s, e) in &groups {
            digits.push_str(&text[s..e]);
            let d = digits.to_ascii_uppercase();
            let end_ok = e == b.len() || !b[e].is_ascii_alphanumeric();
            if end_ok
                && ((d.len() == 13 && valid_isbn13(&d)) || (d.len() == 10 && labelled && valid_isbn10(&d)))
            {
                found = Some((d.clone(), e));
            }
            if d.len() >= 13 {
                break;
            }
        }
        match found {
            Some((isbn, e)) => {
                out.push(IsbnMatch { isbn, span: (i, e), labelled });
                i = e;
            }
            None => i = groups.last().map_or(i + 1, |g| g.1.max(i + 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn10_check_digits() {
        assert!(valid_isbn10("0306406152"));
        assert!(valid_isbn10("080442957X"));
        assert!(valid_isbn10("080442957x"));
        assert!(!valid_isbn10("0306406153"));
        assert!(!valid_isbn10("X306406152"));
        assert!(!valid_isbn10("030640615"));
    }

    #[test]
    fn isbn13_check_digits() {
        assert!(valid_isbn13("9780306406157"));
        assert!(valid_isbn13("9791090636071"));
        assert!(!valid_isbn13("9780306406158"));
        assert!(!valid_isbn13("1234567890128")); // valid EAN, not an ISBN prefix
    }

    #[test]
    fn isbns_are_found_in_text() {
        let t = "Printed in England.\nISBN 978-0-306-40615-7 (hbk)\nISBN: 0-8044-2957-X\nCall 0306406152 now. 9780306406158";
        let got: Vec<String> = find_isbns(t).into_iter().map(|m| m.isbn).collect();
        assert_eq!(got, ["9780306406157", "080442957X"]);
        let m = &find_isbns("see 9780306406157.")[0];
        assert_eq!((m.span, m.labelled), ((4, 17), false));
    }
}
