//! AAC AudioSpecificConfigs (caps' `codec_data`) through `AudioSpecificConfig::parse`.
//!
//! Checked: no panic; accepted fields are within their bit widths, the leading bits
//! are exactly the input's leading bits, and the config goes verbatim into a valid `esds`.

#![no_main]

use gstreplay::audio_config::AudioSpecificConfig;
use gstreplay::mp4::{
    build_moov, AudioCodecConfig, AudioSampleEntry, Movie, Sample, SampleEntry, Track,
};
use libfuzzer_sys::fuzz_target;
use replay_fuzz::movie_check::check_movie;
use test_support::mp4::read_moov;

/// samplingFrequencyIndex values 0 to 12 (ISO/IEC 14496-3 Table 1.18).
const SAMPLING_FREQUENCIES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

fuzz_target!(|bytes: &[u8]| {
    let Ok(config) = AudioSpecificConfig::parse(bytes) else {
        return;
    };
    assert!(config.audio_object_type < 32 + 64, "{config:?}");
    assert!(config.sample_rate < 1 << 24, "{config:?}");
    assert!(config.channel_configuration < 16, "{config:?}");
    if let Some(channels) = config.channel_count() {
        assert!((1..=24).contains(&channels), "{config:?}");
    }
    let bits = encode(&config, explicit_frequency(bytes));
    for (index, &bit) in bits.iter().enumerate() {
        let input_bit = (bytes[index / 8] >> (7 - index % 8)) & 1 == 1;
        assert_eq!(
            input_bit, bit,
            "bit {index}: the parsed fields must be the leading bits"
        );
    }

    let entry = AudioSampleEntry {
        channels: config.channel_count().unwrap_or(2),
        sample_rate: config.sample_rate,
        codec: AudioCodecConfig::Aac {
            audio_specific_config: bytes.to_vec(),
            avg_bitrate: 128_000,
            max_bitrate: 0,
            buffer_size: 0,
        },
    };
    entry
        .validate()
        .expect("an accepted AudioSpecificConfig makes a valid sample entry");
    let movie = Movie {
        timescale: 1000,
        tracks: vec![Track {
            timescale: config.sample_rate.max(1),
            entry: SampleEntry::Audio(entry),
            samples: vec![Sample {
                size: 3,
                duration: 1024,
                composition_offset: 0,
                sync: true,
            }],
            edit: None,
        }],
    };
    let moov = build_moov(&movie, &[vec![48]]).expect("a valid AAC movie builds");
    let read = read_moov(&moov).unwrap_or_else(|error| panic!("malformed moov: {error}"));
    check_movie(&movie, &read.movie, |_, _| 48);
});

/// Whether the input gave its rate explicitly (index 15) rather than by table index.
fn explicit_frequency(bytes: &[u8]) -> bool {
    let object_type = bytes[0] >> 3;
    let index_bit = if object_type == 31 { 11 } else { 5 };
    let index = (u32::from_be_bytes([bytes[0], *bytes.get(1).unwrap_or(&0), 0, 0])
        >> (28 - index_bit))
        & 0xf;
    index == 15
}

/// The fields as bits, in the input's form.
fn encode(config: &AudioSpecificConfig, explicit_frequency: bool) -> Vec<bool> {
    let mut bits: Vec<bool> = Vec::new();
    let mut push = |value: u32, width: u32| {
        for bit in (0..width).rev() {
            bits.push((value >> bit) & 1 == 1);
        }
    };
    let object_type = u32::from(config.audio_object_type);
    if object_type >= 32 {
        push(31, 5);
        push(object_type - 32, 6);
    } else {
        push(object_type, 5);
    }
    let index = SAMPLING_FREQUENCIES
        .iter()
        .position(|&rate| rate == config.sample_rate)
        .filter(|_| !explicit_frequency);
    match index {
        Some(index) => push(index as u32, 4),
        None => {
            push(15, 4);
            push(config.sample_rate, 24);
        }
    }
    push(u32::from(config.channel_configuration), 4);
    bits
}
