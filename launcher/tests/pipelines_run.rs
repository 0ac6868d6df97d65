//! The documented gst-launch-1.0 lines that can run here do run as printed, and the replay
//! they save on Ctrl-C decodes.
// End to end on a Linux test machine: signals, Xvfb, a POSIX shell and FFmpeg.
#![cfg(unix)]

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The directory of the libgstreplay.so built beside this test (run `cargo build` first).
fn plugin_dir() -> PathBuf {
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    assert!(
        profile_dir.join("libgstreplay.so").exists(),
        "{} has no libgstreplay.so: run `cargo build` before the tests",
        profile_dir.display()
    );
    profile_dir
}

/// Runs `pipelines/<name>.sh` in a fresh directory for `seconds`, then sends Ctrl-C to its
/// process group as a terminal would; returns the clips it saved.
fn run_documented(name: &str, seconds: u64, display: Option<&str>) -> (TestDir, Vec<PathBuf>) {
    let dir = TestDir::new(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pipelines")
        .join(format!("{name}.sh"));
    let mut command = Command::new("sh");
    command
        .arg(&script)
        .current_dir(&dir.path)
        .env("GST_PLUGIN_PATH", plugin_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(display) = display {
        command.env("DISPLAY", display);
    }
    let child = command.spawn().unwrap();
    std::thread::sleep(Duration::from_secs(seconds));
    // SAFETY: signals the process group this test created.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let clips = dir.files_with_extension("replays", "mp4");
    (dir, clips)
}

fn check_clip(clips: &[PathBuf], minimum_frames: usize) -> f64 {
    assert_eq!(clips.len(), 1, "{clips:?}");
    let (frames, brightest, errors) = decode_summary(&clips[0]);
    assert_eq!(errors, "", "{}", clips[0].display());
    assert!(
        frames >= minimum_frames,
        "{} has {frames} frames",
        clips[0].display()
    );
    brightest
}

#[test]
fn the_test_pattern_with_x264_runs_as_documented() {
    let (_dir, clips) = run_documented("linux-test-x264", 5, None);
    check_clip(&clips, 60);
}

#[test]
fn the_test_pattern_with_x265_runs_as_documented() {
    let (_dir, clips) = run_documented("linux-test-x265", 6, None);
    check_clip(&clips, 30);
}

#[test]
fn the_test_pattern_with_aac_ticks_runs_as_documented() {
    let (_dir, clips) = run_documented("linux-test-x264-aac", 5, None);
    check_clip(&clips, 60);
    let codecs: Vec<String> = ffprobe::streams(&clips[0])
        .into_iter()
        .map(|stream| stream.codec_name)
        .collect();
    assert_eq!(codecs, ["h264", "aac"], "{}", clips[0].display());
}

#[test]
fn x11_capture_with_x264_runs_as_documented() {
    let mut display = VirtualDisplay::start("1920x1080");
    display.paint_test_bars();
    let (_dir, clips) = run_documented("linux-x11-x264", 6, Some(&display.name));
    let brightest = check_clip(&clips, 30);
    assert!(
        brightest > 150.0,
        "the clip shows the screen, not a blank frame"
    );
}
