//! `exlibris merge`: combine results directories of separate runs.
use std::path::PathBuf;
use std::process::ExitCode;

/// Combine results directories into one.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory to write.
    #[arg(long)]
    out: PathBuf,
    /// Results directories (from `exlibris scan` or `exlibris merge`), combined in this order.
    #[arg(required = true)]
    results: Vec<PathBuf>,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let m = exlibris_scan::merge(&a.out, &a.results)?;
    for id in &m.deduplicated {
        eprintln!("exlibris: part {id} is in more than one directory with identical results; kept once");
    }
    exlibris_report::StoreWriter::build(&exlibris_scan::Results::read(&a.out)?)?;
    let s = &m.stats.stats;
    println!(
        "merged {} directories ({} parts) into {}: {} findings in {} documents; read {} = scanned {} + rejected {}",
        a.results.len(),
        m.stats.parts.len(),
        a.out.display(),
        s.findings,
        s.documents_with_findings,
        s.documents_read,
        s.documents_scanned,
        s.documents_rejected
    );
    Ok(super::exit_code(s.is_partial()))
}
