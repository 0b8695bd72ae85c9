//! Text extraction from works' files: plain text, Markdown, HTML, EPUB, PDF.
//!
//! The text returned is what the index fingerprints and stores, so work
//! offsets of findings refer to it. [`Extracted::format`] names the
//! extractor that ran; it is kept in each [`crate::WorkRecord`].
//!
//! | file | extractor | `format` |
//! |---|---|---|
//! | `.txt`, `.text`, no extension | UTF-8 as is | `text` |
//! | `.md`, `.markdown` | UTF-8 as is (markup is punctuation to the normaliser) | `markdown` |
//! | `.html`, `.htm`, `.xhtml` | [`exlibris_text::html`] | `html` |
//! | `.epub` | [`epub`]: the OPF spine in order, each part as XHTML | `epub` |
//! | `.pdf` | [`pdf`]: poppler's `pdftotext` | `pdf:pdftotext` |
use std::path::Path;

pub mod epub;
pub mod pdf;

/// A work's text and what its file said about it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extracted {
    /// The text.
    pub text: String,
    /// Which extractor made it.
    pub format: &'static str,
    /// Title from the file's own metadata (EPUB).
    pub title: Option<String>,
    /// Author from the file's own metadata (EPUB).
    pub author: Option<String>,
    /// ISBN from the file's own metadata (EPUB).
    pub isbn: Option<String>,
}

/// Bounds on what extraction may cost.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most bytes a container (EPUB) may unpack to.
    pub max_unpacked_bytes: u64,
    /// Most compression ratio of one entry over 1 MiB (zip bomb guard).
    pub max_ratio: u64,
    /// Longest a PDF extraction may run.
    pub pdf_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 512 << 20,
            max_ratio: 1000,
            pdf_timeout: std::time::Duration::from_secs(300),
        }
    }
}

/// The extractor that reads `path`, by its extension.
pub fn format_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    Some(match ext.as_str() {
        "txt" | "text" | "" => "text",
        "md" | "markdown" => "markdown",
        "html" | "htm" | "xhtml" => "html",
        "epub" => "epub",
        "pdf" => "pdf:pdftotext",
        _ => return None,
    })
}

/// Extract the text of a work's file. Errors name the file and, where there
/// is one, the position.
pub fn extract_work(path: &Path, limits: &Limits) -> Result<Extracted, String> {
    let Some(format) = format_of(path) else {
        return Err(format!(
            "{}: unsupported work format {:?} (supported: .txt, .md, .html, .htm, .xhtml, .epub, .pdf)",
            path.display(),
            path.extension().unwrap_or_default()
        ));
    };
    let read = || std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let utf8 = |bytes: Vec<u8>| {
        String::from_utf8(bytes).map_err(|e| {
            format!("{}: invalid UTF-8 at byte {}", path.display(), e.utf8_error().valid_up_to())
        })
    };
    let text = match format {
        "text" | "markdown" => utf8(read()?)?,
        "html" => exlibris_text::html::html_to_text(&utf8(read()?)?),
        "epub" => {
            let f = std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let e = epub::epub_text(std::io::BufReader::new(f), limits)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            return Ok(Extracted { format, ..e });
        }
        _ => pdf::pdf_text(path, limits.pdf_timeout).map_err(|e| format!("{}: {e}", path.display()))?,
    };
    Ok(Extracted { text, format, ..Default::default() })
}

/// The text of a work's file (see [`extract_work`]).
pub fn extract_text(path: &Path) -> Result<String, String> {
    extract_work(path, &Limits::default()).map(|e| e.text)
}

#[cfg(test)]
mod tests;
