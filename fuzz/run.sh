#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a bounded time; fails if any input crashes.
#
#   fuzz/run.sh                          every target for 8 s (what scripts/test.sh runs)
#   fuzz/run.sh --seconds 3600           every target for an hour: the long run
#   fuzz/run.sh --seconds 600 mp4_movie nal_units
#   fuzz/run.sh --sanitizer address      with AddressSanitizer (about 4 times slower)
#
# Seeds come from fuzz/corpus/<target>/, and every input in fuzz/regressions/<target>/
# is replayed first. Inputs the fuzzer finds go to fuzz/target/corpus/<target>/ (kept
# between runs, not committed); crashing inputs to fuzz/artifacts/<target>/. See
# docs/reliability-fuzzing.md.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz_dir"

# Pinned so a new cargo-fuzz release cannot change a CI run.
cargo_fuzz_version="0.13.2"
seconds=8
# No sanitizer by default: the code under test is safe Rust, whose memory errors are
# already panics, and without AddressSanitizer the build needs no unstable rustc options
# and each input runs about 4 times faster. Overflow checks and debug assertions stay on.
sanitizer=none
targets=()
while (($#)); do
  case "$1" in
    --seconds)
      seconds=${2:?--seconds needs a number}
      shift 2
      ;;
    --sanitizer)
      sanitizer=${2:?--sanitizer needs a name: none, address, leak, memory or thread}
      shift 2
      ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "fuzz/run.sh: unknown option $1 (see fuzz/run.sh --help)" >&2
      exit 2
      ;;
    *)
      targets+=("$1")
      shift
      ;;
  esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz/run.sh: --seconds wants a whole number of seconds above 0, not '$seconds'" >&2
  exit 2
fi
all_targets=()
for source in fuzz_targets/*.rs; do
  all_targets+=("$(basename "$source" .rs)")
done
if ((${#targets[@]} == 0)); then
  targets=("${all_targets[@]}")
fi
for target in "${targets[@]}"; do
  if [[ ! -f "fuzz_targets/$target.rs" ]]; then
    echo "fuzz/run.sh: no target '$target'; the targets are: ${all_targets[*]}" >&2
    exit 2
  fi
done

if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
  echo "Installing cargo-fuzz $cargo_fuzz_version" >&2
  cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

target_dir="target"
if [[ "$sanitizer" != none ]]; then
  # Sanitizers are unstable rustc options (-Zsanitizer), which this lets the stable
  # toolchain accept. Their own target directory keeps the default build from being
  # rebuilt after them.
  export RUSTC_BOOTSTRAP=1
  target_dir="target/sanitizer-$sanitizer"
fi
build_options=(--sanitizer "$sanitizer" --target-dir "$target_dir")
cargo fuzz build "${build_options[@]}"

started="target/.run-started"
touch "$started"
failed=()
for target in "${targets[@]}"; do
  work_corpus="target/corpus/$target"
  artifacts="artifacts/$target"
  mkdir -p "$work_corpus" "$artifacts"
  corpora=("$work_corpus" "corpus/$target")
  if [[ -d "regressions/$target" ]]; then
    corpora+=("regressions/$target")
  fi
  echo "=== $target: $seconds s" >&2
  log="target/$target.log"
  # libFuzzer adds new inputs to the first corpus directory only; the committed ones are
  # read. A timeout is a crash too: no input should take seconds.
  if cargo fuzz run "${build_options[@]}" "$target" "${corpora[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -artifact_prefix="$artifacts/" \
    -print_final_stats=1 2>"$log"; then
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$log" >&2 || true
  else
    failed+=("$target")
    # The panic and where it happened, without the input's bytes (printed at length).
    grep -E -A12 "panicked at|^==[0-9]+==|ERROR: libFuzzer" "$log" | cut -c1-300 >&2 || tail -n 30 "$log" >&2
  fi
done

if ((${#failed[@]})); then
  echo >&2
  echo "fuzz/run.sh: crashes in: ${failed[*]} (full output in fuzz/target/<target>.log)" >&2
  for target in "${failed[@]}"; do
    find "artifacts/$target" -type f -newer "$started" | while read -r artifact; do
      echo "  reproduce: (cd fuzz && ${RUSTC_BOOTSTRAP:+RUSTC_BOOTSTRAP=1 }cargo fuzz run" \
        "${build_options[*]} $target $artifact)" >&2
    done
  done
  echo "Fix the bug, add a unit test next to the code that crashed, and copy the input" \
    "to fuzz/regressions/<target>/ (docs/reliability-fuzzing.md)." >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, $seconds s each, no crash" >&2
