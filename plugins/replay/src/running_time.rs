//! Buffer timestamps as signed running-time nanoseconds: the one clock all of a stream's
//! frames (and, later, all tracks) are compared on.

/// A buffer's times in running-time nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTimes {
    pub pts: i64,
    /// The PTS when the buffer has no DTS.
    pub dts: i64,
    /// None when the buffer does not say.
    pub duration: Option<i64>,
}

/// Running time of `time` in `segment`; negative before the segment start (e.g. the
/// decode-only lead-in of an edit list).
pub fn running_time_ns(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    time: gst::ClockTime,
) -> i64 {
    match segment.to_running_time_full(time) {
        Some(gst::Signed::Positive(t)) => t.nseconds() as i64,
        Some(gst::Signed::Negative(t)) => -(t.nseconds() as i64),
        None => time.nseconds() as i64,
    }
}

/// None when the buffer has neither PTS nor DTS.
pub fn buffer_times(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    buffer: &gst::BufferRef,
) -> Option<BufferTimes> {
    let pts = running_time_ns(segment, buffer.pts().or(buffer.dts())?);
    Some(BufferTimes {
        pts,
        dts: buffer
            .dts()
            .map_or(pts, |dts| running_time_ns(segment, dts)),
        duration: buffer.duration().map(|d| d.nseconds() as i64),
    })
}
