//! One forward timeline across reconnects: pure timestamp arithmetic, in signed running-time
//! nanoseconds.
//!
//! Each connection to the source (a "generation") has timestamps of its own, usually
//! starting near zero again. Its streams are shifted by one pad offset, chosen when its first
//! buffer reaches the ring side: the buffer lands at the pipeline clock's running time of
//! that moment, so a clip across a reconnect shows the downtime as a gap, and never before
//! the end of what earlier connections delivered, so the ring never sees time go back.

/// Least room left between the end of the previous connection's data and the first buffer
/// of the next, when the clock alone would place it earlier (a sender that ran ahead of real
/// time): the other streams of the new connection may start a little before its first
/// buffer.
pub const MIN_GAP: i64 = 1_000_000_000;

/// A step back in one stream beyond this (decode time, or presentation time with B-frames)
/// means its sender restarted its timestamps.
pub const MAX_STEP_BACK: i64 = 1_000_000_000;

/// A step forward beyond this while data keeps flowing means the same.
pub const MAX_STEP_FORWARD: i64 = 10_000_000_000;

/// The pad offset of a new generation. `now`: the pipeline's running time as its first
/// buffer arrives; `first`: that buffer's own running time; `previous_end`: the latest end
/// (offset applied) of anything earlier generations delivered.
pub fn anchor_offset(now: i64, first: i64, previous_end: Option<i64>) -> i64 {
    let on_clock = now - first;
    match previous_end {
        Some(end) => on_clock.max(end + MIN_GAP - first),
        None => on_clock,
    }
}

/// How far a stream's running time jumped from `previous` to `next`, when it jumped further
/// than a stream that keeps its timeline does.
pub fn jump(previous: Option<i64>, next: i64) -> Option<i64> {
    let step = next - previous?;
    (!(-MAX_STEP_BACK..=MAX_STEP_FORWARD).contains(&step)).then_some(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn the_first_generation_lands_on_the_clock() {
        assert_eq!(anchor_offset(5 * S, S, None), 4 * S);
        // Timestamps ahead of the clock give a negative offset.
        assert_eq!(anchor_offset(S, 3 * S, None), -2 * S);
    }

    #[test]
    fn a_reconnect_lands_after_the_downtime() {
        // 30 s of data ended at 30 s; the new connection starts at its own 0.2 s while the
        // clock says 34 s: it lands at 34 s.
        let offset = anchor_offset(34 * S, S / 5, Some(30 * S));
        assert_eq!(S / 5 + offset, 34 * S);
    }

    #[test]
    fn never_before_what_earlier_generations_delivered() {
        // The old sender ran 3 s ahead of the clock: the new data starts MIN_GAP after it.
        let offset = anchor_offset(31 * S, 0, Some(33 * S));
        assert_eq!(offset, 33 * S + MIN_GAP);
    }

    #[test]
    fn jumps() {
        assert_eq!(jump(None, 5 * S), None);
        assert_eq!(jump(Some(5 * S), 5 * S + S / 30), None);
        // B-frames present a few frames back.
        assert_eq!(jump(Some(5 * S), 5 * S - S / 10), None);
        assert_eq!(jump(Some(5 * S), S), Some(-4 * S));
        assert_eq!(jump(Some(5 * S), 20 * S), Some(15 * S));
        assert_eq!(jump(Some(5 * S), 14 * S), None);
    }
}
