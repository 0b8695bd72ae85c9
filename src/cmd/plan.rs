//! `exlibris plan`: split a corpus into tasks for a cluster.
use std::path::PathBuf;
use std::process::ExitCode;

/// Split a corpus into N tasks balanced by bytes (see `exlibris scan --plan`).
#[derive(clap::Args)]
pub struct Args {
    /// Corpus files, directories or glob patterns, as `exlibris scan` takes them (s3:// objects
    /// and prefixes too, planned whole).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Number of tasks.
    #[arg(long)]
    shards: usize,
    /// The plan file to write.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    remote: super::remote::RemoteArgs,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    a.remote.init();
    let plan = exlibris_scan::plan::plan_paths(&a.inputs, a.shards)?;
    for s in &plan.skipped {
        eprintln!("exlibris: skipped {}: {}", s.path, s.reason);
    }
    let bytes = serde_json::to_vec_pretty(&plan)?;
    exlibris_index::format::write_atomic(&a.out, &bytes)?;
    let files: std::collections::BTreeSet<&str> =
        plan.tasks.iter().flat_map(|t| &t.units).map(|u| u.path.as_str()).collect();
    let slices = plan.tasks.iter().flat_map(|t| &t.units).filter(|u| u.range.is_some()).count();
    println!(
        "plan {}: {} files ({:.1} MB, {slices} slices of cut files) in {} tasks, written to {}",
        plan.plan_id,
        files.len(),
        plan.total_bytes as f64 / 1e6,
        plan.tasks.len(),
        a.out.display()
    );
    println!("  task    units        MB");
    for t in &plan.tasks {
        println!("  {:>4} {:>8} {:>9.1}", t.task, t.units.len(), t.bytes as f64 / 1e6);
    }
    Ok(ExitCode::SUCCESS)
}
