#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: a live test pattern encoded with
# x264 into a replay ring, then the last 5 seconds saved to MP4 without re-encoding.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh

cargo run --release --locked -p gst-plugin-replay --example save_replay -- "$@"
