#!/bin/sh
# Where a save's time goes: perf (cpu-clock sampling, which works without hardware
# counters) over eight saves of a full 120 s ring to tmpfs, the save thread's symbols first.
#
#   benches/profile-save.sh            # this tree
#   benches/profile-save.sh 0d7b4a1^   # an earlier revision, measured by this tree's driver
#
# Prints the top symbols of the thread that writes the clips (replayring-save) and of the
# hashing thread; the numbers in docs/benchmarks.md's notes come from it.
set -eu
REV=${1:-}
cd "$(dirname "$0")/.."
ROOT=$PWD
IN=target/bench-input
benches/gen-input.sh >&2
TREE=$ROOT/target/profile-tree
if [ -n "$REV" ]; then BIN=$(benches/driver.sh "$REV" "$TREE"); else BIN=$(benches/driver.sh); fi
DIR=${BENCH_TMPFS:-/dev/shm/replay-bench}
mkdir -p "$DIR"
DATA=target/bench-results/perf-save.data
perf record -q -F 1999 -g -o "$DATA" "$BIN" save --input $IN/h264_15M_120s.h264 --dir "$DIR" \
    --target tmpfs --ring-seconds 120 --runs 8 >/dev/null 2>&1
# (perf report's --comm filter mislabels call-graph samples; sorting by thread is reliable.)
perf report -i "$DATA" --no-children -g none --sort comm,sym --stdio 2>/dev/null >"$DATA.txt"
for THREAD in replayring-save replayring-sha2; do
    echo "== $THREAD"
    grep -E "^ +[0-9.]+% +$THREAD " "$DATA.txt" | head -12
done
if [ -n "$REV" ]; then git worktree remove --force "$TREE"; fi
