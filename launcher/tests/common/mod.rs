//! Helpers for the launcher's end-to-end tests: the real binary, a virtual X server, decoding.
#![allow(dead_code)]

pub mod run_command;
#[cfg(unix)]
pub mod service;
pub mod session_bus;
pub mod sound;

#[allow(unused_imports)] // Each test binary uses its own part of them.
pub use run_command::{RunCommand, START};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // Each test binary uses its own part of them.
pub use test_support::{ffprobe, require_tool, ProcessUsage, TestDir};

pub const BINARY: &str = env!("CARGO_BIN_EXE_gst-replay");

/// A control socket of the test's own: a file in its directory, or on Windows, where pipes
/// are not files, a pipe named after it.
pub fn control_socket(dir: &TestDir) -> PathBuf {
    if cfg!(windows) {
        let name = dir.path.file_name().unwrap().to_string_lossy();
        PathBuf::from(format!(r"\\.\pipe\gst-replay-test-{name}"))
    } else {
        dir.join("control.sock")
    }
}

/// A running `gst-replay run` whose stdout lines (JSON events) and stderr are collected.
pub struct Running {
    pub child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    pub stderr_seen: Vec<String>,
}

impl Running {
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut command = Command::new(BINARY);
        command.arg("run").args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        Running::spawn(command)
    }

    /// Runs `command` (the binary and its arguments, environment set) with its output collected.
    pub fn spawn(mut command: Command) -> Running {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("gst-replay starts");
        let stdout = lines_of(child.stdout.take().unwrap());
        let stderr = lines_of(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    /// Waits until stderr shows `needle` (the pipeline is up, a note, ...).
    pub fn wait_for_stderr(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.stderr_seen.push(line);
                    if self.stderr_seen.last().unwrap().contains(needle) {
                        return;
                    }
                }
                // The process is gone and everything it wrote has been read.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        panic!(
            "no \"{needle}\" on stderr within {limit:?}: {:#?}",
            self.stderr_seen
        );
    }

    /// The next JSON event on stdout.
    pub fn next_event(&mut self, limit: Duration) -> serde_json::Value {
        let line = self.stdout.recv_timeout(limit).unwrap_or_else(|_| {
            panic!(
                "no event within {limit:?}; stderr: {:#?}",
                self.drain_stderr()
            )
        });
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON: {line}: {err}"))
    }

    /// The next JSON event on stdout, or None when none comes within `limit`.
    pub fn try_next_event(&mut self, limit: Duration) -> Option<serde_json::Value> {
        let line = self.stdout.recv_timeout(limit).ok()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON: {line}: {err}")))
    }

    pub fn drain_stderr(&mut self) -> Vec<String> {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
        self.stderr_seen.clone()
    }

    /// Sends `signal`, waits for the exit, and returns everything it printed that was not
    /// read yet: stdout lines (the JSON events, unparsed) and all of stderr.
    #[cfg(unix)]
    pub fn stop_with(mut self, signal: i32) -> Finished {
        self.signal(signal);
        let status = self.child.wait().unwrap();
        // The readers end at end of file, once the process and its pipes are gone.
        let mut stdout = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            stdout.push(line);
        }
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            self.stderr_seen.push(line);
        }
        Finished {
            status,
            stdout,
            stderr: self.stderr_seen.clone(),
        }
    }

    /// Waits for the run to end by itself; its exit status and stderr.
    pub fn wait_exit(&mut self, limit: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}: {:#?}",
                self.drain_stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread may still hold the last lines.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.drain_stderr())
    }

    /// Ctrl-C, then the exit status.
    #[cfg(unix)]
    pub fn interrupt(mut self) -> (std::process::ExitStatus, Vec<String>) {
        self.signal(libc::SIGINT);
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.drain_stderr();
        (status, stderr)
    }
}

/// What a stopped run left: its exit status and output.
pub struct Finished {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

/// Runs `gst-replay <args>` to completion.
pub fn gst_replay(args: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .output()
        .expect("gst-replay runs")
}

/// An Xvfb server for one test, with the SMPTE test bars drawn in a window so the screen is
/// not blank. Killed on drop.
pub struct VirtualDisplay {
    pub name: String,
    server: Child,
    painter: Option<Child>,
}

impl VirtualDisplay {
    pub fn start(size: &str) -> VirtualDisplay {
        require_tool("Xvfb");
        let number = (60..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let name = format!(":{number}");
        let server = Command::new("Xvfb")
            .args([
                &name,
                "-screen",
                "0",
                &format!("{size}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb {name} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        VirtualDisplay {
            name,
            server,
            painter: None,
        }
    }

    /// Shows SMPTE bars in a window covering the top-left of the screen.
    pub fn paint_test_bars(&mut self) {
        let painter = Command::new("gst-launch-1.0")
            .args([
                "-q",
                "videotestsrc",
                "pattern=smpte",
                "is-live=true",
                "!",
                "video/x-raw,width=640,height=360,framerate=15/1",
                "!",
                "ximagesink",
                "sync=false",
            ])
            .env("DISPLAY", &self.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gst-launch-1.0 draws the test bars (package gstreamer1.0-x)");
        self.painter = Some(painter);
        std::thread::sleep(Duration::from_millis(1500));
    }

    pub fn press(&self, keys: &str) {
        require_tool("xdotool");
        let status = Command::new("xdotool")
            .args(["key", keys])
            .env("DISPLAY", &self.name)
            .status()
            .unwrap();
        assert!(status.success(), "xdotool key {keys}");
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        if let Some(painter) = self.painter.as_mut() {
            let _ = painter.kill();
            let _ = painter.wait();
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// One `lavfi.signalstats` value (`YMAX`, `YAVG`, ...) per frame FFmpeg decodes, with the
/// frame's presentation time in seconds, and what FFmpeg printed on stderr.
fn signalstats(path: &Path, key: &str) -> (Vec<(f64, f64)>, String) {
    require_tool("ffmpeg");
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        // Every decoded frame at its own timestamp: captures are variable-rate, and FFmpeg's
        // default constant-rate output would duplicate, drop or collide frames.
        .args(["-fps_mode", "passthrough", "-enc_time_base", "-1"])
        .args([
            "-vf",
            &format!("signalstats,metadata=print:key=lavfi.signalstats.{key}:file=-"),
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    // Pairs of lines: "frame:N pts:P pts_time:T", then "lavfi.signalstats.KEY=V".
    let text = String::from_utf8_lossy(&output.stdout);
    let prefix = format!("lavfi.signalstats.{key}=");
    let mut frames = Vec::new();
    let mut time = None;
    for line in text.lines() {
        if let Some(pts_time) = line.split("pts_time:").nth(1) {
            time = pts_time.trim().parse().ok();
        } else if let Some(value) = line.strip_prefix(prefix.as_str()) {
            let time = time.take().expect("a frame's time precedes its statistics");
            frames.push((time, value.parse().unwrap_or(0.0)));
        }
    }
    (frames, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Frames decoded by FFmpeg, and the luma range over all of them (0 for a blank screen).
pub fn decode_summary(path: &Path) -> (usize, f64, String) {
    let (frames, errors) = signalstats(path, "YMAX");
    let brightest = frames.iter().map(|&(_, luma)| luma).fold(0.0, f64::max);
    (frames.len(), brightest, errors)
}

/// The loudest sample of the file's first audio stream, in dB (-91 for digital silence).
pub fn audio_peak_db(path: &Path) -> f64 {
    require_tool("ffmpeg");
    let output = Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|line| line.split("max_volume: ").nth(1))
        .and_then(|value| value.trim_end_matches(" dB").trim().parse().ok())
        .unwrap_or(f64::NEG_INFINITY)
}

/// The sample rate [`decoded_audio`] decodes to: the launcher's.
pub const DECODED_AUDIO_RATE: u32 = 48_000;

/// The first audio track decoded to mono samples at [`DECODED_AUDIO_RATE`], laid on the
/// file's presentation timeline: sample `n` plays `n / rate` seconds after the file starts.
/// Silence fills what the timestamps leave out (before the track's first sample, and gaps of
/// a tenth of a second or more), as a player presents it.
pub fn decoded_audio(path: &Path) -> Vec<f32> {
    require_tool("ffmpeg");
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:a:0",
            "-af",
            "aresample=async=1:first_pts=0",
            "-ac",
            "1",
        ])
        .args(["-ar", &DECODED_AUDIO_RATE.to_string(), "-f", "f32le", "-"])
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "decoding the audio of {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
        .stdout
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().unwrap()))
        .collect()
}

/// Every decoded video frame's presentation time (seconds) and average luma (16 black to 235
/// white).
pub fn frame_luma(path: &Path) -> Vec<(f64, f64)> {
    signalstats(path, "YAVG").0
}

/// `gst-replay save --socket SOCKET <args>`: its JSON reply, after checking it succeeded.
pub fn save_through_socket(socket: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["save", "--socket", socket.to_str().unwrap()];
    all.extend(args);
    let output = gst_replay(&all);
    assert!(
        output.status.success(),
        "gst-replay {all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}
