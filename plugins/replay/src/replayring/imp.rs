// Lock order: `settings` and `state` are never held together (the chain function copies the
// settings first); `saves` is taken alone. No lock is held while posting a message, pushing
// or joining a save thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::save::{SaveJob, SaveOutcome};
use crate::ring::{Frame, Limits, PushOutcome, Ring};
use crate::running_time;
use crate::stream_format::{self, Packaging, StreamFormat};

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "replayring",
        gst::DebugColorFlags::empty(),
        Some("Replay ring of encoded video"),
    )
});

const DEFAULT_MAX_DURATION: u64 = 120 * 1_000_000_000;
const DEFAULT_MAX_BYTES: u64 = 500 * 1024 * 1024;
const DEFAULT_LOCATION: &str = "replay-%Y%m%d-%H%M%S.mp4";
const DEFAULT_SAVE_ON_EOS: bool = false;

#[derive(Clone, Debug)]
struct Settings {
    max_duration: u64,
    max_bytes: u64,
    location: String,
    save_on_eos: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_duration: DEFAULT_MAX_DURATION,
            max_bytes: DEFAULT_MAX_BYTES,
            location: DEFAULT_LOCATION.to_owned(),
            save_on_eos: DEFAULT_SAVE_ON_EOS,
        }
    }
}

impl Settings {
    fn limits(&self) -> Limits {
        Limits {
            max_duration: i64::try_from(self.max_duration).unwrap_or(i64::MAX),
            max_bytes: self.max_bytes,
        }
    }
}

struct State {
    ring: Ring<gst::Buffer, StreamFormat>,
    format: Option<Arc<StreamFormat>>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    /// Warnings already posted, so a persistent condition warns once per stream.
    warned_awaiting_keyframe: bool,
    warned_over_byte_limit: bool,
    /// Frames copied out of an upstream buffer pool.
    pooled_copies: u64,
}

impl State {
    /// Forgets the stream (buffers, caps, segment) but keeps the counters since start.
    fn reset_stream(&mut self) {
        let pooled_copies = self.pooled_copies;
        let mut ring = std::mem::take(&mut self.ring);
        ring.clear();
        *self = State {
            ring,
            pooled_copies,
            ..State::default()
        };
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            ring: Ring::new(),
            format: None,
            segment: gst::FormattedSegment::new(),
            warned_awaiting_keyframe: false,
            warned_over_byte_limit: false,
            pooled_copies: 0,
        }
    }
}

#[derive(Default)]
struct SaveCounters {
    saves: AtomicU64,
    failed: AtomicU64,
    next_id: AtomicU64,
}

pub struct ReplayRing {
    video_pad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
    counters: SaveCounters,
    saves: Mutex<Vec<JoinHandle<()>>>,
}

#[glib::object_subclass]
impl ObjectSubclass for ReplayRing {
    const NAME: &'static str = "GstReplayRing";
    type Type = super::ReplayRing;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let template = klass.pad_template("video").expect("video pad template");
        let video_pad = gst::Pad::builder_from_template(&template)
            .chain_function(|pad, parent, buffer| {
                ReplayRing::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.chain(pad, buffer),
                )
            })
            .event_function(|pad, parent, event| {
                ReplayRing::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.sink_event(pad, event),
                )
            })
            .query_function(|pad, parent, query| {
                ReplayRing::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.sink_query(pad, query),
                )
            })
            .build();
        ReplayRing {
            video_pad,
            settings: Mutex::default(),
            state: Mutex::default(),
            counters: SaveCounters::default(),
            saves: Mutex::default(),
        }
    }
}

impl ReplayRing {
    fn chain(
        &self,
        pad: &gst::Pad,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let limits = self.settings.lock().unwrap().limits();
        // Copying out of a pool happens before the lock: saves snapshot the ring meanwhile.
        let (buffer, copied) = match detach_from_pool(buffer) {
            Ok(DetachedBuffer::Kept(buffer)) => (buffer, false),
            Ok(DetachedBuffer::Copied(buffer)) => (buffer, true),
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ("Cannot copy a pooled buffer"),
                    ["{}", err]
                );
                return Err(gst::FlowError::Error);
            }
        };
        let mut state = self.state.lock().unwrap();
        let Some(mut format) = state.format.clone() else {
            drop(state);
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ("Buffer before caps"));
            return Err(gst::FlowError::NotNegotiated);
        };
        if let Some(updated) = byte_stream_parameter_sets(&format, &buffer) {
            format = Arc::new(updated);
            state.format = Some(Arc::clone(&format));
        }
        state.pooled_copies += u64::from(copied);
        let Some(frame) = frame_from_buffer(&state.segment, &format, buffer) else {
            drop(state);
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Buffer without timestamps"),
                ["replayring needs a PTS (or DTS) on every buffer to know what the last N seconds are"]
            );
            return Err(gst::FlowError::Error);
        };
        gst::trace!(
            CAT,
            obj = pad,
            "frame pts {} keyframe {}",
            frame.pts,
            frame.keyframe
        );
        let outcome = state.ring.push(frame, &format, limits);
        let warning = match outcome {
            PushOutcome::Stored => None,
            PushOutcome::DroppedAwaitingKeyframe if !state.warned_awaiting_keyframe => {
                state.warned_awaiting_keyframe = true;
                Some("Dropping delta frames until the first keyframe (after start, a flush or a caps change)")
            }
            PushOutcome::DroppedOverByteLimit if !state.warned_over_byte_limit => {
                state.warned_over_byte_limit = true;
                Some(
                    "One GOP is larger than max-bytes: dropping its frames until the next keyframe",
                )
            }
            _ => None,
        };
        drop(state);
        if let Some(message) = warning {
            gst::element_imp_warning!(self, gst::StreamError::Decode, ("{}", message));
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        gst::log!(CAT, obj = pad, "event {:?}", event.type_());
        match event.view() {
            EventView::Caps(caps) => self.set_caps(caps.caps()),
            EventView::Segment(segment) => match segment.segment().downcast_ref::<gst::ClockTime>()
            {
                Some(segment) => {
                    self.state.lock().unwrap().segment = segment.clone();
                    true
                }
                None => {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Format,
                        ("Only TIME segments are supported")
                    );
                    false
                }
            },
            EventView::FlushStop(_) => {
                let mut state = self.state.lock().unwrap();
                state.ring.clear();
                state.segment = gst::FormattedSegment::new();
                true
            }
            EventView::Eos(_) => {
                self.finish_stream();
                true
            }
            _ => true,
        }
    }

    fn sink_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            // Upstream's latency is what a live pipeline needs to know; this sink adds none.
            gst::QueryViewMut::Latency(_) => pad.peer_query(query),
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn set_caps(&self, caps: &gst::CapsRef) -> bool {
        match StreamFormat::from_caps(caps) {
            Ok(format) => {
                let mut state = self.state.lock().unwrap();
                let unchanged = state
                    .format
                    .as_deref()
                    .is_some_and(|current| current.same_caps(&format));
                if !unchanged {
                    gst::debug!(CAT, imp = self, "new stream format {:?}", format);
                    state.format = Some(Arc::new(format));
                    state.warned_awaiting_keyframe = false;
                }
                true
            }
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Format,
                    ("Unsupported caps"),
                    ["{}", err]
                );
                false
            }
        }
    }

    /// EOS: saves in flight and the optional final save complete before EOS reaches the
    /// bus, so an application that stops at EOS loses none of them.
    fn finish_stream(&self) {
        self.wait_for_saves();
        let settings = self.settings.lock().unwrap().clone();
        if settings.save_on_eos {
            let (_id, handle) = self.start_save(0, None);
            if let Some(handle) = handle {
                let _ = handle.join();
            }
        }
        let element = self.obj();
        let _ = element.post_message(gst::message::Eos::builder().src(&*element).build());
    }

    /// Starts a save of the last `duration` ns (0: `max-duration`) to `location` (None or
    /// empty: the `location` template). Returns its id and the thread writing it.
    fn start_save(
        &self,
        duration: u64,
        location: Option<String>,
    ) -> (String, Option<JoinHandle<()>>) {
        let requested_at = Instant::now();
        let settings = self.settings.lock().unwrap().clone();
        let snapshot = self.state.lock().unwrap().ring.snapshot();
        let sequence = self.counters.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("{}-{}", self.obj().name(), sequence);
        let duration = if duration == 0 {
            settings.max_duration
        } else {
            duration
        };
        let job = SaveJob {
            id: id.clone(),
            location_template: location
                .filter(|l| !l.is_empty())
                .unwrap_or(settings.location),
            duration: i64::try_from(duration).unwrap_or(i64::MAX),
            snapshot,
            requested_at,
        };
        gst::debug!(CAT, imp = self, "save {} of the last {} ns", id, duration);

        let element = self.obj().clone();
        let spawned = std::thread::Builder::new()
            .name(format!("replayring-save-{sequence}"))
            .spawn(move || {
                let outcome = job.run();
                element.imp().report(outcome);
            });
        match spawned {
            Ok(handle) => (id, Some(handle)),
            Err(err) => {
                self.report(SaveOutcome::failed(
                    &id,
                    "",
                    format!("cannot start a save thread: {err}"),
                ));
                (id, None)
            }
        }
    }

    fn report(&self, outcome: SaveOutcome) {
        let counter = match outcome {
            SaveOutcome::Saved(_) => &self.counters.saves,
            SaveOutcome::Failed(_) => &self.counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match &outcome {
            SaveOutcome::Saved(saved) => {
                gst::info!(CAT, imp = self, "saved {} to {}", saved.id, saved.location)
            }
            SaveOutcome::Failed(failed) => gst::warning!(
                CAT,
                imp = self,
                "save {} failed: {}",
                failed.id,
                failed.error
            ),
        }
        let element = self.obj();
        let _ = element.post_message(
            gst::message::Element::builder(outcome.into_structure())
                .src(&*element)
                .build(),
        );
    }

    fn wait_for_saves(&self) {
        let handles = std::mem::take(&mut *self.saves.lock().unwrap());
        for handle in handles {
            let _ = handle.join();
        }
    }

    fn stats(&self) -> gst::Structure {
        let state = self.state.lock().unwrap();
        let counters = state.ring.counters();
        gst::Structure::builder("replayring-stats")
            .field("duration", state.ring.duration().max(0) as u64)
            .field("bytes", state.ring.bytes())
            .field("frames", state.ring.frames())
            .field("keyframes", state.ring.keyframes())
            .field("evicted", counters.evicted_frames)
            .field("dropped", counters.dropped_frames)
            .field("copied", state.pooled_copies)
            .field("saves", self.counters.saves.load(Ordering::Relaxed))
            .field("failed-saves", self.counters.failed.load(Ordering::Relaxed))
            .build()
    }
}

enum DetachedBuffer {
    Kept(gst::Buffer),
    Copied(gst::Buffer),
}

/// Frames are kept by reference, except buffers that belong to an upstream pool: holding
/// those for minutes would starve a bounded pool (hardware encoders), so they are copied
/// into memory the ring owns and the pooled buffer goes back at once.
fn detach_from_pool(buffer: gst::Buffer) -> Result<DetachedBuffer, gst::glib::BoolError> {
    // SAFETY: `buffer` is a valid GstBuffer for the duration of the read; `pool` is a plain
    // field that gstreamer-rs does not expose.
    let pooled = unsafe { !(*buffer.as_ptr()).pool.is_null() };
    if pooled {
        Ok(DetachedBuffer::Copied(buffer.copy_deep()?))
    } else {
        Ok(DetachedBuffer::Kept(buffer))
    }
}

/// A byte-stream keyframe that brings new parameter sets starts a new format.
fn byte_stream_parameter_sets(
    format: &StreamFormat,
    buffer: &gst::BufferRef,
) -> Option<StreamFormat> {
    if format.packaging != Packaging::ByteStream
        || buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)
    {
        return None;
    }
    let map = buffer.map_readable().ok()?;
    format.with_parameter_sets_of(map.as_slice())
}

/// The ring's view of a buffer: running-time timestamps and the keyframe flag.
fn frame_from_buffer(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    format: &StreamFormat,
    buffer: gst::Buffer,
) -> Option<Frame<gst::Buffer>> {
    let times = running_time::buffer_times(segment, &buffer)?;
    let frame_interval = || {
        format
            .framerate
            .map(|(n, d)| 1_000_000_000i64 * d as i64 / n as i64)
    };
    Some(Frame {
        pts: times.pts,
        dts: times.dts,
        duration: times.duration.or_else(frame_interval).unwrap_or(0),
        keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
        size: buffer.size() as u64,
        payload: buffer,
    })
}

impl ObjectImpl for ReplayRing {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt64::builder("max-duration")
                    .nick("Maximum duration")
                    .blurb(
                        "How much of the most recent stream the ring keeps, in nanoseconds. Whole GOPs are \
                         evicted, so once the stream has run this long the ring always holds at least this much \
                         and at most one GOP more",
                    )
                    .minimum(1)
                    .default_value(DEFAULT_MAX_DURATION)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("max-bytes")
                    .nick("Maximum bytes")
                    .blurb(
                        "Hard cap on the encoded bytes held, whatever the bitrate. Oldest GOPs are evicted first; \
                         when the current GOP alone exceeds it, its frames are dropped until the next keyframe \
                         and a warning is posted",
                    )
                    .minimum(1)
                    .default_value(DEFAULT_MAX_BYTES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb(
                        "File name template for saves without an explicit location. strftime fields \
                         (%Y%m%d-%H%M%S, see g_date_time_format) are expanded with the local time. An existing \
                         file is never overwritten: a -2, -3, ... suffix is added instead",
                    )
                    .default_value(Some(DEFAULT_LOCATION))
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("save-on-eos")
                    .nick("Save on EOS")
                    .blurb(
                        "At end of stream, save the last max-duration to the location template. EOS reaches \
                         the bus only once that file and any save still in flight are complete",
                    )
                    .default_value(DEFAULT_SAVE_ON_EOS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb(
                        "replayring-stats: duration (ns), bytes, frames and keyframes currently buffered; \
                         evicted, dropped and copied frames (copied: taken out of an upstream buffer pool), \
                         saves and failed-saves since start",
                    )
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![glib::subclass::Signal::builder("save")
                .param_types([u64::static_type(), Option::<String>::static_type()])
                .return_type::<String>()
                .action()
                .class_handler(|args| {
                    let element = args[0].get::<super::ReplayRing>().expect("signal arg");
                    let duration = args[1].get::<u64>().expect("signal arg");
                    let location = args[2].get::<Option<String>>().expect("signal arg");
                    let imp = element.imp();
                    let (id, handle) = imp.start_save(duration, location);
                    if let Some(handle) = handle {
                        let mut saves = imp.saves.lock().unwrap();
                        saves.retain(|h| !h.is_finished());
                        saves.push(handle);
                    }
                    Some(id.to_value())
                })
                .build()]
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "max-duration" => settings.max_duration = value.get().expect("type checked upstream"),
            "max-bytes" => settings.max_bytes = value.get().expect("type checked upstream"),
            "location" => {
                settings.location = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_else(|| DEFAULT_LOCATION.to_owned())
            }
            "save-on-eos" => settings.save_on_eos = value.get().expect("type checked upstream"),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "stats" => self.stats().to_value(),
            name => {
                let settings = self.settings.lock().unwrap();
                match name {
                    "max-duration" => settings.max_duration.to_value(),
                    "max-bytes" => settings.max_bytes.to_value(),
                    "location" => settings.location.to_value(),
                    "save-on-eos" => settings.save_on_eos.to_value(),
                    other => unreachable!("unknown property {other}"),
                }
            }
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let element = self.obj();
        element.add_pad(&self.video_pad).expect("add video pad");
        element.set_element_flags(gst::ElementFlags::SINK);
    }
}

impl GstObjectImpl for ReplayRing {}

impl ElementImpl for ReplayRing {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Replay ring",
                "Sink/Video",
                "Keeps the last N seconds of encoded H.264/H.265 in RAM and saves any part of it to MP4 on the \
                 save action signal, without re-encoding, while capture goes on",
                "gst-replay developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![gst::PadTemplate::new(
                "video",
                gst::PadDirection::Sink,
                gst::PadPresence::Always,
                &stream_format::video_sink_caps(),
            )
            .expect("video pad template")]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            self.state.lock().unwrap().reset_stream();
        }
        let success = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            // Clips already requested are snapshots: finish them rather than lose them.
            self.wait_for_saves();
            self.state.lock().unwrap().reset_stream();
        }
        Ok(success)
    }
}
