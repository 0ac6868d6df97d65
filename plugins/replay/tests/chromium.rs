//! A saved H.264 clip plays in Chromium: the right duration, size and number of frames.

mod common;

use std::process::Command;

use common::*;

/// The number after `"key":` in the browser's one-line JSON report.
fn json_number(report: &str, key: &str) -> f64 {
    let start = report
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in Chromium's report: {report}"))
        + key.len()
        + 3;
    let digits: String = report[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {report}"))
}

#[test]
fn a_saved_h264_clip_plays_in_chromium() {
    require_element("x264enc");
    require_tool("chromium");
    let dir = TestDir::new("chromium");
    let clip = dir.join("clip.mp4");
    let pipeline = parse(&format!(
        "videotestsrc num-buffers=240 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc key-int-max=60 bframes=2 ! h264parse \
         ! replayring max-duration={} save-on-eos=true location=\"{}\"",
        3 * SECOND,
        clip.display()
    ));
    run_to_eos(&pipeline);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/play_in_chromium.py"
    );
    let output = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&clip)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !report.contains("\"error\""),
        "Chromium could not play the clip: {report}"
    );
    assert_eq!(json_number(&report, "duration"), 3.0, "{report}");
    assert_eq!(json_number(&report, "frames"), 90.0, "{report}");
    assert_eq!(
        (
            json_number(&report, "width"),
            json_number(&report, "height")
        ),
        (320.0, 240.0)
    );
}
