#!/bin/sh
# Builds the bench driver (benches/replay/, release) and prints the path of its executable.
#
#   BIN=$(benches/driver.sh)                       # this tree
#   BIN=$(benches/driver.sh REV target/some-tree)  # REV's plugin, in a worktree at that path
#
# For REV, the worktree gets this tree's benches/ copied in, so an older plugin is measured
# by today's driver; remove it with `git worktree remove --force PATH` when done.
set -eu
REV=${1:-}
cd "$(dirname "$0")/.."
TREE=$PWD
if [ -n "$REV" ]; then
    TREE=${2:?usage: benches/driver.sh [REV WORKTREE]}
    git worktree remove --force "$TREE" 2>/dev/null || rm -rf "$TREE"
    git worktree add --detach "$TREE" "$REV" >/dev/null
    rm -rf "$TREE/benches" && cp -r benches "$TREE/benches"
    # Today's driver times the SHA-256 of the bytes with the sha2 crate, which older plugins
    # did not depend on.
    grep -q '^sha2' "$TREE/plugins/replay/Cargo.toml" ||
        sed -i 's/^\[dev-dependencies\]$/[dev-dependencies]\nsha2 = "0.11"/' "$TREE/plugins/replay/Cargo.toml"
    export CARGO_TARGET_DIR="$TREE/target"
fi
echo "building the bench driver${REV:+ of $REV}..." >&2
BIN=$(cd "$TREE" && cargo build --release -p gst-plugin-replay --bench replay \
    --message-format=json 2>/dev/null | /usr/bin/python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "replay" and m.get("executable"):
        print(m["executable"])')
[ -x "$BIN" ] || { echo "build failed: cargo build --release -p gst-plugin-replay --bench replay${REV:+ (in $TREE)}" >&2; exit 1; }
echo "$BIN"
