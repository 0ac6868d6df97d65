//! The movie model and the `ftyp`/`moov` builders shared by both file writers.
//!
//! Box layouts follow ISO/IEC 14496-12 (ISO base media file format) and
//! 14496-15 (AVC/HEVC sample entries), in the shape FFmpeg's `movenc` and
//! GStreamer's `qtmux` write them. Audio sample entries are in [`super::audio`].

use std::io;

use super::audio::{write_audio_sample_entry, AudioEntryError, AudioSampleEntry};
use super::boxes::{BoxTooLarge, BoxWriter};

/// A visual sample entry (`avc1`, `avc3`, `hvc1`, `hev1`) with its decoder configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoSampleEntry {
    /// `*b"avc1"`, `*b"avc3"`, `*b"hvc1"` or `*b"hev1"`.
    pub fourcc: [u8; 4],
    /// Coded width in pixels.
    pub width: u16,
    /// Coded height in pixels.
    pub height: u16,
    /// `*b"avcC"` or `*b"hvcC"`.
    pub config_fourcc: [u8; 4],
    /// The decoder configuration record (what GStreamer caps call `codec_data`), written verbatim.
    pub config: Vec<u8>,
    /// Pixel aspect ratio as (horizontal, vertical) spacing. A `pasp` box is
    /// written when it is `Some`, not 1:1, and neither term is zero (zero means unknown).
    pub pixel_aspect_ratio: Option<(u32, u32)>,
}

/// How the samples of a track are coded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SampleEntry {
    /// A video track.
    Video(VideoSampleEntry),
    /// An audio track.
    Audio(AudioSampleEntry),
}

/// One access unit of a track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Size in bytes in `mdat`.
    pub size: u32,
    /// Decode duration, in the track timescale.
    pub duration: u32,
    /// Presentation time minus decode time, in the track timescale.
    pub composition_offset: i32,
    /// Whether this is a sync sample (keyframe).
    pub sync: bool,
}

/// A single edit-list entry mapping the movie timeline onto the track's media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Media time where the presentation starts, in the track timescale (-1: empty edit).
    pub media_time: i64,
    /// Length of the presented segment, in the movie timescale.
    pub segment_duration: u64,
    /// Movie-timescale ticks of nothing before the segment (an empty edit first): the
    /// track starts presenting that late, as audio that began after the video does.
    pub delay: u64,
}

/// One track: its timescale, coding and sample table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// Units per second of the sample durations and composition offsets.
    pub timescale: u32,
    /// How the samples are coded.
    pub entry: SampleEntry,
    /// Samples in decode order.
    pub samples: Vec<Sample>,
    /// Optional edit list (one entry).
    pub edit: Option<Edit>,
}

/// A whole movie: the movie timescale and its tracks (track IDs are 1-based indices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movie {
    /// Units per second of the movie header and edit segment durations.
    pub timescale: u32,
    /// The tracks, numbered 1, 2, ... in the file.
    pub tracks: Vec<Track>,
}

/// Why a movie cannot be turned into an MP4 header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MovieError {
    /// The movie has no tracks.
    #[error("the movie has no tracks")]
    NoTracks,
    /// The movie timescale is zero.
    #[error("the movie timescale is zero")]
    ZeroMovieTimescale,
    /// A track timescale is zero.
    #[error("track {track} has a zero timescale")]
    ZeroTrackTimescale {
        /// Index of the track in [`Movie::tracks`].
        track: usize,
    },
    /// A track has no samples.
    #[error("track {track} has no samples")]
    EmptyTrack {
        /// Index of the track in [`Movie::tracks`].
        track: usize,
    },
    /// A track has more samples than 32-bit sample tables can count.
    #[error("track {track} has {count} samples, more than an MP4 sample table can count")]
    TooManySamples {
        /// Index of the track in [`Movie::tracks`].
        track: usize,
        /// Its sample count.
        count: usize,
    },
    /// More tracks than 32-bit track IDs can number.
    #[error("the movie has {count} tracks, more than MP4 track IDs can number")]
    TooManyTracks {
        /// The track count.
        count: usize,
    },
    /// The sample offsets do not list one vector per track.
    #[error("sample offsets given for {given} tracks, but the movie has {expected}")]
    OffsetTrackCountMismatch {
        /// Number of offset vectors given.
        given: usize,
        /// Number of tracks.
        expected: usize,
    },
    /// The sample offsets of a track do not list one offset per sample.
    #[error("track {track}: {given} sample offsets for {expected} samples")]
    OffsetCountMismatch {
        /// Index of the track in [`Movie::tracks`].
        track: usize,
        /// Number of offsets given.
        given: usize,
        /// Number of samples.
        expected: usize,
    },
    /// A track duration does not fit 64 bits once converted to the movie timescale.
    #[error("track {track}: its duration does not fit 64 bits in the movie timescale")]
    DurationOverflow {
        /// Index of the track in [`Movie::tracks`].
        track: usize,
    },
    /// An audio sample entry cannot be written as it is.
    #[error("track {track}: {error}")]
    InvalidAudioEntry {
        /// Index of the track in [`Movie::tracks`].
        track: usize,
        /// What is wrong with it.
        #[source]
        error: AudioEntryError,
    },
    /// A box outgrew its 32-bit size field.
    #[error(transparent)]
    BoxTooLarge(#[from] BoxTooLarge),
}

impl From<MovieError> for io::Error {
    fn from(error: MovieError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, error)
    }
}

/// The `ftyp` box both writers put first.
///
/// It cannot depend on the movie because the streaming writer emits it before
/// any sample is known, so it lists every brand the builder may need: `iso4`
/// covers version-1 `ctts` (negative composition offsets).
pub fn ftyp() -> Vec<u8> {
    const MAJOR_BRAND: [u8; 4] = *b"isom";
    const MINOR_VERSION: u32 = 512;
    const COMPATIBLE_BRANDS: [[u8; 4]; 5] = [*b"isom", *b"iso2", *b"iso4", *b"avc1", *b"mp41"];
    let mut w = BoxWriter::new();
    w.with_box(*b"ftyp", |w| {
        w.fourcc(MAJOR_BRAND);
        w.u32(MINOR_VERSION);
        for brand in COMPATIBLE_BRANDS {
            w.fourcc(brand);
        }
    });
    // A fixed 32-byte box cannot overflow its size field.
    w.finish().unwrap_or_default()
}

impl Movie {
    /// Checks what every MP4 built from this movie needs: at least one track,
    /// non-zero timescales, 1..=u32::MAX samples per track, numberable tracks.
    pub fn validate(&self) -> Result<(), MovieError> {
        if self.tracks.is_empty() {
            return Err(MovieError::NoTracks);
        }
        if self.timescale == 0 {
            return Err(MovieError::ZeroMovieTimescale);
        }
        // next_track_ID (tracks + 1) must fit 32 bits too.
        match u32::try_from(self.tracks.len()) {
            Ok(count) if count < u32::MAX => {}
            _ => {
                return Err(MovieError::TooManyTracks {
                    count: self.tracks.len(),
                })
            }
        }
        for (index, track) in self.tracks.iter().enumerate() {
            track.validate(index)?;
        }
        Ok(())
    }
}

impl Track {
    fn validate(&self, index: usize) -> Result<(), MovieError> {
        if self.timescale == 0 {
            return Err(MovieError::ZeroTrackTimescale { track: index });
        }
        if self.samples.is_empty() {
            return Err(MovieError::EmptyTrack { track: index });
        }
        if u32::try_from(self.samples.len()).is_err() {
            return Err(MovieError::TooManySamples {
                track: index,
                count: self.samples.len(),
            });
        }
        if let SampleEntry::Audio(audio) = &self.entry {
            audio
                .validate()
                .map_err(|error| MovieError::InvalidAudioEntry {
                    track: index,
                    error,
                })?;
        }
        Ok(())
    }

    /// Sum of the sample durations, in the track timescale (the `mdhd` duration).
    pub fn media_duration(&self) -> u64 {
        self.samples
            .iter()
            .map(|sample| u64::from(sample.duration))
            .sum()
    }

    /// The presentation duration in `movie_timescale` (the `tkhd` duration):
    /// the edit's segment duration, or else the media duration rounded up.
    /// `None` when the conversion overflows or a timescale is zero.
    pub fn presentation_duration(&self, movie_timescale: u32) -> Option<u64> {
        match self.edit {
            Some(edit) => edit.delay.checked_add(edit.segment_duration),
            None => rescale_ceil(self.media_duration(), self.timescale, movie_timescale),
        }
    }
}

/// `value * to / from`, rounded up (as FFmpeg does for track durations).
fn rescale_ceil(value: u64, from: u32, to: u32) -> Option<u64> {
    if from == 0 {
        return None;
    }
    let from = u128::from(from);
    let scaled = (u128::from(value) * u128::from(to)).div_ceil(from);
    u64::try_from(scaled).ok()
}

/// Whether a duration can go in a version-0 box. All-ones is excluded because
/// it means "unknown duration" in `mvhd`, `tkhd` and `mdhd`.
fn fits_version_0(value: u64) -> bool {
    value < u64::from(u32::MAX)
}

/// Builds the `moov` box.
///
/// `sample_offsets[track][sample]` is the absolute file offset of each sample.
/// Chunks are the maximal runs of consecutive samples of a track stored
/// contiguously (`offset[i + 1] == offset[i] + size[i]`).
pub fn build_moov(movie: &Movie, sample_offsets: &[Vec<u64>]) -> Result<Vec<u8>, MovieError> {
    movie.validate()?;
    check_offsets_shape(movie, sample_offsets)?;
    let track_durations = movie
        .tracks
        .iter()
        .enumerate()
        .map(|(index, track)| {
            track
                .presentation_duration(movie.timescale)
                .ok_or(MovieError::DurationOverflow { track: index })
        })
        .collect::<Result<Vec<u64>, MovieError>>()?;
    let movie_duration = track_durations.iter().copied().max().unwrap_or(0);
    // validate() bounded the track count below u32::MAX.
    let next_track_id = u32::try_from(movie.tracks.len() + 1).unwrap_or(u32::MAX);

    let mut w = BoxWriter::new();
    w.with_box(*b"moov", |w| {
        write_mvhd(w, movie.timescale, movie_duration, next_track_id);
        for (track_id, ((track, duration), offsets)) in
            (1u32..).zip(movie.tracks.iter().zip(track_durations).zip(sample_offsets))
        {
            write_trak(w, track, track_id, duration, offsets);
        }
    });
    Ok(w.finish()?)
}

fn check_offsets_shape(movie: &Movie, sample_offsets: &[Vec<u64>]) -> Result<(), MovieError> {
    if sample_offsets.len() != movie.tracks.len() {
        return Err(MovieError::OffsetTrackCountMismatch {
            given: sample_offsets.len(),
            expected: movie.tracks.len(),
        });
    }
    for (index, (track, offsets)) in movie.tracks.iter().zip(sample_offsets).enumerate() {
        if offsets.len() != track.samples.len() {
            return Err(MovieError::OffsetCountMismatch {
                track: index,
                given: offsets.len(),
                expected: track.samples.len(),
            });
        }
    }
    Ok(())
}

/// Rotation/scale matrix of the movie and track headers: identity, in the
/// 16.16 / 16.16 / 2.30 fixed-point layout the spec uses.
const IDENTITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn write_matrix(w: &mut BoxWriter) {
    for value in IDENTITY_MATRIX {
        w.u32(value);
    }
}

/// Writes creation time, modification time (both 0: unknown), then whatever
/// `middle` writes (timescale or track ID), then the duration, with field
/// widths chosen by `version`.
fn write_times_and_duration(
    w: &mut BoxWriter,
    version: u8,
    duration: u64,
    middle: impl FnOnce(&mut BoxWriter),
) {
    if version == 1 {
        w.u64(0);
        w.u64(0);
        middle(w);
        w.u64(duration);
    } else {
        w.u32(0);
        w.u32(0);
        middle(w);
        // Only reached when fits_version_0(duration).
        w.u32(u32::try_from(duration).unwrap_or(u32::MAX));
    }
}

fn version_for(duration: u64) -> u8 {
    if fits_version_0(duration) {
        0
    } else {
        1
    }
}

fn write_mvhd(w: &mut BoxWriter, timescale: u32, duration: u64, next_track_id: u32) {
    let version = version_for(duration);
    w.with_full_box(*b"mvhd", version, 0, |w| {
        write_times_and_duration(w, version, duration, |w| w.u32(timescale));
        w.u32(0x0001_0000); // preferred rate 1.0
        w.i16(0x0100); // preferred volume 1.0
        w.zeros(2 + 4 * 2); // reserved
        write_matrix(w);
        w.zeros(4 * 6); // pre_defined
        w.u32(next_track_id);
    });
}

fn write_trak(w: &mut BoxWriter, track: &Track, track_id: u32, duration: u64, offsets: &[u64]) {
    w.with_box(*b"trak", |w| {
        write_tkhd(w, track, track_id, duration);
        if let Some(edit) = track.edit {
            w.with_box(*b"edts", |w| write_elst(w, edit));
        }
        w.with_box(*b"mdia", |w| {
            write_mdhd(w, track.timescale, track.media_duration());
            write_hdlr(w, &track.entry);
            w.with_box(*b"minf", |w| {
                write_media_header(w, &track.entry);
                write_dinf(w);
                write_stbl(w, track, offsets);
            });
        });
    });
}

/// Track header flags: enabled | in movie | in preview.
const TRACK_FLAGS: u32 = 0x7;

fn write_tkhd(w: &mut BoxWriter, track: &Track, track_id: u32, duration: u64) {
    let version = version_for(duration);
    let (width, height) = display_size_16_16(&track.entry);
    w.with_full_box(*b"tkhd", version, TRACK_FLAGS, |w| {
        write_times_and_duration(w, version, duration, |w| {
            w.u32(track_id);
            w.u32(0); // reserved
        });
        w.zeros(4 * 2); // reserved
        w.i16(0); // layer
        w.i16(0); // alternate_group
        w.i16(track_volume(&track.entry));
        w.zeros(2); // reserved
        write_matrix(w);
        w.u32(width);
        w.u32(height);
    });
}

/// Track volume in 8.8 fixed point: full (1.0) for audio; the spec requires 0 for visual tracks.
fn track_volume(entry: &SampleEntry) -> i16 {
    match entry {
        SampleEntry::Video(_) => 0,
        SampleEntry::Audio(_) => 0x0100,
    }
}

/// Display size as 16.16 fixed point: the coded size with the width scaled by
/// the pixel aspect ratio, as FFmpeg and qtmux do, so players that only read
/// `tkhd` show the picture undistorted. Audio has no picture: 0 x 0.
fn display_size_16_16(entry: &SampleEntry) -> (u32, u32) {
    match entry {
        SampleEntry::Audio(_) => (0, 0),
        SampleEntry::Video(video) => {
            let width = u128::from(video.width) << 16;
            let height = u32::from(video.height) << 16;
            let width = match effective_pixel_aspect_ratio(video) {
                Some((h_spacing, v_spacing)) => {
                    let (h_spacing, v_spacing) = (u128::from(h_spacing), u128::from(v_spacing));
                    (width * h_spacing + v_spacing / 2) / v_spacing
                }
                None => width,
            };
            (u32::try_from(width).unwrap_or(u32::MAX), height)
        }
    }
}

/// The pixel aspect ratio worth a `pasp` box: set, not square, not unknown (zero).
fn effective_pixel_aspect_ratio(video: &VideoSampleEntry) -> Option<(u32, u32)> {
    video.pixel_aspect_ratio.filter(|&(h_spacing, v_spacing)| {
        h_spacing != 0 && v_spacing != 0 && h_spacing != v_spacing
    })
}

/// Media time of an empty edit: nothing is presented for its duration.
const EMPTY_EDIT: i64 = -1;

fn write_elst(w: &mut BoxWriter, edit: Edit) {
    let mut entries = Vec::with_capacity(2);
    if edit.delay > 0 {
        entries.push((edit.delay, EMPTY_EDIT));
    }
    entries.push((edit.segment_duration, edit.media_time));
    let version = if entries.iter().all(|&(duration, media_time)| {
        fits_version_0(duration) && i32::try_from(media_time).is_ok()
    }) {
        0
    } else {
        1
    };
    w.with_full_box(*b"elst", version, 0, |w| {
        w.u32(entry_count(entries.len()));
        for (segment_duration, media_time) in entries {
            if version == 0 {
                // Both fit: checked above.
                w.u32(u32::try_from(segment_duration).unwrap_or(u32::MAX));
                w.i32(i32::try_from(media_time).unwrap_or(-1));
            } else {
                w.u64(segment_duration);
                w.i64(media_time);
            }
            w.i16(1); // media_rate_integer
            w.i16(0); // media_rate_fraction
        }
    });
}

/// ISO 639-2/T "und" packed as three 5-bit letters offset by 0x60.
const LANGUAGE_UNDETERMINED: u16 =
    ((b'u' as u16 - 0x60) << 10) | ((b'n' as u16 - 0x60) << 5) | (b'd' as u16 - 0x60);

fn write_mdhd(w: &mut BoxWriter, timescale: u32, duration: u64) {
    let version = version_for(duration);
    w.with_full_box(*b"mdhd", version, 0, |w| {
        write_times_and_duration(w, version, duration, |w| w.u32(timescale));
        w.u16(LANGUAGE_UNDETERMINED);
        w.u16(0); // pre_defined
    });
}

fn write_hdlr(w: &mut BoxWriter, entry: &SampleEntry) {
    let (handler_type, name): ([u8; 4], &str) = match entry {
        SampleEntry::Video(_) => (*b"vide", "VideoHandler"),
        SampleEntry::Audio(_) => (*b"soun", "SoundHandler"),
    };
    w.with_full_box(*b"hdlr", 0, 0, |w| {
        w.u32(0); // pre_defined
        w.fourcc(handler_type);
        w.zeros(4 * 3); // reserved
        w.bytes(name.as_bytes());
        w.u8(0); // the name is a null-terminated string
    });
}

fn write_media_header(w: &mut BoxWriter, entry: &SampleEntry) {
    match entry {
        // Flags 1 is required by the spec for vmhd (a QuickTime legacy).
        SampleEntry::Video(_) => w.with_full_box(*b"vmhd", 0, 1, |w| {
            w.u16(0); // graphicsmode: copy
            w.zeros(2 * 3); // opcolor
        }),
        SampleEntry::Audio(_) => w.with_full_box(*b"smhd", 0, 0, |w| {
            w.i16(0); // balance: centre
            w.u16(0); // reserved
        }),
    }
}

fn write_dinf(w: &mut BoxWriter) {
    w.with_box(*b"dinf", |w| {
        w.with_full_box(*b"dref", 0, 0, |w| {
            w.u32(1); // entry_count
                      // Flag 1: the media data is in this file, so the URL is omitted.
            w.with_full_box(*b"url ", 0, 1, |_| {});
        });
    });
}

fn write_stbl(w: &mut BoxWriter, track: &Track, offsets: &[u64]) {
    let samples = &track.samples;
    let chunks = chunks(samples, offsets);
    w.with_box(*b"stbl", |w| {
        write_stsd(w, &track.entry);
        write_stts(w, samples);
        write_ctts(w, samples);
        write_stss(w, samples);
        write_stsc(w, &chunks);
        write_stsz(w, samples);
        write_chunk_offsets(w, &chunks);
    });
}

fn write_stsd(w: &mut BoxWriter, entry: &SampleEntry) {
    w.with_full_box(*b"stsd", 0, 0, |w| {
        w.u32(1); // entry_count
        match entry {
            SampleEntry::Video(video) => write_visual_sample_entry(w, video),
            SampleEntry::Audio(audio) => write_audio_sample_entry(w, audio),
        }
    });
}

/// Screen resolution of the visual sample entry: 72 dpi in 16.16.
const RESOLUTION_72_DPI: u32 = 0x0048_0000;

fn write_visual_sample_entry(w: &mut BoxWriter, video: &VideoSampleEntry) {
    w.with_box(video.fourcc, |w| {
        // SampleEntry
        w.zeros(6); // reserved
        w.u16(1); // data_reference_index: the single `url ` entry
                  // VisualSampleEntry
        w.u16(0); // pre_defined
        w.u16(0); // reserved
        w.zeros(4 * 3); // pre_defined
        w.u16(video.width);
        w.u16(video.height);
        w.u32(RESOLUTION_72_DPI);
        w.u32(RESOLUTION_72_DPI);
        w.u32(0); // reserved
        w.u16(1); // frame_count: one frame per sample
        w.zeros(32); // compressorname: empty Pascal string, zero padded
        w.u16(0x0018); // depth: colour, no alpha
        w.i16(-1); // pre_defined
        w.with_box(video.config_fourcc, |w| w.bytes(&video.config));
        if let Some((h_spacing, v_spacing)) = effective_pixel_aspect_ratio(video) {
            w.with_box(*b"pasp", |w| {
                w.u32(h_spacing);
                w.u32(v_spacing);
            });
        }
    });
}

/// Collapses consecutive equal values into (count, value) runs.
///
/// Callers pass at most u32::MAX values (checked by `Movie::validate`).
fn run_lengths<T: PartialEq + Copy>(values: impl IntoIterator<Item = T>) -> Vec<(u32, T)> {
    let mut runs: Vec<(u32, T)> = Vec::new();
    for value in values {
        match runs.last_mut() {
            Some((count, last)) if *last == value => *count = count.saturating_add(1),
            _ => runs.push((1, value)),
        }
    }
    runs
}

/// Entry counts are bounded by the sample count, which fits u32.
fn entry_count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn write_stts(w: &mut BoxWriter, samples: &[Sample]) {
    let runs = run_lengths(samples.iter().map(|sample| sample.duration));
    w.with_full_box(*b"stts", 0, 0, |w| {
        w.u32(entry_count(runs.len()));
        for (count, duration) in runs {
            w.u32(count);
            w.u32(duration);
        }
    });
}

/// Omitted when every offset is zero (presentation order is decode order).
/// Version 1 stores signed offsets; version 0 is kept when none is negative
/// because older readers only know it.
fn write_ctts(w: &mut BoxWriter, samples: &[Sample]) {
    if samples.iter().all(|sample| sample.composition_offset == 0) {
        return;
    }
    let version = if samples.iter().any(|sample| sample.composition_offset < 0) {
        1
    } else {
        0
    };
    let runs = run_lengths(samples.iter().map(|sample| sample.composition_offset));
    w.with_full_box(*b"ctts", version, 0, |w| {
        w.u32(entry_count(runs.len()));
        for (count, offset) in runs {
            w.u32(count);
            // Same bits either way: version 0 only when all are non-negative.
            w.i32(offset);
        }
    });
}

/// Omitted when every sample is a sync sample, which is what its absence means.
fn write_stss(w: &mut BoxWriter, samples: &[Sample]) {
    if samples.iter().all(|sample| sample.sync) {
        return;
    }
    let sync_numbers: Vec<u32> = (1u32..)
        .zip(samples)
        .filter(|(_, sample)| sample.sync)
        .map(|(number, _)| number)
        .collect();
    w.with_full_box(*b"stss", 0, 0, |w| {
        w.u32(entry_count(sync_numbers.len()));
        for number in sync_numbers {
            w.u32(number);
        }
    });
}

/// Uses the compact constant-size form when all samples share a size. A
/// common size of 0 cannot use it: `sample_size == 0` announces a table.
fn write_stsz(w: &mut BoxWriter, samples: &[Sample]) {
    let first_size = samples.first().map_or(0, |sample| sample.size);
    let constant_size = first_size != 0 && samples.iter().all(|sample| sample.size == first_size);
    w.with_full_box(*b"stsz", 0, 0, |w| {
        if constant_size {
            w.u32(first_size);
            w.u32(entry_count(samples.len()));
        } else {
            w.u32(0);
            w.u32(entry_count(samples.len()));
            for sample in samples {
                w.u32(sample.size);
            }
        }
    });
}

/// A run of samples of one track stored back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Chunk {
    offset: u64,
    sample_count: u32,
}

/// Splits a track into chunks: maximal runs of contiguous samples.
fn chunks(samples: &[Sample], offsets: &[u64]) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut end_of_previous: Option<u64> = None;
    for (sample, &offset) in samples.iter().zip(offsets) {
        match chunks.last_mut() {
            Some(chunk) if end_of_previous == Some(offset) => {
                chunk.sample_count = chunk.sample_count.saturating_add(1);
            }
            _ => chunks.push(Chunk {
                offset,
                sample_count: 1,
            }),
        }
        end_of_previous = offset.checked_add(u64::from(sample.size));
    }
    chunks
}

fn write_stsc(w: &mut BoxWriter, chunks: &[Chunk]) {
    let runs = run_lengths(chunks.iter().map(|chunk| chunk.sample_count));
    w.with_full_box(*b"stsc", 0, 0, |w| {
        w.u32(entry_count(runs.len()));
        let mut first_chunk: u32 = 1;
        for (chunk_count, samples_per_chunk) in runs {
            w.u32(first_chunk);
            w.u32(samples_per_chunk);
            w.u32(1); // sample_description_index: the single stsd entry
            first_chunk = first_chunk.saturating_add(chunk_count);
        }
    });
}

/// `stco` holds 32-bit offsets; switch the whole table to `co64` as soon as
/// one chunk starts beyond 4 GiB.
fn write_chunk_offsets(w: &mut BoxWriter, chunks: &[Chunk]) {
    let count = entry_count(chunks.len());
    let narrow: Option<Vec<u32>> = chunks
        .iter()
        .map(|chunk| u32::try_from(chunk.offset).ok())
        .collect();
    match narrow {
        Some(offsets) => w.with_full_box(*b"stco", 0, 0, |w| {
            w.u32(count);
            for offset in offsets {
                w.u32(offset);
            }
        }),
        None => w.with_full_box(*b"co64", 0, 0, |w| {
            w.u32(count);
            for chunk in chunks {
                w.u64(chunk.offset);
            }
        }),
    }
}

#[cfg(test)]
#[path = "movie_tests.rs"]
mod tests;
