//! NAL unit iteration in both framings, and planning of MP4 samples from
//! access units.

use std::ops::Range;

use super::{CodecError, VideoCodec};

/// How the NAL units of an access unit are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NalFraming {
    /// Annex B: each NAL unit follows a `00 00 01` or `00 00 00 01` start code.
    ByteStream,
    /// ISO/IEC 14496-15 (avc/hvc1): each NAL unit follows its big-endian
    /// length in this many bytes, which must be 1, 2 or 4.
    LengthPrefixed(u8),
}

/// One NAL unit found in an access unit, as byte ranges of that access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NalUnit {
    /// The NAL unit with its start code or length prefix.
    pub unit: Range<usize>,
    /// The NAL unit itself, header included.
    pub nal: Range<usize>,
}

/// Iterates the NAL units of one access unit.
///
/// Byte-stream: 3- and 4-byte start codes are recognised; zero bytes before
/// the first start code and trailing zero bytes before the next start code
/// belong to no NAL unit (a 4-byte start code's leading zero is counted in the
/// next unit's `unit` range), and NAL units left empty by that are skipped.
/// Non-zero bytes before the first start code are an error.
///
/// Length-prefixed: a truncated length prefix, a length running past the end
/// of the data, a zero length or a length size other than 1, 2 or 4 is an
/// error. The iterator ends after the first error.
pub fn nal_units(
    data: &[u8],
    framing: NalFraming,
) -> impl Iterator<Item = Result<NalUnit, CodecError>> + '_ {
    NalUnits {
        data,
        framing,
        position: 0,
        next_start_code: None,
        started: false,
        finished: false,
    }
}

struct NalUnits<'a> {
    data: &'a [u8],
    framing: NalFraming,
    /// Length-prefixed: where the next length prefix starts.
    position: usize,
    /// Byte-stream: the next NAL unit's `unit` start and `nal` start.
    next_start_code: Option<(usize, usize)>,
    started: bool,
    finished: bool,
}

impl Iterator for NalUnits<'_> {
    type Item = Result<NalUnit, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = match self.framing {
            NalFraming::ByteStream => self.next_in_byte_stream(),
            NalFraming::LengthPrefixed(length_size) => self.next_length_prefixed(length_size),
        };
        if !matches!(item, Some(Ok(_))) {
            self.finished = true;
        }
        item
    }
}

impl NalUnits<'_> {
    fn next_in_byte_stream(&mut self) -> Option<Result<NalUnit, CodecError>> {
        if !self.started {
            self.started = true;
            match self.find_first_start_code() {
                Ok(first) => self.next_start_code = first,
                Err(error) => return Some(Err(error)),
            }
        }
        // Loop only to skip NAL units that are empty once trailing zeros go.
        loop {
            let (unit_start, nal_start) = self.next_start_code.take()?;
            let following = find_start_code(self.data, nal_start);
            let region_end = following.unwrap_or(self.data.len());
            self.next_start_code = following.map(|start_code| {
                (
                    start_code_unit_start(self.data, nal_start, start_code),
                    start_code + 3,
                )
            });
            let nal_end = without_trailing_zeros(self.data, nal_start, region_end);
            if nal_end > nal_start {
                return Some(Ok(NalUnit {
                    unit: unit_start..nal_end,
                    nal: nal_start..nal_end,
                }));
            }
        }
    }

    /// Finds where the first NAL unit starts; `None` when there is none.
    fn find_first_start_code(&self) -> Result<Option<(usize, usize)>, CodecError> {
        let first = find_start_code(self.data, 0);
        let leading = &self.data[..first.unwrap_or(self.data.len())];
        // Leading zeros are allowed (leading_zero_8bits); anything else means
        // the data is not a byte-stream.
        if leading.iter().any(|&byte| byte != 0) {
            return Err(CodecError::DataBeforeStartCode {
                bytes: leading.len(),
            });
        }
        Ok(first.map(|start_code| {
            (
                start_code_unit_start(self.data, 0, start_code),
                start_code + 3,
            )
        }))
    }

    fn next_length_prefixed(&mut self, length_size: u8) -> Option<Result<NalUnit, CodecError>> {
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

/// Returns the position of the first `00 00 01` at or after `from`.
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    memchr::memmem::find(rest, &[0, 0, 1]).map(|offset| from + offset)
}

/// The NAL units of a byte-stream access unit that come before its first coded slice
/// (where parameter sets live), without scanning the slice itself: a keyframe's slice is
/// nearly all of its bytes, and this runs on the streaming thread.
pub fn byte_stream_nals_before_picture(codec: VideoCodec, data: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut start_code = find_start_code(data, 0);
    while let Some(code) = start_code {
        let nal_start = code + 3;
        if starts_with_picture_header(codec, &data[nal_start..]) {
            break;
        }
        start_code = find_start_code(data, nal_start);
        let end = start_code.map_or(data.len(), |next| {
            start_code_unit_start(data, nal_start, next)
        });
        let nal = &data[nal_start..without_trailing_zeros(data, nal_start, end)];
        // Settles what the header alone could not: a NAL unit shorter than its header.
        match codec.nal_type(nal) {
            Some(nal_type) if codec.is_picture_data(nal_type) => break,
            _ if nal.is_empty() => {}
            _ => found.push(nal),
        }
    }
    found
}

/// Whether the NAL unit starting `rest` is a coded slice, judged from its header alone
/// so the slice is not scanned. A header whose last byte is zero does not count: that
/// zero may be padding or the next start code after a NAL unit shorter than its header,
/// which [`nal_units`] skips (empty) or keeps as untyped (a 1-byte H.265 NAL unit).
fn starts_with_picture_header(codec: VideoCodec, rest: &[u8]) -> bool {
    let header_len = match codec {
        VideoCodec::H264 => 1,
        VideoCodec::H265 => 2,
    };
    match rest.get(..header_len) {
        Some(header) if header[header_len - 1] != 0 => codec
            .nal_type(header)
            .is_some_and(|nal_type| codec.is_picture_data(nal_type)),
        _ => false,
    }
}

/// Where the unit of the start code at `start_code` begins: one byte earlier
/// for a 4-byte start code, but never before `earliest`.
fn start_code_unit_start(data: &[u8], earliest: usize, start_code: usize) -> usize {
    if start_code > earliest && data[start_code - 1] == 0 {
        start_code - 1
    } else {
        start_code
    }
}

fn without_trailing_zeros(data: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && data[end - 1] == 0 {
        end -= 1;
    }
    end
}

/// One piece of an MP4 sample planned by [`plan_sample`]; the sample is the
/// concatenation of its pieces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// These bytes of the access unit, copied unchanged.
    Data(Range<usize>),
    /// A 4-byte big-endian NAL length to write.
    Length4(u32),
}

/// Plans the MP4 sample for one access unit.
///
/// The input is in `framing`; the output's NAL units are length-prefixed:
/// with the input's length size when the input is length-prefixed, and with
/// 4-byte lengths (a [`Piece::Length4`] before each NAL unit) when it is a
/// byte-stream, whose start codes and trailing zeros are dropped. With
/// `strip_parameter_sets`, parameter-set NAL units are left out (for avc1/hvc1
/// sample entries, where they belong only in the sample entry).
///
/// Consecutive kept input ranges merge into one [`Piece::Data`], so an
/// unchanged length-prefixed access unit is a single piece covering all of
/// `data`. Pieces already in `pieces` are never merged with. Appends to
/// `pieces` and returns the sample size in bytes, which is 0 (with nothing
/// appended) when no NAL unit is kept. On error `pieces` is left as it was.
pub fn plan_sample(
    codec: VideoCodec,
    data: &[u8],
    framing: NalFraming,
    strip_parameter_sets: bool,
    pieces: &mut Vec<Piece>,
) -> Result<u32, CodecError> {
    let pieces_before = pieces.len();
    let planned = plan_sample_pieces(codec, data, framing, strip_parameter_sets, pieces);
    if planned.is_err() {
        pieces.truncate(pieces_before);
    }
    planned
}

fn plan_sample_pieces(
    codec: VideoCodec,
    data: &[u8],
    framing: NalFraming,
    strip_parameter_sets: bool,
    pieces: &mut Vec<Piece>,
) -> Result<u32, CodecError> {
    let first_new_piece = pieces.len();
    let mut sample_size = 0u64;
    for unit in nal_units(data, framing) {
        let unit = unit?;
        if strip_parameter_sets && is_parameter_set_nal(codec, &data[unit.nal.clone()]) {
            continue;
        }
        match framing {
            NalFraming::ByteStream => {
                let nal_length = unit.nal.len();
                let length = u32::try_from(nal_length).map_err(|_| CodecError::SampleTooLarge {
                    size: nal_length as u64 + 4,
                })?;
                pieces.push(Piece::Length4(length));
                sample_size += 4 + nal_length as u64;
                push_data(pieces, first_new_piece, unit.nal);
            }
            NalFraming::LengthPrefixed(_) => {
                sample_size += unit.unit.len() as u64;
                push_data(pieces, first_new_piece, unit.unit);
            }
        }
    }
    u32::try_from(sample_size).map_err(|_| CodecError::SampleTooLarge { size: sample_size })
}

fn is_parameter_set_nal(codec: VideoCodec, nal: &[u8]) -> bool {
    codec
        .nal_type(nal)
        .is_some_and(|nal_type| codec.is_parameter_set(nal_type))
}

/// Appends `range`, extending the last piece instead when it is a `Data`
/// piece of this plan ending where `range` starts.
fn push_data(pieces: &mut Vec<Piece>, first_new_piece: usize, range: Range<usize>) {
    if pieces.len() > first_new_piece {
        if let Some(Piece::Data(last)) = pieces.last_mut() {
            if last.end == range.start {
                last.end = range.end;
                return;
            }
        }
    }
    pieces.push(Piece::Data(range));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(data: &[u8], framing: NalFraming) -> Vec<NalUnit> {
        nal_units(data, framing)
            .collect::<Result<_, _>>()
            .expect("valid access unit")
    }

    fn nals(data: &[u8], framing: NalFraming) -> Vec<&[u8]> {
        units(data, framing)
            .into_iter()
            .map(|unit| &data[unit.nal])
            .collect()
    }

    fn first_error(data: &[u8], framing: NalFraming) -> CodecError {
        nal_units(data, framing)
            .find_map(Result::err)
            .expect("an error")
    }

    fn assemble(data: &[u8], pieces: &[Piece]) -> Vec<u8> {
        let mut sample = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Data(range) => sample.extend_from_slice(&data[range.clone()]),
                Piece::Length4(length) => sample.extend_from_slice(&length.to_be_bytes()),
            }
        }
        sample
    }

    #[test]
    fn byte_stream_with_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 0xaa, // 4-byte start code
            0, 0, 1, 0x68, 0xbb, 0xcc, // 3-byte start code
            0, 0, 1, 0x65, 0x01, 0x02, 0x03,
        ];
        assert_eq!(
            units(&data, NalFraming::ByteStream),
            vec![
                NalUnit {
                    unit: 0..6,
                    nal: 4..6
                },
                NalUnit {
                    unit: 6..12,
                    nal: 9..12
                },
                NalUnit {
                    unit: 12..19,
                    nal: 15..19
                },
            ]
        );
    }

    #[test]
    fn trailing_zeros_belong_to_no_nal() {
        let data = [
            0, 0, 0, 0, 1, 0x09, 0xf0, 0, 0, // trailing zeros, then a 4-byte start code
            0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 0, 0, 1, 0x68, 0x01, 0, 0,
        ];
        assert_eq!(
            units(&data, NalFraming::ByteStream),
            vec![
                NalUnit {
                    unit: 1..7,
                    nal: 5..7
                },
                NalUnit {
                    unit: 9..15,
                    nal: 13..15
                },
                NalUnit {
                    unit: 17..23,
                    nal: 21..23
                },
            ]
        );
    }

    #[test]
    fn empty_byte_stream_nals_are_skipped() {
        let data = [0, 0, 1, 0, 0, 1, 0x41, 0, 0, 1, 0, 0, 0, 1];
        assert_eq!(nals(&data, NalFraming::ByteStream), vec![&[0x41][..]]);
        assert!(units(&[], NalFraming::ByteStream).is_empty());
        assert!(units(&[0, 0, 0], NalFraming::ByteStream).is_empty());
    }

    #[test]
    fn bytes_before_the_first_start_code_are_an_error() {
        let error = first_error(&[0, 0, 0, 0x17, 0x65, 0x88], NalFraming::ByteStream);
        assert!(matches!(
            error,
            CodecError::DataBeforeStartCode { bytes: 6 }
        ));
        let error = first_error(&[0x12, 0, 0, 1, 0x65], NalFraming::ByteStream);
        assert!(matches!(
            error,
            CodecError::DataBeforeStartCode { bytes: 1 }
        ));
        assert!(error.to_string().contains("length-prefixed"));
    }

    #[test]
    fn length_prefixed_with_every_length_size() {
        let cases: [(u8, &[u8]); 3] = [
            (1, &[2, 0x67, 0x42, 1, 0x65]),
            (2, &[0, 2, 0x67, 0x42, 0, 1, 0x65]),
            (4, &[0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 1, 0x65]),
        ];
        for (length_size, data) in cases {
            let framing = NalFraming::LengthPrefixed(length_size);
            let size = usize::from(length_size);
            assert_eq!(
                units(data, framing),
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
    fn length_prefixed_errors() {
        let framing = NalFraming::LengthPrefixed(4);
        let error = first_error(&[0, 0, 0, 9, 0x65, 0x88], framing);
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
        let error = first_error(&[0, 0, 0, 1, 0x65, 0, 0], framing);
        assert!(matches!(
            error,
            CodecError::TruncatedNalLengthPrefix {
                offset: 5,
                length_size: 4,
                available: 2
            }
        ));
        let error = first_error(&[0, 0, 0, 0, 0x65], framing);
        assert!(matches!(error, CodecError::ZeroNalLength { offset: 0 }));
        let error = first_error(&[], NalFraming::LengthPrefixed(3));
        assert!(matches!(error, CodecError::UnsupportedNalLengthSize(3)));
        // The iterator stops after an error.
        assert_eq!(nal_units(&[0, 0, 0, 0, 1], framing).count(), 1);
    }

    #[test]
    fn unchanged_length_prefixed_access_unit_is_one_piece() {
        let data = [0, 2, 0x67, 0x42, 0, 1, 0x68, 0, 3, 0x65, 1, 2];
        let mut pieces = vec![Piece::Data(0..0)];
        let size = plan_sample(
            VideoCodec::H264,
            &data,
            NalFraming::LengthPrefixed(2),
            false,
            &mut pieces,
        )
        .unwrap();
        assert_eq!(size, 12);
        // The piece already there belongs to another sample and is not extended.
        assert_eq!(pieces, vec![Piece::Data(0..0), Piece::Data(0..12)]);
    }

    #[test]
    fn stripping_parameter_sets_from_length_prefixed_input() {
        // SEI, SPS, PPS, IDR slice, slice
        let data = [
            0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0, 0, 0, 2, 0x65,
            0x88, 0, 0, 0, 1, 0x01,
        ];
        let mut pieces = Vec::new();
        let size = plan_sample(
            VideoCodec::H264,
            &data,
            NalFraming::LengthPrefixed(4),
            true,
            &mut pieces,
        )
        .unwrap();
        assert_eq!(pieces, vec![Piece::Data(0..6), Piece::Data(17..28)]);
        assert_eq!(size, 17);
        let sample = assemble(&data, &pieces);
        assert_eq!(
            nals(&sample, NalFraming::LengthPrefixed(4)),
            vec![&[0x06, 0x05][..], &[0x65, 0x88], &[0x01]]
        );
    }

    #[test]
    fn byte_stream_becomes_four_byte_lengths() {
        // H.265: VPS, SPS, PPS, IDR slice (type 19)
        let data = [
            0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 1, 0x42, 0x01, 0x01, 0, 0, 1, 0x44, 0x01, 0, 0, 0,
            1, 0x26, 0x01, 0xaf, 0, 0,
        ];
        let mut pieces = Vec::new();
        let size = plan_sample(
            VideoCodec::H265,
            &data,
            NalFraming::ByteStream,
            true,
            &mut pieces,
        )
        .unwrap();
        assert_eq!(pieces, vec![Piece::Length4(3), Piece::Data(22..25)]);
        assert_eq!(size, 7);
        assert_eq!(assemble(&data, &pieces), [0, 0, 0, 3, 0x26, 0x01, 0xaf]);

        pieces.clear();
        let size = plan_sample(
            VideoCodec::H265,
            &data,
            NalFraming::ByteStream,
            false,
            &mut pieces,
        )
        .unwrap();
        assert_eq!(size, 4 * 4 + 3 + 3 + 2 + 3);
        let sample = assemble(&data, &pieces);
        assert_eq!(
            nals(&sample, NalFraming::LengthPrefixed(4)),
            nals(&data, NalFraming::ByteStream)
        );
    }

    #[test]
    fn errors_leave_pieces_untouched() {
        let data = [0, 2, 0x65, 0x88, 0, 9, 0x01];
        let mut pieces = vec![Piece::Length4(7)];
        let result = plan_sample(
            VideoCodec::H264,
            &data,
            NalFraming::LengthPrefixed(2),
            false,
            &mut pieces,
        );
        assert!(matches!(result, Err(CodecError::NalLengthPastEnd { .. })));
        assert_eq!(pieces, vec![Piece::Length4(7)]);
    }

    #[test]
    fn access_unit_of_only_parameter_sets_plans_an_empty_sample() {
        let data = [0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce];
        let mut pieces = Vec::new();
        let size = plan_sample(
            VideoCodec::H264,
            &data,
            NalFraming::ByteStream,
            true,
            &mut pieces,
        )
        .unwrap();
        assert_eq!((size, pieces), (0, vec![]));
    }

    #[test]
    fn nals_before_the_picture_stop_at_the_first_slice() {
        let sps = [0x67, 0x64, 0x00, 0x1f];
        let pps = [0x68, 0xee, 0x3c, 0x80];
        let sei = [0x06, 0x05, 0x01];
        let mut data = vec![0, 0, 0, 1];
        data.extend(sps);
        data.extend([0, 0, 1]);
        data.extend(pps);
        data.extend([0, 0, 0, 0, 1]);
        data.extend(sei);
        data.extend([0, 0, 1, 0x65]);
        data.extend(std::iter::repeat_n(0xaa, 100_000));
        data.extend([0, 0, 1, 0x67, 0x42]);
        let found = byte_stream_nals_before_picture(VideoCodec::H264, &data);
        assert_eq!(found, vec![&sps[..], &pps[..], &sei[..]]);
        // The same NAL units as a full parse, up to the first slice.
        let full: Vec<&[u8]> = nals(&data, NalFraming::ByteStream)
            .into_iter()
            .take_while(|nal| !VideoCodec::H264.is_picture_data(nal[0] & 0x1f))
            .collect();
        assert_eq!(found, full);
        assert!(byte_stream_nals_before_picture(VideoCodec::H264, &[0x65, 1, 2]).is_empty());
        assert!(byte_stream_nals_before_picture(VideoCodec::H265, &[]).is_empty());
    }

    /// Found by fuzzing (fuzz/regressions/nal_units/): the header of a NAL unit shorter
    /// than its header was read from the bytes after it, so the scan disagreed with
    /// `nal_units` and could stop before the parameter sets.
    #[test]
    fn nals_before_the_picture_read_no_header_past_the_nal_unit() {
        let codec = VideoCodec::H265;
        let vps = [0x40, 0x01, 0x0c];
        let idr = [0x26, 0x01, 0xaa];
        // An empty NAL unit (a 3-byte start code right before a 4-byte one): the zeros
        // of the next start code looked like a TRAIL_N slice header.
        let mut after_empty_nal = vec![0, 0, 1, 0, 0, 0, 1];
        after_empty_nal.extend(vps);
        after_empty_nal.extend([0, 0, 1]);
        after_empty_nal.extend(idr);
        assert_eq!(
            byte_stream_nals_before_picture(codec, &after_empty_nal),
            vec![&vps[..]]
        );
        // A 1-byte NAL unit at the end, or before trailing zeros, has no H.265 type, so
        // it is no slice: it is kept as a full parse keeps it.
        let one_byte_at_end = [0, 0, 1, 0x2b];
        let one_byte_before_zero = [0, 0, 1, 0x67, 0];
        assert_eq!(
            byte_stream_nals_before_picture(codec, &one_byte_at_end),
            vec![&[0x2b][..]]
        );
        assert_eq!(
            byte_stream_nals_before_picture(codec, &one_byte_before_zero),
            vec![&[0x67][..]]
        );
        // A 1-byte NAL unit whose byte alone reads as a slice type (1, TRAIL_R) is no
        // slice either, and the parameter sets after it are found.
        let mut after_one_byte_nal = vec![0, 0, 1, 0x02, 0, 0, 1];
        after_one_byte_nal.extend(vps);
        assert_eq!(
            byte_stream_nals_before_picture(codec, &after_one_byte_nal),
            vec![&[0x02][..], &vps[..]]
        );
        for data in [
            &after_empty_nal[..],
            &one_byte_at_end,
            &one_byte_before_zero,
            &after_one_byte_nal,
        ] {
            let full: Vec<&[u8]> = nals(data, NalFraming::ByteStream)
                .into_iter()
                .take_while(|nal| {
                    !codec
                        .nal_type(nal)
                        .is_some_and(|t| codec.is_picture_data(t))
                })
                .collect();
            assert_eq!(byte_stream_nals_before_picture(codec, data), full);
        }
    }
}
