//! `exlibris tag`: run the taggers over a corpus, no catalog needed.
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use exlibris_policy::corpus::tag_inputs;
use exlibris_policy::{Ledger, Tagger};
use exlibris_scan::{discover, ReadOptions};

/// Tag the documents of a corpus.
#[derive(clap::Args)]
pub struct Args {
    /// Corpus files, directories or globs.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Results directory: tags.jsonl and tags-summary.json.
    #[arg(long)]
    out: PathBuf,
    /// sources.toml, to attribute documents to sources.
    #[arg(long)]
    sources: Option<PathBuf>,
    /// Directory of robots.txt files (`<host>.txt` or `<host>/robots.txt`).
    #[arg(long)]
    robots: Option<PathBuf>,
    /// Watermark list replacing the shipped one (one string a line).
    #[arg(long)]
    watermarks: Option<PathBuf>,
}

/// Load the tagger and ledger the commands share.
pub fn setup(
    sources: Option<&PathBuf>,
    robots: Option<&PathBuf>,
    watermarks: Option<&PathBuf>,
) -> anyhow::Result<(Tagger, Ledger)> {
    let mut tagger = Tagger::default();
    if let Some(w) = watermarks {
        tagger =
            tagger.with_watermarks(&std::fs::read_to_string(w).with_context(|| w.display().to_string())?);
    }
    if let Some(r) = robots {
        tagger = tagger.with_robots_dir(r)?;
    }
    let ledger = match sources {
        Some(s) => Ledger::read(s)?,
        None => Ledger::default(),
    };
    Ok((tagger, ledger))
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (tagger, ledger) = setup(a.sources.as_ref(), a.robots.as_ref(), a.watermarks.as_ref())?;
    let (inputs, skipped) = discover(&a.inputs)?;
    for s in &skipped {
        eprintln!("exlibris: skipped {}: {}", s.path, s.reason);
    }
    std::fs::create_dir_all(&a.out).with_context(|| a.out.display().to_string())?;
    let tp = a.out.join("tags.jsonl");
    let mut w = BufWriter::new(std::fs::File::create(&tp).with_context(|| tp.display().to_string())?);
    let sum = tag_inputs(&inputs, &ReadOptions::default(), &tagger, &ledger, |t| {
        serde_json::to_writer(&mut w, t)
            .map_err(|e| exlibris_policy::Error::Io(tp.display().to_string(), e.into()))?;
        w.write_all(b"\n").map_err(|e| exlibris_policy::Error::Io(tp.display().to_string(), e))
    })?;
    w.flush()?;
    let sp = a.out.join("tags-summary.json");
    std::fs::write(&sp, serde_json::to_vec_pretty(&sum)?).with_context(|| sp.display().to_string())?;
    let s = &sum.stats;
    let tags: Vec<String> = s.documents_by_tag.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "read {} = tagged {} + untagged {} + rejected {}; documents by tag: {}; {} distinct ISBNs",
        s.read,
        s.tagged,
        s.untagged,
        s.rejected,
        if tags.is_empty() { "none".into() } else { tags.join(", ") },
        s.isbns.len()
    );
    for (name, c) in &sum.sources {
        if c.documents > 0 {
            println!("  source {name} ({}): {} documents, {} bytes", c.licence, c.documents, c.bytes);
        }
    }
    println!("wrote {} and {}", tp.display(), sp.display());
    Ok(super::exit_code(s.rejected > 0 || !skipped.is_empty()))
}
