#!/usr/bin/env bash
# Installs what is missing, then runs every test: formatting, lints, unit, property and
# end-to-end tests (real encoders, files checked by decoding them), then a short fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh --tests

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The launcher's Windows code, type-checked and linted; nothing Windows runs here, and nothing
# is linked, so Linux's GStreamer .pc files do. Only rustup can add the Windows standard
# library; on a machine that cannot reach its download servers the check is skipped, and says
# so. About a minute from nothing, a few seconds after that.
windows_target=x86_64-pc-windows-gnu
if rustup target list --installed 2>/dev/null | grep -qx "$windows_target" \
  || rustup target add "$windows_target" >/dev/null 2>&1; then
  PKG_CONFIG_ALLOW_CROSS=1 CARGO_TARGET_DIR=target/windows \
    cargo clippy --target "$windows_target" -p gst-replay --all-targets --locked -- -D warnings
else
  echo "skipped: the Windows check (rustup could not add $windows_target)" >&2
fi
# The shared library is what gst-inspect-1.0 and gst-launch-1.0 load; cargo test does not link it.
cargo build --workspace --locked
test_log=$(mktemp)
trap 'rm -f "$test_log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$test_log"
tests/meson-install.sh
# Fuzz targets of the parsers and the MP4 writer, 8 s each (docs/reliability-fuzzing.md).
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
fuzz/run.sh

# One closing line for the whole run, summed over every cargo test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "all tests: %d passed, %d failed\n", passed, failed }' "$test_log"
