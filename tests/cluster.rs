//! Sharded runs as a cluster runs them: `plan`, `scan --plan --task`,
//! `merge --plan`, and `slurm --submit` against a real Slurm when one is up
//! (`scripts/slurm-ci.sh`, started by `scripts/test.sh`).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;
use support::{exlibris, read_json, run, shared};

/// The dev benchmark corpus as three inputs (an uncompressed file the
/// planner cuts, a zstd file it keeps whole, a file with a bad record),
/// the books' index, and one local scan of it all.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    idx: PathBuf,
    inputs: Vec<PathBuf>,
    local: PathBuf,
}

fn setup() -> Option<Setup> {
    let shared = shared()?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    if !support::audit_corpus(&shared, &dir.join("c"), 7, 120) {
        return None;
    }
    let text = std::fs::read_to_string(dir.join("c/corpus.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines.len() * 7 / 10;
    let a = dir.join("a.jsonl");
    std::fs::write(&a, lines[..cut].join("\n") + "\n").unwrap();
    let b = dir.join("b.jsonl.zst");
    std::fs::write(&b, zstd::encode_all((lines[cut..].join("\n") + "\n").as_bytes(), 3).unwrap()).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"id\":\"ok\",\"text\":\"a short line\"}\n{broken\n").unwrap();
    let idx = dir.join("idx");
    support::index_books(&shared, &idx);
    let inputs = vec![a, b, bad];
    let local = dir.join("local");
    let out = run(exlibris().arg("scan").arg("--index").arg(&idx).arg("--out").arg(&local).args(&inputs));
    assert_eq!(out.status.code(), Some(2), "the bad record makes the run partial");
    Some(Setup { _tmp: tmp, dir, idx, inputs, local })
}

impl Setup {
    fn plan(&self, shards: usize) -> PathBuf {
        let plan = self.dir.join(format!("plan{shards}.json"));
        let out = run(exlibris()
            .arg("plan")
            .args(&self.inputs)
            .args(["--shards", &shards.to_string(), "--out"])
            .arg(&plan));
        assert!(out.status.success());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("3 files") && stdout.contains(&format!("in {shards} tasks")), "{stdout}");
        plan
    }

    fn task(&self, plan: &Path, out: &Path, how: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = exlibris();
        cmd.arg("scan").arg("--index").arg(&self.idx).arg("--plan").arg(plan).arg("--out").arg(out);
        cmd.env_remove("SLURM_ARRAY_TASK_ID").env_remove("JOB_COMPLETION_INDEX");
        for (k, v) in how {
            if k.starts_with("--") {
                cmd.args([k, v]);
            } else {
                cmd.env(k, v);
            }
        }
        run(&mut cmd)
    }
}

/// Same findings, coverage and refusals as one local scan, and the same counts.
fn same_as_local(local: &Path, merged: &Path) {
    for name in ["findings.jsonl", "works.json", "rejected.jsonl"] {
        let (a, b) = (std::fs::read(local.join(name)).unwrap(), std::fs::read(merged.join(name)).unwrap());
        assert!(a == b, "{name} of {} differs from one local scan", merged.display());
    }
    let (sa, sb) = (read_json(&local.join("stats.json")), read_json(&merged.join("stats.json")));
    for k in ["documents_read", "documents_scanned", "documents_rejected", "findings", "bytes_scanned"] {
        assert_eq!(sa[k], sb[k], "{k}");
    }
    assert!(sa["findings"].as_u64().unwrap() > 50, "the dev corpus has findings");
}

#[test]
fn tasks_of_a_plan_merge_into_the_results_of_one_scan() {
    let Some(s) = setup() else { return };
    let plan = s.plan(5);
    let p = read_json(&plan);
    let units: Vec<&serde_json::Value> =
        p["tasks"].as_array().unwrap().iter().flat_map(|t| t["units"].as_array().unwrap()).collect();
    assert!(units.iter().filter(|u| u["range"].is_object()).count() >= 2, "the plain file is cut: {p}");
    assert!(units.iter().any(|u| u["path"].as_str().unwrap().ends_with(".zst") && u["range"].is_null()));

    // Tasks 0–2 from the flag and the two schedulers' variables.
    let out = s.dir.join("sharded");
    for how in [("--task", "0"), ("SLURM_ARRAY_TASK_ID", "1"), ("JOB_COMPLETION_INDEX", "2")] {
        let o = s.task(&plan, &out, &[how]);
        assert!(o.status.code().is_some_and(|c| c == 0 || c == 2), "{how:?}");
        let task: usize = how.1.parse().unwrap();
        let stats = read_json(&out.join(format!("tasks/task-{task:05}/stats.json")));
        assert_eq!(stats["run"]["task"]["task"], task);
    }
    let o = s.task(&plan, &out, &[("--task", "9")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("task 9 is not in the plan"));

    // An incomplete set is refused, naming what is missing …
    let merge = |extra: &[&str]| {
        run(exlibris().arg("merge").arg("--plan").arg(&plan).arg("--out").arg(&out).args(extra))
    };
    let o = merge(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("2 of 5 tasks have no result")
            && err.contains("task 3: not run")
            && err.contains("task 4"),
        "{err}"
    );
    assert!(!out.join("stats.json").exists());
    // … or merged with --allow-partial, which records the missing tasks.
    let o = merge(&["--allow-partial"]);
    assert_eq!(o.status.code(), Some(2));
    let stats = read_json(&out.join("stats.json"));
    assert_eq!(stats["plan"]["missing_tasks"], serde_json::json!([3, 4]));
    assert_eq!(stats["complete"], false);

    // A rerun of the whole plan scans only the missing tasks.
    let o = s.task(&plan, &out, &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.matches("already done").count(), 3, "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("scanned ")).count(), 2, "{stdout}");
    assert_eq!(merge(&[]).status.code(), Some(2), "partial: the bad record");
    same_as_local(&s.local, &out);
    assert!(read_json(&out.join("stats.json"))["plan"]["missing_tasks"].as_array().unwrap().is_empty());
    let report = run(exlibris().arg("report").arg(&out));
    assert!(report.status.success());

    // A plan made before its input changed says so.
    let text = std::fs::read(&s.inputs[0]).unwrap();
    std::fs::write(&s.inputs[0], &text[..text.len() / 2]).unwrap();
    let o = s.task(&plan, &out, &[("--task", "1")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("plan again") || String::from_utf8_lossy(&o.stdout).contains("plan again"), "{err}");
}

/// Is a Slurm cluster reachable? With `EXLIBRIS_REQUIRE_SLURM=1` (CI), it must be.
fn slurm_up() -> bool {
    let up = std::env::var_os("SLURM_CONF").is_some()
        && Command::new("sinfo").arg("-h").output().is_ok_and(|o| o.status.success());
    if !up {
        assert!(
            std::env::var("EXLIBRIS_REQUIRE_SLURM").as_deref() != Ok("1"),
            "EXLIBRIS_REQUIRE_SLURM=1 but no Slurm answers (SLURM_CONF={:?}); start one with scripts/slurm-ci.sh up DIR",
            std::env::var_os("SLURM_CONF")
        );
        eprintln!("skipped: no Slurm (set SLURM_CONF; scripts/slurm-ci.sh up DIR starts one)");
    }
    up
}

#[test]
fn a_slurm_array_job_and_its_merge_give_the_results_of_one_scan() {
    if !slurm_up() {
        return;
    }
    let Some(s) = setup() else { return };
    let plan = s.plan(4);
    let out = s.dir.join("cluster");
    let slurm = |extra: &[&str]| {
        run(exlibris()
            .arg("slurm")
            .arg("--plan")
            .arg(&plan)
            .arg("--index")
            .arg(&s.idx)
            .arg("--out")
            .arg(&out)
            .arg("--exlibris")
            .arg(env!("CARGO_BIN_EXE_exlibris"))
            .args(["--cpus", "1", "--time", "10:00"])
            .args(extra))
    };
    let dry = slurm(&[]);
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(stdout.contains("would submit") && stdout.contains("#SBATCH --array=0-3"), "{stdout}");
    assert!(!out.join("stats.json").exists());

    let o = slurm(&["--submit"]);
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let ids: Vec<&str> = stdout
        .split_whitespace()
        .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert!(ids.len() >= 2, "job ids in {stdout}");
    let (scan_id, merge_id) = (ids[0], ids[1]);
    let start = Instant::now();
    loop {
        let q = Command::new("squeue")
            .args(["-h", "-o", "%i %T", "-j", &format!("{scan_id},{merge_id}")])
            .output()
            .unwrap();
        let q = String::from_utf8_lossy(&q.stdout).to_string();
        if q.trim().is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "jobs still queued after 10 minutes: {q}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let state = Command::new("scontrol").args(["show", "job", merge_id]).output().unwrap();
    let state = String::from_utf8_lossy(&state.stdout);
    assert!(state.contains("JobState=COMPLETED"), "merge job: {state}");
    for t in 0..4 {
        let log = out.join(format!("logs/task-{t}.log"));
        let log = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(log.contains(&format!("task {t} of 4")), "{log}");
    }
    assert!(std::fs::read_to_string(out.join("logs/merge.log")).unwrap().contains("merged 4 tasks"));
    same_as_local(&s.local, &out);
}
