//! `exlibris probe`: test whether a language model read a given work.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use exlibris_probe::{probe, InferenceConfig, Label, LanguageModel, MemoConfig, ProbeConfig, Text};

/// Options of `exlibris probe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model: a .gguf file, or a safetensors checkpoint (file or directory
    /// with config.json and tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// A tokenizer.json to use instead of the model's own.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// The work under suspicion (UTF-8 text).
    #[arg(long)]
    work: PathBuf,
    /// Text of the same kind the model cannot have seen (repeatable).
    #[arg(long = "reference")]
    references: Vec<PathBuf>,
    /// Output directory for probe.json and probe.html.
    #[arg(long)]
    out: PathBuf,
    /// Tokens per passage.
    #[arg(long, default_value_t = 128)]
    window: usize,
    /// Tokens between passage starts (default: the window, disjoint passages).
    #[arg(long)]
    stride: Option<usize>,
    /// Score at most this many passages per text, evenly spread.
    #[arg(long)]
    max_passages: Option<usize>,
    /// Tokens per forward batch; bounds memory.
    #[arg(long, default_value_t = 1024)]
    batch_tokens: usize,
    /// Skip the memorisation measurement.
    #[arg(long)]
    no_memorisation: bool,
    /// Tokens between memorisation window starts.
    #[arg(long, default_value_t = 50)]
    memo_stride: usize,
    /// Measure at most this many memorisation windows, evenly spread.
    #[arg(long)]
    max_memo_windows: Option<usize>,
    /// Significance level of a "member" verdict.
    #[arg(long, default_value_t = 0.01)]
    alpha: f64,
    /// Fewest reference passages for a verdict.
    #[arg(long, default_value_t = 20)]
    min_reference: usize,
    /// Seed of the random split.
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Run on `cpu`, or `cuda` (needs the `cuda` feature of exlibris-probe).
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// Runs the probe; exit code 0 with a verdict, 2 when no verdict was possible.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let device = match args.device.as_str() {
        "cpu" => exlibris_probe::Device::Cpu,
        "cuda" => exlibris_probe::cuda_device().context("--device cuda")?,
        other => anyhow::bail!("unknown device {other:?} (cpu, cuda)"),
    };
    let t0 = Instant::now();
    let model = LanguageModel::load(&args.model, args.tokenizer.as_deref(), &device)?;
    eprintln!(
        "loaded {} ({} parameters, {}) in {:.1}s",
        args.model.display(),
        model.info().n_params,
        model.info().architecture,
        t0.elapsed().as_secs_f64()
    );
    let work = Text::read(&args.work)?;
    let references = args.references.iter().map(Text::read).collect::<Result<Vec<_>, _>>()?;
    let cfg = ProbeConfig {
        window: args.window,
        stride: args.stride.unwrap_or(args.window),
        max_passages: args.max_passages,
        batch_tokens: args.batch_tokens,
        memorisation: (!args.no_memorisation)
            .then(|| MemoConfig { stride: args.memo_stride, ..MemoConfig::default() }),
        max_memo_windows: args.max_memo_windows,
        inference: InferenceConfig {
            alpha: args.alpha,
            min_reference: args.min_reference,
            seed: args.seed,
            ..InferenceConfig::default()
        },
        ..ProbeConfig::default()
    };
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let mut progress = |stage: &str, done: usize, all: usize| {
        if done == all || last.elapsed().as_secs() >= if tty { 1 } else { 10 } {
            eprintln!("{stage}: {done}/{all}");
            last = Instant::now();
        }
    };
    let result = probe(&model, &work, &references, &cfg, &mut progress)?;
    let json = result.write(&args.out)?;
    let html = args.out.join("probe.html");
    std::fs::write(&html, result.html_fragment()).with_context(|| html.display().to_string())?;
    eprintln!(
        "{} tokens in {:.1}s ({:.0} tokens/s; blocks {:.1}s, head {:.1}s); wrote {}",
        result.timing.tokens,
        result.timing.seconds,
        result.timing.tokens_per_second,
        result.timing.forward_secs,
        result.timing.head_secs,
        json.display()
    );
    println!("{}: {}", result.verdict.label.as_str(), result.verdict.reason);
    Ok(if result.verdict.label == Label::NoVerdict { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
