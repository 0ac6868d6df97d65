//! `gst-replay run` under Wayland, without a compositor: the desktop portal's ScreenCast
//! handshake against a fake portal (`fake_portal.py`) on a private session bus, and a real
//! PipeWire daemon whose "screen" is a GStreamer source. Clips are checked by decoding them.
// End to end on a Linux test machine: PipeWire, D-Bus and a fake desktop portal.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::session_bus::PrivateBus;
use common::*;

const START: Duration = Duration::from_secs(30);
/// For `run` to stop once the portal has said no, or stopped sharing.
const EXIT: Duration = Duration::from_secs(20);

/// The screen's picture: SMPTE colour bars, 320x240. A centred 1:1 crop keeps x 40 to 279:
/// white on its left edge, blue on its right one (a crop from the left would end in red). The
/// fallback test pattern is a ball on black.
const SCREEN_NODE: &str = "fake-screen";

/// PipeWire with what a screen share needs and no devices: the native protocol, nodes made
/// by clients (the screen, the capture), links, and a driver for graphs without one.
const PIPEWIRE_CONF: &str = r#"
context.properties = {
    core.daemon = true
    core.name = pipewire-0
    support.dbus = false
}
context.spa-libs = {
    support.* = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-protocol-native }
    # Without it clients never get permissions, and every call waits forever.
    { name = libpipewire-module-access }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-link-factory }
]
context.objects = [
    { factory = spa-node-factory
        args = {
            factory.name = support.node.driver
            node.name = Dummy-Driver
            priority.driver = 20000
        }
    }
]
"#;

/// What every process of the fake desktop shares: its runtime directory (PipeWire's socket),
/// its state directory (the restore token) and its session bus; no X display.
struct Session {
    runtime: PathBuf,
    state: PathBuf,
    bus_address: String,
}

impl Session {
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .env("XDG_STATE_HOME", &self.state)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("WAYLAND_DISPLAY", "wayland-test")
            .env_remove("DISPLAY")
            .env_remove("PIPEWIRE_RUNTIME_DIR")
            .env_remove("PIPEWIRE_REMOTE");
        command
    }

    /// The id of the PipeWire node called `name`, if there is one yet.
    fn node_id(&self, name: &str) -> Option<u64> {
        let output = self
            .command("pw-dump")
            .stderr(Stdio::null())
            .output()
            .ok()?;
        // pw-dump prints a second array when the graph changes while it dumps.
        let objects: serde_json::Value = serde_json::Deserializer::from_slice(&output.stdout)
            .into_iter()
            .next()?
            .ok()?;
        objects.as_array()?.iter().find_map(|object| {
            let is_node = object["type"].as_str()?.ends_with(":Node");
            (is_node && object["info"]["props"]["node.name"] == name)
                .then(|| object["id"].as_u64())?
        })
    }
}

/// Children killed on drop, the last started first.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A Wayland desktop as the portal sees it, minus the compositor: a private session bus, a
/// private PipeWire daemon, a screen published on it as a video source node, and the fake
/// portal.
struct FakeDesktop {
    session: Session,
    portal_log: PathBuf,
    portal_pid: i32,
    // Stopped before the bus they talk on.
    _processes: Processes,
    _bus: PrivateBus,
}

impl FakeDesktop {
    /// `portal_args` go to fake_portal.py (`--size`, `--start-response`).
    fn start(dir: &TestDir, portal_args: &[&str]) -> FakeDesktop {
        for tool in [
            "pipewire",
            "pw-dump",
            "pw-link",
            "gst-launch-1.0",
            "/usr/bin/python3",
        ] {
            require_tool(tool);
        }
        let runtime = dir.join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let bus = PrivateBus::start();
        let session = Session {
            runtime,
            state: dir.join("state"),
            bus_address: bus.address.clone(),
        };
        let mut processes = Processes::default();
        let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();

        let conf = dir.join("pipewire.conf");
        std::fs::write(&conf, PIPEWIRE_CONF).unwrap();
        let mut pipewire = session.command("pipewire");
        pipewire.arg("-c").arg(&conf);
        processes.0.push(
            pipewire
                .stdout(Stdio::null())
                .stderr(log("pipewire.log"))
                .spawn()
                .unwrap(),
        );
        wait_for(
            || session.runtime.join("pipewire-0").exists(),
            "the PipeWire daemon did not open its socket",
            &dir.join("pipewire.log"),
        );

        let mut screen = session.command("gst-launch-1.0");
        screen
            // pipewiresink 0.3.65 crashes on buffers from elements that do not take its
            // pool (videobox, videoconvert): the source writes into it directly.
            .args(["-q", "videotestsrc", "is-live=true", "pattern=smpte"])
            .args([
                "!",
                "video/x-raw,format=BGRx,width=320,height=240,framerate=30/1",
            ])
            .args(["!", "pipewiresink", "mode=provide"])
            .arg(format!(
                "stream-properties=props,media.class=Video/Source,node.name={SCREEN_NODE}"
            ));
        processes.0.push(
            screen
                .stdout(Stdio::null())
                .stderr(log("screen.log"))
                .spawn()
                .unwrap(),
        );
        wait_for(
            || session.node_id(SCREEN_NODE).is_some(),
            "the screen (pipewiresink mode=provide) did not appear in PipeWire",
            &dir.join("screen.log"),
        );

        let portal_log = dir.join("portal.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_portal.py");
        let mut portal = session.command("/usr/bin/python3");
        portal
            .arg(script)
            .arg("--pipewire-socket")
            .arg(session.runtime.join("pipewire-0"))
            .args(["--node-name", SCREEN_NODE, "--log"])
            .arg(&portal_log)
            .args(portal_args);
        let mut portal = portal
            .stdout(Stdio::piped())
            .stderr(log("portal.err"))
            .spawn()
            .unwrap();
        let portal_pid = portal.id() as i32;
        let ready = portal.stdout.take().unwrap();
        processes.0.push(portal);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(ready), &mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the fake portal did not start (it needs python3-dbus and python3-gi; run the README's \
             test command, which installs them): {}",
            std::fs::read_to_string(dir.join("portal.err")).unwrap_or_default()
        );
        FakeDesktop {
            session,
            portal_log,
            portal_pid,
            _processes: processes,
            _bus: bus,
        }
    }

    fn run(&self, args: &[&str]) -> Running {
        let mut command = self.session.command(BINARY);
        command.arg("run").args(args);
        Running::spawn(command)
    }

    /// The portal calls seen so far, one JSON object each.
    fn portal_calls(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.portal_log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn portal_call(&self, name: &str) -> Option<serde_json::Value> {
        self.portal_calls()
            .into_iter()
            .find(|call| call["call"] == name)
    }

    /// What the desktop's "stop sharing" does: the portal closes the session.
    fn stop_sharing(&self) {
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(self.portal_pid, libc::SIGUSR1) }, 0);
    }

    fn restore_token_file(&self) -> PathBuf {
        self.session
            .state
            .join("gst-replay/screencast-restore-token")
    }
}

fn wait_for(ready: impl Fn() -> bool, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what}; run the README's test command, which installs pipewire and \
             gstreamer1.0-pipewire. Its log: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The average colour, as RGB, of the 4 columns at the left (or right) edge of the clip's
/// middle frame, over its top 40 rows.
fn edge_colour(path: &Path, right: bool) -> [u8; 3] {
    let x = if right { "iw-4" } else { "0" };
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", "1.5", "-i"])
        .arg(path)
        .args(["-vf", &format!("crop=4:40:{x}:0,scale=1:1:flags=area")])
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    output.stdout.as_slice().try_into().unwrap_or_else(|_| {
        panic!(
            "ffmpeg gave no pixel: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn a_wayland_screen_is_captured_through_the_portal_until_the_desktop_stops_sharing() {
    require_tool("ffmpeg");
    let dir = TestDir::new("wayland-capture");
    // The portal announces logical pixels: half the stream's size, as on a display at 200 %.
    let desktop = FakeDesktop::start(&dir, &["--size", "160x120"]);
    let socket = dir.join("control.sock");
    let out = dir.join("clips");
    let mut run = desktop.run(&[
        "--source",
        "screen",
        "--aspect",
        "1:1",
        "--fps",
        "15",
        "--duration",
        "3s",
        "--encoder",
        "software",
        "--audio",
        "none",
        "--hotkey",
        "none",
        "--quiet",
        "--output-dir",
        out.to_str().unwrap(),
        "--socket",
        socket.to_str().unwrap(),
    ]);
    run.wait_for_stderr("Pipeline:", START);
    let pipeline = run.stderr_seen.last().unwrap().clone();
    let node = desktop.session.node_id(SCREEN_NODE).unwrap();
    assert!(
        pipeline.contains(" pipewiresrc fd=") && pipeline.contains(&format!(" path={node} ")),
        "the portal's connection and node {node}: {pipeline}"
    );
    // Frames flow once the capture is linked to the screen; then the 3 s ring fills.
    let linked = Instant::now() + START;
    while desktop.portal_call("linked").is_none() {
        assert!(
            Instant::now() < linked,
            "the capture never asked for the screen's node: {:#?}",
            desktop.portal_calls()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(3500));
    let saved = save_through_socket(&socket, &[]);
    assert_eq!(saved["event"], "saved", "{saved}");

    desktop.stop_sharing();
    let (status, stderr) = run.wait_exit(EXIT);
    assert!(status.success(), "{stderr:#?}");
    assert!(
        stderr
            .iter()
            .any(|l| l == "Stopping (the desktop stopped sharing the screen)."),
        "{stderr:#?}"
    );
    assert!(
        stderr.iter().any(|l| l.contains(
            "arrives at 320x240 (the portal announced 160x120): capturing 240x240 of it"
        )),
        "{stderr:#?}"
    );

    let calls = desktop.portal_calls();
    let names: Vec<&str> = calls.iter().filter_map(|c| c["call"].as_str()).collect();
    assert_eq!(
        names
            .iter()
            .filter(|&&n| n != "linked")
            .copied()
            .collect::<Vec<_>>(),
        [
            "CreateSession",
            "SelectSources",
            "Start",
            "OpenPipeWireRemote",
            "Session.Closed",
            "Session.Close"
        ],
        "{calls:#?}"
    );
    let selected = &desktop.portal_call("SelectSources").unwrap()["options"];
    assert_eq!(selected["types"], 1, "a monitor: {selected}");
    assert_eq!(
        selected["cursor_mode"], 2,
        "the cursor drawn in: {selected}"
    );
    assert_eq!(selected["persist_mode"], 2, "{selected}");
    assert_eq!(
        std::fs::read_to_string(desktop.restore_token_file()).unwrap(),
        "fake-restore-token-1\n",
        "the restore token is kept for the next run"
    );

    let path = Path::new(saved["path"].as_str().unwrap());
    assert_eq!(saved["duration"], 3.0, "{saved}");
    assert!((ffprobe::format_duration(path) - 3.0).abs() < 1e-3);
    let (frames, brightest, errors) = decode_summary(path);
    assert_eq!(errors, "");
    assert!(
        brightest > 150.0,
        "not the black of a blank screen: {brightest}"
    );
    assert_eq!(frames as u64, saved["frames"].as_u64().unwrap());
    assert!((44..=46).contains(&frames), "15 fps for 3 s: {frames}");
    let sizes: Vec<_> = ffprobe::streams(path)
        .iter()
        .map(|stream| (stream.width, stream.height))
        .collect();
    assert_eq!(sizes, [(Some(240), Some(240))]);
    // The bars, centred: white on the left edge, blue on the right one.
    let left = edge_colour(path, false);
    assert!(left.iter().all(|&c| c > 150), "white on the left: {left:?}");
    let [red, green, blue] = edge_colour(path, true);
    assert!(
        blue > 150 && red < 80 && green < 80,
        "blue on the right: {:?}",
        [red, green, blue]
    );
}

#[test]
fn a_cancelled_dialog_is_an_error_and_nothing_is_captured() {
    let dir = TestDir::new("wayland-cancel");
    let desktop = FakeDesktop::start(&dir, &["--start-response", "1"]);
    // A token from an earlier run, which the portal may honour without a dialog.
    std::fs::create_dir_all(desktop.restore_token_file().parent().unwrap()).unwrap();
    std::fs::write(desktop.restore_token_file(), "an-earlier-token\n").unwrap();
    let out = dir.join("clips");
    let mut run = desktop.run(&[
        "--encoder",
        "software",
        "--audio",
        "none",
        "--hotkey",
        "none",
        "--output-dir",
        out.to_str().unwrap(),
        "--socket",
        dir.join("control.sock").to_str().unwrap(),
    ]);
    let (status, stderr) = run.wait_exit(EXIT);
    assert_eq!(status.code(), Some(1), "{stderr:#?}");
    assert!(
        stderr.iter().any(|l| l
            == "error: the screen-sharing dialog was cancelled, so there is nothing to capture; \
                run again and choose a screen to share, or use --source test"),
        "{stderr:#?}"
    );
    assert!(
        !stderr.iter().any(|l| l.starts_with("Pipeline:")),
        "nothing was captured: {stderr:#?}"
    );
    let selected = &desktop.portal_call("SelectSources").unwrap()["options"];
    assert_eq!(selected["restore_token"], "an-earlier-token", "{selected}");
    assert!(
        desktop.portal_call("Session.Close").is_some(),
        "the session is closed: {:#?}",
        desktop.portal_calls()
    );
    assert!(desktop.portal_call("OpenPipeWireRemote").is_none());
    assert_eq!(dir.files_with_extension("clips", "mp4").len(), 0);
}
