#!/usr/bin/env bash
# Installs what is missing, then runs every test: formatting, lints, unit, property and
# end-to-end tests (real encoders, files checked by decoding them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh --tests

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The shared library is what gst-inspect-1.0 and gst-launch-1.0 load; cargo test does not link it.
cargo build --workspace --locked
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$test_log"
tests/meson-install.sh

# One closing line for the whole run, summed over every cargo test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "all tests: %d passed, %d failed\n", passed, failed }' "$test_log"
