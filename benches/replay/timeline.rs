//! The input's frames as a 60 fps stream of any length: stamped, looped when the stream is
//! longer than the input.

use crate::input::Input;

pub const FPS: u64 = 60;
pub const FRAME_NS: u64 = 1_000_000_000 / FPS;

/// Frames in `seconds` of the stream.
pub fn frames_in(seconds: f64) -> usize {
    (seconds * FPS as f64) as usize
}

/// Stamps frame `n` of the (looped) stream: running time n/60 s, no B-frames.
pub fn stamp(buffer: &mut gst::BufferRef, n: u64, keyframe: bool) {
    let t = gst::ClockTime::from_nseconds(n * 1_000_000_000 / FPS);
    buffer.set_pts(t);
    buffer.set_dts(t);
    buffer.set_duration(gst::ClockTime::from_nseconds(FRAME_NS));
    if keyframe {
        buffer.unset_flags(gst::BufferFlags::DELTA_UNIT);
    } else {
        buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
    }
}

/// `count` frames of the input looped, as shallow copies sharing the payloads.
pub fn looped(input: &Input, payloads: &[gst::Buffer], count: usize) -> Vec<gst::Buffer> {
    (0..count)
        .map(|n| {
            let i = n % payloads.len();
            let mut b = payloads[i].copy();
            stamp(b.make_mut(), n as u64, input.frames[i].keyframe);
            b
        })
        .collect()
}

/// A freshly allocated copy of frame `n` of the looped input, as an encoder would output it.
pub fn fresh(input: &Input, payloads: &[gst::Buffer], n: usize) -> gst::Buffer {
    let i = n % payloads.len();
    let src = payloads[i].map_readable().expect("readable");
    let mut b = gst::Buffer::from_mut_slice(src.as_slice().to_vec());
    stamp(b.get_mut().unwrap(), n as u64, input.frames[i].keyframe);
    b
}
