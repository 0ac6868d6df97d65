//! `elst` entries read by hand: the third hand-written part, for the edits mp4-atom
//! refuses.
//!
//! ISO/IEC 14496-12 defines a media time of -1 (an empty edit) and times from 0 up;
//! mp4-atom refuses any other negative time, so a `moov` holding one does not decode. The
//! writer's `Edit` takes any `i64` and its tests check such times still encode as given:
//! they read them here, from the box layout.

use super::layout::BoxLayout;
use super::{error, Result};

/// One entry as it is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawEdit {
    pub segment_duration: u64,
    pub media_time: i64,
    /// 16.16 fixed point.
    pub media_rate: u32,
}

/// The entries of an `elst` box, whose size must be exactly what its count needs.
pub fn raw_edits(elst: &BoxLayout<'_>) -> Result<Vec<RawEdit>> {
    let (version, _) = elst.version_and_flags();
    let entry_len = match version {
        0 => 12,
        1 => 20,
        other => return error(format!("elst version {other}")),
    };
    let Some((count, entries)) = elst.body().split_first_chunk::<4>() else {
        return error("elst is too short for its entry count");
    };
    let count = u32::from_be_bytes(*count) as usize;
    if entries.len() != count.saturating_mul(entry_len) {
        return error(format!(
            "elst announces {count} entries in {} bytes",
            entries.len()
        ));
    }
    let be = |bytes: &[u8]| bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
    Ok(entries
        .chunks(entry_len)
        .map(|entry| {
            let time_len = if version == 1 { 8 } else { 4 };
            let (duration, rest) = entry.split_at(time_len);
            let (time, rate) = rest.split_at(time_len);
            let media_time = if version == 1 {
                be(time) as i64
            } else {
                i64::from(be(time) as u32 as i32)
            };
            RawEdit {
                segment_duration: be(duration),
                media_time,
                media_rate: be(rate) as u32,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::single_box;

    fn elst(version: u8, entries: &[&[u8]]) -> Vec<u8> {
        let body = [
            &[version, 0, 0, 0][..],
            &(entries.len() as u32).to_be_bytes(),
            &entries.concat(),
        ]
        .concat();
        [&(8 + body.len() as u32).to_be_bytes()[..], b"elst", &body].concat()
    }

    #[test]
    fn reads_times_below_minus_one_in_both_versions() {
        let v0 = elst(0, &[&[0, 0, 0, 5, 0xff, 0xff, 0xff, 0xfe, 0, 1, 0, 0]]);
        let read = raw_edits(&single_box(&v0, b"elst").unwrap()).unwrap();
        assert_eq!(
            read,
            [RawEdit {
                segment_duration: 5,
                media_time: -2,
                media_rate: 0x1_0000
            }]
        );
        let time = (i64::MIN).to_be_bytes();
        let entry = [&[0, 0, 0, 1, 0, 0, 0, 0][..], &time, &[0, 1, 0, 0]].concat();
        let v1 = elst(1, &[&entry]);
        let read = raw_edits(&single_box(&v1, b"elst").unwrap()).unwrap();
        assert_eq!(read[0].segment_duration, 1 << 32);
        assert_eq!(read[0].media_time, i64::MIN);
        let mut short = elst(0, &[&[0; 12]]);
        short[15] = 2; // announces two entries
        assert!(raw_edits(&single_box(&short, b"elst").unwrap()).is_err());
    }
}
