//! Tests of the audio sample entries (each box read back by the strict reader and its
//! fields checked where the specifications put them) and of the OpusHead reader.

use proptest::prelude::*;
use test_support::mp4::descriptors as esds;
use test_support::mp4::{read_sample_entry, AacInfo, AudioCodecInfo, AudioEntryInfo, EntryInfo};

use super::super::testutil::{
    assert_audio_entry_constants, opus_stereo_config, AAC_CONFIG_48K_STEREO,
};
use super::*;

/// The identification header `opusenc` puts first in its caps' `streamheader`
/// for 48 kHz stereo: version 1, 2 channels, pre-skip 312, 48000 Hz, gain 0, family 0.
const GST_OPUS_HEAD: [u8; 19] = [
    b'O', b'p', b'u', b's', b'H', b'e', b'a', b'd', 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0,
];

/// 5.1 as RFC 7845 §5.1.1.2 lays it out: 4 streams, 2 coupled, Vorbis channel order.
fn surround_config() -> OpusConfig {
    OpusConfig {
        output_channels: 6,
        pre_skip: 3840,
        input_sample_rate: 44_100,
        output_gain: -256,
        channel_mapping_family: 1,
        stream_count: 4,
        coupled_count: 2,
        channel_mapping: vec![0, 4, 1, 2, 3, 5],
    }
}

/// Serializes `config` as an OpusHead (little-endian).
fn opus_head(config: &OpusConfig) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(config.output_channels);
    head.extend_from_slice(&config.pre_skip.to_le_bytes());
    head.extend_from_slice(&config.input_sample_rate.to_le_bytes());
    head.extend_from_slice(&config.output_gain.to_le_bytes());
    head.push(config.channel_mapping_family);
    if config.channel_mapping_family != 0 {
        head.push(config.stream_count);
        head.push(config.coupled_count);
        head.extend_from_slice(&config.channel_mapping);
    }
    head
}

fn aac(sample_rate: u32) -> AudioSampleEntry {
    AudioSampleEntry {
        channels: 2,
        sample_rate,
        codec: AudioCodecConfig::Aac {
            audio_specific_config: AAC_CONFIG_48K_STEREO.to_vec(),
            avg_bitrate: 128_000,
            max_bitrate: 160_000,
            buffer_size: 0x01_2345,
        },
    }
}

fn opus(config: OpusConfig) -> AudioSampleEntry {
    AudioSampleEntry {
        channels: u16::from(config.output_channels),
        // The Opus entry must say 48 kHz whatever the caps' rate.
        sample_rate: 16_000,
        codec: AudioCodecConfig::Opus(config),
    }
}

fn entry_bytes(audio: &AudioSampleEntry) -> Vec<u8> {
    audio.validate().expect("valid entry");
    let mut w = BoxWriter::new();
    write_audio_sample_entry(&mut w, audio);
    w.finish().unwrap()
}

/// The entry read back, its reserved fields checked.
fn read_audio(bytes: &[u8]) -> AudioEntryInfo {
    let read = read_sample_entry(bytes).unwrap_or_else(|error| panic!("{error}"));
    assert_audio_entry_constants(&read.layout);
    match read.entry {
        EntryInfo::Audio(audio) => audio,
        other => panic!("not an audio entry: {other:?}"),
    }
}

fn aac_info(audio: &AudioEntryInfo) -> &AacInfo {
    match &audio.codec {
        AudioCodecInfo::Aac(aac) => aac,
        other => panic!("not AAC: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// mp4a + esds
// ---------------------------------------------------------------------------

#[test]
fn mp4a_entry_fields() {
    let bytes = entry_bytes(&aac(48_000));
    let entry = read_audio(&bytes);
    assert_eq!(&entry.fourcc, b"mp4a");
    assert_eq!(entry.data_reference_index, 1);
    assert_eq!(entry.channel_count, 2);
    assert_eq!(entry.sample_size, 16);
    assert_eq!(entry.sample_rate, 48_000 << 16, "16.16");
    assert_eq!(entry.boxes, [*b"esds"]);
}

#[test]
fn mp4a_sample_rate_above_16_bits_is_written_as_zero() {
    for (rate, field) in [(8_000, 8_000 << 16), (65_535, 65_535 << 16), (96_000, 0)] {
        let bytes = entry_bytes(&aac(rate));
        assert_eq!(read_audio(&bytes).sample_rate, field, "for {rate} Hz");
    }
}

#[test]
fn esds_nests_the_descriptors_movenc_writes() {
    let bytes = entry_bytes(&aac(48_000));
    let read = read_sample_entry(&bytes).unwrap();
    let esds_box = read.layout.child(b"esds");
    assert_eq!(esds_box.version_and_flags(), (0, 0));

    // The nesting: one ES_Descriptor fills esds and holds a DecoderConfigDescriptor (with
    // one DecoderSpecificInfo) and an SLConfigDescriptor, each length exactly right.
    let nested = esds::esds_descriptors(esds_box.body()).unwrap();
    assert_eq!((nested.es.tag, nested.es.length_bytes), (3, 4));
    assert_eq!(
        &nested.es.payload[..3],
        [0, 0, 0],
        "ES_ID 0, no flags, priority 0"
    );
    let es_children = esds::descriptors(&nested.es.payload[3..]).unwrap();
    assert_eq!(
        es_children.iter().map(|d| d.tag).collect::<Vec<_>>(),
        [4, 6]
    );
    assert_eq!(nested.decoder_config.length_bytes, 4);
    let fields = &nested.decoder_config.payload[..13];
    assert_eq!(fields[0], 0x40, "objectTypeIndication: MPEG-4 audio");
    assert_eq!(
        fields[1], 0x15,
        "streamType 5 (audio), upStream 0, reserved 1"
    );
    assert_eq!(&fields[2..5], &[0x01, 0x23, 0x45], "bufferSizeDB, 24 bits");
    assert_eq!(&fields[5..9], &160_000u32.to_be_bytes(), "maxBitrate");
    assert_eq!(&fields[9..13], &128_000u32.to_be_bytes(), "avgBitrate");
    let specific = esds::descriptors(&nested.decoder_config.payload[13..]).unwrap();
    assert_eq!(specific, [nested.decoder_specific]);
    assert_eq!(
        (
            nested.decoder_specific.tag,
            nested.decoder_specific.length_bytes
        ),
        (5, 4)
    );
    assert_eq!(
        nested.decoder_specific.payload, AAC_CONFIG_48K_STEREO,
        "the ASC verbatim"
    );
    assert_eq!(
        (nested.sl_config.length_bytes, nested.sl_config.payload),
        (4, &[2u8][..]),
        "predefined 2 (MP4)"
    );

    // The same values as mp4-atom decodes them.
    let EntryInfo::Audio(audio) = &read.entry else {
        panic!("an audio entry");
    };
    assert_eq!(
        aac_info(audio),
        &AacInfo {
            object_type_indication: 0x40,
            stream_type: 5,
            up_stream: false,
            buffer_size: 0x01_2345,
            max_bitrate: 160_000,
            avg_bitrate: 128_000,
            audio_specific_config: AAC_CONFIG_48K_STEREO.to_vec(),
            sl_predefined: 2,
        }
    );
    let test_support::mp4::mp4_atom::Codec::Mp4a(mp4a) = &read.decoded else {
        panic!("mp4a");
    };
    let es = &mp4a.esds.es_desc;
    assert_eq!((es.es_id, es.stream_priority), (0, 0));
    assert_eq!(
        (es.depends_on_es_id, &es.url, es.ocr_es_id),
        (None, &None, None)
    );
}

#[test]
fn descriptor_lengths_use_four_seven_bit_groups() {
    assert_eq!(descriptor(5, &[]), [5, 0x80, 0x80, 0x80, 0]);
    assert_eq!(descriptor(6, &[2]), [6, 0x80, 0x80, 0x80, 1, 2]);
    let payload = vec![9u8; 200];
    let bytes = descriptor(4, &payload);
    assert_eq!(
        &bytes[..5],
        &[4, 0x80, 0x80, 0x81, 0x48],
        "200 = 1 * 128 + 72"
    );
    let (parsed, rest) = esds::descriptor(&bytes).unwrap();
    assert_eq!((parsed.payload, rest.len()), (&payload[..], 0));
    let payload = vec![0u8; 0x20_4081]; // one bit set in each of the lower three groups
    assert_eq!(&descriptor(4, &payload)[..5], &[4, 0x81, 0x81, 0x81, 0x01]);
}

#[test]
fn largest_audio_specific_config_fills_the_28_bit_es_descriptor_length() {
    // The ES_Descriptor payload grows byte for byte with the ASC.
    let bytes = entry_bytes(&aac(48_000));
    let read = read_sample_entry(&bytes).unwrap();
    let es = esds::esds_descriptors(read.layout.child(b"esds").body())
        .unwrap()
        .es;
    let overhead = es.payload.len() - AAC_CONFIG_48K_STEREO.len();
    assert_eq!(MAX_AUDIO_SPECIFIC_CONFIG_LEN + overhead, (1 << 28) - 1);
}

// ---------------------------------------------------------------------------
// Opus + dOps
// ---------------------------------------------------------------------------

/// The `dOps` payload, after mp4-atom decoded it (so it is a valid OpusSpecificBox).
fn dops_payload(config: OpusConfig) -> Vec<u8> {
    let bytes = entry_bytes(&opus(config));
    let read = read_sample_entry(&bytes).unwrap();
    assert_audio_entry_constants(&read.layout);
    assert_eq!(read.layout.child_types(), ["dOps"]);
    read.layout.child(b"dOps").payload.to_vec()
}

#[test]
fn opus_entry_fields() {
    let config = opus_stereo_config();
    let bytes = entry_bytes(&opus(config));
    let entry = read_audio(&bytes);
    assert_eq!(&entry.fourcc, b"Opus");
    assert_eq!(entry.data_reference_index, 1);
    assert_eq!(entry.channel_count, 2);
    assert_eq!(entry.sample_size, 16);
    assert_eq!(entry.sample_rate, 48_000 << 16, "always 48 kHz");
}

#[test]
fn dops_family_0_has_no_mapping_table() {
    assert_eq!(
        dops_payload(opus_stereo_config()),
        [
            0, // Version
            2, // OutputChannelCount
            0x01, 0x38, // PreSkip 312
            0, 0, 0xbb, 0x80, // InputSampleRate 48000
            0, 0, // OutputGain
            0, // ChannelMappingFamily
        ]
    );
}

#[test]
fn dops_family_1_carries_the_mapping_table() {
    assert_eq!(
        dops_payload(surround_config()),
        [
            0, // Version
            6, // OutputChannelCount
            0x0f, 0x00, // PreSkip 3840
            0, 0, 0xac, 0x44, // InputSampleRate 44100
            0xff, 0x00, // OutputGain -1 dB (Q7.8)
            1,    // ChannelMappingFamily
            4,    // StreamCount
            2,    // CoupledCount
            0, 4, 1, 2, 3, 5, // ChannelMapping
        ]
    );
}

#[test]
fn dops_is_the_opus_head_in_big_endian() {
    let config = OpusConfig::from_opus_head(&GST_OPUS_HEAD).unwrap();
    let dops = dops_payload(config);
    // Same fields from OutputChannelCount on, with the multi-byte ones byte-swapped.
    assert_eq!(dops[0], 0, "dOps version 0, whatever the OpusHead version");
    assert_eq!(dops[1], GST_OPUS_HEAD[9]);
    let swapped = |range: std::ops::Range<usize>| {
        let mut bytes = GST_OPUS_HEAD[range].to_vec();
        bytes.reverse();
        bytes
    };
    assert_eq!(dops[2..4], swapped(10..12), "PreSkip");
    assert_eq!(dops[4..8], swapped(12..16), "InputSampleRate");
    assert_eq!(dops[8..10], swapped(16..18), "OutputGain");
    assert_eq!(dops[10..], GST_OPUS_HEAD[18..], "family 0, no table");
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

#[test]
fn invalid_entries_are_rejected() {
    let mut empty = aac(48_000);
    if let AudioCodecConfig::Aac {
        audio_specific_config,
        ..
    } = &mut empty.codec
    {
        audio_specific_config.clear();
    }
    assert_eq!(
        empty.validate(),
        Err(AudioEntryError::EmptyAudioSpecificConfig)
    );

    for (buffer_size, valid) in [(0xff_ffff, true), (0x100_0000, false)] {
        let mut entry = aac(48_000);
        if let AudioCodecConfig::Aac { buffer_size: b, .. } = &mut entry.codec {
            *b = buffer_size;
        }
        let expected = if valid {
            Ok(())
        } else {
            Err(AudioEntryError::AacBufferSizeTooLarge { buffer_size })
        };
        assert_eq!(entry.validate(), expected);
    }

    let mut mismatch = opus(opus_stereo_config());
    mismatch.channels = 1;
    assert_eq!(
        mismatch.validate(),
        Err(AudioEntryError::OpusChannelCountMismatch { entry: 1, opus: 2 })
    );

    let mut family_0_with_table = opus_stereo_config();
    family_0_with_table.channel_mapping = vec![0, 1];
    assert_eq!(
        opus(family_0_with_table).validate(),
        Err(AudioEntryError::OpusChannelMappingLength {
            family: 0,
            expected: 0,
            given: 2
        })
    );

    let mut short_table = surround_config();
    short_table.channel_mapping.pop();
    assert_eq!(
        opus(short_table).validate(),
        Err(AudioEntryError::OpusChannelMappingLength {
            family: 1,
            expected: 6,
            given: 5
        })
    );
}

// ---------------------------------------------------------------------------
// OpusHead
// ---------------------------------------------------------------------------

#[test]
fn reads_the_opus_head_opusenc_puts_in_its_caps() {
    assert_eq!(
        OpusConfig::from_opus_head(&GST_OPUS_HEAD),
        Ok(opus_stereo_config())
    );
    let mut mono = GST_OPUS_HEAD;
    mono[9] = 1;
    let config = OpusConfig::from_opus_head(&mono).unwrap();
    assert_eq!(
        (config.stream_count, config.coupled_count),
        (1, 0),
        "family 0 mono: one uncoupled stream"
    );
}

#[test]
fn reads_a_mapping_table_and_ignores_trailing_bytes() {
    let config = surround_config();
    let mut head = opus_head(&config);
    assert_eq!(OpusConfig::from_opus_head(&head), Ok(config.clone()));
    head.extend_from_slice(b"extra");
    assert_eq!(OpusConfig::from_opus_head(&head), Ok(config));
}

#[test]
fn every_truncation_is_an_error() {
    for full in [GST_OPUS_HEAD.to_vec(), opus_head(&surround_config())] {
        for len in 0..full.len() {
            let needed = if len < 19 { 19 } else { full.len() };
            assert_eq!(
                OpusConfig::from_opus_head(&full[..len]),
                Err(OpusHeadError::Truncated { len, needed }),
                "{len} of {} bytes",
                full.len()
            );
        }
    }
}

#[test]
fn versions_with_a_zero_major_nibble_are_accepted() {
    for (version, accepted) in [(0, true), (1, true), (15, true), (16, false), (255, false)] {
        let mut head = GST_OPUS_HEAD;
        head[8] = version;
        let result = OpusConfig::from_opus_head(&head);
        if accepted {
            assert!(result.is_ok(), "version {version}");
        } else {
            assert_eq!(result, Err(OpusHeadError::UnsupportedVersion(version)));
        }
    }
}

#[test]
fn inconsistent_headers_are_errors() {
    let mut head = GST_OPUS_HEAD;
    head[0] = b'o';
    assert_eq!(
        OpusConfig::from_opus_head(&head),
        Err(OpusHeadError::BadMagic)
    );

    let mut head = GST_OPUS_HEAD;
    head[9] = 0;
    assert_eq!(
        OpusConfig::from_opus_head(&head),
        Err(OpusHeadError::NoChannels)
    );

    let mut head = GST_OPUS_HEAD;
    head[9] = 3;
    assert_eq!(
        OpusConfig::from_opus_head(&head),
        Err(OpusHeadError::TooManyChannelsForFamily0(3))
    );

    let with_table = |stream_count, coupled_count, channel_mapping: Vec<u8>| {
        let config = OpusConfig {
            output_channels: channel_mapping.len() as u8,
            stream_count,
            coupled_count,
            channel_mapping,
            ..surround_config()
        };
        OpusConfig::from_opus_head(&opus_head(&config))
    };
    assert_eq!(with_table(0, 0, vec![255]), Err(OpusHeadError::NoStreams));
    assert_eq!(
        with_table(1, 2, vec![0]),
        Err(OpusHeadError::TooManyCoupledStreams {
            streams: 1,
            coupled: 2
        })
    );
    assert_eq!(
        with_table(200, 100, vec![0]),
        Err(OpusHeadError::TooManyDecodedChannels {
            streams: 200,
            coupled: 100
        })
    );
    // One coupled stream and one mono stream decode to three channels: 0, 1, 2.
    assert!(
        with_table(2, 1, vec![0, 1, 2, 255]).is_ok(),
        "255 is silence"
    );
    assert_eq!(
        with_table(2, 1, vec![0, 3]),
        Err(OpusHeadError::MappingOutOfRange {
            channel: 1,
            index: 3,
            decoded: 3
        })
    );
}

fn arbitrary_opus_config() -> impl Strategy<Value = OpusConfig> {
    let family_0 = (1..=2u8, any::<u16>(), any::<u32>(), any::<i16>()).prop_map(
        |(channels, pre_skip, input_sample_rate, output_gain)| OpusConfig {
            output_channels: channels,
            pre_skip,
            input_sample_rate,
            output_gain,
            channel_mapping_family: 0,
            stream_count: 1,
            coupled_count: channels - 1,
            channel_mapping: Vec::new(),
        },
    );
    let with_table = (1..=255u8, 1..=127u8, any::<u16>(), any::<i16>(), 1..=255u8)
        .prop_flat_map(|(channels, streams, pre_skip, gain, family)| {
            let coupled = 0..=streams.min(255 - streams);
            (
                Just((channels, streams, pre_skip, gain, family)),
                coupled,
                proptest::collection::vec(any::<u8>(), usize::from(channels)),
            )
        })
        .prop_map(
            |((channels, streams, pre_skip, gain, family), coupled, raw_mapping)| {
                let decoded = u16::from(streams) + u16::from(coupled);
                // Entries in range, or 255 (silence) for the raw values that are not.
                let channel_mapping = raw_mapping
                    .into_iter()
                    .map(|index| {
                        if u16::from(index) < decoded {
                            index
                        } else {
                            255
                        }
                    })
                    .collect();
                OpusConfig {
                    output_channels: channels,
                    pre_skip,
                    input_sample_rate: 48_000,
                    output_gain: gain,
                    channel_mapping_family: family,
                    stream_count: streams,
                    coupled_count: coupled,
                    channel_mapping,
                }
            },
        );
    prop_oneof![family_0, with_table]
}

proptest! {
    #[test]
    fn opus_head_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = OpusConfig::from_opus_head(&bytes);
    }

    #[test]
    fn opus_head_parsing_never_panics_past_the_magic(
        tail in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let head = [&b"OpusHead"[..], &tail].concat();
        let _ = OpusConfig::from_opus_head(&head);
    }

    #[test]
    fn valid_opus_heads_round_trip_into_valid_entries(config in arbitrary_opus_config()) {
        let parsed = OpusConfig::from_opus_head(&opus_head(&config));
        prop_assert_eq!(parsed.as_ref(), Ok(&config));
        prop_assert_eq!(opus(config).validate(), Ok(()));
    }
}
