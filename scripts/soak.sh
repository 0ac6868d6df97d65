#!/usr/bin/env bash
# Soak test: `gst-replay run` on the test pattern at 60 fps for a long time, with a save
# every 10 s, checking that every save succeeds and decodes and that memory, open files and
# threads stay flat. Prints a summary and writes it, with per-minute samples, to the output
# directory.
#
#   scripts/soak.sh [--minutes N] [--every SECONDS] [--size WxH] [--fps N] [--duration D]
#                   [--binary PATH] [--out DIR] [--keep-clips]
#
#   --minutes N      how long to capture (default 60)
#   --every SECONDS  time between saves (default 10)
#   --size WxH       test pattern size (default 1280x720)
#   --fps N          frame rate (default 60)
#   --duration D     the ring's length, as `gst-replay run --duration` takes it (default 30s)
#   --binary PATH    the gst-replay to run (default: build target/release/gst-replay)
#   --out DIR        where logs and clips go (default: a new directory under /tmp)
#   --keep-clips     keep every clip (default: each is deleted once checked, so an hour
#                    of saves does not fill the disk)
#
# Exit status 0 when every save succeeded and decoded and the run stopped cleanly.
# "start" in the summary is taken once the ring is full (after --duration plus one save
# interval), so the ring's own growth is not counted as a leak; "launch" is also shown.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=60
every=10
size=1280x720
fps=60
duration=30s
binary=""
out=""
keep_clips=false
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep-clips) keep_clips=true; shift ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1; see --help" >&2; exit 2 ;;
  esac
done

for tool in ffprobe; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install ffmpeg)" >&2; exit 1; }
done
if [[ -z "$binary" ]]; then
  cargo build --release --locked -p gst-replay
  binary=target/release/gst-replay
fi
if [[ -z "$out" ]]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/gst-replay-soak-$(date +%Y%m%d-%H%M%S)-XXXX")
fi
mkdir -p "$out/clips"
socket="$out/control.sock"
events="$out/events.jsonl"
samples="$out/samples.tsv"
summary="$out/summary.txt"

# Seconds in a `--duration` value such as 30, 30s, 2m, 1h.
seconds_of() {
  local value=$1
  case "$value" in
    *h) echo $(( ${value%h} * 3600 )) ;;
    *m) echo $(( ${value%m} * 60 )) ;;
    *s) echo "${value%s}" ;;
    *) echo "$value" ;;
  esac
}
ring_seconds=$(seconds_of "$duration")

"$binary" run --source test --audio none --fps "$fps" --screen-size "$size" \
  --duration "$duration" --output-dir "$out/clips" --socket "$socket" --hotkey none --quiet \
  >"$events" 2>"$out/run.log" &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null || true' EXIT

for _ in $(seq 600); do
  grep -q "^Pipeline:" "$out/run.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$out/run.log" >&2; exit 1; }
  sleep 0.1
done

# "rss_kib fds threads" of the run, from /proc.
measure() {
  local rss threads fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
  fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "$rss $fds $threads"
}

mib() { awk -v kib="$1" 'BEGIN { printf "%.1f", kib / 1024 }'; }

json_field() { # json_field NAME LINE: a string or number field of a flat JSON line
  sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\)\"\{0,1\}[,}].*/\1/p" <<<"$2"
}

launch=$(measure)
echo -e "elapsed_s\trss_kib\tfds\tthreads\tsaved\tfailed" >"$samples"
started=$(date +%s)
end=$((started + minutes * 60))
warm_at=$((started + ring_seconds + every))
warm=""
saved=0
failed=0
bad_clips=0
next_save=$((started + every))
next_sample=$started
while (($(date +%s) < end)); do
  now=$(date +%s)
  if ((now >= next_sample)); then
    read -r rss fds threads <<<"$(measure)"
    echo -e "$((now - started))\t$rss\t$fds\t$threads\t$saved\t$failed" >>"$samples"
    next_sample=$((next_sample + 60))
  fi
  if ((now >= next_save)); then
    next_save=$((next_save + every))
    reply=$("$binary" save --socket "$socket" 2>>"$out/save-errors.log" || true)
    if [[ "$(json_field event "$reply")" != saved ]]; then
      failed=$((failed + 1))
      echo "save failed: $reply" | tee -a "$out/failures.log" >&2
      continue
    fi
    saved=$((saved + 1))
    clip=$(json_field path "$reply")
    frames=$(json_field frames "$reply")
    # -count_frames decodes the whole clip; any decoder complaint is on stderr.
    probed=$(ffprobe -v error -count_frames -select_streams v:0 \
      -show_entries stream=nb_read_frames -of csv=p=0 "$clip" 2>"$out/ffprobe.err" || true)
    if [[ "$probed" != "$frames" || -s "$out/ffprobe.err" ]]; then
      bad_clips=$((bad_clips + 1))
      { echo "bad clip $clip: reported $frames frames, decoded ${probed:-none}"; cat "$out/ffprobe.err"; } \
        | tee -a "$out/failures.log" >&2
    elif ! $keep_clips; then
      rm -f "$clip"
    fi
    if [[ -z "$warm" ]] && (($(date +%s) >= warm_at)); then
      warm=$(measure)
    fi
  fi
  sleep 0.2
done

final=$(measure)
peak_rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
kill -INT "$pid"
trap - EXIT
status=0
wait "$pid" || status=$?
leftovers=$(find "$out/clips" -name '.*.part' | wc -l)
events_saved=$(grep -c '"event":"saved"' "$events" || true)

read -r launch_rss launch_fds launch_threads <<<"$launch"
read -r warm_rss warm_fds warm_threads <<<"${warm:-$launch}"
read -r end_rss end_fds end_threads <<<"$final"
{
  echo "gst-replay soak: $minutes min of ${size}@${fps} test pattern, ring $duration, a save every ${every} s"
  echo "binary: $binary ($("$binary" --version))"
  echo "saves: $saved saved, $failed failed; $bad_clips clips did not decode as reported; $events_saved JSON events"
  printf "%-7s %10s %6s %8s\n" "" "RSS MiB" "fds" "threads"
  printf "%-7s %10s %6d %8d\n" launch "$(mib $launch_rss)" "$launch_fds" "$launch_threads"
  printf "%-7s %10s %6d %8d\n" start "$(mib $warm_rss)" "$warm_fds" "$warm_threads"
  printf "%-7s %10s %6d %8d\n" end "$(mib $end_rss)" "$end_fds" "$end_threads"
  printf "peak RSS %s MiB; exit status %d; %d temporary files left\n" \
    "$(mib $peak_rss)" "$status" "$leftovers"
  echo "per-minute samples: $samples"
} | tee "$summary"

((failed == 0 && bad_clips == 0 && status == 0 && leftovers == 0 && events_saved == saved))
