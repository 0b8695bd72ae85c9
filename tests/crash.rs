//! Failure injection: a scan killed with SIGKILL in the middle, then rerun
//! with the same command, resumes and gives the results of an uninterrupted
//! run.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn exlibris() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exlibris"))
}

/// A small deterministic generator (no dependency needed for test data).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn vocabulary(rng: &mut Lcg) -> Vec<String> {
    const SYL: [&str; 24] = [
        "ka", "lo", "mir", "sen", "ta", "vu", "dre", "pol", "an", "es", "quo", "rin", "ba", "che", "dul",
        "fo", "gri", "hal", "jun", "ne", "or", "pi", "sta", "wel",
    ];
    (0..3000).map(|_| (0..1 + rng.below(3)).map(|_| SYL[rng.below(SYL.len())]).collect()).collect()
}

fn words(rng: &mut Lcg, vocab: &[String], n: usize) -> Vec<String> {
    (0..n).map(|_| vocab[rng.below(vocab.len())].clone()).collect()
}

const FILES: usize = 20;

/// Catalog of three works and `FILES` corpus files of about `docs` documents
/// each, most of them long quotations, which keeps the matcher busy.
fn write_fixture(dir: &Path, docs: usize) -> Vec<PathBuf> {
    let mut rng = Lcg(7);
    let vocab = vocabulary(&mut rng);
    let works: Vec<Vec<String>> = (0..3).map(|_| words(&mut rng, &vocab, 30_000)).collect();
    let mut cat = String::new();
    for (i, w) in works.iter().enumerate() {
        std::fs::write(dir.join(format!("w{i}.txt")), w.join(" ")).unwrap();
        cat +=
            &format!("{{\"id\":\"w{i}\",\"path\":\"w{i}.txt\",\"title\":\"Work {i}\",\"author\":\"A\"}}\n");
    }
    std::fs::write(dir.join("catalog.jsonl"), cat).unwrap();
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let mut files = Vec::new();
    for f in 0..FILES {
        let mut out = String::new();
        for d in 0..docs {
            let mut text = words(&mut rng, &vocab, 20);
            let w = &works[rng.below(3)];
            let start = rng.below(w.len() - 700);
            text.extend_from_slice(&w[start..start + 300 + rng.below(400)]);
            text.extend(words(&mut rng, &vocab, 20));
            out += &serde_json::json!({"id": format!("f{f}-d{d}"), "text": text.join(" ")}).to_string();
            out.push('\n');
        }
        if f % 7 == 3 {
            out += "{not json\n"; // rejections are parts' results too
        }
        let p = corpus.join(format!("c{f:02}.jsonl"));
        std::fs::write(&p, out).unwrap();
        files.push(p);
    }
    files
}

fn scan_cmd(idx: &Path, out: &Path, files: &[PathBuf]) -> Command {
    let mut c = exlibris();
    c.args(["scan", "--threads", "2", "--index"]).arg(idx).arg("--out").arg(out).args(files);
    c
}

fn manifests(out: &Path) -> usize {
    std::fs::read_dir(out.join("parts"))
        .map(|d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".part.json")))
                .count()
        })
        .unwrap_or(0)
}

fn stats(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("stats.json")).unwrap()).unwrap()
}

/// Start the scan, wait until at least one part is published, SIGKILL it.
/// `None` when the scan got too far before the kill (then the caller makes
/// the input larger).
fn scan_and_kill(idx: &Path, out: &Path, files: &[PathBuf]) -> Option<usize> {
    let _ = std::fs::remove_dir_all(out);
    let mut child = scan_cmd(idx, out, files).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if child.try_wait().unwrap().is_some() {
            return None; // finished before a part was seen
        }
        if manifests(out) >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no part was published within 300 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    let done = manifests(out);
    (done < files.len() && !out.join("stats.json").exists()).then_some(done)
}

#[test]
fn a_scan_killed_in_the_middle_resumes_and_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut docs = 40;
    for attempt in 0.. {
        assert!(attempt < 5, "could not kill the scan in the middle, even with {docs} documents a file");
        let files = write_fixture(t, docs);
        let idx = t.join("idx");
        let _ = std::fs::remove_dir_all(&idx);
        let st = exlibris()
            .args(["index", "--catalog"])
            .arg(t.join("catalog.jsonl"))
            .arg("--out")
            .arg(&idx)
            .status();
        assert!(st.unwrap().success());

        let full = t.join("full");
        let _ = std::fs::remove_dir_all(&full);
        let started = Instant::now();
        let out = scan_cmd(&idx, &full, &files).output().unwrap();
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        if took < Duration::from_secs(2) {
            let factor = (2.5 / took.as_secs_f64().max(0.05)).ceil() as usize;
            docs *= factor.clamp(2, 20);
            eprintln!("the scan took {took:?}: retrying with {docs} documents a file");
            continue;
        }

        let resumed = t.join("resumed");
        let Some(done) = scan_and_kill(&idx, &resumed, &files) else {
            docs *= 3;
            eprintln!("the scan finished before the kill: retrying with {docs} documents a file");
            continue;
        };
        eprintln!("killed with {done} of {FILES} parts published (uninterrupted scan: {took:?})");
        let out = scan_cmd(&idx, &resumed, &files).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let skip =
            format!("skipping {done} of {FILES} inputs whose parts are done, scanning {}", FILES - done);
        assert!(stderr.contains(&skip), "expected {skip:?} in:\n{stderr}");
        assert_eq!(stats(&resumed)["resumed_parts"], done as u64);

        for name in ["findings.jsonl", "works.json", "rejected.jsonl"] {
            let (a, b) =
                (std::fs::read(full.join(name)).unwrap(), std::fs::read(resumed.join(name)).unwrap());
            assert!(a == b, "{name} of the resumed run differs from the uninterrupted run's");
        }
        assert!(std::fs::read(full.join("findings.jsonl")).unwrap().len() > 1000);
        let (mut a, mut b) = (stats(&full), stats(&resumed));
        for s in [&mut a, &mut b] {
            let o = s.as_object_mut().unwrap();
            for k in ["run", "seconds", "resumed_parts"] {
                o.remove(k);
            }
        }
        assert_eq!(a, b, "stats.json differs in more than timings");
        let leftovers: Vec<_> = std::fs::read_dir(resumed.join("parts"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") || n.starts_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert_eq!(std::fs::read_dir(resumed.join("parts")).unwrap().count(), 3 * FILES);
        return;
    }
}
