//! Choosing the frames of a clip from a snapshot of the ring (the cut rule).

use std::sync::Arc;

use super::{Frame, Gop};

/// The ring as it was when a save was requested. Shares GOPs and payloads with the ring.
pub struct Snapshot<P, F> {
    gops: Vec<Arc<Gop<P, F>>>,
}

/// The frames a clip is written from, and what of them is presented.
#[derive(Debug)]
pub struct Clip<P, F> {
    pub format: Arc<F>,
    /// Decode order; the first is a keyframe.
    pub frames: Vec<Frame<P>>,
    /// PTS of the first presented frame: earlier frames are decoded but not shown.
    pub presentation_start: i64,
    /// End of the last presented frame.
    pub presentation_end: i64,
    pub presented_frames: u64,
}

impl<P, F> Clip<P, F> {
    pub fn presented_duration(&self) -> i64 {
        self.presentation_end - self.presentation_start
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("no keyframe buffered yet")]
    NoKeyframe,
}

impl<P: Clone, F> Snapshot<P, F> {
    pub(super) fn new(gops: Vec<Arc<Gop<P, F>>>) -> Self {
        Snapshot { gops }
    }

    pub fn is_empty(&self) -> bool {
        self.gops.is_empty()
    }

    /// Selects the last `duration` nanoseconds, or everything buffered when less is.
    ///
    /// The cut: the clip ends at the end of the newest frame that is certainly complete
    /// (every frame presented before it has arrived) and starts `duration` earlier, on a
    /// frame boundary (half a frame of tolerance absorbs nanosecond rounding). Decoding
    /// starts at the last keyframe presented at or before that start. Only the newest run
    /// of GOPs in one format is used, so a clip never mixes incompatible streams.
    pub fn select(&self, duration: i64) -> Result<Clip<P, F>, SelectError> {
        let run = self.newest_format_run().ok_or(SelectError::NoKeyframe)?;
        let end = complete_end(run);
        let tolerance = run[run.len() - 1].keyframe().duration / 2;
        let wanted_start = end.saturating_sub(duration);

        let first = run
            .iter()
            .rposition(|gop| gop.start() <= wanted_start + tolerance)
            .unwrap_or(0);
        let frames = decodable_frames(&run[first..], end);

        let presentation_start = frames
            .iter()
            .map(|frame| frame.pts)
            .filter(|&pts| pts + tolerance >= wanted_start)
            .min()
            .unwrap_or(run[first].start());
        let presented_frames = frames
            .iter()
            .filter(|frame| frame.pts >= presentation_start && frame.pts < end)
            .count() as u64;

        Ok(Clip {
            format: Arc::clone(run[first].format()),
            frames,
            presentation_start,
            presentation_end: end,
            presented_frames,
        })
    }

    /// The trailing GOPs that share the newest GOP's format.
    fn newest_format_run(&self) -> Option<&[Arc<Gop<P, F>>]> {
        let newest = self.gops.last()?;
        let run_start = self
            .gops
            .iter()
            .rposition(|gop| !Arc::ptr_eq(gop.format(), newest.format()))
            .map_or(0, |different| different + 1);
        Some(&self.gops[run_start..])
    }
}

/// The latest presentation end before which no frame is missing.
///
/// A frame not yet received has a DTS after the newest DTS, and DTS <= PTS, so every frame
/// presented up to the newest DTS is here. From there the end extends over frames that
/// follow each other without a gap (half a frame of tolerance): with reordering, the newest
/// frames are often complete too. Without reordering that is the newest frame.
fn complete_end<P, F>(run: &[Arc<Gop<P, F>>]) -> i64 {
    let all_frames = || run.iter().flat_map(|gop| gop.frames());
    let newest_dts = all_frames().map(|frame| frame.dts).max().unwrap_or(0);
    let certain_end = all_frames()
        .filter(|frame| frame.pts <= newest_dts)
        .map(Frame::end)
        .max();
    let Some(mut end) = certain_end else {
        return all_frames().map(Frame::end).max().unwrap_or(0);
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

/// The frames to write, in decode order: the GOPs from the starting keyframe, without the
/// first GOP's leading pictures (presented before its keyframe, they may reference the GOP
/// before it, as open-GOP HEVC's RASL pictures do) and without the decode-order tail that
/// is presented only after `end`.
fn decodable_frames<P: Clone, F>(gops: &[Arc<Gop<P, F>>], end: i64) -> Vec<Frame<P>> {
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
