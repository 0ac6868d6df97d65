//! H.264/H.265 helpers for passthrough MP4 muxing, free of GStreamer types:
//! NAL unit iteration in byte-stream and length-prefixed framing, planning of
//! MP4 samples from access units, and the avcC/hvcC decoder configuration
//! records of MP4 sample entries.
//!
//! Nothing here panics on malformed input: every problem is a [`CodecError`].

mod avcc;
mod bits;
mod hvcc;
mod nal;
#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

pub use nal::{
    byte_stream_nals_before_picture, nal_units, plan_sample, NalFraming, NalUnit, Piece,
};

/// The video codecs whose access units this module handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    H264,
    H265,
}

impl VideoCodec {
    /// The NAL unit type from a NAL unit's header, or `None` when `nal` is
    /// shorter than the header (1 byte for H.264, 2 for H.265).
    pub fn nal_type(self, nal: &[u8]) -> Option<u8> {
        match self {
            Self::H264 => nal.first().map(|header| header & 0x1f),
            Self::H265 => match nal {
                [first, _second, ..] => Some((first >> 1) & 0x3f),
                _ => None,
            },
        }
    }

    /// Whether NAL units of this type are parameter sets, which an avc1/hvc1
    /// sample entry carries in its decoder configuration record.
    ///
    /// H.264: SPS (7), PPS (8) and SPS extension (13); H.265: VPS (32), SPS (33) and PPS (34).
    pub fn is_parameter_set(self, nal_type: u8) -> bool {
        match self {
            Self::H264 => matches!(nal_type, 7 | 8 | 13),
            Self::H265 => matches!(nal_type, 32..=34),
        }
    }

    /// Coded slice NAL units: the parameter sets an access unit needs come before them.
    pub fn is_picture_data(self, nal_type: u8) -> bool {
        match self {
            Self::H264 => (1..=5).contains(&nal_type),
            Self::H265 => nal_type <= 31,
        }
    }

    /// The four-character name of the decoder configuration record.
    fn decoder_config_name(self) -> &'static str {
        match self {
            Self::H264 => "avcC",
            Self::H265 => "hvcC",
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::H264 => "H.264",
            Self::H265 => "H.265",
        })
    }
}

/// What went wrong reading an access unit, a parameter set or a decoder
/// configuration record. The messages say what to check.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("NAL length size {0} is not supported; NAL lengths must be 1, 2 or 4 bytes")]
    UnsupportedNalLengthSize(u8),

    #[error(
        "the access unit ends {available} bytes into the {length_size}-byte NAL length \
         prefix at byte {offset}; the data is truncated or its NAL length size is wrong"
    )]
    TruncatedNalLengthPrefix {
        offset: usize,
        length_size: u8,
        available: usize,
    },

    #[error(
        "NAL length {length} at byte {offset} runs past the end of a {access_unit_size}-byte \
         access unit; the data is truncated or its NAL length size is wrong"
    )]
    NalLengthPastEnd {
        length: usize,
        offset: usize,
        access_unit_size: usize,
    },

    #[error(
        "the NAL length at byte {offset} is zero; the data is probably not length-prefixed \
         with this NAL length size"
    )]
    ZeroNalLength { offset: usize },

    #[error(
        "the byte-stream access unit has {bytes} bytes before its first start code that are \
         not all zero; the data is probably length-prefixed (avc/hvc1), not byte-stream"
    )]
    DataBeforeStartCode { bytes: usize },

    #[error(
        "cannot build the {codec} decoder configuration: there is no {parameter_set} among \
         the {given} NAL units given; pass all of the stream's parameter sets"
    )]
    MissingParameterSet {
        codec: VideoCodec,
        parameter_set: &'static str,
        given: usize,
    },

    #[error(
        "the {codec} {parameter_set} ends before its {field} field; the parameter set is \
         truncated or corrupt"
    )]
    TruncatedParameterSet {
        codec: VideoCodec,
        parameter_set: &'static str,
        field: &'static str,
    },

    #[error(
        "the {codec} {parameter_set} has a malformed Exp-Golomb code in its {field} field; \
         the parameter set is corrupt"
    )]
    MalformedExpGolomb {
        codec: VideoCodec,
        parameter_set: &'static str,
        field: &'static str,
    },

    #[error(
        "the {codec} {parameter_set} has {field} {value}, which is out of range or not \
         supported in MP4; the parameter set is corrupt or of an unsupported kind"
    )]
    InvalidParameterSetField {
        codec: VideoCodec,
        parameter_set: &'static str,
        field: &'static str,
        value: u64,
    },

    #[error(
        "a {codec} decoder configuration holds at most {max} distinct {parameter_set} NAL \
         units, but {count} were given; pass only the parameter sets the stream uses"
    )]
    TooManyParameterSets {
        codec: VideoCodec,
        parameter_set: &'static str,
        count: usize,
        max: usize,
    },

    #[error(
        "the {codec} {parameter_set} is {size} bytes, more than the 65535 a decoder \
         configuration record can hold; the parameter set is corrupt"
    )]
    ParameterSetTooLarge {
        codec: VideoCodec,
        parameter_set: &'static str,
        size: usize,
    },

    #[error(
        "the {size}-byte {record} record ends inside its {field} field; the codec_data is \
         truncated or not an {record} record"
    )]
    TruncatedDecoderConfig {
        record: &'static str,
        field: &'static str,
        size: usize,
    },

    #[error(
        "the {record} record has configurationVersion {version}, which is not supported; \
         the codec_data is not an {record} record"
    )]
    UnsupportedDecoderConfigVersion { record: &'static str, version: u8 },

    #[error(
        "the {record} record announces {size}-byte NAL lengths, but only 1, 2 and 4 are \
         allowed; the codec_data is corrupt"
    )]
    InvalidDecoderConfigLengthSize { record: &'static str, size: u8 },

    #[error(
        "the MP4 sample would be {size} bytes, more than the 4 GiB an MP4 sample size can \
         express; the access unit is corrupt or far too large"
    )]
    SampleTooLarge { size: u64 },
}

/// The NAL length size (1, 2 or 4) announced by an avcC (H.264) or hvcC
/// (H.265) record; errors on a malformed record.
///
/// The record's parameter-set arrays are walked to check they fit; bytes after
/// them (such as the optional avcC high-profile extension) are not checked.
pub fn nal_length_size(codec: VideoCodec, codec_data: &[u8]) -> Result<u8, CodecError> {
    Ok(parse_decoder_config(codec, codec_data)?.nal_length_size)
}

/// The byte ranges of the parameter-set NAL units stored in an avcC (its SPS
/// and PPS arrays) or hvcC (all of its arrays) record, in record order.
pub fn parameter_sets_in_decoder_config(
    codec: VideoCodec,
    codec_data: &[u8],
) -> Result<Vec<Range<usize>>, CodecError> {
    Ok(parse_decoder_config(codec, codec_data)?.parameter_sets)
}

/// Builds the decoder configuration record (avcC for H.264 from SPS/PPS/SPS
/// extension NALs; hvcC for H.265 from VPS/SPS/PPS NALs) with 4-byte NAL lengths.
///
/// `nals` are NAL units without start codes, in any order; non-parameter-set
/// NALs are ignored and identical repeats are kept once. A missing SPS or PPS
/// (and for H.265 VPS) is an error. The profile, level and format fields come
/// from the first SPS. For H.264, SPS extensions are stored only for the
/// profiles whose avcC has the extension fields (100, 110, 122, 144).
pub fn decoder_config_from_parameter_sets(
    codec: VideoCodec,
    nals: &[&[u8]],
) -> Result<Vec<u8>, CodecError> {
    match codec {
        VideoCodec::H264 => avcc::build(nals),
        VideoCodec::H265 => hvcc::build(nals),
    }
}

/// What [`nal_length_size`] and [`parameter_sets_in_decoder_config`] read from a record.
struct DecoderConfigSummary {
    nal_length_size: u8,
    parameter_sets: Vec<Range<usize>>,
}

fn parse_decoder_config(
    codec: VideoCodec,
    codec_data: &[u8],
) -> Result<DecoderConfigSummary, CodecError> {
    match codec {
        VideoCodec::H264 => avcc::parse(codec_data),
        VideoCodec::H265 => hvcc::parse(codec_data),
    }
}

/// The distinct NAL units of `nal_type` among `nals`, in input order.
fn parameter_sets_of_type<'a>(codec: VideoCodec, nals: &[&'a [u8]], nal_type: u8) -> Vec<&'a [u8]> {
    let mut found: Vec<&[u8]> = Vec::new();
    for &nal in nals {
        if codec.nal_type(nal) == Some(nal_type) && !found.contains(&nal) {
            found.push(nal);
        }
    }
    found
}

/// The first of `parameter_sets`, or the error saying it is missing.
fn first_required<'a>(
    codec: VideoCodec,
    parameter_sets: &[&'a [u8]],
    name: &'static str,
    nals_given: usize,
) -> Result<&'a [u8], CodecError> {
    parameter_sets
        .first()
        .copied()
        .ok_or(CodecError::MissingParameterSet {
            codec,
            parameter_set: name,
            given: nals_given,
        })
}

/// Checks that a count of parameter sets fits its field in the record.
fn check_count(
    codec: VideoCodec,
    parameter_sets: &[&[u8]],
    name: &'static str,
    max: usize,
) -> Result<(), CodecError> {
    if parameter_sets.len() > max {
        return Err(CodecError::TooManyParameterSets {
            codec,
            parameter_set: name,
            count: parameter_sets.len(),
            max,
        });
    }
    Ok(())
}

/// Appends each NAL unit after its 16-bit length, as both records store them.
fn write_length_prefixed_nals(
    record: &mut Vec<u8>,
    codec: VideoCodec,
    name: &'static str,
    nals: &[&[u8]],
) -> Result<(), CodecError> {
    for nal in nals {
        let length = u16::try_from(nal.len()).map_err(|_| CodecError::ParameterSetTooLarge {
            codec,
            parameter_set: name,
            size: nal.len(),
        })?;
        record.extend_from_slice(&length.to_be_bytes());
        record.extend_from_slice(nal);
    }
    Ok(())
}

/// Reads the parts of a decoder configuration record, naming the field that
/// is cut short in its errors.
struct RecordReader<'a> {
    record: &'a [u8],
    position: usize,
    name: &'static str,
}

impl<'a> RecordReader<'a> {
    fn new(record: &'a [u8], codec: VideoCodec) -> Self {
        Self {
            record,
            position: 0,
            name: codec.decoder_config_name(),
        }
    }

    fn truncated(&self, field: &'static str) -> CodecError {
        CodecError::TruncatedDecoderConfig {
            record: self.name,
            field,
            size: self.record.len(),
        }
    }

    fn bytes(&mut self, count: usize, field: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self
            .position
            .checked_add(count)
            .filter(|&end| end <= self.record.len())
            .ok_or_else(|| self.truncated(field))?;
        let bytes = &self.record[self.position..end];
        self.position = end;
        Ok(bytes)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, CodecError> {
        Ok(self.bytes(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, CodecError> {
        let bytes = self.bytes(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// Reads `count` NAL units, each after its 16-bit length, returning their ranges.
    fn length_prefixed_nals(
        &mut self,
        count: usize,
        field: &'static str,
        ranges: &mut Vec<Range<usize>>,
    ) -> Result<(), CodecError> {
        for _ in 0..count {
            let length = usize::from(self.u16(field)?);
            let start = self.position;
            self.bytes(length, field)?;
            ranges.push(start..start + length);
        }
        Ok(())
    }

    /// Reads the byte ending in the 2-bit lengthSizeMinusOne field, returning the NAL length size.
    fn nal_length_size(&mut self) -> Result<u8, CodecError> {
        match self.byte("lengthSizeMinusOne")? & 0x03 {
            0 => Ok(1),
            1 => Ok(2),
            3 => Ok(4),
            _ => Err(CodecError::InvalidDecoderConfigLengthSize {
                record: self.name,
                size: 3,
            }),
        }
    }
}
