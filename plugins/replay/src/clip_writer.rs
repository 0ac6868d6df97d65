//! Writes a clip selected from the ring as a finished MP4 in one sequential pass.
//!
//! The whole sample table is known from the snapshot, so `ftyp` and `moov` go first and the
//! payloads follow straight from the ring's buffers: no temporary copy of the media.

use std::io::Write;

use crate::codec::{self, Piece};
use crate::mp4::{self, Movie};
use crate::ring::{Clip, Frame};
use crate::sample_table::{self, SampleTiming};
use crate::stream_format::{FormatError, StreamFormat};
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
    /// Samples stored, including the decode-only lead-in from the keyframe.
    pub samples: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("frame {index} is not a valid access unit: {source}")]
    AccessUnit {
        index: usize,
        source: codec::CodecError,
    },
    #[error("frame {index} could not be read: it is not mappable")]
    Unmappable { index: usize },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// One frame mapped for reading, with the pieces its MP4 sample is made of.
struct PlannedSample {
    data: gst::MappedBuffer<gst::buffer::Readable>,
    pieces: Vec<Piece>,
    size: u32,
}

pub fn write_clip<W: Write>(
    clip: &Clip<gst::Buffer, StreamFormat>,
    out: &mut W,
) -> Result<ClipSummary, ClipError> {
    let format = &*clip.format;
    let planned = plan_samples(&clip.frames, format)?;
    let entry = format.sample_entry(planned[0].data.as_slice())?;
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
    let movie = sample_table::video_movie(
        entry,
        &timings,
        format.framerate,
        clip.presentation_start..clip.presentation_end,
    );
    let bytes = mp4::write_faststart(out, &movie, |out, _track, index| {
        write_pieces(out, &planned[index].data, &planned[index].pieces)
    })?;

    Ok(ClipSummary {
        bytes,
        duration: presented_nanos(&movie),
        frames: clip.presented_frames,
        samples: planned.len() as u64,
    })
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
    let framing = format.framing();
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
            let mut pieces = Vec::with_capacity(1);
            let size =
                codec::plan_sample(format.codec, data.as_slice(), framing, strip, &mut pieces)
                    .map_err(|source| ClipError::AccessUnit { index, source })?;
            Ok(PlannedSample { data, pieces, size })
        })
        .collect()
}

/// Writes one sample from its pieces.
pub fn write_pieces(out: &mut dyn Write, data: &[u8], pieces: &[Piece]) -> std::io::Result<()> {
    for piece in pieces {
        match piece {
            Piece::Data(range) => out.write_all(&data[range.clone()])?,
            Piece::Length4(length) => out.write_all(&length.to_be_bytes())?,
        }
    }
    Ok(())
}
