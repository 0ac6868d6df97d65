#!/usr/bin/env bash
# meson's bridge to cargo: builds one package and copies one artifact to meson's output.
#   cargo-artifact.sh CARGO PROFILE TARGET_DIR PACKAGE ARTIFACT OUTPUT
set -euo pipefail
cargo=$1 profile=$2 target_dir=$3 package=$4 artifact=$5 output=$6
source_root=$(cd "$(dirname "$0")/.." && pwd)
profile_flag=()
[[ "$profile" == release ]] && profile_flag=(--release)
"$cargo" build --locked --manifest-path "$source_root/Cargo.toml" --target-dir "$target_dir" \
  -p "$package" "${profile_flag[@]}"
cp "$target_dir/$profile/$artifact" "$output"
