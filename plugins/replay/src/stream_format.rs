//! What the caps of an encoded video stream say, and how it maps to an MP4 sample entry.
//!
//! Sample entry choice (ISO/IEC 14496-15): `avc`/`hvc1` input keeps its parameter sets in
//! the sample entry only (`avc1`/`hvc1`, the form QuickTime plays), so in-band copies are
//! left out of the samples. `avc3`/`hev1` input may change parameter sets in-band and keeps
//! them (`avc3`/`hev1`). Byte-stream input has no codec_data: the parameter sets seen at
//! keyframes are kept with the format (a change starts a new format, so one clip never
//! spans two sets), and the clip is written as `avc1`/`hvc1` with a record built from them.

use crate::codec::{self, NalFraming, VideoCodec};
use crate::mp4::VideoSampleEntry;

/// How access units are framed and where parameter sets live, from caps `stream-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packaging {
    /// `avc` / `hvc1`: length-prefixed, parameter sets in codec_data.
    SampleEntryParameterSets,
    /// `avc3` / `hev1`: length-prefixed, parameter sets may also be in-band.
    InBandParameterSets,
    /// Annex B start codes, parameter sets in-band.
    ByteStream,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFormat {
    pub codec: VideoCodec,
    pub packaging: Packaging,
    pub codec_data: Option<Vec<u8>>,
    pub width: u16,
    pub height: u16,
    pub framerate: Option<(i32, i32)>,
    pub pixel_aspect_ratio: Option<(i32, i32)>,
    /// Byte-stream only: the parameter-set NAL units in force (without start codes).
    pub parameter_sets: Vec<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("caps {0} are not parsed H.264 or H.265")]
    NotH26x(String),
    #[error("caps lack {0}; put h264parse or h265parse before this element")]
    Missing(&'static str),
    #[error("stream-format {0} is not supported (avc, avc3, hvc1, hev1 or byte-stream)")]
    UnsupportedStreamFormat(String),
    #[error(
        "alignment {0} is not supported: each buffer must be one access unit (alignment=au); \
         h264parse or h265parse converts it"
    )]
    UnsupportedAlignment(String),
    #[error("codec_data is malformed: {0}")]
    CodecData(codec::CodecError),
    #[error("no parameter sets before the first keyframe of a byte-stream: {0}")]
    ParameterSets(codec::CodecError),
    #[error("width or height {0} does not fit an MP4 sample entry")]
    Dimensions(i32),
}

impl StreamFormat {
    pub fn from_caps(caps: &gst::CapsRef) -> Result<Self, FormatError> {
        let structure = caps
            .structure(0)
            .ok_or_else(|| FormatError::NotH26x(caps.to_string()))?;
        let codec = match structure.name().as_str() {
            "video/x-h264" => VideoCodec::H264,
            "video/x-h265" => VideoCodec::H265,
            _ => return Err(FormatError::NotH26x(caps.to_string())),
        };
        let stream_format = structure
            .get::<&str>("stream-format")
            .map_err(|_| FormatError::Missing("stream-format"))?;
        let packaging = match (codec, stream_format) {
            (VideoCodec::H264, "avc") | (VideoCodec::H265, "hvc1") => {
                Packaging::SampleEntryParameterSets
            }
            (VideoCodec::H264, "avc3") | (VideoCodec::H265, "hev1") => {
                Packaging::InBandParameterSets
            }
            (_, "byte-stream") => Packaging::ByteStream,
            (_, other) => return Err(FormatError::UnsupportedStreamFormat(other.to_owned())),
        };
        match structure.get::<&str>("alignment") {
            Ok("au") => {}
            Ok(other) => return Err(FormatError::UnsupportedAlignment(other.to_owned())),
            Err(_) => return Err(FormatError::Missing("alignment")),
        }
        let codec_data = structure
            .get::<gst::Buffer>("codec_data")
            .ok()
            .map(|buffer| {
                buffer
                    .map_readable()
                    .map(|map| map.to_vec())
                    .unwrap_or_default()
            });
        if packaging != Packaging::ByteStream {
            let data = codec_data
                .as_deref()
                .ok_or(FormatError::Missing("codec_data"))?;
            codec::nal_length_size(codec, data).map_err(FormatError::CodecData)?;
        }
        let dimension = |field: &'static str| -> Result<u16, FormatError> {
            let value = structure
                .get::<i32>(field)
                .map_err(|_| FormatError::Missing(field))?;
            u16::try_from(value).map_err(|_| FormatError::Dimensions(value))
        };
        let fraction = |field: &str| {
            structure
                .get::<gst::Fraction>(field)
                .ok()
                .map(|f| (f.numer(), f.denom()))
        };
        Ok(StreamFormat {
            codec,
            packaging,
            codec_data,
            width: dimension("width")?,
            height: dimension("height")?,
            framerate: fraction("framerate").filter(|(n, _)| *n > 0),
            pixel_aspect_ratio: fraction("pixel-aspect-ratio"),
            parameter_sets: Vec::new(),
        })
    }

    pub fn codec_name(&self) -> &'static str {
        match self.codec {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "h265",
        }
    }

    /// Whether two formats come from equivalent caps (in-band parameter sets aside).
    pub fn same_caps(&self, other: &StreamFormat) -> bool {
        let caps_part = |format: &StreamFormat| StreamFormat {
            parameter_sets: Vec::new(),
            ..format.clone()
        };
        caps_part(self) == caps_part(other)
    }

    /// For byte-stream input: the format with the parameter sets a keyframe carries
    /// merged in, or None when the keyframe brings nothing new. Parameter sets come
    /// before the first slice of an access unit, so the slice itself is never scanned.
    pub fn with_parameter_sets_of(&self, keyframe: &[u8]) -> Option<StreamFormat> {
        if self.packaging != Packaging::ByteStream {
            return None;
        }
        let found: Vec<&[u8]> = codec::byte_stream_nals_before_picture(self.codec, keyframe)
            .into_iter()
            .filter(|nal| {
                self.codec
                    .nal_type(nal)
                    .is_some_and(|t| self.codec.is_parameter_set(t))
            })
            .collect();
        let type_of = |nal: &[u8]| self.codec.nal_type(nal);
        let mut merged: Vec<Vec<u8>> = self
            .parameter_sets
            .iter()
            .filter(|kept| !found.iter().any(|new| type_of(new) == type_of(kept)))
            .cloned()
            .collect();
        merged.extend(found.iter().map(|nal| nal.to_vec()));
        merged.sort();
        let mut current = self.parameter_sets.clone();
        current.sort();
        (merged != current).then(|| StreamFormat {
            parameter_sets: merged,
            ..self.clone()
        })
    }

    /// How the buffers frame their NAL units.
    pub fn framing(&self) -> NalFraming {
        match (&self.packaging, &self.codec_data) {
            (Packaging::ByteStream, _) | (_, None) => NalFraming::ByteStream,
            (_, Some(data)) => {
                NalFraming::LengthPrefixed(codec::nal_length_size(self.codec, data).unwrap_or(4))
            }
        }
    }

    /// Whether in-band parameter sets are left out of the samples.
    pub fn strips_parameter_sets(&self) -> bool {
        self.packaging != Packaging::InBandParameterSets
    }

    /// The MP4 sample entry. For byte-stream input the parameter sets are those kept with
    /// the format, else those `first_keyframe` carries.
    pub fn sample_entry(&self, first_keyframe: &[u8]) -> Result<VideoSampleEntry, FormatError> {
        let config = match (&self.packaging, &self.codec_data) {
            (Packaging::ByteStream, _) | (_, None) => {
                let with_keyframe_sets;
                let format = match self.with_parameter_sets_of(first_keyframe) {
                    Some(merged) => {
                        with_keyframe_sets = merged;
                        &with_keyframe_sets
                    }
                    None => self,
                };
                let nals: Vec<&[u8]> = format.parameter_sets.iter().map(Vec::as_slice).collect();
                codec::decoder_config_from_parameter_sets(self.codec, &nals)
                    .map_err(FormatError::ParameterSets)?
            }
            (_, Some(data)) => data.clone(),
        };
        let fourcc = match (self.codec, self.packaging) {
            (VideoCodec::H264, Packaging::InBandParameterSets) => *b"avc3",
            (VideoCodec::H264, _) => *b"avc1",
            (VideoCodec::H265, Packaging::InBandParameterSets) => *b"hev1",
            (VideoCodec::H265, _) => *b"hvc1",
        };
        let config_fourcc = match self.codec {
            VideoCodec::H264 => *b"avcC",
            VideoCodec::H265 => *b"hvcC",
        };
        Ok(VideoSampleEntry {
            fourcc,
            width: self.width,
            height: self.height,
            config_fourcc,
            config,
            pixel_aspect_ratio: self
                .pixel_aspect_ratio
                .filter(|(n, d)| *n > 0 && *d > 0 && n != d)
                .map(|(n, d)| (n as u32, d as u32)),
        })
    }
}

/// Any H.264 or H.265, parsed or not: what the `video` pad lets through to its caps event,
/// where caps it cannot take are refused with what to do about them.
pub fn any_video_caps() -> gst::Caps {
    gst::Caps::builder_full()
        .structure(gst::Structure::new_empty("video/x-h264"))
        .structure(gst::Structure::new_empty("video/x-h265"))
        .build()
}

/// Template caps of the `video` sink pads.
pub fn video_sink_caps() -> gst::Caps {
    gst::Caps::builder_full()
        .structure(
            gst::Structure::builder("video/x-h264")
                .field(
                    "stream-format",
                    gst::List::new(["avc", "avc3", "byte-stream"]),
                )
                .field("alignment", "au")
                .build(),
        )
        .structure(
            gst::Structure::builder("video/x-h265")
                .field(
                    "stream-format",
                    gst::List::new(["hvc1", "hev1", "byte-stream"]),
                )
                .field("alignment", "au")
                .build(),
        )
        .build()
}
