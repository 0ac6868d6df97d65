//! Ogg `OpusHead` headers (as opusenc puts them in caps) through `OpusConfig::from_opus_head`.
//!
//! Checked: no panic; an accepted header describes channels that exist, makes an
//! `Opus` sample entry that validates, and that entry's `dOps` carries the header's
//! fields unchanged (big-endian where the header is little-endian).

#![no_main]

use gstreplay::mp4::{
    build_moov, AudioCodecConfig, AudioSampleEntry, Movie, OpusConfig, Sample, SampleEntry, Track,
};
use libfuzzer_sys::fuzz_target;
use replay_fuzz::movie_check::check_movie;
use test_support::mp4::read_moov;

fuzz_target!(|head: &[u8]| {
    let Ok(config) = OpusConfig::from_opus_head(head) else {
        return;
    };
    assert!(config.output_channels > 0);
    assert_eq!(config.pre_skip, u16::from_le_bytes([head[10], head[11]]));
    assert_eq!(
        config.input_sample_rate,
        u32::from_le_bytes([head[12], head[13], head[14], head[15]])
    );
    assert_eq!(config.output_gain, i16::from_le_bytes([head[16], head[17]]));
    assert_eq!(config.channel_mapping_family, head[18]);
    if config.channel_mapping_family == 0 {
        assert!(config.channel_mapping.is_empty());
        assert!(config.output_channels <= 2);
    } else {
        let table = &head[19..];
        assert_eq!([config.stream_count, config.coupled_count], table[..2]);
        assert_eq!(
            config.channel_mapping,
            table[2..2 + config.channel_mapping.len()]
        );
        assert_eq!(
            config.channel_mapping.len(),
            usize::from(config.output_channels)
        );
        let decoded = u16::from(config.stream_count) + u16::from(config.coupled_count);
        for &index in &config.channel_mapping {
            assert!(
                index == 255 || u16::from(index) < decoded,
                "mapping to {index}"
            );
        }
    }

    let entry = AudioSampleEntry {
        channels: config.output_channels.into(),
        sample_rate: 48_000,
        codec: AudioCodecConfig::Opus(config),
    };
    entry
        .validate()
        .expect("an accepted OpusHead makes a valid sample entry");
    let movie = Movie {
        timescale: 1000,
        tracks: vec![Track {
            timescale: 48_000,
            entry: SampleEntry::Audio(entry),
            samples: vec![Sample {
                size: 3,
                duration: 960,
                composition_offset: 0,
                sync: true,
            }],
            edit: None,
        }],
    };
    let moov = build_moov(&movie, &[vec![48]]).expect("a valid Opus movie builds");
    let read = read_moov(&moov).unwrap_or_else(|error| panic!("malformed moov: {error}"));
    check_movie(&movie, &read.movie, |_, _| 48);
});
