#!/usr/bin/env bash
# The main job on sample data, from a fresh clone:
#   scripts/quickstart.sh
# Fetches public-domain books from Debian packages (scripts/fetch-sample-data.sh),
# builds exlibris, indexes the books, scans the sample corpus and prints the report.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f sample/books/catalog.jsonl ] && [ -f sample/corpus/sample.jsonl ] || scripts/fetch-sample-data.sh sample
cargo build --release
exl=target/release/exlibris
$exl index --catalog sample/books/catalog.jsonl --out sample/books.exl
set +e
$exl scan --index sample/books.exl --out sample/results sample/corpus/sample.jsonl
code=$?
set -e
[ "$code" -le 2 ] || exit "$code"
$exl report sample/results
echo
echo "findings: sample/results/findings.jsonl; coverage per work: sample/results/works.json; counts: sample/results/stats.json"
