//! Buffer timestamps as signed running-time nanoseconds: the one clock all of a stream's
//! frames (and, later, all tracks) are compared on. Here GStreamer's unsigned
//! [`gst::ClockTime`] becomes the pure modules' [`Nanos`].

use crate::time::Nanos;

/// A buffer's times on the running-time clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTimes {
    pub pts: Nanos,
    /// The PTS when the buffer has no DTS.
    pub dts: Nanos,
    /// None when the buffer does not say.
    pub duration: Option<Nanos>,
}

/// Running time of `time` in `segment`; negative before the segment start (e.g. the
/// decode-only lead-in of an edit list).
pub fn running_time(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    time: gst::ClockTime,
) -> Nanos {
    match segment.to_running_time_full(time) {
        Some(gst::Signed::Positive(t)) => nanos(t),
        Some(gst::Signed::Negative(t)) => -nanos(t),
        None => nanos(time),
    }
}

/// None when the buffer has neither PTS nor DTS.
pub fn buffer_times(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    buffer: &gst::BufferRef,
) -> Option<BufferTimes> {
    let pts = running_time(segment, buffer.pts().or(buffer.dts())?);
    Some(BufferTimes {
        pts,
        dts: buffer.dts().map_or(pts, |dts| running_time(segment, dts)),
        duration: buffer.duration().map(nanos),
    })
}

fn nanos(time: gst::ClockTime) -> Nanos {
    Nanos::from_nanos(time.nseconds() as i64)
}
