//! The command line: clear errors for bad input, encoder fallback, presets, doctor.

mod common;

use common::*;

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_option_values_explain_the_accepted_range() {
    for (args, expected) in [
        (vec!["run", "--fps", "0"], "1 to 240"),
        (vec!["run", "--duration", "2h"], "1 s to 1 h"),
        (vec!["run", "--duration", "soon"], "30s"),
        (vec!["run", "--aspect", "16x9"], "16:9, 21:9, 4:3, 1:1"),
        (vec!["run", "--codec", "av1"], "h264 or hevc"),
        (
            vec!["run", "--encoder", "quicksync"],
            "auto, nvenc, va or software",
        ),
        (
            vec!["run", "--source", "camera"],
            "screen, portal, window, test or v4l2",
        ),
        (vec!["run", "--max-bytes", "lots"], "500M"),
        (
            vec!["run", "--quality", "ultra"],
            "low, medium, high or lossless",
        ),
        (vec!["pipeline", "--platform", "macos"], "linux or windows"),
        (vec!["pipeline", "--screen-size", "big"], "WIDTHxHEIGHT"),
        (
            vec!["run", "--audio", "speakers"],
            "system (what the computer plays), mic, both, test or none",
        ),
        (vec!["pipeline", "--audio-codec", "mp3"], "aac or opus"),
        (
            vec!["ffmpeg-args", "--audio-encoder", "lame"],
            "auto or one of fdkaacenc, avenc_aac, voaacenc, opusenc",
        ),
        (vec!["run", "--audio-bitrate", "8"], "kbit/s from 32 to 320"),
        (
            vec!["run", "--audio-bitrate", "loud"],
            "such as 160 or 160k",
        ),
        (vec!["save", "--post", "11m"], "0 s to 10 min"),
        (vec!["save", "--post", "later"], "30s"),
        (vec!["save", "--last", "2h"], "1 s to 1 h"),
        (vec!["run", "--post-roll", "1h"], "0 s to 10 min"),
    ] {
        let output = gst_replay(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr_of(&output).contains(expected),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
    let output = gst_replay(&["pipeline", "--preset", "ultra", "--source", "test"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output)
            .contains("no preset named \"ultra\"; the presets are: low, medium, high"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn an_unwritable_output_directory_is_reported_before_capture_starts() {
    let dir = TestDir::new("cli-unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, b"").unwrap();
    let output = gst_replay(&[
        "run",
        "--source",
        "test",
        "--hotkey",
        "none",
        "--output-dir",
        file.join("clips").to_str().unwrap(),
        "--socket",
        dir.join("s.sock").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr_of(&output);
    assert!(
        message.contains("cannot create the output directory"),
        "{message}"
    );
    assert!(message.contains("--output-dir"), "{message}");
    assert!(!message.contains("Capturing"), "{message}");
}

#[test]
fn a_forced_missing_encoder_is_explained_and_auto_falls_back() {
    let output = gst_replay(&[
        "run",
        "--source",
        "test",
        "--encoder",
        "nvenc",
        "--hotkey",
        "none",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr_of(&output);
    assert!(
        message.contains("nvh264enc is not available here"),
        "{message}"
    );
    assert!(message.contains("--encoder auto"), "{message}");

    let output = gst_replay(&["pipeline", "--source", "test", "--screen-size", "320x240"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let notes = stderr_of(&output);
    assert!(
        notes.contains("encoder fallback: nvh264enc: not available"),
        "{notes}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("x264enc"),
        "auto picks the working x264enc"
    );
}

#[test]
fn presets_list_the_table_with_ram_needs() {
    let output = gst_replay(&["presets", "--json", "--duration", "1m", "--fps", "30"]);
    assert!(output.status.success());
    let table: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let presets = table["presets"].as_array().unwrap();
    assert_eq!(presets.len(), 7);
    let high = presets.iter().find(|p| p["name"] == "high").unwrap();
    assert_eq!(high["bitrate_kbps"], 15000);
    assert_eq!(high["gop_frames"], 60);
    assert_eq!(high["ring_bytes"], 15_000_000 / 8 * 62);
    assert_eq!(high["ring_bytes_is_estimate"], false);
    let text = gst_replay(&["presets"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("quality-lossless") && text.contains("218 MiB"),
        "{text}"
    );
}

#[test]
fn doctor_reports_what_works_here() {
    let output = gst_replay(&["doctor"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("GStreamer 1."), "{report}");
    assert!(report.contains("replay plugin: built in"), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.contains("x264enc") && l.contains("works")),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.contains("nvh264enc") && l.contains("missing")),
        "{report}"
    );
    assert!(
        report.contains("Automatic choice for H.264: x264enc"),
        "{report}"
    );
}

#[test]
fn an_encoder_of_another_codec_is_explained() {
    let output = gst_replay(&[
        "pipeline",
        "--platform",
        "windows",
        "--audio",
        "mic",
        "--audio-codec",
        "aac",
        "--audio-encoder",
        "opusenc",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr_of(&output);
    assert!(
        message.contains("--audio-encoder opusenc encodes opus, not aac"),
        "{message}"
    );
    assert!(message.contains("drop --audio-codec"), "{message}");
}

#[test]
fn screen_capture_without_a_sound_server_records_no_audio_and_says_why() {
    let dir = TestDir::new("cli-no-sound-server");
    let output = std::process::Command::new(BINARY)
        .args(["pipeline", "--platform", "linux", "--source", "screen"])
        .args(["--screen-size", "1920x1080", "--encoder", "software"])
        .env("PULSE_SERVER", dir.join("no-sound-server"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let notes = stderr_of(&output);
    let note = notes
        .lines()
        .find(|line| line.starts_with("note: no audio track: "))
        .unwrap_or_else(|| panic!("no note about audio: {notes}"));
    assert!(note.contains("start PulseAudio or PipeWire"), "{note}");
    assert!(note.contains("--audio none silences this note"), "{note}");
    let line = String::from_utf8_lossy(&output.stdout);
    assert!(!line.contains("pulsesrc"), "{line}");
}

/// `gst-replay save` against a stand-in for the run: what it sends on the control socket.
#[test]
fn save_sends_the_clip_range_post_roll_and_clear() {
    use gst_replay::control::{server::Server, Request};
    use std::sync::{Arc, Mutex};

    let dir = TestDir::new("cli-save-request");
    let socket = control_socket(&dir);
    let received = Arc::new(Mutex::new(Vec::new()));
    let _server = {
        let received = Arc::clone(&received);
        Server::bind(&socket).unwrap().spawn(move |request| {
            received.lock().unwrap().push(request);
            serde_json::json!({
                "event": "saved", "id": "ring-1", "path": "/tmp/clip.mp4", "duration": 40.0,
                "frames": 2400, "bytes": 1000, "latency_ms": 10000.0, "trigger": "socket",
            })
        })
    };
    let socket = socket.to_str().unwrap();

    let output = gst_replay(&[
        "save", "--socket", socket, "--last", "30s", "--post", "10s", "--clear",
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let output = gst_replay(&["save", "--socket", socket]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let output = gst_replay(&["save", "--socket", socket, "--no-clear"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let output = gst_replay(&["save", "--socket", socket, "--clear", "--no-clear"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("cannot be used with"),
        "{}",
        stderr_of(&output)
    );

    assert_eq!(
        *received.lock().unwrap(),
        [
            Request::Save {
                last_ns: Some(30_000_000_000),
                post_ns: Some(10_000_000_000),
                clear: Some(true),
                path: None,
            },
            // Left out: the run's --duration, --post-roll and --clear-on-save decide.
            Request::Save {
                last_ns: None,
                post_ns: None,
                clear: None,
                path: None,
            },
            // --no-clear says so even to a run started with --clear-on-save.
            Request::Save {
                last_ns: None,
                post_ns: None,
                clear: Some(false),
                path: None,
            },
        ]
    );
}

#[test]
fn save_without_a_running_instance_says_how_to_start_one() {
    let dir = TestDir::new("cli-save-nothing");
    let output = gst_replay(&["save", "--socket", control_socket(&dir).to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("gst-replay run"),
        "{}",
        stderr_of(&output)
    );
}
