//! HTML (and XHTML) to text, for web pages of a corpus and HTML or EPUB works.
//!
//! Built on html5ever's tokenizer, which follows the HTML5 specification:
//! character references are decoded, comments and doctypes dropped, and the
//! contents of `script`, `style`, `noscript`, `template`, `title` and the
//! like are tokenized in their raw-text states and skipped, so markup inside
//! a script never leaks into the text. A tree is not built: text extraction
//! needs only the order of tags and text, and a tokenizer streams.
//!
//! Whitespace is collapsed as a browser would; block elements end lines
//! (paragraphs and headings with a blank line) and `pre` keeps its layout.
//!
//! ```
//! let text = exlibris_text::html::html_to_text("<p>Caf&eacute; <b>au</b>\n lait<script>x()</script></p><p>Next</p>");
//! assert_eq!(text, "Café au lait\n\nNext");
//! ```
use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// The text of an HTML document.
pub fn html_to_text(html: &str) -> String {
    let sink = TextSink::default();
    let tok = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tok.feed(&input);
    tok.end();
    let mut out = tok.sink.out.take();
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Elements whose content is not text of the page.
fn skipped(name: &str) -> Option<RawKind> {
    Some(match name {
        "script" => RawKind::ScriptData,
        "style" | "noscript" | "xmp" | "iframe" | "noembed" | "noframes" => RawKind::Rawtext,
        "title" => RawKind::Rcdata,
        _ => return None,
    })
}

/// Elements parsed as usual but whose content is skipped.
fn skipped_by_depth(name: &str) -> bool {
    matches!(name, "template" | "svg" | "math")
}

/// Line breaks an element's boundary makes: 2 for paragraph-like, 1 for other blocks.
fn breaks(name: &str) -> u8 {
    match name {
        "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "pre" | "hr" | "table" | "ul"
        | "ol" | "dl" | "figure" | "section" | "article" | "aside" | "header" | "footer" | "nav" | "main"
        | "body" | "html" => 2,
        "div" | "li" | "dt" | "dd" | "tr" | "br" | "caption" | "figcaption" | "address" | "details"
        | "summary" | "form" | "fieldset" | "legend" | "option" | "center" => 1,
        _ => 0,
    }
}

#[derive(Default)]
struct TextSink {
    out: RefCell<String>,
    /// Depth inside skipped elements.
    skip: Cell<u32>,
    /// Depth inside `pre`.
    pre: Cell<u32>,
    space: Cell<bool>,
    newlines: Cell<u8>,
}

impl TextSink {
    fn text(&self, s: &str) {
        if self.skip.get() > 0 {
            return;
        }
        let mut out = self.out.borrow_mut();
        for c in s.chars() {
            if self.pre.get() == 0 && c.is_whitespace() {
                self.space.set(true);
                continue;
            }
            if !out.is_empty() {
                let n = self.newlines.get();
                if n > 0 {
                    let have = out.len() - out.trim_end_matches('\n').len();
                    for _ in have..n as usize {
                        out.push('\n');
                    }
                } else if self.space.get() && !out.ends_with(char::is_whitespace) {
                    out.push(' ');
                }
            }
            self.newlines.set(0);
            self.space.set(false);
            out.push(c);
        }
    }

    fn block(&self, n: u8) {
        if n > 0 && self.skip.get() == 0 {
            self.newlines.set(self.newlines.get().max(n));
        }
    }
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) => self.text(&t),
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                match tag.kind {
                    TagKind::StartTag => {
                        if name == "br" {
                            // Each <br> is one line break, even several in a row.
                            if self.skip.get() == 0 {
                                let mut out = self.out.borrow_mut();
                                if !out.is_empty() {
                                    out.push('\n');
                                }
                                self.space.set(false);
                            }
                            return TokenSinkResult::Continue;
                        }
                        self.block(breaks(name));
                        if tag.self_closing {
                            return TokenSinkResult::Continue;
                        }
                        if name == "pre" || name == "textarea" || name == "listing" {
                            self.pre.set(self.pre.get() + 1);
                        }
                        if name == "plaintext" {
                            return TokenSinkResult::Plaintext;
                        }
                        if let Some(kind) = skipped(name) {
                            self.skip.set(self.skip.get() + 1);
                            return TokenSinkResult::RawData(kind);
                        }
                        if skipped_by_depth(name) {
                            self.skip.set(self.skip.get() + 1);
                        }
                    }
                    TagKind::EndTag => {
                        if skipped(name).is_some() || skipped_by_depth(name) {
                            self.skip.set(self.skip.get().saturating_sub(1));
                        }
                        if name == "pre" || name == "textarea" || name == "listing" {
                            self.pre.set(self.pre.get().saturating_sub(1));
                        }
                        self.block(breaks(name));
                    }
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn scripts_styles_and_comments_are_not_text() {
        let html = r#"<!DOCTYPE html><html><head><title>T</title><style>p{x:"</p>"}</style>
            <script>if (a < b) document.write("<p>no</p>");</script></head>
            <body><!-- <p>hidden</p> --><noscript><p>enable js</p></noscript>
            <h1>Chapter&nbsp;I</h1><p>It is a truth<br>universally &amp; <i>acknowledged</i>.</p>
            <ul><li>one</li><li>two</li></ul><pre>  a
  b</pre><svg><text>nope</text></svg>end</body></html>"#;
        assert_eq!(
            html_to_text(html),
            "Chapter I\n\nIt is a truth\nuniversally & acknowledged.\n\none\ntwo\n\n  a\n  b\n\nend"
        );
    }

    #[test]
    fn xhtml_self_closing_tags_do_not_swallow_the_page() {
        let x = r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><script src="a.js"/><title/></head><body><p>kept</p></body></html>"#;
        assert_eq!(html_to_text(x), "kept");
    }

    #[test]
    fn broken_markup_still_gives_text() {
        assert_eq!(html_to_text("<p>a <b>b</p> c <"), "a b\n\nc <");
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(html_to_text(""), "");
    }
}
