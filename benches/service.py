#!/usr/bin/python3
"""The replay service under load (6. in docs/benchmarks.md), one JSON object a line on stdout.

  benches/service.py --bin target/release/gst-replay --input target/bench-input/h264_8M_1080p30_60s.ts

N SRT sessions of the same 1080p30 H.264 + AAC stream at 8 Mbit/s, each fed by an FFmpeg that
sends the file in copy mode (so the feeders cost little), and the CPU the ingest takes per
session in three ways, each over the same window with the same feeders:

  service     `gst-replay serve`, one replay ring per session
  ffmpeg      one `ffmpeg -i srt://...?mode=listener -c copy -f segment` per session, 10 s
              MPEG-TS segments on disk (seed 002's way)
  splitmux    one `gst-launch-1.0 srtsrc ! tsdemux ! h264parse ! splitmuxsink` per session,
              10 s MP4 fragments on disk

Then, with the service under that load: request-to-ready latency of 30 s saves (p50, p95),
and `GET .../status` requests per second with wrk.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TICKS = os.sysconf("SC_CLK_TCK")


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pids):
    """User + system CPU of the processes, from /proc (their children are not counted)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total / TICKS


def feeder(path, port):
    return subprocess.Popen(
        ["ffmpeg", "-v", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i", path,
         "-c", "copy", "-f", "mpegts", f"srt://127.0.0.1:{port}?pkt_size=1316"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(processes):
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.time() + 10
    for p in processes:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def request(url, method="GET", body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def measure_window(pids, seconds):
    start = cpu_seconds(pids)
    time.sleep(seconds)
    return cpu_seconds(pids) - start


def run_service(args, ports, workdir):
    data = os.path.join(workdir, "service-data")
    service = subprocess.Popen([args.bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = json.loads(service.stdout.readline())["url"]
    for n, port in enumerate(ports):
        status, doc = request(f"{url}/api/replay/v1/session/s{n}/start-buffer", "POST",
                              {"source": f"srt://127.0.0.1:{port}?mode=listener",
                               "maxDurationSeconds": args.ring_seconds})
        assert status == 201, doc
    feeders = [feeder(args.input, port) for port in ports]
    # Until every ring holds what a 30 s save asks for.
    deadline = time.time() + args.ring_seconds + 60
    while time.time() < deadline:
        _, listing = request(f"{url}/api/replay/v1/sessions")
        if all(s["state"] == "buffering" and s["bufferedSeconds"] >= 32 for s in listing["sessions"]):
            break
        time.sleep(1)
    cpu = measure_window([service.pid], args.window)
    yield {"bench": "service-cpu", "method": "service", "sessions": len(ports),
           "window_s": args.window, "cpu_s": cpu, "cpu_per_session": cpu / args.window / len(ports)}

    latencies = []
    for n in range(args.saves):
        session = f"s{n % len(ports)}"
        began = time.monotonic()
        status, accepted = request(f"{url}/api/replay/v1/save", "POST",
                                   {"sessionId": session, "fromSeconds": 30},
                                   {"Idempotency-Key": f"bench-{n}"})
        assert status == 202, accepted
        while True:
            _, job = request(accepted["statusUrl"])
            if job["status"] in ("ready", "failed"):
                break
            time.sleep(0.005)
        assert job["status"] == "ready", job
        latencies.append(time.monotonic() - began)
        time.sleep(0.5)
    latencies.sort()
    yield {"bench": "service-latency", "saves": len(latencies), "sessions": len(ports),
           "p50": statistics.median(latencies),
           "p95": latencies[max(0, int(round(0.95 * len(latencies))) - 1)],
           "max": latencies[-1], "bytes": job["bytes"]}

    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.wrk_seconds}s", "--latency",
                              accepted["statusUrl"]], capture_output=True, text=True).stdout
        rps = next(float(line.split()[1]) for line in out.splitlines() if line.startswith("Requests/sec"))
        p99 = next((line.split()[1] for line in out.splitlines() if line.strip().startswith("99%")), "")
        yield {"bench": "service-status-rps", "sessions": len(ports), "rps": rps, "p99": p99}
    stop(feeders)
    service.send_signal(signal.SIGTERM)
    service.wait(60)


def run_baseline(args, ports, workdir, method):
    out = os.path.join(workdir, method)
    os.makedirs(out, exist_ok=True)
    receivers = []
    for n, port in enumerate(ports):
        listen = f"srt://127.0.0.1:{port}?mode=listener"
        if method == "ffmpeg":
            command = ["ffmpeg", "-v", "error", "-nostdin", "-i", listen, "-c", "copy", "-map", "0",
                       "-f", "segment", "-segment_time", "10", "-segment_format", "mpegts",
                       os.path.join(out, f"s{n}-%05d.ts")]
        else:
            command = ["gst-launch-1.0", "-q", "-e",
                       "srtsrc", f"uri={listen}", "!", "tsdemux", "name=d",
                       "d.", "!", "queue", "!", "h264parse", "!", "splitmuxsink", "name=m",
                       "max-size-time=10000000000", f"location={os.path.join(out, f's{n}-%05d.mp4')}",
                       "d.", "!", "queue", "!", "aacparse", "!", "m.audio_0"]
        receivers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1)
    feeders = [feeder(args.input, port) for port in ports]
    time.sleep(10)
    cpu = measure_window([p.pid for p in receivers], args.window)
    yield {"bench": "service-cpu", "method": method, "sessions": len(ports),
           "window_s": args.window, "cpu_s": cpu, "cpu_per_session": cpu / args.window / len(ports)}
    stop(feeders)
    stop(receivers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--window", type=float, default=20.0, help="seconds CPU is measured over")
    parser.add_argument("--ring-seconds", type=float, default=40.0)
    parser.add_argument("--saves", type=int, default=40)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--methods", default="service,ffmpeg,splitmux")
    args = parser.parse_args()
    parent = os.environ.get("BENCH_DISK")
    if parent:
        os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="replay-service-bench-", dir=parent) as workdir:
        for method in args.methods.split(","):
            ports = [free_port() for _ in range(args.sessions)]
            runs = run_service(args, ports, workdir) if method == "service" else run_baseline(args, ports, workdir, method)
            for record in runs:
                print(json.dumps(record), flush=True)


if __name__ == "__main__":
    sys.exit(main())
