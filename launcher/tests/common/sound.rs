//! Sound for the launcher's tests: a private PulseAudio server whose default output can be
//! recorded from its monitor, as `--audio system` records a desktop's, and a metronome that
//! flashes the screen and ticks on that output at the same instants.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{require_tool, VirtualDisplay};

/// The default output of a [`SoundServer`]: a sink that plays nowhere, in real time, and
/// whose monitor (`@DEFAULT_MONITOR@`) hears everything played into it.
pub const NULL_SINK: &str = "replay_test";

const STARTUP_LIMIT: Duration = Duration::from_secs(10);

/// A PulseAudio daemon for one test, killed on drop.
///
/// It is started as an ordinary per-user daemon with everything it keeps (state, cookie,
/// runtime directory, socket) in the test's directory, so it neither finds nor disturbs a
/// sound server the machine or the desktop runs:
///
/// - `-n` skips `default.pa`: no sound cards, no autodetection, no D-Bus or X11 modules;
///   the two `--load`s give it a null sink and a socket that needs no cookie.
/// - `norewinds=1`: otherwise, when a recording stream connects to the monitor, the sink
///   lowers its latency and rewinds what it had already rendered: the stream playing into it
///   saw its clock jump (the metronome lost a flash) and the recording's first second lost
///   some 35 ms of ticks.
/// - `--exit-idle-time=-1 --disallow-exit`: it lives as long as the test, not until it has
///   been idle for a while or a client asks it to leave.
/// - As root (as in CI) it warns that it "is not intended to be run as root (unless --system
///   is specified)" and runs anyway; `--system` is not wanted, as it needs a `pulse` user
///   and `/var/run/pulse`. Root also lets it raise its priority; where the container forbids
///   that (RLIMIT_RTPRIO), it says so and carries on.
/// - Without `DISPLAY` and `DBUS_SESSION_BUS_ADDRESS` it registers nowhere, so a desktop's
///   own server keeps its D-Bus name; it warns that it cannot reach D-Bus.
pub struct SoundServer {
    /// `unix:<socket>`, for `PULSE_SERVER`.
    pub address: String,
    /// Where clients keep the cookie they look for even though the socket needs none; without
    /// it libpulse writes one into the real home directory.
    cookie: PathBuf,
    log: PathBuf,
    daemon: Child,
}

impl SoundServer {
    /// Starts the daemon in `dir` and waits until `pactl info` gets an answer. Fails (never
    /// skips) when it cannot: system audio is what this server exists to test.
    pub fn start(dir: &Path) -> SoundServer {
        require_tool("pulseaudio");
        require_tool("pactl");
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("native");
        let log = dir.join("pulseaudio.log");
        let daemon = Command::new("pulseaudio")
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "-n",
                "--use-pid-file=no",
                "--log-target=stderr",
            ])
            .arg(format!(
                "--load=module-null-sink sink_name={NULL_SINK} norewinds=1"
            ))
            .arg(format!(
                "--load=module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir)
            .env("PULSE_RUNTIME_PATH", dir)
            .env_remove("DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("PULSE_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("pulseaudio starts");
        let mut server = SoundServer {
            address: format!("unix:{}", socket.display()),
            cookie: dir.join("cookie"),
            log,
            daemon,
        };
        server.wait_until_it_answers();
        let default_sink = server.pactl(&["get-default-sink"]);
        let default_sink = String::from_utf8_lossy(&default_sink.stdout)
            .trim()
            .to_owned();
        if default_sink != NULL_SINK {
            server.fail(&format!(
                "its default output is {default_sink:?}, not the null sink {NULL_SINK}"
            ));
        }
        server
    }

    /// The variables that point a client (pactl, GStreamer, gst-replay) at this server.
    pub fn client_env(&self) -> [(&'static str, String); 2] {
        [
            ("PULSE_SERVER", self.address.clone()),
            ("PULSE_COOKIE", self.cookie.display().to_string()),
        ]
    }

    pub fn pactl(&self, args: &[&str]) -> std::process::Output {
        Command::new("pactl")
            .args(args)
            .envs(self.client_env())
            .stdin(Stdio::null())
            .output()
            .expect("pactl runs")
    }

    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + STARTUP_LIMIT;
        loop {
            if let Some(status) = self.daemon.try_wait().unwrap() {
                self.fail(&format!("pulseaudio exited ({status})"));
            }
            let info = self.pactl(&["info"]);
            if info.status.success() {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!(
                    "`pactl info` got no answer within {STARTUP_LIMIT:?}: {}",
                    String::from_utf8_lossy(&info.stderr).trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn fail(&self, reason: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!(
            "the test's PulseAudio server did not start: {reason}. Run the README's test command \
             (scripts/test.sh), which installs pulseaudio and pulseaudio-utils. Its log:\n{log}"
        );
    }

    /// Whether anything is playing into the server.
    fn has_sink_inputs(&self) -> bool {
        let inputs = self.pactl(&["list", "short", "sink-inputs"]);
        inputs.status.success() && !inputs.stdout.is_empty()
    }
}

impl Drop for SoundServer {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A screen that turns white and a 1 kHz tick on the default output at the start of every
/// second, for as long as it lives. Flash and tick come from one GStreamer pipeline, whose
/// sinks render both at the same clock time, so a recording that keeps sound and picture
/// together shows each tick with its flash.
pub struct Metronome {
    player: Child,
}

impl Metronome {
    /// Fills a `width` x `height` window at the top-left of `display` (the whole screen when
    /// that is its size) and plays into `sound`'s default output; returns once it plays.
    /// GStreamer's messages go to `log`.
    pub fn start(
        display: &VirtualDisplay,
        (width, height): (u32, u32),
        sound: &SoundServer,
        log: &Path,
    ) -> Metronome {
        let player = Command::new("gst-launch-1.0")
            .arg("-q")
            // `blink` shows the background colour on even frames: white (background) at 2 fps
            // is white for the first half of every second. Neither source is live, so the
            // pipeline prerolls both sinks before its clock starts; with live sources the
            // sound server got the first two or three seconds of ticks 40 to 65 ms early
            // each second.
            .args([
                "videotestsrc",
                "pattern=blink",
                "background-color=0xffffffff",
                "foreground-color=0xff000000",
                "!",
            ])
            .arg(format!(
                "video/x-raw,width={width},height={height},framerate=2/1"
            ))
            .args(["!", "ximagesink"])
            // 30 periods of 1 kHz: a 30 ms tick at the start of every second.
            .args([
                "audiotestsrc",
                "wave=ticks",
                "freq=1000",
                "sine-periods-per-tick=30",
                "!",
                "pulsesink",
            ])
            .env("DISPLAY", &display.name)
            .envs(sound.client_env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(log).unwrap())
            .spawn()
            .expect("gst-launch-1.0 runs the metronome");
        let mut metronome = Metronome { player };
        let deadline = Instant::now() + STARTUP_LIMIT;
        while !sound.has_sink_inputs() {
            if metronome.player.try_wait().unwrap().is_some() || Instant::now() > deadline {
                panic!(
                    "the metronome plays nothing (it needs gstreamer1.0-x and \
                     gstreamer1.0-plugins-good): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        metronome
    }
}

impl Drop for Metronome {
    fn drop(&mut self) {
        let _ = self.player.kill();
        let _ = self.player.wait();
    }
}
