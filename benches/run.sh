#!/bin/sh
# The replayring benchmark suite: one command runs it all.
#
#   benches/run.sh            # full run (about 10 minutes on 2 cores, plus the one-time input;
#                             # then benches/launcher.sh, about 3 minutes)
#   benches/run.sh --quick    # fewer runs and sizes (a few minutes), same table
#
# Generates the input once (target/bench-input/, git-ignored), builds the bench driver
# (benches/replay/, release), runs every measurement with the comparisons taken in the
# same process or the same run, writes the raw results to target/bench-results/results.jsonl,
# then benches/report.py prints the table and writes docs/benchmarks.md and docs/benchmarks/*.png.
# Needs: ffmpeg (libx264, libx265), GStreamer 1.22 with x264/x265 and good plugins, valgrind,
# python3-matplotlib, wrk (apt-get install ffmpeg valgrind python3-matplotlib wrk).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
: "${CARGO_TARGET_DIR:=$ROOT/target}"
export CARGO_TARGET_DIR
IN=target/bench-input
TMPFS=${BENCH_TMPFS:-/dev/shm/replay-bench}
DISK=${BENCH_DISK:-$ROOT/target/bench-out}
RES=target/bench-results
mkdir -p "$RES" "$TMPFS" "$DISK"
OUT=$RES/results.jsonl
: >"$OUT"

if [ $QUICK = 1 ]; then
    RUNS=3; SIZES="15 600"; RATES="2 50"; STEADY_RUNS=5; FILL_RUNS=3; MEM_RUNS=2
    STALL_RUNS=2; MANY_RINGS=10; MANY_LIVE=5; MANY_RUNS=1; CG_FRAMES=1500
    SERVICE_SESSIONS=5; SERVICE_SAVES=10
else
    RUNS=5; SIZES="15 30 60 300 600"; RATES="2 8 50"; STEADY_RUNS=9; FILL_RUNS=5; MEM_RUNS=3
    STALL_RUNS=3; MANY_RINGS=50; MANY_LIVE=20; MANY_RUNS=3; CG_FRAMES=3000
    SERVICE_SESSIONS=20; SERVICE_SAVES=40
fi

benches/gen-input.sh
BIN=$(benches/driver.sh)
H264=$IN/h264_15M_120s.h264
step() { echo "== $*" >&2; }
machine() {
    printf '{"bench": "machine", "cpu": "%s", "cores": %s, "kernel": "%s", "gst": "%s", "ffmpeg": "%s", "disk_fs": "%s", "quick": %s, "date": "%s"}\n' \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" "$(uname -r)" \
        "$(gst-launch-1.0 --version | sed -n 's/.*version //p' | head -1)" \
        "$(ffmpeg -version | head -1 | cut -d' ' -f3)" "$(df -T "$DISK" | awk 'NR==2{print $2}')" \
        "$QUICK" "$(date -u +%FT%TZ)" >>"$OUT"
}
machine

step "1. save latency, full 120 s ring at 15 Mbps, with and without SHA-256, against the limit / cp / FFmpeg / mp4mux"
# The bench hands replayring what h264parse/h265parse negotiate with it: avc/hvc1.
for T in tmpfs disk; do
    D=$TMPFS; [ $T = disk ] && D=$DISK
    "$BIN" save --input $H264 --dir "$D" --target $T --label main --ring-seconds 120 \
        --runs $RUNS --mp4 $IN/h264_15M_120s.mp4 --concat $IN/seg/list.txt --mp4mux >>"$OUT"
    "$BIN" save --input $IN/hevc_15M_120s.h265 --dir "$D" --target $T --label hevc \
        --ring-seconds 120 --runs $RUNS --mp4mux >>"$OUT"
done
step "1b. save latency over ring sizes and bitrates"
for T in tmpfs disk; do
    D=$TMPFS; [ $T = disk ] && D=$DISK
    for S in $SIZES; do
        "$BIN" save --input $H264 --dir "$D" --target $T --label size \
            --ring-seconds $S --runs 3 >>"$OUT"
    done
    for R in $RATES; do
        "$BIN" save --input $IN/h264_${R}M_20s.h264 --dir "$D" --target $T \
            --label rate --ring-seconds 120 --runs 3 >>"$OUT"
    done
done

step "2. streaming-thread cost per frame in steady state (10 s ring fed 120 s)"
# gst-plugins-rs gopbuffer (+ fakesink) is the reference.
"$BIN" steady --input $H264 --sinks fakesink,replayring,gopbuffer --ring-seconds 10 \
    --warm-seconds 20 --loops 5 --runs $STEADY_RUNS >>"$OUT"
step "2b. the same under callgrind (instructions per frame)"
for SINK in fakesink replayring gopbuffer; do
    # Only the measured pushes are counted (frames - 600 warm-up frames).
    valgrind --tool=callgrind --toggle-collect='*measured_pushes*' \
        --callgrind-out-file=$RES/callgrind.$SINK.out "$BIN" steady --input $H264 \
        --max-frames $CG_FRAMES --sinks $SINK --ring-seconds 5 \
        --warm-seconds 10 --runs 1 >/dev/null 2>$RES/callgrind.$SINK.log
    IR=$(sed -n 's/^summary: //p' $RES/callgrind.$SINK.out)
    echo "{\"bench\": \"callgrind\", \"format\": \"avc\", \"sink\": \"$SINK\", \"frames\": $((CG_FRAMES - 600)), \"ir\": $IR}" >>"$OUT"
done
step "2d. CPU per frame in a whole pipeline: filesrc ! qtdemux ! h264parse ! sink"
"$BIN" pipeline --mp4 $IN/h264_15M_120s.mp4 --sinks fakesink,replayring,gopbuffer \
    --ring-seconds 10 --runs $STEADY_RUNS >>"$OUT"
step "2c. filling an empty ring with freshly allocated frames (one process per run)"
for i in $(seq $FILL_RUNS); do
    "$BIN" fill --input $H264 --sink fakesink --ring-seconds 10 >>"$OUT"
    "$BIN" fill --input $H264 --sink replayring --ring-seconds 150 >>"$OUT"
    "$BIN" fill --input $H264 --sink replayring --ring-seconds 10 >>"$OUT"
done

step "3. memory with a full ring; max-bytes; gopbuffer fed the same way"
for i in $(seq $MEM_RUNS); do
    for S in 120 60; do
        "$BIN" memory --input $H264 --sink replayring --ring-seconds $S >>"$OUT"
        "$BIN" memory --input $H264 --sink gopbuffer --ring-seconds $S >>"$OUT"
    done
    "$BIN" memory --input $H264 --ring-seconds 120 --max-bytes 104857600 >>"$OUT"
done

step "4. stalls: live 60 fps while a full-ring save runs"
"$BIN" stall --input $H264 --dir "$TMPFS" --target tmpfs --runs $STALL_RUNS >>"$OUT"
"$BIN" stall --input $H264 --dir "$DISK" --target disk --runs $STALL_RUNS >>"$OUT"

step "5. $MANY_RINGS rings of 8 Mbps x 120 s in one process, fed in real time"
for i in $(seq $MANY_RUNS); do
    "$BIN" many --input $IN/h264_8M_20s.h264 --sink fakesink --rings $MANY_RINGS \
        --ring-seconds 120 --live-seconds $MANY_LIVE >>"$OUT"
    "$BIN" many --input $IN/h264_8M_20s.h264 --sink replayring --rings $MANY_RINGS \
        --ring-seconds 120 --live-seconds $MANY_LIVE >>"$OUT"
done

step "6. the replay service: $SERVICE_SESSIONS SRT sessions of 1080p30 at 8 Mbps, against FFmpeg and splitmuxsink"
cargo build --release -p gst-replay >/dev/null 2>&1 || { echo "build failed: cargo build --release -p gst-replay" >&2; exit 1; }
BENCH_DISK="$DISK" /usr/bin/python3 benches/service.py --bin "$CARGO_TARGET_DIR/release/gst-replay" \
    --input $IN/h264_8M_1080p30_60s.ts --sessions $SERVICE_SESSIONS --saves $SERVICE_SAVES >>"$OUT"

rm -rf "$TMPFS" "$DISK"
/usr/bin/python3 benches/report.py "$OUT"

# 6. End to end with the launcher's own pipelines (docs/benchmarks-launcher.md).
if [ "$QUICK" = 0 ]; then
    benches/launcher.sh
fi
