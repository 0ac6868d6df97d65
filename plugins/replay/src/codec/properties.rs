//! Property tests: arbitrary input never panics, and well-formed access units keep their NAL
//! units (parameter sets aside, when stripped) in their MP4 samples.

use std::ops::Range;

use proptest::prelude::*;

use super::{nal_length_size, nal_units, sample_ranges, VideoCodec};

fn codec() -> impl Strategy<Value = VideoCodec> {
    prop_oneof![Just(VideoCodec::H264), Just(VideoCodec::H265)]
}

fn length_size() -> impl Strategy<Value = u8> {
    prop_oneof![Just(1u8), Just(2), Just(4)]
}

/// Random bytes that often look like small lengths.
fn access_unit_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 4 => any::<u8>()],
        0..300,
    )
}

fn assemble(data: &[u8], ranges: &[Range<usize>]) -> Vec<u8> {
    ranges
        .iter()
        .flat_map(|r| data[r.clone()].to_vec())
        .collect()
}

fn parsed_nals(data: &[u8], length_size: u8) -> Vec<Vec<u8>> {
    nal_units(data, length_size)
        .map(|unit| data[unit.expect("well-formed").nal].to_vec())
        .collect()
}

proptest! {
    #[test]
    fn nal_units_never_panic(data in access_unit_bytes(), length_size in 0u8..=5) {
        let mut previous_end = 0;
        for unit in nal_units(&data, length_size) {
            let Ok(unit) = unit else { break };
            prop_assert!(previous_end <= unit.unit.start);
            prop_assert!(unit.unit.start <= unit.nal.start && unit.nal.start < unit.nal.end);
            prop_assert!(unit.nal.end == unit.unit.end && unit.unit.end <= data.len());
            previous_end = unit.unit.end;
        }
    }

    #[test]
    fn sample_ranges_never_panic(
        codec in codec(),
        data in access_unit_bytes(),
        length_size in 0u8..=5,
        strip in any::<bool>(),
    ) {
        let mut ranges = Vec::new();
        if let Ok(size) = sample_ranges(codec, &data, length_size, strip, &mut ranges) {
            prop_assert_eq!(assemble(&data, &ranges).len(), size as usize);
        } else {
            prop_assert!(ranges.is_empty());
        }
    }

    #[test]
    fn nal_length_size_never_panics(
        codec in codec(),
        mut record in access_unit_bytes(),
        valid_version in any::<bool>(),
    ) {
        if valid_version && !record.is_empty() {
            record[0] = 1;
        }
        if let Ok(size) = nal_length_size(codec, &record) {
            prop_assert!(matches!(size, 1 | 2 | 4));
        }
    }

    #[test]
    fn nal_units_survive_planning(
        codec in codec(),
        length_size in length_size(),
        nals in prop::collection::vec(prop::collection::vec(any::<u8>(), 2..200), 0..8),
        strip in any::<bool>(),
    ) {
        let mut data = Vec::new();
        for nal in &nals {
            let length = (nal.len() as u32).to_be_bytes();
            data.extend_from_slice(&length[4 - usize::from(length_size)..]);
            data.extend_from_slice(nal);
        }
        let mut ranges = Vec::new();
        let size = sample_ranges(codec, &data, length_size, strip, &mut ranges).unwrap();
        let kept: Vec<Vec<u8>> = nals
            .into_iter()
            .filter(|nal| !(strip && codec.is_parameter_set_nal(nal)))
            .collect();
        if !strip && !data.is_empty() {
            prop_assert_eq!(ranges.len(), 1);
            prop_assert_eq!(ranges[0].clone(), 0..data.len());
        }
        // Ranges merge: no two are adjacent in the input.
        for pair in ranges.windows(2) {
            prop_assert!(pair[0].end < pair[1].start);
        }
        let sample = assemble(&data, &ranges);
        prop_assert_eq!(sample.len(), size as usize);
        prop_assert_eq!(parsed_nals(&sample, length_size), kept);
    }
}
