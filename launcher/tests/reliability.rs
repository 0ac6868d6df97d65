//! `gst-replay run` under stress and faults: signal storms, Ctrl-C during a save, a run
//! killed outright, missing GStreamer elements, and a minute of saves that must leave
//! memory, file descriptors and threads where they were.
// End to end on a Linux test machine: signals, /proc and a POSIX shell.
#![cfg(unix)]

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;
use gst_replay::control::{client, Request};

/// The picture of most tests here: small, so that several runs share two cores.
const SMALL: Picture = Picture {
    size: "320x240",
    fps: "30",
    ring: "3s",
};

/// What a test run captures: the test pattern's size and rate, and the ring's length.
struct Picture {
    size: &'static str,
    fps: &'static str,
    ring: &'static str,
}

/// `gst-replay run` on the test pattern of `picture`, clips to `clips/`.
fn start_test_capture(dir: &TestDir, picture: Picture) -> Running {
    RunCommand::test_pattern(dir)
        .set("--screen-size", picture.size)
        .set("--fps", picture.fps)
        .set("--duration", picture.ring)
        .start()
}

fn status(socket: &Path) -> serde_json::Value {
    let reply = client::send(socket, &Request::Status, Duration::from_secs(30))
        .unwrap_or_else(|err| panic!("the run does not answer a status request: {err}"));
    assert_eq!(reply["event"], "status", "{reply}");
    reply
}

fn part_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "part"))
        .collect()
}

/// Asserts the clip of a `saved` event decodes cleanly and shows the frames it reports.
fn assert_clip_decodes(event: &serde_json::Value) {
    let path = Path::new(event["path"].as_str().unwrap());
    let (frames, _, errors) = decode_summary(path);
    assert_eq!(errors, "", "{}", path.display());
    assert_eq!(
        frames as u64,
        event["frames"].as_u64().unwrap(),
        "{}",
        path.display()
    );
}

/// Every line of `stdout` is a complete JSON event.
fn parse_events(stdout: &[String]) -> Vec<serde_json::Value> {
    stdout
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("a stdout line is not a JSON event: {line}: {err}"))
        })
        .collect()
}

#[test]
fn a_burst_of_a_hundred_sigusr1_reports_every_save_once() {
    let dir = TestDir::new("reliability-signal-storm");
    let socket = dir.join("control.sock");
    let mut run = start_test_capture(&dir, SMALL);
    std::thread::sleep(Duration::from_secs(4));
    // Back to back, 1 ms apart: the kernel merges a signal that arrives while the same one
    // is still pending, so not every signal becomes a save; every save must be reported.
    for _ in 0..100 {
        run.signal(libc::SIGUSR1);
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ring = status(&socket);
        let requested = ring["saves"].as_u64().unwrap() + ring["failed_saves"].as_u64().unwrap();
        if events.len() as u64 == requested && requested > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} events for {requested} saves",
            events.len()
        );
        events.extend(run.try_next_event(Duration::from_secs(2)));
    }
    assert!(
        events.len() >= 10,
        "a burst of 100 signals made only {} saves",
        events.len()
    );
    eprintln!("signal storm: 100 signals, {} saves", events.len());

    // Still healthy: it answers, and one more save works.
    let after = save_through_socket(&socket, &["--last", "1s"]);
    assert_eq!(after["event"], "saved", "{after}");
    let finished = run.stop_with(libc::SIGINT);
    assert!(finished.status.success(), "{:#?}", finished.stderr);

    let mut ids = HashSet::new();
    let mut paths = HashSet::new();
    for event in &events {
        assert_eq!(event["event"], "saved", "{event}");
        assert_eq!(event["trigger"], "signal", "{event}");
        assert!(ids.insert(event["id"].to_string()), "id twice: {event}");
        assert!(
            paths.insert(event["path"].to_string()),
            "file twice: {event}"
        );
        assert_clip_decodes(event);
    }
    assert_eq!(
        dir.files_with_extension("clips", "mp4").len(),
        events.len() + 1,
        "one file per save"
    );
    assert!(part_files(&dir.join("clips")).is_empty());
}

#[test]
fn ctrl_c_during_a_post_roll_save_finishes_it_and_exits_cleanly() {
    let dir = TestDir::new("reliability-ctrl-c-post-roll");
    let socket = dir.join("control.sock");
    let run = start_test_capture(&dir, SMALL);
    std::thread::sleep(Duration::from_secs(4));
    let client = {
        let socket = socket.clone();
        std::thread::spawn(move || save_through_socket(&socket, &["--last", "2s", "--post", "3s"]))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&socket)["pending_saves"] != 1 {
        assert!(Instant::now() < deadline, "the save never reached the ring");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The save is now waiting for its post-roll.
    let finished = run.stop_with(libc::SIGINT);
    let answered = client.join().unwrap();

    assert!(finished.status.success(), "{:#?}", finished.stderr);
    assert!(
        finished
            .stderr
            .iter()
            .any(|l| l.contains("Stopping (interrupted)")),
        "{:#?}",
        finished.stderr
    );
    let events = parse_events(&finished.stdout);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0], answered,
        "the client gets the event the run prints"
    );
    assert_eq!(events[0]["event"], "saved");
    assert_eq!(
        events[0]["duration"], 5.0,
        "the whole post-roll: {}",
        events[0]
    );
    assert_clip_decodes(&events[0]);
    assert!(part_files(&dir.join("clips")).is_empty());
}

#[test]
fn ctrl_c_right_after_a_save_request_finishes_it_or_leaves_nothing() {
    let dir = TestDir::new("reliability-ctrl-c-save");
    // A bigger picture and ring, so that the save has something to write.
    let run = start_test_capture(
        &dir,
        Picture {
            size: "1280x720",
            fps: "30",
            ring: "5s",
        },
    );
    std::thread::sleep(Duration::from_secs(6));
    run.signal(libc::SIGUSR1);
    // Long enough for the request to reach the ring, far shorter than writing the clip.
    std::thread::sleep(Duration::from_millis(30));
    let finished = run.stop_with(libc::SIGINT);

    assert!(finished.status.success(), "{:#?}", finished.stderr);
    let events = parse_events(&finished.stdout);
    eprintln!(
        "ctrl-c after a save request: {} saves reported",
        events.len()
    );
    let clips = dir.files_with_extension("clips", "mp4");
    assert_eq!(
        clips.len(),
        events.len(),
        "a file for each reported save, none other: {events:?}"
    );
    for event in &events {
        assert_eq!(event["event"], "saved", "{event}");
        assert_clip_decodes(event);
    }
    assert!(part_files(&dir.join("clips")).is_empty());
}

#[test]
fn a_run_killed_outright_does_not_stop_the_next_one() {
    let dir = TestDir::new("reliability-sigkill");
    let socket = dir.join("control.sock");
    let mut first = start_test_capture(&dir, SMALL);
    std::thread::sleep(Duration::from_secs(2));
    // SIGKILL: no cleanup; the socket file stays behind.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(socket.exists(), "the killed run left its socket");

    let second = start_test_capture(&dir, SMALL);
    std::thread::sleep(Duration::from_secs(2));
    let event = save_through_socket(&socket, &["--last", "1s"]);
    assert_eq!(event["event"], "saved", "{event}");
    assert_clip_decodes(&event);
    let finished = second.stop_with(libc::SIGINT);
    assert!(finished.status.success(), "{:#?}", finished.stderr);
}

/// A GStreamer installation with every plugin of this one but those that provide
/// `left_out`: a private plugin directory of links and its own registry.
struct PartialInstall {
    dir: TestDir,
}

impl PartialInstall {
    fn without(name: &str, left_out: &[&str]) -> PartialInstall {
        gst::init().unwrap();
        let dir = TestDir::new(name);
        let plugins = dir.join("plugins");
        std::fs::create_dir(&plugins).unwrap();
        let plugin_file = |factory: &str| {
            gst::ElementFactory::find(factory)
                .and_then(|f| f.plugin())
                .and_then(|p| p.filename())
                .unwrap_or_else(|| panic!("{factory} is not installed here"))
        };
        let system_dir = plugin_file("fakesink").parent().unwrap().to_owned();
        let excluded: Vec<PathBuf> = left_out.iter().map(|f| plugin_file(f)).collect();
        for entry in std::fs::read_dir(&system_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "so") && !excluded.contains(&path) {
                std::os::unix::fs::symlink(&path, plugins.join(path.file_name().unwrap())).unwrap();
            }
        }
        PartialInstall { dir }
    }

    /// `gst-replay run --source test` with this installation: exit code and stderr.
    fn run(&self, extra: &[&str]) -> (Option<i32>, String) {
        let output = std::process::Command::new(BINARY)
            .args(["run", "--source", "test", "--hotkey", "none", "--quiet"])
            .args(["--output-dir", self.dir.join("clips").to_str().unwrap()])
            .args(["--socket", self.dir.join("s.sock").to_str().unwrap()])
            .args(extra)
            .env("GST_PLUGIN_SYSTEM_PATH_1_0", self.dir.join("plugins"))
            .env("GST_PLUGIN_PATH_1_0", "")
            .env("GST_PLUGIN_PATH", "")
            .env("GST_REGISTRY_1_0", self.dir.join("registry.bin"))
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

#[test]
fn a_missing_element_is_named_with_the_package_that_provides_it() {
    // The replay plugin is linked into gst-replay: it cannot go missing. The elements
    // around it can.
    let no_test_source = PartialInstall::without("reliability-no-videotestsrc", &["videotestsrc"]);
    let (code, message) = no_test_source.run(&[]);
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("videotestsrc") && message.contains("gstreamer1.0-plugins-base"),
        "{message}"
    );
    assert!(
        !message.contains("plugins-ugly"),
        "not blamed on the encoders: {message}"
    );

    let no_parser = PartialInstall::without("reliability-no-h264parse", &["h264parse"]);
    let (code, message) = no_parser.run(&[]);
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("h264parse") && message.contains("gstreamer1.0-plugins-bad"),
        "{message}"
    );

    let no_encoder = PartialInstall::without("reliability-no-x264enc", &["x264enc"]);
    let (code, message) = no_encoder.run(&[]);
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("x264enc: not available") && message.contains("gstreamer1.0-plugins-ugly"),
        "{message}"
    );
    let (code, message) = no_encoder.run(&["--encoder", "software"]);
    assert_eq!(code, Some(1), "{message}");
    assert!(
        message.contains("x264enc is not available here (install gstreamer1.0-plugins-ugly)"),
        "{message}"
    );
}

/// The CI version of `scripts/soak.sh`: a minute of 60 fps capture with a save every 2 s.
#[test]
fn a_minute_of_saves_keeps_memory_files_and_threads_flat() {
    let dir = TestDir::new("reliability-soak");
    let socket = dir.join("control.sock");
    let run = start_test_capture(
        &dir,
        Picture {
            size: "320x180",
            fps: "60",
            ring: "5s",
        },
    );
    let save_and_check = || {
        let event = save_through_socket(&socket, &[]);
        assert_eq!(event["event"], "saved", "{event}");
        assert_clip_decodes(&event);
        std::fs::remove_file(event["path"].as_str().unwrap()).unwrap();
    };
    // Warm: the ring is full and a save has run once.
    std::thread::sleep(Duration::from_secs(6));
    save_and_check();
    let start = ProcessUsage::of_pid(run.pid() as u32);
    let mut saves = 1;
    let end_at = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end_at {
        std::thread::sleep(Duration::from_secs(2));
        save_and_check();
        saves += 1;
    }
    let end = ProcessUsage::of_pid(run.pid() as u32);
    let ring = status(&socket);
    let finished = run.stop_with(libc::SIGINT);

    assert!(finished.status.success(), "{:#?}", finished.stderr);
    assert_eq!(ring["saves"], saves, "{ring}");
    assert_eq!(ring["failed_saves"], 0, "{ring}");
    eprintln!("soak: {saves} saves; start {start}; end {end}");
    end.assert_within(&start, 8, 0, 0);
}
