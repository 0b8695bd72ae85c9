//! `exlibris slurm`: sbatch scripts for a plan, an array job of scan tasks
//! and a merge job that runs when all of them succeed.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context;

/// Write (and with --submit, submit) the Slurm jobs that scan a plan and merge it.
#[derive(clap::Args)]
pub struct Args {
    /// The plan (from `exlibris plan`).
    #[arg(long)]
    plan: PathBuf,
    /// The index directory, on a file system every node sees.
    #[arg(long)]
    index: PathBuf,
    /// The results directory, on a file system every node sees; scripts go to OUT/slurm, logs
    /// to OUT/logs.
    #[arg(long)]
    out: PathBuf,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// CPUs per scan task (the scan's threads).
    #[arg(long, default_value_t = 1)]
    cpus: u32,
    /// Memory per task, as sbatch takes it (e.g. 4G).
    #[arg(long)]
    mem: Option<String>,
    /// Time limit per task, as sbatch takes it (e.g. 2:00:00).
    #[arg(long)]
    time: Option<String>,
    /// Most scan tasks running at once.
    #[arg(long)]
    max_running: Option<u32>,
    /// The exlibris binary the nodes run (default: this one).
    #[arg(long)]
    exlibris: Option<PathBuf>,
    /// Submit with sbatch and print the job ids; without it, print what would be submitted.
    #[arg(long)]
    submit: bool,
    /// More arguments for `exlibris scan`, after `--`.
    #[arg(last = true)]
    scan_args: Vec<String>,
}

/// Quote for a POSIX shell.
fn q(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-=:,+@%".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn abs(p: &Path) -> anyhow::Result<String> {
    Ok(p.canonicalize().with_context(|| format!("{}: cannot resolve", p.display()))?.display().to_string())
}

/// Run `cmd` (partial results, exit 2, are not a failure of the job).
fn job_body(cmd: &str) -> String {
    format!(
        "rc=0\n{cmd} || rc=$?\nif [ \"$rc\" -eq 2 ]; then\n  echo \"exlibris: finished with refused records (exit 2): see rejected.jsonl\"\n  exit 0\nfi\nexit \"$rc\"\n"
    )
}

/// Run it.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let plan = exlibris_scan::Plan::read(&a.plan)?;
    let n = plan.tasks.len();
    std::fs::create_dir_all(a.out.join("slurm"))?;
    std::fs::create_dir_all(a.out.join("logs"))?;
    let (out, plan_p, index) = (abs(&a.out)?, abs(&a.plan)?, abs(&a.index)?);
    let exe = match &a.exlibris {
        Some(p) => abs(p)?,
        None => std::env::current_exe()?.display().to_string(),
    };
    let mut head = String::new();
    if let Some(p) = &a.partition {
        writeln!(head, "#SBATCH --partition={}", q(p))?;
    }
    if let Some(m) = &a.mem {
        writeln!(head, "#SBATCH --mem={}", q(m))?;
    }
    if let Some(t) = &a.time {
        writeln!(head, "#SBATCH --time={}", q(t))?;
    }
    let extra: String = a.scan_args.iter().map(|s| format!(" {}", q(s))).collect();
    let array = match a.max_running {
        Some(k) => format!("0-{}%{k}", n - 1),
        None => format!("0-{}", n - 1),
    };
    let scan = format!(
        "#!/bin/bash\n# exlibris: scan the {n} tasks of plan {id}\n#SBATCH --job-name=exlibris-scan\n#SBATCH --array={array}\n#SBATCH --cpus-per-task={cpus}\n#SBATCH --output={logs}/task-%a.log\n{head}set -euo pipefail\n{body}",
        id = plan.plan_id,
        cpus = a.cpus,
        logs = q(&format!("{out}/logs")),
        body = job_body(&format!(
            "{} scan --plan {} --index {} --out {} --task \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"{extra}",
            q(&exe),
            q(&plan_p),
            q(&index),
            q(&out),
            a.cpus
        )),
    );
    let merge = format!(
        "#!/bin/bash\n# exlibris: merge the tasks of plan {id} (submitted with --dependency=afterok on the scan)\n#SBATCH --job-name=exlibris-merge\n#SBATCH --cpus-per-task=1\n#SBATCH --kill-on-invalid-dep=yes\n#SBATCH --output={logs}/merge.log\n{head}set -euo pipefail\n{body}",
        id = plan.plan_id,
        logs = q(&format!("{out}/logs")),
        body = job_body(&format!("{} merge --plan {} --out {}", q(&exe), q(&plan_p), q(&out))),
    );
    let scan_p = a.out.join("slurm/scan.sbatch");
    let merge_p = a.out.join("slurm/merge.sbatch");
    exlibris_index::format::write_atomic(&scan_p, scan.as_bytes())?;
    exlibris_index::format::write_atomic(&merge_p, merge.as_bytes())?;
    let (scan_s, merge_s) = (abs(&scan_p)?, abs(&merge_p)?);
    if !a.submit {
        println!("# would submit ({n} scan tasks, then the merge once all succeed):");
        println!("sbatch --parsable {}", q(&scan_s));
        println!("sbatch --parsable --dependency=afterok:<scan job id> {}", q(&merge_s));
        println!("\n# {scan_s}\n{scan}\n# {merge_s}\n{merge}");
        return Ok(ExitCode::SUCCESS);
    }
    let scan_id = sbatch(&[&scan_s])?;
    let merge_id = sbatch(&[&format!("--dependency=afterok:{scan_id}"), &merge_s])?;
    println!(
        "submitted scan array job {scan_id} ({n} tasks) and merge job {merge_id} (after {scan_id} succeeds)"
    );
    println!("  logs in {out}/logs; results in {out} when job {merge_id} ends; watch with: squeue -j {scan_id},{merge_id}");
    Ok(ExitCode::SUCCESS)
}

/// `sbatch --parsable ARGS`: the job id.
fn sbatch(args: &[&str]) -> anyhow::Result<String> {
    let o = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .output()
        .context("running sbatch (is Slurm's client installed and on PATH?)")?;
    if !o.status.success() {
        anyhow::bail!(
            "sbatch {} failed ({}): {}",
            args.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    let s = String::from_utf8_lossy(&o.stdout);
    let id = s.trim().split(';').next().unwrap_or_default().to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        anyhow::bail!("sbatch printed no job id: {s:?}");
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::q;

    #[test]
    fn quoting() {
        assert_eq!(q("/a/b-c.json"), "/a/b-c.json");
        assert_eq!(q("a b"), "'a b'");
        assert_eq!(q("it's"), r"'it'\''s'");
        assert_eq!(q(""), "''");
    }
}
