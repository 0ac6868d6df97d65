//! The video ring and its audio tracks under one byte budget and one timeline.
//!
//! Video decides what is kept (a clip starts at a video keyframe); each audio track keeps
//! its packets back to a little before the oldest keyframe. `max_bytes` counts every track:
//! audio that does not fit makes the oldest video GOP go, and the audio with it.

use std::sync::Arc;

use super::audio::{AudioTrack, AudioTrackFormat, RETAINED_BEFORE_VIDEO};
use super::{Frame, Limits, PushOutcome, Ring, Snapshot};
use crate::time::Nanos;

/// What happened to a pushed audio packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioPushOutcome {
    /// Stored; `gap` is the time missing before it when its timestamps jumped forward.
    Stored { gap: Option<Nanos> },
    /// Even with every older GOP evicted, the packet did not fit under `max_bytes`.
    DroppedOverByteLimit,
    /// No such track (its pad was released).
    UnknownTrack,
}

pub struct Recording<P, V, A> {
    video: Ring<P, V>,
    /// Indexed by track number (the pad's `audio_%u` number); None once released.
    audio: Vec<Option<AudioTrack<P, A>>>,
}

impl<P: Clone, V, A: AudioTrackFormat> Default for Recording<P, V, A> {
    fn default() -> Self {
        Recording {
            video: Ring::new(),
            audio: Vec::new(),
        }
    }
}

impl<P: Clone, V, A: AudioTrackFormat> Recording<P, V, A> {
    pub fn video(&self) -> &Ring<P, V> {
        &self.video
    }

    pub fn audio_track(&self, track: usize) -> Option<&AudioTrack<P, A>> {
        self.audio.get(track).and_then(Option::as_ref)
    }

    /// The audio tracks in use, by track number.
    pub fn audio_tracks(&self) -> impl Iterator<Item = (usize, &AudioTrack<P, A>)> {
        self.audio
            .iter()
            .enumerate()
            .filter_map(|(number, track)| track.as_ref().map(|track| (number, track)))
    }

    pub fn add_audio_track(&mut self, track: usize) {
        if self.audio.len() <= track {
            self.audio.resize_with(track + 1, || None);
        }
        self.audio[track] = Some(AudioTrack::default());
    }

    pub fn remove_audio_track(&mut self, track: usize) {
        if let Some(slot) = self.audio.get_mut(track) {
            *slot = None;
        }
    }

    /// Payload bytes held across every track.
    pub fn bytes(&self) -> u64 {
        self.video.bytes() + self.audio_bytes()
    }

    fn audio_bytes(&self) -> u64 {
        self.audio_tracks().map(|(_, track)| track.bytes()).sum()
    }

    pub fn push_video(&mut self, frame: Frame<P>, format: &Arc<V>, limits: Limits) -> PushOutcome {
        let video_limits = Limits {
            max_bytes: limits.max_bytes.saturating_sub(self.audio_bytes()),
            ..limits
        };
        let outcome = self.video.push(frame, format, video_limits);
        self.trim_audio(limits.max_duration);
        outcome
    }

    pub fn push_audio(
        &mut self,
        track: usize,
        frame: Frame<P>,
        format: &Arc<A>,
        limits: Limits,
    ) -> AudioPushOutcome {
        if self.audio_track(track).is_none() {
            return AudioPushOutcome::UnknownTrack;
        }
        while self.bytes() + frame.size > limits.max_bytes {
            if !self.video.evict_oldest() {
                return AudioPushOutcome::DroppedOverByteLimit;
            }
            self.trim_audio(limits.max_duration);
        }
        let Some(Some(audio)) = self.audio.get_mut(track) else {
            return AudioPushOutcome::UnknownTrack;
        };
        let gap = audio.push(frame, format);
        self.trim_audio(limits.max_duration);
        AudioPushOutcome::Stored { gap }
    }

    /// Audio follows the video: packets ending well before the oldest keyframe go. Before
    /// any video, each track keeps its own last `max_duration`.
    fn trim_audio(&mut self, max_duration: Nanos) {
        let video_start = self.video.start();
        for track in self.audio.iter_mut().flatten() {
            let keep_from = match (video_start, track.newest_end()) {
                (Some(start), _) => start.saturating_sub(RETAINED_BEFORE_VIDEO),
                (None, Some(end)) => end
                    .saturating_sub(max_duration)
                    .saturating_sub(RETAINED_BEFORE_VIDEO),
                (None, None) => continue,
            };
            track.trim_before(keep_from);
        }
    }

    /// Releases what no save from `time` on can present (clear-on-save).
    pub fn evict_before(&mut self, time: Nanos, max_duration: Nanos) {
        self.video.evict_before(time);
        self.trim_audio(max_duration);
    }

    /// Forgets every track's data (flush), keeping the tracks and the counters.
    pub fn clear(&mut self) {
        self.video.clear();
        for track in self.audio.iter_mut().flatten() {
            track.clear();
        }
    }

    /// Forgets the video only (a flush on the video pad).
    pub fn clear_video(&mut self) {
        self.video.clear();
    }

    pub fn clear_audio(&mut self, track: usize) {
        if let Some(Some(audio)) = self.audio.get_mut(track) {
            audio.clear();
        }
    }

    /// A consistent copy of every track that shares the payloads.
    pub fn snapshot(&self) -> Snapshot<P, V, A> {
        let audio = self
            .audio_tracks()
            .map(|(number, track)| (number, track.packets()))
            .collect();
        Snapshot::new(self.video.shared_gops(), audio)
    }
}
