//! A snapshot of the ring: what a save is cut from (see `save::cut`).

use std::sync::Arc;

use super::audio::{AudioTrackFormat, Packet};
use super::{Frame, Gop};
use crate::time::Nanos;

/// The audio format of a ring without audio tracks.
#[derive(Debug, PartialEq, Eq)]
pub enum NoAudio {}

impl AudioTrackFormat for NoAudio {
    fn decoder_preroll(&self) -> Nanos {
        match *self {}
    }
}

/// The ring as it was when a save was requested, extended by what a post-roll adds. Shares
/// GOPs and payloads with the ring.
pub struct Snapshot<P, F, A = NoAudio> {
    gops: Vec<Arc<Gop<P, F>>>,
    /// (track number, packets) for each audio track.
    audio: Vec<(usize, Vec<Packet<P, A>>)>,
}

impl<P: Clone, F, A: AudioTrackFormat> Snapshot<P, F, A> {
    pub(super) fn new(gops: Vec<Arc<Gop<P, F>>>, audio: Vec<(usize, Vec<Packet<P, A>>)>) -> Self {
        Snapshot { gops, audio }
    }

    pub fn is_empty(&self) -> bool {
        self.gops.is_empty()
    }

    /// Where the newest complete video ends: "now" for a save (see [`complete_end`]).
    pub fn complete_end(&self) -> Option<Nanos> {
        let run = newest_format_run(&self.gops)?;
        Some(complete_end(run))
    }

    /// End of the newest packet of every audio track (None for a track without packets).
    pub fn audio_ends(&self) -> impl Iterator<Item = Option<Nanos>> + '_ {
        self.audio
            .iter()
            .map(|(_, packets)| packets.iter().map(|packet| packet.frame.end()).max())
    }

    /// Adds a frame that arrived after the snapshot was taken (post-roll). Delta frames that
    /// do not continue the newest GOP in the same format are dropped, as the ring drops them.
    pub fn push_video(&mut self, frame: Frame<P>, format: &Arc<F>) {
        if frame.keyframe {
            self.gops
                .push(Arc::new(Gop::new(frame, Arc::clone(format))));
            return;
        }
        if let Some(newest) = self.gops.last_mut() {
            if Arc::ptr_eq(newest.format(), format) {
                // Unique unless the ring's closed GOP is shared: then the GOP is copied.
                Arc::make_mut(newest).push(frame);
            }
        }
    }

    /// Adds an audio packet that arrived after the snapshot was taken (post-roll).
    pub fn push_audio(&mut self, track: usize, frame: Frame<P>, format: &Arc<A>) {
        let packet = Packet {
            frame,
            format: Arc::clone(format),
        };
        match self.audio.iter_mut().find(|(number, _)| *number == track) {
            Some((_, packets)) => packets.push(packet),
            None => self.audio.push((track, vec![packet])),
        }
    }

    /// The GOPs, oldest first.
    pub fn gops(&self) -> &[Arc<Gop<P, F>>] {
        &self.gops
    }

    /// (track number, packets in arrival order) for each audio track.
    pub fn audio_tracks(&self) -> &[(usize, Vec<Packet<P, A>>)] {
        &self.audio
    }
}

/// The trailing GOPs that share the newest GOP's format.
pub(crate) fn newest_format_run<P, F>(gops: &[Arc<Gop<P, F>>]) -> Option<&[Arc<Gop<P, F>>]> {
    let newest = gops.last()?;
    let run_start = gops
        .iter()
        .rposition(|gop| !Arc::ptr_eq(gop.format(), newest.format()))
        .map_or(0, |different| different + 1);
    Some(&gops[run_start..])
}

/// The latest presentation end before which no frame is missing.
///
/// A frame not yet received has a DTS after the newest DTS, and DTS <= PTS, so every frame
/// presented up to the newest DTS is here. From there the end extends over frames that
/// follow each other without a gap (half a frame of tolerance): with reordering, the newest
/// frames are often complete too. Without reordering that is the newest frame.
pub(crate) fn complete_end<P, F>(run: &[Arc<Gop<P, F>>]) -> Nanos {
    let all_frames = || run.iter().flat_map(|gop| gop.frames());
    let newest_dts = all_frames()
        .map(|frame| frame.dts)
        .max()
        .unwrap_or(Nanos::ZERO);
    let certain_end = all_frames()
        .filter(|frame| frame.pts <= newest_dts)
        .map(Frame::end)
        .max();
    let Some(mut end) = certain_end else {
        return all_frames().map(Frame::end).max().unwrap_or(Nanos::ZERO);
    };
    let mut later: Vec<&Frame<P>> = all_frames().filter(|frame| frame.pts >= end).collect();
    later.sort_by_key(|frame| frame.pts);
    for frame in later {
        if frame.pts > end + frame.duration / 2 {
            break;
        }
        end = end.max(frame.end());
    }
    end
}
