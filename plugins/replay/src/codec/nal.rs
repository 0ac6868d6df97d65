//! NAL units of length-prefixed access units (ISO/IEC 14496-15: avc, avc3, hvc1, hev1), and
//! the byte ranges an MP4 sample is made of.

use std::ops::Range;

use super::{CodecError, VideoCodec};

/// One NAL unit found in an access unit, as byte ranges of that access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NalUnit {
    /// The NAL unit with its length prefix.
    pub unit: Range<usize>,
    /// The NAL unit itself, header included.
    pub nal: Range<usize>,
}

/// Iterates the NAL units of one access unit whose NAL units each follow their big-endian
/// length in `length_size` bytes (1, 2 or 4).
///
/// A truncated length prefix, a length running past the end of the data, a zero length or a
/// length size other than 1, 2 or 4 is an error. The iterator ends after the first error.
pub fn nal_units(
    data: &[u8],
    length_size: u8,
) -> impl Iterator<Item = Result<NalUnit, CodecError>> + '_ {
    NalUnits {
        data,
        length_size,
        position: 0,
        finished: false,
    }
}

struct NalUnits<'a> {
    data: &'a [u8],
    length_size: u8,
    /// Where the next length prefix starts.
    position: usize,
    finished: bool,
}

impl Iterator for NalUnits<'_> {
    type Item = Result<NalUnit, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = self.next_unit();
        if !matches!(item, Some(Ok(_))) {
            self.finished = true;
        }
        item
    }
}

impl NalUnits<'_> {
    fn next_unit(&mut self) -> Option<Result<NalUnit, CodecError>> {
        let length_size = self.length_size;
        if !matches!(length_size, 1 | 2 | 4) {
            return Some(Err(CodecError::UnsupportedNalLengthSize(length_size)));
        }
        let data = self.data;
        let offset = self.position;
        if offset >= data.len() {
            return None;
        }
        let prefix_size = usize::from(length_size);
        let Some(prefix) = data.get(offset..offset + prefix_size) else {
            return Some(Err(CodecError::TruncatedNalLengthPrefix {
                offset,
                length_size,
                available: data.len() - offset,
            }));
        };
        let length = prefix
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        if length == 0 {
            return Some(Err(CodecError::ZeroNalLength { offset }));
        }
        let nal_start = offset + prefix_size;
        if length > data.len() - nal_start {
            return Some(Err(CodecError::NalLengthPastEnd {
                length,
                offset,
                access_unit_size: data.len(),
            }));
        }
        let nal_end = nal_start + length;
        self.position = nal_end;
        Some(Ok(NalUnit {
            unit: offset..nal_end,
            nal: nal_start..nal_end,
        }))
    }
}

/// Appends to `ranges` the byte ranges of the access unit `data` that make its MP4 sample,
/// and returns the sample's size.
///
/// Without `strip_parameter_sets` that is the whole access unit, checked to be well framed.
/// With it, parameter-set NAL units are left out (avc1/hvc1 sample entries carry them, and
/// ISO/IEC 14496-15 keeps them out of the samples); consecutive kept NAL units form one range,
/// so an access unit without parameter sets is still a single range. Ranges already in
/// `ranges` are never extended. The size is 0 (with nothing appended) when no NAL unit is
/// kept. On error `ranges` is left as it was.
pub fn sample_ranges(
    codec: VideoCodec,
    data: &[u8],
    length_size: u8,
    strip_parameter_sets: bool,
    ranges: &mut Vec<Range<usize>>,
) -> Result<u32, CodecError> {
    let ranges_before = ranges.len();
    let mut sample_size = 0u64;
    for unit in nal_units(data, length_size) {
        let unit = match unit {
            Ok(unit) => unit,
            Err(error) => {
                ranges.truncate(ranges_before);
                return Err(error);
            }
        };
        if strip_parameter_sets && codec.is_parameter_set_nal(&data[unit.nal.clone()]) {
            continue;
        }
        sample_size += unit.unit.len() as u64;
        let ours = &mut ranges[ranges_before..];
        match ours.last_mut() {
            Some(last) if last.end == unit.unit.start => last.end = unit.unit.end,
            _ => ranges.push(unit.unit),
        }
    }
    // An access unit is at most a buffer, and a sample as large as 4 GiB cannot be described.
    u32::try_from(sample_size).map_err(|_| {
        ranges.truncate(ranges_before);
        CodecError::SampleTooLarge { size: sample_size }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nals(data: &[u8], length_size: u8) -> Vec<&[u8]> {
        nal_units(data, length_size)
            .map(|unit| &data[unit.expect("valid access unit").nal])
            .collect()
    }

    fn first_error(data: &[u8], length_size: u8) -> CodecError {
        nal_units(data, length_size)
            .find_map(Result::err)
            .expect("an error")
    }

    fn assemble(data: &[u8], ranges: &[Range<usize>]) -> Vec<u8> {
        ranges
            .iter()
            .flat_map(|r| data[r.clone()].to_vec())
            .collect()
    }

    #[test]
    fn every_length_size() {
        let cases: [(u8, &[u8]); 3] = [
            (1, &[2, 0x67, 0x42, 1, 0x65]),
            (2, &[0, 2, 0x67, 0x42, 0, 1, 0x65]),
            (4, &[0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 1, 0x65]),
        ];
        for (length_size, data) in cases {
            let size = usize::from(length_size);
            let units: Vec<NalUnit> = nal_units(data, length_size).map(Result::unwrap).collect();
            assert_eq!(
                units,
                vec![
                    NalUnit {
                        unit: 0..size + 2,
                        nal: size..size + 2
                    },
                    NalUnit {
                        unit: size + 2..data.len(),
                        nal: 2 * size + 2..data.len()
                    },
                ]
            );
        }
    }

    #[test]
    fn framing_errors_say_what_is_wrong() {
        let error = first_error(&[0, 0, 0, 9, 0x65, 0x88], 4);
        assert!(matches!(
            error,
            CodecError::NalLengthPastEnd {
                length: 9,
                offset: 0,
                access_unit_size: 6
            }
        ));
        assert_eq!(
            error.to_string(),
            "NAL length 9 at byte 0 runs past the end of a 6-byte access unit; \
             the data is truncated or its NAL length size is wrong"
        );
        assert!(matches!(
            first_error(&[0, 0, 0, 1, 0x65, 0, 0], 4),
            CodecError::TruncatedNalLengthPrefix {
                offset: 5,
                length_size: 4,
                available: 2
            }
        ));
        assert!(matches!(
            first_error(&[0, 0, 0, 0, 0x65], 4),
            CodecError::ZeroNalLength { offset: 0 }
        ));
        assert!(matches!(
            first_error(&[], 3),
            CodecError::UnsupportedNalLengthSize(3)
        ));
        // The iterator stops after an error.
        assert_eq!(nal_units(&[0, 0, 0, 0, 1], 4).count(), 1);
    }

    #[test]
    fn an_access_unit_without_parameter_sets_is_one_range() {
        let data = [0, 2, 0x06, 0x05, 0, 3, 0x65, 1, 2];
        let mut ranges: Vec<Range<usize>> = Vec::new();
        ranges.push(0..0);
        let size = sample_ranges(VideoCodec::H264, &data, 2, true, &mut ranges).unwrap();
        assert_eq!(size, 9);
        // The range already there belongs to another sample and is not extended.
        assert_eq!(ranges, vec![0..0, 0..9]);
    }

    #[test]
    fn parameter_sets_are_left_out_when_stripping() {
        // SEI, SPS, PPS, IDR slice, slice
        let data = [
            0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0, 0, 0, 2, 0x65,
            0x88, 0, 0, 0, 1, 0x01,
        ];
        let mut ranges = Vec::new();
        let size = sample_ranges(VideoCodec::H264, &data, 4, true, &mut ranges).unwrap();
        assert_eq!(ranges, vec![0..6, 17..28]);
        assert_eq!(size, 17);
        assert_eq!(
            nals(&assemble(&data, &ranges), 4),
            vec![&[0x06, 0x05][..], &[0x65, 0x88], &[0x01]]
        );
        ranges.clear();
        assert_eq!(
            sample_ranges(VideoCodec::H264, &data, 4, false, &mut ranges).unwrap(),
            28
        );
        assert_eq!(ranges, vec![0..28]);
    }

    #[test]
    fn h265_parameter_sets_are_left_out_when_stripping() {
        // VPS, SPS, PPS, IDR slice (type 19)
        let data = [
            0, 3, 0x40, 0x01, 0x0c, 0, 3, 0x42, 0x01, 0x01, 0, 2, 0x44, 0x01, 0, 3, 0x26, 0x01,
            0xaf,
        ];
        let mut ranges = Vec::new();
        let size = sample_ranges(VideoCodec::H265, &data, 2, true, &mut ranges).unwrap();
        assert_eq!(ranges, vec![14..19]);
        assert_eq!(size, 5);
    }

    #[test]
    fn errors_leave_ranges_untouched() {
        let data = [0, 2, 0x65, 0x88, 0, 9, 0x01];
        let mut ranges: Vec<Range<usize>> = Vec::new();
        ranges.push(3..4);
        let result = sample_ranges(VideoCodec::H264, &data, 2, false, &mut ranges);
        assert!(matches!(result, Err(CodecError::NalLengthPastEnd { .. })));
        assert_eq!(ranges, vec![3..4]);
    }

    #[test]
    fn an_access_unit_of_only_parameter_sets_plans_an_empty_sample() {
        let data = [0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce];
        let mut ranges = Vec::new();
        let size = sample_ranges(VideoCodec::H264, &data, 2, true, &mut ranges).unwrap();
        assert_eq!((size, ranges.len()), (0, 0));
    }
}
