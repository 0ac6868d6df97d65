//! The replay ring: encoded frames grouped into GOPs, evicted a whole GOP at a time.
//!
//! Pure bookkeeping, generic over the payload (a `gst::Buffer` in the element, plain
//! values in tests) and over the stream format the GOPs carry (caps-derived in the element).
//!
//! Rules (see `docs/replayring.md`):
//! - A GOP starts at a keyframe. Delta frames with no keyframe before them in the same
//!   format are dropped: nothing could decode them.
//! - Duration eviction: the oldest GOP goes only while the GOPs after it still cover
//!   `max_duration`, so the ring always holds at least the last `max_duration` once the
//!   stream has run that long, and at most one GOP more.
//! - Byte cap: the ring never holds more than `max_bytes` of payload. Older GOPs are evicted
//!   first; when the current GOP alone would exceed the cap, the frames that do not fit are
//!   dropped until the next keyframe (the kept part still starts at a keyframe and decodes).

mod audio;
mod gop;
mod recording;
mod snapshot;

pub use audio::{AudioTrack, AudioTrackFormat, GapCounters, Packet, GAP_TOLERANCE};
pub use gop::{Frame, Gop};
pub use recording::{AudioPushOutcome, Recording};
pub(crate) use snapshot::{complete_end, newest_format_run};
pub use snapshot::{NoAudio, Snapshot};

use std::collections::VecDeque;
use std::sync::Arc;

use crate::time::Nanos;

/// How much the ring may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stream time the ring must be able to return.
    pub max_duration: Nanos,
    /// Hard cap on payload bytes held.
    pub max_bytes: u64,
}

/// What happened to a pushed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    /// A delta frame arrived before any keyframe of the current format.
    DroppedAwaitingKeyframe,
    /// The frame did not fit under `max_bytes` even with every older GOP evicted.
    DroppedOverByteLimit,
}

/// Counters since the ring was created (or cleared).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingCounters {
    pub evicted_frames: u64,
    pub dropped_frames: u64,
}

pub struct Ring<P, F> {
    closed: VecDeque<Arc<Gop<P, F>>>,
    open: Option<Gop<P, F>>,
    /// Frames of the open GOP are being dropped until the next keyframe (byte cap).
    open_truncated: bool,
    bytes: u64,
    frames: u64,
    counters: RingCounters,
}

impl<P: Clone, F> Default for Ring<P, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Clone, F> Ring<P, F> {
    pub fn new() -> Self {
        Ring {
            closed: VecDeque::new(),
            open: None,
            open_truncated: false,
            bytes: 0,
            frames: 0,
            counters: RingCounters::default(),
        }
    }

    /// Adds one frame in decode order, then evicts what the limits allow.
    pub fn push(&mut self, frame: Frame<P>, format: &Arc<F>, limits: Limits) -> PushOutcome {
        let outcome = if frame.keyframe {
            self.push_keyframe(frame, format, limits)
        } else {
            self.push_delta(frame, format, limits)
        };
        if outcome != PushOutcome::Stored {
            self.counters.dropped_frames += 1;
        }
        self.evict_by_duration(limits.max_duration);
        outcome
    }

    fn push_keyframe(&mut self, frame: Frame<P>, format: &Arc<F>, limits: Limits) -> PushOutcome {
        if let Some(previous) = self.open.take() {
            self.closed.push_back(Arc::new(previous));
        }
        self.open_truncated = false;
        if !self.make_room(frame.size, limits.max_bytes) {
            return PushOutcome::DroppedOverByteLimit;
        }
        self.account_added(&frame);
        self.open = Some(Gop::new(frame, Arc::clone(format)));
        PushOutcome::Stored
    }

    fn push_delta(&mut self, frame: Frame<P>, format: &Arc<F>, limits: Limits) -> PushOutcome {
        let continues_open_gop = self
            .open
            .as_ref()
            .is_some_and(|gop| Arc::ptr_eq(gop.format(), format));
        if !continues_open_gop {
            return PushOutcome::DroppedAwaitingKeyframe;
        }
        if self.open_truncated || !self.make_room(frame.size, limits.max_bytes) {
            // A frame after a dropped one may reference it: drop the rest of this GOP.
            self.open_truncated = true;
            return PushOutcome::DroppedOverByteLimit;
        }
        self.account_added(&frame);
        self.open.as_mut().expect("checked above").push(frame);
        PushOutcome::Stored
    }

    fn account_added(&mut self, frame: &Frame<P>) {
        self.bytes += frame.size;
        self.frames += 1;
    }

    /// Evicts closed GOPs until `incoming` more bytes fit under `max_bytes`.
    /// Returns false when they cannot fit even then.
    fn make_room(&mut self, incoming: u64, max_bytes: u64) -> bool {
        while self.bytes + incoming > max_bytes {
            if !self.evict_oldest() {
                return false;
            }
        }
        true
    }

    fn evict_by_duration(&mut self, max_duration: Nanos) {
        let Some(end) = self.end() else { return };
        while let Some(second_start) = self.second_gop_start() {
            if end - second_start < max_duration {
                break;
            }
            self.evict_oldest();
        }
    }

    fn second_gop_start(&self) -> Option<Nanos> {
        match self.closed.len() {
            0 => None,
            1 => self.open.as_ref().map(Gop::start),
            _ => Some(self.closed[1].start()),
        }
    }

    /// Evicts the GOPs that nothing presented from `time` on needs: every GOP followed by
    /// a keyframe presented at or before `time` (clear-on-save releases a saved range).
    pub fn evict_before(&mut self, time: Nanos) {
        while self.second_gop_start().is_some_and(|start| start <= time) {
            self.evict_oldest();
        }
    }

    /// Drops the oldest closed GOP. The open GOP is never evicted: it is the newest data.
    pub(super) fn evict_oldest(&mut self) -> bool {
        let Some(gop) = self.closed.pop_front() else {
            return false;
        };
        self.bytes -= gop.bytes();
        self.frames -= gop.frame_count() as u64;
        self.counters.evicted_frames += gop.frame_count() as u64;
        true
    }

    /// Forgets everything buffered (flush). Snapshots already taken keep their frames.
    pub fn clear(&mut self) {
        self.closed.clear();
        self.open = None;
        self.open_truncated = false;
        self.bytes = 0;
        self.frames = 0;
    }

    fn gops(&self) -> impl DoubleEndedIterator<Item = &Gop<P, F>> {
        self.closed
            .iter()
            .map(|gop| &**gop)
            .chain(self.open.as_ref())
    }

    /// Presentation time the GOP being received covers so far (0 without one).
    pub fn open_gop_span(&self) -> Nanos {
        self.open
            .as_ref()
            .map_or(Nanos::ZERO, |gop| gop.end() - gop.start())
    }

    /// Presentation time of the oldest keyframe.
    pub fn start(&self) -> Option<Nanos> {
        self.gops().next().map(Gop::start)
    }

    /// Presentation end of the newest data (max PTS + duration).
    pub fn end(&self) -> Option<Nanos> {
        self.gops().map(Gop::end).max()
    }

    /// Presentation time covered, from the oldest keyframe to the newest frame's end.
    pub fn duration(&self) -> Nanos {
        match (self.gops().next(), self.end()) {
            (Some(first), Some(end)) => (end - first.start()).max(Nanos::ZERO),
            _ => Nanos::ZERO,
        }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn keyframes(&self) -> u64 {
        self.gops().count() as u64
    }

    pub fn counters(&self) -> RingCounters {
        self.counters
    }

    /// A consistent copy of the ring that shares the payloads: cheap enough to take on the
    /// streaming thread (one refcount per GOP, plus one per frame of the open GOP).
    pub fn snapshot(&self) -> Snapshot<P, F> {
        Snapshot::new(self.shared_gops(), Vec::new())
    }

    /// The GOPs, shared; the open one copied (its frame list, not the payloads).
    fn shared_gops(&self) -> Vec<Arc<Gop<P, F>>> {
        let mut gops: Vec<Arc<Gop<P, F>>> = self.closed.iter().cloned().collect();
        if let Some(open) = &self.open {
            gops.push(Arc::new(open.clone()));
        }
        gops
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod recording_tests;
