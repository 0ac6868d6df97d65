#!/bin/sh
# Save latency of an earlier revision of the plugin, measured by today's bench driver in the
# same way as benches/run.sh measures the current one, so the two can be set side by side
# (report.py reads target/bench-results/before.jsonl when it is there).
#
#   benches/before-after.sh 0d7b4a1^      # the plugin before the gather-list writer
#
# Builds REV's plugin in a worktree under target/ with this tree's benches/ copied in, then
# runs the full-ring saves of benches/run.sh's sections 1 and 1b (tmpfs and disk).
set -eu
REV=${1:?usage: benches/before-after.sh REV}
cd "$(dirname "$0")/.."
ROOT=$PWD
TREE=$ROOT/target/before-tree
IN=target/bench-input
TMPFS=${BENCH_TMPFS:-/dev/shm/replay-bench}
DISK=${BENCH_DISK:-$ROOT/target/bench-out}
OUT=target/bench-results/before.jsonl
mkdir -p target/bench-results "$TMPFS" "$DISK"
benches/gen-input.sh
BIN=$(benches/driver.sh "$REV" "$TREE")
: >"$OUT"
for T in tmpfs disk; do
    D=$TMPFS; [ $T = disk ] && D=$DISK
    "$BIN" save --input $IN/h264_15M_120s.h264 --dir "$D" --target $T --label main \
        --ring-seconds 120 --runs 5 >>"$OUT"
    "$BIN" save --input $IN/hevc_15M_120s.h265 --dir "$D" --target $T --label hevc \
        --ring-seconds 120 --runs 5 >>"$OUT"
    for S in 15 600; do
        "$BIN" save --input $IN/h264_15M_120s.h264 --dir "$D" --target $T --label size \
            --ring-seconds $S --runs 3 >>"$OUT"
    done
done
git worktree remove --force "$TREE"
echo "wrote $OUT" >&2
