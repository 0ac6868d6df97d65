//! The session's own thread: it receives every event (bus messages through the sync
//! handler, pad probes, save registrations, stop), runs the state machine, builds and tears
//! down source generations, and calls `on_change`. It is the only thread that changes the
//! state of elements after start, and it never holds a lock while doing so or while
//! calling out.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use tokio::sync::mpsc::UnboundedSender;

use super::bus;
use super::generation::{Common, Generation};
use super::reconnect::{self, Backoff, BackoffPolicy, DropCause, ErrorKind, SourceKind, Verdict};
use super::saves::SaveRegistry;
use super::status::{self, StatusFields};
use super::types::{ClipEvent, SessionState, SessionStatus};

/// A network source that delivered no video for this long has dropped.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(3);

/// A source whose streams have all been known this long without an H.264/H.265 one has none.
pub const NO_VIDEO_GRACE: Duration = Duration::from_secs(3);

/// How often the controller looks at the clock when nothing happens.
const TICK: Duration = Duration::from_millis(200);

pub enum Event {
    /// An ERROR message from inside a generation's bin.
    SourceError {
        generation: u64,
        kind: ErrorKind,
        text: String,
    },
    /// A generation's callbacks found it cannot go on (a timestamp jump, a failed link).
    Dropped {
        generation: u64,
        cause: DropCause,
        text: String,
    },
    /// Every ring branch of a generation reached EOS.
    BranchesEnded {
        generation: u64,
    },
    /// The first keyframe of a generation reached the ring.
    Keyframe {
        generation: u64,
    },
    Warning(String),
    /// An ERROR message from outside the generations (the ring).
    PipelineError(String),
    /// A save's `replay-writing`, `replay-saved` or `replay-failed`.
    Save {
        id: String,
        event: ClipEvent,
    },
    /// The channel of save `id`.
    Register {
        id: String,
        sender: UnboundedSender<ClipEvent>,
    },
    Stop {
        reply: Sender<SessionStatus>,
    },
}

/// What the session's handle and its controller share.
pub struct Shared {
    pub pipeline: gst::Pipeline,
    pub ring: gst::Element,
    pub fields: Mutex<StatusFields>,
}

impl Shared {
    pub fn status(&self) -> SessionStatus {
        let stats = status::ring_stats(&self.ring);
        let fields = self.fields.lock().unwrap().clone();
        status::compose(&fields, &stats)
    }
}

pub type OnChange = Box<dyn Fn(&SessionStatus) + Send + Sync>;

pub struct Controller {
    shared: Arc<Shared>,
    common: Arc<Common>,
    events: Receiver<Event>,
    on_change: OnChange,
    generation: Option<Generation>,
    generations_started: u64,
    backoff: Backoff,
    rebuild_at: Option<Instant>,
    saves: SaveRegistry,
}

impl Controller {
    pub fn new(
        shared: Arc<Shared>,
        common: Arc<Common>,
        events: Receiver<Event>,
        on_change: OnChange,
    ) -> Controller {
        Controller {
            shared,
            common,
            events,
            on_change,
            generation: None,
            generations_started: 0,
            backoff: Backoff::new(BackoffPolicy::default()),
            rebuild_at: None,
            saves: SaveRegistry::default(),
        }
    }

    /// Starts the first generation, then handles events until `Stop`, which it answers
    /// with the status at the stop.
    pub fn run(mut self) {
        self.start_generation();
        loop {
            let now = Instant::now();
            let timeout = self
                .rebuild_at
                .map_or(TICK, |at| at.saturating_duration_since(now).min(TICK));
            match self.events.recv_timeout(timeout) {
                Ok(Event::Stop { reply }) => {
                    let status = self.stop();
                    let _ = reply.send(status);
                    return;
                }
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.stop();
                    return;
                }
            }
            self.tick(Instant::now());
        }
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation
            .as_ref()
            .is_some_and(|current| current.ctx.number == generation)
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::SourceError {
                generation,
                kind,
                text,
            } if self.is_current(generation) => self.source_dropped(DropCause::Error(kind), text),
            Event::Dropped {
                generation,
                cause,
                text,
            } if self.is_current(generation) => self.source_dropped(cause, text),
            Event::BranchesEnded { generation } if self.is_current(generation) => {
                if self.current_has_video() {
                    self.source_dropped(DropCause::Ended, "the source ended".to_owned());
                } else {
                    self.fail(self.no_video_reason());
                }
            }
            Event::Keyframe { generation } if self.is_current(generation) => {
                self.backoff.connected(Instant::now());
                self.update(|fields| {
                    if matches!(
                        fields.state,
                        SessionState::Starting | SessionState::Reconnecting
                    ) {
                        fields.state = SessionState::Buffering;
                        fields.error = None;
                    }
                });
            }
            Event::Warning(warning) => self.update(|fields| {
                fields.add_warning(warning);
            }),
            Event::PipelineError(text) => {
                let text = format!("replayring: {text}");
                if self.generation.is_some() {
                    self.source_dropped(DropCause::Error(ErrorKind::Other), text);
                } else {
                    self.update(|fields| {
                        fields.add_warning(text);
                    });
                }
            }
            Event::Save { id, event } => self.saves.report(id, event),
            Event::Register { id, sender } => self.saves.register(id, sender),
            // Stop is handled by `run`; the rest came from a generation that is gone.
            _ => {}
        }
    }

    fn tick(&mut self, now: Instant) {
        if self.rebuild_at.is_some_and(|at| now >= at) {
            self.rebuild_at = None;
            self.update(|fields| fields.reconnects += 1);
            self.start_generation();
        }
        let Some(generation) = &self.generation else {
            return;
        };
        let (video, pending, first_stream_at) = {
            let links = generation.ctx.links.lock().unwrap();
            (links.video, links.pending, links.first_stream_at)
        };
        // A stream still without caps may be the video, its parser waiting for a keyframe.
        let grace_over = first_stream_at.is_some_and(|at| now.duration_since(at) >= NO_VIDEO_GRACE);
        if !video && pending == 0 && grace_over {
            self.fail(self.no_video_reason());
            return;
        }
        let stalled = self.common.plan.kind != SourceKind::File
            && generation
                .ctx
                .video_seen
                .load(std::sync::atomic::Ordering::Acquire)
            && self.common.since_video() >= STALL_TIMEOUT;
        if stalled {
            self.source_dropped(
                DropCause::Stalled,
                format!(
                    "no data from the source for {} s",
                    self.common.since_video().as_secs()
                ),
            );
        }
    }

    fn start_generation(&mut self) {
        self.generations_started += 1;
        match Generation::start(self.generations_started, &self.common) {
            Ok(generation) => self.generation = Some(generation),
            Err(text) => self.after_drop(DropCause::Error(ErrorKind::Other), text),
        }
    }

    fn current_has_video(&self) -> bool {
        self.generation
            .as_ref()
            .is_some_and(|g| g.ctx.links.lock().unwrap().video)
    }

    fn no_video_reason(&self) -> String {
        let found = self
            .generation
            .as_ref()
            .map(|g| g.ctx.links.lock().unwrap().found.join(", "))
            .unwrap_or_default();
        let found = if found.is_empty() {
            "no stream at all".to_owned()
        } else {
            found
        };
        format!(
            "the source has no H.264 or H.265 video (it has {found}); the ring keeps \
             H.264/H.265 video, beside AAC or Opus audio"
        )
    }

    fn teardown(&mut self) {
        if let Some(generation) = self.generation.take() {
            generation.stop();
        }
    }

    fn fail(&mut self, reason: String) {
        self.teardown();
        self.update(|fields| {
            fields.state = SessionState::Failed;
            fields.error = Some(reason);
        });
    }

    fn source_dropped(&mut self, cause: DropCause, text: String) {
        self.teardown();
        self.after_drop(cause, text);
    }

    fn after_drop(&mut self, cause: DropCause, text: String) {
        let never_delivered = !self
            .common
            .delivered
            .load(std::sync::atomic::Ordering::Acquire);
        let kind = self.common.plan.kind;
        match reconnect::verdict(kind, cause, never_delivered) {
            Verdict::End => self.update(|fields| {
                fields.state = SessionState::Ended;
                fields.error = None;
            }),
            Verdict::Fail => {
                let reason = match (kind, cause) {
                    (SourceKind::Listener, DropCause::Error(ErrorKind::Open)) => format!(
                        "{text}; is another program listening on that port, or is the address \
                         not one of this machine's?"
                    ),
                    _ => text,
                };
                self.fail(reason);
            }
            Verdict::Reconnect => {
                let now = Instant::now();
                let delay = self.backoff.dropped(now);
                self.rebuild_at = Some(now + delay);
                self.update(|fields| {
                    fields.state = SessionState::Reconnecting;
                    fields.error = Some(text);
                });
            }
        }
    }

    /// Changes the status fields; calls `on_change`, with no lock held, when the state, the
    /// warnings or the error changed.
    fn update(&self, change: impl FnOnce(&mut StatusFields)) {
        let changed = {
            let mut fields = self.shared.fields.lock().unwrap();
            let before = fields.clone();
            change(&mut fields);
            before.state != fields.state
                || before.warnings != fields.warnings
                || before.warnings_dropped != fields.warnings_dropped
                || before.error != fields.error
        };
        if changed {
            let status = self.shared.status();
            (self.on_change)(&status);
        }
    }

    /// Stops the source, then the pipeline: the ring writes the saves already asked for
    /// on PAUSED->READY, and their outcomes still reach their channels.
    fn stop(&mut self) -> SessionStatus {
        self.rebuild_at = None;
        self.teardown();
        self.update(|fields| fields.state = SessionState::Stopped);
        let status = self.shared.status();
        let _ = self.shared.pipeline.set_state(gst::State::Null);
        while let Ok(event) = self.events.try_recv() {
            match event {
                Event::Save { id, event } => self.saves.report(id, event),
                Event::Register { id, sender } => self.saves.register(id, sender),
                Event::Stop { reply } => {
                    let _ = reply.send(status.clone());
                }
                _ => {}
            }
        }
        self.saves
            .close("the session stopped before the clip was written");
        bus::uninstall(&self.shared.pipeline);
        status
    }
}
