//! Clip requests end to end: post-roll, clearing and not clearing through `gst-replay save`.
// End to end on a Linux test machine: signals, Xvfb, a POSIX shell and FFmpeg.
#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const SAVE: Duration = Duration::from_secs(60);
const FRAME_SECONDS: f64 = 1.0 / 30.0;

fn start_test_capture(dir: &TestDir) -> RunCommand {
    RunCommand::test_pattern(dir)
}

#[test]
fn post_roll_takes_what_is_captured_after_the_request() {
    let dir = TestDir::new("clip-post-roll");
    let mut run = start_test_capture(&dir).start();
    std::thread::sleep(Duration::from_secs(4));

    let asked = Instant::now();
    let answered =
        save_through_socket(&dir.join("control.sock"), &["--last", "2s", "--post", "2s"]);
    let waited = asked.elapsed();
    let event = run.next_event(SAVE);
    assert_eq!(answered, event);
    assert_eq!(event["event"], "saved", "{event}");
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");

    // The clip could only be written once the 2 s after the request had been captured.
    assert!(
        waited >= Duration::from_secs(2),
        "answered after {waited:?}"
    );
    let duration = event["duration"].as_f64().unwrap();
    assert!(
        (duration - 4.0).abs() <= FRAME_SECONDS,
        "last 2 s + post 2 s: {event}"
    );
    let path = std::path::Path::new(event["path"].as_str().unwrap());
    assert!(
        (ffprobe::format_duration(path) - 4.0).abs() <= FRAME_SECONDS,
        "{}",
        path.display()
    );
    let (frames, _, errors) = decode_summary(path);
    assert_eq!(errors, "");
    assert!((119..=121).contains(&frames), "{frames} frames");
}

#[test]
fn cleared_saves_share_no_frame() {
    let dir = TestDir::new("clip-clear");
    let socket = dir.join("control.sock");
    let mut run = start_test_capture(&dir).start();
    std::thread::sleep(Duration::from_secs(8));

    let first_asked = Instant::now();
    let first = save_through_socket(&socket, &["--last", "3s", "--clear"]);
    std::thread::sleep(Duration::from_secs(2));
    // Without the clear, the last 8 s would reach 6 s back into the first clip.
    let second_asked = first_asked.elapsed().as_secs_f64();
    let second = save_through_socket(&socket, &["--last", "8s", "--clear"]);
    for event in [&first, &second] {
        assert_eq!(event["event"], "saved", "{event}");
        assert_eq!(run.next_event(SAVE)["id"], event["id"]);
    }
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");

    // The first clip ends at its request, the second starts after it: the second holds at
    // most what was captured between the two requests.
    let first_duration = first["duration"].as_f64().unwrap();
    let second_duration = second["duration"].as_f64().unwrap();
    assert!((first_duration - 3.0).abs() <= FRAME_SECONDS, "{first}");
    assert!(
        second_duration <= second_asked + 0.25,
        "the second clip ({second_duration} s) reaches back past the first ({second_asked} s apart)"
    );
    assert!(second_duration > 0.0, "{second}");
    for event in [&first, &second] {
        let path = std::path::Path::new(event["path"].as_str().unwrap());
        let probed = ffprobe::format_duration(path);
        assert!(
            (probed - event["duration"].as_f64().unwrap()).abs() <= FRAME_SECONDS,
            "{}: {probed} s",
            path.display()
        );
    }
}

#[test]
fn no_clear_keeps_a_clear_on_save_run_from_clearing_that_save() {
    let dir = TestDir::new("clip-no-clear");
    let socket = dir.join("control.sock");
    let mut run = start_test_capture(&dir).flag("--clear-on-save").start();
    std::thread::sleep(Duration::from_secs(8));

    let first_asked = Instant::now();
    let first = save_through_socket(&socket, &["--last", "3s", "--no-clear"]);
    std::thread::sleep(Duration::from_secs(2));
    let second_asked = first_asked.elapsed().as_secs_f64();
    // The run's --clear-on-save applies to this one, and to nothing before it.
    let second = save_through_socket(&socket, &["--last", "8s"]);
    std::thread::sleep(Duration::from_secs(1));
    let third = save_through_socket(&socket, &["--last", "8s"]);
    for event in [&first, &second, &third] {
        assert_eq!(event["event"], "saved", "{event}");
        assert_eq!(run.next_event(SAVE)["id"], event["id"]);
    }
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");

    // The first was not cleared: the second takes its whole 8 s, reaching back past the
    // first request into the first clip.
    let duration = |event: &serde_json::Value| event["duration"].as_f64().unwrap();
    assert!((duration(&first) - 3.0).abs() <= FRAME_SECONDS, "{first}");
    assert!((duration(&second) - 8.0).abs() <= FRAME_SECONDS, "{second}");
    assert!(
        duration(&second) > second_asked + 1.0,
        "the second clip ({} s) does not reach back past the first request ({second_asked} s \
         earlier)",
        duration(&second)
    );
    // The second was cleared, as the run clears every save that does not say otherwise.
    assert!(duration(&third) < 3.0, "{third}");
    for event in [&first, &second, &third] {
        let path = std::path::Path::new(event["path"].as_str().unwrap());
        let probed = ffprobe::format_duration(path);
        assert!(
            (probed - duration(event)).abs() <= FRAME_SECONDS,
            "{}: {probed} s",
            path.display()
        );
    }
}

#[test]
fn the_runs_defaults_apply_to_saves_that_leave_them_out() {
    let dir = TestDir::new("clip-run-defaults");
    let mut run = start_test_capture(&dir)
        .set("--post-roll", "1s")
        .flag("--clear-on-save")
        .start();
    std::thread::sleep(Duration::from_secs(6));
    run.signal(libc::SIGRTMIN() + 1); // 10 s: what the ring has, then 1 s more.
    let first = run.next_event(SAVE);
    run.signal(libc::SIGUSR1);
    let second = run.next_event(SAVE);
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");
    assert_eq!(first["event"], "saved", "{first}");
    assert_eq!(second["event"], "saved", "{second}");
    // Cleared after the first (which ended 1 s after its request), the second holds what
    // came after it: about the time the first took to finish, never the whole ring.
    let second_duration = second["duration"].as_f64().unwrap();
    assert!(second_duration < 3.0, "{second}");
}
