//! Clip ranges, audio tracks, post-roll and clear-on-save on the pure ring.

use super::*;
use crate::save::cut::{self, SelectError};
use proptest::prelude::*;

fn secs(seconds: i64) -> Nanos {
    Nanos::from_secs(seconds)
}

/// 1024 samples at 48 kHz: one AAC packet.
const AAC_PACKET: Nanos = Nanos::from_nanos(1024 * 1_000_000_000 / 48_000);

/// Video frame `index` at 30 fps, keyframe every `gop` frames.
fn video(index: i64, gop: i64) -> Frame<i64> {
    let pts = secs(index) / 30;
    Frame {
        pts,
        dts: pts,
        duration: secs(index + 1) / 30 - pts,
        keyframe: index % gop == 0,
        size: 100,
        payload: index,
    }
}

/// AAC-like packet `index` (1024 samples at 48 kHz), starting at `offset`.
fn audio(index: i64, offset: Nanos) -> Frame<i64> {
    let pts = offset + secs(index * 1024) / 48_000;
    Frame {
        pts,
        dts: pts,
        duration: offset + secs((index + 1) * 1024) / 48_000 - pts,
        keyframe: true,
        size: 10,
        payload: index,
    }
}

#[derive(Debug, PartialEq, Eq)]
struct TestAudio {
    preroll: Nanos,
}

impl AudioTrackFormat for TestAudio {
    fn decoder_preroll(&self) -> Nanos {
        self.preroll
    }
}

type TestRecording = Recording<i64, u8, TestAudio>;

fn unlimited(max_duration: Nanos) -> Limits {
    Limits {
        max_duration,
        max_bytes: u64::MAX,
    }
}

/// `seconds` of 30 fps video (GOP 60) and one AAC track from `audio_offset`.
fn recording(seconds: i64, audio_offset: Nanos, limits: Limits) -> TestRecording {
    let formats = (
        Arc::new(0u8),
        Arc::new(TestAudio {
            preroll: AAC_PACKET,
        }),
    );
    recording_in(&formats, seconds, audio_offset, limits)
}

fn recording_in(
    (video_format, audio_format): &(Arc<u8>, Arc<TestAudio>),
    seconds: i64,
    audio_offset: Nanos,
    limits: Limits,
) -> TestRecording {
    let mut recording = TestRecording::default();
    recording.add_audio_track(0);
    let mut next_audio = 0;
    for index in 0..30 * seconds {
        let frame = video(index, 60);
        while audio(next_audio, audio_offset).pts < frame.end() {
            if audio(next_audio, audio_offset).pts >= secs(0) {
                recording.push_audio(0, audio(next_audio, audio_offset), audio_format, limits);
            }
            next_audio += 1;
        }
        recording.push_video(frame, video_format, limits);
    }
    recording
}

#[test]
fn a_range_in_the_past_is_exact_to_the_frame() {
    let recording = recording(40, secs(0), unlimited(secs(60)));
    let snapshot = recording.snapshot();
    let now = snapshot.complete_end().unwrap();
    assert_eq!(now, secs(40));
    let clip = cut::window(&snapshot, now - secs(30)..now - secs(10)).unwrap();
    assert_eq!(clip.presentation_start, secs(10));
    assert_eq!(clip.presentation_end, secs(30));
    assert_eq!(clip.presented_frames, 600);
    assert!(clip.frames[0].keyframe);
    // Frame 300 (10 s) is a keyframe; decoding ends with the last presented frame.
    assert_eq!(clip.frames.first().unwrap().payload, 300);
    assert_eq!(clip.frames.last().unwrap().payload, 899);
}

#[test]
fn a_range_starting_mid_gop_decodes_from_the_keyframe_before_it() {
    let recording = recording(40, secs(0), unlimited(secs(60)));
    let clip = cut::window(&recording.snapshot(), secs(11)..secs(12)).unwrap();
    assert_eq!(clip.frames[0].payload, 300);
    assert_eq!(clip.presentation_start, secs(11));
    assert_eq!(clip.presented_frames, 30);
}

#[test]
fn a_range_that_ended_before_the_ring_starts_is_an_error() {
    let recording = recording(40, secs(0), unlimited(secs(10)));
    let snapshot = recording.snapshot();
    assert_eq!(
        cut::window(&snapshot, secs(1)..secs(5)).unwrap_err(),
        SelectError::RangeEvicted
    );
    assert_eq!(
        cut::window(&snapshot, secs(45)..secs(50)).unwrap_err(),
        SelectError::NothingInRange
    );
}

#[test]
fn audio_is_cut_to_the_video_with_one_packet_of_preroll() {
    let recording = recording(20, secs(0), unlimited(secs(60)));
    let clip = cut::last(&recording.snapshot(), secs(5)).unwrap();
    assert_eq!(clip.presentation_start, secs(15));
    let [track] = clip.audio.as_slice() else {
        panic!("one audio track expected, got {}", clip.audio.len())
    };
    assert_eq!(track.presentation, secs(15)..secs(20));
    // The first packet overlapping 15 s, and the one before it to prime the decoder.
    let first_presented = track
        .packets
        .iter()
        .position(|p| p.end() > secs(15))
        .unwrap();
    assert_eq!(first_presented, 1);
    assert!(track.packets[1].pts <= secs(15));
    assert!(track.packets.last().unwrap().end() >= secs(20));
    assert!(track.packets.last().unwrap().pts < secs(20));
}

#[test]
fn audio_that_starts_after_the_video_is_presented_from_its_first_packet() {
    let offset = secs(3) + Nanos::from_nanos(500_000);
    let recording = recording(10, offset, unlimited(secs(60)));
    let clip = cut::last(&recording.snapshot(), secs(60)).unwrap();
    assert_eq!(clip.presentation_start, secs(0));
    assert_eq!(clip.audio[0].presentation.start, offset);
    assert_eq!(clip.audio[0].packets[0].pts, offset);
}

#[test]
fn audio_is_trimmed_with_the_video_it_belongs_to() {
    let recording = recording(60, secs(0), unlimited(secs(10)));
    let video_start = recording.video().start().unwrap();
    let audio_start = recording.audio_track(0).unwrap().oldest_start().unwrap();
    assert!(audio_start < video_start);
    assert!(audio_start >= video_start - audio::RETAINED_BEFORE_VIDEO - AAC_PACKET);
}

#[test]
fn the_byte_cap_counts_every_track() {
    let limits = Limits {
        max_duration: secs(100),
        max_bytes: 50_000,
    };
    let mut recording = TestRecording::default();
    recording.add_audio_track(0);
    recording.add_audio_track(1);
    let (video_format, audio_format) = (Arc::new(0u8), Arc::new(TestAudio { preroll: secs(0) }));
    let mut next_audio = 0;
    for index in 0..30 * 30 {
        let frame = video(index, 30);
        while audio(next_audio, secs(0)).pts < frame.end() {
            for track in 0..2 {
                let outcome =
                    recording.push_audio(track, audio(next_audio, secs(0)), &audio_format, limits);
                assert!(
                    matches!(outcome, AudioPushOutcome::Stored { gap: None }),
                    "{outcome:?}"
                );
            }
            next_audio += 1;
        }
        assert_eq!(
            recording.push_video(frame, &video_format, limits),
            PushOutcome::Stored
        );
        assert!(recording.bytes() <= 50_000, "{} bytes", recording.bytes());
    }
    let audio_bytes: u64 = recording.audio_tracks().map(|(_, t)| t.bytes()).sum();
    assert!(audio_bytes > 0);
    assert_eq!(recording.bytes(), recording.video().bytes() + audio_bytes);
    // 50 kB holds under 500 video frames; more than one GOP of them.
    assert!(recording.video().frames() < 500 && recording.video().frames() > 30);
}

#[test]
fn a_stalled_audio_source_shows_as_a_gap() {
    let mut track: AudioTrack<i64, TestAudio> = AudioTrack::default();
    let format = Arc::new(TestAudio { preroll: secs(0) });
    for index in 0..100 {
        assert_eq!(track.push(audio(index, secs(0)), &format), None);
    }
    // One second without packets, then the source resumes on its own clock.
    let resumed = audio(100, secs(1));
    let expected_gap = resumed.pts - audio(99, secs(0)).end();
    assert_eq!(track.push(resumed, &format), Some(expected_gap));
    // Jitter below the tolerance is not a gap.
    let mut jittered = audio(101, secs(1));
    jittered.pts += GAP_TOLERANCE / 2;
    assert_eq!(track.push(jittered, &format), None);
    assert_eq!(
        track.gaps(),
        GapCounters {
            gaps: 1,
            missing: expected_gap
        }
    );
}

#[test]
fn post_roll_extends_a_snapshot_past_what_the_ring_keeps() {
    let limits = unlimited(secs(5));
    let formats = (Arc::new(0u8), Arc::new(TestAudio { preroll: secs(0) }));
    let (video_format, audio_format) = &formats;
    let mut recording = recording_in(&formats, 10, secs(0), limits);
    let mut snapshot = recording.snapshot();
    let requested_at = snapshot.complete_end().unwrap();
    // Ten more seconds arrive: the ring evicts what the request needs, the snapshot keeps it.
    for index in 300..600 {
        let frame = video(index, 60);
        snapshot.push_video(frame.clone(), video_format);
        recording.push_video(frame, video_format, limits);
    }
    for index in 0..(10 * 48_000 / 1024) {
        snapshot.push_audio(0, audio(index, secs(10)), audio_format);
    }
    assert!(recording.video().start().unwrap() > requested_at - secs(5));
    let clip = cut::window(&snapshot, requested_at - secs(5)..requested_at + secs(3)).unwrap();
    assert_eq!(clip.presentation_start, secs(5));
    assert_eq!(clip.presentation_end, secs(13));
    assert_eq!(clip.presented_frames, 240);
    let payloads: Vec<i64> = clip.frames.iter().map(|f| f.payload).collect();
    assert!(
        payloads.windows(2).all(|w| w[1] == w[0] + 1),
        "{payloads:?}"
    );
    assert_eq!(clip.audio[0].presentation, secs(5)..secs(13));
}

#[test]
fn clear_on_save_releases_the_saved_range_and_the_next_clip_starts_after_it() {
    let limits = unlimited(secs(60));
    let formats = (
        Arc::new(0u8),
        Arc::new(TestAudio {
            preroll: AAC_PACKET,
        }),
    );
    let (video_format, audio_format) = &formats;
    let mut recording = recording_in(&formats, 20, secs(0), limits);
    let first = cut::last(&recording.snapshot(), secs(8)).unwrap();
    assert_eq!(first.presentation_end, secs(20));
    recording.evict_before(first.presentation_end, limits.max_duration);
    // The GOP holding 20 s stays for decoding; everything older went.
    assert_eq!(recording.video().start(), Some(secs(18)));
    for index in 600..630 {
        recording.push_video(video(index, 60), video_format, limits);
    }
    for index in (20 * 48_000 / 1024)..(21 * 48_000 / 1024) {
        recording.push_audio(0, audio(index, secs(0)), audio_format, limits);
    }
    let snapshot = recording.snapshot();
    let now = snapshot.complete_end().unwrap();
    let second = cut::window(&snapshot, (now - secs(60)).max(first.presentation_end)..now).unwrap();
    assert_eq!(second.presentation_start, first.presentation_end);
    assert_eq!(second.presented_frames, 30);
    assert!(second.frames.iter().all(|f| f.pts >= secs(18)));
}

proptest! {
    /// Any window inside the buffered range presents exactly the frames whose PTS is in it.
    #[test]
    fn windows_present_exactly_their_frames(start in 0i64..1_200, length in 1i64..1_200, gop in 1i64..90) {
        let mut recording = TestRecording::default();
        let format = Arc::new(0u8);
        for index in 0..1_200 {
            recording.push_video(video(index, gop), &format, unlimited(secs(100)));
        }
        let window = video(start, 1).pts..video(start + length, 1).pts;
        let clip = cut::window(&recording.snapshot(), window).unwrap();
        let end = (start + length).min(1_200);
        prop_assert!(clip.frames[0].keyframe);
        prop_assert_eq!(clip.presentation_start, video(start, 1).pts);
        prop_assert_eq!(clip.presentation_end, video(end, 1).pts);
        prop_assert_eq!(clip.presented_frames, (end - start) as u64);
        let mut shown: Vec<i64> = clip.frames.iter()
            .filter(|f| f.pts >= clip.presentation_start && f.pts < clip.presentation_end)
            .map(|f| f.payload).collect();
        shown.sort();
        prop_assert_eq!(shown, (start..end).collect::<Vec<_>>());
    }
}
