//! `gst-replay run`: the capture pipeline, the save triggers and the reports.

mod notify;
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

use crate::cli::RunArgs;
use crate::control::{self, Request};
use crate::hotkey::Hotkey;
use crate::pipeline::{PipelineRequest, Platform, RING_NAME};
use crate::plan;
use report::Trigger;

/// How long a `gst-replay save` client may wait for its clip.
const SOCKET_SAVE_TIMEOUT: Duration = Duration::from_secs(300);

/// What the trigger threads ask of the main loop.
pub enum RunEvent {
    Save {
        last: Option<f64>,
        path: Option<String>,
        trigger: Trigger,
        reply: Option<Sender<serde_json::Value>>,
    },
    Status(Sender<serde_json::Value>),
    Stop(String),
}

impl RunEvent {
    pub fn save(last: Option<f64>, trigger: Trigger) -> RunEvent {
        RunEvent::Save {
            last,
            path: None,
            trigger,
            reply: None,
        }
    }
}

/// A save that was requested and has not been reported yet.
struct PendingSave {
    trigger: Trigger,
    reply: Option<Sender<serde_json::Value>>,
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

    let line = request.launch_line();
    let pipeline = gst::parse::launch(&line.description())
        .with_context(|| format!("cannot build the pipeline {}", line.shell_command()))?
        .downcast::<gst::Pipeline>()
        .expect("a launch line with several elements is a pipeline");
    let ring = pipeline
        .by_name(RING_NAME)
        .expect("the launch line names the ring");
    describe(&request, &socket_path);

    let (events, inbox) = mpsc::channel();
    let _signals = signals::spawn(events.clone()).context("cannot install signal handlers")?;
    let _hotkey = hotkey.and_then(|hotkey| listen_hotkey(&hotkey, events.clone()));
    let _terminal = terminal::spawn(events.clone());
    let _server = {
        let events = events.clone();
        server.spawn(move |request| answer_control_request(request, &events))
    };

    pipeline.set_state(gst::State::Playing).map_err(|_| {
        anyhow::anyhow!(
            "the pipeline would not start: {}",
            first_error(&pipeline).unwrap_or_else(|| "no reason given".into())
        )
    })?;
    let mut session = Session {
        request: &request,
        ring,
        pipeline: &pipeline,
        pending: HashMap::new(),
        notify: !args.quiet,
        status: std::io::stderr()
            .is_terminal()
            .then(status::StatusLine::new),
    };
    let outcome = session.main_loop(&inbox);
    if outcome.is_ok() && args.save_on_exit {
        session.save(None, None, Trigger::Exit, None);
    }
    session.finish_pending(Duration::from_secs(120));
    if let Some(status) = session.status.as_mut() {
        status.clear();
    }
    let _ = pipeline.set_state(gst::State::Null);
    outcome
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
    let on_press = Box::new(move || {
        let _ = events.send(RunEvent::save(None, Trigger::Hotkey));
    });
    match crate::hotkey::x11::listen(None, hotkey, on_press) {
        Ok(listener) => Some(listener),
        Err(err) => {
            eprintln!("warning: hotkey disabled: {err}");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn listen_hotkey(_hotkey: &Hotkey, _events: Sender<RunEvent>) -> Option<()> {
    eprintln!(
        "note: the global hotkey is not implemented on this platform yet; use `gst-replay save`"
    );
    None
}

fn describe(request: &PipelineRequest, socket: &Path) {
    let region = request.region();
    eprintln!(
        "Capturing {} at {}x{}, {} fps, with {} (preset {}) into a {} s replay ring.",
        request.source,
        region.width,
        region.height,
        request.fps,
        request.encoder.factory(request.platform),
        request.preset.name,
        request.duration
    );
    eprintln!("Clips go to {}.", request.output_dir.display());
    eprintln!(
        "Save with the hotkey, `s` here, `kill -USR1 {}` or `gst-replay save --socket {}`; stop with Ctrl-C.",
        std::process::id(),
        socket.display()
    );
    eprintln!("Pipeline: {}", request.launch_line().shell_command());
}

/// Runs on the control server's threads: hands the request to the main loop and waits.
fn answer_control_request(request: Request, events: &Sender<RunEvent>) -> serde_json::Value {
    let (reply, answer) = mpsc::channel();
    let event = match request {
        Request::Save { last_ns, path, .. } => RunEvent::Save {
            last: last_ns.map(|ns| ns as f64 / 1e9),
            path,
            trigger: Trigger::Socket,
            reply: Some(reply),
        },
        Request::Status => RunEvent::Status(reply),
    };
    if events.send(event).is_err() {
        return serde_json::json!({"event": "error", "error": "gst-replay is shutting down"});
    }
    answer.recv_timeout(SOCKET_SAVE_TIMEOUT).unwrap_or_else(
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
                    last,
                    path,
                    trigger,
                    reply,
                }) => self.save(last, path, trigger, reply),
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
        last: Option<f64>,
        path: Option<String>,
        trigger: Trigger,
        reply: Option<Sender<serde_json::Value>>,
    ) {
        let seconds = last.unwrap_or(self.request.duration);
        let duration_ns = (seconds * 1e9).round() as u64;
        let id = self
            .ring
            .emit_by_name::<String>("save", &[&duration_ns, &path]);
        self.pending.insert(id, PendingSave { trigger, reply });
    }

    fn report(&mut self, structure: &gst::StructureRef) {
        let Ok(id) = structure.get::<String>("id") else {
            return;
        };
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        let Some(event) = report::event_from_message(structure, pending.trigger) else {
            return;
        };
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
        if let Some(reply) = pending.reply {
            let _ = reply.send(event);
        }
    }

    /// Waits for saves still being written, so their reports are not lost at exit.
    fn finish_pending(&mut self, limit: Duration) {
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let deadline = Instant::now() + limit;
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
