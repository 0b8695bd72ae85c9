#!/usr/bin/env python3
"""Lookup service figures: latency p50/p99 of POST /v1/lookup with 200-word
passages against the full books index, and requests/s with 16 concurrent
clients (wrk, keep-alive, on loopback).

    python3 scripts/bench_serve.py --exlibris target/release/exlibris \
        --books ../shared/corpora/books --background ../shared/corpora/wiki/enwiki-excerpt.jsonl

Builds the index, a 400-document audit corpus and its results in a temp
directory (or reuses --index/--results), starts `exlibris serve` with no
rate limit and no access log, and prints a table.
"""
import argparse, http.client, json, os, random, shutil, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--exlibris", default="target/release/exlibris")
ap.add_argument("--books", default="../shared/corpora/books")
ap.add_argument("--background", default="../shared/corpora/wiki/enwiki-excerpt.jsonl")
ap.add_argument("--index"); ap.add_argument("--results")
ap.add_argument("--requests", type=int, default=500)
ap.add_argument("--seconds", type=int, default=10)
ap.add_argument("--port", type=int, default=18080)
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="exlibris-bench-")
def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
index, results = a.index, a.results
if not index:
    index = os.path.join(tmp, "books.exl")
    run(a.exlibris, "index", "--catalog", os.path.join(a.books, "catalog.jsonl"), "--out", index)
if not results:
    here = os.path.dirname(os.path.abspath(__file__))
    mk = os.path.join(here, "..", "..", "shared", "bench", "make_audit_corpus.py")
    if not os.path.exists(mk):
        mk = "/work/shared/bench/make_audit_corpus.py"
    run(sys.executable, mk, "--books", a.books, "--background", a.background, "--out", os.path.join(tmp, "corpus"), "--seed", "1", "--docs", "400")
    results = os.path.join(tmp, "results")
    subprocess.run([a.exlibris, "scan", "--index", index, "--out", results, os.path.join(tmp, "corpus", "corpus.jsonl")], stdout=subprocess.DEVNULL)

# 200-word passages from the books (the lookup's realistic case: a match).
books = [json.loads(l) for l in open(os.path.join(a.books, "catalog.jsonl"))]
rng = random.Random(7)
passages = []
for _ in range(64):
    b = rng.choice(books)
    words = open(os.path.join(a.books, b["path"]), encoding="utf-8").read().split()
    i = rng.randrange(0, len(words) - 200)
    passages.append(" ".join(words[i:i + 200]))

srv = subprocess.Popen([a.exlibris, "serve", "--index", index, "--results", results, "--listen", f"127.0.0.1:{a.port}",
                        "--rate-limit", "0", "--quiet"], stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=2); c.request("GET", "/v1/health"); c.getresponse().read(); break
        except OSError:
            time.sleep(0.1)
    c = http.client.HTTPConnection("127.0.0.1", a.port)
    lat, matched = [], 0
    for n in range(a.requests):
        body = json.dumps({"text": passages[n % len(passages)]})
        t = time.perf_counter()
        c.request("POST", "/v1/lookup", body, {"Content-Type": "application/json"})
        r = c.getresponse(); data = r.read()
        lat.append((time.perf_counter() - t) * 1e3)
        assert r.status == 200, data
        matched += bool(json.loads(data)["matches"])
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    lua = os.path.join(tmp, "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n'
                % json.dumps(json.dumps({"text": passages[0]})))
    rps = "wrk not installed"
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t4", "-c16", f"-d{a.seconds}s", "--latency", "-s", lua,
                              f"http://127.0.0.1:{a.port}/v1/lookup"], capture_output=True, text=True).stdout
        rps = next((l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")), "?")
        errors = [l for l in out.splitlines() if "Non-2xx" in l or "Socket errors" in l]
        if errors:
            rps += " (" + "; ".join(errors) + ")"
    print(f"| lookup, 200-word passage, sequential ({a.requests} requests, {matched} matched) | p50 {p(0.5):.2f} ms | p99 {p(0.99):.2f} ms |")
    print(f"| lookup, 16 concurrent clients (wrk -t4 -c16 -d{a.seconds}s)  | {rps} requests/s | cores: {os.cpu_count()} |")
finally:
    srv.terminate(); srv.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)
