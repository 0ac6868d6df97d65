#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: `gst-replay run` on its defaults
# (the screen where a display exists, else the test pattern; the best working encoder)
# with a 5 s ring, stopped after 8 s with a final save. Prints where the clip went.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-debian.sh

cargo build --release --locked -p gst-replay
mkdir -p replays
echo "Recording for 8 seconds; the last 5 are saved to replays/ ..." >&2
# Ctrl-C after 8 s: --save-on-exit writes the ring before stopping.
timeout --preserve-status -s INT 8 target/release/gst-replay run \
  --duration 5s --save-on-exit --output-dir replays --hotkey none "$@"
