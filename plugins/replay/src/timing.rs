//! Stream nanoseconds ([`Nanos`]) to MP4 ticks (plain integers), without drift.
//!
//! Every timestamp is converted from its absolute value (relative to one base), and sample
//! durations are differences of converted timestamps: rounding never accumulates, so
//! 450 frames at 30 fps last exactly 15 s whatever the nanosecond rounding upstream.

use crate::time::Nanos;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// The default timescale: the MPEG-TS clock, exact for 24, 25, 30, 50, 60 and 30000/1001 fps.
const PREFERRED_TIMESCALE: u32 = 90_000;
/// Variable or odd frame rates still get at least this resolution.
const MIN_TIMESCALE: u32 = 10_000;

/// A timescale in which every frame duration of a `numerator/denominator` fps stream is a
/// whole number of ticks. `None` (or 0/1, a variable rate) gives the 90 kHz clock.
pub fn timescale_for_framerate(framerate: Option<(i32, i32)>) -> u32 {
    let Some((numerator, denominator)) = framerate else {
        return PREFERRED_TIMESCALE;
    };
    if numerator <= 0 || denominator <= 0 {
        return PREFERRED_TIMESCALE;
    }
    let (numerator, denominator) = (numerator as u64, denominator as u64);
    if (PREFERRED_TIMESCALE as u64 * denominator).is_multiple_of(numerator) {
        return PREFERRED_TIMESCALE;
    }
    // One frame lasts denominator * k ticks at numerator * k ticks per second.
    let multiplier = (MIN_TIMESCALE as u64).div_ceil(numerator).max(1);
    u32::try_from(numerator * multiplier).unwrap_or(PREFERRED_TIMESCALE)
}

/// Converts stream times to ticks counted from `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickClock {
    base: Nanos,
    timescale: u32,
}

impl TickClock {
    pub fn new(base: Nanos, timescale: u32) -> Self {
        TickClock { base, timescale }
    }

    pub fn timescale(&self) -> u32 {
        self.timescale
    }

    /// Ticks from `base` to `time`, rounded to the nearest tick.
    pub fn ticks(&self, time: Nanos) -> i64 {
        let scaled =
            (time.as_nanos() as i128 - self.base.as_nanos() as i128) * self.timescale as i128;
        let half = NANOS_PER_SECOND / 2;
        let rounded = if scaled >= 0 {
            (scaled + half) / NANOS_PER_SECOND
        } else {
            (scaled - half) / NANOS_PER_SECOND
        };
        rounded as i64
    }

    /// A duration in ticks, rounded.
    pub fn duration_ticks(&self, duration: Nanos) -> i64 {
        TickClock::new(Nanos::ZERO, self.timescale).ticks(duration)
    }

    /// Ticks back to nanoseconds (for reporting).
    pub fn ticks_to_nanos(timescale: u32, ticks: i64) -> Nanos {
        Nanos::from_nanos((ticks as i128 * NANOS_PER_SECOND / timescale as i128) as i64)
    }
}

/// Decode and composition times of one sample, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleTime {
    pub decode: i64,
    pub composition: i64,
}

/// Converts decode-ordered (dts, pts) pairs to ticks, keeping decode times strictly
/// increasing as MP4 requires (a DTS that does not advance is nudged one tick forward;
/// returns how many were).
pub fn sample_times(
    clock: &TickClock,
    dts_pts: impl Iterator<Item = (Nanos, Nanos)>,
) -> (Vec<SampleTime>, usize) {
    let mut nudged = 0;
    let mut previous: Option<i64> = None;
    let times = dts_pts
        .map(|(dts, pts)| {
            let mut decode = clock.ticks(dts);
            if let Some(previous) = previous {
                if decode <= previous {
                    decode = previous + 1;
                    nudged += 1;
                }
            }
            previous = Some(decode);
            SampleTime {
                decode,
                composition: clock.ticks(pts),
            }
        })
        .collect();
    (times, nudged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_frame_rates_get_an_exact_timescale() {
        for (n, d) in [(30, 1), (60, 1), (25, 1), (24, 1), (30000, 1001), (50, 1)] {
            assert_eq!(timescale_for_framerate(Some((n, d))), 90_000, "{n}/{d}");
        }
        // 1501.5 and 3753.75 ticks at 90 kHz: the frame rate's own clock is exact.
        assert_eq!(timescale_for_framerate(Some((60000, 1001))), 60_000);
        assert_eq!(timescale_for_framerate(Some((24000, 1001))), 24_000);
        assert_eq!(timescale_for_framerate(Some((7, 1))), 10_003);
        assert_eq!(timescale_for_framerate(Some((0, 1))), 90_000);
        assert_eq!(timescale_for_framerate(None), 90_000);
    }

    #[test]
    fn absolute_conversion_does_not_drift() {
        let clock = TickClock::new(Nanos::ZERO, 90_000);
        // GStreamer's own rounding of frame n at 30 fps.
        let pts = |n: i64| Nanos::from_secs(n) / 30;
        for n in 0..=450 {
            assert_eq!(clock.ticks(pts(n)), n * 3000);
        }
        let ntsc = TickClock::new(Nanos::ZERO, 90_000);
        let pts = |n: i64| Nanos::from_secs(n * 1001) / 30_000;
        assert_eq!(ntsc.ticks(pts(100_000)), 100_000 * 3003);
    }

    #[test]
    fn negative_times_round_symmetrically() {
        let second = Nanos::from_secs(1);
        let clock = TickClock::new(second, 90_000);
        assert_eq!(clock.ticks(Nanos::ZERO), -90_000);
        assert_eq!(clock.ticks(second - Nanos::from_nanos(5_556)), -1);
    }

    #[test]
    fn durations_and_ticks_convert_both_ways() {
        let clock = TickClock::new(Nanos::from_secs(7), 90_000);
        assert_eq!(clock.duration_ticks(Nanos::from_millis(40)), 3600);
        assert_eq!(
            TickClock::ticks_to_nanos(90_000, 3600),
            Nanos::from_millis(40)
        );
    }

    #[test]
    fn decode_times_that_do_not_advance_are_nudged() {
        let clock = TickClock::new(Nanos::ZERO, 1000);
        let ns = Nanos::from_nanos;
        let (times, nudged) = sample_times(
            &clock,
            [(ns(0), ns(0)), (ns(0), ns(40_000_000)), (ns(1), ns(1))].into_iter(),
        );
        assert_eq!(
            times.iter().map(|t| t.decode).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(nudged, 2);
    }
}
