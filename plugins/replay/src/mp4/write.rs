//! The two MP4 file writers.
//!
//! * [`write_faststart`]: the whole sample table is known up front, so `moov`
//!   goes before `mdat` and the file is written in one sequential pass.
//! * [`StreamingWriter`]: samples are appended as they come and `moov` is
//!   written last; the `mdat` size is patched by seeking back.

use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;

use super::movie::{build_moov, ftyp, Movie};

/// Length of an `mdat` header whose 32-bit size field holds the box size.
const MDAT_HEADER_LEN: u64 = 8;
/// Length of an `mdat` header with `size == 1` and a 64-bit `largesize`.
const MDAT_LARGE_HEADER_LEN: u64 = 16;

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn invalid_data(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The `mdat` header for `payload_len` bytes of sample data: 8 bytes, or 16
/// (`size == 1` then a 64-bit `largesize`) when the box exceeds 32 bits.
pub fn mdat_header(payload_len: u64) -> Vec<u8> {
    match u32::try_from(payload_len.saturating_add(MDAT_HEADER_LEN)) {
        Ok(box_size) => [&box_size.to_be_bytes()[..], b"mdat"].concat(),
        Err(_) => {
            let box_size = payload_len.saturating_add(MDAT_LARGE_HEADER_LEN);
            [&1u32.to_be_bytes()[..], b"mdat", &box_size.to_be_bytes()].concat()
        }
    }
}

// ---------------------------------------------------------------------------
// Faststart: ftyp, moov, mdat in one pass.
// ---------------------------------------------------------------------------

/// The layout of a file written as `ftyp`, `moov`, then `mdat`: every byte before the first
/// sample (the header), then the samples of all tracks interleaved in chunks by decode time
/// (about 0.5 s of each track per chunk; for one track, in order).
///
/// The header is built from the sample table alone, before any sample byte is read, so the
/// file can be written in one sequential pass from wherever the samples already are.
#[derive(Debug)]
pub struct FaststartPlan {
    /// `ftyp`, `moov` and the `mdat` header.
    pub header: Vec<u8>,
    runs: Vec<ChunkRun>,
    payload_len: u64,
}

impl FaststartPlan {
    /// An invalid movie (see [`Movie::validate`]) fails with [`io::ErrorKind::InvalidInput`].
    pub fn new(movie: &Movie) -> io::Result<FaststartPlan> {
        movie.validate()?;
        let layout = InterleavedLayout::plan(movie);
        let ftyp = ftyp();
        let mdat_header = mdat_header(layout.payload_len);
        let moov = build_moov_before_mdat(movie, &layout, len_u64(&ftyp) + len_u64(&mdat_header))?;
        Ok(FaststartPlan {
            header: [ftyp, moov, mdat_header].concat(),
            runs: layout.runs,
            payload_len: layout.payload_len,
        })
    }

    /// Bytes in the file.
    pub fn file_len(&self) -> u64 {
        len_u64(&self.header) + self.payload_len
    }

    /// `(track, sample)` in the order their bytes follow the header.
    pub fn samples(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.runs
            .iter()
            .flat_map(|run| run.samples.clone().map(move |sample| (run.track, sample)))
    }
}

/// Writes `ftyp`, `moov`, then `mdat` in one sequential pass (no seeking; `out` may be a pipe).
///
/// `write_sample(out, track_index, sample_index)` must write exactly that
/// sample's `size` bytes; the writer counts them and fails with
/// [`io::ErrorKind::InvalidData`] otherwise. Samples are written in the order of
/// [`FaststartPlan::samples`]. Returns the number of bytes written. An invalid movie (see
/// [`Movie::validate`]) fails with [`io::ErrorKind::InvalidInput`] before anything is
/// written.
pub fn write_faststart<W: Write>(
    out: &mut W,
    movie: &Movie,
    mut write_sample: impl FnMut(&mut dyn Write, usize, usize) -> io::Result<()>,
) -> io::Result<u64> {
    let plan = FaststartPlan::new(movie)?;
    out.write_all(&plan.header)?;
    for (track, sample) in plan.samples() {
        let mut sink = SampleSink {
            out: &mut *out,
            track,
            sample,
            remaining: u64::from(movie.tracks[track].samples[sample].size),
        };
        write_sample(&mut sink, track, sample)?;
        sink.check_complete()?;
    }
    out.flush()?;
    Ok(plan.file_len())
}

fn len_u64(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// Builds `moov` for a file laid out as `ftyp`, `moov`, `mdat`.
///
/// The chunk offsets depend on the size of `moov` itself, which depends on
/// whether they need `co64`; so build, measure, and rebuild until the size
/// settles. Offsets only grow between rounds, so `stco` can switch to `co64`
/// at most once: three builds at most.
fn build_moov_before_mdat(
    movie: &Movie,
    layout: &InterleavedLayout,
    headers_len: u64,
) -> io::Result<Vec<u8>> {
    const MAX_BUILDS: usize = 4;
    let mut moov_len: u64 = 0;
    for _ in 0..MAX_BUILDS {
        let payload_start = headers_len.saturating_add(moov_len);
        let offsets = layout.absolute_offsets(payload_start)?;
        let moov = build_moov(movie, &offsets)?;
        if len_u64(&moov) == moov_len {
            return Ok(moov);
        }
        moov_len = len_u64(&moov);
    }
    Err(io::Error::other("the moov size did not settle"))
}

/// A run of consecutive samples of one track written back to back.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChunkRun {
    track: usize,
    samples: Range<usize>,
}

/// Where every sample goes in `mdat`, relative to the start of its payload.
#[derive(Debug)]
struct InterleavedLayout {
    /// Runs in file order.
    runs: Vec<ChunkRun>,
    /// `relative_offsets[track][sample]`, from the first payload byte.
    relative_offsets: Vec<Vec<u64>>,
    payload_len: u64,
}

impl InterleavedLayout {
    fn plan(movie: &Movie) -> Self {
        let runs = interleave_by_decode_time(movie);
        let mut relative_offsets: Vec<Vec<u64>> = movie
            .tracks
            .iter()
            .map(|track| Vec::with_capacity(track.samples.len()))
            .collect();
        let mut payload_len: u64 = 0;
        for run in &runs {
            for sample in &movie.tracks[run.track].samples[run.samples.clone()] {
                relative_offsets[run.track].push(payload_len);
                // At most 2^32 tracks * 2^32 samples * 2^32 bytes: cannot overflow
                // in practice, but saturate rather than wrap.
                payload_len = payload_len.saturating_add(u64::from(sample.size));
            }
        }
        Self {
            runs,
            relative_offsets,
            payload_len,
        }
    }

    fn absolute_offsets(&self, payload_start: u64) -> io::Result<Vec<Vec<u64>>> {
        self.relative_offsets
            .iter()
            .map(|offsets| {
                offsets
                    .iter()
                    .map(|offset| {
                        offset.checked_add(payload_start).ok_or_else(|| {
                            invalid_input("sample offsets overflow 64 bits".to_owned())
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

/// Decode time span of one interleaved chunk, as a fraction of a second:
/// short enough for players to read tracks in step, long enough to keep
/// the chunk tables small.
const CHUNK_SPAN_DIVISOR: u32 = 2;

/// Orders the samples of all tracks for `mdat`: repeatedly takes the track
/// whose next sample has the earliest decode time and emits about 0.5 s of it.
fn interleave_by_decode_time(movie: &Movie) -> Vec<ChunkRun> {
    let track_count = movie.tracks.len();
    let mut next_sample = vec![0usize; track_count];
    let mut next_decode_time = vec![0u64; track_count];
    let mut runs = Vec::new();
    while let Some(track_index) = earliest_pending_track(movie, &next_sample, &next_decode_time) {
        let track = &movie.tracks[track_index];
        let span = u64::from(track.timescale / CHUNK_SPAN_DIVISOR);
        let start = next_sample[track_index];
        let mut end = start;
        let mut elapsed: u64 = 0;
        // Take at least one sample, then stop once the span is covered.
        while let Some(sample) = track.samples.get(end) {
            elapsed = elapsed.saturating_add(u64::from(sample.duration));
            end += 1;
            if elapsed >= span {
                break;
            }
        }
        next_sample[track_index] = end;
        next_decode_time[track_index] = next_decode_time[track_index].saturating_add(elapsed);
        runs.push(ChunkRun {
            track: track_index,
            samples: start..end,
        });
    }
    runs
}

/// The track with samples left whose next decode time, in seconds, is the
/// earliest (ties go to the lower index).
fn earliest_pending_track(
    movie: &Movie,
    next_sample: &[usize],
    next_decode_time: &[u64],
) -> Option<usize> {
    let mut earliest: Option<usize> = None;
    for (index, track) in movie.tracks.iter().enumerate() {
        if next_sample[index] >= track.samples.len() {
            continue;
        }
        let is_earlier = match earliest {
            None => true,
            Some(best) => {
                // a / ta < b / tb  <=>  a * tb < b * ta, exact in u128.
                let this =
                    u128::from(next_decode_time[index]) * u128::from(movie.tracks[best].timescale);
                let other = u128::from(next_decode_time[best]) * u128::from(track.timescale);
                this < other
            }
        };
        if is_earlier {
            earliest = Some(index);
        }
    }
    earliest
}

/// Passes one sample's bytes through to the output, refusing more than its
/// size so a misbehaving callback cannot shift every following sample.
struct SampleSink<'a, W: Write> {
    out: &'a mut W,
    track: usize,
    sample: usize,
    remaining: u64,
}

impl<W: Write> SampleSink<'_, W> {
    fn check_complete(&self) -> io::Result<()> {
        if self.remaining == 0 {
            return Ok(());
        }
        Err(invalid_data(format!(
            "track {} sample {}: the callback wrote {} bytes fewer than the sample size",
            self.track, self.sample, self.remaining
        )))
    }
}

impl<W: Write> Write for SampleSink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if len_u64(buf) > self.remaining {
            return Err(invalid_data(format!(
                "track {} sample {}: the callback wrote more bytes than the sample size",
                self.track, self.sample
            )));
        }
        let written = self.out.write(buf)?;
        self.remaining -= len_u64(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

// ---------------------------------------------------------------------------
// Streaming: ftyp, free, mdat (patched), moov at the end.
// ---------------------------------------------------------------------------

/// Where one sample went in the file.
#[derive(Clone, Copy, Debug)]
struct WrittenSample {
    track: usize,
    offset: u64,
    size: u32,
}

/// Moov-at-end writer for streaming muxing (when the sample table is not known up front).
///
/// Layout: `ftyp`, an 8-byte `free` box, an `mdat` header whose size is
/// patched in [`StreamingWriter::finish`], the samples, then `moov`. The `free`
/// box reserves room to turn the `mdat` header into its 16-byte 64-bit form.
#[derive(Debug)]
pub struct StreamingWriter<W: Write + Seek> {
    out: W,
    /// Start of the 16 reserved bytes: the `free` box then the `mdat` header.
    mdat_header_pos: u64,
    /// Absolute position of the next sample byte (the current end of `mdat`).
    position: u64,
    written: Vec<WrittenSample>,
    /// Set once a write failed midway: the file position is unknown from then on.
    broken: bool,
}

/// The 16 bytes reserved before the samples: a `free` box, then an `mdat`
/// header with size 0 ("extends to the end of the file"), which stays
/// accurate enough for recovery tools if the process dies before `finish`.
fn reserved_mdat_header() -> [u8; 16] {
    let mut header = [0u8; 16];
    header[..8].copy_from_slice(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']);
    header[12..].copy_from_slice(b"mdat");
    header
}

/// Rewrites the 16 reserved bytes at `mdat_header_pos` for `payload_len`
/// bytes of samples: the 8-byte `mdat` header after the `free` box, or, when
/// the size exceeds 32 bits, a 16-byte 64-bit `mdat` header over both (the
/// trick FFmpeg plays with its `wide` box). The payload does not move either way.
/// Leaves the stream position just after the patched bytes.
fn patch_mdat_header<W: Write + Seek>(
    out: &mut W,
    mdat_header_pos: u64,
    payload_len: u64,
) -> io::Result<()> {
    let header = mdat_header(payload_len);
    // The small header sits in the second half of the reserved bytes, after `free`.
    let header_start = mdat_header_pos.saturating_add(MDAT_LARGE_HEADER_LEN - len_u64(&header));
    out.seek(SeekFrom::Start(header_start))?;
    out.write_all(&header)
}

impl<W: Write + Seek> StreamingWriter<W> {
    /// Writes `ftyp`, an 8-byte `free` box and an `mdat` header whose size is patched in `finish`.
    pub fn new(mut out: W) -> io::Result<Self> {
        let start = out.stream_position()?;
        let ftyp = ftyp();
        out.write_all(&ftyp)?;
        out.write_all(&reserved_mdat_header())?;
        let mdat_header_pos = start.saturating_add(len_u64(&ftyp));
        Ok(Self {
            out,
            mdat_header_pos,
            position: mdat_header_pos.saturating_add(MDAT_LARGE_HEADER_LEN),
            written: Vec::new(),
            broken: false,
        })
    }

    /// Bytes written so far, from the start of `ftyp` to the end of the last sample.
    pub fn bytes_written(&self) -> u64 {
        (self.position - self.mdat_header_pos).saturating_add(len_u64(&ftyp()))
    }

    /// Appends one sample's bytes (given as pieces) to `mdat`, recording its offset and size for `track`.
    ///
    /// A sample larger than 4 GiB fails with [`io::ErrorKind::InvalidInput`]
    /// before anything is written. After a failed write the writer is unusable.
    pub fn write_sample(&mut self, track: usize, pieces: &[&[u8]]) -> io::Result<()> {
        self.check_usable()?;
        let total: u64 = pieces
            .iter()
            .fold(0u64, |sum, piece| sum.saturating_add(len_u64(piece)));
        let size = u32::try_from(total).map_err(|_| {
            invalid_input(format!(
                "track {track}: a {total}-byte sample does not fit an MP4 sample size"
            ))
        })?;
        let offset = self.position;
        let end = offset
            .checked_add(u64::from(size))
            .ok_or_else(|| invalid_input("the file would grow beyond 64-bit offsets".to_owned()))?;
        for piece in pieces {
            if let Err(error) = self.out.write_all(piece) {
                self.broken = true;
                return Err(error);
            }
        }
        self.position = end;
        self.written.push(WrittenSample {
            track,
            offset,
            size,
        });
        Ok(())
    }

    /// Patches the mdat size (if it exceeds 32 bits, turns the `free`+`mdat` header into a 16-byte
    /// 64-bit `mdat` header, as FFmpeg does with its `wide` box), then writes `moov` with the recorded
    /// offsets. `movie`'s tracks must list the samples in the order they were written, with the same
    /// sizes (checked: InvalidInput otherwise). Returns the inner writer (caller syncs/renames).
    pub fn finish(mut self, movie: &Movie) -> io::Result<W> {
        self.check_usable()?;
        movie.validate()?;
        let offsets = self.sample_offsets(movie)?;
        // Build before touching the file so that an invalid movie leaves it as it was.
        let moov = build_moov(movie, &offsets)?;
        let payload_start = self.mdat_header_pos.saturating_add(MDAT_LARGE_HEADER_LEN);
        let payload_len = self.position.saturating_sub(payload_start);
        patch_mdat_header(&mut self.out, self.mdat_header_pos, payload_len)?;
        self.out.seek(SeekFrom::Start(self.position))?;
        self.out.write_all(&moov)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "an earlier write failed; the MP4 file is incomplete",
            ));
        }
        Ok(())
    }

    /// The recorded offsets, per track, after checking that `movie` lists the
    /// written samples in order with the same sizes.
    fn sample_offsets(&self, movie: &Movie) -> io::Result<Vec<Vec<u64>>> {
        let mut offsets: Vec<Vec<u64>> = movie
            .tracks
            .iter()
            .map(|track| Vec::with_capacity(track.samples.len()))
            .collect();
        for written in &self.written {
            let (Some(track), Some(track_offsets)) = (
                movie.tracks.get(written.track),
                offsets.get_mut(written.track),
            ) else {
                return Err(invalid_input(format!(
                    "a sample was written for track {}, but the movie has {} tracks",
                    written.track,
                    movie.tracks.len()
                )));
            };
            let index = track_offsets.len();
            match track.samples.get(index) {
                Some(sample) if sample.size == written.size => track_offsets.push(written.offset),
                Some(sample) => {
                    return Err(invalid_input(format!(
                        "track {} sample {index}: the movie says {} bytes, {} were written",
                        written.track, sample.size, written.size
                    )))
                }
                None => {
                    return Err(invalid_input(format!(
                        "track {}: more samples were written than the movie lists ({})",
                        written.track,
                        track.samples.len()
                    )))
                }
            }
        }
        for (index, (track, track_offsets)) in movie.tracks.iter().zip(&offsets).enumerate() {
            if track_offsets.len() != track.samples.len() {
                return Err(invalid_input(format!(
                    "track {index}: the movie lists {} samples, {} were written",
                    track.samples.len(),
                    track_offsets.len()
                )));
            }
        }
        Ok(offsets)
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
