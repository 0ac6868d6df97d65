//! What a `moov` built from a [`Movie`] must say, checked against what
//! [`crate::mp4_reader`] reads back. Panics name the first field that disagrees.

use crate::mp4::{AudioCodecConfig, Movie, MovieError, SampleEntry, Track, VideoSampleEntry};
use crate::mp4_reader::{EntryBox, MovieInfo, Mp4Box, TrackInfo};

/// What `build_moov(movie, offsets)` must return, worked out independently of it.
pub fn expected_build_result(movie: &Movie, offsets: &[Vec<u64>]) -> Result<(), MovieError> {
    movie.validate()?;
    if offsets.len() != movie.tracks.len() {
        return Err(MovieError::OffsetTrackCountMismatch {
            given: offsets.len(),
            expected: movie.tracks.len(),
        });
    }
    for (index, (track, track_offsets)) in movie.tracks.iter().zip(offsets).enumerate() {
        if track_offsets.len() != track.samples.len() {
            return Err(MovieError::OffsetCountMismatch {
                track: index,
                given: track_offsets.len(),
                expected: track.samples.len(),
            });
        }
    }
    for (index, track) in movie.tracks.iter().enumerate() {
        if presentation_duration(track, movie.timescale).is_none() {
            return Err(MovieError::DurationOverflow { track: index });
        }
    }
    Ok(())
}

/// The `tkhd` duration: the edit's span, or the media duration in the movie timescale,
/// rounded up.
fn presentation_duration(track: &Track, movie_timescale: u32) -> Option<u64> {
    match track.edit {
        Some(edit) => edit.delay.checked_add(edit.segment_duration),
        None => {
            let media: u128 = media_duration(track).into();
            let timescale = u128::from(track.timescale);
            let scaled = (media * u128::from(movie_timescale)).div_ceil(timescale);
            u64::try_from(scaled).ok()
        }
    }
}

fn media_duration(track: &Track) -> u64 {
    track.samples.iter().map(|s| u64::from(s.duration)).sum()
}

/// Checks everything `info` says against `movie`; each sample's offset must be what
/// `offset(track, sample)` says.
pub fn check_movie(movie: &Movie, info: &MovieInfo<'_>, offset: impl Fn(usize, usize) -> u64) {
    assert_eq!(info.timescale, movie.timescale, "mvhd timescale");
    assert_eq!(info.tracks.len(), movie.tracks.len(), "track count");
    assert_eq!(
        u64::from(info.next_track_id),
        movie.tracks.len() as u64 + 1,
        "mvhd next_track_ID"
    );
    let durations: Vec<u64> = movie
        .tracks
        .iter()
        .map(|track| presentation_duration(track, movie.timescale).expect("checked before"))
        .collect();
    assert_eq!(
        info.duration,
        durations.iter().copied().max().unwrap_or(0),
        "mvhd duration"
    );
    for (index, (track, read)) in movie.tracks.iter().zip(&info.tracks).enumerate() {
        assert_eq!(read.track_id as usize, index + 1, "track {index} ID");
        assert_eq!(
            read.tkhd_duration, durations[index],
            "track {index} tkhd duration"
        );
        check_track(index, track, read, |sample| offset(index, sample));
    }
}

fn check_track(index: usize, track: &Track, read: &TrackInfo<'_>, offset: impl Fn(usize) -> u64) {
    assert_eq!(
        read.media_timescale, track.timescale,
        "track {index} mdhd timescale"
    );
    assert_eq!(
        read.media_duration,
        media_duration(track),
        "track {index} mdhd duration"
    );
    let expected_edits = track.edit.map(|edit| {
        let mut edits = Vec::new();
        if edit.delay > 0 {
            edits.push((edit.delay, -1));
        }
        edits.push((edit.segment_duration, edit.media_time));
        edits
    });
    assert_eq!(read.edits, expected_edits, "track {index} edit list");
    assert_eq!(
        read.samples.len(),
        track.samples.len(),
        "track {index} sample count"
    );
    for (number, (sample, table)) in track.samples.iter().zip(&read.samples).enumerate() {
        let what = format!("track {index} sample {number}");
        assert_eq!(table.size, sample.size, "{what} size");
        assert_eq!(table.duration, sample.duration, "{what} duration");
        assert_eq!(
            table.composition_offset, sample.composition_offset,
            "{what} composition offset"
        );
        assert_eq!(table.sync, sample.sync, "{what} sync flag");
        assert_eq!(table.offset, offset(number), "{what} offset");
    }
    match &track.entry {
        SampleEntry::Video(video) => {
            assert_eq!(&read.handler, b"vide", "track {index} handler");
            check_video_entry(video, &read.entry);
        }
        SampleEntry::Audio(audio) => {
            assert_eq!(&read.handler, b"soun", "track {index} handler");
            let expected_rate = match audio.codec {
                AudioCodecConfig::Aac { .. } => u16::try_from(audio.sample_rate).unwrap_or(0),
                AudioCodecConfig::Opus(_) => 48_000,
            };
            let fields = read.entry.fields;
            assert_eq!(be_u16(&fields[16..]), audio.channels, "channelcount");
            assert_eq!(be_u16(&fields[24..]), expected_rate, "samplerate");
            check_audio_config(&audio.codec, &read.entry);
        }
    }
}

fn be_u16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn check_video_entry(video: &VideoSampleEntry, entry: &EntryBox<'_>) {
    assert_eq!(entry.fourcc, video.fourcc, "visual sample entry type");
    assert_eq!(be_u16(&entry.fields[24..]), video.width, "width");
    assert_eq!(be_u16(&entry.fields[26..]), video.height, "height");
    let pasp = video
        .pixel_aspect_ratio
        .filter(|&(h, v)| h != 0 && v != 0 && h != v);
    let [config, rest @ ..] = entry.children.as_slice() else {
        panic!("the visual sample entry has no decoder configuration box");
    };
    assert_eq!(
        config.fourcc, video.config_fourcc,
        "decoder configuration type"
    );
    assert_eq!(
        config.payload,
        video.config.as_slice(),
        "decoder configuration"
    );
    match (pasp, rest) {
        (None, []) => {}
        (Some((h, v)), [box_]) if &box_.fourcc == b"pasp" => {
            assert_eq!(box_.payload.len(), 8, "pasp size");
            assert_eq!((be_u32(box_.payload), be_u32(&box_.payload[4..])), (h, v));
        }
        _ => panic!("expected pasp {pasp:?}, found {} more boxes", rest.len()),
    }
}

fn check_audio_config(codec: &AudioCodecConfig, entry: &EntryBox<'_>) {
    match codec {
        AudioCodecConfig::Aac {
            audio_specific_config,
            avg_bitrate,
            max_bitrate,
            buffer_size,
        } => {
            assert_eq!(&entry.fourcc, b"mp4a", "AAC sample entry type");
            let [esds] = entry.children.as_slice() else {
                panic!("mp4a must hold only esds");
            };
            assert_eq!(&esds.fourcc, b"esds");
            let read = read_esds(esds);
            assert_eq!(read.audio_specific_config, audio_specific_config.as_slice());
            assert_eq!(read.buffer_size, *buffer_size, "bufferSizeDB");
            assert_eq!(read.max_bitrate, *max_bitrate, "maxBitrate");
            assert_eq!(read.avg_bitrate, *avg_bitrate, "avgBitrate");
        }
        AudioCodecConfig::Opus(opus) => {
            assert_eq!(&entry.fourcc, b"Opus", "Opus sample entry type");
            let [dops] = entry.children.as_slice() else {
                panic!("Opus must hold only dOps");
            };
            assert_eq!(&dops.fourcc, b"dOps");
            let mut expected = vec![0, opus.output_channels];
            expected.extend_from_slice(&opus.pre_skip.to_be_bytes());
            expected.extend_from_slice(&opus.input_sample_rate.to_be_bytes());
            expected.extend_from_slice(&opus.output_gain.to_be_bytes());
            expected.push(opus.channel_mapping_family);
            if opus.channel_mapping_family != 0 {
                expected.extend_from_slice(&[opus.stream_count, opus.coupled_count]);
                expected.extend_from_slice(&opus.channel_mapping);
            }
            assert_eq!(dops.payload, expected.as_slice(), "dOps");
        }
    }
}

/// The fields of an `esds` the writer fills in.
struct EsdsFields<'a> {
    audio_specific_config: &'a [u8],
    buffer_size: u32,
    max_bitrate: u32,
    avg_bitrate: u32,
}

/// Reads the descriptor nesting of `esds`, whose lengths must add up exactly.
fn read_esds<'a>(esds: &Mp4Box<'a>) -> EsdsFields<'a> {
    let body = &esds.payload[4..]; // version and flags
    let (es, rest) = descriptor(body, 0x03);
    assert!(rest.is_empty(), "bytes after the ES_Descriptor");
    let (decoder_config, rest) = descriptor(&es[3..], 0x04);
    let (sl_config, rest) = descriptor(rest, 0x06);
    assert!(rest.is_empty(), "bytes after the SLConfigDescriptor");
    assert_eq!(sl_config, [0x02], "SLConfigDescriptor predefined 2");
    let fields = &decoder_config[..13];
    assert_eq!(fields[0], 0x40, "objectTypeIndication MPEG-4 audio");
    assert_eq!(fields[1], 0x15, "streamType audio");
    let (audio_specific_config, rest) = descriptor(&decoder_config[13..], 0x05);
    assert!(rest.is_empty(), "bytes after the DecoderSpecificInfo");
    EsdsFields {
        audio_specific_config,
        buffer_size: u32::from_be_bytes([0, fields[2], fields[3], fields[4]]),
        max_bitrate: be_u32(&fields[5..]),
        avg_bitrate: be_u32(&fields[9..]),
    }
}

/// One MPEG-4 descriptor of type `tag` at the start of `bytes`: its payload and what follows.
fn descriptor(bytes: &[u8], tag: u8) -> (&[u8], &[u8]) {
    assert_eq!(bytes.first(), Some(&tag), "descriptor tag");
    let mut len = 0usize;
    let mut position = 1;
    loop {
        let byte = *bytes
            .get(position)
            .expect("the descriptor length is cut off");
        len = (len << 7) | usize::from(byte & 0x7f);
        position += 1;
        if byte & 0x80 == 0 {
            break;
        }
        assert!(position < 5, "descriptor length longer than 4 bytes");
    }
    let payload = bytes.get(position..position + len).unwrap_or_else(|| {
        panic!(
            "descriptor {tag:#x} says {len} bytes, {} left",
            bytes.len() - position
        )
    });
    (payload, &bytes[position + len..])
}
