//! The input's frames as a 60 fps stream of any length: stamped, looped when the stream is
//! longer than the input.

pub const FPS: u64 = 60;
pub const FRAME_NS: u64 = 1_000_000_000 / FPS;

/// Frames in `seconds` of the stream.
pub fn frames_in(seconds: f64) -> usize {
    (seconds * FPS as f64) as usize
}

/// Stamps frame `n` of the (looped) stream: running time n/60 s, no B-frames. The parser
/// marks its first frame DISCONT; a looped stream has no discontinuity the element should see.
pub fn stamp(buffer: &mut gst::BufferRef, n: u64) {
    let t = gst::ClockTime::from_nseconds(n * 1_000_000_000 / FPS);
    buffer.set_pts(t);
    buffer.set_dts(t);
    buffer.set_duration(gst::ClockTime::from_nseconds(FRAME_NS));
    buffer.unset_flags(gst::BufferFlags::DISCONT);
}

/// `count` frames of the input looped, as shallow copies sharing the payloads.
pub fn looped(frames: &[gst::Buffer], count: usize) -> Vec<gst::Buffer> {
    (0..count)
        .map(|n| {
            let mut b = frames[n % frames.len()].copy();
            stamp(b.make_mut(), n as u64);
            b
        })
        .collect()
}

/// A freshly allocated copy of frame `n` of the looped input, as an encoder would output it.
pub fn fresh(frames: &[gst::Buffer], n: usize) -> gst::Buffer {
    let source = &frames[n % frames.len()];
    let map = source.map_readable().expect("readable");
    let mut b = gst::Buffer::from_mut_slice(map.as_slice().to_vec());
    let b_mut = b.get_mut().expect("a new buffer is writable");
    b_mut.set_flags(source.flags());
    stamp(b_mut, n as u64);
    b
}
