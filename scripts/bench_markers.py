#!/usr/bin/env python3
"""Precision and recall of the shadow-library marker tagger (`exlibris tag`,
tag `shadow_library`) against the benchmark's `markers.jsonl` (the documents
that carry a watermark line), over seeds and profiles.

    python3 scripts/bench_markers.py --exlibris target/release/exlibris \
        --seeds 1 2 3 --profiles dev hard --docs 1500

For each seed and profile it builds the audit corpus with
../shared/bench/make_audit_corpus.py in a temp directory, tags it, and
prints a Markdown table (positives, tagged, TP, FP, FN, precision, recall)
with a total row. Exits 1 if a run fails.
"""
import argparse, json, os, shutil, subprocess, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--exlibris", default="target/release/exlibris")
ap.add_argument("--shared", default="../shared")
ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
ap.add_argument("--profiles", nargs="+", default=["dev", "hard"])
ap.add_argument("--docs", type=int, default=1500)
a = ap.parse_args()


def ids(path, keep=lambda v: True):
    with open(path, encoding="utf-8") as f:
        return {v["doc_id"] for v in map(json.loads, f) if keep(v)}


tmp = tempfile.mkdtemp(prefix="exlibris-markers-")
rows, tot = [], [0, 0, 0, 0, 0]
try:
    for profile in a.profiles:
        for seed in a.seeds:
            out = os.path.join(tmp, f"{profile}-{seed}")
            subprocess.run(["python3", os.path.join(a.shared, "bench/make_audit_corpus.py"),
                            "--books", os.path.join(a.shared, "corpora/books"),
                            "--background", os.path.join(a.shared, "corpora/wiki/enwiki-excerpt.jsonl"),
                            "--out", out, "--seed", str(seed), "--docs", str(a.docs), "--profile", profile],
                           check=True, stdout=subprocess.DEVNULL)
            t0 = time.time()
            subprocess.run([a.exlibris, "tag", os.path.join(out, "corpus.jsonl"), "--out", os.path.join(out, "tags")],
                           check=True, stdout=subprocess.DEVNULL)
            secs = time.time() - t0
            truth = ids(os.path.join(out, "markers.jsonl"))
            tagged = ids(os.path.join(out, "tags/tags.jsonl"), lambda v: v["tag"] == "shadow_library")
            tp, fp, fn = len(truth & tagged), len(tagged - truth), len(truth - tagged)
            rows.append((profile, seed, len(truth), len(tagged), tp, fp, fn, secs))
            for i, v in enumerate((len(truth), len(tagged), tp, fp, fn)):
                tot[i] += v
finally:
    shutil.rmtree(tmp, ignore_errors=True)


def pr(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return f"{p:.3f}", f"{r:.3f}"


print(f"docs per corpus: {a.docs}\n")
print("| profile | seed | marked | tagged | TP | FP | FN | precision | recall | tag s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for profile, seed, t, g, tp, fp, fn, secs in rows:
    print(f"| {profile} | {seed} | {t} | {g} | {tp} | {fp} | {fn} | {' | '.join(pr(tp, fp, fn))} | {secs:.1f} |")
print(f"| all | | {tot[0]} | {tot[1]} | {tot[2]} | {tot[3]} | {tot[4]} | {' | '.join(pr(*tot[2:]))} | |")
