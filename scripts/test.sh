#!/usr/bin/env bash
# The test command: everything CI checks, from a fresh clone.
#   scripts/test.sh
# Formatting, lints (warnings are errors), then the whole test suite.
# Tests that need ../shared (the labelled benchmark) or python3 skip with a
# message when those are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The sample-data script, from an empty directory (fetches from Debian's archive).
if [ "$(id -u)" = 0 ] && ! apt-cache show r-cran-janeaustenr >/dev/null 2>&1; then
  apt-get update -qq
fi
scripts/test-fetch-sample-data.sh
cargo test --workspace --release
