//! `exlibris merge`: combine results directories of separate runs, or the
//! tasks of a plan.
use std::path::PathBuf;
use std::process::ExitCode;

/// Combine results directories into one.
#[derive(clap::Args)]
pub struct Args {
    /// Results directory to write (with --plan: the directory the tasks were scanned into).
    #[arg(long)]
    out: PathBuf,
    /// Results directories (from `exlibris scan` or `exlibris merge`), combined in this order.
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    results: Vec<PathBuf>,
    /// Merge the tasks of this plan, found in `OUT/tasks/`, in task order.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// With --plan: merge the tasks that have results, record the missing ones in stats.json
    /// and exit with 2, instead of refusing.
    #[arg(long, requires = "plan")]
    allow_partial: bool,
    #[command(flatten)]
    remote: super::remote::RemoteArgs,
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    // s3:// results are downloaded (refused without stats.json), the merge
    // is staged locally and published.
    let out = a.remote.init().output(&a.out, a.plan.is_some())?;
    let staged = a.results.iter().map(|r| a.remote.results(r)).collect::<anyhow::Result<Vec<_>>>()?;
    let results: Vec<PathBuf> = staged.iter().map(|s| s.path.clone()).collect();
    let a = Args { out: out.local.clone(), results, ..a };
    let (m, from) = match &a.plan {
        Some(p) => {
            let plan = exlibris_scan::Plan::read(p)?;
            let m = exlibris_scan::merge_plan(&a.out, &plan, a.allow_partial)?;
            (m, format!("{} tasks of plan {}", plan.tasks.len(), plan.plan_id))
        }
        None => (exlibris_scan::merge(&a.out, &a.results)?, format!("{} directories", a.results.len())),
    };
    for id in &m.deduplicated {
        eprintln!("exlibris: part {id} is in more than one directory with identical results; kept once");
    }
    exlibris_report::StoreWriter::build(&exlibris_scan::Results::read(&a.out)?)?;
    let s = &m.stats.stats;
    println!(
        "merged {from} ({} parts) into {}: {} findings in {} documents; read {} = scanned {} + rejected {}",
        m.stats.parts.len(),
        a.out.display(),
        s.findings,
        s.documents_with_findings,
        s.documents_read,
        s.documents_scanned,
        s.documents_rejected
    );
    out.publish()?;
    let missing = m.stats.plan.as_ref().map_or(&[][..], |p| &p.missing_tasks[..]);
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|t| t.to_string()).collect();
        eprintln!(
            "exlibris: partial merge: tasks {} are missing (recorded in {}/stats.json)",
            list.join(", "),
            a.out.display()
        );
    }
    Ok(super::exit_code(s.is_partial() || !missing.is_empty()))
}
