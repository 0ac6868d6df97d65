//! Choosing the frames of a clip from a snapshot of the ring: the cut rule.

use std::ops::Range;
use std::sync::Arc;

use crate::ring::{
    complete_end, newest_format_run, AudioTrackFormat, Frame, Gop, NoAudio, Packet, Snapshot,
};
use crate::time::Nanos;

/// The frames a clip is written from, and what of them is presented.
#[derive(Debug)]
pub struct Clip<P, F, A = NoAudio> {
    pub format: Arc<F>,
    /// Decode order; the first is a keyframe.
    pub frames: Vec<Frame<P>>,
    /// PTS of the first presented frame: earlier frames are decoded but not shown.
    pub presentation_start: Nanos,
    /// End of the last presented frame.
    pub presentation_end: Nanos,
    pub presented_frames: u64,
    /// The audio tracks that have packets in the presented range, by track number.
    pub audio: Vec<AudioClip<P, A>>,
}

impl<P, F, A> Clip<P, F, A> {
    pub fn presented_duration(&self) -> Nanos {
        self.presentation_end - self.presentation_start
    }
}

/// The packets of one audio track for a clip.
#[derive(Debug)]
pub struct AudioClip<P, A> {
    pub track: usize,
    pub format: Arc<A>,
    /// In order; the first ones may be decoder pre-roll, presented before `presentation`.
    pub packets: Vec<Frame<P>>,
    /// What of the packets is presented, within the video's presented range.
    pub presentation: Range<Nanos>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("no keyframe buffered yet")]
    NoKeyframe,
    #[error("the requested range ended before the oldest buffered keyframe")]
    RangeEvicted,
    #[error(
        "no frame is presented in the requested range (shorter than a frame, or already saved with clear-on-save)"
    )]
    NothingInRange,
}

/// Selects the last `duration`, or everything buffered when less is.
pub fn last<P: Clone, F, A: AudioTrackFormat>(
    snapshot: &Snapshot<P, F, A>,
    duration: Nanos,
) -> Result<Clip<P, F, A>, SelectError> {
    let end = snapshot.complete_end().ok_or(SelectError::NoKeyframe)?;
    window(snapshot, end.saturating_sub(duration)..end)
}

/// Selects what is presented in `window` (stream time), to the frame.
///
/// The cut: the clip presents the frames whose PTS is in the window (half a frame of
/// tolerance absorbs nanosecond rounding), no later than the newest frame that is
/// certainly complete (every frame presented before it has arrived). Decoding starts at
/// the last keyframe presented at or before the first of them. Only one run of GOPs in
/// one format is used (the one the window ends in), so a clip never mixes incompatible
/// streams. A window that starts before the oldest keyframe starts there.
///
/// Each audio track contributes the packets that overlap the presented range, plus the
/// decoder pre-roll before it; its presented range is the video's, clipped to the audio
/// that exists.
pub fn window<P: Clone, F, A: AudioTrackFormat>(
    snapshot: &Snapshot<P, F, A>,
    window: Range<Nanos>,
) -> Result<Clip<P, F, A>, SelectError> {
    let gops = snapshot.gops();
    if gops.is_empty() {
        return Err(SelectError::NoKeyframe);
    }
    let run = format_run_ending_before(gops, window.end).ok_or(SelectError::RangeEvicted)?;
    let tolerance = run[run.len() - 1].keyframe().duration / 2;
    let complete = complete_end(run);
    let presentable = |frame: &Frame<P>| {
        frame.pts + tolerance >= window.start
            && frame.pts + tolerance < window.end
            && frame.pts < complete
    };

    let first = run
        .iter()
        .rposition(|gop| gop.start() <= window.start + tolerance)
        .unwrap_or(0);
    let candidates = || run[first..].iter().flat_map(|gop| gop.frames());
    let presentation_start = candidates()
        .filter(|frame| presentable(frame))
        .map(|frame| frame.pts)
        .min()
        .ok_or(SelectError::NothingInRange)?;
    let presentation_end = candidates()
        .filter(|frame| presentable(frame))
        .map(Frame::end)
        .max()
        .ok_or(SelectError::NothingInRange)?;
    let frames = decodable_frames(&run[first..], presentation_end);
    let presented_frames = frames
        .iter()
        .filter(|frame| frame.pts >= presentation_start && frame.pts < presentation_end)
        .count() as u64;
    let presented = presentation_start..presentation_end;
    let audio = snapshot
        .audio_tracks()
        .iter()
        .filter_map(|(track, packets)| select_audio(*track, packets, &presented))
        .collect();

    Ok(Clip {
        format: Arc::clone(run[first].format()),
        frames,
        presentation_start,
        presentation_end,
        presented_frames,
        audio,
    })
}

/// The run of GOPs in one format that holds the newest keyframe before `end`: a window in
/// the past is cut from the stream as it was then.
fn format_run_ending_before<P, F>(
    gops: &[Arc<Gop<P, F>>],
    end: Nanos,
) -> Option<&[Arc<Gop<P, F>>]> {
    let last = gops.iter().rposition(|gop| gop.start() < end)?;
    let format = gops[last].format();
    let run_end = gops[last..]
        .iter()
        .position(|gop| !Arc::ptr_eq(gop.format(), format))
        .map_or(gops.len(), |different| last + different);
    newest_format_run(&gops[..run_end])
}

/// The frames to write, in decode order: the GOPs from the starting keyframe, without the
/// first GOP's leading pictures (presented before its keyframe, they may reference the GOP
/// before it, as open-GOP HEVC's RASL pictures do) and without the decode-order tail that
/// is presented only after `end`.
fn decodable_frames<P: Clone, F>(gops: &[Arc<Gop<P, F>>], end: Nanos) -> Vec<Frame<P>> {
    let keyframe_pts = gops[0].start();
    let mut frames: Vec<Frame<P>> = gops
        .iter()
        .enumerate()
        .flat_map(|(index, gop)| {
            gop.frames()
                .iter()
                .filter(move |frame| index > 0 || frame.pts >= keyframe_pts)
        })
        .cloned()
        .collect();
    let last_presented = frames.iter().rposition(|frame| frame.pts < end);
    frames.truncate(last_presented.map_or(1, |index| index + 1));
    frames
}

/// The packets of one audio track for the presented range `presented`: those that overlap
/// it, in the format of the last of them, preceded by the format's decoder pre-roll.
fn select_audio<P: Clone, A: AudioTrackFormat>(
    track: usize,
    packets: &[Packet<P, A>],
    presented: &Range<Nanos>,
) -> Option<AudioClip<P, A>> {
    let last = packets
        .iter()
        .rposition(|packet| packet.frame.pts < presented.end)?;
    let format = &packets[last].format;
    let run_start = packets[..last]
        .iter()
        .rposition(|packet| !Arc::ptr_eq(&packet.format, format))
        .map_or(0, |different| different + 1);
    let run = &packets[run_start..=last];
    let first_presented = run
        .iter()
        .position(|packet| packet.frame.end() > presented.start)?;
    let preroll_from = run[first_presented].frame.pts - format.decoder_preroll();
    let first = run[..first_presented]
        .iter()
        .position(|packet| packet.frame.end() > preroll_from)
        .unwrap_or(first_presented);
    let audio_end = run.iter().map(|packet| packet.frame.end()).max()?;
    let presentation = presented.start.max(run[first].frame.pts)..presented.end.min(audio_end);
    if presentation.is_empty() {
        return None;
    }
    Some(AudioClip {
        track,
        format: Arc::clone(format),
        packets: run[first..]
            .iter()
            .map(|packet| packet.frame.clone())
            .collect(),
        presentation,
    })
}
