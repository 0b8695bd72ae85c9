use super::*;

fn catalog(dir: &Path, works: &[(&str, &str)]) -> PathBuf {
    let mut manifest = String::new();
    for (id, text) in works {
        std::fs::write(dir.join(format!("{id}.txt")), text).unwrap();
        manifest.push_str(&format!(
            "{{\"id\":\"{id}\",\"path\":\"{id}.txt\",\"title\":\"T {id}\",\"author\":\"A\"}}\n"
        ));
    }
    let p = dir.join("catalog.jsonl");
    std::fs::write(&p, manifest).unwrap();
    p
}

fn sample_text(seed: u64, words: usize) -> String {
    let mut x = seed;
    (0..words)
        .map(|i| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let w = format!("w{}", x >> 50);
            if i % 11 == 10 {
                format!("{w},\n")
            } else {
                format!("{w} ")
            }
        })
        .collect()
}

#[test]
fn build_open_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample_text(1, 30_000);
    let b = sample_text(2, 500);
    let m = catalog(dir.path(), &[("a", &a), ("b", &b), ("empty", "  ,, ")]);
    let cat = Catalog::read(&m).unwrap();
    let out = dir.path().join("idx");
    let (meta, stats) = build_index(&cat, &out, &BuildOptions::default(), &|_| {}).unwrap();
    assert_eq!(stats.works, 2);
    assert_eq!(meta.rejected.len(), 1);
    assert!(meta.rejected[0].reason.contains("no words"));
    let idx = Index::open(&out).unwrap();
    assert_eq!(idx.works().len(), 2);
    assert_eq!(idx.texts().work_text(0).unwrap(), a);
    assert_eq!(idx.texts().work_text(1).unwrap(), b);
    // Every fingerprint of work b is found at its token.
    let fps = exlibris_text::fingerprints(&b, idx.settings());
    for f in fps {
        assert!(idx.fingerprints().lookup(f.hash).any(|p| p.work == 1 && p.token == f.token));
    }
    // A region read from the middle starts at a block boundary at or before
    // the token asked for, and covers it.
    let mut r = TextRegion::default();
    idx.texts().region(0, 20_000, 20_010, &mut r).unwrap();
    assert!(r.first_token <= 20_000 && r.first_byte > 0);
    assert_eq!(&a[r.first_byte as usize..r.first_byte as usize + r.text.len()], r.text);
    // The restart point is the start of a token at or before the one asked for.
    let (tok, byte) = r.restart;
    assert!(tok <= 20_000 && 20_000 - tok < textstore::CHECKPOINT_TOKENS);
    let words = exlibris_text::normalized_words(&a);
    assert_eq!(words[tok as usize].0.start, r.first_byte as usize + byte);
    // Excerpts: from the region held (start, middle, past its end), from
    // other blocks, and at the end of the work.
    for from in
        [r.first_byte, r.first_byte + 100, r.first_byte + r.text.len() as u64 - 10, 5, a.len() as u64 - 30]
    {
        for max in [64, 20_000] {
            let want = &a[from as usize..(from as usize + max).min(a.len())];
            assert_eq!(idx.texts().excerpt(0, from, max, &mut r).unwrap(), want, "from {from}, {max} bytes");
        }
    }
    assert_eq!(idx.texts().excerpt(1, 0, 10, &mut r).unwrap(), &b[..10]);
}

#[test]
fn rebuild_replaces_and_corruption_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = catalog(dir.path(), &[("a", &sample_text(3, 2000))]);
    let cat = Catalog::read(&m).unwrap();
    let out = dir.path().join("idx");
    build_index(&cat, &out, &BuildOptions::default(), &|_| {}).unwrap();
    let m2 = catalog(dir.path(), &[("a", &sample_text(4, 2000))]);
    let (meta, _) =
        build_index(&Catalog::read(&m2).unwrap(), &out, &BuildOptions::default(), &|_| {}).unwrap();
    // Only the new components remain.
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    let fp = out.join(&meta.components.fingerprints.file);
    let bytes = std::fs::read(&fp).unwrap();
    std::fs::write(&fp, &bytes[..bytes.len() - 5]).unwrap();
    let err = Index::open(&out).err().unwrap();
    assert!(err.to_string().contains("corrupt index"), "{err}");
    std::fs::remove_file(out.join(META_FILE)).unwrap();
    assert!(Index::open(&out).err().unwrap().to_string().contains("not an exlibris index"));
}

#[test]
fn a_corrupt_body_is_found_by_the_deferred_checks_too() {
    let dir = tempfile::tempdir().unwrap();
    let m = catalog(dir.path(), &[("a", &sample_text(5, 3000))]);
    let out = dir.path().join("idx");
    let (meta, _) =
        build_index(&Catalog::read(&m).unwrap(), &out, &BuildOptions::default(), &|_| {}).unwrap();
    let (_, checks) = Index::open_unverified(&out).unwrap();
    checks.spawn().wait().unwrap();
    // A flipped byte inside the texts' body: the structure still parses.
    let texts = out.join(&meta.components.texts.file);
    let mut bytes = std::fs::read(&texts).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&texts, bytes).unwrap();
    let err = Index::open(&out).err().unwrap().to_string();
    assert!(err.contains("checksum mismatch") && err.contains("texts-"), "{err}");
    let (index, checks) = Index::open_unverified(&out).unwrap();
    assert_eq!(index.works().len(), 1);
    let err = checks.run().unwrap_err().to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
    let verification = Index::open_unverified(&out).unwrap().1.spawn();
    for _ in 0..2 {
        let err = verification.wait().unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
    }
}

#[test]
fn a_build_inside_a_one_thread_pool_finishes_and_is_the_same() {
    // The build queues works on the pool and waits for them; called from
    // the pool's only thread it must run them itself, not wait for ever.
    let dir = tempfile::tempdir().unwrap();
    let texts: Vec<(String, String)> = (0..4).map(|i| (format!("w{i}"), sample_text(20 + i, 3000))).collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let m = catalog(dir.path(), &refs);
    let cat = Catalog::read(&m).unwrap();
    let (plain, pooled) = (dir.path().join("plain"), dir.path().join("pooled"));
    build_index(&cat, &plain, &BuildOptions::default(), &|_| {}).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (m2, out2) = (m.clone(), pooled.clone());
    std::thread::spawn(move || {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let cat2 = Catalog::read(&m2).unwrap();
        let built = pool.install(|| build_index(&cat2, &out2, &BuildOptions::default(), &|_| {}).map(|_| ()));
        let _ = tx.send(built.is_ok());
    });
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(120)), Ok(true), "the build did not finish");
    let meta = |d: &std::path::Path| Index::open(d).unwrap().meta().components.clone();
    let (a, b) = (meta(&plain), meta(&pooled));
    assert_eq!(
        (&a.fingerprints.checksum, &a.texts.checksum, &a.filter.checksum),
        (&b.fingerprints.checksum, &b.texts.checksum, &b.filter.checksum)
    );
}

#[test]
fn foreign_output_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = catalog(dir.path(), &[("a", "some words here")]);
    let err =
        build_index(&Catalog::read(&m).unwrap(), dir.path(), &BuildOptions::default(), &|_| {}).unwrap_err();
    assert!(err.to_string().contains("not an exlibris index"), "{err}");
}

#[test]
fn an_index_of_other_normalisation_rules_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = catalog(dir.path(), &[("a", &sample_text(5, 500))]);
    let out = dir.path().join("idx");
    build_index(&Catalog::read(&m).unwrap(), &out, &BuildOptions::default(), &|_| {}).unwrap();
    let meta_path = out.join(META_FILE);
    let mut meta: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["fingerprint"]["normalizer"] = (exlibris_text::NORMALIZER_VERSION - 1).into();
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let err = Index::open(&out).err().unwrap().to_string();
    assert!(err.contains("normalisation rules version") && err.contains("rebuild the index"), "{err}");
}

#[test]
fn regions_read_through_the_block_cache_are_the_works_text() {
    // A work of more blocks than the cache holds, read at scattered places
    // and again: evicted and cached blocks both give the stored text.
    let dir = tempfile::tempdir().unwrap();
    let a = sample_text(9, 120_000);
    let m = catalog(dir.path(), &[("a", &a)]);
    let out = dir.path().join("idx");
    build_index(&Catalog::read(&m).unwrap(), &out, &BuildOptions::default(), &|_| {}).unwrap();
    let idx = Index::open(&out).unwrap();
    let mut r = TextRegion::default();
    let mut x: u64 = 3;
    for _ in 0..400 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let from = (x >> 33) as u32 % 119_000;
        idx.texts().region(0, from, from + 300, &mut r).unwrap();
        let at = r.first_byte as usize;
        assert_eq!(&a[at..at + r.text.len()], r.text, "tokens {from}..");
        let ex = idx.texts().excerpt(0, r.first_byte, 3000, &mut r).unwrap();
        assert_eq!(ex, &a[at..(at + 3000).min(a.len())]);
    }
}
