//! What the caps of an encoded audio stream say: AAC (raw, with an AudioSpecificConfig) or
//! Opus (with its identification header), and how long its decoder needs to settle.

use crate::mp4::{AudioCodecConfig, AudioSampleEntry, OpusConfig, OpusHeadError};
use crate::ring::AudioTrackFormat;
use crate::time::Nanos;

/// RFC 7845 §4.6: decode at least 80 ms before a seek target for the output to converge.
const OPUS_PREROLL: Nanos = Nanos::from_millis(80);
/// Samples per AAC frame (AAC-LC; the 960-sample variant is not produced by GStreamer's
/// encoders). The first frame after a cut lacks its MDCT overlap: one frame of pre-roll.
const AAC_FRAME_SAMPLES: i64 = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// `audio/mpeg, mpegversion=4, stream-format=raw`: codec_data is the AudioSpecificConfig.
    Aac { audio_specific_config: Vec<u8> },
    /// `audio/x-opus`: the OpusHead identification header (from `streamheader`, or built
    /// from the caps fields the way GStreamer's `opusenc` describes the stream).
    Opus { opus_head: Vec<u8> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFormat {
    pub codec: AudioCodec,
    pub rate: u32,
    pub channels: u16,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AudioFormatError {
    #[error("caps {0} are not AAC or Opus")]
    NotSupported(String),
    #[error("AAC must be stream-format=raw with codec_data (put aacparse before this pad)")]
    NotRawAac,
    #[error("caps lack {0}")]
    Missing(&'static str),
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("Opus channel-mapping-family {0} is not supported (0 or 1)")]
    OpusMappingFamily(i32),
}

impl AudioTrackFormat for AudioFormat {
    fn decoder_preroll(&self) -> Nanos {
        match self.codec {
            AudioCodec::Aac { .. } => self.samples_to_nanos(AAC_FRAME_SAMPLES),
            AudioCodec::Opus { .. } => OPUS_PREROLL,
        }
    }
}

impl AudioFormat {
    pub fn from_caps(caps: &gst::CapsRef) -> Result<Self, AudioFormatError> {
        let structure = caps
            .structure(0)
            .ok_or_else(|| AudioFormatError::NotSupported(caps.to_string()))?;
        let positive = |field: &'static str| -> Result<u32, AudioFormatError> {
            let value = structure
                .get::<i32>(field)
                .map_err(|_| AudioFormatError::Missing(field))?;
            u32::try_from(value)
                .ok()
                .filter(|&v| v > 0)
                .ok_or(AudioFormatError::OutOfRange(field))
        };
        let rate = positive("rate")?;
        let channels = u16::try_from(positive("channels")?)
            .map_err(|_| AudioFormatError::OutOfRange("channels"))?;
        let codec = match structure.name().as_str() {
            "audio/mpeg" if structure.get::<i32>("mpegversion") == Ok(4) => {
                if structure.get::<&str>("stream-format") != Ok("raw") {
                    return Err(AudioFormatError::NotRawAac);
                }
                let config =
                    buffer_bytes(structure, "codec_data").ok_or(AudioFormatError::NotRawAac)?;
                AudioCodec::Aac {
                    audio_specific_config: config,
                }
            }
            "audio/x-opus" => AudioCodec::Opus {
                opus_head: opus_head(structure, rate, channels)?,
            },
            _ => return Err(AudioFormatError::NotSupported(caps.to_string())),
        };
        Ok(AudioFormat {
            codec,
            rate,
            channels,
        })
    }

    /// How long `samples` last at the stream's rate (Opus timestamps count at 48 kHz).
    pub fn samples_to_nanos(&self, samples: i64) -> Nanos {
        Nanos::from_secs(samples) / i64::from(self.timescale())
    }

    /// The MP4 track timescale: the sample rate (always 48 kHz for Opus, RFC 7845).
    pub fn timescale(&self) -> u32 {
        match self.codec {
            AudioCodec::Aac { .. } => self.rate,
            AudioCodec::Opus { .. } => 48_000,
        }
    }

    /// A packet's duration when its buffer does not say: one AAC frame; Opus packets vary
    /// (2.5-120 ms), so None.
    pub fn nominal_packet_duration(&self) -> Option<Nanos> {
        match self.codec {
            AudioCodec::Aac { .. } => Some(self.samples_to_nanos(AAC_FRAME_SAMPLES)),
            AudioCodec::Opus { .. } => None,
        }
    }

    /// The MP4 sample entry. Opus gets a pre-skip of 0: a clip cut from a running stream
    /// has no encoder delay to skip, and its edit list already trims the decoder pre-roll.
    pub fn sample_entry(&self) -> Result<AudioSampleEntry, OpusHeadError> {
        let codec = match &self.codec {
            AudioCodec::Aac {
                audio_specific_config,
            } => AudioCodecConfig::Aac {
                audio_specific_config: audio_specific_config.clone(),
                // Unknown: readers take the rate from the stream, as qtmux leaves it too.
                avg_bitrate: 0,
                max_bitrate: 0,
                buffer_size: 0,
            },
            AudioCodec::Opus { opus_head } => AudioCodecConfig::Opus(OpusConfig {
                pre_skip: 0,
                ..OpusConfig::from_opus_head(opus_head)?
            }),
        };
        Ok(AudioSampleEntry {
            channels: self.channels,
            sample_rate: self.rate,
            codec,
        })
    }

    pub fn codec_name(&self) -> &'static str {
        match self.codec {
            AudioCodec::Aac { .. } => "aac",
            AudioCodec::Opus { .. } => "opus",
        }
    }
}

fn buffer_bytes(structure: &gst::StructureRef, field: &str) -> Option<Vec<u8>> {
    let buffer = structure.get::<gst::Buffer>(field).ok()?;
    let map = buffer.map_readable().ok()?;
    Some(map.to_vec())
}

/// The OpusHead packet: the first `streamheader` buffer when the caps carry it, else one
/// built from the caps fields (RFC 7845 §5.1; pre-skip 0, which a cut mid-stream wants).
fn opus_head(
    structure: &gst::StructureRef,
    rate: u32,
    channels: u16,
) -> Result<Vec<u8>, AudioFormatError> {
    if let Ok(headers) = structure.get::<gst::ArrayRef>("streamheader") {
        let first = headers
            .first()
            .and_then(|value| value.get::<gst::Buffer>().ok())
            .and_then(|buffer| buffer.map_readable().ok().map(|map| map.to_vec()));
        if let Some(head) = first.filter(|head| head.starts_with(b"OpusHead")) {
            return Ok(head);
        }
    }
    let family = structure.get::<i32>("channel-mapping-family").unwrap_or(0);
    let channels = u8::try_from(channels).map_err(|_| AudioFormatError::OutOfRange("channels"))?;
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(channels);
    head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&rate.to_le_bytes()); // input sample rate
    head.extend_from_slice(&0i16.to_le_bytes()); // output gain
    match family {
        0 => head.push(0),
        1 => {
            let count = |field: &'static str| {
                structure
                    .get::<i32>(field)
                    .ok()
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(AudioFormatError::Missing(field))
            };
            head.push(1);
            head.push(count("stream-count")?);
            head.push(count("coupled-count")?);
            let mapping = structure
                .get::<gst::ArrayRef>("channel-mapping")
                .map_err(|_| AudioFormatError::Missing("channel-mapping"))?;
            for value in mapping.iter() {
                let index = value
                    .get::<i32>()
                    .ok()
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(AudioFormatError::OutOfRange("channel-mapping"))?;
                head.push(index);
            }
        }
        other => return Err(AudioFormatError::OpusMappingFamily(other)),
    }
    Ok(head)
}

/// Template caps of the `audio_%u` sink pads.
pub fn audio_sink_caps() -> gst::Caps {
    gst::Caps::builder_full()
        .structure(
            gst::Structure::builder("audio/mpeg")
                .field("mpegversion", 4i32)
                .field("stream-format", "raw")
                .build(),
        )
        .structure(
            gst::Structure::builder("audio/x-opus")
                .field("channel-mapping-family", gst::IntRange::new(0i32, 1))
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_aac_caps_give_the_audio_specific_config() {
        gst::init().unwrap();
        let caps: gst::Caps =
            "audio/mpeg, mpegversion=4, stream-format=raw, rate=48000, channels=2, codec_data=(buffer)1190"
                .parse()
                .unwrap();
        let format = AudioFormat::from_caps(&caps).unwrap();
        assert_eq!(
            format.codec,
            AudioCodec::Aac {
                audio_specific_config: vec![0x11, 0x90]
            }
        );
        assert_eq!(format.decoder_preroll(), Nanos::from_secs(1024) / 48_000);
        assert_eq!(format.timescale(), 48_000);
    }

    #[test]
    fn adts_aac_is_refused_with_what_to_do() {
        gst::init().unwrap();
        let caps: gst::Caps =
            "audio/mpeg, mpegversion=4, stream-format=adts, rate=48000, channels=2"
                .parse()
                .unwrap();
        let error = AudioFormat::from_caps(&caps).unwrap_err();
        assert_eq!(error, AudioFormatError::NotRawAac);
        assert!(error.to_string().contains("aacparse"));
    }

    #[test]
    fn opus_caps_without_streamheader_build_an_opus_head() {
        gst::init().unwrap();
        let caps: gst::Caps = "audio/x-opus, rate=48000, channels=2, channel-mapping-family=0"
            .parse()
            .unwrap();
        let format = AudioFormat::from_caps(&caps).unwrap();
        let AudioCodec::Opus { opus_head } = &format.codec else {
            panic!("not opus")
        };
        assert_eq!(
            opus_head.as_slice(),
            b"OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00"
        );
        assert_eq!(format.decoder_preroll(), OPUS_PREROLL);
    }
}
