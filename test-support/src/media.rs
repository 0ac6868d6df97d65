//! Test media, encoded once per test with FFmpeg: a 320x240 30 fps test pattern with a
//! keyframe every second, and a 440 Hz tone.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{require_tool, run_ok, TestDir};

/// The frame rate of the test media unless told otherwise.
pub const FPS: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Video {
    H264,
    H265,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audio {
    Aac,
    Opus,
    Ac3,
    None,
}

/// Encodes `seconds` of test pattern at [`FPS`] and tone into `dir/name`; the container
/// follows the extension (.ts, .mp4, .mkv).
pub fn encode(dir: &TestDir, name: &str, seconds: u32, video: Video, audio: Audio) -> PathBuf {
    encode_at(dir, name, seconds, FPS, video, audio)
}

/// [`encode`] at `fps` frames per second.
pub fn encode_at(
    dir: &TestDir,
    name: &str,
    seconds: u32,
    fps: u64,
    video: Video,
    audio: Audio,
) -> PathBuf {
    require_tool("ffmpeg");
    let path = dir.join(name);
    let mut command = Command::new("ffmpeg");
    command.args(["-v", "error", "-y"]);
    if video != Video::None {
        command.args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size=320x240:rate={fps}"),
        ]);
    }
    if audio != Audio::None {
        command.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]);
    }
    command.args(["-t", &seconds.to_string()]);
    let gop = fps.to_string();
    match video {
        Video::H264 => {
            command.args(["-c:v", "libx264", "-preset", "veryfast", "-bf", "2"]);
            command.args(["-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0"]);
            command.args(["-pix_fmt", "yuv420p", "-b:v", "300k"]);
        }
        Video::H265 => {
            command.args(["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1"]);
            command.args([
                "-x265-params",
                &format!("keyint={fps}:min-keyint={fps}:scenecut=0:log-level=error"),
            ]);
            command.args(["-pix_fmt", "yuv420p", "-b:v", "300k"]);
        }
        Video::None => {}
    }
    match audio {
        Audio::Aac => command.args(["-c:a", "aac", "-b:a", "64k"]),
        Audio::Opus => command.args(["-c:a", "libopus", "-b:a", "64k"]),
        Audio::Ac3 => command.args(["-c:a", "ac3", "-b:a", "96k"]),
        Audio::None => &mut command,
    };
    command.arg(&path);
    run_ok(&mut command);
    path
}

/// `path` without its audio, as MP4 (for a server that sends video only).
pub fn video_only(dir: &TestDir, path: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(path)
            .args(["-an", "-c", "copy"])
            .arg(&out),
    );
    out
}
