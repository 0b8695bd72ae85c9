//! End-to-end tests of the `exlibris` command line, as a user runs it.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::{exlibris, read_json, run, shared};

/// A small catalog of two invented works and a corpus quoting them.
struct Fixture {
    dir: tempfile::TempDir,
}

const WORK_A: &str =
    "The lighthouse keeper counted the ships that passed each night, and wrote their names\n\
in a ledger bound with blue cloth. Nobody asked him to do it; the harbour master had retired\n\
years ago and the town had forgotten that the light still turned. In winter the sea came over\n\
the wall and froze on the steps, and he chipped it away with a small iron hammer every morning.";
const WORK_B: &str = "Seven bridges crossed the river below the mill, and the miller's daughter knew the\n\
name of every one: the Salt Bridge, the Weavers' Bridge, the bridge with no name that the\n\
soldiers built in the year of the flood, and four more whose stones were older than the church.";

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), WORK_A).unwrap();
        std::fs::write(dir.path().join("b.txt"), WORK_B).unwrap();
        std::fs::write(
            dir.path().join("catalog.jsonl"),
            "{\"id\":\"keeper\",\"path\":\"a.txt\",\"title\":\"The Keeper\",\"author\":\"A. Writer\",\"rights\":\"in-copyright\"}\n\
             {\"id\":\"bridges\",\"path\":\"b.txt\",\"title\":\"Seven Bridges\",\"author\":\"B. Writer\"}\n",
        )
        .unwrap();
        Fixture { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn index(&self) -> PathBuf {
        let idx = self.path("idx");
        let out = run(exlibris()
            .args(["index", "--catalog"])
            .arg(self.path("catalog.jsonl"))
            .arg("--out")
            .arg(&idx));
        assert!(out.status.success());
        idx
    }
}

fn jsonl(docs: &[(&str, &str)]) -> String {
    docs.iter().map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n").collect()
}

#[test]
fn scan_finds_quotes_with_exact_offsets_and_reports_them() {
    let fx = Fixture::new();
    let idx = fx.index();
    let quote = "the town had forgotten that the light still turned. In winter the sea came over the wall";
    let doc = format!("A blog post.\n\nI once read: “{}” — lovely.", quote.to_uppercase());
    std::fs::write(
        fx.path("c.jsonl"),
        jsonl(&[("d1", &doc), ("d2", "Nothing to see here at all, just words.")]),
    )
    .unwrap();
    let out = scan_into(&idx, &fx.path("r"), &[fx.path("c.jsonl")], &[]);
    assert!(out.status.success(), "exit {:?}", out.status);
    let findings: Vec<serde_json::Value> = std::fs::read_to_string(fx.path("r/findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(f["doc_id"], "d1");
    assert_eq!(f["work_id"], "keeper");
    let (ds, de) = (f["doc_start"].as_u64().unwrap() as usize, f["doc_end"].as_u64().unwrap() as usize);
    assert_eq!(&doc[ds..de], quote.to_uppercase());
    let (ws, we) = (f["work_start"].as_u64().unwrap() as usize, f["work_end"].as_u64().unwrap() as usize);
    assert_eq!(
        WORK_A[ws..we].split_whitespace().collect::<Vec<_>>(),
        quote.split_whitespace().collect::<Vec<_>>()
    );
    let works = read_json(&fx.path("r/works.json"));
    let keeper = &works["works"][0];
    assert_eq!(keeper["work_id"], "keeper");
    assert_eq!(keeper["documents"], 1);
    let cov = keeper["coverage"].as_f64().unwrap();
    assert!((cov - (we - ws) as f64 / WORK_A.len() as f64).abs() < 1e-9);
    let stats = read_json(&fx.path("r/stats.json"));
    assert_eq!(stats["documents_read"], 2);
    assert_eq!(stats["complete"], true);
    let report = run(exlibris().arg("report").arg(fx.path("r")));
    let text = String::from_utf8(report.stdout).unwrap();
    assert!(text.contains("The Keeper") && text.contains("works found: 1 of 2"), "{text}");
    let json = run(exlibris().arg("report").arg("--json").arg(fx.path("r")));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["totals"]["findings"], 1);
}

#[test]
fn bad_records_are_reported_counted_and_the_scan_goes_on() {
    let fx = Fixture::new();
    let idx = fx.index();
    let good = "Seven bridges crossed the river below the mill, and the miller's daughter knew the name of every one";
    let mut corpus = jsonl(&[("ok1", good)]).into_bytes();
    corpus.extend_from_slice(b"{not json at all\n");
    corpus.extend_from_slice(b"{\"id\":\"notext\"}\n");
    corpus.extend_from_slice(b"{\"id\":\"badutf8\",\"text\":\"abc \xff\xfe def\"}\n");
    corpus.extend_from_slice(b"{\"id\":\"empty\",\"text\":\"   \"}\n");
    corpus.extend_from_slice(b"{\"id\":\"binary\",\"text\":\"\\u0000\\u0001\\u0002\\u0003 binary\"}\n");
    corpus.extend_from_slice(b"{\"id\":\"number\",\"text\":42}\n");
    corpus.extend_from_slice(jsonl(&[("ok2", "plain words")]).as_bytes());
    std::fs::write(fx.path("c.jsonl"), corpus).unwrap();
    std::fs::create_dir(fx.path("dir")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/file.jsonl", fx.path("dir/dangling.jsonl")).unwrap();
    let out = scan_into(&idx, &fx.path("r"), &[fx.path("c.jsonl"), fx.path("dir")], &[]);
    assert_eq!(out.status.code(), Some(2), "a partial run exits 2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("c.jsonl: record 2"), "{stderr}");
    let stats = read_json(&fx.path("r/stats.json"));
    assert_eq!(stats["complete"], false);
    assert_eq!(stats["documents_read"], 9);
    assert_eq!(stats["documents_scanned"], 2);
    assert_eq!(stats["documents_rejected"], 7);
    let reasons: Vec<(u64, String)> = stats["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_string()))
        .collect();
    let expect = [
        (2, "invalid JSON"),
        (3, "missing text field"),
        (4, "invalid JSON"),
        (5, "empty document"),
        (6, "binary content"),
        (7, "is a number, not a string"),
        (0, "cannot open"),
    ];
    for ((line, reason), (el, er)) in reasons.iter().zip(expect) {
        assert_eq!(*line, el);
        assert!(reason.contains(er), "{reason:?} should say {er:?}");
    }
    assert_eq!(std::fs::read_to_string(fx.path("r/rejected.jsonl")).unwrap().lines().count(), 7);
    assert_eq!(std::fs::read_to_string(fx.path("r/findings.jsonl")).unwrap().lines().count(), 1);

    let strict = scan_into(&idx, &fx.path("s"), &[fx.path("c.jsonl")], &["--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(err.contains("c.jsonl: record 2") && err.contains("--strict"), "{err}");
    assert!(!fx.path("s/stats.json").exists(), "a stopped run publishes no result");
}

#[test]
fn directories_of_text_files_and_compressed_jsonl_are_read() {
    let fx = Fixture::new();
    let idx = fx.index();
    std::fs::create_dir_all(fx.path("corpus/sub")).unwrap();
    std::fs::write(fx.path("corpus/sub/page.txt"), format!("Intro.\n{WORK_B}\nOutro.")).unwrap();
    let z = zstd::encode_all(jsonl(&[("z1", WORK_A)]).as_bytes(), 3).unwrap();
    std::fs::write(fx.path("corpus/part.data.zst"), z).unwrap();
    std::fs::write(fx.path("corpus/notes.bin"), b"\x00\x01").unwrap();
    let out = scan_into(&idx, &fx.path("r"), &[fx.path("corpus")], &[]);
    assert!(out.status.success());
    let stats = read_json(&fx.path("r/stats.json"));
    assert_eq!(stats["documents_scanned"], 2);
    assert_eq!(stats["skipped_files"].as_array().unwrap().len(), 1);
    let works = read_json(&fx.path("r/works.json"));
    for w in works["works"].as_array().unwrap() {
        assert!(w["coverage"].as_f64().unwrap() > 0.99, "{w}");
    }
}

#[test]
fn a_corrupt_or_incomplete_index_is_refused() {
    let fx = Fixture::new();
    let idx = fx.index();
    std::fs::write(fx.path("c.jsonl"), jsonl(&[("d", "words")])).unwrap();
    let meta = read_json(&idx.join("meta.json"));
    let fp = idx.join(meta["components"]["fingerprints"]["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&fp).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&fp, bytes).unwrap();
    let out = scan_into(&idx, &fx.path("r"), &[fx.path("c.jsonl")], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
    // The scan verifies the checksums while it starts: nothing it did is
    // published (no results, no store, no finished part).
    for leftover in
        std::fs::read_dir(fx.path("r")).unwrap().chain(std::fs::read_dir(fx.path("r/parts")).unwrap())
    {
        let name = leftover.unwrap().file_name().into_string().unwrap();
        assert!(name == "parts" || name.ends_with(".tmp"), "{name} was left by a scan of a corrupt index");
    }
    std::fs::remove_file(idx.join("meta.json")).unwrap();
    let out = scan_into(&idx, &fx.path("r"), &[fx.path("c.jsonl")], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an exlibris index"));
    let out = scan_into(&fx.index(), &fx.path("r"), &[fx.path("c.jsonl")], &["--k", "9"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("index built with k = 6"));
}

#[test]
fn bad_catalog_entries_are_reported_and_the_rest_indexed() {
    let fx = Fixture::new();
    let mut cat = std::fs::read_to_string(fx.path("catalog.jsonl")).unwrap();
    cat.push_str("{\"id\":\"ghost\",\"path\":\"missing.txt\",\"title\":\"G\",\"author\":\"X\"}\n{broken\n");
    std::fs::write(fx.path("catalog.jsonl"), cat).unwrap();
    let out = run(exlibris()
        .args(["index", "--catalog"])
        .arg(fx.path("catalog.jsonl"))
        .arg("--out")
        .arg(fx.path("idx")));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("catalog.jsonl:3") && err.contains("missing.txt"), "{err}");
    assert!(err.contains("catalog.jsonl:4") && err.contains("invalid JSON"), "{err}");
    let meta = read_json(&fx.path("idx/meta.json"));
    assert_eq!(meta["works"], 2);
    let strict = run(exlibris()
        .args(["index", "--strict", "--catalog"])
        .arg(fx.path("catalog.jsonl"))
        .arg("--out")
        .arg(fx.path("idx2")));
    assert_eq!(strict.status.code(), Some(1));
    assert!(!fx.path("idx2/meta.json").exists());
}

/// The dev benchmark on a small instance, with the issue's thresholds, and
/// identical results with 1 and 2 threads.
#[test]
fn dev_benchmark_small_instance_meets_the_thresholds() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    if !support::audit_corpus(&shared, &t.join("c"), 7, 120) {
        return;
    }
    let idx = t.join("idx");
    support::index_books(&shared, &idx);
    // One thread; two; two with batches of a few records each.
    for (name, threads, batch) in [("r1", "1", "4M"), ("r2", "2", "4M"), ("rb", "2", "64K")] {
        let out = run(exlibris()
            .args(["scan", "--threads", threads, "--batch-bytes", batch, "--index"])
            .arg(&idx)
            .arg("--out")
            .arg(t.join(name))
            .arg(t.join("c/corpus.jsonl")));
        assert!(out.status.success());
    }
    let f1 = std::fs::read(t.join("r1/findings.jsonl")).unwrap();
    for other in ["r2", "rb"] {
        assert_eq!(
            f1,
            std::fs::read(t.join(other).join("findings.jsonl")).unwrap(),
            "findings differ between r1 and {other}"
        );
        assert_eq!(
            std::fs::read(t.join("r1/works.json")).unwrap(),
            std::fs::read(t.join(other).join("works.json")).unwrap()
        );
    }
    let score = Command::new("python3")
        .arg(shared.join("bench/score_audit.py"))
        .arg("--truth")
        .arg(t.join("c"))
        .arg("--detections")
        .arg(t.join("r1/findings.jsonl"))
        .arg("--json")
        .output()
        .unwrap();
    // score_audit.py prints its JSON, then a summary line.
    let stdout = String::from_utf8(score.stdout).unwrap();
    let json = &stdout[..stdout.rfind("\nplagdet=").expect("score summary line")];
    let s: serde_json::Value = serde_json::from_str(json).unwrap();
    eprintln!("{s}");
    let f = |k: &str| s[k].as_f64().unwrap();
    assert!(f("plagdet") >= 0.90 && f("precision") >= 0.95 && f("recall") >= 0.90, "{s}");
    assert_eq!(s["false_pairs"], 0);
    assert!(f("cov_err_max") <= 0.02);
    for (obf, r) in s["recall_by_obfuscation"].as_object().unwrap() {
        assert!(r.as_f64().unwrap() >= 0.75, "recall {r} for {obf}");
    }
}

/// A 50 MB document is scanned (bounded memory: the matcher streams its
/// fingerprints in batches and keeps only checkpoints and hits), and the
/// passage planted in its middle is found at the right offset.
#[test]
fn a_fifty_megabyte_document_is_scanned() {
    let fx = Fixture::new();
    let idx = fx.index();
    let mut x: u64 = 99;
    let mut filler = String::with_capacity(26 << 20);
    while filler.len() < 25 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        filler.push_str(&format!("w{} ", x % 100_000));
    }
    let doc = format!("{filler}\n\n{WORK_B}\n\n{filler}");
    assert!(doc.len() > 50 << 20);
    std::fs::write(fx.path("big.jsonl"), jsonl(&[("big", &doc)])).unwrap();
    let out = scan_into(&idx, &fx.path("r"), &[fx.path("big.jsonl")], &[]);
    assert!(out.status.success());
    let line = std::fs::read_to_string(fx.path("r/findings.jsonl")).unwrap();
    let f: serde_json::Value = serde_json::from_str(line.lines().next().expect("one finding")).unwrap();
    assert_eq!(f["work_id"], "bridges");
    assert_eq!(f["doc_start"].as_u64().unwrap() as usize, filler.len() + 2);
    // The work ends with "church." and the finding with the word.
    assert_eq!(f["doc_end"].as_u64().unwrap() as usize, filler.len() + 2 + WORK_B.len() - 1);
}

fn scan_into(idx: &Path, out: &Path, inputs: &[PathBuf], extra: &[&str]) -> Output {
    run(exlibris().arg("scan").args(extra).arg("--index").arg(idx).arg("--out").arg(out).args(inputs))
}

fn merge_into(out: &Path, dirs: &[PathBuf]) -> Output {
    run(exlibris().arg("merge").arg("--out").arg(out).args(dirs))
}

/// Three corpus files quoting the two works, one with a bad record.
fn three_files(fx: &Fixture) -> Vec<PathBuf> {
    let quote_a = "In winter the sea came over the wall and froze on the steps, and he chipped it away";
    let quote_b = "the bridge with no name that the soldiers built in the year of the flood, and four more";
    let files = [
        ("c1.jsonl", jsonl(&[("a1", quote_a), ("x", "nothing here")])),
        ("c2.jsonl", jsonl(&[("b1", quote_b)]) + "{broken\n"),
        ("c3.jsonl", jsonl(&[("ab", &format!("{quote_b}. {quote_a}")), ("a2", WORK_A)])),
    ];
    files
        .iter()
        .map(|(name, body)| {
            std::fs::write(fx.path(name), body).unwrap();
            fx.path(name)
        })
        .collect()
}

fn same_results(a: &Path, b: &Path) {
    for name in ["findings.jsonl", "works.json", "rejected.jsonl"] {
        assert_eq!(
            std::fs::read_to_string(a.join(name)).unwrap(),
            std::fs::read_to_string(b.join(name)).unwrap(),
            "{name} of {} and {}",
            a.display(),
            b.display()
        );
    }
    let (sa, sb) = (read_json(&a.join("stats.json")), read_json(&b.join("stats.json")));
    for k in ["documents_read", "documents_scanned", "documents_rejected", "findings", "files", "parts"] {
        assert_eq!(sa[k], sb[k], "{k}");
    }
}

#[test]
fn several_readers_publish_the_same_results_as_one() {
    let fx = Fixture::new();
    let idx = fx.index();
    // Three files of 500 records each, a bad one in the middle of one.
    let files = three_files(&fx);
    for (n, f) in files.iter().enumerate() {
        let body = std::fs::read_to_string(f).unwrap();
        let mut more = String::new();
        for i in 0..500 {
            more += &jsonl(&[(&format!("f{n}-{i}"), &format!("filler {i} of file {n}"))]);
            if i == 250 {
                more += &body;
            }
        }
        std::fs::write(f, more).unwrap();
    }
    let one = fx.path("one");
    scan_into(&idx, &one, &files, &["--readers", "1"]);
    // A batch a record: the three inputs' records are interleaved.
    let many = fx.path("many");
    let out = scan_into(&idx, &many, &files, &["--readers", "3", "--batch-bytes", "1", "--threads", "2"]);
    assert_eq!(out.status.code(), Some(2), "a bad record: partial");
    same_results(&one, &many);
    // The store, fed while scanning with one reader and built from the
    // published files with three, holds the same works, findings and sources.
    let rows = |dir: &Path| {
        let store = exlibris_report::Store::open_for(&exlibris_scan::Results::read(dir).unwrap()).unwrap();
        let (n, works) = store.found_works(100).unwrap();
        let findings: Vec<_> = works.iter().map(|w| store.findings_of_work(w.idx, 100, 0).unwrap()).collect();
        (n, works, findings, store.sources(false, 100).unwrap())
    };
    let (a, b) = (rows(&one), rows(&many));
    assert_eq!(a.0, 2, "both works found");
    assert_eq!(a, b);
}

#[test]
fn a_rerun_keeps_valid_parts_and_redoes_changed_corrupt_or_foreign_ones() {
    let fx = Fixture::new();
    let idx = fx.index();
    let files = three_files(&fx);
    let r = fx.path("r");
    assert_eq!(scan_into(&idx, &r, &files, &[]).status.code(), Some(2));
    let stats = read_json(&r.join("stats.json"));
    assert_eq!(stats["parts"].as_array().unwrap().len(), 3);
    assert_eq!(stats["resumed_parts"], 0);
    assert_eq!(stats["findings"], 5);

    // A complete rerun keeps every part and publishes the same results.
    let fresh = fx.path("fresh");
    scan_into(&idx, &fresh, &files, &[]);
    let again = scan_into(&idx, &r, &files, &[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("skipping 3 of 3 inputs"));
    same_results(&r, &fresh);

    // A changed input and a corrupt part are redone; the rest is kept.
    std::fs::write(&files[0], jsonl(&[("a1", WORK_A)])).unwrap();
    let parts = r.join("parts");
    let id2 = read_json(&r.join("stats.json"))["parts"][1].as_str().unwrap().to_string();
    std::fs::write(parts.join(format!("{id2}.findings.jsonl")), "{}\n").unwrap();
    std::fs::write(parts.join("leftover.findings.jsonl.tmp"), "half a line").unwrap();
    let out = scan_into(&idx, &r, &files, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c1.jsonl: its part") && err.contains("the input changed"), "{err}");
    assert!(err.contains("c2.jsonl: its part") && err.contains("corrupt part file"), "{err}");
    assert!(err.contains("skipping 1 of 3 inputs"), "{err}");
    assert!(!parts.join("leftover.findings.jsonl.tmp").exists());
    let fresh2 = fx.path("fresh2");
    scan_into(&idx, &fresh2, &files, &[]);
    same_results(&r, &fresh2);

    // Other settings redo everything; fewer inputs drop the other parts.
    let out = scan_into(&idx, &r, &files[..2], &["--min-words", "14"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("made with other settings") && !err.contains("skipping"), "{err}");
    assert_eq!(std::fs::read_dir(&parts).unwrap().count(), 6);
}

#[test]
fn merge_combines_runs_associatively_and_refuses_foreign_results() {
    let fx = Fixture::new();
    let idx = fx.index();
    let files = three_files(&fx);
    let dirs: Vec<PathBuf> = (0..3).map(|i| fx.path(&format!("r{i}"))).collect();
    for (f, d) in files.iter().zip(&dirs) {
        scan_into(&idx, d, std::slice::from_ref(f), &[]);
    }
    let whole = fx.path("whole");
    scan_into(&idx, &whole, &files, &[]);

    // (a + b) + c == a + (b + c) == a scan of a, b, c.
    let (ab, bc) = (fx.path("ab"), fx.path("bc"));
    assert_eq!(merge_into(&ab, &dirs[..2]).status.code(), Some(2), "a partial input stays partial");
    merge_into(&bc, &dirs[1..]);
    let (left, right) = (fx.path("left"), fx.path("right"));
    merge_into(&left, &[ab.clone(), dirs[2].clone()]);
    merge_into(&right, &[dirs[0].clone(), bc.clone()]);
    same_results(&left, &right);
    same_results(&left, &whole);
    let flat = fx.path("flat");
    merge_into(&flat, &dirs);
    same_results(&flat, &whole);
    let report = run(exlibris().arg("report").arg(&flat));
    assert!(String::from_utf8_lossy(&report.stdout).contains("works found: 2 of 2"));

    // A part held twice with the same results is kept once.
    let dup = fx.path("dup");
    let out = merge_into(&dup, &[ab.clone(), bc.clone()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept once"));
    same_results(&dup, &whole);

    // Other settings, another index, a conflicting part, an interrupted run: refused.
    let strict = fx.path("strict");
    scan_into(&idx, &strict, &files[2..], &["--min-words", "14"]);
    let out = merge_into(&fx.path("m1"), &[dirs[0].clone(), strict.clone()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("strict") && err.contains("other settings") && err.contains("min_words"), "{err}");

    let mut cat = std::fs::read_to_string(fx.path("catalog.jsonl")).unwrap();
    cat = cat.lines().next().unwrap().to_string() + "\n";
    std::fs::write(fx.path("one.jsonl"), cat).unwrap();
    let idx2 = fx.path("idx2");
    run(exlibris().args(["index", "--catalog"]).arg(fx.path("one.jsonl")).arg("--out").arg(&idx2));
    let other = fx.path("other");
    scan_into(&idx2, &other, &files[2..], &[]);
    let out = merge_into(&fx.path("m2"), &[dirs[0].clone(), other.clone()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("other") && err.contains("different indexes"), "{err}");

    std::fs::write(&files[0], jsonl(&[("a1", WORK_A)])).unwrap();
    let changed = fx.path("changed");
    scan_into(&idx, &changed, &files[..1], &[]);
    let out = merge_into(&fx.path("m3"), &[dirs[0].clone(), changed.clone()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("with other results"));

    std::fs::remove_file(changed.join("stats.json")).unwrap();
    let out = merge_into(&fx.path("m4"), &[dirs[1].clone(), changed]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not finish"));
}
