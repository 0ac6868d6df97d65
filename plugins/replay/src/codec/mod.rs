//! H.264/H.265 helpers for passthrough MP4 muxing, free of GStreamer types: the NAL units of
//! length-prefixed access units (avc, avc3, hvc1, hev1, what h264parse and h265parse
//! negotiate), the byte ranges of an MP4 sample, and the NAL length size of an avcC/hvcC
//! record.
//!
//! Nothing here panics on malformed input: every problem is a [`CodecError`].

mod decoder_config;
mod nal;
#[cfg(test)]
mod properties;

use std::fmt;

pub use decoder_config::nal_length_size;
pub use nal::{nal_units, sample_ranges, NalUnit};

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

    /// Whether the NAL unit `nal` (header first) is a parameter set.
    pub fn is_parameter_set_nal(self, nal: &[u8]) -> bool {
        self.nal_type(nal)
            .is_some_and(|nal_type| self.is_parameter_set(nal_type))
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

/// What went wrong reading an access unit or a decoder configuration record. The messages
/// say what to check.
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
