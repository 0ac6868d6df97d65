//! Length-prefixed access units through `nal_units` and `sample_ranges`.
//!
//! Input: byte 0 is the NAL length size (only 1, 2 and 4 are valid); byte 1 bit 0 picks
//! H.265 over H.264 and bit 1 strips parameter sets; the rest is the access unit.
//!
//! Checked: every NAL unit lies inside the data, right after the one before, with its
//! length in its prefix; the iterator stops after an error and reads the whole access unit
//! otherwise; the planned sample's size is the bytes its ranges cover, and reading that
//! sample back gives exactly the NAL units kept from the input; a failed plan leaves the
//! range list as it was.

#![no_main]

use gstreplay::codec::{nal_units, sample_ranges, VideoCodec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [length_size, flags, data @ ..] = input else {
        return;
    };
    let codec = if flags & 1 == 0 {
        VideoCodec::H264
    } else {
        VideoCodec::H265
    };
    let strip_parameter_sets = flags & 2 != 0;
    let nals = check_nal_units(data, *length_size);
    check_plan(
        codec,
        data,
        *length_size,
        strip_parameter_sets,
        nals.as_deref(),
    );
});

/// The NAL units found, or `None` after an error; panics on a property broken.
fn check_nal_units(data: &[u8], length_size: u8) -> Option<Vec<&[u8]>> {
    let mut nals = Vec::new();
    let mut previous_end = 0;
    let mut iterator = nal_units(data, length_size);
    for item in iterator.by_ref() {
        let unit = match item {
            Ok(unit) => unit,
            Err(_) => {
                assert!(
                    iterator.next().is_none(),
                    "the iterator must end after an error"
                );
                return None;
            }
        };
        let (unit_range, nal_range) = (unit.unit.clone(), unit.nal.clone());
        assert!(
            unit_range.end <= data.len(),
            "{unit:?} runs past {} bytes",
            data.len()
        );
        assert!(
            unit_range.start <= nal_range.start && nal_range.end == unit_range.end,
            "{unit:?}: the NAL unit must end its unit"
        );
        assert!(!nal_range.is_empty(), "{unit:?}: empty NAL unit");
        assert_eq!(unit_range.start, previous_end, "{unit:?}: a gap before it");
        let prefix = &data[unit_range.start..nal_range.start];
        assert_eq!(
            prefix.len(),
            usize::from(length_size),
            "{unit:?}: prefix size"
        );
        let length = prefix
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        let nal = &data[nal_range];
        assert_eq!(length, nal.len(), "{unit:?}: length prefix");
        previous_end = unit_range.end;
        nals.push(nal);
    }
    assert_eq!(previous_end, data.len(), "the data ended without an error");
    Some(nals)
}

fn check_plan(
    codec: VideoCodec,
    data: &[u8],
    length_size: u8,
    strip_parameter_sets: bool,
    nals: Option<&[&[u8]]>,
) {
    // A range from an earlier plan: it must be kept and never merged with.
    let earlier = 0..0;
    let mut ranges = vec![earlier.clone()];
    let planned = sample_ranges(codec, data, length_size, strip_parameter_sets, &mut ranges);
    let Ok(size) = planned else {
        assert_eq!(
            ranges,
            [earlier],
            "a failed plan must leave the ranges as they were"
        );
        // Only a malformed access unit (or one over 4 GiB) may fail.
        assert!(
            nals.is_none(),
            "sample_ranges failed on data nal_units reads"
        );
        return;
    };
    let nals = nals.expect("sample_ranges succeeded where nal_units failed");
    assert_eq!(ranges[0], earlier, "an earlier range was changed");

    let mut sample = Vec::new();
    for range in &ranges[1..] {
        assert!(range.end <= data.len(), "{range:?} outside the data");
        sample.extend_from_slice(&data[range.clone()]);
    }
    assert_eq!(
        size as usize,
        sample.len(),
        "the size must be what the ranges cover"
    );
    let kept: Vec<&[u8]> = nals
        .iter()
        .copied()
        .filter(|nal| !(strip_parameter_sets && codec.is_parameter_set_nal(nal)))
        .collect();
    let written: Vec<&[u8]> = nal_units(&sample, length_size)
        .map(|unit| &sample[unit.expect("the planned sample parses").nal])
        .collect();
    assert_eq!(
        written, kept,
        "the sample must hold exactly the kept NAL units"
    );
}
