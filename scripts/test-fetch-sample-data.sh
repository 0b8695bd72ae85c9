#!/usr/bin/env bash
# Test scripts/fetch-sample-data.sh from an empty directory.
#
# Runs the fetch (default OUT_DIR, so `sample/` inside a fresh temp dir),
# then checks the catalog (7 works, paths exist, UTF-8, byte counts), the
# corpus (valid JSONL, >= 100 documents, unique ids), the truth file
# against the books and the corpus, that ordinary documents hold no book
# text, that a second run gives the same bytes, and the error messages for
# missing tools.  Prints one line per check and a final
# "N passed, M failed"; exits non-zero if any check failed.
#
# usage: scripts/test-fetch-sample-data.sh      (needs network for apt-get)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FETCH="$SCRIPT_DIR/fetch-sample-data.sh"
PASSED=0 FAILED=0

pass() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$*"; }
check() {  # check NAME CMD...: pass if CMD succeeds
  local name="$1"; shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}
finish() {
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  [ "$FAILED" -eq 0 ]
}

TMP="$(mktemp -d "${TMPDIR:-/tmp}/exlibris-sample-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# --- 1. fetch into an empty directory, default OUT_DIR -------------------
mkdir "$TMP/run1"
start=$SECONDS
if (cd "$TMP/run1" && "$FETCH") >"$TMP/run1.log" 2>&1; then
  pass "fetch-sample-data.sh exits 0 in an empty directory ($((SECONDS - start))s)"
else
  fail "fetch-sample-data.sh exits 0 in an empty directory"
  sed 's/^/    /' "$TMP/run1.log"
  finish; exit 1
fi
OUT="$TMP/run1/sample"
check "wrote sample/books/catalog.jsonl" test -s "$OUT/books/catalog.jsonl"
check "wrote sample/corpus/sample.jsonl" test -s "$OUT/corpus/sample.jsonl"
check "left nothing else in the directory" \
  test "$(ls -A "$TMP/run1")" = "sample"

# --- 2. content checks (Python, stdlib) -----------------------------------
while IFS= read -r line; do
  case "$line" in
    "PASS "*) pass "${line#PASS }" ;;
    "FAIL "*) fail "${line#FAIL }" ;;
    "INFO "*) printf 'info %s\n' "${line#INFO }" ;;
    *) printf '     %s\n' "$line" ;;
  esac
done < <(python3 - "$OUT" 2>&1 <<'EOF' || echo "FAIL content checks crashed"
import hashlib, json, os, re, sys

out = sys.argv[1]
books, corpus = os.path.join(out, "books"), os.path.join(out, "corpus")

def result(ok, name, why=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not why else ": " + why))
    return ok

REFERENCE = {  # ../shared/corpora/books, from the pinned package versions
    "emma.txt": "7c67b5985c6d0de1efaeb5d342d52cb82c38083c40e2295129e30e87ee690ebe",
    "kjv.txt": "82fa5f3788c6a9a010fb128a0f0bf588984b5888a82058520620eded59b033ea",
    "mansfieldpark.txt": "98bc90519cdf4ef663ad7de2734bb529435ef24f7abbde6bb1a50898871dafe9",
    "northangerabbey.txt": "51f91bbe0517db8e65cff009b097ce0a1836124c4e0532ac19e6c0cad982abed",
    "persuasion.txt": "8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a",
    "prideprejudice.txt": "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d",
    "sensesensibility.txt": "105e1651fe93bed7130078578efd31e0c557d68667ba672ddc876f735b30fe09",
}

# catalog
works, bad = [], []
with open(os.path.join(books, "catalog.jsonl"), "rb") as f:
    for n, raw in enumerate(f, 1):
        try:
            works.append(json.loads(raw.decode("utf-8")))
        except ValueError as e:
            bad.append("line %d: %s" % (n, e))
result(not bad, "catalog.jsonl is valid JSON Lines", "; ".join(bad))
result(len(works) == 7, "catalog lists 7 works", "got %d" % len(works))
fields = {"id": str, "path": str, "title": str, "author": str, "year": int,
          "rights": str, "bytes": int}
missing = ["%s.%s" % (w.get("id"), k) for w in works for k, t in fields.items()
           if not isinstance(w.get(k), t)]
result(not missing, "every work has id/path/title/author/year/rights/bytes",
       ", ".join(missing))
ids = [w.get("id") for w in works]
result(len(set(ids)) == len(ids), "work ids are unique")
texts = {}
for w in works:
    p = os.path.join(books, str(w.get("path")))
    if not result(os.path.isfile(p), "%s: %s exists" % (w.get("id"), w.get("path"))):
        continue
    data = open(p, "rb").read()
    try:
        texts[w["id"]] = data.decode("utf-8")
        result(True, "%s: file is UTF-8" % w["id"])
    except UnicodeDecodeError as e:
        result(False, "%s: file is UTF-8" % w["id"], str(e))
    result(len(data) == w.get("bytes"), "%s: bytes = file size (%d)" % (w["id"], len(data)),
           "catalog says %s" % w.get("bytes"))
    result(len(data) > 100000, "%s: book is not truncated" % w["id"], "%d bytes" % len(data))
same = [n for n, h in REFERENCE.items()
        if os.path.isfile(os.path.join(books, n))
        and hashlib.sha256(open(os.path.join(books, n), "rb").read()).hexdigest() == h]
print("INFO %d of %d books are byte-identical to the reference (../shared/corpora/books)"
      % (len(same), len(REFERENCE)))
kjv = texts.get("kjv-bible", "")
verses = len(re.findall(r"^ +\d+ ", kjv, re.M))
result(verses == 31102, "kjv.txt has 31102 numbered verses", "got %d" % verses)

# corpus
docs, bad = [], []
with open(os.path.join(corpus, "sample.jsonl"), "rb") as f:
    for n, raw in enumerate(f, 1):
        try:
            d = json.loads(raw.decode("utf-8"))
            if not (isinstance(d, dict) and all(isinstance(d.get(k), str) and d.get(k)
                                                for k in ("id", "text", "url"))):
                raise ValueError("needs non-empty string id, text, url")
            docs.append(d)
        except ValueError as e:
            bad.append("line %d: %s" % (n, e))
result(not bad, "sample.jsonl is valid JSON Lines of {id, text, url}", "; ".join(bad[:3]))
result(len(docs) >= 100, "corpus has >= 100 documents (%d)" % len(docs))
result(len({d["id"] for d in docs}) == len(docs), "document ids are unique")

# truth
by_id = {d["id"]: d for d in docs}
truth = [json.loads(l) for l in open(os.path.join(corpus, "truth.jsonl"), encoding="utf-8")]
kinds = {}
for t in truth:
    kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
print("INFO corpus: %d ordinary documents, %s" % (
    len(docs) - len(truth), ", ".join("%d %s" % (v, k) for k, v in sorted(kinds.items()))))
result(all(k in kinds for k in ("paste", "disguised", "chapter")),
       "corpus has pasted, disguised and whole-chapter documents", str(kinds))
norm = lambda s: " ".join(s.split())
wrong = []
for t in truth:
    d, book = by_id.get(t["doc_id"]), texts.get(t["work_id"])
    if d is None or book is None:
        wrong.append(t["doc_id"] + " unknown doc or work"); continue
    src = book.encode("utf-8")[t["start_byte"]:t["end_byte"]].decode("utf-8")
    if t["kind"] in ("paste", "disguised") and not 30 <= len(src.split()) <= 400:
        wrong.append(t["doc_id"] + " passage not 30-400 words")
    tr, text = t["transform"], d["text"]
    if tr == "verbatim":
        ok = src in text
    elif tr == "upper":
        ok = src.upper() in text
    elif tr == "email-quote":
        ok = norm(src) in norm(re.sub(r"^>", "", text, flags=re.M))
    elif tr == "oneline-no-verse-numbers":
        ok = " ".join(w for w in src.split() if not w.isdigit()) in text
    else:  # oneline, rewrap-N
        ok = norm(src) in norm(text)
    if not ok:
        wrong.append("%s (%s) does not hold its passage" % (t["doc_id"], tr))
result(not wrong, "every truth row's passage is in its document (%d rows)" % len(truth),
       "; ".join(wrong[:3]))

# ordinary documents must hold no book text (no shared 10-word run)
K = 10
words = lambda s: re.findall(r"[a-z]+", s.lower())
shingles = set()
for book in texts.values():
    w = words(book)
    shingles.update(hash(tuple(w[i:i + K])) for i in range(len(w) - K + 1))
truth_ids = {t["doc_id"] for t in truth}
dirty = [d["id"] for d in docs if d["id"] not in truth_ids and any(
    hash(tuple(w[i:i + K])) in shingles
    for w in [words(d["text"])] for i in range(len(w) - K + 1))]
result(not dirty, "ordinary documents share no 10-word run with the books",
       ", ".join(dirty[:5]))
EOF
)

# --- 3. deterministic: a second run gives the same bytes -----------------
mkdir "$TMP/run2"
if (cd "$TMP/run2" && "$FETCH" out) >"$TMP/run2.log" 2>&1; then
  if (cd "$OUT" && find . -type f | sort | xargs sha256sum) >"$TMP/a" &&
     (cd "$TMP/run2/out" && find . -type f | sort | xargs sha256sum) >"$TMP/b" &&
     cmp -s "$TMP/a" "$TMP/b"; then
    pass "a second run (explicit OUT_DIR) writes the same bytes"
  else
    fail "a second run (explicit OUT_DIR) writes the same bytes"
    diff "$TMP/a" "$TMP/b" | sed 's/^/    /' || true
  fi
else
  fail "second run with OUT_DIR=out exits 0"
  sed 's/^/    /' "$TMP/run2.log"
fi

# --- 4. error handling ------------------------------------------------------
# A PATH holding only the tools named here (plus bash), to hide the others.
fake_path() {
  local dir="$TMP/bin-$1"; shift
  mkdir -p "$dir"
  for t in bash dirname "$@"; do
    if [ "$t" = python3 ]; then  # the interpreter itself, not a shim
      ln -sf "$(python3 -c 'import sys; print(sys.executable)')" "$dir/$t"
    else
      ln -sf "$(command -v "$t")" "$dir/$t"
    fi
  done
  printf '%s' "$dir"
}
expect_error() {  # expect_error NAME PATTERN PATH
  local name="$1" pat="$2" path="$3" rc=0
  (cd "$TMP" && PATH="$path" bash "$FETCH" "$TMP/none") >"$TMP/err.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && grep -q "$pat" "$TMP/err.log"; then
    pass "$name"
  else
    fail "$name (rc=$rc)"; sed 's/^/    /' "$TMP/err.log"
  fi
}
expect_error "clear error when python3 is missing" "'python3' not found" \
  "$(fake_path nopy apt-get dpkg-deb)"
expect_error "clear error when apt-get is missing" "'apt-get' not found" \
  "$(fake_path noapt dpkg-deb python3)"
expect_error "clear error when dpkg-deb is missing" "'dpkg-deb' not found" \
  "$(fake_path nodpkg apt-get python3)"
rc=0; "$FETCH" a b >/dev/null 2>&1 || rc=$?
check "rejects extra arguments" test "$rc" -ne 0

finish
