//! What the command-line test binaries share: running the binary, the
//! shared data, the dev benchmark corpus.
#![allow(dead_code)] // each test binary uses its own subset
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn exlibris() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exlibris"))
}

/// Run it, echoing its stderr into the test's output.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run exlibris");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `../shared`, or `None` (with a message) where it is not there.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("corpora/books/catalog.jsonl").exists() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared is not there");
        None
    }
}

/// Build the shared audit corpus (`make_audit_corpus.py`, dev profile)
/// into `out`; false (with a message) where python3 cannot.
pub fn audit_corpus(shared: &Path, out: &Path, seed: u32, docs: u32) -> bool {
    audit_corpus_profile(shared, out, seed, docs, "dev")
}

/// The same with a profile (`dev` or `hard`).
pub fn audit_corpus_profile(shared: &Path, out: &Path, seed: u32, docs: u32, profile: &str) -> bool {
    let ok = Command::new("python3")
        .arg(shared.join("bench/make_audit_corpus.py"))
        .arg("--books")
        .arg(shared.join("corpora/books"))
        .arg("--background")
        .arg(shared.join("corpora/wiki/enwiki-excerpt.jsonl"))
        .arg("--out")
        .arg(out)
        .args(["--seed", &seed.to_string(), "--docs", &docs.to_string(), "--profile", profile])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: python3 could not build the audit corpus");
    }
    ok
}

/// Index the shared books into `idx`.
pub fn index_books(shared: &Path, idx: &Path) {
    let out = run(exlibris()
        .args(["index", "--catalog"])
        .arg(shared.join("corpora/books/catalog.jsonl"))
        .arg("--out")
        .arg(idx));
    assert!(out.status.success());
}

/// Read a JSON file.
pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}
