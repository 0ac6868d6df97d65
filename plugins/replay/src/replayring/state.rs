//! What the element knows of its streams, and the saves waiting to be written.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::job::SaveJob;
use super::pending::PendingSave;
use crate::audio_format::AudioFormat;
use crate::ring::{Frame, Recording};
use crate::stream_format::StreamFormat;

/// Without decode times, presentation times go back by a few frames with B-frames: only a
/// larger step back is a jump.
const BACKWARDS_WITHOUT_DTS: i64 = 1_000_000_000;

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
    pub(super) newest_video_dts: Option<i64>,
    /// By `audio_%u` number.
    pub(super) audio: BTreeMap<usize, PadStream<AudioFormat>>,
    /// Saves waiting for their post-roll.
    pub(super) pending: Vec<PendingSave>,
    /// clear-on-save: later saves present nothing before this stream time.
    pub(super) cleared_until: Option<i64>,
    /// A watchdog thread is looking after the pending saves.
    pub(super) watchdog_running: bool,
    /// Frames copied out of an upstream buffer pool.
    pub(super) pooled_copies: u64,
}

impl State {
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
    pub(super) fn timeline_jump_back<P>(&self, frame: &Frame<P>, has_dts: bool) -> Option<i64> {
        let newest = self.newest_video_dts?;
        let allowed = if has_dts { 0 } else { BACKWARDS_WITHOUT_DTS };
        let back = newest - frame.dts;
        (back > allowed).then_some(back)
    }

    pub(super) fn all_pads_eos(&self) -> bool {
        self.video.eos && self.audio.values().all(|pad| pad.eos)
    }

    /// Takes the post-roll saves that are complete (all of them with `force`), releasing
    /// what clear-on-save ones saved.
    pub(super) fn take_completed_saves(&mut self, force: bool, max_duration: i64) -> Vec<SaveJob> {
        // Called for every frame: nothing to allocate when no save is waiting.
        if self.pending.is_empty() {
            return Vec::new();
        }
        let newest_dts = self.newest_video_dts.unwrap_or(i64::MIN);
        let live_audio_ends: Vec<Option<i64>> = self
            .audio
            .iter()
            .filter(|(_, pad)| !pad.eos && pad.format.is_some())
            .map(|(number, _)| {
                self.recording
                    .audio_track(*number)
                    .and_then(|track| track.newest_end())
            })
            .collect();
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
