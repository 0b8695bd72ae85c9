//! Sharding: a deterministic split of a corpus into tasks balanced by bytes.
//!
//! `exlibris plan` writes a [`Plan`]; `exlibris scan --plan P --task I`
//! scans task I into `OUT/tasks/task-NNNNN/`, a results directory of its
//! own; `exlibris merge --plan P --out OUT` combines the tasks in plan
//! order, so the merged `findings.jsonl` and `works.json` are those of one
//! scan of the whole corpus.
//!
//! Tasks are contiguous runs of the inputs in the order a scan reads them,
//! so concatenating the tasks is the input order. Inputs are whole files,
//! except uncompressed JSON Lines files, which are cut at line boundaries
//! into slices ([`RecordRange`]); compressed files (gzip, zstd), Parquet,
//! WARC and text files stay whole (a gzip member or zstd frame boundary is
//! not known to be a record boundary without decompressing). Planning reads
//! only the files it cuts, once, to find line boundaries and number the
//! lines; it never decompresses anything. Objects (`s3://…`) are planned
//! whole, by the sizes the store reports.
//!
//! The split: each file, or each grain of a file that may be cut, goes to
//! the task whose share of the total bytes holds the grain's midpoint; the
//! grains of one file that land in one task are joined again. Every byte of
//! the corpus is in exactly one task, and the same inputs give the same plan.
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, ScanError};
use crate::reader::{Input, InputKind, RecordRange, SkippedFile};

/// Version of the plan file.
pub const PLAN_VERSION: u32 = 1;
/// Folder of the task results inside a plan's results directory.
pub const TASKS_DIR: &str = "tasks";
/// The smallest slice a file is cut into.
const MIN_GRAIN: u64 = 64 << 10;

/// `plan.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always `exlibris-plan`.
    pub format: String,
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// Identity of the plan: a hash of its tasks.
    pub plan_id: String,
    /// The paths as given to `exlibris plan`.
    pub given: Vec<String>,
    /// Files found but not corpus files.
    pub skipped: Vec<SkippedFile>,
    /// Bytes of all inputs (stored bytes: compressed files count compressed).
    pub total_bytes: u64,
    /// The tasks, in order; task `i` is `tasks[i]`.
    pub tasks: Vec<Task>,
}

/// One task: a contiguous run of inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Its index (0-based, as `SLURM_ARRAY_TASK_ID` counts).
    pub task: usize,
    /// Stored bytes of its units.
    pub bytes: u64,
    /// What it scans, in order.
    pub units: Vec<Unit>,
}

/// A file, or a slice of one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The file.
    pub path: String,
    /// `jsonl`, `text`, `parquet` or `warc`.
    pub kind: String,
    /// The slice (`None`: the whole file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RecordRange>,
    /// Stored bytes of the unit.
    pub bytes: u64,
}

impl Unit {
    /// The unit as a scan input.
    pub fn input(&self) -> Input {
        let kind = match self.kind.as_str() {
            "text" => InputKind::TextFile,
            "parquet" => InputKind::Parquet,
            "warc" => InputKind::Warc,
            _ => InputKind::Jsonl,
        };
        Input { path: PathBuf::from(&self.path), kind, range: self.range }
    }
}

/// Name of an input kind in a plan or part.
pub fn kind_name(kind: InputKind) -> &'static str {
    match kind {
        InputKind::Jsonl => "jsonl",
        InputKind::TextFile => "text",
        InputKind::Parquet => "parquet",
        InputKind::Warc => "warc",
    }
}

impl Plan {
    /// Split `inputs` (as [`crate::discover`] found them from `given`) into
    /// `shards` tasks.
    pub fn new(given: &[String], inputs: &[Input], skipped: Vec<SkippedFile>, shards: usize) -> Result<Plan> {
        if shards == 0 {
            return Err(ScanError::Input("--shards must be at least 1".into()));
        }
        let mut sizes = Vec::with_capacity(inputs.len());
        for i in inputs {
            sizes.push(stored_size(&i.path)?);
        }
        let total: u64 = sizes.iter().sum();
        let share = total.div_ceil(shards as u64).max(1);
        let grain = (total / (shards as u64 * 16)).max(MIN_GRAIN);
        let mut tasks: Vec<Task> =
            (0..shards).map(|task| Task { task, bytes: 0, units: Vec::new() }).collect();
        let mut at = 0u64; // bytes before the current grain, over all inputs
        for (input, &size) in inputs.iter().zip(&sizes) {
            let cuttable = input.kind == InputKind::Jsonl
                && size > grain
                && !is_object(&input.path)
                && !is_compressed(&input.path)?;
            let grains = if cuttable { line_grains(&input.path, size, grain)? } else { vec![whole(size)] };
            for g in grains {
                let mid = at + (g.end - g.start) / 2;
                let t = ((mid / share) as usize).min(shards - 1);
                at += g.end - g.start;
                let task = &mut tasks[t];
                task.bytes += g.end - g.start;
                if let Some(last) = task.units.last_mut() {
                    if last.path == input.path.display().to_string() {
                        if let Some(r) = last.range.as_mut() {
                            if r.end == g.start {
                                r.end = g.end;
                                last.bytes += g.end - g.start;
                                continue;
                            }
                        }
                    }
                }
                task.units.push(Unit {
                    path: input.path.display().to_string(),
                    kind: kind_name(input.kind).into(),
                    range: cuttable.then_some(g),
                    bytes: g.end - g.start,
                });
            }
        }
        // A file that ended up whole in one task is read whole.
        let size_of: std::collections::HashMap<String, u64> =
            inputs.iter().zip(&sizes).map(|(i, &s)| (i.path.display().to_string(), s)).collect();
        for u in tasks.iter_mut().flat_map(|t| &mut t.units) {
            if u.range.is_some_and(|r| r.start == 0 && r.end == size_of[&u.path]) {
                u.range = None;
            }
        }
        let id_src = serde_json::to_vec(&tasks).expect("tasks serialise");
        Ok(Plan {
            format: "exlibris-plan".into(),
            version: PLAN_VERSION,
            plan_id: format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&id_src)),
            given: given.to_vec(),
            skipped,
            total_bytes: total,
            tasks,
        })
    }

    /// Read and check a plan file.
    pub fn read(path: &Path) -> Result<Plan> {
        let bad = |reason: String| ScanError::Results { path: path.to_path_buf(), reason };
        let p: Plan = serde_json::from_slice(&std::fs::read(path).at(path)?)
            .map_err(|e| bad(format!("not a plan: {e}")))?;
        if p.format != "exlibris-plan" || p.version != PLAN_VERSION {
            return Err(bad(format!(
                "plan format {} version {} (this build reads exlibris-plan {PLAN_VERSION})",
                p.format, p.version
            )));
        }
        let id_src = serde_json::to_vec(&p.tasks).expect("tasks serialise");
        let id = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&id_src));
        if id != p.plan_id {
            return Err(bad(format!(
                "plan_id {} does not match its tasks (hash {id}): edited or corrupt",
                p.plan_id
            )));
        }
        if p.tasks.iter().enumerate().any(|(i, t)| t.task != i) {
            return Err(bad("tasks are not numbered 0, 1, 2, …".into()));
        }
        Ok(p)
    }

    /// Task `i`, or an error naming the valid range.
    pub fn task(&self, i: usize) -> Result<&Task> {
        self.tasks.get(i).ok_or_else(|| {
            ScanError::Input(format!(
                "task {i} is not in the plan (it has tasks 0 to {})",
                self.tasks.len() - 1
            ))
        })
    }
}

/// The results directory of task `i` under a plan's results directory.
pub fn task_dir(out: &Path, i: usize) -> PathBuf {
    out.join(TASKS_DIR).join(format!("task-{i:05}"))
}

/// Identity of a task's results: which plan and task made them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The plan's id.
    pub plan_id: String,
    /// The task.
    pub task: usize,
    /// Tasks in the plan.
    pub tasks: usize,
}

/// Whether `path` is an object (`s3://…`): objects are planned whole.
fn is_object(path: &Path) -> bool {
    #[cfg(feature = "s3")]
    return crate::reader::object::is_object(path);
    #[cfg(not(feature = "s3"))]
    return {
        let _ = path;
        false
    };
}

/// Stored bytes of a file or an object.
fn stored_size(path: &Path) -> Result<u64> {
    #[cfg(feature = "s3")]
    if crate::reader::object::is_object(path) {
        return crate::reader::object::stored_size(path);
    }
    Ok(std::fs::metadata(path).at(path)?.len())
}

fn whole(size: u64) -> RecordRange {
    RecordRange { start: 0, end: size, first_record: 1, file_size: size }
}

fn is_compressed(path: &Path) -> Result<bool> {
    let mut head = [0u8; 4];
    let n = crate::reader::read_up_to(File::open(path).at(path)?, &mut head).at(path)?;
    Ok(crate::reader::is_compressed(&head[..n]))
}

/// Cut a file into slices of about `grain` bytes at line boundaries,
/// numbering the lines: one pass over the file.
fn line_grains(path: &Path, size: u64, grain: u64) -> Result<Vec<RecordRange>> {
    let mut f = File::open(path).at(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    let (mut start, mut first_record) = (0u64, 1u64);
    let (mut pos, mut lines) = (0u64, 0u64); // bytes read, newlines seen
    loop {
        let n = f.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        let mut from = 0usize;
        while from < n {
            // Cut after the first newline at or past start + grain.
            let want = (start + grain).saturating_sub(pos + from as u64) as usize;
            if want >= n - from {
                lines += memchr::memchr_iter(b'\n', &chunk[from..]).count() as u64;
                break;
            }
            lines += memchr::memchr_iter(b'\n', &chunk[from..from + want]).count() as u64;
            from += want;
            match memchr::memchr(b'\n', &chunk[from..]) {
                Some(i) => {
                    from += i + 1;
                    lines += 1;
                    let end = pos + from as u64;
                    out.push(RecordRange { start, end, first_record, file_size: size });
                    (start, first_record) = (end, lines + 1);
                }
                None => from = n,
            }
        }
        pos += n as u64;
    }
    if pos != size {
        return Err(ScanError::Input(format!("{}: changed while being planned", path.display())));
    }
    if start < size || out.is_empty() {
        out.push(RecordRange { start, end: size, first_record, file_size: size });
    }
    Ok(out)
}

/// Discover the inputs of `paths` and plan them.
pub fn plan_paths(paths: &[PathBuf], shards: usize) -> Result<Plan> {
    let (inputs, skipped) = crate::discover(paths)?;
    let missing: Vec<String> = inputs
        .iter()
        .filter(|i| !is_object(&i.path) && !i.path.exists())
        .map(|i| i.path.display().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ScanError::Input(format!("cannot plan missing inputs: {}", missing.join(", "))));
    }
    let given: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Plan::new(&given, &inputs, skipped, shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, width: usize) -> String {
        (0..n).map(|i| format!("{{\"id\":\"{i}\",\"text\":\"{}\"}}\n", "x".repeat(width))).collect()
    }

    #[test]
    fn every_byte_once_cut_at_lines_and_numbered() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.jsonl");
        let text = lines(30_000, 200); // ~6.5 MB
        std::fs::write(&big, &text).unwrap();
        let small = dir.path().join("small.jsonl.zst");
        std::fs::write(&small, zstd::encode_all(lines(10, 5).as_bytes(), 3).unwrap()).unwrap();
        let p = plan_paths(&[big.clone(), small.clone()], 4).unwrap();
        assert_eq!(p.tasks.len(), 4);
        let units: Vec<&Unit> = p.tasks.iter().flat_map(|t| &t.units).collect();
        // Contiguous cover of big.jsonl, in order, at line starts.
        let mut next = 0u64;
        let mut line = 1u64;
        for u in units.iter().filter(|u| u.path == big.display().to_string()) {
            let r = u.range.unwrap();
            assert_eq!(r.start, next);
            assert!(r.start == 0 || text.as_bytes()[r.start as usize - 1] == b'\n');
            assert_eq!(r.first_record, line);
            line += text[r.start as usize..r.end as usize].matches('\n').count() as u64;
            next = r.end;
        }
        assert_eq!(next, text.len() as u64);
        // Compressed: whole, in the last task.
        let last = units.last().unwrap();
        assert_eq!(last.path, small.display().to_string());
        assert!(last.range.is_none());
        assert_eq!(p.total_bytes, p.tasks.iter().map(|t| t.bytes).sum::<u64>());
        // Balanced within a grain or so.
        let max = p.tasks.iter().map(|t| t.bytes).max().unwrap();
        assert!(max < p.total_bytes / 4 + (2 << 20), "{max} of {}", p.total_bytes);
        // Deterministic, and it reads back.
        assert_eq!(p, plan_paths(&[big.clone(), small.clone()], 4).unwrap());
        let f = dir.path().join("plan.json");
        std::fs::write(&f, serde_json::to_vec(&p).unwrap()).unwrap();
        assert_eq!(Plan::read(&f).unwrap(), p);
        // An edited plan is refused.
        let mut edited = p.clone();
        edited.tasks[0].units.pop();
        std::fs::write(&f, serde_json::to_vec(&edited).unwrap()).unwrap();
        assert!(Plan::read(&f).unwrap_err().to_string().contains("does not match"));
    }

    #[test]
    fn more_shards_than_files_and_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        std::fs::write(&a, lines(3, 5)).unwrap();
        let p = plan_paths(std::slice::from_ref(&a), 3).unwrap();
        assert_eq!(p.tasks.iter().map(|t| t.units.len()).sum::<usize>(), 1);
        assert!(p.tasks.iter().flat_map(|t| &t.units).all(|u| u.range.is_none()));
        let e = plan_paths(&[dir.path().join("gone.jsonl")], 2).unwrap_err().to_string();
        assert!(e.contains("gone.jsonl"), "{e}");
        assert!(plan_paths(&[a], 0).is_err());
    }
}
