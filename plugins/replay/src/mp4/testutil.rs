//! Test fixtures (sample entries, tracks, movies) and the bridge from what the strict
//! reader in `test_support::mp4` reads back to the writer's own types, so tests can compare
//! them directly.

use test_support::mp4::{read_moov, BoxLayout, EditEntry, ReadMoov, TableSample, TrackInfo};

use super::{
    build_moov, AudioCodecConfig, AudioSampleEntry, Edit, Movie, OpusConfig, Sample, SampleEntry,
    Track, VideoSampleEntry,
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// avcC from x264 (320x240, High profile, 4:2:0), as GStreamer's h264parse
/// reports it in `codec_data`.
pub const AVC_CONFIG_320X240_HEX: &str =
    "01640014ffe1001d67640014acd94141fb016a0c0c0d4a00000300020000\
     0300791e28532c01000568ebecb22c";

/// hvcC from x265enc (320x240, Main profile), as h265parse reports it in `codec_data`.
pub const HVC_CONFIG_320X240_HEX: &str =
    "0104080000009808000000003ff000fcfffcfc00000f03200001001740010c01ffff040800000300980800\
     000300003f9598092100010030420101040800000300980800000300003f90014101e2294b2b3492657ff8\
     0008000b506060604000000300400000078222000100074401c172b46240";

pub fn hex_bytes(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd-length hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub fn avc_entry(width: u16, height: u16) -> SampleEntry {
    SampleEntry::Video(VideoSampleEntry {
        fourcc: *b"avc1",
        width,
        height,
        config_fourcc: *b"avcC",
        config: hex_bytes(AVC_CONFIG_320X240_HEX),
        pixel_aspect_ratio: None,
    })
}

pub fn sample(size: u32, duration: u32, composition_offset: i32, sync: bool) -> Sample {
    Sample {
        size,
        duration,
        composition_offset,
        sync,
    }
}

pub fn video_track(timescale: u32, samples: Vec<Sample>, edit: Option<Edit>) -> Track {
    Track {
        timescale,
        entry: avc_entry(320, 240),
        samples,
        edit,
    }
}

/// The AudioSpecificConfig `avenc_aac` reports for 48 kHz stereo AAC LC.
pub const AAC_CONFIG_48K_STEREO: [u8; 5] = [0x11, 0x90, 0x56, 0xe5, 0x00];

pub fn aac_entry() -> SampleEntry {
    SampleEntry::Audio(AudioSampleEntry {
        channels: 2,
        sample_rate: 48_000,
        codec: AudioCodecConfig::Aac {
            audio_specific_config: AAC_CONFIG_48K_STEREO.to_vec(),
            avg_bitrate: 128_000,
            max_bitrate: 160_000,
            buffer_size: 6144,
        },
    })
}

/// Stereo Opus as `opusenc` describes it: family 0, 312 samples of pre-skip.
pub fn opus_stereo_config() -> OpusConfig {
    OpusConfig {
        output_channels: 2,
        pre_skip: 312,
        input_sample_rate: 48_000,
        output_gain: 0,
        channel_mapping_family: 0,
        stream_count: 1,
        coupled_count: 1,
        channel_mapping: Vec::new(),
    }
}

pub fn opus_entry(config: OpusConfig) -> SampleEntry {
    SampleEntry::Audio(AudioSampleEntry {
        channels: u16::from(config.output_channels),
        sample_rate: 48_000,
        codec: AudioCodecConfig::Opus(config),
    })
}

/// An audio track without an edit list.
pub fn audio_track(entry: SampleEntry, timescale: u32, samples: Vec<Sample>) -> Track {
    Track {
        timescale,
        entry,
        samples,
        edit: None,
    }
}

/// Frame duration of the 25 fps test tracks in their 12800 Hz timescale.
pub const FRAME: u32 = 512;

/// A decode-order I P B B ... stream: each group of four shows as I B B P, so
/// decode order I0 P3 B1 B2 with a one-frame delay: offsets 1, 3, 0, 0 frames.
/// Sizes differ per sample so that misplaced bytes show.
pub fn ipbb(count: usize) -> Vec<Sample> {
    (0..count)
        .map(|i| {
            let size = 6 + (i as u32 * 37) % 200;
            match i % 4 {
                0 => sample(size + 1000, FRAME, FRAME as i32, true),
                1 => sample(size + 300, FRAME, 3 * FRAME as i32, false),
                _ => sample(size, FRAME, 0, false),
            }
        })
        .collect()
}

/// Offsets that store every track's samples back to back from `start`, track after track.
pub fn sequential_offsets(movie: &Movie, start: u64) -> Vec<Vec<u64>> {
    let mut next = start;
    movie
        .tracks
        .iter()
        .map(|track| {
            track
                .samples
                .iter()
                .map(|sample| {
                    let offset = next;
                    next += u64::from(sample.size);
                    offset
                })
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// What the reader reads back, in the writer's types
// ---------------------------------------------------------------------------

/// Reads a `moov` with the strict reader, panicking with what is wrong.
pub fn read(moov: &[u8]) -> ReadMoov<'_> {
    read_moov(moov).unwrap_or_else(|error| panic!("malformed moov: {error}"))
}

/// `build_moov` for samples stored back to back from offset 48, and `check` on the result
/// read back.
pub fn with_moov<R>(movie: &Movie, check: impl FnOnce(&ReadMoov<'_>) -> R) -> R {
    let bytes = build_moov(movie, &sequential_offsets(movie, 48)).expect("valid movie");
    check(&read(&bytes))
}

pub fn samples(track: &TrackInfo) -> Vec<Sample> {
    track.samples.iter().map(table_sample).collect()
}

pub fn table_sample(sample: &TableSample) -> Sample {
    Sample {
        size: sample.size,
        duration: sample.duration,
        composition_offset: sample.composition_offset,
        sync: sample.sync,
    }
}

pub fn offsets(track: &TrackInfo) -> Vec<u64> {
    track.samples.iter().map(|sample| sample.offset).collect()
}

/// The track's edit list as the writer's [`Edit`]: one edit at rate 1.0, after an empty
/// edit (read back as `delay`) or not.
pub fn edit(track: &TrackInfo) -> Option<Edit> {
    let entries = track.edits.as_ref()?;
    for entry in entries {
        assert_eq!(entry.media_rate, (1, 0), "media_rate 1.0 in {entries:?}");
    }
    let (delay, last) = match entries.as_slice() {
        [EditEntry {
            media_time: -1,
            segment_duration: delay,
            ..
        }, last] => (*delay, last),
        [last] => (0, last),
        other => panic!("one edit, after an empty edit or not, expected: {other:?}"),
    };
    Some(Edit {
        media_time: last.media_time,
        segment_duration: last.segment_duration,
        delay,
    })
}

/// The fields of a version-0 AudioSampleEntry that mp4-atom reads past: reserved and
/// pre_defined, all zero.
pub fn assert_audio_entry_constants(entry: &BoxLayout<'_>) {
    let fields = entry.fields();
    assert_eq!(&fields[..6], &[0; 6], "SampleEntry reserved");
    assert_eq!(&fields[8..16], &[0; 8], "AudioSampleEntry reserved");
    assert_eq!(&fields[20..24], &[0; 4], "pre_defined, reserved");
}
