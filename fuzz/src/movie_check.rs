//! What a `moov` built from a [`Movie`] must say, checked against what the strict reader
//! (`test_support::mp4`) reads back. Panics name the first field that disagrees.

use gstreplay::mp4::{AudioCodecConfig, Movie, MovieError, SampleEntry, Track, VideoSampleEntry};
use test_support::mp4::mp4_atom::{Dops, OpusChannelMapping};
use test_support::mp4::{
    AudioCodecInfo, AudioEntryInfo, EditEntry, EntryInfo, MovieInfo, TrackInfo, VideoEntryInfo,
};

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
pub fn check_movie(movie: &Movie, info: &MovieInfo, offset: impl Fn(usize, usize) -> u64) {
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

fn check_track(index: usize, track: &Track, read: &TrackInfo, offset: impl Fn(usize) -> u64) {
    assert_eq!(
        read.timescale, track.timescale,
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
            .into_iter()
            .map(|(segment_duration, media_time)| EditEntry {
                segment_duration,
                media_time,
                media_rate: (1, 0),
            })
            .collect::<Vec<_>>()
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
    match (&track.entry, &read.entry) {
        (SampleEntry::Video(video), EntryInfo::Video(entry)) => {
            assert_eq!(&read.handler, b"vide", "track {index} handler");
            check_video_entry(video, entry);
        }
        (SampleEntry::Audio(audio), EntryInfo::Audio(entry)) => {
            assert_eq!(&read.handler, b"soun", "track {index} handler");
            let expected_rate = match audio.codec {
                AudioCodecConfig::Aac { .. } => u16::try_from(audio.sample_rate).unwrap_or(0),
                AudioCodecConfig::Opus(_) => 48_000,
            };
            assert_eq!(entry.channel_count, audio.channels, "channelcount");
            assert_eq!(
                entry.sample_rate,
                u32::from(expected_rate) << 16,
                "samplerate"
            );
            check_audio_config(&audio.codec, entry);
        }
        (expected, read) => panic!("track {index}: {expected:?} was read back as {read:?}"),
    }
}

fn check_video_entry(video: &VideoSampleEntry, entry: &VideoEntryInfo) {
    assert_eq!(entry.fourcc, video.fourcc, "visual sample entry type");
    assert_eq!(entry.width, video.width, "width");
    assert_eq!(entry.height, video.height, "height");
    assert_eq!(
        entry.config_fourcc, video.config_fourcc,
        "decoder configuration type"
    );
    assert_eq!(entry.config, video.config, "decoder configuration");
    let pasp = video
        .pixel_aspect_ratio
        .filter(|&(h, v)| h != 0 && v != 0 && h != v);
    let mut boxes = vec![video.config_fourcc];
    if pasp.is_some() {
        boxes.push(*b"pasp");
    }
    assert_eq!(entry.boxes, boxes, "boxes in the visual sample entry");
    assert_eq!(entry.pasp, pasp, "pasp");
}

fn check_audio_config(codec: &AudioCodecConfig, entry: &AudioEntryInfo) {
    match (codec, &entry.codec) {
        (
            AudioCodecConfig::Aac {
                audio_specific_config,
                avg_bitrate,
                max_bitrate,
                buffer_size,
            },
            AudioCodecInfo::Aac(read),
        ) => {
            assert_eq!(&entry.fourcc, b"mp4a", "AAC sample entry type");
            assert_eq!(entry.boxes, [*b"esds"], "mp4a must hold only esds");
            assert_eq!(read.audio_specific_config, *audio_specific_config);
            assert_eq!(read.buffer_size, *buffer_size, "bufferSizeDB");
            assert_eq!(read.max_bitrate, *max_bitrate, "maxBitrate");
            assert_eq!(read.avg_bitrate, *avg_bitrate, "avgBitrate");
            assert_eq!(
                read.object_type_indication, 0x40,
                "objectTypeIndication MPEG-4 audio"
            );
            assert_eq!(
                (read.stream_type, read.up_stream),
                (5, false),
                "streamType audio"
            );
            assert_eq!(read.sl_predefined, 2, "SLConfigDescriptor predefined 2");
        }
        (AudioCodecConfig::Opus(opus), AudioCodecInfo::Opus(read)) => {
            assert_eq!(&entry.fourcc, b"Opus", "Opus sample entry type");
            assert_eq!(entry.boxes, [*b"dOps"], "Opus must hold only dOps");
            let expected = Dops {
                output_channel_count: opus.output_channels,
                pre_skip: opus.pre_skip,
                input_sample_rate: opus.input_sample_rate,
                output_gain: opus.output_gain,
                channel_mapping: (opus.channel_mapping_family != 0).then(|| OpusChannelMapping {
                    family: opus.channel_mapping_family,
                    stream_count: opus.stream_count,
                    coupled_count: opus.coupled_count,
                    channel_mapping: opus.channel_mapping.clone(),
                }),
            };
            assert_eq!(read, &expected, "dOps");
        }
        (expected, read) => panic!("{expected:?} was read back as {read:?}"),
    }
}
