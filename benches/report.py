#!/usr/bin/python3
"""Turns target/bench-results/results.jsonl (benches/run.sh) into a table on stdout,
docs/benchmarks.md and docs/benchmarks/*.png. Every figure is a median over runs; every
comparison is a ratio of two measurements taken in the same run (same process, back to back)."""

import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1048576.0


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def sel(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def verdict(ok):
    return "**met**" if ok else "**missed**"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/bench-results/results.jsonl")
    rows = load(path)
    figdir = os.path.join(ROOT, "docs/benchmarks")
    os.makedirs(figdir, exist_ok=True)
    machine = (sel(rows, bench="machine") or [{}])[0]
    summary = []  # (measure, target, result, verdict)
    md = []

    # ---------------------------------------------------------------- 1. save latency
    md.append("## 1. Save latency (request to closed, fsynced file)\n")
    md.append(
        "A full ring is saved with the `save` signal; the time runs from the emission to the "
        "`replay-saved` message (the file is synced and renamed by then); `ring-sha256` is the "
        "same save with `sha256=true`. `limit` writes the same number of bytes from one "
        "contiguous buffer in RAM in 8 MiB writes, fsyncs, renames the file into place and "
        "fsyncs the directory: what any durable save of bytes already in memory costs at least. "
        "`cp` copies a page-cached file of that size and fsyncs it. All run in the same process, "
        "back to back, the order rotating per run. FFmpeg runs read a page-cached MP4 (remux) or "
        "10 s MP4 segments (concat) and are fsynced after; `mp4mux faststart=true` is fed the "
        "same buffers from RAM through `h264parse` and its temporary file is in the target "
        "directory. tmpfs is `/dev/shm`; disk is the root filesystem ("
        + str(machine.get("disk_fs", "?")) + ", a virtual disk). Medians; each ratio is the median "
        "of per-run ratios.\n"
    )
    md.append("| input | format | target | method | seconds | MB/s | ratio to limit | ratio to cp |")
    md.append("|---|---|---|---|---|---|---|---|")
    methods = ["ring", "ring-sha256", "limit", "sha256", "cp", "ffmpeg-faststart", "ffmpeg-concat", "mp4mux-faststart"]
    bars = {}
    for label, name in (("main", "H.264 15 Mbps, 120 s"), ("hevc", "HEVC 15 Mbps, 120 s, 720p")):
        for fmt in ("avc", "hvc1"):
            for target in ("tmpfs", "disk"):
                for m in methods:
                    rs = sel(rows, bench="save", label=label, target=target, method=m, format=fmt)
                    if not rs:
                        continue
                    secs = med([r["seconds"] for r in rs])
                    to_limit = med([r["ratio_to_limit"] for r in rs])
                    to_cp = med([r["ratio_to_cp"] for r in rs])
                    mbs = rs[0]["bytes"] / secs / 1e6 if secs else float("nan")
                    md.append(f"| {name} | {fmt} | {target} | `{m}` | {secs:.3f} | {mbs:.0f} | "
                              f"{to_limit:.2f}x | {to_cp:.2f}x |")
                    if label == "main" and fmt == "avc":
                        bars[(target, m)] = (secs, to_limit)
                    if m == "ring":
                        summary.append((f"1. save, {name}, {fmt}, {target}", "<= 1.1x limit",
                                        f"{to_limit:.2f}x ({secs:.3f} s, {rs[0]['bytes'] / 1e6:.0f} MB; "
                                        f"{to_cp:.2f}x cp)", verdict(to_limit <= 1.1)))
                    if m == "ring-sha256":
                        floor = med([r.get("ratio_to_hash_floor") for r in rs])
                        hashing = sel(rows, bench="save", label=label, target=target, method="sha256", format=fmt)
                        hash_s = med([r["seconds"] for r in hashing])
                        summary.append((f"1. save with SHA-256, {name}, {fmt}, {target}", "<= 1.3x limit",
                                        f"{to_limit:.2f}x ({secs:.3f} s); hashing the bytes alone takes "
                                        f"{hash_s:.3f} s ({rs[0]['bytes'] / hash_s / 1e9:.2f} GB/s): "
                                        f"{floor:.2f}x the slower of writing and hashing",
                                        verdict(to_limit <= 1.3)))
    md.append("")
    if bars:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, target in zip(axes, ("tmpfs", "disk")):
            ms = [m for m in methods if (target, m) in bars]
            ax.bar(ms, [bars[(target, m)][0] for m in ms],
                   color=["C0" if m.startswith("ring") else "C7" for m in ms])
            for i, m in enumerate(ms):
                ax.text(i, bars[(target, m)][0], f"{bars[(target, m)][1]:.2f}x", ha="center", va="bottom")
            ax.set_title(f"save of a full 120 s ring (15 Mbps, avc) to {target}")
            ax.set_ylabel("seconds (median), label: ratio to limit")
            ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        fig.savefig(os.path.join(figdir, "save-methods.png"), dpi=90)
        md.append("![save methods](benchmarks/save-methods.png)\n")

    # curve over ring sizes and bitrates
    md.append("### Over ring sizes (15 Mbps) and bitrates (120 s ring), avc\n")
    md.append("Small saves have a fixed cost on top of their bytes; the target for them is "
              "1.1x the limit plus 5 ms.\n")
    md.append("| ring | bitrate | target | MB | ring s | ring-sha256 s | limit s | cp s | ring / limit |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    curves = {}
    for label in ("size", "main", "rate"):
        for target in ("tmpfs", "disk"):
            keys = sorted({(r["ring_s"], round(r["mbps"])) for r in sel(rows, bench="save", label=label, target=target, format="avc")})
            for ring_s, mbps in keys:
                def of(method):
                    return [r for r in sel(rows, bench="save", label=label, target=target, method=method, format="avc")
                            if r["ring_s"] == ring_s and round(r["mbps"]) == mbps]
                rs = of("ring")
                if not rs:
                    continue
                ring, limit = med([r["seconds"] for r in rs]), med([r["seconds"] for r in of("limit")])
                hashed, cp = med([r["seconds"] for r in of("ring-sha256")]), med([r["seconds"] for r in of("cp")])
                ratio = med([r["ratio_to_limit"] for r in rs])
                md.append(f"| {ring_s:g} s | {mbps} Mbps | {target} | {rs[0]['bytes'] / 1e6:.0f} | "
                          f"{ring:.3f} | {hashed:.3f} | {limit:.3f} | {cp:.3f} | {ratio:.2f}x |")
                curves.setdefault(target, []).append((ring_s, mbps, rs[0]["bytes"], ring, limit, ratio))
                if label == "size" and ring_s == 15:
                    bound = 1.1 * limit + 0.005
                    summary.append((f"1. save of a 15 s ring (15 Mbps), avc, {target}", "<= 1.1x limit + 5 ms",
                                    f"{ring * 1e3:.1f} ms vs {bound * 1e3:.1f} ms (limit {limit * 1e3:.1f} ms)",
                                    verdict(ring <= bound)))
    md.append("")
    if curves:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for target, pts in curves.items():
            by_size = sorted({(p[0], p) for p in pts if p[1] == 15})
            by_rate = sorted({(p[1], p) for p in pts if p[0] == 120})
            ls = "-" if target == "tmpfs" else "--"
            axes[0].plot([p[0] for _, p in by_size], [p[3] for _, p in by_size], "o" + ls, label=f"replayring, {target}")
            axes[0].plot([p[0] for _, p in by_size], [p[4] for _, p in by_size], "x" + ls, color="gray", label=f"limit, {target}")
            axes[1].plot([p[1] for _, p in by_rate], [p[3] for _, p in by_rate], "o" + ls, label=f"replayring, {target}")
            axes[1].plot([p[1] for _, p in by_rate], [p[4] for _, p in by_rate], "x" + ls, color="gray", label=f"limit, {target}")
        axes[0].set_xscale("log")
        axes[0].set_yscale("log")
        axes[0].set_xlabel("ring size (s), 15 Mbps")
        axes[1].set_xlabel("bitrate (Mbps), 120 s ring")
        for ax in axes:
            ax.set_ylabel("save latency, s (median)")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(figdir, "save-curves.png"), dpi=90)
        md.append("![save curves](benchmarks/save-curves.png)\n")

    # ---------------------------------------------------------------- 1c. before / after
    before_path = os.path.join(os.path.dirname(path), "before.jsonl")
    if os.path.exists(before_path):
        before = load(before_path)
        md.append("### Before and after the gather-list writer\n")
        md.append("The same saves with the plugin as it was before saves were written as a gather list "
                  "(a 1 MiB `BufWriter` copying every piece smaller than itself), measured by the same "
                  "bench driver (`benches/before-after.sh 0d7b4a1^`, run right before `benches/run.sh`). "
                  "Ratios are to the limit measured in the same run as each save.\n")
        md.append("| save | target | before: ring / limit | after: ring / limit | after with SHA-256 / limit |")
        md.append("|---|---|---|---|---|")
        for label, ring_s, name in (("main", 120, "H.264 15 Mbps, 120 s"), ("hevc", 120, "HEVC 15 Mbps, 120 s"),
                                    ("size", 15, "H.264 15 Mbps, 15 s"), ("size", 600, "H.264 15 Mbps, 600 s")):
            for target in ("tmpfs", "disk"):
                def ratio(rows_, method):
                    rs = [r for r in sel(rows_, bench="save", label=label, target=target, method=method)
                          if r["ring_s"] == ring_s]
                    return med([r["ratio_to_limit"] for r in rs]) if rs else float("nan")
                md.append(f"| {name} | {target} | {ratio(before, 'ring'):.2f}x | {ratio(rows, 'ring'):.2f}x | "
                          f"{ratio(rows, 'ring-sha256'):.2f}x |")
        md.append("")

    # ---------------------------------------------------------------- 2. steady state
    md.append("## 2. Streaming-thread cost per frame\n")
    st = sel(rows, bench="steady")
    if st:
        md.append(
            "Pre-encoded frames (15 Mbps, 120 s looped 5x, already in RAM as h264parse outputs them) are pushed straight into the "
            "sink pad from the bench thread as fast as possible; a 10 s ring is warmed for 20 s, so "
            "every measured frame also evicts. The pipeline is only the sink, so the ratio is the "
            "sink's own cost against `fakesink sync=false`'s. CPU is the process's (user + system). "
            "The reference, gst-plugins-rs `gopbuffer` (crate `gst-plugin-gopbuffer` 0.15, "
            "`minimum-duration` and `max-size-time` both at the ring's 10 s so that it holds a full "
            "ring, followed by a `fakesink` that receives each GOP it drops), is fed the same "
            "frames in the same runs. The ratio is the median of per-run ratios (sinks "
            "run back to back, order rotating), not the ratio of the medians.\n")
        md.append("| format | sink | CPU ns/frame | thread ns/frame | ratio to fakesink |")
        md.append("|---|---|---|---|---|")
        ratios = sel(rows, bench="steady-ratio")
        for fmt in ("avc",):
            fake_ns = med([r["cpu_ns_per_frame"] for r in sel(st, sink="fakesink", format=fmt)])
            for sink in ("fakesink", "replayring", "gopbuffer"):
                rs = sel(st, sink=sink, format=fmt)
                if not rs:
                    continue
                ratio = 1.0 if sink == "fakesink" else med(
                    [r["ratio"] for r in ratios if r["format"] == fmt and r.get("sink", "replayring") == sink])
                ns = med([r["cpu_ns_per_frame"] for r in rs])
                name = f"`{sink}`" if sink != "gopbuffer" else "`gopbuffer ! fakesink` (reference)"
                md.append(f"| {fmt} | {name} | {ns:.0f} | "
                          f"{med([r['thread_ns_per_frame'] for r in rs]):.0f} | {ratio:.2f}x |")
                if sink == "replayring":
                    summary.append((f"2. steady-state CPU, {fmt}, replayring vs fakesink", "<= 1.05x",
                                    f"{ratio:.2f}x ({ns:.0f} vs {fake_ns:.0f} ns/frame)", verdict(ratio <= 1.05)))
                elif sink == "gopbuffer":
                    summary.append((f"2. steady-state CPU, {fmt}, gopbuffer vs fakesink (reference)", "(reference)",
                                    f"{ratio:.2f}x ({ns:.0f} vs {fake_ns:.0f} ns/frame)", ""))
        md.append("")
    cg = sel(rows, bench="callgrind")
    if cg:
        md.append("Instructions per frame (callgrind, counting only the measured pushes: "
                  "`--toggle-collect=*measured_pushes*`; 5 s ring warmed 10 s):\n")
        md.append("| format | `fakesink` | `replayring` | ratio | `gopbuffer ! fakesink` (reference) | ratio |")
        md.append("|---|---|---|---|---|---|")
        for fmt in ("avc",):
            ipf = {}
            for sink in ("fakesink", "replayring", "gopbuffer"):
                rs = sel(cg, sink=sink, format=fmt)
                if rs:
                    ipf[sink] = rs[-1]["ir"] / rs[-1]["frames"]
            if "fakesink" in ipf and "replayring" in ipf:
                r = ipf["replayring"] / ipf["fakesink"]
                gop = (f"{ipf['gopbuffer']:.0f} | {ipf['gopbuffer'] / ipf['fakesink']:.2f}x"
                       if "gopbuffer" in ipf else "n/a | ")
                md.append(f"| {fmt} | {ipf['fakesink']:.0f} | {ipf['replayring']:.0f} | {r:.2f}x | {gop} |")
                summary.append((f"2. instructions/frame (callgrind), {fmt}", "<= 1.05x fakesink",
                                f"{r:.2f}x ({ipf['replayring']:.0f} vs {ipf['fakesink']:.0f})", verdict(r <= 1.05)))
                if "gopbuffer" in ipf:
                    g = ipf["gopbuffer"] / ipf["fakesink"]
                    summary.append((f"2. instructions/frame (callgrind), {fmt}, gopbuffer (reference)", "(reference)",
                                    f"{g:.2f}x ({ipf['gopbuffer']:.0f} vs {ipf['fakesink']:.0f})", ""))
        md.append("")
    fl = sel(rows, bench="fill")
    if fl:
        md.append("### Freshly allocated frames: filling vs steady state\n")
        md.append("Here (avc) every frame is allocated and filled on the streaming thread, as an encoder "
                  "outputs it (one process per run, 7200 frames; the frames until the ring is full and the "
                  "frames after are measured apart). `fakesink` frees each frame at once, so the allocator "
                  "reuses the same pages; a ring that is filling keeps every frame, so each new page is a "
                  "page fault; a full ring frees an old GOP for each new one.\n")
        md.append("| sink | phase | CPU ns/frame | page faults/frame | ratio to fakesink |")
        md.append("|---|---|---|---|---|")
        base = med([r["cpu_ns_full"] for r in sel(fl, sink="fakesink")])
        for sink, ring_s, tuned, phase, name in (
                ("fakesink", 10, False, "full", "`fakesink`"),
                ("replayring", 150, False, "filling", "`replayring`, empty 150 s ring filling"),
                ("replayring", 10, False, "full", "`replayring`, full 10 s ring (evicting)"),
                ("replayring", 10, True, "full", "`replayring`, full 10 s ring, glibc tuned (*)")):
            rs = [r for r in sel(fl, sink=sink) if r["ring_s"] == ring_s and bool(r.get("malloc")) == tuned]
            if not rs:
                continue
            c = med([r["cpu_ns_" + phase] for r in rs])
            f = med([r["minflt_" + phase] for r in rs])
            md.append(f"| {name} | {phase} ({int(rs[0]['frames_' + phase])} frames) | {c:.0f} | {f:.2f} | {c / base:.2f}x |")
        tuned = [r["malloc"] for r in fl if r.get("malloc")]
        if tuned:
            md.append(f"\n(*) `GLIBC_TUNABLES={tuned[0]}` (no heap trimming, fixed mmap threshold), to test whether glibc handing freed GOPs back to the kernel is what costs.")
        md.append("")

    # ---------------------------------------------------------------- 2d. whole pipeline
    pl = sel(rows, bench="pipeline")
    if pl:
        md.append("### 2d. In a whole pipeline\n")
        md.append("`filesrc ! qtdemux ! h264parse ! <sink>` on the 120 s, 15 Mbps MP4, run to EOS as "
                  "fast as it goes; the process's CPU time per frame, the demuxer and the parser "
                  "included. The ring keeps 10 s and evicts from then on; gopbuffer (then a "
                  "fakesink) gets the same 10 s. Each ratio is the median of per-run ratios.\n")
        md.append("| sink | CPU ns/frame | ratio to gopbuffer |")
        md.append("|---|---|---|")
        runs = sorted({r["run"] for r in pl})
        def per_run_ratio(sink):
            out = []
            for run in runs:
                a_ = sel(pl, sink=sink, run=run)
                g_ = sel(pl, sink="gopbuffer", run=run)
                if a_ and g_:
                    out.append(a_[0]["ns_per_frame"] / g_[0]["ns_per_frame"])
            return med(out)
        for sink in ("fakesink", "replayring", "gopbuffer"):
            rs = sel(pl, sink=sink)
            if not rs:
                continue
            ratio = per_run_ratio(sink)
            ns = med([r["ns_per_frame"] for r in rs])
            md.append(f"| `{sink}` | {ns:.0f} | {ratio:.2f}x |")
            if sink == "replayring":
                summary.append(("2d. CPU per frame in `qtdemux ! h264parse ! X`, replayring vs gopbuffer",
                                "<= 0.9x", f"{ratio:.2f}x ({ns:.0f} ns/frame)", verdict(ratio <= 0.9)))
        md.append("")

    # ---------------------------------------------------------------- 3. memory
    mem = sel(rows, bench="memory")
    if mem:
        md.append("## 3. Memory\n")
        md.append("One process per run; the file is parsed in the same process (`filesrc ! h264parse ! appsink`) "
                  "and each access unit is pushed into the sink as the parser hands it out, so the ring's "
                  "buffers are the only copy of the payload (the parser pipeline counts in the RSS, as it would "
                  "in a real pipeline). Target: VmRSS <= 1.02 x payload + 16 MiB (the whole process, GStreamer "
                  "included). The reference, `gopbuffer ! fakesink` (`minimum-duration` = `max-size-time` = "
                  "the ring), is fed the same way; its payload is what went in minus what came out of its "
                  "source pad.\n")
        md.append("| sink | format | ring | max-bytes | payload MiB | max payload seen MiB | VmRSS MiB | limit MiB | anon growth / payload |")
        md.append("|---|---|---|---|---|---|---|---|---|")
        keys = {(r["sink"], r["format"], r["ring_s"], r["max_bytes"]) for r in mem if r.get("format") in ("avc", "hvc1")}
        order = {"replayring": 0, "gopbuffer": 1}
        for sink, fmt, ring_s, mb in sorted(keys, key=lambda k: (-k[2], k[3], order.get(k[0], 2))):
            rs = [r for r in mem if r["sink"] == sink and r["format"] == fmt
                  and r["ring_s"] == ring_s and r["max_bytes"] == mb]
            payload = med([r["payload"] for r in rs])
            rss = med([r["rss"] for r in rs])
            limit = 1.02 * payload + 16 * MIB
            seen = max(r["max_payload_seen"] for r in rs)
            mbs = "none" if mb >= 2**39 else f"{mb / MIB:.0f} MiB"
            name = f"`{sink}`" if sink != "gopbuffer" else "`gopbuffer` (reference)"
            md.append(f"| {name} | {fmt} | {ring_s:g} s | {mbs} | {payload / MIB:.1f} | {seen / MIB:.2f} | {rss / MIB:.1f} | "
                      f"{limit / MIB:.1f} | {med([r['anon_growth_ratio'] for r in rs]):.3f} |")
            if sink == "gopbuffer":
                summary.append((f"3. RSS, {ring_s:g} s, gopbuffer (reference)", "(reference)",
                                f"{rss / MIB:.1f} MiB, limit {limit / MIB:.1f} MiB ({payload / MIB:.1f} MiB payload)", ""))
                continue
            summary.append((f"3. RSS, {ring_s:g} s ring, max-bytes {mbs}", "<= 1.02x payload + 16 MiB",
                            f"{rss / MIB:.1f} MiB vs {limit / MIB:.1f} MiB", verdict(rss <= limit)))
            if mb < 2**39:
                summary.append(("3. max-bytes holds", f"payload <= {mb / MIB:.0f} MiB at every frame",
                                f"max {seen} B", verdict(seen <= mb)))
        md.append("")

    # ---------------------------------------------------------------- 4. stalls
    stall = sel(rows, bench="stall")
    if stall:
        md.append("## 4. No stall during saves\n")
        md.append("A full 120 s ring (15 Mbps, avc) is fed live: a thread allocates and pushes one frame every "
                  "1/60 s (deadline-scheduled). After 2 s the application thread emits `save` of the whole "
                  "ring. *gap* is the largest interval between two consecutive frames stored; *push* the "
                  "longest allocation + push of one frame; *late* the largest delay of a frame behind its "
                  "deadline. The same figures over the 2 s before the save are the baseline (the machine's "
                  "own scheduling jitter). Target: no frame later than one interval (16.7 ms), i.e. "
                  "gap < 2 intervals.\n")
        md.append("| target | save s | gap before ms | gap during ms | push before ms | push during ms | late during ms |")
        md.append("|---|---|---|---|---|---|---|")
        for target in ("tmpfs", "disk"):
            rs = sel(stall, target=target)
            if not rs:
                continue
            g = max(r["gap_ms_during"] for r in rs)
            late = max(r["late_ms_during"] for r in rs)
            md.append(f"| {target} | {med([r['save_seconds'] for r in rs]):.2f} | "
                      f"{max(r['gap_ms_before'] for r in rs):.1f} | {g:.1f} | "
                      f"{max(r['push_ms_before'] for r in rs):.2f} | {max(r['push_ms_during'] for r in rs):.2f} | "
                      f"{late:.1f} |")
            summary.append((f"4. stall during a 225 MB save, {target} (worst of runs)", "late < 16.7 ms",
                            f"late {late:.1f} ms, gap {g:.1f} ms", verdict(late < 1000 / 60)))
        md.append("")
        traces = sel(rows, bench="stall-trace")
        if traces:
            fig, ax = plt.subplots(figsize=(10, 3.5))
            for t in traces:
                ax.plot([p[0] for p in t["gaps"]], [p[1] for p in t["gaps"]], lw=0.8, label=t["target"])
                ax.axvspan(t["save_start"], t["save_end"], alpha=0.15, color="C0" if t["target"] == "tmpfs" else "C1")
            ax.axhline(1000 / 60, color="gray", ls=":")
            ax.axhline(2000 / 60, color="red", ls=":")
            ax.set_xlabel("time (s); shaded: save running")
            ax.set_ylabel("gap between frames (ms)")
            ax.legend()
            fig.tight_layout()
            fig.savefig(os.path.join(figdir, "stall.png"), dpi=90)
            md.append("![stall](benchmarks/stall.png)\n")

    # ---------------------------------------------------------------- 5. many rings
    many = sel(rows, bench="many")
    if many:
        md.append("## 5. Many rings in one process\n")
        md.append("N rings of 8 Mbps (avc) in one pipeline, each filled to 120 s with payloads of its own, then fed "
                  "in real time (one thread, one new frame per ring every 1/60 s, each freshly allocated). "
                  "CPU is the whole process's over the live phase, so it includes the feeder's "
                  "allocation and copy; the `fakesink` row is the same feeder into fakesinks.\n")
        md.append("| sink | rings | % of a core per ring | RSS full GiB | payload GiB |")
        md.append("|---|---|---|---|---|")
        for sink in ("fakesink", "replayring"):
            rs = sel(many, sink=sink)
            if not rs:
                continue
            md.append(f"| `{sink}` | {rs[0]['rings']} | {med([r['core_pct_per_ring'] for r in rs]):.3f} | "
                      f"{med([r['rss_end'] for r in rs]) / 2**30:.2f} | {med([r['payload'] for r in rs]) / 2**30:.2f} |")
        rr = sel(many, sink="replayring")
        if rr:
            pct = med([r["core_pct_per_ring"] for r in rr])
            summary.append((f"5. CPU per ring, {rr[0]['rings']} rings x 8 Mbps x 120 s", "< 0.5 % of a core",
                            f"{pct:.3f} %", verdict(pct < 0.5)))
            rss, payload = med([r["rss_end"] for r in rr]), med([r["payload"] for r in rr])
            summary.append((f"5. memory, {rr[0]['rings']} rings", "(reported)",
                            f"{rss / 2**30:.2f} GiB RSS for {payload / 2**30:.2f} GiB payload "
                            f"({rss / payload:.3f}x)", ""))
        md.append("")

    # ---------------------------------------------------------------- 6. the service
    cpu = sel(rows, bench="service-cpu")
    if cpu:
        sessions = cpu[0]["sessions"]
        md.append("## 6. The replay service under load\n")
        md.append(f"{sessions} SRT sessions of the same 1080p30 H.264 + AAC stream at 8 Mbit/s, each fed "
                  "by an FFmpeg sending the file in copy mode (`-re -c copy`), ingested three ways over "
                  "the same window: `gst-replay serve` (a replay ring per session), one `ffmpeg -i "
                  "srt://...?mode=listener -c copy -f segment` per session writing 10 s MPEG-TS segments "
                  "(seed 002's way), one `gst-launch-1.0 srtsrc ! tsdemux ! h264parse ! splitmuxsink` per "
                  "session writing 10 s MP4 fragments. CPU is the receiving processes' user + system time "
                  "(the feeders are not counted). Then, with the service still under that load, 30 s saves "
                  "one after another (request to `ready` as a client polling every 5 ms sees it), and "
                  "`wrk -t2 -c32` on `GET .../status` (`benches/service.py`).\n")
        md.append("| ingest | CPU per session (% of a core) | ratio to FFmpeg |")
        md.append("|---|---|---|")
        ffmpeg = med([r["cpu_per_session"] for r in sel(cpu, method="ffmpeg")])
        for method, name in (("service", "`gst-replay serve`"), ("ffmpeg", "FFmpeg `-f segment`"), ("splitmux", "`splitmuxsink`")):
            rs = sel(cpu, method=method)
            if rs:
                share = med([r["cpu_per_session"] for r in rs])
                md.append(f"| {name} | {share * 100:.2f} % | {share / ffmpeg:.2f}x |")
        service = med([r["cpu_per_session"] for r in sel(cpu, method="service")])
        summary.append((f"6. CPU per session, {sessions} SRT sessions 1080p30 8 Mbps, service vs FFmpeg segmenter",
                        "<= 0.5x", f"{service / ffmpeg:.2f}x ({service * 100:.2f} % vs {ffmpeg * 100:.2f} % of a core)",
                        verdict(service / ffmpeg <= 0.5)))
        md.append("")
        for r in sel(rows, bench="service-latency"):
            md.append(f"30 s saves under that load: {r['saves']} saves, p50 {r['p50'] * 1e3:.0f} ms, "
                      f"p95 {r['p95'] * 1e3:.0f} ms, worst {r['max'] * 1e3:.0f} ms ({r['bytes'] / 1e6:.0f} MB each).\n")
            summary.append(("6. request to ready, 30 s save under that load", "p95 < 250 ms",
                            f"p50 {r['p50'] * 1e3:.0f} ms, p95 {r['p95'] * 1e3:.0f} ms", verdict(r["p95"] < 0.25)))
        for r in sel(rows, bench="service-status-rps"):
            md.append(f"`GET .../status`: {r['rps']:.0f} requests per second (p99 {r['p99']}).\n")
            summary.append(("6. GET status requests per second", "(reported)", f"{r['rps']:.0f} /s", ""))

    # ---------------------------------------------------------------- output
    table = ["| measurement | target | result | |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary]
    print("\n".join(table))
    head = [
        "# Benchmarks",
        "",
        "Generated by `benches/run.sh` (" + ("`--quick`" if machine.get("quick") else "full run") + ") on "
        f"{machine.get('date', '?')}: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
        f"Linux {machine.get('kernel', '?')}, GStreamer {machine.get('gst', '?')}, FFmpeg {machine.get('ffmpeg', '?')}. "
        "The machine was shared with other work while this ran, so absolute times are noisy; every "
        "comparison is a ratio of measurements taken in the same run, and every figure is a median "
        "over runs. Input: `benches/gen-input.sh` (testsrc2 with temporal noise, x264 ultrafast, "
        "1080p60, GOP 120, no B-frames; HEVC: x265 ultrafast, 720p60, 120 s, same GOP, 15 Mbps), parsed once "
        "by `h264parse`/`h265parse` into avc/hvc1 access units, as `replayring` receives them behind a parser.",
        "",
        "Raw results: `target/bench-results/results.jsonl`; to re-run: `benches/run.sh` "
        "(`--quick` for fewer runs and sizes).",
        "",
        "## Summary",
        "",
    ]
    notes_path = os.path.join(ROOT, "benches/notes.md")
    notes = open(notes_path).read() if os.path.exists(notes_path) else ""
    with open(os.path.join(ROOT, "docs/benchmarks.md"), "w") as f:
        f.write("\n".join(head + table) + "\n\n" + notes + "\n" + "\n".join(md) + "\n")
    print("\nwrote docs/benchmarks.md and docs/benchmarks/*.png", file=sys.stderr)


if __name__ == "__main__":
    main()
