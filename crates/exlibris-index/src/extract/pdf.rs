//! PDF: text by poppler's `pdftotext`, run as a child process.
//!
//! Why not a Rust crate: `pdf-extract` (on `lopdf`) loses word spacing and
//! reading order on common book PDFs (words run together, which changes
//! every fingerprint), and panics or loops on malformed files; `pdftotext`
//! is the reference for text extraction, handles fonts, ligatures and
//! columns, and in its own process a crash or a runaway file cannot take
//! the indexer down: it is killed after [`super::Limits::pdf_timeout`].
//! The cost is a system dependency: Debian's `poppler-utils`; without it a
//! PDF work is refused with that advice.
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The text of a PDF, pages separated by blank lines.
pub fn pdf_text(path: &Path, timeout: Duration) -> Result<String, String> {
    let mut head = [0u8; 1024];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| format!("cannot read: {e}"))?;
    if !head[..n].windows(5).any(|w| w == b"%PDF-") {
        return Err("not a PDF (no %PDF- header)".into());
    }
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-eol", "unix", "-q"])
        .arg(path)
        .arg("-")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "PDF works need poppler's pdftotext, which is not installed (Debian: apt-get install poppler-utils)".to_string()
            }
            _ => format!("cannot run pdftotext: {e}"),
        })?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        stdout.read_to_end(&mut b).map(|_| b)
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("pdftotext ran over {}s: stopped", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("pdftotext: {e}")),
        }
    };
    let bytes = out.join().expect("reader thread").map_err(|e| format!("pdftotext: {e}"))?;
    let msg = String::from_utf8_lossy(&err.join().expect("reader thread")).trim().to_string();
    if !status.success() {
        let why = if msg.is_empty() { "no message".to_string() } else { msg };
        return Err(format!("the PDF could not be parsed (pdftotext {status}: {why})"));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| format!("pdftotext gave invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))?;
    let text = text.replace('\x0c', "\n\n");
    if text.trim().is_empty() {
        return Err("the PDF has no text layer (scanned pages?); nothing to index".into());
    }
    Ok(text)
}
