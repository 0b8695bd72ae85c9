#!/usr/bin/env bash
# Sweep the shingle length k and the winnowing window w on the labelled
# audit benchmark (../shared/bench), printing one line per setting:
#   k w t  profile  plagdet precision recall granularity false_pairs cov_err_max  postings  scan_s
# Usage: scripts/tune-kw.sh [SHARED_DIR] [OUT_DIR]
set -euo pipefail
shared=${1:-"$(cd "$(dirname "$0")/.." && pwd)/../shared"}
out=${2:-"$(mktemp -d)"}
exl="$(cd "$(dirname "$0")/.." && pwd)/target/release/exlibris"
[ -x "$exl" ] || { echo "build first: cargo build --release" >&2; exit 1; }
for profile in dev hard; do
  python3 "$shared/bench/make_audit_corpus.py" --books "$shared/corpora/books" \
    --background "$shared/corpora/wiki/enwiki-excerpt.jsonl" --out "$out/$profile" --seed 1 --docs 400 --profile "$profile"
done
printf '%-3s %-3s %-3s %-5s %s\n' k w t prof "score (plagdet precision recall granularity false_pairs cov_err_max) postings scan_s"
for k in ${KS:-4 5 6 7}; do
  for w in ${WS:-4 6 8 10 12}; do
    idx="$out/idx-$k-$w"
    "$exl" index --catalog "$shared/corpora/books/catalog.jsonl" --out "$idx" --k "$k" --w "$w" >/dev/null
    postings=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['postings'])" "$idx/meta.json")
    for profile in dev hard; do
      s=$( { /usr/bin/time -f %e "$exl" scan --index "$idx" --out "$out/r-$k-$w-$profile" "$out/$profile/corpus.jsonl" >/dev/null; } 2>&1 | tail -1)
      score=$(python3 "$shared/bench/score_audit.py" --truth "$out/$profile" --detections "$out/r-$k-$w-$profile/findings.jsonl" | tail -1)
      printf '%-3s %-3s %-3s %-5s %s postings=%s scan_s=%s\n' "$k" "$w" $((k + w - 1)) "$profile" "$score" "$postings" "$s"
    done
  done
done
