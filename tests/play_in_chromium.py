#!/usr/bin/python3
"""Plays an MP4 to its end in headless Chromium and prints what the browser saw as JSON.

    tests/play_in_chromium.py CLIP.mp4

Prints {"duration": s, "width": w, "height": h, "frames": n, "dropped": n, "currentTime": s}
or {"error": "..."}. Drives Chromium over the DevTools protocol on loopback only.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # Debian package python3-websocket

PAGE = """<!doctype html><html><body></body></html>"""

PLAY_TO_END = """
new Promise((resolve) => {
  const v = document.createElement('video');
  v.muted = true;
  document.body.appendChild(v);
  const done = (result) => resolve(JSON.stringify(result));
  v.addEventListener('error', () => done({error: v.error ? v.error.code + ': ' + v.error.message : 'unknown'}));
  v.addEventListener('loadedmetadata', () => { v.playbackRate = 4; v.play().catch((e) => done({error: 'play: ' + e})); });
  v.addEventListener('ended', () => {
    const q = v.getVideoPlaybackQuality();
    done({duration: v.duration, width: v.videoWidth, height: v.videoHeight,
          frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, currentTime: v.currentTime});
  });
  v.src = 'clip.mp4';
})
"""


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("Chromium is not installed: run scripts/setup-debian.sh --tests")


def main():
    clip = os.path.abspath(sys.argv[1])
    # Chromium's helpers may still be writing the profile when it is removed.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as work:
        shutil.copy(clip, os.path.join(work, "clip.mp4"))
        with open(os.path.join(work, "page.html"), "w") as page:
            page.write(PAGE)
        browser = subprocess.Popen(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
             "--allow-file-access-from-files", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--user-data-dir={work}/profile",
             "about:blank"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            print(play(browser, f"file://{work}/page.html"))
        finally:
            browser.kill()
            browser.wait()


class DevToolsCall:
    """Sends one DevTools command at a time and returns its reply, skipping events."""

    def __init__(self, connection):
        self.connection = connection
        self.next_id = 0

    def __call__(self, method, **params):
        self.next_id += 1
        self.connection.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.connection.recv())
            if reply.get("id") == self.next_id:
                return reply


def play(browser, page_url):
    deadline = time.time() + 30
    browser_socket = None
    while time.time() < deadline and browser_socket is None:
        line = browser.stderr.readline()
        match = re.search(r"DevTools listening on (ws://\S+)", line)
        if match:
            browser_socket = match.group(1)
    if browser_socket is None:
        return json.dumps({"error": "Chromium did not start its DevTools endpoint"})
    port = re.search(r":(\d+)/", browser_socket).group(1)
    page_socket = None
    while time.time() < deadline and page_socket is None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as listing:
            targets = json.loads(listing.read().decode())
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            page_socket = pages[0]["webSocketDebuggerUrl"]
        else:
            time.sleep(0.2)
    if page_socket is None:
        return json.dumps({"error": "the test page did not open"})
    connection = websocket.create_connection(page_socket, timeout=120)
    call = DevToolsCall(connection)
    call("Page.navigate", url=page_url)
    # Poll rather than wait for a load event that may fire before we listen.
    while time.time() < deadline:
        state = call("Runtime.evaluate", expression="document.readyState + ' ' + location.href")
        if state.get("result", {}).get("result", {}).get("value") == f"complete {page_url}":
            break
        time.sleep(0.1)
    reply = call("Runtime.evaluate", expression=PLAY_TO_END, awaitPromise=True)
    connection.close()
    result = reply.get("result", {}).get("result", {})
    if "value" not in result:
        return json.dumps({"error": f"evaluation failed: {reply}"})
    return result["value"]


if __name__ == "__main__":
    main()
