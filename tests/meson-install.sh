#!/usr/bin/env bash
# Builds and installs through meson into a staging directory, then loads the installed
# plugin with gst-inspect-1.0 and runs the installed launcher: what a package would do.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(mktemp -d)
stage_dir=$(mktemp -d)
trap 'rm -rf "$build_dir" "$stage_dir"' EXIT

meson setup --prefix /usr/local "$build_dir" >/dev/null
meson compile -C "$build_dir"
meson install -C "$build_dir" --destdir "$stage_dir" >/dev/null
plugin_dir="$stage_dir$(pkg-config --variable=pluginsdir gstreamer-1.0)"
test -f "$plugin_dir/libgstreplay.so" || { echo "meson did not install libgstreplay.so into $plugin_dir" >&2; exit 1; }
for element in replayring mp4passmux; do
  GST_PLUGIN_PATH="$plugin_dir" GST_REGISTRY="$build_dir/registry.bin" gst-inspect-1.0 "$element" >/dev/null \
    || { echo "gst-inspect-1.0 cannot load $element from the meson-installed plugin" >&2; exit 1; }
done
launcher="$stage_dir/usr/local/bin/gst-replay"
test -x "$launcher" || { echo "meson did not install gst-replay into $stage_dir/usr/local/bin" >&2; exit 1; }
"$launcher" --version >/dev/null
"$launcher" presets >/dev/null
echo "meson: built and installed; gst-inspect-1.0 loads replayring and mp4passmux from $plugin_dir; $launcher runs"
