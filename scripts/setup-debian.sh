#!/usr/bin/env bash
# Installs what gst-replay needs on Debian 12, skipping whatever is already there.
#   scripts/setup-debian.sh          build and run (GStreamer, encoders, Rust)
#   scripts/setup-debian.sh --tests  also what the test suite uses (FFmpeg, Chromium, Meson)
# Meant to be sourced or run as root (or with sudo available).
set -euo pipefail

runtime_packages=(
  build-essential pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # pipewiresrc: Wayland screens come through the desktop portal as PipeWire streams.
  gstreamer1.0-pipewire
)
# FFmpeg and Chromium check saved files by decoding and playing them; Xvfb, xdotool and
# ximagesink (gstreamer1.0-x) give the launcher tests a screen to capture and keys to press;
# a private D-Bus (dbus-daemon, dbus-monitor) shows the desktop notifications it sends;
# a private PulseAudio server (pulseaudio, with pactl from pulseaudio-utils) gives
# `--audio system` a sound server whose output it records. Wayland capture is tested without
# a compositor: a private PipeWire daemon (pipewire, pw-dump and pw-link from pipewire-bin)
# carries the screen, and a fake desktop portal in Python (python3-dbus, python3-gi) hands it
# out. The service's ingest tests pull RTSP from a test server written with gst-rtsp-server's
# GI bindings (gir1.2-gst-rtsp-server-1.0, run by Debian's /usr/bin/python3 with python3-gi).
test_packages=(ffmpeg meson ninja-build chromium python3 python3-websocket xvfb xdotool gstreamer1.0-x dbus-daemon dbus-bin
  pulseaudio pulseaudio-utils pipewire pipewire-bin python3-dbus python3-gi gir1.2-gst-rtsp-server-1.0)
# gstreamer-rs 0.25 needs a recent Rust; Debian 12's rustc is too old.
minimum_rust="1.92"

wanted=("${runtime_packages[@]}")
if [[ "${1:-}" == "--tests" ]]; then
  wanted+=("${test_packages[@]}")
fi

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if (( ${#missing[@]} )); then
  echo "Installing: ${missing[*]}" >&2
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

rust_is_recent() {
  command -v cargo >/dev/null || return 1
  local version
  version=$(rustc --version | awk '{print $2}')
  [[ "$(printf '%s\n%s\n' "$minimum_rust" "$version" | sort -V | head -n1)" == "$minimum_rust" ]]
}

if [[ -f "$HOME/.cargo/env" ]]; then
  # shellcheck disable=SC1091
  source "$HOME/.cargo/env"
fi
if ! rust_is_recent; then
  if command -v rustup >/dev/null; then
    rustup toolchain install stable --profile minimal
    rustup default stable
  else
    echo "Installing Rust with rustup (Rust >= $minimum_rust is needed)" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl ca-certificates
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
  fi
fi
