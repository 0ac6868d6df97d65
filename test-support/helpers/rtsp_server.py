#!/usr/bin/python3
"""RTSP test server: serves an MP4 file's H.264 video (and its AAC audio, if it has one) at
rtsp://127.0.0.1:PORT/test, in real time, through gst-rtsp-server's GI bindings.

    /usr/bin/python3 rtsp_server.py PORT FILE.mp4 [--no-audio]

Prints "ready" once it listens. Debian: gir1.2-gst-rtsp-server-1.0 and python3-gi.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main():
    port, path = sys.argv[1], sys.argv[2]
    audio = "--no-audio" not in sys.argv[3:]
    Gst.init(None)
    launch = (
        f'( filesrc location="{path}" ! qtdemux name=demux '
        "demux.video_0 ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 "
    )
    if audio:
        launch += "demux.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 "
    launch += ")"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    # One playback for every client, as a camera would serve it.
    factory.set_shared(True)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on port {port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
