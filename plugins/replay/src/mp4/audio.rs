//! Audio sample entries: AAC as `mp4a` with an `esds` (ISO/IEC 14496-14) and
//! Opus as `Opus` with a `dOps` (<https://opus-codec.org/docs/opus_in_isobmff.html>),
//! laid out as FFmpeg's `movenc` writes them; and the Ogg `OpusHead` header
//! (RFC 7845 §5.1) read into the `dOps` fields.

use super::boxes::BoxWriter;

/// An audio sample entry (`mp4a` or `Opus`) with its decoder configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioSampleEntry {
    /// Number of output channels (`channelcount`). For Opus it must equal
    /// [`OpusConfig::output_channels`].
    pub channels: u16,
    /// Output sample rate in Hz. Written for AAC (0 above 65535, as FFmpeg
    /// does: the 16.16 field cannot hold it, and decoders take the rate from
    /// the AudioSpecificConfig). Not written for Opus, whose entry always
    /// declares 48000 Hz as its specification requires.
    pub sample_rate: u32,
    /// The codec and its decoder configuration.
    pub codec: AudioCodecConfig,
}

/// The audio codecs an [`AudioSampleEntry`] can describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioCodecConfig {
    /// MPEG-4 AAC: `mp4a` with an `esds` whose DecoderSpecificInfo is the
    /// AudioSpecificConfig (GStreamer's `codec_data`).
    Aac {
        /// The AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), written verbatim.
        audio_specific_config: Vec<u8>,
        /// Average bitrate in bits per second (0: unknown or variable).
        avg_bitrate: u32,
        /// Peak bitrate in bits per second over any one-second window (0: unknown).
        max_bitrate: u32,
        /// Decoder buffer size in bytes (`bufferSizeDB`, 24 bits; 0: unknown).
        buffer_size: u32,
    },
    /// Opus: `Opus` sample entry with `dOps`.
    Opus(OpusConfig),
}

/// The Opus decoder configuration of a `dOps` box: the fields of the Ogg
/// `OpusHead` header (RFC 7845 §5.1), stored big-endian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusConfig {
    /// Number of output channels.
    pub output_channels: u8,
    /// Samples at 48 kHz the decoder discards at the start (the encoder's priming).
    pub pre_skip: u16,
    /// Sample rate of the encoder's input in Hz (informative; 0: unknown).
    pub input_sample_rate: u32,
    /// Gain to apply to the decoded output, in Q7.8 dB.
    pub output_gain: i16,
    /// How decoded streams map to output channels (RFC 7845 §5.1.1). Family 0
    /// is mono or stereo in one stream, and its `dOps` carries no mapping table.
    pub channel_mapping_family: u8,
    /// Number of Opus streams in each packet. Written only for a family other than 0.
    pub stream_count: u8,
    /// How many of the streams are coupled (stereo). Written only for a family other than 0.
    pub coupled_count: u8,
    /// For each output channel, the decoded channel it plays (255: silence).
    /// One entry per output channel for a family other than 0; empty for family 0.
    pub channel_mapping: Vec<u8>,
}

/// Why an [`AudioSampleEntry`] cannot be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AudioEntryError {
    /// AAC in MP4 cannot be decoded without its AudioSpecificConfig.
    #[error("the AAC AudioSpecificConfig is empty; pass the caps' codec_data")]
    EmptyAudioSpecificConfig,
    /// The AudioSpecificConfig does not fit the 28-bit descriptor lengths of `esds`.
    #[error("the {len}-byte AAC AudioSpecificConfig is too large for an esds descriptor")]
    AudioSpecificConfigTooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// `bufferSizeDB` is a 24-bit field.
    #[error("the AAC decoder buffer size {buffer_size} does not fit 24 bits")]
    AacBufferSizeTooLarge {
        /// The buffer size given.
        buffer_size: u32,
    },
    /// The sample entry and `dOps` must agree on the channel count.
    #[error("the sample entry has {entry} channels but the Opus configuration {opus}")]
    OpusChannelCountMismatch {
        /// [`AudioSampleEntry::channels`].
        entry: u16,
        /// [`OpusConfig::output_channels`].
        opus: u8,
    },
    /// The channel mapping table has the wrong length for its family.
    #[error(
        "Opus channel mapping family {family} needs {expected} channel mapping entries, \
         {given} were given"
    )]
    OpusChannelMappingLength {
        /// The channel mapping family.
        family: u8,
        /// Entries needed: the output channel count, or 0 for family 0.
        expected: usize,
        /// Entries given.
        given: usize,
    },
}

impl AudioSampleEntry {
    /// Checks that every field fits the boxes [`super::build_moov`] writes for it.
    pub fn validate(&self) -> Result<(), AudioEntryError> {
        match &self.codec {
            AudioCodecConfig::Aac {
                audio_specific_config,
                buffer_size,
                ..
            } => {
                if audio_specific_config.is_empty() {
                    return Err(AudioEntryError::EmptyAudioSpecificConfig);
                }
                if audio_specific_config.len() > MAX_AUDIO_SPECIFIC_CONFIG_LEN {
                    return Err(AudioEntryError::AudioSpecificConfigTooLarge {
                        len: audio_specific_config.len(),
                    });
                }
                if *buffer_size > MAX_U24 {
                    return Err(AudioEntryError::AacBufferSizeTooLarge {
                        buffer_size: *buffer_size,
                    });
                }
            }
            AudioCodecConfig::Opus(opus) => {
                if self.channels != u16::from(opus.output_channels) {
                    return Err(AudioEntryError::OpusChannelCountMismatch {
                        entry: self.channels,
                        opus: opus.output_channels,
                    });
                }
                let expected = opus.mapping_table_len();
                if opus.channel_mapping.len() != expected {
                    return Err(AudioEntryError::OpusChannelMappingLength {
                        family: opus.channel_mapping_family,
                        expected,
                        given: opus.channel_mapping.len(),
                    });
                }
            }
        }
        Ok(())
    }
}

const MAX_U24: u32 = 0x00ff_ffff;

// ---------------------------------------------------------------------------
// OpusHead
// ---------------------------------------------------------------------------

/// Why bytes are not a usable Ogg Opus identification header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpusHeadError {
    /// The header ends before a field it announces.
    #[error("the OpusHead is {len} bytes, but its fields need {needed}; it is truncated")]
    Truncated {
        /// Bytes given.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The first eight bytes are not `OpusHead`.
    #[error(
        "the header does not start with \"OpusHead\"; it is not an Opus identification header"
    )]
    BadMagic,
    /// The major version (upper four bits) is not 0: an incompatible revision.
    #[error("OpusHead version {0} is not supported (only 0.x, normally 1)")]
    UnsupportedVersion(u8),
    /// A stream must have at least one output channel.
    #[error("the OpusHead declares zero output channels")]
    NoChannels,
    /// Family 0 is one mono or stereo stream.
    #[error("channel mapping family 0 allows 1 or 2 channels, not {0}")]
    TooManyChannelsForFamily0(u8),
    /// A mapping table must name at least one stream.
    #[error("the OpusHead channel mapping table declares zero streams")]
    NoStreams,
    /// Coupled streams are a subset of all streams.
    #[error("the OpusHead declares {coupled} coupled streams out of only {streams}")]
    TooManyCoupledStreams {
        /// The stream count.
        streams: u8,
        /// The coupled count.
        coupled: u8,
    },
    /// The decoded channel count (streams + coupled) must fit 255.
    #[error("{streams} streams with {coupled} coupled decode to more than 255 channels")]
    TooManyDecodedChannels {
        /// The stream count.
        streams: u8,
        /// The coupled count.
        coupled: u8,
    },
    /// A mapping entry names a decoded channel that does not exist.
    #[error(
        "output channel {channel} maps to decoded channel {index}, but there are only {decoded}"
    )]
    MappingOutOfRange {
        /// The output channel.
        channel: usize,
        /// The decoded channel it names.
        index: u8,
        /// How many decoded channels there are.
        decoded: u16,
    },
}

/// "OpusHead": the identification header's magic signature.
const OPUS_HEAD_MAGIC: &[u8; 8] = b"OpusHead";
/// Length of the fixed part of OpusHead, up to and including the mapping family.
const OPUS_HEAD_FIXED_LEN: usize = 19;
/// Entries in the mapping table that name no decoded channel: the output is silent.
const SILENT_CHANNEL: u8 = 255;

impl OpusConfig {
    /// Reads the Ogg Opus identification header (RFC 7845 §5.1, little-endian),
    /// as GStreamer's `opusenc` puts it first in the caps' `streamheader`.
    ///
    /// Versions 0 to 15 are accepted: the RFC makes minor revisions (lower
    /// four bits) backwards compatible. Bytes after the header are ignored,
    /// as the RFC asks. For family 0 the implied single stream is filled in
    /// (one stream, coupled when stereo) and the mapping is left empty.
    pub fn from_opus_head(head: &[u8]) -> Result<Self, OpusHeadError> {
        let fixed = head
            .get(..OPUS_HEAD_FIXED_LEN)
            .ok_or(OpusHeadError::Truncated {
                len: head.len(),
                needed: OPUS_HEAD_FIXED_LEN,
            })?;
        if &fixed[..8] != OPUS_HEAD_MAGIC {
            return Err(OpusHeadError::BadMagic);
        }
        let version = fixed[8];
        if version >> 4 != 0 {
            return Err(OpusHeadError::UnsupportedVersion(version));
        }
        let output_channels = fixed[9];
        if output_channels == 0 {
            return Err(OpusHeadError::NoChannels);
        }
        let mut config = Self {
            output_channels,
            pre_skip: u16::from_le_bytes([fixed[10], fixed[11]]),
            input_sample_rate: u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]),
            output_gain: i16::from_le_bytes([fixed[16], fixed[17]]),
            channel_mapping_family: fixed[18],
            stream_count: 1,
            coupled_count: output_channels - 1,
            channel_mapping: Vec::new(),
        };
        if config.channel_mapping_family == 0 {
            if output_channels > 2 {
                return Err(OpusHeadError::TooManyChannelsForFamily0(output_channels));
            }
            return Ok(config);
        }
        let table = &head[OPUS_HEAD_FIXED_LEN..];
        let needed = OPUS_HEAD_FIXED_LEN + 2 + usize::from(output_channels);
        let (&[stream_count, coupled_count], mapping) = table
            .split_first_chunk::<2>()
            .filter(|(_, mapping)| mapping.len() >= usize::from(output_channels))
            .ok_or(OpusHeadError::Truncated {
                len: head.len(),
                needed,
            })?;
        config.stream_count = stream_count;
        config.coupled_count = coupled_count;
        config.channel_mapping = mapping[..usize::from(output_channels)].to_vec();
        config.check_mapping_table()?;
        Ok(config)
    }

    /// The stream counts and mapping entries must describe channels that exist.
    fn check_mapping_table(&self) -> Result<(), OpusHeadError> {
        let (streams, coupled) = (self.stream_count, self.coupled_count);
        if streams == 0 {
            return Err(OpusHeadError::NoStreams);
        }
        if coupled > streams {
            return Err(OpusHeadError::TooManyCoupledStreams { streams, coupled });
        }
        // Each coupled stream decodes to two channels, every other stream to one.
        let decoded = u16::from(streams) + u16::from(coupled);
        if decoded > 255 {
            return Err(OpusHeadError::TooManyDecodedChannels { streams, coupled });
        }
        for (channel, &index) in self.channel_mapping.iter().enumerate() {
            if index != SILENT_CHANNEL && u16::from(index) >= decoded {
                return Err(OpusHeadError::MappingOutOfRange {
                    channel,
                    index,
                    decoded,
                });
            }
        }
        Ok(())
    }

    /// Entries the mapping table must have: none for family 0, else one per output channel.
    fn mapping_table_len(&self) -> usize {
        if self.channel_mapping_family == 0 {
            0
        } else {
            usize::from(self.output_channels)
        }
    }
}

// ---------------------------------------------------------------------------
// Box writing
// ---------------------------------------------------------------------------

/// The `samplesize` of both entries: 16 bits, as the specifications fix it
/// for compressed audio (the decoder decides the real output format).
const SAMPLE_SIZE_BITS: u16 = 16;
/// The only rate an Opus sample entry may declare.
const OPUS_SAMPLE_RATE: u16 = 48_000;

/// Writes the `mp4a` or `Opus` entry of `stsd`. Assumes [`AudioSampleEntry::validate`] passed.
pub(super) fn write_audio_sample_entry(w: &mut BoxWriter, audio: &AudioSampleEntry) {
    match &audio.codec {
        AudioCodecConfig::Aac {
            audio_specific_config,
            avg_bitrate,
            max_bitrate,
            buffer_size,
        } => {
            // Rates above 16 bits get 0, as in FFmpeg: readers take the real rate from the ASC.
            let sample_rate = u16::try_from(audio.sample_rate).unwrap_or(0);
            w.with_box(*b"mp4a", |w| {
                write_audio_sample_entry_fields(w, audio.channels, sample_rate);
                write_esds(
                    w,
                    audio_specific_config,
                    DecoderRates {
                        avg_bitrate: *avg_bitrate,
                        max_bitrate: *max_bitrate,
                        buffer_size: *buffer_size,
                    },
                );
            });
        }
        AudioCodecConfig::Opus(opus) => w.with_box(*b"Opus", |w| {
            write_audio_sample_entry_fields(w, audio.channels, OPUS_SAMPLE_RATE);
            write_dops(w, opus);
        }),
    }
}

/// The SampleEntry and version-0 AudioSampleEntry fields (ISO/IEC 14496-12 §12.2.3).
fn write_audio_sample_entry_fields(w: &mut BoxWriter, channels: u16, sample_rate: u16) {
    // SampleEntry
    w.zeros(6); // reserved
    w.u16(1); // data_reference_index: the single `url ` entry

    // AudioSampleEntry
    w.zeros(4 * 2); // reserved (version, revision and vendor in QuickTime)
    w.u16(channels);
    w.u16(SAMPLE_SIZE_BITS);
    w.u16(0); // pre_defined
    w.u16(0); // reserved
    w.u16(sample_rate); // samplerate, 16.16: the integer part...
    w.u16(0); // ...and no fraction
}

/// The `esds` rate fields of the DecoderConfigDescriptor.
#[derive(Clone, Copy)]
struct DecoderRates {
    avg_bitrate: u32,
    max_bitrate: u32,
    buffer_size: u32,
}

/// MPEG-4 descriptor tags (ISO/IEC 14496-1 §7.2.2.1).
const ES_DESCRIPTOR_TAG: u8 = 0x03;
const DECODER_CONFIG_DESCRIPTOR_TAG: u8 = 0x04;
const DECODER_SPECIFIC_INFO_TAG: u8 = 0x05;
const SL_CONFIG_DESCRIPTOR_TAG: u8 = 0x06;
/// objectTypeIndication of MPEG-4 Audio (ISO/IEC 14496-3), which AAC is.
const OBJECT_TYPE_MPEG4_AUDIO: u8 = 0x40;
/// streamType 5 (audio) in the upper six bits, upStream 0, reserved bit 1.
const STREAM_TYPE_AUDIO_BYTE: u8 = (0x05 << 2) | 1;
/// SLConfigDescriptor predefined 2: the setting ISO/IEC 14496-14 requires in MP4 files.
const SL_PREDEFINED_MP4: u8 = 0x02;

/// Descriptor lengths are written in the four-byte form FFmpeg uses (seven
/// bits per byte, 0x80 marking continuation), so a length never changes the
/// layout of what follows; four bytes hold 28 bits.
const DESCRIPTOR_LENGTH_BYTES: usize = 4;
const MAX_DESCRIPTOR_LEN: usize = (1 << (7 * DESCRIPTOR_LENGTH_BYTES)) - 1;
const DESCRIPTOR_HEADER_LEN: usize = 1 + DESCRIPTOR_LENGTH_BYTES;
/// ES_ID (2) and the flags byte, before the ES_Descriptor's sub-descriptors.
const ES_DESCRIPTOR_FIELDS_LEN: usize = 3;
/// objectTypeIndication (1), streamType byte (1), bufferSizeDB (3), maxBitrate (4), avgBitrate (4).
const DECODER_CONFIG_FIELDS_LEN: usize = 13;
/// The SLConfigDescriptor's one byte.
const SL_CONFIG_FIELDS_LEN: usize = 1;
/// The largest AudioSpecificConfig whose enclosing ES_Descriptor length still fits 28 bits.
const MAX_AUDIO_SPECIFIC_CONFIG_LEN: usize = MAX_DESCRIPTOR_LEN
    - ES_DESCRIPTOR_FIELDS_LEN
    - DESCRIPTOR_HEADER_LEN
    - DECODER_CONFIG_FIELDS_LEN
    - DESCRIPTOR_HEADER_LEN
    - DESCRIPTOR_HEADER_LEN
    - SL_CONFIG_FIELDS_LEN;

/// `esds` (ISO/IEC 14496-14 §5.6): an ES_Descriptor holding the
/// DecoderConfigDescriptor (with the ASC as DecoderSpecificInfo) and the
/// SLConfigDescriptor. Descriptors are built inside out so each length is known.
fn write_esds(w: &mut BoxWriter, audio_specific_config: &[u8], rates: DecoderRates) {
    let decoder_specific_info = descriptor(DECODER_SPECIFIC_INFO_TAG, audio_specific_config);

    let mut decoder_config = Vec::with_capacity(DECODER_CONFIG_FIELDS_LEN);
    decoder_config.push(OBJECT_TYPE_MPEG4_AUDIO);
    decoder_config.push(STREAM_TYPE_AUDIO_BYTE);
    // Validation bounded the buffer size to 24 bits.
    decoder_config.extend_from_slice(&rates.buffer_size.to_be_bytes()[1..]);
    decoder_config.extend_from_slice(&rates.max_bitrate.to_be_bytes());
    decoder_config.extend_from_slice(&rates.avg_bitrate.to_be_bytes());
    decoder_config.extend_from_slice(&decoder_specific_info);
    let decoder_config = descriptor(DECODER_CONFIG_DESCRIPTOR_TAG, &decoder_config);

    let sl_config = descriptor(SL_CONFIG_DESCRIPTOR_TAG, &[SL_PREDEFINED_MP4]);

    // ES_ID 0: ISO/IEC 14496-14 leaves it 0 in files, the track ID identifies the stream.
    // Flags 0: no dependency, URL or OCR stream, and priority 0.
    let mut es = vec![0, 0, 0];
    es.extend_from_slice(&decoder_config);
    es.extend_from_slice(&sl_config);

    w.with_full_box(*b"esds", 0, 0, |w| {
        w.bytes(&descriptor(ES_DESCRIPTOR_TAG, &es));
    });
}

/// A descriptor: its tag, its payload length in four 7-bit groups (most
/// significant first, all but the last flagged 0x80), then the payload.
/// Lengths beyond 28 bits are excluded by validation.
fn descriptor(tag: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().min(MAX_DESCRIPTOR_LEN);
    let mut bytes = Vec::with_capacity(DESCRIPTOR_HEADER_LEN + payload.len());
    bytes.push(tag);
    for group in (0..DESCRIPTOR_LENGTH_BYTES).rev() {
        // Seven bits per byte: the mask keeps the value below 0x80, so it fits u8.
        let bits = ((len >> (7 * group)) & 0x7f) as u8;
        bytes.push(if group == 0 { bits } else { bits | 0x80 });
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// `dOps`: the OpusDecoderConfigurationRecord, version 0, big-endian
/// (unlike the little-endian `OpusHead` it mirrors).
fn write_dops(w: &mut BoxWriter, opus: &OpusConfig) {
    const DOPS_VERSION: u8 = 0;
    w.with_box(*b"dOps", |w| {
        w.u8(DOPS_VERSION);
        w.u8(opus.output_channels);
        w.u16(opus.pre_skip);
        w.u32(opus.input_sample_rate);
        w.i16(opus.output_gain);
        w.u8(opus.channel_mapping_family);
        if opus.channel_mapping_family != 0 {
            w.u8(opus.stream_count);
            w.u8(opus.coupled_count);
            w.bytes(&opus.channel_mapping);
        }
    });
}

#[cfg(test)]
#[path = "audio_tests.rs"]
mod tests;
