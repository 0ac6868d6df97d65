//! What the caps of an encoded video stream say, and how it maps to an MP4 sample entry.
//!
//! Input formats are those of GStreamer's own MP4 muxers: length-prefixed access units with
//! an avcC/hvcC record in the caps (`avc`, `avc3`, `hvc1`, `hev1`), which h264parse and
//! h265parse convert any H.264/H.265 to. Byte-stream input is refused with that advice.
//!
//! Sample entry choice (ISO/IEC 14496-15): `avc`/`hvc1` input keeps its parameter sets in
//! the sample entry only (`avc1`/`hvc1`, the form QuickTime plays), so in-band copies are
//! left out of the samples. `avc3`/`hev1` input may change parameter sets in-band and keeps
//! them (`avc3`/`hev1`).

use crate::codec::{self, VideoCodec};
use crate::mp4::VideoSampleEntry;

/// Where parameter sets live, from caps `stream-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packaging {
    /// `avc` / `hvc1`: parameter sets in codec_data.
    SampleEntryParameterSets,
    /// `avc3` / `hev1`: parameter sets may also be in-band.
    InBandParameterSets,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamFormat {
    pub codec: VideoCodec,
    pub packaging: Packaging,
    /// The avcC/hvcC record from the caps, checked to be well formed.
    pub codec_data: Vec<u8>,
    /// Bytes of each NAL unit's length prefix, as the record says.
    pub nal_length_size: u8,
    pub width: u16,
    pub height: u16,
    pub framerate: Option<(i32, i32)>,
    pub pixel_aspect_ratio: Option<(i32, i32)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("caps {0} are not parsed H.264 or H.265")]
    NotH26x(String),
    #[error("caps lack {0}; put h264parse or h265parse before this element")]
    Missing(&'static str),
    #[error(
        "stream-format byte-stream is not supported: each buffer must carry length-prefixed \
         NAL units with the avcC/hvcC record in the caps (avc, avc3, hvc1, hev1); put \
         h264parse or h265parse before this element, which converts"
    )]
    ByteStream,
    #[error("stream-format {0} is not supported (avc, avc3, hvc1 or hev1)")]
    UnsupportedStreamFormat(String),
    #[error(
        "alignment {0} is not supported: each buffer must be one access unit (alignment=au); \
         h264parse or h265parse converts it"
    )]
    UnsupportedAlignment(String),
    #[error("codec_data is malformed: {0}")]
    CodecData(codec::CodecError),
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
            (_, "byte-stream") => return Err(FormatError::ByteStream),
            (_, other) => return Err(FormatError::UnsupportedStreamFormat(other.to_owned())),
        };
        match structure.get::<&str>("alignment") {
            Ok("au") => {}
            Ok(other) => return Err(FormatError::UnsupportedAlignment(other.to_owned())),
            Err(_) => return Err(FormatError::Missing("alignment")),
        }
        let codec_data = structure
            .get::<gst::Buffer>("codec_data")
            .map_err(|_| FormatError::Missing("codec_data"))?
            .map_readable()
            .map(|map| map.to_vec())
            .unwrap_or_default();
        let nal_length_size =
            codec::nal_length_size(codec, &codec_data).map_err(FormatError::CodecData)?;
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
            nal_length_size,
            width: dimension("width")?,
            height: dimension("height")?,
            framerate: fraction("framerate").filter(|(n, _)| *n > 0),
            pixel_aspect_ratio: fraction("pixel-aspect-ratio"),
        })
    }

    pub fn codec_name(&self) -> &'static str {
        match self.codec {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "h265",
        }
    }

    /// Whether in-band parameter sets are left out of the samples.
    pub fn strips_parameter_sets(&self) -> bool {
        self.packaging == Packaging::SampleEntryParameterSets
    }

    /// The MP4 sample entry.
    pub fn sample_entry(&self) -> VideoSampleEntry {
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
        VideoSampleEntry {
            fourcc,
            width: self.width,
            height: self.height,
            config_fourcc,
            config: self.codec_data.clone(),
            pixel_aspect_ratio: self
                .pixel_aspect_ratio
                .filter(|(n, d)| *n > 0 && *d > 0 && n != d)
                .map(|(n, d)| (n as u32, d as u32)),
        }
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
                .field("stream-format", gst::List::new(["avc", "avc3"]))
                .field("alignment", "au")
                .build(),
        )
        .structure(
            gst::Structure::builder("video/x-h265")
                .field("stream-format", gst::List::new(["hvc1", "hev1"]))
                .field("alignment", "au")
                .build(),
        )
        .build()
}
