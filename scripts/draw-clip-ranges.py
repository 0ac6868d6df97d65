#!/usr/bin/env python3
"""Draws docs/clip-ranges.png: what each kind of save takes from the ring.

Run: /usr/bin/python3 scripts/draw-clip-ranges.py  (needs python3-matplotlib)

The timeline is a 60 s ring with a keyframe every 4 s and "now" at 60 s. Each row is one
save: the presented range (solid), the decode-only lead-in from the keyframe before it
(hatched), and the part captured after the request (post-roll, lighter).
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

NOW = 60.0
GOP = 4.0
RING_START = 4.0  # the oldest keyframe still buffered

# (label, presented start, presented end, note)
ROWS = [
    ("save(20 s)", NOW - 20, NOW, "the last 20 s"),
    ("save-range(30 s, 10 s)", NOW - 30, NOW - 10, "30 s ago to 10 s ago"),
    ("save(20 s), post-roll 10 s", NOW - 20, NOW + 10, "written once 70 s is captured"),
    ("clear-on-save: 1st save(15 s) at 45 s", 30.0, 45.0, "ring lets go of what it saved"),
    ("clear-on-save: 2nd save(30 s) at 60 s", 45.0, NOW, "starts where the 1st ended"),
]


def lead_in_start(start):
    """The keyframe a clip starting at `start` decodes from."""
    return max(RING_START, (start // GOP) * GOP)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "docs", "clip-ranges.png")
    fig, ax = plt.subplots(figsize=(10, 4.8), dpi=110)
    rows = len(ROWS)
    # The ring itself, with its keyframes.
    ring_y = rows
    ax.broken_barh([(RING_START, NOW - RING_START)], (ring_y - 0.3, 0.6),
                   facecolors="#d9d9d9", edgecolors="#808080")
    for k in range(int(RING_START), int(NOW) + 1, int(GOP)):
        ax.plot([k, k], [ring_y - 0.3, ring_y + 0.3], color="#404040", linewidth=1)
    ax.text(RING_START - 0.5, ring_y, "ring (keyframe every 4 s)", ha="right", va="center",
            fontsize=8)

    for index, (label, start, end, note) in enumerate(ROWS):
        y = rows - 1 - index
        lead = lead_in_start(start)
        if lead < start:
            ax.broken_barh([(lead, start - lead)], (y - 0.3, 0.6), facecolors="white",
                           edgecolors="#3b6ea5", hatch="///")
        captured = min(end, NOW) - start
        ax.broken_barh([(start, captured)], (y - 0.3, 0.6), facecolors="#3b6ea5")
        if end > NOW:
            ax.broken_barh([(NOW, end - NOW)], (y - 0.3, 0.6), facecolors="#9fc0e6",
                           edgecolors="#3b6ea5")
        ax.text(RING_START - 0.5, y, label, ha="right", va="center", fontsize=8)
        ax.text(end + 0.5, y, note, ha="left", va="center", fontsize=7, color="#404040")

    ax.axvline(NOW, color="#c0392b", linewidth=1.5)
    ax.text(NOW, rows + 0.55, "now (request)", color="#c0392b", ha="center", fontsize=8)
    ax.set_xlim(-22, 95)
    ax.set_ylim(-0.8, rows + 0.9)
    ax.set_yticks([])
    ax.set_xticks(range(0, 71, 10))
    ax.set_xlabel("stream time (s)")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.legend(handles=[
        Patch(facecolor="#3b6ea5", label="presented (exact to the frame)"),
        Patch(facecolor="white", edgecolor="#3b6ea5", hatch="///",
              label="decoded, not shown (edit list)"),
        Patch(facecolor="#9fc0e6", edgecolor="#3b6ea5", label="post-roll: captured after"),
    ], loc="upper center", bbox_to_anchor=(0.55, -0.18), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out, metadata={"Software": None})
    print(out)


if __name__ == "__main__":
    main()
