#!/usr/bin/env bash
# Alternating A/B timing of `exlibris scan` builds on a noisy machine: runs
# each binary in turn, N rounds, and prints the minimum and median of wall
# and user seconds for each.
#   scripts/ab.sh N INDEX CORPUS THREADS BIN_A BIN_B [BIN…]
set -euo pipefail
n=$1 index=$2 corpus=$3 threads=$4
shift 4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for _ in $(seq "$n"); do
  for b in "$@"; do
    rm -rf "$out/r"
    /usr/bin/time -o "$out/t" -f "%e %U" "$b" scan --threads "$threads" --index "$index" --out "$out/r" "$corpus" >/dev/null 2>&1
    echo "$b $(tail -1 "$out/t")" >> "$out/times"
  done
done
python3 - "$out/times" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    b, w, u = line.split()
    runs.setdefault(b, []).append((float(w), float(u)))
for b, r in runs.items():
    w = [x for x, _ in r]; u = [y for _, y in r]
    print(f"{b}: wall min {min(w):.2f} median {statistics.median(w):.2f}, "
          f"user min {min(u):.2f} median {statistics.median(u):.2f} (n={len(r)})")
PY
