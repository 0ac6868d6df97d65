//! `gst-replay run`: the capture pipeline, the save triggers and the reports.

pub mod clip;
mod notify;
#[cfg(unix)]
mod portal_capture;
pub mod report;
pub mod signals;
mod status;
mod terminal;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gst::prelude::*;

use crate::cli::{RunArgs, MAX_POST_ROLL_SECONDS};
use crate::control::{self, Request};
use crate::hotkey::Hotkey;
use crate::pipeline::{PipelineRequest, Platform, RING_NAME};
use crate::plan;
use clip::{ClipDefaults, ClipRequest};
use report::Trigger;

/// How long a `gst-replay save` client may wait for its clip, after its post-roll.
const SOCKET_SAVE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long saves still being written may delay the exit, after their post-roll.
const EXIT_SAVE_TIMEOUT: Duration = Duration::from_secs(120);

/// What the trigger threads ask of the main loop.
pub enum RunEvent {
    Save {
        clip: ClipRequest,
        trigger: Trigger,
        reply: Option<Sender<serde_json::Value>>,
    },
    Status(Sender<serde_json::Value>),
    Stop(String),
}

impl RunEvent {
    pub fn save(clip: ClipRequest, trigger: Trigger) -> RunEvent {
        RunEvent::Save {
            clip,
            trigger,
            reply: None,
        }
    }
}

/// A save that was requested and has not been reported yet.
struct PendingSave {
    trigger: Trigger,
    reply: Option<Sender<serde_json::Value>>,
    /// Its post-roll: the clip cannot be finished before that has been captured.
    post_roll: Duration,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let plan = plan::resolve(&args.capture, Platform::current(), plan::Purpose::Run)?;
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    let mut request = plan.request;
    check_output_dir(&request.output_dir)?;
    // Reports and notifications then name files wherever they are read.
    request.output_dir = std::path::absolute(&request.output_dir)?;
    let hotkey = parse_hotkey(&args.hotkey)?;
    let socket_path = args
        .socket
        .clone()
        .unwrap_or_else(control::default_socket_path);
    // Binding first refuses a second instance before anything is captured.
    let server = control::server::Server::bind(&socket_path)?;
    // After every check that needs nobody's attention: this may show a dialog.
    let screencast = open_screencast(&mut request, args.capture.screen_size.is_some())?;
    #[cfg(not(unix))]
    let _ = &screencast; // always None there

    let line = request.launch_line();
    if let Some(missing) = crate::probe::missing_elements(line.factories()) {
        bail!("the pipeline needs {missing}");
    }
    let pipeline = gst::parse::launch(&line.description())
        .with_context(|| format!("cannot build the pipeline {}", line.shell_command()))?
        .downcast::<gst::Pipeline>()
        .expect("a launch line with several elements is a pipeline");
    #[cfg(unix)]
    if screencast.is_some() {
        portal_capture::prepare(&pipeline, &request);
    }
    let ring = pipeline
        .by_name(RING_NAME)
        .expect("the launch line names the ring");
    let key_post_roll = key_post_roll(args.post_roll);
    describe(&request, &socket_path, key_post_roll);

    let (events, inbox) = mpsc::channel();
    let _signals = signals::spawn(events.clone()).context("cannot install signal handlers")?;
    let _hotkey = hotkey.and_then(|hotkey| listen_hotkey(&hotkey, events.clone()));
    let _terminal = terminal::spawn(events.clone(), key_post_roll);
    #[cfg(unix)]
    let _screencast_closed = screencast.as_ref().map(|session| {
        let events = events.clone();
        session.watch_closed(move || {
            let _ = events.send(RunEvent::Stop(
                "the desktop stopped sharing the screen".to_owned(),
            ));
        })
    });
    let _server = {
        let events = events.clone();
        let default_post_roll = args.post_roll;
        server.spawn(move |request| answer_control_request(request, &events, default_post_roll))
    };

    pipeline.set_state(gst::State::Playing).map_err(|_| {
        anyhow::anyhow!(
            "the pipeline would not start: {}",
            first_error(&pipeline).unwrap_or_else(|| "no reason given".into())
        )
    })?;
    let mut session = Session {
        request: &request,
        clip_defaults: ClipDefaults {
            last: request.duration,
            post: args.post_roll,
            clear: args.clear_on_save,
        },
        ring,
        pipeline: &pipeline,
        pending: HashMap::new(),
        notify: !args.quiet,
        status: std::io::stderr()
            .is_terminal()
            .then(|| status::StatusLine::new(terminal::key_help(key_post_roll))),
    };
    let outcome = session.main_loop(&inbox);
    if outcome.is_ok() && args.save_on_exit {
        // Nothing is captured after exit: a post-roll could never be filled.
        let last_only = ClipRequest {
            post: Some(0.0),
            ..ClipRequest::default()
        };
        session.save(last_only, Trigger::Exit, None);
    }
    session.finish_pending(EXIT_SAVE_TIMEOUT);
    if let Some(status) = session.status.as_mut() {
        status.clear();
    }
    let _ = pipeline.set_state(gst::State::Null);
    // Only now: closing the session ends the stream the pipeline was reading.
    #[cfg(unix)]
    drop(screencast);
    outcome
}

#[cfg(unix)]
fn open_screencast(
    request: &mut PipelineRequest,
    screen_size_given: bool,
) -> anyhow::Result<Option<crate::portal::screencast::ScreenCastSession>> {
    portal_capture::open(request, screen_size_given)
}

/// The portal is a Linux desktop's; the plan never chooses it elsewhere.
#[cfg(not(unix))]
fn open_screencast(
    _request: &mut PipelineRequest,
    _screen_size_given: bool,
) -> anyhow::Result<Option<()>> {
    Ok(None)
}

/// The `p` key's post-roll: the run's own, else 10 s.
fn key_post_roll(run_post_roll: f64) -> f64 {
    if run_post_roll > 0.0 {
        run_post_roll
    } else {
        clip::KEY_POST_ROLL_SECONDS
    }
}

fn check_output_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the output directory {}; choose another with --output-dir",
            dir.display()
        )
    })?;
    let probe = dir.join(format!(".gst-replay-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| {
        format!(
            "cannot write to the output directory {}; choose another with --output-dir",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn parse_hotkey(text: &str) -> anyhow::Result<Option<Hotkey>> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    Ok(Some(
        text.parse::<Hotkey>()
            .map_err(|err| anyhow::anyhow!("--hotkey: {err}"))?,
    ))
}

/// What a hotkey press does: save the last --duration.
#[cfg(any(target_os = "linux", windows))]
fn save_on_press(events: Sender<RunEvent>) -> Box<dyn Fn() + Send> {
    Box::new(move || {
        let _ = events.send(RunEvent::save(ClipRequest::default(), Trigger::Hotkey));
    })
}

/// A hotkey that cannot be had is no reason to stop: the other triggers still work.
#[cfg(any(target_os = "linux", windows))]
fn warn_if_disabled<Listener>(
    listening: Result<Listener, crate::hotkey::HotkeyError>,
) -> Option<Listener> {
    listening
        .inspect_err(|err| eprintln!("warning: hotkey disabled: {err}"))
        .ok()
}

#[cfg(target_os = "linux")]
fn listen_hotkey(
    hotkey: &Hotkey,
    events: Sender<RunEvent>,
) -> Option<crate::hotkey::x11::Listener> {
    if crate::display::display_kind() != crate::display::DisplayKind::X11 {
        eprintln!(
            "note: the global hotkey needs X11; under Wayland bind `gst-replay save` to a key in your \
             desktop's keyboard shortcut settings"
        );
        return None;
    }
    warn_if_disabled(crate::hotkey::x11::listen(
        None,
        hotkey,
        save_on_press(events),
    ))
}

#[cfg(windows)]
fn listen_hotkey(
    hotkey: &Hotkey,
    events: Sender<RunEvent>,
) -> Option<crate::hotkey::windows::Listener> {
    warn_if_disabled(crate::hotkey::windows::listen(
        hotkey,
        save_on_press(events),
    ))
}

#[cfg(not(any(target_os = "linux", windows)))]
fn listen_hotkey(_hotkey: &Hotkey, _events: Sender<RunEvent>) -> Option<()> {
    eprintln!(
        "note: the global hotkey is not implemented on this platform yet; use `gst-replay save`"
    );
    None
}

fn describe(request: &PipelineRequest, socket: &Path, key_post_roll: f64) {
    let region = request.region();
    let audio = match &request.audio {
        Some(audio) => {
            let tracks: Vec<&str> = audio.inputs.iter().map(|input| input.name()).collect();
            format!(
                ", {} ({} at {} kbit/s)",
                tracks.join(" and "),
                audio.encoder,
                audio.bitrate_kbps
            )
        }
        None => ", no audio".to_owned(),
    };
    eprintln!(
        "Capturing {} at {}x{}, {} fps, with {} (preset {}){audio} into a {} s replay ring.",
        request.source,
        region.width,
        region.height,
        request.fps,
        request.encoder.factory(request.platform),
        request.preset.name,
        request.duration
    );
    eprintln!("Clips go to {}.", request.output_dir.display());
    let signal_command = signals::save_command()
        .map(|command| format!("{command} "))
        .unwrap_or_default();
    eprintln!(
        "Save with the hotkey, `s` here (`c` saves and clears, `p` adds the next {key_post_roll} s), \
         {signal_command}or `gst-replay save --socket {}`; stop with Ctrl-C.",
        socket.display()
    );
    eprintln!("Pipeline: {}", request.launch_line().shell_command());
}

/// Runs on the control server's threads: hands the request to the main loop and waits.
fn answer_control_request(
    request: Request,
    events: &Sender<RunEvent>,
    default_post_roll: f64,
) -> serde_json::Value {
    let (reply, answer) = mpsc::channel();
    let mut timeout = SOCKET_SAVE_TIMEOUT;
    let event = match request {
        Request::Save {
            last_ns,
            post_ns,
            clear,
            path,
        } => {
            let seconds = |ns: u64| ns as f64 / 1e9;
            let clip = ClipRequest {
                last: last_ns.map(seconds),
                // The client checks its range; a hand-written request may not.
                post: post_ns.map(|ns| seconds(ns).min(MAX_POST_ROLL_SECONDS)),
                clear,
                path,
            };
            timeout += Duration::from_secs_f64(clip.post.unwrap_or(default_post_roll));
            RunEvent::Save {
                clip,
                trigger: Trigger::Socket,
                reply: Some(reply),
            }
        }
        Request::Status => RunEvent::Status(reply),
    };
    if events.send(event).is_err() {
        return serde_json::json!({"event": "error", "error": "gst-replay is shutting down"});
    }
    answer.recv_timeout(timeout).unwrap_or_else(
        |_| serde_json::json!({"event": "error", "error": "the save did not finish in time"}),
    )
}

fn first_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    let message = bus.timed_pop_filtered(
        gst::ClockTime::from_mseconds(500),
        &[gst::MessageType::Error],
    )?;
    match message.view() {
        gst::MessageView::Error(err) => Some(format!(
            "{} ({})",
            err.error(),
            err.debug().unwrap_or_default()
        )),
        _ => None,
    }
}

struct Session<'a> {
    request: &'a PipelineRequest,
    clip_defaults: ClipDefaults,
    ring: gst::Element,
    pipeline: &'a gst::Pipeline,
    pending: HashMap<String, PendingSave>,
    notify: bool,
    status: Option<status::StatusLine>,
}

impl Session<'_> {
    fn main_loop(&mut self, inbox: &Receiver<RunEvent>) -> anyhow::Result<()> {
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let mut next_status = Instant::now();
        loop {
            match inbox.recv_timeout(Duration::from_millis(50)) {
                Ok(RunEvent::Save {
                    clip,
                    trigger,
                    reply,
                }) => self.save(clip, trigger, reply),
                Ok(RunEvent::Status(reply)) => {
                    let _ = reply.send(self.stats_json());
                }
                Ok(RunEvent::Stop(reason)) => {
                    self.say(&format!("Stopping ({reason})."));
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            while let Some(message) = bus.pop() {
                self.handle_message(&message)?;
            }
            if Instant::now() >= next_status {
                next_status = Instant::now() + Duration::from_secs(1);
                if let Some(status) = self.status.as_mut() {
                    status.update(&self.ring.property::<gst::Structure>("stats"));
                }
            }
        }
    }

    fn handle_message(&mut self, message: &gst::Message) -> anyhow::Result<()> {
        match message.view() {
            gst::MessageView::Error(err) => bail!(
                "{} ({})",
                err.error(),
                err.debug().map(|d| d.to_string()).unwrap_or_default()
            ),
            gst::MessageView::Eos(_) => bail!("the capture source ended"),
            gst::MessageView::Warning(warning) => {
                self.say(&format!("warning: {}", warning.error()))
            }
            gst::MessageView::Element(element) => {
                if let Some(structure) = element.structure() {
                    self.report(structure);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn save(
        &mut self,
        request: ClipRequest,
        trigger: Trigger,
        reply: Option<Sender<serde_json::Value>>,
    ) {
        let clip = request.resolve(&self.clip_defaults);
        // A save that fails at once posts its replay-failed before the bus is read again.
        let id = clip::request(&self.ring, &clip);
        let pending = PendingSave {
            trigger,
            reply,
            post_roll: Duration::from_secs_f64(clip.post_roll_seconds()),
        };
        self.pending.insert(id, pending);
    }

    /// A save's last message (`replay-saved`, `replay-failed`) ends it; others, such as
    /// `replay-writing`, leave it pending.
    fn report(&mut self, structure: &gst::StructureRef) {
        let Ok(id) = structure.get::<String>("id") else {
            return;
        };
        let Some(trigger) = self.pending.get(&id).map(|pending| pending.trigger) else {
            return;
        };
        let Some(event) = report::event_from_message(structure, trigger) else {
            return;
        };
        let pending = self.pending.remove(&id).expect("looked up above");
        self.publish(event, pending.reply);
    }

    /// Prints a finished save's event, notifies, and answers whoever asked for it.
    fn publish(&mut self, event: serde_json::Value, reply: Option<Sender<serde_json::Value>>) {
        // stdout and stderr may share the terminal: the JSON line must not follow the status.
        if let Some(status) = self.status.as_mut() {
            status.clear();
        }
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{event}");
        let _ = stdout.flush();
        drop(stdout);
        let line = report::human_line(&event);
        self.say(&line);
        if self.notify {
            let summary = if event["event"] == "saved" {
                "Replay saved"
            } else {
                "Replay not saved"
            };
            notify::notify(summary.to_owned(), line);
        }
        if let Some(reply) = reply {
            let _ = reply.send(event);
        }
    }

    /// Waits for saves still being written (capture goes on meanwhile, so post-rolls fill),
    /// so their reports are not lost at exit.
    fn finish_pending(&mut self, limit: Duration) {
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let longest_post_roll = self
            .pending
            .values()
            .map(|pending| pending.post_roll)
            .max()
            .unwrap_or_default();
        let deadline = Instant::now() + longest_post_roll + limit;
        while !self.pending.is_empty() && Instant::now() < deadline {
            if let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
                if let gst::MessageView::Element(element) = message.view() {
                    if let Some(structure) = element.structure() {
                        self.report(structure);
                    }
                }
            }
        }
    }

    fn stats_json(&self) -> serde_json::Value {
        let stats = self.ring.property::<gst::Structure>("stats");
        let field = |name| stats.get::<u64>(name).unwrap_or_default();
        serde_json::json!({
            "event": "status",
            "buffered_seconds": field("duration") as f64 / 1e9,
            "bytes": field("bytes"),
            "frames": field("frames"),
            "keyframes": field("keyframes"),
            "saves": field("saves"),
            "failed_saves": field("failed-saves"),
            // Saves requested but not written yet (waiting for their post-roll).
            "pending_saves": field("pending-saves"),
            "encoder": self.request.encoder.factory(self.request.platform),
        })
    }

    fn say(&mut self, line: &str) {
        if let Some(status) = self.status.as_mut() {
            status.clear();
        }
        eprintln!("{line}");
    }
}
