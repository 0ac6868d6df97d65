//! One session's pipeline: its source, demuxed and parsed without decoding, into a
//! `replayring`.
//!
//! ```text
//! pipeline
//! ├── generation-N (a bin per connection to the source; rebuilt when the source drops)
//! │   urisourcebin ! parsebin ─┬─ h264parse/h265parse ! capsfilter [! clocksync] ─► ring.video
//! │                            ├─ aacparse/opusparse ! capsfilter [! clocksync]  ─► ring.audio_N
//! │                            └─ anything else ! fakesink (with a warning)
//! └── replayring (kept for the whole session)
//! ```
//!
//! States: `starting` until the first keyframe reaches the ring, then `buffering`. A
//! network source that drops (EOS, an error, [`STALL_TIMEOUT`] without video, timestamps
//! that jump inside one connection) is `reconnecting`: its generation is torn down and a
//! new one built after a backoff (0.5 s doubling to 10 s, reset after a stable minute),
//! into the same ring. A file's end is `ended`. What can never work (no H.264/H.265 video,
//! a listener port that cannot be bound, a file that cannot be read) is `failed`.
//!
//! One forward timeline: each generation's streams get one pad offset, chosen at its first
//! buffer, that lands it on the pipeline clock's running time (never before what earlier
//! generations delivered). A clip across a reconnect shows the downtime as a gap, and the
//! ring never sees time go back.
//!
//! - `source.rs`: URI → source kind, the elements it needs, source and demuxer settings.
//! - `generation.rs`: one connection's bin, its start and teardown.
//! - `pads.rs`: which stream goes to which ring pad, and the probe that keeps the timeline
//!   forward (see [`timeline`]).
//! - [`reconnect`]: the backoff and what a drop means (pure logic).
//! - `controller.rs`: the session's thread and state machine; `bus.rs` feeds it.
//! - `saves.rs`: clip requests and their outcomes; `status.rs`: reading the ring's stats.

mod bus;
mod controller;
mod error;
mod generation;
mod pads;
pub mod reconnect;
mod saves;
mod source;
mod status;
pub mod timeline;
mod types;

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use gst::glib;
use gst::prelude::*;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

pub use controller::{NO_VIDEO_GRACE, STALL_TIMEOUT};
pub use error::IngestError;
pub use types::{
    ClipEvent, ClipRequest, SavedClip, SessionSpec, SessionState, SessionStatus, TrackInfo,
};

use controller::{Controller, Event, Shared};
use generation::Common;
use status::StatusFields;

/// A running session: its pipeline, its ring and the thread that looks after them.
pub struct Ingest {
    shared: Arc<Shared>,
    events: mpsc::Sender<Event>,
    controller: Option<JoinHandle<()>>,
}

/// GStreamer and the replay plugin, once per process.
fn init() -> Result<(), IngestError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        gst::init().map_err(|err| err.to_string())?;
        if gst::ElementFactory::find("replayring").is_none() {
            gstreplay::plugin_register_static().map_err(|err| err.to_string())?;
        }
        Ok(())
    })
    .clone()
    .map_err(IngestError::Gstreamer)
}

/// A GStreamer object name from a session id.
fn object_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Ingest {
    /// Builds and starts the pipeline. Errors (bad URI, unknown scheme, a missing element)
    /// say what to do; problems only the source can reveal (a port that cannot be bound,
    /// no video) come later as state `failed` with `error` set.
    pub fn start(
        spec: SessionSpec,
        on_change: impl Fn(&SessionStatus) + Send + Sync + 'static,
    ) -> Result<Ingest, IngestError> {
        init()?;
        if spec.max_duration.is_zero() || spec.max_bytes == 0 {
            return Err(IngestError::BadSpec(
                "max_duration and max_bytes must be more than 0".to_owned(),
            ));
        }
        let plan = source::plan(&spec.source)?;
        let name = object_name(&spec.id);
        let gst_error = |err: glib::BoolError| IngestError::Gstreamer(err.to_string());
        let pipeline = gst::Pipeline::with_name(&format!("session-{name}"));
        // One monotonic clock for the whole session: its running time is the timeline.
        pipeline.use_clock(Some(&gst::SystemClock::obtain()));
        let ring = gst::ElementFactory::make("replayring")
            .name(name.as_str())
            .property(
                "max-duration",
                u64::try_from(spec.max_duration.as_nanos()).unwrap_or(u64::MAX),
            )
            .property("max-bytes", spec.max_bytes)
            .build()
            .map_err(gst_error)?;
        // Rings that can hash their clips (the `sha256` property) report each file's SHA-256
        // in replay-saved; older ones save without it.
        if ring
            .find_property("sha256")
            .is_some_and(|p| p.value_type() == bool::static_type())
        {
            ring.set_property("sha256", true);
        }
        pipeline.add(&ring).map_err(gst_error)?;
        let (events, receiver) = mpsc::channel();
        bus::install(&pipeline, &ring, events.clone());
        if let Err(err) = pipeline.set_state(gst::State::Playing) {
            bus::uninstall(&pipeline);
            let _ = pipeline.set_state(gst::State::Null);
            return Err(IngestError::Gstreamer(err.to_string()));
        }
        let shared = Arc::new(Shared {
            pipeline,
            ring,
            fields: Mutex::new(StatusFields::default()),
        });
        let common = Arc::new(Common::new(
            &shared.pipeline,
            &shared.ring,
            events.clone(),
            plan,
        ));
        let controller =
            Controller::new(Arc::clone(&shared), common, receiver, Box::new(on_change));
        let spawned = std::thread::Builder::new()
            .name(format!("ingest-{name}"))
            .spawn(move || controller.run());
        let controller = match spawned {
            Ok(handle) => handle,
            Err(err) => {
                bus::uninstall(&shared.pipeline);
                let _ = shared.pipeline.set_state(gst::State::Null);
                return Err(IngestError::Gstreamer(format!(
                    "cannot start the session's thread: {err}"
                )));
            }
        };
        Ok(Ingest {
            shared,
            events,
            controller: Some(controller),
        })
    }

    /// Cheap: the controller's fields and the ring's `stats` property.
    pub fn status(&self) -> SessionStatus {
        self.shared.status()
    }

    /// The session's pipeline, for diagnostics (DOT graphs, the elements it runs). Its
    /// state and its elements belong to the session: change nothing.
    pub fn pipeline(&self) -> &gst::Pipeline {
        &self.shared.pipeline
    }

    /// Emits `save-clip`; the channel gets `Writing` (when the ring announces it) then
    /// exactly one `Saved` or `Failed`.
    pub fn save(&self, request: ClipRequest) -> UnboundedReceiver<ClipEvent> {
        let (sender, receiver) = unbounded_channel();
        match saves::request_structure(&request) {
            Err(error) => {
                let _ = sender.send(ClipEvent::Failed(error));
            }
            Ok(structure) => {
                let id = self
                    .shared
                    .ring
                    .emit_by_name::<String>("save-clip", &[&structure]);
                if let Err(mpsc::SendError(Event::Register { sender, .. })) =
                    self.events.send(Event::Register { id, sender })
                {
                    let _ = sender.send(ClipEvent::Failed("the session has stopped".to_owned()));
                }
            }
        }
        receiver
    }

    /// Stops the source, lets the saves already asked for finish (the ring waits for them
    /// on PAUSED->READY), frees the ring. Blocking: callers use `spawn_blocking`.
    pub fn stop(mut self) -> SessionStatus {
        self.shutdown()
    }

    fn shutdown(&mut self) -> SessionStatus {
        let Some(controller) = self.controller.take() else {
            return self.shared.status();
        };
        let (reply, replied) = mpsc::channel();
        let status = match self.events.send(Event::Stop { reply }) {
            Ok(()) => replied.recv().ok(),
            Err(_) => None,
        };
        let _ = controller.join();
        status.unwrap_or_else(|| {
            // The controller is gone (it panicked): stop what it left.
            bus::uninstall(&self.shared.pipeline);
            let _ = self.shared.pipeline.set_state(gst::State::Null);
            let mut status = self.shared.status();
            status.state = SessionState::Stopped;
            status
        })
    }
}

impl Drop for Ingest {
    /// Dropping a session stops it as [`Ingest::stop`] does (and blocks as long).
    fn drop(&mut self) {
        if self.controller.is_some() {
            self.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_can_be_shared_between_tasks() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Ingest>();
    }

    #[test]
    fn session_ids_become_object_names() {
        assert_eq!(object_name("cam-1_a"), "cam-1_a");
        assert_eq!(object_name("a/b c"), "a_b_c");
    }
}
