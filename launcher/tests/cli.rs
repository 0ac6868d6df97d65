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
            "screen, window, test or v4l2",
        ),
        (vec!["run", "--max-bytes", "lots"], "500M"),
        (
            vec!["run", "--quality", "ultra"],
            "low, medium, high or lossless",
        ),
        (vec!["pipeline", "--platform", "macos"], "linux or windows"),
        (vec!["pipeline", "--screen-size", "big"], "WIDTHxHEIGHT"),
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
fn save_without_a_running_instance_says_how_to_start_one() {
    let dir = TestDir::new("cli-save-nothing");
    let output = gst_replay(&["save", "--socket", dir.join("none.sock").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("gst-replay run"),
        "{}",
        stderr_of(&output)
    );
}
