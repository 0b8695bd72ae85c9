#!/usr/bin/env bash
# The performance benchmark: builds its inputs, runs, prints one table.
#   scripts/bench.sh [SHARED_DIR]        (default ../shared)
# Environment: BENCH_DIR (work directory, default /tmp/exlibris-bench),
#   CATALOG_WORDS (10x catalog, default 100000000), CORPUS_BYTES (4x corpus,
#   default 2147483648 bytes of JSON Lines, stored zstd-compressed),
#   BENCH_RUNS (runs of each timed command, default 3: the fastest run's
#   time and the highest memory peaks are printed; this machine's speed
#   varies by 10-25 % between identical runs).
# Besides the default index it builds and scans one with a window of 15
# (a 20-word guarantee instead of 12): the speed a weaker guarantee buys.
# The 1x catalog is a tenth of CATALOG_WORDS, the 1x corpus a quarter of CORPUS_BYTES.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${1:-$root/../shared}"
work="${BENCH_DIR:-/tmp/exlibris-bench}"
big_words="${CATALOG_WORDS:-100000000}"
big_bytes="${CORPUS_BYTES:-2147483648}"
runs="${BENCH_RUNS:-3}"
small_words=$((big_words / 10))
small_bytes=$((big_bytes / 4))
mkdir -p "$work"
cd "$root"
cargo build --release -q
exl="$root/target/release/exlibris"
gen="$root/target/release/exlibris-benchgen"
books="$shared/corpora/books"
wiki="$shared/corpora/wiki/enwiki-excerpt.jsonl"

step() { printf '… %s\n' "$*" >&2; }
# measure CMD…: prints "seconds peak_rss_kib peak_anon_kib peak_file_kib" of
# the command (its output discarded): scripts/peak_mem.py samples
# /proc/PID/status. Anonymous memory is the process's own (the filter,
# records in flight); file-backed memory is the pages of the memory-mapped
# index it touched, which are page cache the kernel can drop.
# Scans write fresh results (an existing directory would be resumed, not
# rescanned): `best` removes the output directory before each run.
measure() { PEAK_MEM_STDERR="$work/last.err" python3 "$root/scripts/peak_mem.py" "$@" || { cat "$work/last.err" >&2; return 1; }; }
# best DIR CMD…: measure CMD $runs times, DIR (an output directory, or "")
# removed before each run; prints the fastest run's seconds and the highest
# of each memory peak.
best() {
  local dir=$1 all="" _i
  shift
  for _i in $(seq "$runs"); do
    [ -z "$dir" ] || rm -rf "$dir"
    all+="$(measure "$@")"$'\n'
  done
  python3 -c "
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
print(min(float(r[0]) for r in rows), *(max(int(float(r[i])) for r in rows) for i in (1, 2, 3)))" <<< "$all"
}
mib() { python3 -c "print(f'{$1/1024:.0f}')"; }
words_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tokens'])" "$1/meta.json"; }
bytes_scanned() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes_scanned'])" "$1/stats.json"; }
du_bytes() { du -sb "$1" | cut -f1; }

[ -f "$work/cat1/catalog.jsonl" ] || { step "catalog 1x ($small_words words)"; "$gen" catalog --books "$books" --words "$small_words" --out "$work/cat1" >&2; }
[ -f "$work/cat10/catalog.jsonl" ] || { step "catalog 10x ($big_words words)"; "$gen" catalog --books "$books" --words "$big_words" --out "$work/cat10" >&2; }
[ -f "$work/corpus1.jsonl.zst" ] || { step "corpus 1x ($small_bytes bytes)"; "$gen" corpus --books "$books" --background "$wiki" --bytes "$small_bytes" --out "$work/corpus1.jsonl.zst" --seed 1 >&2; }
# The 1x corpus again as 4 files, as corpora come (shards of a crawl): a
# scan can read several at once (--readers).
if [ ! -f "$work/shards1/part-3.jsonl.zst" ]; then
  step "corpus 1x in 4 shards"
  rm -rf "$work/shards1"; mkdir -p "$work/shards1"
  lines=$(zstd -dc "$work/corpus1.jsonl.zst" | wc -l)
  zstd -dc "$work/corpus1.jsonl.zst" | split -d -a 1 -l $(( (lines + 3) / 4 )) --additional-suffix=.jsonl \
    --filter='zstd -q -c > "$FILE.zst"' - "$work/shards1/part-"
fi
[ -f "$work/corpus4.jsonl.zst" ] || { step "corpus 4x ($big_bytes bytes)"; "$gen" corpus --books "$books" --background "$wiki" --bytes "$big_bytes" --out "$work/corpus4.jsonl.zst" --seed 2 >&2; }

rows=()
row() { rows+=("$(printf '%-58s %s' "$1" "$2")"); }

for c in 1 10; do
  step "index catalog ${c}x"
  read -r s rss _ _ < <(best "$work/idx$c" "$exl" index --catalog "$work/cat$c/catalog.jsonl" --out "$work/idx$c")
  w=$(words_of "$work/idx$c"); b=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes'])" "$work/idx$c/meta.json")
  row "index build, catalog ${c}x ($w words, 2 threads)" "$(python3 -c "print(f'{$b/1e6/$s:.1f} MB/s total, {$b/1e6/$s/2:.1f} MB/s per core, {$s:.1f} s, peak RSS {$rss/1024:.0f} MiB')")"
  fp=$(du_bytes "$work/idx$c"/fingerprints-*.bin); fl=$(du_bytes "$work/idx$c"/filter-*.bin); tx=$(du_bytes "$work/idx$c"/texts-*.bin); all=$(du_bytes "$work/idx$c")
  row "index on disk, catalog ${c}x" "$(python3 -c "print(f'{$all/$w:.2f} B/word total: table {$fp/$w:.2f}, filter {$fl/$w:.3f}, texts {$tx/$w:.2f}')")"
  eval "words$c=$w"
done

step "read floor"
read -r zs _ _ _ < <(best "" sh -c "zstd -dc '$work/corpus1.jsonl.zst' > /dev/null")
raw1=$(zstd -dc "$work/corpus1.jsonl.zst" | wc -c)
row "zstd -dc corpus 1x > /dev/null" "$(python3 -c "print(f'{$raw1/1e6/$zs:.0f} MB/s of JSON Lines')")"
read -r rs _ _ _ < <(best "$work/ro" "$exl" scan --read-only --threads 1 --index "$work/idx10" --out "$work/ro" "$work/corpus1.jsonl.zst")
text1=$(bytes_scanned "$work/ro")
floor=$(python3 -c "print($text1/1e6/$rs)")
row "read floor (decompress+parse+normalise), 1 thread" "$(python3 -c "print(f'{$floor:.0f} MB/s of text ({$raw1/1e6/$rs:.0f} MB/s of JSON Lines)')")"
# The same floor on 2 threads: how much of the scan's scaling is lost in
# reading itself (one decompression stream beside the threads' parsing).
read -r rs2 _ _ _ < <(best "$work/ro" "$exl" scan --read-only --threads 2 --index "$work/idx10" --out "$work/ro" "$work/corpus1.jsonl.zst")
floor2=$(python3 -c "print($text1/1e6/$rs2)")
row "read floor, 2 threads" "$(python3 -c "print(f'{$floor2:.0f} MB/s of text, {$floor2/2:.0f} MB/s per core')")"
# The same on the 4 shards, read 2 at a time: one decompression stream a
# thread.
read -r rs2r _ _ _ < <(best "$work/ro" "$exl" scan --read-only --threads 2 --readers 2 --index "$work/idx10" --out "$work/ro" "$work/shards1")
row "read floor, 2 threads, 4 shards read 2 at a time" "$(python3 -c "print(f'{$text1/1e6/$rs2r:.0f} MB/s of text, {$text1/1e6/$rs2r/2:.0f} MB/s per core')")"
# The floor plus shingles and winnowing, no lookups: splits the scan's cost
# between fingerprinting and lookups with verification.
read -r fs _ _ _ < <(best "$work/ro" "$exl" scan --read-only=fingerprint --threads 1 --index "$work/idx10" --out "$work/ro" "$work/corpus1.jsonl.zst")
row "read floor + fingerprinting (no lookups), 1 thread" "$(python3 -c "print(f'{$text1/1e6/$fs:.0f} MB/s of text')")"

# "peak RSS X MiB (anon A, file F)" and the anonymous memory per catalog word.
mem() { python3 -c "print(f'peak RSS {$1/1024:.0f} MiB (anonymous {$2/1024:.0f}, mapped index pages {$3/1024:.0f}); anonymous {$2*1024/$4:.2f} B/catalog word')"; }
for t in 1 2; do
  step "scan corpus 1x vs catalog 10x, $t thread(s)"
  read -r s rss anon file < <(best "$work/r10-$t" "$exl" scan --threads "$t" --index "$work/idx10" --out "$work/r10-$t" "$work/corpus1.jsonl.zst")
  mbs=$(python3 -c "print($text1/1e6/$s)")
  # scan/read floor as #4 defines it (per core, against the 1-thread
  # floor), and against the floor on as many threads.
  same=$([ "$t" = 1 ] && echo "$floor" || echo "$floor2")
  row "scan, corpus 1x, catalog 10x, $t thread(s)" "$(python3 -c "print(f'{$mbs:.0f} MB/s total, {$mbs/$t:.0f} MB/s per core; scan/read floor {$mbs/$t/$floor:.2f} ({$mbs/$same:.2f} of the floor on {$t} thread(s))')"); $(mem "$rss" "$anon" "$file" "$words10")"
  eval "anon10_$t=$anon"
done
step "scan 4 shards of corpus 1x vs catalog 10x, 2 readers"
read -r s _ _ _ < <(best "$work/r10-sh" "$exl" scan --threads 2 --readers 2 --index "$work/idx10" --out "$work/r10-sh" "$work/shards1")
row "scan, corpus 1x in 4 shards, catalog 10x, 2 threads, 2 readers" "$(python3 -c "print(f'{$text1/1e6/$s:.0f} MB/s total, {$text1/1e6/$s/2:.0f} MB/s per core')")"
step "scan corpus 4x vs catalog 10x"
read -r s rss4 anon4 file4 < <(best "$work/r10-4x" "$exl" scan --threads 2 --index "$work/idx10" --out "$work/r10-4x" "$work/corpus4.jsonl.zst")
text4=$(bytes_scanned "$work/r10-4x")
row "scan, corpus 4x, catalog 10x, 2 threads" "$(python3 -c "print(f'{$text4/1e6/$s:.0f} MB/s total')"); $(mem "$rss4" "$anon4" "$file4" "$words10")"
step "scan corpus 1x vs catalog 1x"
read -r s rss1 anon1 file1 < <(best "$work/r1-2" "$exl" scan --threads 2 --index "$work/idx1" --out "$work/r1-2" "$work/corpus1.jsonl.zst")
row "scan, corpus 1x, catalog 1x, 2 threads" "$(python3 -c "print(f'{$text1/1e6/$s:.0f} MB/s total')"); $(mem "$rss1" "$anon1" "$file1" "$words1")"
# The speed the guarantee buys back: the 10x catalog indexed with a window
# of 15 (k = 6: any shared run of 20 words is found, instead of 12).
step "index catalog 10x, w 15"
read -r s _ _ _ < <(best "$work/idx10-w15" "$exl" index --w 15 --catalog "$work/cat10/catalog.jsonl" --out "$work/idx10-w15")
b=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['bytes'])" "$work/idx10-w15/meta.json")
fp=$(du_bytes "$work/idx10-w15"/fingerprints-*.bin); fl=$(du_bytes "$work/idx10-w15"/filter-*.bin)
row "index build, catalog 10x, w 15 (20-word guarantee)" "$(python3 -c "print(f'{$b/1e6/$s/2:.1f} MB/s per core; table + filter {($fp+$fl)/$words10:.2f} B/word')")"
for t in 1 2; do
  step "scan corpus 1x vs catalog 10x, w 15, $t thread(s)"
  read -r s _ _ _ < <(best "$work/r10w-$t" "$exl" scan --threads "$t" --index "$work/idx10-w15" --out "$work/r10w-$t" "$work/corpus1.jsonl.zst")
  row "scan, corpus 1x, catalog 10x, w 15, $t thread(s)" "$(python3 -c "print(f'{$text1/1e6/$s/$t:.0f} MB/s per core; scan/read floor {$text1/1e6/$s/$t/$floor:.2f}')")"
done
row "anonymous memory per added catalog word (10x - 1x, 2 threads)" "$(python3 -c "print(f'{($anon10_2-$anon1)*1024/($words10-$words1):.2f} B/word')")"

echo
echo "exlibris benchmark — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "each timed figure is the fastest of $runs runs, each memory figure the highest"
echo "catalog 1x: $words1 words, 10x: $words10 words; corpus 1x: $raw1 bytes of JSON Lines ($text1 bytes of text), 4x: $text4 bytes of text"
printf '%-58s %s\n' "measure" "figure"
for r in "${rows[@]}"; do echo "$r"; done
