//! Feeders: independent processes that push or serve a stream the way a camera, OBS or an
//! encoder box would.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::{require_tool, ChildProcess};

/// FFmpeg pushing `file` (MPEG-TS) in real time, unchanged (`-c copy`), as an SRT caller.
pub fn srt_push(file: &Path, port: u16) -> ChildProcess {
    require_tool("ffmpeg");
    let mut command = Command::new("ffmpeg");
    command
        .args(["-v", "error", "-nostdin", "-re", "-i"])
        .arg(file)
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(format!("srt://127.0.0.1:{port}?pkt_size=1316"));
    ChildProcess::spawn("ffmpeg (SRT caller)", command)
}

/// FFmpeg serving `file` (MPEG-TS) in real time as an SRT listener on `port`: it starts
/// sending once a caller connects.
pub fn srt_serve(file: &Path, port: u16) -> ChildProcess {
    require_tool("ffmpeg");
    let mut command = Command::new("ffmpeg");
    command
        .args(["-v", "error", "-nostdin", "-re", "-i"])
        .arg(file)
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(format!(
            "srt://127.0.0.1:{port}?mode=listener&pkt_size=1316"
        ));
    ChildProcess::spawn("ffmpeg (SRT listener)", command)
}

/// gst-rtsp-server (Python GI) serving `file` (MP4, H.264 [+ AAC]) at
/// rtsp://127.0.0.1:PORT/test; returns once it listens.
pub fn rtsp_server(file: &Path, port: u16, audio: bool) -> ChildProcess {
    require_tool("/usr/bin/python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("helpers/rtsp_server.py");
    let mut command = Command::new("/usr/bin/python3");
    command.arg(script).arg(port.to_string()).arg(file);
    if !audio {
        command.arg("--no-audio");
    }
    let mut server = ChildProcess::spawn("rtsp_server.py", command);
    assert!(
        server.wait_for_output("ready", Duration::from_secs(20)),
        "the RTSP server did not start (needs gir1.2-gst-rtsp-server-1.0 and python3-gi): {}",
        server.output()
    );
    server
}

/// gst-launch-1.0 sending `file`'s H.265 video (MP4) as MPEG-TS over UDP, in real time.
pub fn udp_push_h265(file: &Path, port: u16) -> ChildProcess {
    require_tool("gst-launch-1.0");
    let mut command = Command::new("gst-launch-1.0");
    command.arg("-q").args(
        format!(
            "filesrc location={} ! qtdemux ! h265parse config-interval=-1 ! mpegtsmux alignment=7 \
             ! udpsink host=127.0.0.1 port={port} sync=true",
            file.display()
        )
        .split_whitespace(),
    );
    ChildProcess::spawn("gst-launch-1.0 (UDP MPEG-TS)", command)
}

/// Python's http.server serving `dir` on 127.0.0.1:PORT; returns once it listens.
pub fn http_server(dir: &Path, port: u16) -> ChildProcess {
    require_tool("/usr/bin/python3");
    let mut command = Command::new("/usr/bin/python3");
    command
        .args([
            "-u",
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .arg(port.to_string());
    let mut server = ChildProcess::spawn("http.server", command);
    assert!(
        server.wait_for_output("Serving HTTP", Duration::from_secs(20)),
        "the HTTP server did not start: {}",
        server.output()
    );
    server
}

/// A UDP port nobody uses now (SRT and UDP sessions listen on it).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP port nobody uses now (an RTSP or HTTP server listens on it).
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}
