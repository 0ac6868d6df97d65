//! From upstream buffers to the ring's frames and packets.

use crate::audio_format::AudioFormat;
use crate::ring::Frame;
use crate::running_time;
use crate::stream_format::StreamFormat;
use crate::time::Nanos;

pub enum DetachedBuffer {
    Kept(gst::Buffer),
    Copied(gst::Buffer),
}

/// Frames are kept by reference, except buffers that belong to an upstream pool: holding
/// those for minutes would starve a bounded pool (hardware encoders), so they are copied
/// into memory the ring owns and the pooled buffer goes back at once.
pub fn detach_from_pool(buffer: gst::Buffer) -> Result<DetachedBuffer, gst::glib::BoolError> {
    // SAFETY: `buffer` is a valid GstBuffer for the duration of the read; `pool` is a plain
    // field that gstreamer-rs does not expose.
    let pooled = unsafe { !(*buffer.as_ptr()).pool.is_null() };
    if pooled {
        Ok(DetachedBuffer::Copied(buffer.copy_deep()?))
    } else {
        Ok(DetachedBuffer::Kept(buffer))
    }
}

/// The ring's view of a buffer: running-time timestamps and the keyframe flag.
pub fn frame_from_buffer(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    format: &StreamFormat,
    buffer: gst::Buffer,
) -> Option<Frame<gst::Buffer>> {
    let times = running_time::buffer_times(segment, &buffer)?;
    let frame_interval = || {
        format
            .framerate
            .map(|(n, d)| Nanos::from_secs(d as i64) / n as i64)
    };
    Some(Frame {
        pts: times.pts,
        dts: times.dts,
        duration: times
            .duration
            .or_else(frame_interval)
            .unwrap_or(Nanos::ZERO),
        keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
        size: buffer.size() as u64,
        payload: buffer,
    })
}

/// The ring's view of an audio buffer: every packet is a sync point; a packet without a
/// duration lasts its codec's nominal frame (0 when that varies: the next packet tells).
pub fn packet_from_buffer(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    format: &AudioFormat,
    buffer: gst::Buffer,
) -> Option<Frame<gst::Buffer>> {
    let times = running_time::buffer_times(segment, &buffer)?;
    Some(Frame {
        pts: times.pts,
        dts: times.pts,
        duration: times
            .duration
            .or_else(|| format.nominal_packet_duration())
            .unwrap_or(Nanos::ZERO),
        keyframe: true,
        size: buffer.size() as u64,
        payload: buffer,
    })
}
