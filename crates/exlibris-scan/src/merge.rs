//! Combining parts: the top-level files of a results directory, and
//! `exlibris merge` of several results directories.
//!
//! A results directory is an ordered list of parts (`stats.json`'s
//! `parts`). Its top-level files are a pure function of that list: the
//! parts' findings and rejections concatenated in order, their coverage
//! merged, their counts summed. Merging directories concatenates their
//! lists in the order given, so merging is associative: `(a + b) + c` and
//! `a + (b + c)` give byte-identical `findings.jsonl` and `works.json`.
//!
//! A part that two directories both hold (same part id, that is the same
//! input and range) is kept once when both copies are identical (same input
//! identity, same findings and rejections by checksum), so that merging a
//! directory with itself, or overlapping merges, is harmless; copies that
//! differ are refused, since one of them must be wrong or stale.
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::coverage::Coverage;
use crate::error::{IoContext, Result, ScanError};
use crate::parts::{HashWriter, PartManifest, PartSettings, PARTS_DIR};
use crate::plan::{task_dir, Plan};
use crate::reader::SkippedFile;
use crate::results::{
    write_json, PlanMerge, Results, RunInfo, StatsFile, WorkInfo, WorksFile, FINDINGS, REJECTED,
    RESULTS_VERSION, STATS, WORKS,
};
use crate::stats::ScanStats;

/// Write the top-level files of `dir` from `parts` (all in `dir/parts/`, in
/// order), then remove the files there that belong to no listed part.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish(
    dir: &Path,
    index_id: &str,
    works: Vec<WorkInfo>,
    parts: &[PartManifest],
    mut run: RunInfo,
    skipped: Vec<SkippedFile>,
    resumed_parts: u64,
    merged_from: Vec<String>,
    plan: Option<PlanMerge>,
) -> Result<StatsFile> {
    let pdir = dir.join(PARTS_DIR);
    let _ = std::fs::remove_file(dir.join(STATS)); // the old results are no longer complete
    let concat = |name: &str, data: &dyn Fn(&PartManifest) -> &crate::parts::DataFile| -> Result<PathBuf> {
        let tmp = dir.join(format!("{name}.tmp"));
        let mut out = BufWriter::new(File::create(&tmp).at(&tmp)?);
        for m in parts {
            let d = data(m);
            let p = pdir.join(&d.file);
            let mut h = HashWriter::new(&mut out);
            std::io::copy(&mut File::open(&p).at(&p)?, &mut h).at(&p)?;
            d.check(&p, h.bytes, &h.digest())?;
        }
        let f = out.into_inner().map_err(|e| e.into_error()).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        Ok(tmp)
    };
    let findings_tmp = concat(FINDINGS, &|m| &m.findings)?;
    let rejected_tmp = concat(REJECTED, &|m| &m.rejected)?;
    let mut coverage = Coverage::default();
    for m in parts {
        coverage.merge(&m.coverage);
    }
    let mut stats = ScanStats::sum(parts.iter().map(|m| &m.stats));
    for s in skipped {
        if !stats.skipped_files.contains(&s) {
            stats.skipped_files.push(s);
        }
    }
    run.inputs = parts.iter().map(|m| m.input.path.clone()).collect();
    write_json(&dir.join(WORKS), &WorksFile::from_works(index_id, works, coverage))?;
    std::fs::rename(&findings_tmp, dir.join(FINDINGS)).at(&dir.join(FINDINGS))?;
    std::fs::rename(&rejected_tmp, dir.join(REJECTED)).at(&dir.join(REJECTED))?;
    let file = StatsFile {
        format: "exlibris-stats".into(),
        version: RESULTS_VERSION,
        run,
        complete: !stats.is_partial() && plan.as_ref().is_none_or(|p| p.missing_tasks.is_empty()),
        parts: parts.iter().map(|m| m.part_id.clone()).collect(),
        resumed_parts,
        merged_from,
        plan,
        stats,
    };
    write_json(&dir.join(STATS), &file)?;
    remove_unlisted(&pdir, parts)?;
    Ok(file)
}

/// Remove the files of parts that the results no longer list (from a run
/// over other inputs, or redone under another name).
fn remove_unlisted(pdir: &Path, parts: &[PartManifest]) -> Result<()> {
    let mut keep = std::collections::HashSet::new();
    for m in parts {
        keep.insert(format!("{}.part.json", m.part_id));
        keep.insert(m.findings.file.clone());
        keep.insert(m.rejected.file.clone());
    }
    for e in std::fs::read_dir(pdir).at(pdir)? {
        let e = e.at(pdir)?;
        if e.file_type().at(&e.path())?.is_file() && !keep.contains(&*e.file_name().to_string_lossy()) {
            std::fs::remove_file(e.path()).at(&e.path())?;
        }
    }
    Ok(())
}

/// What [`merge`] did.
#[derive(Debug)]
pub struct MergeSummary {
    /// The merged results' `stats.json`.
    pub stats: StatsFile,
    /// Parts held by more than one directory, kept once.
    pub deduplicated: Vec<String>,
}

/// Merge the results directories `dirs` into `out`, in that order.
///
/// Refused: a directory that is incomplete or older than the parts layout,
/// one made with another index or other settings than the first (the error
/// names it), and a part held by two directories with different results.
pub fn merge(out: &Path, dirs: &[PathBuf]) -> Result<MergeSummary> {
    merge_into(out, dirs, None)
}

/// Why task `i`'s results under `out` cannot be merged, or `None` if they can.
fn task_missing(out: &Path, plan: &Plan, i: usize) -> Option<String> {
    let dir = task_dir(out, i);
    if !dir.exists() {
        return Some("not run".into());
    }
    match Results::read(&dir) {
        Err(_) => Some("not finished (no stats.json)".into()),
        Ok(r) => match &r.stats.run.task {
            Some(t) if t.plan_id == plan.plan_id && t.task == i => None,
            Some(t) => Some(format!("made for task {} of plan {}", t.task, t.plan_id)),
            None => Some("not a task result".into()),
        },
    }
}

/// Merge the task results of `plan` (in `out/tasks/`, from `exlibris scan
/// --plan`) into `out`, in task order. A task without a finished result
/// for this plan is refused, naming every such task, unless
/// `allow_partial`: then the result lists them in `stats.json` (`plan.
/// missing_tasks`) and is not `complete`.
pub fn merge_plan(out: &Path, plan: &Plan, allow_partial: bool) -> Result<MergeSummary> {
    let mut missing = Vec::new();
    let mut why = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..plan.tasks.len() {
        match task_missing(out, plan, i) {
            None => dirs.push(task_dir(out, i)),
            Some(reason) => {
                why.push(format!("task {i}: {reason}"));
                missing.push(i);
            }
        }
    }
    let bad = |reason: String| ScanError::Results { path: out.join(crate::plan::TASKS_DIR), reason };
    if dirs.is_empty() {
        return Err(bad(format!(
            "no task of plan {} has a result to merge ({})",
            plan.plan_id,
            why.join("; ")
        )));
    }
    if !missing.is_empty() && !allow_partial {
        return Err(bad(format!(
            "{} of {} tasks have no result: {}; run them again (the same command reruns only those) or merge with --allow-partial",
            missing.len(),
            plan.tasks.len(),
            why.join("; ")
        )));
    }
    let info = PlanMerge { plan_id: plan.plan_id.clone(), tasks: plan.tasks.len(), missing_tasks: missing };
    merge_into(out, &dirs, Some(info))
}

fn merge_into(out: &Path, dirs: &[PathBuf], plan: Option<PlanMerge>) -> Result<MergeSummary> {
    let bad = |path: &Path, reason: String| ScanError::Results { path: path.to_path_buf(), reason };
    if dirs.is_empty() {
        return Err(bad(out, "nothing to merge".into()));
    }
    if let Ok(o) = out.canonicalize() {
        if let Some(d) = dirs.iter().find(|d| d.canonicalize().is_ok_and(|d| d == o)) {
            return Err(bad(d, "cannot merge a directory into itself; choose another --out".into()));
        }
    }
    let mut first: Option<(PathBuf, Results)> = None;
    let mut settings: Option<(PathBuf, PartSettings)> = None;
    let mut parts: Vec<(PathBuf, PartManifest)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut deduplicated = Vec::new();
    let mut skipped = Vec::new();
    for dir in dirs {
        let r = Results::read(dir)?;
        if r.stats.version < 2 {
            return Err(bad(
                dir,
                format!("results version {} have no parts and cannot be merged; scan again", r.stats.version),
            ));
        }
        if let Some((fd, f)) = &first {
            if r.stats.run.index_id != f.stats.run.index_id {
                return Err(bad(
                    dir,
                    format!(
                        "made with index {}, but {} with index {}: results of different indexes cannot be merged",
                        r.stats.run.index_id,
                        fd.display(),
                        f.stats.run.index_id
                    ),
                ));
            }
        }
        let pdir = dir.join(PARTS_DIR);
        for id in &r.stats.parts {
            let m = PartManifest::read(&pdir, id)?;
            if m.index_id != r.stats.run.index_id {
                return Err(bad(dir, format!("part {id} was made with index {}", m.index_id)));
            }
            match &settings {
                None => settings = Some((dir.clone(), m.settings.clone())),
                Some((sd, s)) if s != &m.settings => {
                    return Err(bad(
                        dir,
                        format!(
                            "made with other settings than {} ({}): results of different settings cannot be merged",
                            sd.display(),
                            settings_diff(s, &m.settings)
                        ),
                    ));
                }
                Some(_) => {}
            }
            if let Some(&i) = at.get(id) {
                let (od, o) = &parts[i];
                if o.input != m.input || o.findings != m.findings || o.rejected != m.rejected {
                    return Err(bad(
                        dir,
                        format!(
                            "part {id} ({}) is also in {} with other results; merge only one of them",
                            m.input.path,
                            od.display()
                        ),
                    ));
                }
                deduplicated.push(id.clone());
                continue;
            }
            at.insert(id.clone(), parts.len());
            parts.push((dir.clone(), m));
        }
        skipped.extend(r.stats.stats.skipped_files.iter().cloned());
        if first.is_none() {
            first = Some((dir.clone(), r));
        }
    }
    let (_, first) = first.expect("one directory at least");
    let opdir = out.join(PARTS_DIR);
    std::fs::create_dir_all(&opdir).at(&opdir)?;
    for (dir, m) in &parts {
        let from = dir.join(PARTS_DIR);
        for name in [m.findings.file.clone(), m.rejected.file.clone(), format!("{}.part.json", m.part_id)] {
            link_or_copy(&from.join(&name), &opdir.join(&name))?;
        }
    }
    let mut run = first.stats.run.clone();
    run.task = None;
    run.started_unix =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let works = WorkInfo::of_works_file(&first.works);
    let manifests: Vec<PartManifest> = parts.into_iter().map(|(_, m)| m).collect();
    let merged_from = dirs.iter().map(|d| d.display().to_string()).collect();
    let stats =
        publish(out, &first.stats.run.index_id, works, &manifests, run, skipped, 0, merged_from, plan)?;
    Ok(MergeSummary { stats, deduplicated })
}

/// Parts are immutable once published, so a hard link is a safe copy.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_file(to).at(to)?;
    }
    if std::fs::hard_link(from, to).is_err() {
        let tmp = to.with_extension("copy.tmp");
        std::fs::copy(from, &tmp).at(from)?;
        std::fs::rename(&tmp, to).at(to)?;
    }
    Ok(())
}

/// Name what differs between two settings, for the error message.
fn settings_diff(a: &PartSettings, b: &PartSettings) -> String {
    let (ja, jb) = (serde_json::to_value(a).unwrap_or_default(), serde_json::to_value(b).unwrap_or_default());
    let mut out = Vec::new();
    if let (Some(ma), Some(mb)) = (ja.as_object(), jb.as_object()) {
        for (k, va) in ma {
            let vb = &mb[k];
            if va != vb {
                out.push(format!("{k}: {va} vs {vb}"));
            }
        }
    }
    out.join(", ")
}
