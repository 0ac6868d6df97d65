//! Writes a clip selected from the ring as a finished MP4 in one sequential pass.
//!
//! The whole sample table is known from the snapshot, so `ftyp` and `moov` go first and the
//! payloads follow straight from the ring's buffers: no temporary copy of the media.

use std::io::Write;
use std::ops::Range;

use super::cut::{AudioClip, Clip};
use super::sample_table::{self, SampleTiming};
use crate::audio_format::AudioFormat;
use crate::codec;
use crate::mp4::{self, Movie};
use crate::ring::Frame;
use crate::stream_format::StreamFormat;
use crate::timing::TickClock;

/// What was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClipSummary {
    /// Bytes in the file.
    pub bytes: u64,
    /// Presented duration in nanoseconds, as the file's edit list says it.
    pub duration: u64,
    /// Frames presented.
    pub frames: u64,
    /// Video samples stored, including the decode-only lead-in from the keyframe.
    pub samples: u64,
    /// Audio tracks written beside the video.
    pub audio_tracks: u32,
    /// Running time (stream nanoseconds) of the first presented frame: where the clip sits
    /// in the capture, so clips can be placed against each other.
    pub running_time: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("frame {index} is not a valid access unit: {source}")]
    AccessUnit {
        index: usize,
        source: codec::CodecError,
    },
    #[error("frame {index} could not be read: it is not mappable")]
    Unmappable { index: usize },
    #[error("audio track {track}: {reason}")]
    Audio { track: usize, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One frame mapped for reading, with the byte ranges its MP4 sample is made of.
struct PlannedSample {
    data: gst::MappedBuffer<gst::buffer::Readable>,
    ranges: Vec<Range<usize>>,
    size: u32,
}

/// The packets of one audio track, mapped for reading.
struct PlannedAudio {
    packets: Vec<gst::MappedBuffer<gst::buffer::Readable>>,
}

pub fn write_clip<W: Write>(
    clip: &Clip<gst::Buffer, StreamFormat, AudioFormat>,
    out: &mut W,
) -> Result<ClipSummary, ClipError> {
    let format = &*clip.format;
    let planned = plan_samples(&clip.frames, format)?;
    let entry = format.sample_entry();
    let timings: Vec<SampleTiming> = clip
        .frames
        .iter()
        .zip(&planned)
        .map(|(frame, sample)| SampleTiming {
            dts: frame.dts,
            pts: frame.pts,
            duration: frame.duration,
            keyframe: frame.keyframe,
            size: sample.size,
        })
        .collect();
    let mut movie = sample_table::video_movie(
        entry,
        &timings,
        format.framerate,
        clip.presentation_start..clip.presentation_end,
    );
    let movie_clock = TickClock::new(timings[0].dts, movie.timescale);
    let mut audio = Vec::with_capacity(clip.audio.len());
    for track in &clip.audio {
        let (planned_audio, audio_track) =
            audio_track(track, &movie_clock, clip.presentation_start)?;
        movie.tracks.push(audio_track);
        audio.push(planned_audio);
    }
    let bytes = mp4::write_faststart(out, &movie, |out, track, index| match track {
        0 => planned[index]
            .ranges
            .iter()
            .try_for_each(|range| out.write_all(&planned[index].data[range.clone()])),
        audio_track => out.write_all(audio[audio_track - 1].packets[index].as_slice()),
    })?;

    Ok(ClipSummary {
        bytes,
        duration: presented_nanos(&movie),
        frames: clip.presented_frames,
        samples: planned.len() as u64,
        audio_tracks: audio.len() as u32,
        running_time: clip.presentation_start,
    })
}

/// An audio track of the clip: packets written as they are, timed on the video's clock.
fn audio_track(
    clip: &AudioClip<gst::Buffer, AudioFormat>,
    movie_clock: &TickClock,
    movie_start: i64,
) -> Result<(PlannedAudio, mp4::Track), ClipError> {
    let invalid = |reason: String| ClipError::Audio {
        track: clip.track,
        reason,
    };
    let packets = clip
        .packets
        .iter()
        .map(|packet| packet.payload.clone().into_mapped_buffer_readable())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("a packet is not mappable".into()))?;
    let timings: Vec<SampleTiming> = clip
        .packets
        .iter()
        .zip(&packets)
        .map(|(packet, data)| {
            Ok(SampleTiming {
                dts: packet.pts,
                pts: packet.pts,
                duration: packet.duration,
                keyframe: true,
                size: u32::try_from(data.len())
                    .map_err(|_| invalid("a packet exceeds 4 GiB".into()))?,
            })
        })
        .collect::<Result<_, ClipError>>()?;
    let entry = clip
        .format
        .sample_entry()
        .map_err(|err| invalid(err.to_string()))?;
    let track = sample_table::audio_track(
        entry,
        clip.format.timescale(),
        &timings,
        clip.presentation.clone(),
        movie_clock,
        movie_start,
    );
    Ok((PlannedAudio { packets }, track))
}

/// The presented duration the file's edit list says, in nanoseconds.
fn presented_nanos(movie: &Movie) -> u64 {
    let edit = movie.tracks[0]
        .edit
        .expect("clips always have an edit list");
    TickClock::ticks_to_nanos(movie.timescale, edit.segment_duration as i64) as u64
}

fn plan_samples(
    frames: &[Frame<gst::Buffer>],
    format: &StreamFormat,
) -> Result<Vec<PlannedSample>, ClipError> {
    let strip = format.strips_parameter_sets();
    frames
        .iter()
        .enumerate()
        .map(|(index, frame)| {
            let data = frame
                .payload
                .clone()
                .into_mapped_buffer_readable()
                .map_err(|_| ClipError::Unmappable { index })?;
            let mut ranges = Vec::with_capacity(1);
            let size = codec::sample_ranges(
                format.codec,
                data.as_slice(),
                format.nal_length_size,
                strip,
                &mut ranges,
            )
            .map_err(|source| ClipError::AccessUnit { index, source })?;
            Ok(PlannedSample { data, ranges, size })
        })
        .collect()
}
