//! `gst-replay run` end to end: real capture and encoding, every save trigger, files decoded.
// End to end on a Linux test machine: signals, Xvfb, a POSIX shell and FFmpeg.
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::session_bus::PrivateBus;
use common::*;

const SAVE: Duration = Duration::from_secs(60);

#[test]
fn test_pattern_saves_on_signals_and_from_another_shell() {
    let dir = TestDir::new("run-test-source");
    let socket = dir.join("control.sock");
    let out = dir.join("clips");
    let mut run = RunCommand::test_pattern(&dir)
        .set("--duration", "4s")
        .without("--quiet")
        .start();
    // Long enough for the 4 s ring to fill and start evicting.
    std::thread::sleep(Duration::from_secs(6));

    run.signal(libc::SIGUSR1);
    let by_signal = run.next_event(SAVE);
    assert_eq!(by_signal["event"], "saved", "{by_signal}");
    assert_eq!(by_signal["trigger"], "signal");

    let save = gst_replay(&["save", "--socket", socket.to_str().unwrap(), "--last", "2s"]);
    assert!(
        save.status.success(),
        "{}",
        String::from_utf8_lossy(&save.stderr)
    );
    let answered: serde_json::Value = serde_json::from_slice(&save.stdout).unwrap();
    let by_socket = run.next_event(SAVE);
    assert_eq!(
        answered, by_socket,
        "the client gets the same event the run prints"
    );
    assert_eq!(by_socket["trigger"], "socket");
    assert_eq!(by_socket["duration"], 2.0);
    assert_eq!(by_socket["frames"], 60);

    // SIGRTMIN+1 asks for 10 s: the 4 s ring (plus up to a GOP) gives what it has.
    run.signal(libc::SIGRTMIN() + 1);
    let by_realtime = run.next_event(SAVE);
    assert_eq!(by_realtime["event"], "saved");
    let seconds = by_realtime["duration"].as_f64().unwrap();
    assert!((4.0..=6.1).contains(&seconds), "{by_realtime}");

    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");
    for event in [&by_signal, &by_socket, &by_realtime] {
        let path = std::path::Path::new(event["path"].as_str().unwrap());
        assert!(path.starts_with(&out));
        let (frames, _, errors) = decode_summary(path);
        assert_eq!(errors, "", "{}", path.display());
        assert_eq!(
            frames as u64,
            event["frames"].as_u64().unwrap(),
            "{}",
            path.display()
        );
        assert_eq!(
            std::fs::metadata(path).unwrap().len(),
            event["bytes"].as_u64().unwrap()
        );
        assert!(event["latency_ms"].as_f64().unwrap() > 0.0);
    }
    assert!(
        stderr.iter().any(|l| l.starts_with("Saved 2.0 s")),
        "a readable line per save: {stderr:#?}"
    );
}

#[test]
fn status_reports_the_ring_of_a_running_capture() {
    let dir = TestDir::new("run-status");
    let socket = dir.join("control.sock");
    let socket = socket.to_str().unwrap();
    let status = |extra: &[&str]| {
        let mut args = vec!["status", "--socket", socket];
        args.extend(extra);
        gst_replay(&args)
    };
    let run = RunCommand::test_pattern(&dir)
        .set("--socket", socket)
        .start();
    std::thread::sleep(Duration::from_secs(3));

    let before = status(&["--json"]);
    assert!(
        before.status.success(),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(before["event"], "status", "{before}");
    assert!(
        before["buffered_seconds"].as_f64().unwrap() > 1.0,
        "{before}"
    );
    assert!(before["bytes"].as_u64().unwrap() > 0, "{before}");
    assert_eq!(before["saves"], 0, "{before}");

    let saved = save_through_socket(std::path::Path::new(socket), &["--last", "1s"]);
    assert_eq!(saved["event"], "saved", "{saved}");
    let after = status(&[]);
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    let summary = String::from_utf8_lossy(&after.stdout);
    assert!(summary.starts_with("buffered: "), "{summary}");
    assert!(summary.contains(" MB ("), "{summary}");
    assert!(
        summary.contains("saves: 1 written, 0 failed, 0 waiting to be written"),
        "{summary}"
    );
    let encoder = before["encoder"].as_str().unwrap();
    assert!(
        summary.ends_with(&format!("encoder: {encoder}\n")),
        "{summary}"
    );

    let (exit, stderr) = run.interrupt();
    assert!(exit.success(), "{stderr:#?}");
    let nothing = status(&[]);
    assert_eq!(nothing.status.code(), Some(1));
    let message = String::from_utf8_lossy(&nothing.stderr);
    assert!(
        message.contains(&format!("no gst-replay is running on {socket}")),
        "{message}"
    );
    assert!(
        message.contains("start one with `gst-replay run`"),
        "{message}"
    );
}

#[test]
fn screen_capture_under_xvfb_saves_on_hotkey_signal_and_command() {
    let mut display = VirtualDisplay::start("640x480");
    display.paint_test_bars();
    let dir = TestDir::new("run-x11");
    let socket = dir.join("control.sock");
    let mut run = RunCommand::test_pattern(&dir)
        .set("--source", "screen")
        .without("--screen-size")
        .set("--fps", "15")
        .set("--duration", "3s")
        .without("--hotkey")
        .env("DISPLAY", &display.name)
        .start();
    assert!(
        run.stderr_seen
            .iter()
            .any(|l| l.contains("screen (monitor 0) at 640x480")),
        "{:#?}",
        run.stderr_seen
    );
    std::thread::sleep(Duration::from_secs(4));

    display.press("alt+F10");
    let by_hotkey = run.next_event(SAVE);
    assert_eq!(
        (by_hotkey["event"].as_str(), by_hotkey["trigger"].as_str()),
        (Some("saved"), Some("hotkey")),
        "{by_hotkey}"
    );
    run.signal(libc::SIGUSR1);
    let by_signal = run.next_event(SAVE);
    assert_eq!(by_signal["trigger"], "signal", "{by_signal}");
    let save = gst_replay(&["save", "--socket", socket.to_str().unwrap()]);
    assert!(
        save.status.success(),
        "{}",
        String::from_utf8_lossy(&save.stderr)
    );
    let by_command = run.next_event(SAVE);
    assert_eq!(by_command["trigger"], "socket");

    let (status, _) = run.interrupt();
    assert!(status.success());
    for event in [&by_hotkey, &by_signal, &by_command] {
        let path = std::path::Path::new(event["path"].as_str().unwrap());
        assert_eq!(
            event["duration"], 3.0,
            "the requested --duration, exactly: {event}"
        );
        assert!(
            (ffprobe::format_duration(path) - 3.0).abs() < 1e-3,
            "{}",
            path.display()
        );
        let (frames, brightest, errors) = decode_summary(path);
        // Screen capture is variable-rate (frames are stamped when grabbed): the clip shows
        // exactly what the ring reported, about 15 fps x 3 s of it.
        assert_eq!(errors, "", "{}", path.display());
        assert_eq!(
            frames as u64,
            event["frames"].as_u64().unwrap(),
            "{}",
            path.display()
        );
        assert!(
            (40..=47).contains(&frames),
            "{}: {frames} frames",
            path.display()
        );
        assert!(
            brightest > 150.0,
            "{} shows a blank screen (max luma {brightest})",
            path.display()
        );
    }
}

#[test]
fn save_on_exit_writes_a_last_clip() {
    let dir = TestDir::new("run-save-on-exit");
    let mut run = RunCommand::test_pattern(&dir)
        .set("--duration", "2s")
        .flag("--save-on-exit")
        .without("--quiet")
        .start();
    std::thread::sleep(Duration::from_secs(3));
    run.signal(libc::SIGINT);
    let event = run.next_event(SAVE);
    assert_eq!(
        (event["event"].as_str(), event["trigger"].as_str()),
        (Some("saved"), Some("exit")),
        "{event}"
    );
    assert_eq!(event["duration"], 2.0);
    assert!(run.child.wait().unwrap().success());
    assert_eq!(dir.files_with_extension("clips", "mp4").len(), 1);
}

#[test]
fn a_second_instance_on_the_same_socket_is_refused() {
    let dir = TestDir::new("run-second-instance");
    let command = RunCommand::test_pattern(&dir)
        .set("--fps", "15")
        .without("--quiet");
    let first = command.start();
    let mut second_args = vec!["run".to_owned()];
    second_args.extend(command.args());
    let second_args: Vec<&str> = second_args.iter().map(String::as_str).collect();
    let second = gst_replay(&second_args);
    assert_eq!(second.status.code(), Some(1));
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("already running"), "{message}");
    assert!(
        !message.contains("Capturing"),
        "refused before capturing: {message}"
    );
    drop(first);
}

#[test]
fn keys_in_a_terminal_save_and_quit_under_a_live_status_line() {
    use std::io::Write;
    require_tool("script");
    let dir = TestDir::new("run-terminal");
    let command = format!(
        "{BINARY} run --source test --screen-size 320x240 --fps 30 --duration 3s --output-dir {} \
         --socket {} --hotkey none --quiet",
        dir.path.display(),
        dir.join("s.sock").display()
    );
    // `script` gives gst-replay a pseudo-terminal, as a person's shell would.
    let mut terminal = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut keys = terminal.stdin.take().unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let screen = std::sync::Arc::clone(&screen);
        let mut stdout = terminal.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut chunk) {
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        })
    };
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + START;
        while !screen.lock().unwrap().contains(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} on the terminal: {}",
                screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("replay buffer 3.");
    keys.write_all(b"s").unwrap();
    keys.flush().unwrap();
    wait_for("\"trigger\":\"key\"");
    wait_for("Saved 3.0 s");
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    assert!(terminal.wait().unwrap().success());
    reader.join().unwrap();
    let screen = screen.lock().unwrap().clone();
    assert!(screen.contains("Stopping (q pressed)."), "{screen}");
    assert!(
        screen.contains("encoder "),
        "the status line shows the encoder rate: {screen}"
    );
    // What the terminal shows of the JSON line: the text after its last carriage return.
    let json_line = screen
        .lines()
        .find(|l| l.contains("\"event\":\"saved\""))
        .unwrap();
    let shown = json_line
        .rsplit('\r')
        .next()
        .unwrap()
        .trim_start_matches("\u{1b}[2K");
    assert!(
        shown.starts_with('{'),
        "the JSON line stands alone: {json_line:?}"
    );
    assert_eq!(dir.files_with_extension("", "mp4").len(), 1);
}

/// A private session bus, and what `dbus-monitor` saw of notification calls on it.
struct SessionBus {
    bus: PrivateBus,
    monitor: std::process::Child,
    log: std::path::PathBuf,
}

impl SessionBus {
    fn start(dir: &TestDir) -> SessionBus {
        require_tool("dbus-monitor");
        let bus = PrivateBus::start();
        let log = dir.join("notifications.log");
        let monitor = std::process::Command::new("dbus-monitor")
            .args([
                "--address",
                &bus.address,
                "interface='org.freedesktop.Notifications'",
            ])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        SessionBus { bus, monitor, log }
    }

    fn seen(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
    }
}

#[test]
fn a_saved_clip_is_announced_by_a_desktop_notification_unless_quiet() {
    let dir = TestDir::new("run-notify");
    let bus = SessionBus::start(&dir);
    for quiet in [false, true] {
        let out = dir.join(if quiet { "quiet" } else { "loud" });
        let socket = dir.join(if quiet { "q.sock" } else { "l.sock" });
        let mut command = RunCommand::test_pattern(&dir)
            .set("--screen-size", "160x120")
            .set("--fps", "15")
            .set("--duration", "2s")
            .set("--output-dir", out.to_str().unwrap())
            .set("--socket", socket.to_str().unwrap())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.bus.address);
        if !quiet {
            command = command.without("--quiet");
        }
        let mut run = command.start();
        std::thread::sleep(Duration::from_secs(2));
        run.signal(libc::SIGUSR1);
        let event = run.next_event(SAVE);
        std::thread::sleep(Duration::from_millis(500));
        let (status, _) = run.interrupt();
        assert!(status.success());
        let seen = bus.seen();
        let path = event["path"].as_str().unwrap();
        if quiet {
            assert!(
                !seen.contains(out.to_str().unwrap()),
                "--quiet still notified: {seen}"
            );
        } else {
            assert!(seen.contains("member=Notify"), "no notification: {seen}");
            assert!(seen.contains("string \"Replay saved\""), "{seen}");
            assert!(
                seen.contains(path),
                "the notification names the file: {seen}"
            );
            // The hints argument is a{sv}, as the specification's Notify signature says.
            assert!(
                !seen.contains("variant       array"),
                "hints sent boxed in a variant: {seen}"
            );
        }
    }
}
