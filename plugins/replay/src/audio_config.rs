//! Audio decoder configurations read for validation, free of GStreamer types.
//!
//! The MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) is what GStreamer
//! caps carry as AAC `codec_data` and what an MP4 `esds` stores verbatim; its
//! first fields say the sample rate and channel layout the stream decodes to,
//! so they can be checked against the caps before a file is written.
//!
//! Nothing here panics on malformed input.

/// The leading fields of an AudioSpecificConfig.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    /// The MPEG-4 audio object type: 2 is AAC LC, 5 SBR (HE-AAC), 29 PS (HE-AAC v2).
    pub audio_object_type: u8,
    /// The sampling frequency in Hz, from the index table or the explicit 24-bit value.
    /// For explicitly signaled SBR/PS (object types 5 and 29) this is the core
    /// AAC rate, half the output rate; the extension rate that follows is not read.
    pub sample_rate: u32,
    /// The channelConfiguration: 0 means a program config element defines the channels.
    pub channel_configuration: u8,
}

/// Why bytes are not a usable AudioSpecificConfig.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AudioSpecificConfigError {
    /// The bytes end before the channel configuration.
    #[error(
        "the {len}-byte AudioSpecificConfig ends inside its {field} field; the codec_data \
         is truncated"
    )]
    Truncated {
        /// Bytes given.
        len: usize,
        /// The field that did not fit.
        field: &'static str,
    },
    /// samplingFrequencyIndex 0xD and 0xE are reserved.
    #[error("samplingFrequencyIndex {0:#x} is reserved; the codec_data is corrupt")]
    ReservedSamplingFrequencyIndex(u8),
}

/// Sampling frequencies by samplingFrequencyIndex (ISO/IEC 14496-3 Table 1.18).
const SAMPLING_FREQUENCIES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];
/// samplingFrequencyIndex announcing an explicit 24-bit frequency.
const EXPLICIT_FREQUENCY_INDEX: u8 = 0xf;
/// audioObjectType announcing a 6-bit extension (object types 32 and up).
const ESCAPE_OBJECT_TYPE: u8 = 31;

impl AudioSpecificConfig {
    /// Reads audioObjectType (with its escape), samplingFrequencyIndex (with
    /// its explicit 24-bit escape) and channelConfiguration. The rest (the
    /// codec-specific config) is not read, so trailing bytes are accepted.
    pub fn parse(bytes: &[u8]) -> Result<Self, AudioSpecificConfigError> {
        let mut bits = BitReader::new(bytes);
        let mut audio_object_type = bits.read_u8(5, "audioObjectType")?;
        if audio_object_type == ESCAPE_OBJECT_TYPE {
            audio_object_type = 32 + bits.read_u8(6, "audioObjectTypeExt")?;
        }
        let frequency_index = bits.read_u8(4, "samplingFrequencyIndex")?;
        let sample_rate = match frequency_index {
            EXPLICIT_FREQUENCY_INDEX => bits.read(24, "samplingFrequency")?,
            index => *SAMPLING_FREQUENCIES.get(usize::from(index)).ok_or(
                AudioSpecificConfigError::ReservedSamplingFrequencyIndex(index),
            )?,
        };
        let channel_configuration = bits.read_u8(4, "channelConfiguration")?;
        Ok(Self {
            audio_object_type,
            sample_rate,
            channel_configuration,
        })
    }

    /// The number of output channels the channelConfiguration implies
    /// (ISO/IEC 14496-3 Table 1.19 with its later additions), or `None` when
    /// a program config element defines them (0) or the value is reserved.
    pub fn channel_count(&self) -> Option<u16> {
        match self.channel_configuration {
            count @ 1..=6 => Some(u16::from(count)),
            7 | 12 | 14 => Some(8), // 7.1 in its three speaker arrangements
            11 => Some(7),          // 6.1
            13 => Some(24),         // 22.2
            _ => None,
        }
    }
}

/// Reads big-endian bit fields of up to 32 bits.
struct BitReader<'a> {
    bytes: &'a [u8],
    /// Bits consumed so far.
    position: usize,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    fn read(&mut self, count: u32, field: &'static str) -> Result<u32, AudioSpecificConfigError> {
        let mut value: u32 = 0;
        for _ in 0..count {
            let byte =
                self.bytes
                    .get(self.position / 8)
                    .ok_or(AudioSpecificConfigError::Truncated {
                        len: self.bytes.len(),
                        field,
                    })?;
            let bit = (byte >> (7 - self.position % 8)) & 1;
            value = (value << 1) | u32::from(bit);
            self.position += 1;
        }
        Ok(value)
    }

    /// Reads a field of at most 8 bits.
    fn read_u8(&mut self, count: u32, field: &'static str) -> Result<u8, AudioSpecificConfigError> {
        debug_assert!(count <= 8);
        // At most 8 bits were read, so the value fits.
        Ok(self.read(count, field)? as u8)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_the_config_avenc_aac_puts_in_its_caps() {
        // audio/mpeg codec_data from `audiotestsrc ! audio/x-raw,rate=48000,channels=2 !
        // avenc_aac`: AAC LC, 48 kHz, stereo, then a backward-compatible SBR sync extension.
        let config = AudioSpecificConfig::parse(&[0x11, 0x90, 0x56, 0xe5, 0x00]).unwrap();
        assert_eq!(
            config,
            AudioSpecificConfig {
                audio_object_type: 2,
                sample_rate: 48_000,
                channel_configuration: 2,
            }
        );
        assert_eq!(config.channel_count(), Some(2));
    }

    #[test]
    fn reads_every_indexed_frequency() {
        for (index, &rate) in SAMPLING_FREQUENCIES.iter().enumerate() {
            // AAC LC (00010), the index, channel configuration 1, then padding.
            let bits: u16 = (2 << 11) | ((index as u16) << 7) | (1 << 3);
            let config = AudioSpecificConfig::parse(&bits.to_be_bytes()).unwrap();
            assert_eq!(
                (config.sample_rate, config.channel_count()),
                (rate, Some(1))
            );
        }
    }

    #[test]
    fn reads_an_explicit_24_bit_frequency_and_an_escaped_object_type() {
        // 11111 (escape) 000010 (32 + 2 = 34), 1111 (explicit), 24-bit 0x01_5888
        // (88200), channel configuration 0110, padding: 5 + 6 + 4 + 24 + 4 = 43 bits.
        let fields: u64 =
            (0b11111 << 38) | (0b000010 << 32) | (0b1111 << 28) | (0x01_5888 << 4) | 0b0110;
        let bytes = (fields << 21).to_be_bytes();
        let config = AudioSpecificConfig::parse(&bytes[..6]).unwrap();
        assert_eq!(
            config,
            AudioSpecificConfig {
                audio_object_type: 34,
                sample_rate: 88_200,
                channel_configuration: 6,
            }
        );
        assert_eq!(
            AudioSpecificConfig::parse(&bytes[..4]),
            Err(AudioSpecificConfigError::Truncated {
                len: 4,
                field: "samplingFrequency"
            })
        );
    }

    #[test]
    fn short_or_reserved_configs_are_errors() {
        assert_eq!(
            AudioSpecificConfig::parse(&[]),
            Err(AudioSpecificConfigError::Truncated {
                len: 0,
                field: "audioObjectType"
            })
        );
        assert_eq!(
            AudioSpecificConfig::parse(&[0x11]),
            Err(AudioSpecificConfigError::Truncated {
                len: 1,
                field: "samplingFrequencyIndex"
            })
        );
        // 00010 1101 ...: index 0xD is reserved.
        assert_eq!(
            AudioSpecificConfig::parse(&[0x16, 0x90]),
            Err(AudioSpecificConfigError::ReservedSamplingFrequencyIndex(
                0xd
            ))
        );
    }

    #[test]
    fn channel_counts_follow_the_channel_configuration_table() {
        let count = |channel_configuration| {
            AudioSpecificConfig {
                audio_object_type: 2,
                sample_rate: 48_000,
                channel_configuration,
            }
            .channel_count()
        };
        assert_eq!(count(0), None, "defined by a program config element");
        assert_eq!(count(6), Some(6));
        assert_eq!(count(7), Some(8));
        assert_eq!(count(8), None, "reserved");
        assert_eq!(count(13), Some(24));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = AudioSpecificConfig::parse(&bytes);
        }
    }
}
