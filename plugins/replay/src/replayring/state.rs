//! What the element knows of its streams, and the saves waiting to be written.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::settings::Settings;
use crate::audio_format::AudioFormat;
use crate::ring::{AudioPushOutcome, Frame, Limits, PushOutcome, Recording};
use crate::save::cut::SelectError;
use crate::save::job::SaveJob;
use crate::save::pending::{self, PendingSave};
use crate::save::request::SaveRequest;
use crate::stream_format::StreamFormat;
use crate::time::Nanos;

/// Without decode times, presentation times go back by a few frames with B-frames: only a
/// larger step back is a jump.
const BACKWARDS_WITHOUT_DTS: Nanos = Nanos::from_secs(1);

/// What one sink pad has seen of its stream.
pub(super) struct PadStream<F> {
    pub(super) format: Option<Arc<F>>,
    pub(super) segment: gst::FormattedSegment<gst::ClockTime>,
    pub(super) eos: bool,
    /// Warnings already posted, so a persistent condition warns once per stream.
    pub(super) warned_awaiting_keyframe: bool,
    pub(super) warned_over_byte_limit: bool,
    pub(super) warned_backwards: bool,
    pub(super) warned_long_gop: bool,
}

impl<F> Default for PadStream<F> {
    fn default() -> Self {
        PadStream {
            format: None,
            segment: gst::FormattedSegment::new(),
            eos: false,
            warned_awaiting_keyframe: false,
            warned_over_byte_limit: false,
            warned_backwards: false,
            warned_long_gop: false,
        }
    }
}

#[derive(Default)]
pub(super) struct State {
    pub(super) recording: Recording<gst::Buffer, StreamFormat, AudioFormat>,
    pub(super) video: PadStream<StreamFormat>,
    /// Decode time of the newest video frame: post-roll saves complete against it.
    pub(super) newest_video_dts: Option<Nanos>,
    /// By `audio_%u` number.
    pub(super) audio: BTreeMap<usize, PadStream<AudioFormat>>,
    /// Saves waiting for their post-roll.
    pub(super) pending: Vec<PendingSave>,
    /// clear-on-save: later saves present nothing before this stream time.
    pub(super) cleared_until: Option<Nanos>,
    /// A watchdog thread is looking after the pending saves.
    pub(super) watchdog_running: bool,
    /// Frames copied out of an upstream buffer pool.
    pub(super) pooled_copies: u64,
}

/// What the element does after a frame was taken under the state lock.
pub(super) struct PushedFrame {
    /// Warnings to post, each once per stream.
    pub(super) warnings: Vec<String>,
    /// Saves whose window is now complete: for the save threads.
    pub(super) ready: Vec<SaveJob>,
    /// Audio only: the time missing before the packet, when its timestamps jumped forward.
    pub(super) gap: Option<Nanos>,
}

/// What the element does once a save has been started under the state lock.
pub(super) struct StartedSave {
    /// Saves complete now (this one, unless it waits for post-roll): for the save threads.
    pub(super) ready: Vec<SaveJob>,
    /// Saves wait for post-roll and no watchdog looks after them yet.
    pub(super) start_watchdog: bool,
}

impl State {
    /// Adds a video frame to the ring and to the saves waiting for post-roll. `has_dts`: the
    /// buffer carried a decode time of its own.
    pub(super) fn push_video(
        &mut self,
        frame: Frame<gst::Buffer>,
        mut format: Arc<StreamFormat>,
        has_dts: bool,
        limits: Limits,
    ) -> PushedFrame {
        let mut warnings = Vec::new();
        let mut ready = Vec::new();
        if let Some(back) = self.timeline_jump_back(&frame, has_dts) {
            // A new timeline: a fresh format identity keeps every clip on one side of the
            // jump (the ring never mixes formats in a clip), and saves waiting for frames of
            // the old timeline are written with what they have.
            format = Arc::new((*format).clone());
            self.video.format = Some(Arc::clone(&format));
            self.newest_video_dts = None;
            ready = self.take_completed_saves(true, limits.max_duration);
            if !std::mem::replace(&mut self.video.warned_backwards, true) {
                warnings.push(format!(
                    "Timestamps went backwards by {back:.3}: frames before and after the jump are \
                 kept, but no clip spans it (the stream restarts at its next keyframe)"
                ));
            }
        }
        for pending in &mut self.pending {
            pending.job.snapshot.push_video(frame.clone(), &format);
        }
        self.newest_video_dts = Some(
            self.newest_video_dts
                .map_or(frame.dts, |dts| dts.max(frame.dts)),
        );
        let outcome = self.recording.push_video(frame, &format, limits);
        match outcome {
            PushOutcome::Stored => {}
            PushOutcome::DroppedAwaitingKeyframe => {
                if !std::mem::replace(&mut self.video.warned_awaiting_keyframe, true) {
                    warnings.push(
                        "Dropping delta frames until the first keyframe (after start, a flush, \
                     a caps change or a timestamp jump)"
                            .to_owned(),
                    );
                }
            }
            PushOutcome::DroppedOverByteLimit => {
                if !std::mem::replace(&mut self.video.warned_over_byte_limit, true) {
                    warnings.push(
                        "One GOP is larger than max-bytes: dropping its frames until the next \
                     keyframe"
                            .to_owned(),
                    );
                }
            }
        }
        let gop_span = self.recording.video().open_gop_span();
        if gop_span > limits.max_duration
            && !std::mem::replace(&mut self.video.warned_long_gop, true)
        {
            warnings.push(format!(
                "Keyframes are more than max-duration apart (one GOP spans {gop_span:.1}): the \
             ring keeps whole GOPs, so it holds more than max-duration; set the encoder's \
             keyframe interval (e.g. x264enc key-int-max) below max-duration"
            ));
        }
        ready.extend(self.take_completed_saves(false, limits.max_duration));
        PushedFrame {
            warnings,
            ready,
            gap: None,
        }
    }

    /// Adds a packet of audio track `number` to the ring and to the saves waiting for
    /// post-roll.
    pub(super) fn push_audio(
        &mut self,
        number: usize,
        packet: Frame<gst::Buffer>,
        format: Arc<AudioFormat>,
        limits: Limits,
    ) -> PushedFrame {
        for pending in &mut self.pending {
            pending
                .job
                .snapshot
                .push_audio(number, packet.clone(), &format);
        }
        let mut warnings = Vec::new();
        let mut gap = None;
        match self.recording.push_audio(number, packet, &format, limits) {
            AudioPushOutcome::Stored { gap: found } => gap = found,
            AudioPushOutcome::DroppedOverByteLimit => {
                let stream = self.audio.get_mut(&number);
                if stream.is_some_and(|stream| {
                    !std::mem::replace(&mut stream.warned_over_byte_limit, true)
                }) {
                    warnings.push(format!(
                        "Audio on audio_{number} does not fit max-bytes beside the current GOP: \
                         dropping packets"
                    ));
                }
            }
            AudioPushOutcome::UnknownTrack => {}
        }
        PushedFrame {
            warnings,
            ready: self.take_completed_saves(false, limits.max_duration),
            gap,
        }
    }

    /// Takes the snapshot a save is cut from and queues the save as pending; the error says
    /// why there is nothing to save.
    pub(super) fn start_save(
        &mut self,
        id: &str,
        request: &SaveRequest,
        location_template: String,
        settings: &Settings,
        requested_at: Instant,
    ) -> Result<StartedSave, String> {
        let snapshot = self.recording.snapshot();
        let video_end = snapshot
            .complete_end()
            .ok_or_else(|| SelectError::NoKeyframe.to_string())?;
        let now = if request.wait_for_audio {
            video_end
        } else {
            self.live_audio_ends()
                .flatten()
                .fold(video_end, |now, audio_end| now.min(audio_end))
        };
        let window = request.window(now, settings.limits().max_duration, self.cleared_until)?;
        if request.clear {
            self.cleared_until = Some(self.cleared_until.unwrap_or(Nanos::MIN).max(window.end));
        }
        self.pending.push(PendingSave {
            job: SaveJob {
                id: id.to_owned(),
                location_template,
                window,
                snapshot,
                requested_at,
                sha256: settings.sha256,
            },
            clear: request.clear,
            requested_at_stream_time: now,
            deadline: pending::deadline(
                requested_at,
                Duration::from_nanos(request.post_roll.as_unsigned_nanos()),
            ),
        });
        let ready = self.take_completed_saves(false, settings.limits().max_duration);
        let start_watchdog = !self.pending.is_empty() && !self.watchdog_running;
        self.watchdog_running |= start_watchdog;
        Ok(StartedSave {
            ready,
            start_watchdog,
        })
    }

    /// Forgets the streams (buffers, caps, segments) but keeps the pads and the counters.
    pub(super) fn reset_streams(&mut self) {
        self.recording.clear();
        self.video = PadStream::default();
        self.newest_video_dts = None;
        for pad in self.audio.values_mut() {
            *pad = PadStream::default();
        }
        self.cleared_until = None;
    }

    /// How far `frame` goes back in decode time, when it does: a source or encoder restarted
    /// its timestamps. `has_dts`: the buffer carried a decode time of its own.
    pub(super) fn timeline_jump_back<P>(&self, frame: &Frame<P>, has_dts: bool) -> Option<Nanos> {
        let newest = self.newest_video_dts?;
        let allowed = if has_dts {
            Nanos::ZERO
        } else {
            BACKWARDS_WITHOUT_DTS
        };
        let back = newest - frame.dts;
        (back > allowed).then_some(back)
    }

    pub(super) fn all_pads_eos(&self) -> bool {
        self.video.eos && self.audio.values().all(|pad| pad.eos)
    }

    /// Where each audio track that is still delivering has got to (None before its first
    /// packet): a save's window must be reached by all of them.
    fn live_audio_ends(&self) -> impl Iterator<Item = Option<Nanos>> + '_ {
        self.audio
            .iter()
            .filter(|(_, pad)| !pad.eos && pad.format.is_some())
            .map(|(number, _)| {
                self.recording
                    .audio_track(*number)
                    .and_then(|track| track.newest_end())
            })
    }

    /// Takes the post-roll saves that are complete (all of them with `force`), releasing
    /// what clear-on-save ones saved.
    pub(super) fn take_completed_saves(
        &mut self,
        force: bool,
        max_duration: Nanos,
    ) -> Vec<SaveJob> {
        // Called for every frame: nothing to allocate when no save is waiting.
        if self.pending.is_empty() {
            return Vec::new();
        }
        let newest_dts = self.newest_video_dts.unwrap_or(Nanos::MIN);
        let live_audio_ends: Vec<Option<Nanos>> = self.live_audio_ends().collect();
        let (complete, waiting): (Vec<PendingSave>, Vec<PendingSave>) =
            std::mem::take(&mut self.pending)
                .into_iter()
                .partition(|save| force || save.is_complete(newest_dts, &live_audio_ends));
        self.pending = waiting;
        complete
            .into_iter()
            .map(|save| {
                if save.clear {
                    self.recording.evict_before(save.until(), max_duration);
                }
                save.job
            })
            .collect()
    }
}
