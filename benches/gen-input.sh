#!/bin/sh
# Generates the benchmark input once and caches it under target/bench-input/ (git-ignored).
# 1080p60 (HEVC: 720p60), GOP 120 (2 s), no B-frames, Annex B. The bench parses it with
# h264parse/h265parse into avc/hvc1 access units; the access-unit delimiters (aud=1) are no
# longer needed for that but stay, so the input is the same as in earlier runs. Content:
# testsrc2 with temporal noise so the encoder really spends the bitrate.
set -eu
cd "$(dirname "$0")/.."
OUT=target/bench-input
mkdir -p "$OUT"
SRC="testsrc2=size=1920x1080:rate=60,noise=alls=12:allf=t+u"
X264="-c:v libx264 -preset ultrafast -g 120 -keyint_min 120 -sc_threshold 0 -bf 0 -x264-params aud=1 -pix_fmt yuv420p"

h264() { # name seconds mbps
    [ -s "$OUT/$1.h264" ] && return 0
    echo "generating $OUT/$1.h264 ($2 s at $3 Mbps)" >&2
    ffmpeg -y -loglevel error -f lavfi -i "$SRC" -t "$2" $X264 -b:v "$3M" -maxrate "$3M" \
        -bufsize "$(($3 * 2))M" -f h264 "$OUT/$1.h264.tmp"
    mv "$OUT/$1.h264.tmp" "$OUT/$1.h264"
}

h264 h264_15M_120s 120 15
h264 h264_2M_20s 20 2
h264 h264_8M_20s 20 8
h264 h264_50M_20s 20 50

# The replay service's load (benches/service.py): 1080p30 H.264 at 8 Mbit/s with AAC, in
# MPEG-TS, what an OBS or encoder box sends over SRT.
if [ ! -s "$OUT/h264_8M_1080p30_60s.ts" ]; then
    echo "generating $OUT/h264_8M_1080p30_60s.ts (1080p30 H.264 8 Mbps + AAC, 60 s)" >&2
    ffmpeg -y -loglevel error -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=12:allf=t+u" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 60 \
        -c:v libx264 -preset ultrafast -g 60 -keyint_min 60 -sc_threshold 0 -bf 0 -pix_fmt yuv420p \
        -b:v 8M -maxrate 8M -bufsize 16M -c:a aac -b:a 128k -f mpegts "$OUT/h264_8M_1080p30_60s.tmp.ts"
    mv "$OUT/h264_8M_1080p30_60s.tmp.ts" "$OUT/h264_8M_1080p30_60s.ts"
fi

# HEVC: 120 s of its own at 720p60 (x265 ultrafast makes ~17 fps of it on 2 cores, ~8 min once;
# 1080p would take ~30 min), 15 Mbps so the file is about as large as the H.264 one.
if [ ! -s "$OUT/hevc_15M_120s.h265" ]; then
    echo "generating $OUT/hevc_15M_120s.h265 (x265 ultrafast, 1280x720, 120 s, ~8 min)" >&2
    ffmpeg -y -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=60,noise=alls=12:allf=t+u" \
        -t 120 -c:v libx265 -preset ultrafast -b:v 15M -maxrate 15M -bufsize 30M -pix_fmt yuv420p \
        -x265-params "keyint=120:min-keyint=120:scenecut=0:bframes=0:open-gop=0:aud=1:log-level=error" \
        -f hevc "$OUT/hevc_15M_120s.h265.tmp"
    mv "$OUT/hevc_15M_120s.h265.tmp" "$OUT/hevc_15M_120s.h265"
fi

# The same 15 Mbps stream as MP4 (input of the FFmpeg remux) and as 10 s MP4 segments
# (input of the FFmpeg concat).
if [ ! -s "$OUT/h264_15M_120s.mp4" ]; then
    ffmpeg -y -loglevel error -framerate 60 -i "$OUT/h264_15M_120s.h264" -c copy \
        "$OUT/h264_15M_120s.tmp.mp4"
    mv "$OUT/h264_15M_120s.tmp.mp4" "$OUT/h264_15M_120s.mp4"
fi
if [ ! -s "$OUT/seg/list.txt" ]; then
    rm -rf "$OUT/seg" && mkdir -p "$OUT/seg"
    ffmpeg -y -loglevel error -i "$OUT/h264_15M_120s.mp4" -c copy -f segment -segment_time 10 \
        -reset_timestamps 1 "$OUT/seg/seg%03d.mp4"
    for f in "$OUT"/seg/seg*.mp4; do echo "file '$(realpath "$f")'"; done >"$OUT/seg/list.tmp"
    mv "$OUT/seg/list.tmp" "$OUT/seg/list.txt"
fi
ls -l "$OUT" >&2
