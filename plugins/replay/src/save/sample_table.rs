//! The MP4 sample table of one track, from the frames' nanosecond timestamps.

use std::ops::Range;

use crate::mp4::{AudioSampleEntry, Edit, Movie, Sample, SampleEntry, Track, VideoSampleEntry};
use crate::time::Nanos;
use crate::timing::{self, TickClock};

/// One access unit as the sample table sees it (stream times, decode order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleTiming {
    pub dts: Nanos,
    pub pts: Nanos,
    /// 0 when unknown.
    pub duration: Nanos,
    pub keyframe: bool,
    pub size: u32,
}

/// Sample durations are differences of absolute decode times, so nothing accumulates; the
/// last sample lasts its own frame duration, or as long as the one before when unknown.
pub fn build(timings: &[SampleTiming], clock: &TickClock) -> Vec<Sample> {
    let (times, _nudged) = timing::sample_times(clock, timings.iter().map(|t| (t.dts, t.pts)));
    let last_duration = {
        let own = timings
            .last()
            .map_or(0, |t| clock.duration_ticks(t.duration));
        let previous = times.windows(2).last().map(|w| w[1].decode - w[0].decode);
        if own > 0 {
            own
        } else {
            previous.unwrap_or(1)
        }
    };
    times
        .iter()
        .zip(timings)
        .enumerate()
        .map(|(index, (time, timing))| {
            let duration = times
                .get(index + 1)
                .map_or(last_duration, |next| next.decode - time.decode);
            Sample {
                size: timing.size,
                duration: duration.clamp(1, u32::MAX as i64) as u32,
                composition_offset: (time.composition - time.decode)
                    .clamp(i32::MIN as i64, i32::MAX as i64)
                    as i32,
                sync: timing.keyframe,
            }
        })
        .collect()
}

/// A one-video-track movie: decoding starts at the first timing's DTS, and the edit list
/// presents exactly `presentation` (stream nanoseconds).
pub fn video_movie(
    entry: VideoSampleEntry,
    timings: &[SampleTiming],
    framerate: Option<(i32, i32)>,
    presentation: Range<Nanos>,
) -> Movie {
    let timescale = timing::timescale_for_framerate(framerate);
    let clock = TickClock::new(timings.first().map_or(Nanos::ZERO, |t| t.dts), timescale);
    let media_time = clock.ticks(presentation.start);
    Movie {
        timescale,
        tracks: vec![Track {
            timescale,
            entry: SampleEntry::Video(entry),
            samples: build(timings, &clock),
            edit: Some(Edit {
                media_time,
                segment_duration: (clock.ticks(presentation.end) - media_time).max(0) as u64,
                delay: 0,
            }),
        }],
    }
}

/// An audio track beside a movie's video: its samples from the first packet on, and an edit
/// list that presents `presentation` on the movie timeline, which starts at the video's
/// `movie_start` on `movie_clock` (the video track's clock). Audio that starts after the
/// video gets an empty edit first, so it plays at the time it was captured.
pub fn audio_track(
    entry: AudioSampleEntry,
    timescale: u32,
    timings: &[SampleTiming],
    presentation: Range<Nanos>,
    movie_clock: &TickClock,
    movie_start: Nanos,
) -> Track {
    let clock = TickClock::new(timings.first().map_or(Nanos::ZERO, |t| t.dts), timescale);
    let delay = movie_clock.ticks(presentation.start) - movie_clock.ticks(movie_start);
    Track {
        timescale,
        entry: SampleEntry::Audio(entry),
        samples: build(timings, &clock),
        edit: Some(Edit {
            media_time: clock.ticks(presentation.start),
            segment_duration: (movie_clock.ticks(presentation.end)
                - movie_clock.ticks(presentation.start))
            .max(0) as u64,
            delay: delay.max(0) as u64,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(dts: Nanos, pts: Nanos, keyframe: bool) -> SampleTiming {
        SampleTiming {
            dts,
            pts,
            duration: Nanos::from_nanos(33_333_333),
            keyframe,
            size: 10,
        }
    }

    #[test]
    fn durations_come_from_absolute_decode_times() {
        let frames: Vec<_> = (0..450)
            .map(|n| timing(Nanos::from_secs(n) / 30, Nanos::from_secs(n) / 30, n == 0))
            .collect();
        let samples = build(&frames, &TickClock::new(Nanos::ZERO, 90_000));
        assert!(samples
            .iter()
            .all(|s| s.duration == 3000 && s.composition_offset == 0));
        assert_eq!(
            samples.iter().map(|s| s.duration as u64).sum::<u64>(),
            15 * 90_000
        );
        assert!(samples[0].sync && !samples[1].sync);
    }

    #[test]
    fn reordered_frames_get_composition_offsets() {
        let f = Nanos::from_secs(1) / 30;
        let frames = [
            timing(-f, f, true),
            timing(Nanos::ZERO, f * 3, false),
            timing(f, f * 2, false),
        ];
        let samples = build(&frames, &TickClock::new(-f, 90_000));
        let offsets: Vec<_> = samples.iter().map(|s| s.composition_offset).collect();
        assert_eq!(offsets, vec![6000, 9000, 3000]);
    }
}
