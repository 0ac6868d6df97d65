// Lock order: `settings` and `state` are never held together (callers copy the settings
// first); the save queue's own lock is taken alone. No lock is held while posting a
// message, pushing or waiting for saves.

use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::buffers::{self, DetachedBuffer};
use super::settings::{
    Settings, DEFAULT_CLEAR_ON_SAVE, DEFAULT_LOCATION, DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION,
    DEFAULT_POST_ROLL, DEFAULT_SAVE_ON_EOS, DEFAULT_SHA256,
};
use super::state::{PadStream, State};
use super::stats::{self, ElementCounters};
use crate::audio_format::{self, AudioFormat};
use crate::save::job::SaveOutcome;
use crate::save::queue::{Reporter, SaveEvent, SaveQueue};
use crate::save::request::{SaveRequest, REQUEST_STRUCTURE};
use crate::stream_format::{self, StreamFormat};
use crate::time::Nanos;

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "replayring",
        gst::DebugColorFlags::empty(),
        Some("Replay ring of encoded video and audio"),
    )
});

/// How often the watchdog looks for saves whose post-roll stalled.
const WATCHDOG_INTERVAL: Duration = Duration::from_millis(100);

pub struct ReplayRing {
    video_pad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
    /// Set in `constructed`: its reports go to the element's bus.
    saves: OnceLock<SaveQueue>,
}

/// Which sink pad a pad function runs for.
#[derive(Clone, Copy, Debug)]
enum Track {
    Video,
    Audio(usize),
}

fn sink_pad(template: &gst::PadTemplate, name: Option<String>, track: Track) -> gst::Pad {
    let mut builder = gst::Pad::builder_from_template(template);
    if let Some(name) = name {
        builder = builder.name(name);
    }
    builder
        .chain_function(move |pad, parent, buffer| {
            ReplayRing::catch_panic_pad_function(
                parent,
                || Err(gst::FlowError::Error),
                |imp| match track {
                    Track::Video => imp.video_chain(pad, buffer),
                    Track::Audio(number) => imp.audio_chain(number, pad, buffer),
                },
            )
        })
        .event_function(move |pad, parent, event| {
            ReplayRing::catch_panic_pad_function(
                parent,
                || false,
                |imp| imp.sink_event(track, pad, event),
            )
        })
        .query_function(|pad, parent, query| {
            ReplayRing::catch_panic_pad_function(parent, || false, |imp| imp.sink_query(pad, query))
        })
        .build()
}

#[glib::object_subclass]
impl ObjectSubclass for ReplayRing {
    const NAME: &'static str = "GstReplayRing";
    type Type = super::ReplayRing;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let template = klass.pad_template("video").expect("video pad template");
        ReplayRing {
            video_pad: sink_pad(&template, None, Track::Video),
            settings: Mutex::default(),
            state: Mutex::default(),
            saves: OnceLock::new(),
        }
    }
}

impl ReplayRing {
    fn saves(&self) -> &SaveQueue {
        self.saves.get().expect("set in constructed")
    }

    /// Posts what saves report: `replay-writing`, then `replay-saved` or `replay-failed`.
    fn reporter(&self) -> Reporter {
        let element = self.obj().downgrade();
        Box::new(move |event: SaveEvent| {
            let Some(element) = element.upgrade() else {
                return;
            };
            let structure = match event {
                SaveEvent::Writing(writing) => {
                    gst::debug!(
                        CAT,
                        obj = element,
                        "writing {} to {}",
                        writing.id,
                        writing.location
                    );
                    writing.into_structure()
                }
                SaveEvent::Done(outcome) => {
                    match &outcome {
                        SaveOutcome::Saved(saved) => gst::info!(
                            CAT,
                            obj = element,
                            "saved {} to {}",
                            saved.id,
                            saved.location
                        ),
                        SaveOutcome::Failed(failed) => gst::warning!(
                            CAT,
                            obj = element,
                            "save {} failed: {}",
                            failed.id,
                            failed.error
                        ),
                    }
                    outcome.into_structure()
                }
            };
            let _ = element.post_message(
                gst::message::Element::builder(structure)
                    .src(&element)
                    .build(),
            );
        })
    }

    /// Every sink pad is at EOS: saves waiting for post-roll, saves in flight and the
    /// optional final save complete before EOS reaches the bus, so an application that stops
    /// at EOS loses none of them.
    fn finish_stream(&self) {
        let settings = self.settings.lock().unwrap().clone();
        let completed = self
            .state
            .lock()
            .unwrap()
            .take_completed_saves(true, settings.limits().max_duration);
        completed
            .into_iter()
            .for_each(|job| self.saves().submit(job));
        self.saves().wait_idle();
        if settings.save_on_eos {
            let request = SaveRequest {
                post_roll: Nanos::ZERO,
                ..SaveRequest::last(Nanos::ZERO, None, settings.request_defaults())
            };
            self.start_save(request);
            self.saves().wait_idle();
        }
        let element = self.obj();
        let _ = element.post_message(gst::message::Eos::builder().src(&*element).build());
    }

    /// Starts a save and returns its id. The clip is written on a save thread once the end
    /// of its window has been captured on every track (at once, unless it has a post-roll or
    /// the audio trails the video).
    fn start_save(&self, request: SaveRequest) -> String {
        let requested_at = Instant::now();
        let settings = self.settings.lock().unwrap().clone();
        let id = self.saves().next_id(&self.obj().name());
        let location_template = request
            .location
            .clone()
            .unwrap_or_else(|| settings.location.clone());
        gst::debug!(CAT, imp = self, "save {id}: {request:?}");
        let started = self.state.lock().unwrap().start_save(
            &id,
            &request,
            location_template.clone(),
            &settings,
            requested_at,
        );
        match started {
            Ok(started) => {
                started
                    .ready
                    .into_iter()
                    .for_each(|job| self.saves().submit(job));
                if started.start_watchdog {
                    self.start_watchdog();
                }
            }
            Err(error) => self
                .saves()
                .report(SaveOutcome::failed(&id, &location_template, error)),
        }
        id
    }

    /// Writes pending saves whose deadline passed while nothing arrived to complete them;
    /// exits once none is pending.
    fn start_watchdog(&self) {
        let element = self.obj().downgrade();
        let spawned = std::thread::Builder::new()
            .name("replayring-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(WATCHDOG_INTERVAL);
                let Some(element) = element.upgrade() else {
                    return;
                };
                let imp = element.imp();
                let max_duration = imp.settings.lock().unwrap().limits().max_duration;
                let mut state = imp.state.lock().unwrap();
                let completed = state.take_completed_saves(false, max_duration);
                let done = state.pending.is_empty();
                state.watchdog_running = !done;
                drop(state);
                completed
                    .into_iter()
                    .for_each(|job| imp.saves().submit(job));
                if done {
                    return;
                }
            });
        if let Err(err) = spawned {
            // Saves still complete as frames arrive, at EOS or on stop.
            gst::warning!(CAT, imp = self, "cannot start the save watchdog: {err}");
            self.state.lock().unwrap().watchdog_running = false;
        }
    }

    fn emit_save(
        args: &[glib::Value],
        request: impl FnOnce(&Settings) -> Result<SaveRequest, String>,
    ) -> Option<glib::Value> {
        let element = args[0].get::<super::ReplayRing>().expect("signal arg");
        let imp = element.imp();
        let settings = imp.settings.lock().unwrap().clone();
        let id = match request(&settings) {
            Ok(request) => imp.start_save(request),
            Err(error) => {
                let id = imp.saves().next_id(&element.name());
                imp.saves().report(SaveOutcome::failed(&id, "", error));
                id
            }
        };
        Some(id.to_value())
    }

    /// Copying out of a pool happens before the state lock: saves snapshot the ring meanwhile.
    fn detach(&self, buffer: gst::Buffer) -> Result<(gst::Buffer, bool), gst::FlowError> {
        match buffers::detach_from_pool(buffer) {
            Ok(DetachedBuffer::Kept(buffer)) => Ok((buffer, false)),
            Ok(DetachedBuffer::Copied(buffer)) => Ok((buffer, true)),
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ("Cannot copy a pooled buffer"),
                    ["{}", err]
                );
                Err(gst::FlowError::Error)
            }
        }
    }

    fn video_chain(
        &self,
        pad: &gst::Pad,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let limits = self.settings.lock().unwrap().limits();
        let (buffer, copied) = self.detach(buffer)?;
        let mut state = self.state.lock().unwrap();
        let Some(format) = state.video.format.clone() else {
            drop(state);
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ("Buffer before caps"),
                ["replayring needs parsed H.264/H.265: put h264parse or h265parse before it"]
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        state.pooled_copies += u64::from(copied);
        let has_dts = buffer.dts().is_some();
        let Some(frame) = buffers::frame_from_buffer(&state.video.segment, &format, buffer) else {
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
            "frame pts {:?} keyframe {}",
            frame.pts,
            frame.keyframe
        );
        let pushed = state.push_video(frame, format, has_dts, limits);
        drop(state);
        for message in pushed.warnings {
            gst::element_imp_warning!(self, gst::StreamError::Decode, ("{}", message));
        }
        pushed
            .ready
            .into_iter()
            .for_each(|job| self.saves().submit(job));
        Ok(gst::FlowSuccess::Ok)
    }

    fn audio_chain(
        &self,
        number: usize,
        pad: &gst::Pad,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let limits = self.settings.lock().unwrap().limits();
        let (buffer, copied) = self.detach(buffer)?;
        let mut state = self.state.lock().unwrap();
        state.pooled_copies += u64::from(copied);
        let Some(stream) = state.audio.get(&number) else {
            return Err(gst::FlowError::Flushing);
        };
        let Some(format) = stream.format.clone() else {
            drop(state);
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ("Buffer before caps on {}", pad.name())
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        let Some(packet) = buffers::packet_from_buffer(&stream.segment, &format, buffer) else {
            drop(state);
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Audio buffer without timestamps on {}", pad.name()),
                ["replayring places audio by its PTS to keep it in sync with the video"]
            );
            return Err(gst::FlowError::Error);
        };
        let pushed = state.push_audio(number, packet, format, limits);
        drop(state);
        if let Some(gap) = pushed.gap {
            gst::info!(CAT, obj = pad, "audio gap of {}", gap);
        }
        for message in pushed.warnings {
            gst::element_imp_warning!(self, gst::StreamError::Decode, ("{}", message));
        }
        pushed
            .ready
            .into_iter()
            .for_each(|job| self.saves().submit(job));
        Ok(gst::FlowSuccess::Ok)
    }

    fn sink_event(&self, track: Track, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        gst::log!(CAT, obj = pad, "event {:?}", event.type_());
        match event.view() {
            EventView::Caps(caps) => match track {
                Track::Video => self.set_video_caps(caps.caps()),
                Track::Audio(number) => self.set_audio_caps(number, pad, caps.caps()),
            },
            EventView::Segment(segment) => match segment.segment().downcast_ref::<gst::ClockTime>()
            {
                Some(segment) => {
                    let mut state = self.state.lock().unwrap();
                    match track {
                        Track::Video => state.video.segment = segment.clone(),
                        Track::Audio(number) => {
                            if let Some(stream) = state.audio.get_mut(&number) {
                                stream.segment = segment.clone();
                            }
                        }
                    }
                    true
                }
                None => {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Format,
                        ("Only TIME segments are supported"),
                        [
                            "replayring takes timestamped, parsed streams: a demuxer or an encoder, \
                             then h264parse/h265parse (aacparse for AAC)"
                        ]
                    );
                    false
                }
            },
            EventView::FlushStop(_) => {
                let max_duration = self.settings.lock().unwrap().limits().max_duration;
                let mut state = self.state.lock().unwrap();
                // Frames after a flush are on a new timeline: finish what waits for post-roll.
                let completed = state.take_completed_saves(true, max_duration);
                match track {
                    Track::Video => {
                        state.recording.clear_video();
                        state.video.segment = gst::FormattedSegment::new();
                        state.video.eos = false;
                        state.newest_video_dts = None;
                    }
                    Track::Audio(number) => {
                        state.recording.clear_audio(number);
                        if let Some(stream) = state.audio.get_mut(&number) {
                            stream.segment = gst::FormattedSegment::new();
                            stream.eos = false;
                        }
                    }
                }
                state.cleared_until = None;
                drop(state);
                completed
                    .into_iter()
                    .for_each(|job| self.saves().submit(job));
                true
            }
            EventView::Eos(_) => {
                let mut state = self.state.lock().unwrap();
                match track {
                    Track::Video => state.video.eos = true,
                    Track::Audio(number) => {
                        if let Some(stream) = state.audio.get_mut(&number) {
                            stream.eos = true;
                        }
                    }
                }
                let finished = state.all_pads_eos();
                drop(state);
                if finished {
                    self.finish_stream();
                }
                true
            }
            _ => true,
        }
    }

    fn sink_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            // Upstream's latency is what a live pipeline needs to know; this sink adds none.
            gst::QueryViewMut::Latency(_) => pad.peer_query(query),
            // Negotiation prefers the template (parsers and encoders pick access units from
            // it), but any H.264/H.265 is let through to the caps event, so that unparsed
            // input gets an error that says which parser to add, not a bare not-negotiated.
            gst::QueryViewMut::Caps(caps_query) if pad == &self.video_pad => {
                let mut caps = pad.pad_template_caps();
                caps.merge(stream_format::any_video_caps());
                if let Some(filter) = caps_query.filter() {
                    caps = filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First);
                }
                caps_query.set_result(&caps);
                true
            }
            gst::QueryViewMut::AcceptCaps(accept) if pad == &self.video_pad => {
                let accepted = accept.caps().is_subset(&stream_format::any_video_caps());
                accept.set_result(accepted);
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn set_video_caps(&self, caps: &gst::CapsRef) -> bool {
        match StreamFormat::from_caps(caps) {
            Ok(format) => {
                let mut state = self.state.lock().unwrap();
                let unchanged = state
                    .video
                    .format
                    .as_deref()
                    .is_some_and(|current| *current == format);
                if !unchanged {
                    gst::debug!(CAT, imp = self, "new video format {:?}", format);
                    state.video.format = Some(Arc::new(format));
                    state.video.warned_awaiting_keyframe = false;
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

    fn set_audio_caps(&self, number: usize, pad: &gst::Pad, caps: &gst::CapsRef) -> bool {
        match AudioFormat::from_caps(caps) {
            Ok(format) => {
                let mut state = self.state.lock().unwrap();
                if let Some(stream) = state.audio.get_mut(&number) {
                    if stream.format.as_deref() != Some(&format) {
                        gst::debug!(CAT, obj = pad, "new audio format {:?}", format);
                        stream.format = Some(Arc::new(format));
                    }
                }
                true
            }
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Format,
                    ("Unsupported caps on {}", pad.name()),
                    ["{}", err]
                );
                false
            }
        }
    }

    fn stats(&self) -> gst::Structure {
        let queued = self.saves().waiting() as u64;
        let counts = self.saves().counts();
        let state = self.state.lock().unwrap();
        let codec_of = |number: usize| {
            state
                .audio
                .get(&number)
                .and_then(|stream| stream.format.as_deref())
                .map(AudioFormat::codec_name)
        };
        stats::structure(
            &state.recording,
            state.video.format.as_deref().map(StreamFormat::codec_name),
            codec_of,
            ElementCounters {
                pooled_copies: state.pooled_copies,
                saves: counts.saved,
                failed_saves: counts.failed,
                pending_saves: state.pending.len() as u64 + queued,
            },
        )
    }
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
                         and at most one GOP more. Audio tracks follow the video",
                    )
                    .minimum(1)
                    .default_value(DEFAULT_MAX_DURATION)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("max-bytes")
                    .nick("Maximum bytes")
                    .blurb(
                        "Hard cap on the encoded bytes held across all tracks, whatever the bitrate. Oldest \
                         GOPs (and the audio beside them) are evicted first; when the current GOP alone exceeds \
                         it, its frames are dropped until the next keyframe and a warning is posted",
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
                        "When every sink pad is at end of stream, save the last max-duration to the location \
                         template. EOS reaches the bus only once that file and any save still in flight are \
                         complete",
                    )
                    .default_value(DEFAULT_SAVE_ON_EOS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("post-roll")
                    .nick("Post-roll")
                    .blurb(
                        "Nanoseconds of what comes after a save request that the clip also includes (the last \
                         20 s and the next 10 s). The file is written once that has been captured; capture and \
                         other saves go on meanwhile. save-clip can set it per save",
                    )
                    .default_value(DEFAULT_POST_ROLL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("clear-on-save")
                    .nick("Clear on save")
                    .blurb(
                        "After a save, later saves start where it ended, so back-to-back clips never share a \
                         frame, and the ring releases the saved range as eviction would. save-clip can set it \
                         per save",
                    )
                    .default_value(DEFAULT_CLEAR_ON_SAVE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("sha256")
                    .nick("SHA-256")
                    .blurb(
                        "Compute the SHA-256 of each saved file from the bytes as they are written (on a \
                         second thread, so it costs time only when hashing is slower than the disk) and \
                         report it as sha256 (lower-case hex) in replay-saved",
                    )
                    .default_value(DEFAULT_SHA256)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb(
                        "replayring-stats: duration (ns), bytes (all tracks), frames and keyframes currently \
                         buffered; evicted, dropped and copied frames (copied: taken out of an upstream buffer \
                         pool), saves, failed-saves and pending-saves (waiting for post-roll or for a save \
                         thread); tracks: one \
                         structure per pad with codec, bytes and packets, and for audio evicted, gaps, \
                         gap-duration (ns missing where timestamps jumped) and behind-video (ns the track \
                         trails the video now: a source that stopped delivering)",
                    )
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![
                glib::subclass::Signal::builder("save")
                    .param_types([u64::static_type(), Option::<String>::static_type()])
                    .return_type::<String>()
                    .action()
                    .class_handler(|args| {
                        ReplayRing::emit_save(args, |settings| {
                            let duration = args[1].get::<u64>().expect("signal arg");
                            let location = args[2].get::<Option<String>>().expect("signal arg");
                            Ok(SaveRequest::last(
                                Nanos::from_unsigned_nanos(duration),
                                location,
                                settings.request_defaults(),
                            ))
                        })
                    })
                    .build(),
                glib::subclass::Signal::builder("save-range")
                    .param_types([
                        u64::static_type(),
                        u64::static_type(),
                        Option::<String>::static_type(),
                    ])
                    .return_type::<String>()
                    .action()
                    .class_handler(|args| {
                        ReplayRing::emit_save(args, |settings| {
                            let start_ago = args[1].get::<u64>().expect("signal arg");
                            let end_ago = args[2].get::<u64>().expect("signal arg");
                            let location = args[3].get::<Option<String>>().expect("signal arg");
                            Ok(SaveRequest::range(
                                Nanos::from_unsigned_nanos(start_ago),
                                Nanos::from_unsigned_nanos(end_ago),
                                location,
                                settings.request_defaults(),
                            ))
                        })
                    })
                    .build(),
                glib::subclass::Signal::builder("save-clip")
                    .param_types([gst::Structure::static_type()])
                    .return_type::<String>()
                    .action()
                    .class_handler(|args| {
                        ReplayRing::emit_save(args, |settings| {
                            let structure = args[1]
                                .get::<Option<gst::Structure>>()
                                .expect("signal arg")
                                .ok_or_else(|| {
                                    format!("save-clip needs a {REQUEST_STRUCTURE} structure")
                                })?;
                            SaveRequest::from_structure(&structure, settings.request_defaults())
                        })
                    })
                    .build(),
            ]
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
            "post-roll" => settings.post_roll = value.get().expect("type checked upstream"),
            "clear-on-save" => settings.clear_on_save = value.get().expect("type checked upstream"),
            "sha256" => settings.sha256 = value.get().expect("type checked upstream"),
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
                    "post-roll" => settings.post_roll.to_value(),
                    "clear-on-save" => settings.clear_on_save.to_value(),
                    "sha256" => settings.sha256.to_value(),
                    other => unreachable!("unknown property {other}"),
                }
            }
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let saves = SaveQueue::new(self.reporter());
        assert!(self.saves.set(saves).is_ok(), "constructed once");
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
                "Sink/Video/Audio",
                "Keeps the last N seconds of encoded H.264/H.265 video, and AAC/Opus audio tracks, in RAM \
                 and saves any part of it to MP4 on the save action signals, without re-encoding, while \
                 capture goes on",
                "gst-replay developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![
                gst::PadTemplate::new(
                    "video",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &stream_format::video_sink_caps(),
                )
                .expect("video pad template"),
                gst::PadTemplate::new(
                    "audio_%u",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Request,
                    &audio_format::audio_sink_caps(),
                )
                .expect("audio pad template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn request_new_pad(
        &self,
        template: &gst::PadTemplate,
        name: Option<&str>,
        _caps: Option<&gst::Caps>,
    ) -> Option<gst::Pad> {
        let mut state = self.state.lock().unwrap();
        let number = match name {
            Some(name) => {
                let number = name
                    .strip_prefix("audio_")
                    .and_then(|n| n.parse::<usize>().ok());
                match number {
                    Some(number) if !state.audio.contains_key(&number) => number,
                    _ => {
                        drop(state);
                        gst::warning!(CAT, imp = self, "pad name {name} is not a free audio_%u");
                        return None;
                    }
                }
            }
            None => (0..)
                .find(|n| !state.audio.contains_key(n))
                .expect("a free number"),
        };
        state.audio.insert(number, PadStream::default());
        state.recording.add_audio_track(number);
        drop(state);

        let pad = sink_pad(
            template,
            Some(format!("audio_{number}")),
            Track::Audio(number),
        );
        let element = self.obj();
        if element.current_state() > gst::State::Ready {
            let _ = pad.set_active(true);
        }
        element.add_pad(&pad).ok()?;
        Some(pad)
    }

    fn release_pad(&self, pad: &gst::Pad) {
        let number = pad
            .name()
            .strip_prefix("audio_")
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(number) = number {
            let mut state = self.state.lock().unwrap();
            state.audio.remove(&number);
            state.recording.remove_audio_track(number);
        }
        let _ = pad.set_active(false);
        let _ = self.obj().remove_pad(pad);
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            self.state.lock().unwrap().reset_streams();
        }
        let success = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            // Clips already requested are snapshots: finish them rather than lose them.
            let max_duration = self.settings.lock().unwrap().limits().max_duration;
            let completed = self
                .state
                .lock()
                .unwrap()
                .take_completed_saves(true, max_duration);
            completed
                .into_iter()
                .for_each(|job| self.saves().submit(job));
            self.saves().wait_idle();
            self.state.lock().unwrap().reset_streams();
        }
        Ok(success)
    }
}
