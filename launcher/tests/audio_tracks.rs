//! Audio tracks end to end: `gst-replay run --audio`, saved clips probed and decoded.
// End to end on a Linux test machine: signals, Xvfb, a POSIX shell and FFmpeg.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::*;

const SAVE: Duration = Duration::from_secs(60);
/// One AAC frame at 48 kHz: how far an audio track may end from the video.
const AAC_FRAME_SECONDS: f64 = 1024.0 / 48000.0;

fn start_test_capture(dir: &TestDir, codec: &str) -> Running {
    RunCommand::test_pattern(dir)
        .set("--duration", "6s")
        .set("--audio", "test")
        .set("--audio-codec", codec)
        .start()
}

#[test]
fn a_clip_has_an_aac_track_as_long_as_its_video() {
    let dir = TestDir::new("audio-aac");
    let mut run = start_test_capture(&dir, "aac");
    assert!(
        run.stderr_seen
            .iter()
            .any(|l| l.contains("test ticks (") && l.contains("160 kbit/s")),
        "{:#?}",
        run.stderr_seen
    );
    std::thread::sleep(Duration::from_secs(5));

    let answered = save_through_socket(&dir.join("control.sock"), &["--last", "3s"]);
    let event = run.next_event(SAVE);
    assert_eq!(answered, event);
    assert_eq!(event["event"], "saved", "{event}");
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");

    let path = std::path::Path::new(event["path"].as_str().unwrap());
    let streams = ffprobe::streams(path);
    let codecs: Vec<&str> = streams.iter().map(|s| s.codec_name.as_str()).collect();
    assert_eq!(codecs, ["h264", "aac"], "{}", path.display());
    let (video, audio) = (streams[0].duration(), streams[1].duration());
    assert!((video - 3.0).abs() < 0.05, "{streams:?}");
    assert!(
        (audio - video).abs() <= AAC_FRAME_SECONDS + 1e-3,
        "audio and video lengths differ by more than one AAC frame: {streams:?}"
    );
    let peak = audio_peak_db(path);
    assert!(peak > -20.0, "the ticks are not audible: peak {peak} dB");
    let (frames, _, errors) = decode_summary(path);
    assert_eq!(errors, "", "{}", path.display());
    assert_eq!(frames as u64, event["frames"].as_u64().unwrap());
}

#[test]
fn opus_tracks_are_saved_too() {
    let dir = TestDir::new("audio-opus");
    let mut run = start_test_capture(&dir, "opus");
    std::thread::sleep(Duration::from_secs(4));
    run.signal(libc::SIGUSR1);
    let event = run.next_event(SAVE);
    assert_eq!(event["event"], "saved", "{event}");
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");
    let path = std::path::Path::new(event["path"].as_str().unwrap());
    let codecs: Vec<String> = ffprobe::streams(path)
        .into_iter()
        .map(|s| s.codec_name)
        .collect();
    assert_eq!(codecs, ["h264", "opus"], "{}", path.display());
}

/// Asking for audio that cannot be recorded is refused before anything is captured: here a
/// microphone behind a sound server that is not there (or, before the plugin has audio pads,
/// any audio at all).
#[test]
fn audio_that_cannot_be_recorded_is_refused_before_capture() {
    let dir = TestDir::new("audio-refused");
    let mut child = std::process::Command::new(BINARY)
        .args([
            "run", "--source", "test", "--audio", "mic", "--hotkey", "none",
        ])
        .args(["--output-dir", dir.path.to_str().unwrap()])
        .args(["--socket", dir.join("s.sock").to_str().unwrap()])
        .env(
            "PULSE_SERVER",
            dir.join("no-sound-server").to_str().unwrap(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + START;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("gst-replay run --audio mic started without a sound server");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut message = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut message).unwrap();
    assert_eq!(status.code(), Some(1), "{message}");
    assert!(message.contains("--audio mic: "), "{message}");
    assert!(message.contains("or use --audio none"), "{message}");
    assert!(!message.contains("Capturing"), "{message}");
}
