//! Lays out a clip selected from the ring as a finished MP4 file made of memory that already
//! holds its bytes.
//!
//! The whole sample table is known from the snapshot, so `ftyp` and `moov` are built first,
//! and the payloads follow as slices of the ring's own mapped buffers: the file is a gather
//! list (see [`ClipFile::slices`]) that one sequential pass of vectored writes hands to the
//! kernel, with no user-space copy of the media.

use std::ops::Range;

use super::cut::{AudioClip, Clip};
use super::sample_table::{self, SampleTiming};
use crate::audio_format::AudioFormat;
use crate::codec;
use crate::mp4::{self, FaststartPlan, Movie};
use crate::ring::Frame;
use crate::stream_format::StreamFormat;
use crate::time::Nanos;
use crate::timing::TickClock;

/// A frame or packet of the clip, mapped for reading for as long as the clip is borrowed.
type Mapped<'a> = gst::BufferMap<'a, gst::buffer::Readable>;

/// What the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClipSummary {
    /// Bytes in the file.
    pub bytes: u64,
    /// Presented duration, as the file's edit list says it.
    pub duration: Nanos,
    /// Frames presented.
    pub frames: u64,
    /// Video samples stored, including the decode-only lead-in from the keyframe.
    pub samples: u64,
    /// Audio tracks written beside the video.
    pub audio_tracks: u32,
    /// Running time of the first presented frame: where the clip sits in the capture, so
    /// clips can be placed against each other.
    pub running_time: Nanos,
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

/// A clip as an MP4 file: the header this module built, then slices of the ring's buffers.
pub struct ClipFile<'a> {
    /// `ftyp`, `moov` and the `mdat` header.
    header: Vec<u8>,
    /// Every frame and packet of the clip, mapped for reading: video first, then each audio
    /// track's packets.
    buffers: Vec<Mapped<'a>>,
    /// The sample bytes in file order: (index in `buffers`, byte range).
    pieces: Vec<(usize, Range<usize>)>,
    pub summary: ClipSummary,
}

impl<'a> ClipFile<'a> {
    pub fn plan(clip: &'a Clip<gst::Buffer, StreamFormat, AudioFormat>) -> Result<Self, ClipError> {
        let format = &*clip.format;
        let video = plan_video(&clip.frames, format)?;
        let timings: Vec<SampleTiming> = clip
            .frames
            .iter()
            .zip(&video.sizes)
            .map(|(frame, &size)| SampleTiming {
                dts: frame.dts,
                pts: frame.pts,
                duration: frame.duration,
                keyframe: frame.keyframe,
                size,
            })
            .collect();
        let mut movie = sample_table::video_movie(
            format.sample_entry(),
            &timings,
            format.framerate,
            clip.presentation_start..clip.presentation_end,
        );
        let movie_clock = TickClock::new(timings[0].dts, movie.timescale);
        let mut buffers = video.buffers;
        // Where each track's packets start in `buffers`.
        let mut first_buffer_of_track = vec![0];
        for track in &clip.audio {
            first_buffer_of_track.push(buffers.len());
            let (packets, audio_track) = audio_track(track, &movie_clock, clip.presentation_start)?;
            movie.tracks.push(audio_track);
            buffers.extend(packets);
        }
        let plan = FaststartPlan::new(&movie)?;
        let mut pieces = Vec::with_capacity(buffers.len());
        for (track, sample) in plan.samples() {
            let buffer = first_buffer_of_track[track] + sample;
            if track == 0 {
                let ranges = &video.ranges[video.ranges_of_sample[sample].clone()];
                pieces.extend(ranges.iter().map(|range| (buffer, range.clone())));
            } else {
                pieces.push((buffer, 0..buffers[buffer].len()));
            }
        }
        let summary = ClipSummary {
            bytes: plan.file_len(),
            duration: presented_duration(&movie),
            frames: clip.presented_frames,
            samples: clip.frames.len() as u64,
            audio_tracks: clip.audio.len() as u32,
            running_time: clip.presentation_start,
        };
        Ok(ClipFile {
            header: plan.header,
            buffers,
            pieces,
            summary,
        })
    }

    /// The file's bytes, in order, as slices of memory that already holds them: the gather
    /// list that files and uploads are written from.
    pub fn slices(&self) -> Vec<&[u8]> {
        let mut slices = Vec::with_capacity(self.pieces.len() + 1);
        slices.push(self.header.as_slice());
        slices.extend(
            self.pieces
                .iter()
                .map(|(buffer, range)| &self.buffers[*buffer][range.clone()]),
        );
        slices
    }
}

/// The video frames mapped for reading, with the byte ranges each MP4 sample is made of.
struct PlannedVideo<'a> {
    buffers: Vec<Mapped<'a>>,
    /// Every sample's ranges, one after the other.
    ranges: Vec<Range<usize>>,
    /// Which of `ranges` belong to each sample.
    ranges_of_sample: Vec<Range<usize>>,
    sizes: Vec<u32>,
}

fn plan_video<'a>(
    frames: &'a [Frame<gst::Buffer>],
    format: &StreamFormat,
) -> Result<PlannedVideo<'a>, ClipError> {
    let strip = format.strips_parameter_sets();
    let mut planned = PlannedVideo {
        buffers: Vec::with_capacity(frames.len()),
        ranges: Vec::with_capacity(frames.len()),
        ranges_of_sample: Vec::with_capacity(frames.len()),
        sizes: Vec::with_capacity(frames.len()),
    };
    for (index, frame) in frames.iter().enumerate() {
        let data = frame
            .payload
            .map_readable()
            .map_err(|_| ClipError::Unmappable { index })?;
        let first = planned.ranges.len();
        let size = codec::sample_ranges(
            format.codec,
            data.as_slice(),
            format.nal_length_size,
            strip,
            &mut planned.ranges,
        )
        .map_err(|source| ClipError::AccessUnit { index, source })?;
        planned.ranges_of_sample.push(first..planned.ranges.len());
        planned.sizes.push(size);
        planned.buffers.push(data);
    }
    Ok(planned)
}

/// An audio track of the clip: packets written as they are, timed on the video's clock.
fn audio_track<'a>(
    clip: &'a AudioClip<gst::Buffer, AudioFormat>,
    movie_clock: &TickClock,
    movie_start: Nanos,
) -> Result<(Vec<Mapped<'a>>, mp4::Track), ClipError> {
    let invalid = |reason: String| ClipError::Audio {
        track: clip.track,
        reason,
    };
    let packets = clip
        .packets
        .iter()
        .map(|packet| packet.payload.map_readable())
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
    Ok((packets, track))
}

/// The presented duration the file's edit list says.
fn presented_duration(movie: &Movie) -> Nanos {
    let edit = movie.tracks[0]
        .edit
        .expect("clips always have an edit list");
    TickClock::ticks_to_nanos(movie.timescale, edit.segment_duration as i64)
}
