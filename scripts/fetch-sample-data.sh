#!/usr/bin/env bash
# Fetch real public-domain books from Debian packages and build exlibris
# sample data:
#
#   OUT_DIR/books/*.txt            7 books (6 Jane Austen novels, the KJV)
#   OUT_DIR/books/catalog.jsonl    the catalog of those works
#   OUT_DIR/corpus/sample.jsonl    ~200-document sample corpus
#   OUT_DIR/corpus/truth.jsonl     which corpus documents carry book text
#
# usage: scripts/fetch-sample-data.sh [OUT_DIR]      (default: sample/)
#
# Needs apt-get (only `apt-get download`: no root, nothing is installed),
# dpkg-deb and python3 (standard library only).  See scripts/README.md.
set -euo pipefail

die() { printf 'fetch-sample-data: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'fetch-sample-data: %s\n' "$*" >&2; }

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
esac
[ $# -le 1 ] || die "too many arguments (usage: $0 [OUT_DIR])"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="${1:-sample}"
SEED="${EXLIBRIS_SAMPLE_SEED:-20240601}"
DOCS="${EXLIBRIS_SAMPLE_DOCS:-200}"

# Packages and the versions the reference files were made from.  Another
# version is used if it is what apt offers, with a warning.
AUSTEN_PKG=r-cran-janeaustenr   AUSTEN_VER=1.0.0-1
KJV_PKG=bible-kjv               KJV_VER=4.38
KJV_TEXT_PKG=bible-kjv-text     KJV_TEXT_VER=4.38
LICENSES_PKG=base-files         # only for /usr/share/common-licenses

# sha256 of the books made from the versions above (../shared/corpora/books).
declare -A EXPECTED_SHA256=(
  [emma.txt]=7c67b5985c6d0de1efaeb5d342d52cb82c38083c40e2295129e30e87ee690ebe
  [kjv.txt]=82fa5f3788c6a9a010fb128a0f0bf588984b5888a82058520620eded59b033ea
  [mansfieldpark.txt]=98bc90519cdf4ef663ad7de2734bb529435ef24f7abbde6bb1a50898871dafe9
  [northangerabbey.txt]=51f91bbe0517db8e65cff009b097ce0a1836124c4e0532ac19e6c0cad982abed
  [persuasion.txt]=8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a
  [prideprejudice.txt]=dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d
  [sensesensibility.txt]=105e1651fe93bed7130078578efd31e0c557d68667ba672ddc876f735b30fe09
)

for tool in apt-get dpkg-deb python3; do
  command -v "$tool" >/dev/null 2>&1 || case "$tool" in
    apt-get|dpkg-deb)
      die "'$tool' not found: this script needs a Debian or Ubuntu system (it downloads .deb packages with apt-get and unpacks them with dpkg-deb)" ;;
    python3)
      die "'python3' not found: install Python 3 (e.g. 'sudo apt-get install python3')" ;;
  esac
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 6))' \
  || die "python3 is older than 3.6"
for f in rdata_decode.py make_sample_corpus.py; do
  [ -f "$SCRIPT_DIR/$f" ] || die "missing $SCRIPT_DIR/$f"
done

START=$SECONDS
WORK="$(mktemp -d "${TMPDIR:-/tmp}/exlibris-sample.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
mkdir -p "$WORK/debs" "$ROOT"

# apt-get download as root drops privileges to _apt, which cannot write
# into our private temp dir; keep the download in this process then.
APT_OPTS=(-q)
if [ "$(id -u)" = 0 ]; then APT_OPTS+=(-o APT::Sandbox::User=root); fi

download() {  # download PKG... into $WORK/debs
  if ! (cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" download "$@" \
          >"$WORK/apt.log" 2>&1); then
    cat "$WORK/apt.log" >&2
    if grep -q "Unable to locate package\|has no installation candidate\|Can't find a source" "$WORK/apt.log"; then
      die "apt-get cannot find package(s) $*; the package lists may be missing or stale: run 'sudo apt-get update' (they are in Debian/Ubuntu 'main'/'universe')"
    fi
    die "apt-get download $* failed (see the messages above; is the network reachable?)"
  fi
}

say "downloading $AUSTEN_PKG $KJV_PKG $KJV_TEXT_PKG $LICENSES_PKG"
download "$AUSTEN_PKG" "$KJV_PKG" "$KJV_TEXT_PKG"
# base-files only supplies licence texts for the corpus background; if it
# cannot be fetched (stale package lists), use this system's copy.
LICENSES_DIR="$ROOT/usr/share/common-licenses"
if ! (cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" download "$LICENSES_PKG" \
        >"$WORK/apt.log" 2>&1); then
  LICENSES_DIR=/usr/share/common-licenses
  say "warning: could not download $LICENSES_PKG; using $LICENSES_DIR (the corpus may differ from other machines')"
fi

declare -A GOT_VER=()
for deb in "$WORK"/debs/*.deb; do
  pkg="$(dpkg-deb -f "$deb" Package)"
  GOT_VER[$pkg]="$(dpkg-deb -f "$deb" Version)"
  dpkg-deb -x "$deb" "$ROOT" || die "dpkg-deb -x $(basename "$deb") failed"
done
for pv in "$AUSTEN_PKG=$AUSTEN_VER" "$KJV_PKG=$KJV_VER" "$KJV_TEXT_PKG=$KJV_TEXT_VER"; do
  p="${pv%%=*}" v="${pv#*=}"
  [ -n "${GOT_VER[$p]:-}" ] || die "apt-get did not deliver $p"
  if [ "${GOT_VER[$p]}" != "$v" ]; then
    say "warning: got $p ${GOT_VER[$p]}, the reference data used $v; the books may differ"
  fi
done

BOOKS="$OUT_DIR/books"
CORPUS="$OUT_DIR/corpus"
mkdir -p "$BOOKS" "$CORPUS" || die "cannot create $OUT_DIR"

# --- King James Bible: the package's own reader dumps the whole text ------
BIBLE="$ROOT/usr/bin/bible"
[ -x "$BIBLE" ] || die "$KJV_PKG has no usr/bin/bible"
[ -f "$ROOT/usr/lib/bible.data" ] || die "$KJV_TEXT_PKG has no usr/lib/bible.data"
# bible links against libreadline; fetch it too where the system lacks it.
if command -v ldd >/dev/null 2>&1 && ldd "$BIBLE" 2>/dev/null | grep -q "not found"; then
  missing="$(ldd "$BIBLE" | awk '/not found/ {print $1}')"
  libpkgs=()
  for lib in $missing; do
    case "$lib" in
      libreadline.so.*) libpkgs+=("libreadline${lib##*.so.}") ;;
      libtinfo.so.*)    libpkgs+=("libtinfo${lib##*.so.}") ;;
      libncurses*.so.*) libpkgs+=("libncursesw${lib##*.so.}") ;;
      *) die "bible needs $lib, which is not installed" ;;
    esac
  done
  say "system lacks $missing; downloading ${libpkgs[*]}"
  download "${libpkgs[@]}"
  for deb in "$WORK"/debs/lib*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
  export LD_LIBRARY_PATH="$(find "$ROOT" -name 'lib*.so.*' -printf '%h\n' | sort -u | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
say "dumping the King James Bible (gen1:1-rev22:21)"
"$BIBLE" -p "$ROOT/usr/lib" "gen1:1-rev22:21" </dev/null >"$BOOKS/kjv.txt" \
  || die "bible failed to dump the text"

# --- Jane Austen: decode the R lazy-load data of janeaustenr --------------
RDATA="$ROOT/usr/lib/R/site-library/janeaustenr/data/Rdata"
[ -f "$RDATA.rdb" ] && [ -f "$RDATA.rdx" ] || die "$AUSTEN_PKG has no data/Rdata.rdb/.rdx"
say "decoding janeaustenr's R data"
for b in emma mansfieldpark northangerabbey persuasion prideprejudice sensesensibility; do
  python3 "$SCRIPT_DIR/rdata_decode.py" lines "$RDATA" "$b" >"$BOOKS/$b.txt" \
    || die "could not decode '$b' from $RDATA.rdb"
done

# --- catalog -------------------------------------------------------------
python3 - "$BOOKS" <<'EOF'
import json, os, sys
books = sys.argv[1]
works = [
    ("austen-emma", "emma.txt", "Emma", "Jane Austen", 1815),
    ("austen-mansfield-park", "mansfieldpark.txt", "Mansfield Park", "Jane Austen", 1814),
    ("austen-northanger-abbey", "northangerabbey.txt", "Northanger Abbey", "Jane Austen", 1817),
    ("austen-persuasion", "persuasion.txt", "Persuasion", "Jane Austen", 1817),
    ("austen-pride-and-prejudice", "prideprejudice.txt", "Pride and Prejudice", "Jane Austen", 1813),
    ("austen-sense-and-sensibility", "sensesensibility.txt", "Sense and Sensibility", "Jane Austen", 1811),
    ("kjv-bible", "kjv.txt", "The Holy Bible, King James Version", "Various (King James translators)", 1611),
]
with open(os.path.join(books, "catalog.jsonl"), "w", encoding="utf-8", newline="\n") as out:
    for wid, path, title, author, year in works:
        size = os.path.getsize(os.path.join(books, path))
        out.write(json.dumps({"id": wid, "path": path, "title": title,
                              "author": author, "year": year,
                              "rights": "public-domain", "bytes": size}) + "\n")
EOF

# --- compare with the reference files ------------------------------------
if command -v sha256sum >/dev/null 2>&1; then
  same=0 differ=()
  for f in "${!EXPECTED_SHA256[@]}"; do
    got="$(sha256sum "$BOOKS/$f" | cut -d' ' -f1)"
    if [ "$got" = "${EXPECTED_SHA256[$f]}" ]; then same=$((same + 1)); else differ+=("$f"); fi
  done
  if [ ${#differ[@]} -eq 0 ]; then
    say "all $same books match the reference sha256 sums"
  else
    say "warning: ${differ[*]} differ from the reference (other package version?)"
  fi
fi

# --- sample corpus ---------------------------------------------------------
# Ordinary (non-book) text: licence texts and package documentation.  Not
# bible.1: its examples quote KJV verses, and ordinary documents must not
# hold catalogued text the truth file does not list.
PLAIN=()
for f in Apache-2.0 Artistic BSD CC0-1.0 GFDL-1.3 GPL-2 GPL-3 LGPL-2.1 LGPL-3 MPL-2.0; do
  [ -f "$LICENSES_DIR/$f" ] && PLAIN+=("$LICENSES_DIR/$f")
done
for f in doc/bible-kjv/README.bible.gz doc/bible-kjv/README.ftp.gz \
         doc/bible-kjv/README.linux.gz doc/bible-kjv/README.randverse.gz \
         doc/bible-kjv/changelog.gz doc/bible-kjv/copyright \
         doc/r-cran-janeaustenr/copyright doc/r-cran-janeaustenr/changelog.Debian.gz \
         man/man1/randverse.1.gz; do
  [ -f "$ROOT/usr/share/$f" ] && PLAIN+=("$ROOT/usr/share/$f")
done
say "building the sample corpus ($DOCS documents, seed $SEED)"
python3 "$SCRIPT_DIR/make_sample_corpus.py" --books "$BOOKS" \
  --out "$CORPUS/sample.jsonl" --truth "$CORPUS/truth.jsonl" \
  --docs "$DOCS" --seed "$SEED" --plain "${PLAIN[@]}" \
  || die "make_sample_corpus.py failed"

say "done in $((SECONDS - START))s: $BOOKS/catalog.jsonl (7 works), $CORPUS/sample.jsonl"
