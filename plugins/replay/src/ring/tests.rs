use super::*;
use crate::save::cut::{self, SelectError};
use proptest::prelude::*;

const FRAME: Nanos = Nanos::from_nanos(1_000_000_000 / 30);
const SECOND: Nanos = Nanos::from_secs(1);

fn secs(seconds: i64) -> Nanos {
    Nanos::from_secs(seconds)
}

/// Frame `index` of a 30 fps stream without reordering; a keyframe every `gop` frames.
fn frame(index: i64, gop: i64, size: u64) -> Frame<i64> {
    let pts = secs(index) / 30;
    Frame {
        pts,
        dts: pts,
        duration: secs(index + 1) / 30 - pts,
        keyframe: index % gop == 0,
        size,
        payload: index,
    }
}

fn unlimited(max_duration: Nanos) -> Limits {
    Limits {
        max_duration,
        max_bytes: u64::MAX,
    }
}

fn feed(
    ring: &mut Ring<i64, u8>,
    format: &Arc<u8>,
    frames: impl IntoIterator<Item = Frame<i64>>,
    limits: Limits,
) {
    for frame in frames {
        ring.push(frame, format, limits);
    }
}

fn oldest_is_keyframe(ring: &Ring<i64, u8>) -> bool {
    ring.gops().next().is_none_or(|gop| gop.keyframe().keyframe)
}

#[test]
fn delta_frames_before_the_first_keyframe_are_dropped() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    let delta = frame(1, 30, 10);
    assert_eq!(
        ring.push(delta, &format, unlimited(SECOND)),
        PushOutcome::DroppedAwaitingKeyframe
    );
    assert_eq!(ring.frames(), 0);
    assert_eq!(
        ring.push(frame(30, 30, 10), &format, unlimited(SECOND)),
        PushOutcome::Stored
    );
    assert_eq!(ring.keyframes(), 1);
}

#[test]
fn duration_eviction_keeps_at_least_max_duration_and_at_most_one_gop_more() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    let limits = unlimited(secs(10));
    for index in 0..30 * 60 {
        ring.push(frame(index, 60, 100), &format, limits);
        assert!(oldest_is_keyframe(&ring));
        let covered = ring.duration();
        if index >= 30 * 10 {
            assert!(covered >= secs(10), "frame {index}: only {covered:?} kept");
            assert!(
                covered < secs(12) + FRAME,
                "frame {index}: {covered:?} kept"
            );
        }
    }
    assert_eq!(ring.frames() * 100, ring.bytes());
    assert_eq!(ring.counters().evicted_frames + ring.frames(), 30 * 60);
}

#[test]
fn byte_cap_evicts_old_gops_first() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    let limits = Limits {
        max_duration: secs(100),
        max_bytes: 10_000,
    };
    feed(
        &mut ring,
        &format,
        (0..300).map(|i| frame(i, 30, 100)),
        limits,
    );
    assert!(ring.bytes() <= 10_000);
    assert!(oldest_is_keyframe(&ring));
    // 100 frames fit; whole GOPs go, so between 70 and 100 are kept.
    assert!(
        ring.frames() > 70 && ring.frames() <= 100,
        "{} frames",
        ring.frames()
    );
}

#[test]
fn a_gop_larger_than_the_cap_is_truncated_until_the_next_keyframe() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    let limits = Limits {
        max_duration: secs(100),
        max_bytes: 1_000,
    };
    let outcomes: Vec<_> = (0..40)
        .map(|i| ring.push(frame(i, 30, 100), &format, limits))
        .collect();
    assert!(outcomes[..10].iter().all(|o| *o == PushOutcome::Stored));
    assert!(outcomes[10..30]
        .iter()
        .all(|o| *o == PushOutcome::DroppedOverByteLimit));
    // The next keyframe starts over: the truncated GOP is evicted to make room.
    assert!(outcomes[30..].iter().all(|o| *o == PushOutcome::Stored));
    assert_eq!(ring.frames(), 10);
    assert_eq!(ring.gops().next().unwrap().start(), frame(30, 30, 0).pts);
    assert_eq!(ring.counters().dropped_frames, 20);
}

#[test]
fn a_keyframe_larger_than_the_cap_is_dropped_and_its_gop_with_it() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    let limits = Limits {
        max_duration: secs(100),
        max_bytes: 1_000,
    };
    assert_eq!(
        ring.push(frame(0, 30, 5_000), &format, limits),
        PushOutcome::DroppedOverByteLimit
    );
    assert_eq!(
        ring.push(frame(1, 30, 10), &format, limits),
        PushOutcome::DroppedAwaitingKeyframe
    );
    assert_eq!(ring.bytes(), 0);
}

#[test]
fn a_format_change_needs_a_new_keyframe() {
    let mut ring = Ring::new();
    let (old, new) = (Arc::new(0u8), Arc::new(1u8));
    let limits = unlimited(secs(100));
    feed(&mut ring, &old, (0..45).map(|i| frame(i, 30, 1)), limits);
    assert_eq!(
        ring.push(frame(45, 30, 1), &new, limits),
        PushOutcome::DroppedAwaitingKeyframe
    );
    feed(&mut ring, &new, (60..75).map(|i| frame(i, 30, 1)), limits);
    let clip = cut::last(&ring.snapshot(), secs(100)).unwrap();
    assert!(Arc::ptr_eq(&clip.format, &new));
    assert_eq!(clip.frames.len(), 15);
    assert_eq!(clip.frames[0].payload, 60);
}

#[test]
fn a_save_covers_the_requested_duration_to_the_frame() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    feed(
        &mut ring,
        &format,
        (0..30 * 40).map(|i| frame(i, 60, 1)),
        unlimited(secs(30)),
    );
    let clip = cut::last(&ring.snapshot(), secs(15)).unwrap();
    assert_eq!(clip.presented_frames, 450);
    assert_eq!(clip.presented_duration(), secs(15));
    assert!(clip.frames[0].keyframe);
    // 40 s - 15 s = 25 s = frame 750, inside the GOP that starts at frame 720.
    assert_eq!(clip.frames[0].payload, 720);
    assert_eq!(clip.frames.len(), 480);
    assert_eq!(clip.presentation_start, frame(750, 60, 0).pts);
}

#[test]
fn a_short_ring_saves_everything_from_its_first_keyframe() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    feed(
        &mut ring,
        &format,
        (5..100).map(|i| frame(i, 30, 1)),
        unlimited(secs(30)),
    );
    let clip = cut::last(&ring.snapshot(), secs(15)).unwrap();
    assert_eq!(clip.frames[0].payload, 30);
    assert_eq!(clip.presented_frames, 70);
    assert_eq!(clip.presentation_start, frame(30, 30, 0).pts);
}

#[test]
fn an_empty_ring_has_no_keyframe() {
    let ring: Ring<i64, u8> = Ring::new();
    assert_eq!(
        cut::last(&ring.snapshot(), SECOND).unwrap_err(),
        SelectError::NoKeyframe
    );
}

/// An open-GOP stream with reordering: decode order I P B B per 4 frames, where the two
/// B frames after each keyframe are leading pictures (presented before it).
fn reordered_stream(frames: i64, gop: i64) -> Vec<Frame<i64>> {
    // Presentation index per decode index within each group of 3: P(+2) B(0) B(+1)
    let mut out = Vec::new();
    for decode in 0..frames {
        let pts_index = match decode % 3 {
            0 => decode + 2,
            1 => decode - 1,
            _ => decode - 1,
        };
        let pts = FRAME * pts_index;
        out.push(Frame {
            pts,
            dts: FRAME * decode - FRAME * 2,
            duration: FRAME,
            keyframe: decode % gop == 0,
            size: 1,
            payload: pts_index,
        });
    }
    out
}

#[test]
fn reordered_streams_drop_leading_pictures_and_end_where_every_frame_is_complete() {
    let mut ring = Ring::new();
    let format = Arc::new(0u8);
    feed(
        &mut ring,
        &format,
        reordered_stream(301, 30),
        unlimited(secs(60)),
    );
    let clip = cut::last(&ring.snapshot(), secs(2)).unwrap();
    assert!(clip.frames[0].keyframe);
    let keyframe_pts = clip.frames[0].pts;
    let first_gop_len = clip.frames.iter().skip(1).position(|f| f.keyframe).unwrap() + 1;
    assert!(clip.frames[..first_gop_len]
        .iter()
        .all(|f| f.pts >= keyframe_pts));
    // Every presentation index from the start to the end is present exactly once.
    let mut shown: Vec<i64> = clip
        .frames
        .iter()
        .filter(|f| f.pts >= clip.presentation_start && f.pts < clip.presentation_end)
        .map(|f| f.payload)
        .collect();
    shown.sort();
    assert_eq!(shown.len() as u64, clip.presented_frames);
    assert!(shown.windows(2).all(|w| w[1] == w[0] + 1), "{shown:?}");
    assert_eq!(clip.presented_frames, 60);
}

fn arbitrary_stream() -> impl Strategy<Value = (Vec<(u64, bool)>, i64, u64)> {
    (
        prop::collection::vec((1u64..5_000, prop::bool::weighted(0.1)), 1..600),
        1i64..20,
        1_000u64..200_000,
    )
}

proptest! {
    #[test]
    fn limits_hold_and_the_oldest_frame_is_always_a_keyframe((frames, seconds, max_bytes) in arbitrary_stream()) {
        let mut ring = Ring::new();
        let format = Arc::new(0u8);
        let limits = Limits { max_duration: secs(seconds), max_bytes };
        let mut longest_gop = Nanos::ZERO;
        let mut gop_start = Nanos::ZERO;
        for (index, (size, keyframe)) in frames.iter().enumerate() {
            let mut f = frame(index as i64, i64::MAX, *size);
            f.keyframe = *keyframe || index == 0;
            if f.keyframe { gop_start = f.pts; }
            longest_gop = longest_gop.max(f.end() - gop_start);
            ring.push(f, &format, limits);
            prop_assert!(ring.bytes() <= max_bytes);
            prop_assert!(oldest_is_keyframe(&ring));
            prop_assert!(ring.duration() <= limits.max_duration + longest_gop + FRAME);
            let recount: u64 = ring.gops().map(|g| g.bytes()).sum();
            prop_assert_eq!(recount, ring.bytes());
        }
    }

    #[test]
    fn a_clip_never_exceeds_the_request_and_starts_decoding_at_a_keyframe(
        (frames, seconds, _) in arbitrary_stream(), wanted in 1i64..30,
    ) {
        let mut ring = Ring::new();
        let format = Arc::new(0u8);
        for (index, (size, keyframe)) in frames.iter().enumerate() {
            let mut f = frame(index as i64, i64::MAX, *size);
            f.keyframe = *keyframe || index == 0;
            ring.push(f, &format, unlimited(secs(seconds)));
        }
        let clip = cut::last(&ring.snapshot(), secs(wanted) / 3).unwrap();
        prop_assert!(clip.frames[0].keyframe);
        prop_assert!(clip.presented_duration() <= secs(wanted) / 3 + FRAME / 2);
        prop_assert_eq!(clip.presentation_end, ring.end().unwrap());
        prop_assert!(clip.presented_frames >= 1);
        // Less is saved only when the ring did not hold more.
        if clip.presented_duration() + FRAME / 2 < secs(wanted) / 3 {
            prop_assert_eq!(clip.presentation_start, ring.gops().next().unwrap().start());
        }
    }
}

#[test]
fn snapshots_taken_while_pushing_stay_consistent() {
    use std::sync::Mutex;
    let ring = Arc::new(Mutex::new(Ring::new()));
    let format = Arc::new(0u8);
    let pusher = {
        let ring = Arc::clone(&ring);
        std::thread::spawn(move || {
            for index in 0..20_000 {
                ring.lock()
                    .unwrap()
                    .push(frame(index, 30, 10), &format, unlimited(secs(2)));
            }
        })
    };
    let mut clips = 0;
    while !pusher.is_finished() {
        let snapshot = ring.lock().unwrap().snapshot();
        if let Ok(clip) = cut::last(&snapshot, SECOND) {
            assert!(clip.frames[0].keyframe);
            let indices: Vec<i64> = clip.frames.iter().map(|f| f.payload).collect();
            assert!(indices.windows(2).all(|w| w[1] == w[0] + 1));
            assert!(clip.presented_frames <= 31);
            clips += 1;
        }
    }
    pusher.join().unwrap();
    assert!(clips > 0);
}
