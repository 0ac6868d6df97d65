//! Times on a stream's running-time clock, and the spans between them: signed nanoseconds.
//!
//! The pure modules compare every track on this one clock; the element converts GStreamer's
//! times to it at its edges (see [`running_time`](crate::running_time)). MP4 ticks, counted
//! in a track's timescale, stay plain integers: [`TickClock`](crate::timing::TickClock) is
//! the one place that turns the one into the other, so the two cannot be mixed up.
//!
//! The wrapper is free: `#[repr(transparent)]` over an `i64`, its methods `#[inline]`, and
//! its arithmetic the `i64`'s own (the same overflow checks in debug builds, nothing more).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MILLI: i64 = 1_000_000;

/// A time on the running-time clock (negative before the segment start), or a span between
/// two such times, in nanoseconds.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Nanos(i64);

impl Nanos {
    pub const ZERO: Nanos = Nanos(0);
    pub const MIN: Nanos = Nanos(i64::MIN);
    pub const MAX: Nanos = Nanos(i64::MAX);

    #[inline]
    pub const fn from_nanos(nanos: i64) -> Self {
        Nanos(nanos)
    }

    #[inline]
    pub const fn from_millis(millis: i64) -> Self {
        Nanos(millis * NANOS_PER_MILLI)
    }

    #[inline]
    pub const fn from_secs(secs: i64) -> Self {
        Nanos(secs * NANOS_PER_SECOND)
    }

    /// GStreamer's unsigned nanoseconds (a `guint64` property, signal argument or structure
    /// field); values past [`Nanos::MAX`] (292 years) saturate.
    #[inline]
    pub const fn from_unsigned_nanos(nanos: u64) -> Self {
        if nanos > i64::MAX as u64 {
            Nanos::MAX
        } else {
            Nanos(nanos as i64)
        }
    }

    #[inline]
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// For GStreamer's unsigned nanoseconds: a negative time or span counts as 0.
    #[inline]
    pub const fn as_unsigned_nanos(self) -> u64 {
        if self.0 < 0 {
            0
        } else {
            self.0 as u64
        }
    }

    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SECOND as f64
    }

    #[inline]
    pub const fn saturating_add(self, rhs: Nanos) -> Self {
        Nanos(self.0.saturating_add(rhs.0))
    }

    #[inline]
    pub const fn saturating_sub(self, rhs: Nanos) -> Self {
        Nanos(self.0.saturating_sub(rhs.0))
    }
}

impl Add for Nanos {
    type Output = Nanos;
    #[inline]
    fn add(self, rhs: Nanos) -> Nanos {
        Nanos(self.0 + rhs.0)
    }
}

impl Sub for Nanos {
    type Output = Nanos;
    #[inline]
    fn sub(self, rhs: Nanos) -> Nanos {
        Nanos(self.0 - rhs.0)
    }
}

impl AddAssign for Nanos {
    #[inline]
    fn add_assign(&mut self, rhs: Nanos) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Nanos {
    #[inline]
    fn sub_assign(&mut self, rhs: Nanos) {
        self.0 -= rhs.0;
    }
}

impl Neg for Nanos {
    type Output = Nanos;
    #[inline]
    fn neg(self) -> Nanos {
        Nanos(-self.0)
    }
}

impl Mul<i64> for Nanos {
    type Output = Nanos;
    #[inline]
    fn mul(self, rhs: i64) -> Nanos {
        Nanos(self.0 * rhs)
    }
}

impl Div<i64> for Nanos {
    type Output = Nanos;
    #[inline]
    fn div(self, rhs: i64) -> Nanos {
        Nanos(self.0 / rhs)
    }
}

impl Sum for Nanos {
    #[inline]
    fn sum<I: Iterator<Item = Nanos>>(iter: I) -> Nanos {
        iter.fold(Nanos::ZERO, Add::add)
    }
}

/// Seconds, to the millisecond unless the format asks for another precision:
/// `1.500 s`, or `1.5 s` with `{:.1}`.
impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(3);
        write!(f, "{:.*} s", precision, self.as_secs_f64())
    }
}

/// Exact nanoseconds: `1500000000ns`.
impl fmt::Debug for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ns", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_agree() {
        assert_eq!(Nanos::from_secs(2), Nanos::from_nanos(2_000_000_000));
        assert_eq!(Nanos::from_millis(1_500), Nanos::from_nanos(1_500_000_000));
        assert_eq!(Nanos::from_secs(-1).as_nanos(), -1_000_000_000);
        assert_eq!(Nanos::from_millis(250).as_secs_f64(), 0.25);
    }

    #[test]
    fn arithmetic_is_the_integers() {
        let second = Nanos::from_secs(1);
        let mut time = second * 3 - second / 2;
        assert_eq!(time, Nanos::from_millis(2_500));
        time += second;
        time -= Nanos::from_millis(500);
        assert_eq!(time, Nanos::from_secs(3));
        assert_eq!(-time, Nanos::from_secs(-3));
        assert_eq!(Nanos::from_nanos(7) / 2, Nanos::from_nanos(3));
        assert_eq!(Nanos::from_nanos(-7) / 2, Nanos::from_nanos(-3));
        assert_eq!(
            [second, second, time].into_iter().sum::<Nanos>(),
            second * 5
        );
        assert!(Nanos::MIN < -second && -second < Nanos::ZERO && second < Nanos::MAX);
        assert_eq!(Nanos::MAX.saturating_add(second), Nanos::MAX);
        assert_eq!(Nanos::MIN.saturating_sub(second), Nanos::MIN);
        assert_eq!(
            Nanos::ZERO.saturating_sub(Nanos::MAX),
            Nanos::from_nanos(-i64::MAX)
        );
    }

    #[test]
    fn unsigned_nanos_saturate_and_clamp() {
        assert_eq!(Nanos::from_unsigned_nanos(5), Nanos::from_nanos(5));
        assert_eq!(Nanos::from_unsigned_nanos(i64::MAX as u64), Nanos::MAX);
        assert_eq!(Nanos::from_unsigned_nanos(u64::MAX), Nanos::MAX);
        assert_eq!(Nanos::from_secs(2).as_unsigned_nanos(), 2_000_000_000);
        assert_eq!(Nanos::from_secs(-2).as_unsigned_nanos(), 0);
        assert_eq!(Nanos::MIN.as_unsigned_nanos(), 0);
    }

    #[test]
    fn displays_seconds_and_debugs_nanoseconds() {
        let time = Nanos::from_millis(1_500);
        assert_eq!(time.to_string(), "1.500 s");
        assert_eq!(format!("{time:.1}"), "1.5 s");
        assert_eq!(Nanos::from_millis(-40).to_string(), "-0.040 s");
        assert_eq!(format!("{time:?}"), "1500000000ns");
        assert_eq!(format!("{:?}", Some(-time)), "Some(-1500000000ns)");
    }

    #[test]
    fn the_wrapper_costs_nothing() {
        assert_eq!(std::mem::size_of::<Nanos>(), std::mem::size_of::<i64>());
        assert_eq!(std::mem::align_of::<Nanos>(), std::mem::align_of::<i64>());
        assert_eq!(
            std::mem::size_of::<Option<Nanos>>(),
            std::mem::size_of::<Option<i64>>()
        );
    }
}
