#!/usr/bin/env bash
# Writes the seed corpora under fuzz/corpus/<target>/: small real inputs made by
# GStreamer's encoders (what the plugin receives) and hand-made edge cases taken from
# the unit tests. The seeds are committed; run this only to remake them. It needs
# gst-launch-1.0 with x264enc, x265enc, h264parse, h265parse, opusenc and avenc_aac
# (scripts/setup-debian.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Bytes from hex digits (spaces allowed), without xxd, which a fresh machine may lack.
unhex() {
  local hex=${1// /} escaped=""
  for ((i = 0; i < ${#hex}; i += 2)); do
    escaped+="\\x${hex:i:2}"
  done
  printf '%b' "$escaped"
}

# seed TARGET NAME HEX: a seed of the given bytes.
seed() {
  mkdir -p "corpus/$1"
  unhex "$3" >"corpus/$1/$2"
}

# seed_with_prefix TARGET NAME PREFIX_HEX FILE: the prefix bytes (the target's selector
# bytes), then the file.
seed_with_prefix() {
  mkdir -p "corpus/$1"
  { unhex "$3"; cat "$4"; } >"corpus/$1/$2"
}

# The hex of one buffer field in the caps gst-launch-1.0 -v prints (the first buffer of
# a list), e.g. codec_data or streamheader.
caps_buffer() {
  local field=$1
  shift
  gst-launch-1.0 -v "$@" 2>&1 | grep -o "$field=(buffer)[< ]*[0-9a-f]*" | head -n1 |
    sed 's/.*(buffer)[< ]*//'
}

# One keyframe and one P-frame access unit per codec, as h264parse/h265parse hand them to
# the plugin (in-band parameter sets kept, so stripping has something to do); 64x64 keeps
# them small.
encode() {
  local codec=$1 format=$2 encoder=$3 parser=$4 stream_format=$5 name=$6
  gst-launch-1.0 -q videotestsrc num-buffers=2 ! "video/x-raw,width=64,height=64,format=$format" \
    ! $encoder ! "$parser" config-interval=-1 \
    ! "video/x-$codec,stream-format=$stream_format,alignment=au" \
    ! multifilesink location="$scratch/$name-%d.bin"
}
encode h264 I420 "x264enc key-int-max=2 bframes=0" h264parse avc h264-avc
encode h265 I420 "x265enc key-int-max=2" h265parse hvc1 h265-hvc1

# nal_units: NAL length size, flags (1: H.265, 2: strip parameter sets), access unit.
seed_with_prefix nal_units h264-avc-keyframe "04 00" "$scratch/h264-avc-0.bin"
seed_with_prefix nal_units h264-avc-keyframe-strip "04 02" "$scratch/h264-avc-0.bin"
seed_with_prefix nal_units h264-avc-pframe "04 00" "$scratch/h264-avc-1.bin"
seed_with_prefix nal_units h265-hvc1-keyframe-strip "04 03" "$scratch/h265-hvc1-0.bin"
seed_with_prefix nal_units h265-hvc1-pframe "04 01" "$scratch/h265-hvc1-1.bin"
seed nal_units one-byte-lengths "01 00 03 67 42 00 02 68 ce 02 65 88"
seed nal_units two-byte-lengths "02 01 00 03 40 01 0c 00 02 26 01"

# decoder_config: flags (1: H.265), then the record h264parse/h265parse put in the caps.
seed decoder_config avcC "00 $(caps_buffer codec_data videotestsrc num-buffers=1 \
  ! video/x-raw,width=64,height=64 ! x264enc ! h264parse ! video/x-h264,stream-format=avc ! fakesink)"
seed decoder_config hvcC "01 $(caps_buffer codec_data videotestsrc num-buffers=1 \
  ! video/x-raw,width=64,height=64 ! x265enc ! h265parse ! video/x-h265,stream-format=hvc1 ! fakesink)"

# opus_head: the OpusHead opusenc puts first in its caps' streamheader.
for channels in 1 2 6; do
  seed opus_head "opusenc-$channels-channels" "$(caps_buffer streamheader audiotestsrc num-buffers=1 \
    ! "audio/x-raw,channels=$channels,rate=48000" ! opusenc ! fakesink)"
done
# Family 255 with a silent channel (mp4/audio_tests.rs).
seed opus_head family-255 "4f 70 75 73 48 65 61 64 01 03 38 01 80 bb 00 00 00 00 ff 02 01 00 01 ff"

# audio_specific_config: avenc_aac's codec_data, and the unit tests' edge cases.
seed audio_specific_config avenc-aac-stereo "$(caps_buffer codec_data audiotestsrc num-buffers=3 \
  ! audio/x-raw,channels=2,rate=48000 ! avenc_aac ! fakesink)"
seed audio_specific_config lc-44100-stereo "12 10"
seed audio_specific_config explicit-frequency "17 80 5d c0 10"
seed audio_specific_config escaped-object-type "f9 46 40"

# control_request: request lines as clients send them.
seed control_request save-all-fields "$(printf '%s' '{"command":"save","last_ns":30000000000,"post_ns":5000000000,"clear":true,"path":"/tmp/clip.mp4"}' | od -An -tx1 | tr -d '\n')"
seed control_request save-bare "$(printf '%s\n' '{"command":"save"}' | od -An -tx1 | tr -d '\n')"
seed control_request status "$(printf '%s\n' '{"command":"status"}' | od -An -tx1 | tr -d '\n')"

# presets_toml: the built-in table and a user file overriding and adding presets.
mkdir -p corpus/presets_toml
cp ../launcher/src/presets.toml corpus/presets_toml/built-in.toml
cat >corpus/presets_toml/override.toml <<'EOF'
[[preset]]
name = "high"
rate_control = "cbr"
bitrate_kbps = 20000
tune = "low-latency"

[[preset]]
name = "archive"
rate_control = "constqp"
qp = 18
gop_seconds = 1
bframes = 2
ref_frames = 4
lookahead = 8
nvenc_preset = "p7"
tune = "high-quality"
EOF

# mp4_movie reads its input with `arbitrary`, so any bytes are a movie; a few fixed
# patterns start it off.
mkdir -p corpus/mp4_movie
for pattern in 00 01 7f ff; do
  for _ in $(seq 64); do unhex "$pattern"; done >"corpus/mp4_movie/repeated-$pattern"
done

du -sh corpus
