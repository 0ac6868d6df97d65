//! `replayring`'s ring rules driven with hand-made, timestamped buffers (deterministic).

mod common;

use common::*;
use gst::prelude::*;
use gst_check::Harness;

const FRAME: u64 = SECOND / 30;

/// A minimal avcC (High profile, 4-byte lengths, no parameter sets): enough for caps.
const AVCC: [u8; 7] = [0x01, 0x64, 0x00, 0x14, 0xff, 0xe0, 0x00];

fn caps(width: i32) -> gst::Caps {
    gst::Caps::builder("video/x-h264")
        .field("stream-format", "avc")
        .field("alignment", "au")
        .field("width", width)
        .field("height", 120)
        .field("framerate", gst::Fraction::new(30, 1))
        .field("codec_data", gst::Buffer::from_slice(AVCC))
        .build()
}

fn harness(properties: &[(&str, &dyn ToValue)]) -> Harness {
    init();
    let mut h = Harness::with_padnames("replayring", Some("video"), None);
    let ring = h.element().unwrap();
    for (name, value) in properties {
        ring.set_property_from_value(name, &value.to_value());
    }
    h.play();
    h.set_src_caps(caps(160));
    h
}

fn frame(index: u64, size: usize, keyframe: bool) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(size).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::from_nseconds(index * FRAME));
        buffer.set_dts(gst::ClockTime::from_nseconds(index * FRAME));
        buffer.set_duration(gst::ClockTime::from_nseconds(FRAME));
        if !keyframe {
            buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
    }
    buffer
}

fn push_stream(h: &mut Harness, range: std::ops::Range<u64>, gop: u64, size: usize) {
    for index in range {
        assert_eq!(
            h.push(frame(index, size, index % gop == 0)),
            Ok(gst::FlowSuccess::Ok)
        );
    }
}

fn stats(h: &Harness) -> gst::Structure {
    h.element().unwrap().property::<gst::Structure>("stats")
}

#[test]
fn duration_eviction_drops_whole_gops_and_keeps_max_duration() {
    let mut h = harness(&[("max-duration", &(2 * SECOND))]);
    for index in 0..300 {
        h.push(frame(index, 100, index % 30 == 0)).unwrap();
        let stats = stats(&h);
        let frames = get_u64(&stats, "frames");
        if index >= 60 {
            let duration = get_u64(&stats, "duration");
            assert!(duration >= 2 * SECOND, "frame {index}: {duration} ns");
            assert!(
                duration < 3 * SECOND + FRAME,
                "frame {index}: {duration} ns"
            );
        }
        // The oldest frame is always a keyframe: whole GOPs plus the open one.
        assert_eq!(get_u64(&stats, "keyframes"), frames.div_ceil(30));
        assert_eq!(get_u64(&stats, "evicted") + frames, index + 1);
        assert_eq!(get_u64(&stats, "bytes"), frames * 100);
    }
}

#[test]
fn max_bytes_is_a_hard_cap() {
    let mut h = harness(&[("max-bytes", &45_000u64)]);
    for index in 0..300 {
        h.push(frame(index, 1000, index % 30 == 0)).unwrap();
        assert!(get_u64(&stats(&h), "bytes") <= 45_000);
    }
    let stats = stats(&h);
    assert_eq!(get_u64(&stats, "dropped"), 0);
    assert!(get_u64(&stats, "frames") >= 30);
}

#[test]
fn a_gop_larger_than_max_bytes_is_truncated_with_a_warning() {
    let mut h = harness(&[("max-bytes", &10_000u64)]);
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    push_stream(&mut h, 0..30, 30, 1000);
    let after_first_gop = stats(&h);
    assert_eq!(get_u64(&after_first_gop, "frames"), 10);
    assert_eq!(get_u64(&after_first_gop, "dropped"), 20);
    assert_eq!(get_u64(&after_first_gop, "bytes"), 10_000);
    let warnings: Vec<String> = bus
        .iter()
        .filter_map(|message| match message.view() {
            gst::MessageView::Warning(warning) => Some(warning.error().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning per stream, not per frame: {warnings:?}"
    );
    assert!(
        warnings[0].contains("larger than max-bytes"),
        "{warnings:?}"
    );
    // The next keyframe starts a complete GOP again.
    push_stream(&mut h, 30..40, 30, 1000);
    assert_eq!(get_u64(&stats(&h), "frames"), 10);
    assert_eq!(get_u64(&stats(&h), "dropped"), 20);
}

#[test]
fn flush_clears_the_ring_and_releases_the_buffers() {
    let mut h = harness(&[]);
    push_stream(&mut h, 0..59, 30, 10);
    let held = frame(59, 10, false);
    h.push(held.clone()).unwrap();
    assert!(
        !held.is_writable(),
        "the ring holds the pushed buffer by reference"
    );
    assert_eq!(get_u64(&stats(&h), "frames"), 60);

    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    let stats = stats(&h);
    assert_eq!(
        (get_u64(&stats, "frames"), get_u64(&stats, "bytes")),
        (0, 0)
    );
    assert!(held.is_writable(), "the ring let go of the buffer");
}

#[test]
fn after_a_caps_change_delta_frames_wait_for_a_keyframe() {
    let mut h = harness(&[]);
    push_stream(&mut h, 0..45, 30, 10);
    h.set_src_caps(caps(320));
    push_stream(&mut h, 45..60, 30, 10);
    assert_eq!(get_u64(&stats(&h), "dropped"), 15);
    push_stream(&mut h, 60..70, 30, 10);
    let stats = stats(&h);
    assert_eq!(get_u64(&stats, "frames"), 55);
    assert_eq!(get_u64(&stats, "keyframes"), 3);
}

#[test]
fn buffers_from_an_upstream_pool_are_copied_so_the_pool_never_starves() {
    let mut h = harness(&[]);
    let pool = gst::BufferPool::new();
    let mut config = pool.config();
    config.set_params(Some(&caps(160)), 4096, 2, 4);
    pool.set_config(config).unwrap();
    pool.set_active(true).unwrap();
    let no_wait = gst::BufferPoolAcquireParams::with_flags(gst::BufferPoolAcquireFlags::DONTWAIT);
    for index in 0..40u64 {
        let mut buffer = pool
            .acquire_buffer(Some(&no_wait))
            .unwrap_or_else(|err| panic!("frame {index}: the pool starved ({err:?})"));
        {
            let buffer = buffer.get_mut().unwrap();
            buffer.set_pts(gst::ClockTime::from_nseconds(index * FRAME));
            buffer.set_duration(gst::ClockTime::from_nseconds(FRAME));
            if index % 30 != 0 {
                buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        h.push(buffer).unwrap();
    }
    let stats = stats(&h);
    assert_eq!(get_u64(&stats, "frames"), 40);
    assert_eq!(get_u64(&stats, "copied"), 40);
    assert_eq!(get_u64(&stats, "bytes"), 40 * 4096);
    pool.set_active(false).unwrap();
}

#[test]
fn buffers_without_timestamps_are_an_error() {
    let mut h = harness(&[]);
    assert_eq!(
        h.push(gst::Buffer::with_size(10).unwrap()),
        Err(gst::FlowError::Error)
    );
}
