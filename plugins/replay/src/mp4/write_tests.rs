//! Tests of the two file writers: layout, offsets, interleaving, 64-bit
//! switches, input checks, and ffprobe reading the result.

use std::io::{self, Cursor, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::ffprobe::{Ffprobe, Probe, Stream};
use test_support::mp4::{boxes, read_file, TrackInfo};

use super::super::testutil::{
    audio_track, ipbb, offsets, opus_entry, read, sample, samples, video_track, FRAME,
};
use super::super::{
    AudioCodecConfig, AudioSampleEntry, Edit, Movie, OpusConfig, Sample, SampleEntry, Track,
};
use super::*;

/// Recognisable bytes for sample `index` of `track`.
fn pattern(track: usize, index: usize, size: u32) -> Vec<u8> {
    let seed = (track * 101 + index * 7) as u8;
    (0..size).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn write_patterns(
    out: &mut dyn Write,
    movie: &Movie,
    track: usize,
    index: usize,
) -> io::Result<()> {
    out.write_all(&pattern(
        track,
        index,
        movie.tracks[track].samples[index].size,
    ))
}

/// Reads a complete file strictly into (top-level box types, the moov's tracks).
fn parse_file(file: &[u8]) -> (Vec<String>, Vec<TrackInfo>) {
    let read = read_file(file).unwrap_or_else(|error| panic!("malformed file: {error}"));
    (read.box_types(), read.movie().tracks.clone())
}

/// Every sample's bytes are where the moov says, inside mdat.
fn assert_samples_in_place(file: &[u8], tracks: &[TrackInfo]) {
    let mdat = read_file(file).unwrap().mdat_payload();
    for (track_index, track) in tracks.iter().enumerate() {
        for (index, sample) in track.samples.iter().enumerate() {
            let offset = sample.offset;
            let end = offset + u64::from(sample.size);
            assert!(
                offset >= mdat.start && end <= mdat.end,
                "sample outside mdat"
            );
            assert_eq!(
                &file[offset as usize..end as usize],
                pattern(track_index, index, sample.size),
                "track {track_index} sample {index}"
            );
        }
    }
}

fn two_track_movie() -> Movie {
    Movie {
        timescale: 1000,
        tracks: vec![
            video_track(12_800, ipbb(50), None), // 2 s at 25 fps
            video_track(1000, vec![sample(40, 100, 0, true); 20], None), // 2 s at 10 fps
        ],
    }
}

// ---------------------------------------------------------------------------
// Faststart
// ---------------------------------------------------------------------------

#[test]
fn faststart_writes_ftyp_moov_mdat_with_correct_offsets() {
    let movie = two_track_movie();
    let mut file = Vec::new();
    let written = write_faststart(&mut file, &movie, |out, t, s| {
        write_patterns(out, &movie, t, s)
    })
    .unwrap();
    assert_eq!(written, file.len() as u64);
    let (types, tracks) = parse_file(&file);
    assert_eq!(types, ["ftyp", "moov", "mdat"]);
    assert_eq!(&file[..ftyp().len()], ftyp());
    for (track, parsed) in movie.tracks.iter().zip(&tracks) {
        assert_eq!(samples(parsed), track.samples);
    }
    assert_samples_in_place(&file, &tracks);
    let payload: u64 = movie
        .tracks
        .iter()
        .flat_map(|t| &t.samples)
        .map(|s| u64::from(s.size))
        .sum();
    let mdat = &boxes(&file).unwrap()[2];
    assert_eq!((mdat.header_len, mdat.size), (8, payload + 8));
}

#[test]
fn interleaving_takes_half_a_second_of_the_earliest_track_at_a_time() {
    let movie = two_track_movie();
    let runs = interleave_by_decode_time(&movie);
    let seconds = |track: usize, samples: Range<usize>| {
        let ticks: u64 = movie.tracks[track].samples[samples]
            .iter()
            .map(|s| u64::from(s.duration))
            .sum();
        ticks as f64 / f64::from(movie.tracks[track].timescale)
    };
    let mut previous_start = 0.0;
    for run in &runs {
        let track_len = movie.tracks[run.track].samples.len();
        let span = seconds(run.track, run.samples.clone());
        let span_without_last = seconds(run.track, run.samples.start..run.samples.end - 1);
        assert!(
            span >= 0.5 || run.samples.end == track_len,
            "{run:?} too short"
        );
        assert!(span_without_last < 0.5, "{run:?} too long");
        let start = seconds(run.track, 0..run.samples.start);
        assert!(
            start >= previous_start,
            "{run:?} starts before the previous run"
        );
        previous_start = start;
    }
    // 25 fps chunks of 13 frames (0.52 s) against 10 fps chunks of 5 (0.5 s):
    // the 10 fps track is earlier at 0.5 s, so it gets two runs in a row once.
    let tracks: Vec<usize> = runs.iter().map(|run| run.track).collect();
    assert_eq!(tracks, [0, 1, 1, 0, 1, 0, 1, 0]);
    // Every sample exactly once, in order per track.
    for (index, track) in movie.tracks.iter().enumerate() {
        let order: Vec<usize> = runs
            .iter()
            .filter(|run| run.track == index)
            .flat_map(|run| run.samples.clone())
            .collect();
        assert_eq!(order, (0..track.samples.len()).collect::<Vec<_>>());
    }
}

#[test]
fn faststart_writes_samples_in_the_interleaved_order() {
    let movie = two_track_movie();
    let mut calls = Vec::new();
    let mut file = Vec::new();
    write_faststart(&mut file, &movie, |out, t, s| {
        calls.push((t, s));
        write_patterns(out, &movie, t, s)
    })
    .unwrap();
    let planned: Vec<(usize, usize)> = interleave_by_decode_time(&movie)
        .into_iter()
        .flat_map(|run| run.samples.map(move |s| (run.track, s)))
        .collect();
    assert_eq!(calls, planned);
    let (_, tracks) = parse_file(&file);
    // Consecutive runs of one track are contiguous, so they form one chunk.
    assert_eq!(tracks[0].chunk_count, 4);
    assert_eq!(tracks[1].chunk_count, 3);
    assert_samples_in_place(&file, &tracks);
}

#[test]
fn faststart_keeps_a_single_track_in_order_in_one_chunk() {
    let movie = Movie {
        timescale: 1000,
        tracks: vec![video_track(12_800, ipbb(60), None)],
    };
    let mut file = Vec::new();
    let mut next = 0;
    write_faststart(&mut file, &movie, |out, t, s| {
        assert_eq!((t, s), (0, next));
        next += 1;
        write_patterns(out, &movie, t, s)
    })
    .unwrap();
    let (_, tracks) = parse_file(&file);
    assert_eq!(
        tracks[0].chunk_count, 1,
        "contiguous runs merge into one chunk"
    );
    assert_samples_in_place(&file, &tracks);
}

#[test]
fn faststart_rejects_a_callback_that_writes_the_wrong_size() {
    let movie = Movie {
        timescale: 1000,
        tracks: vec![video_track(12_800, ipbb(4), None)],
    };
    let short = write_faststart(&mut Vec::new(), &movie, |out, t, s| {
        let size = movie.tracks[t].samples[s].size as usize;
        out.write_all(&vec![0; size - 1])
    });
    assert_eq!(short.unwrap_err().kind(), io::ErrorKind::InvalidData);

    let long = write_faststart(&mut Vec::new(), &movie, |out, t, s| {
        let size = movie.tracks[t].samples[s].size as usize;
        out.write_all(&vec![0; size])?;
        out.write_all(&[0])
    });
    assert_eq!(long.unwrap_err().kind(), io::ErrorKind::InvalidData);

    let failing = write_faststart(&mut Vec::new(), &movie, |_, _, _| {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "source gone"))
    });
    assert_eq!(failing.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn faststart_rejects_invalid_movies_before_writing() {
    let mut movie = two_track_movie();
    movie.tracks[1].samples.clear();
    let mut file = Vec::new();
    let error = write_faststart(&mut file, &movie, |_, _, _| Ok(())).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(file.is_empty());

    let no_tracks = Movie {
        timescale: 1000,
        tracks: vec![],
    };
    let error = write_faststart(&mut file, &no_tracks, |_, _, _| Ok(())).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

/// Keeps the first `keep` bytes written and only counts the rest, so a test
/// can write a multi-gigabyte file without storing it.
struct HeadCapture {
    keep: usize,
    head: Vec<u8>,
    total: u64,
}

impl Write for HeadCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.keep.saturating_sub(self.head.len()).min(buf.len());
        self.head.extend_from_slice(&buf[..room]);
        self.total += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const MIB: u32 = 1 << 20;
/// 4200 MiB of video: beyond 4 GiB (4096 MiB).
const LARGE_SAMPLE_COUNT: usize = 4200;

/// One track of 1 MiB samples and one of tiny samples, 10 per second each,
/// so chunks interleave and the later ones start beyond 4 GiB.
fn large_movie() -> Movie {
    Movie {
        timescale: 1000,
        tracks: vec![
            video_track(
                1000,
                vec![sample(MIB, 100, 0, true); LARGE_SAMPLE_COUNT],
                None,
            ),
            video_track(
                1000,
                vec![sample(10, 100, 0, true); LARGE_SAMPLE_COUNT],
                None,
            ),
        ],
    }
}

/// The offsets a sequential writer assigns when samples arrive in `calls` order.
fn offsets_in_call_order(movie: &Movie, calls: &[(usize, usize)], start: u64) -> Vec<Vec<u64>> {
    let mut offsets: Vec<Vec<u64>> = movie.tracks.iter().map(|_| Vec::new()).collect();
    let mut next = start;
    for &(t, s) in calls {
        offsets[t].push(next);
        next += u64::from(movie.tracks[t].samples[s].size);
    }
    offsets
}

#[test]
fn faststart_beyond_4_gib_uses_co64_and_a_64_bit_mdat_header() {
    let movie = large_movie();
    let big = vec![0u8; MIB as usize];
    let mut out = HeadCapture {
        keep: 1 << 20,
        head: Vec::new(),
        total: 0,
    };
    let mut calls = Vec::new();
    let written = write_faststart(&mut out, &movie, |sink, t, s| {
        calls.push((t, s));
        let size = movie.tracks[t].samples[s].size as usize;
        sink.write_all(&big[..size])
    })
    .unwrap();
    assert_eq!(written, out.total);

    let ftyp_len = ftyp().len();
    let moov_size = u32::from_be_bytes(out.head[ftyp_len..ftyp_len + 4].try_into().unwrap());
    let moov_end = ftyp_len + moov_size as usize;
    let moov = read(&out.head[ftyp_len..moov_end]);
    let tracks = &moov.movie.tracks;
    let stbl = moov.trak(0).path("mdia/minf/stbl");
    assert!(
        stbl.find_child(b"co64").is_some(),
        "co64 for offsets beyond 4 GiB"
    );

    let payload_len: u64 =
        u64::from(MIB) * LARGE_SAMPLE_COUNT as u64 + 10 * LARGE_SAMPLE_COUNT as u64;
    let mdat_header = &out.head[moov_end..moov_end + 16];
    assert_eq!(&mdat_header[..8], &[0, 0, 0, 1, b'm', b'd', b'a', b't']);
    assert_eq!(
        u64::from_be_bytes(mdat_header[8..].try_into().unwrap()),
        payload_len + 16
    );
    assert_eq!(written, moov_end as u64 + 16 + payload_len);

    let expected = offsets_in_call_order(&movie, &calls, moov_end as u64 + 16);
    assert!(expected[0].last().unwrap() > &u64::from(u32::MAX));
    for (parsed, expected) in tracks.iter().zip(&expected) {
        assert_eq!(&offsets(parsed), expected);
    }
}

#[test]
fn mdat_header_switches_to_64_bits_past_4_gib() {
    let fits = u64::from(u32::MAX) - 8;
    assert_eq!(
        mdat_header(fits),
        [&u32::MAX.to_be_bytes()[..], b"mdat"].concat()
    );
    let large = mdat_header(fits + 1);
    assert_eq!(large.len(), 16);
    assert_eq!(&large[..8], &[0, 0, 0, 1, b'm', b'd', b'a', b't']);
    assert_eq!(&large[8..], &(fits + 1 + 16).to_be_bytes());
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

/// Writes every sample of `movie` in `order`, split into two pieces each.
fn stream_samples<W: Write + Seek>(
    writer: &mut StreamingWriter<W>,
    movie: &Movie,
    order: &[(usize, usize)],
) {
    for &(t, s) in order {
        let bytes = pattern(t, s, movie.tracks[t].samples[s].size);
        let (first, second) = bytes.split_at(bytes.len() / 3);
        writer.write_sample(t, &[first, second]).unwrap();
    }
}

fn alternating_order(movie: &Movie) -> Vec<(usize, usize)> {
    let longest = movie
        .tracks
        .iter()
        .map(|t| t.samples.len())
        .max()
        .unwrap_or(0);
    (0..longest)
        .flat_map(|s| (0..movie.tracks.len()).map(move |t| (t, s)))
        .filter(|&(t, s)| s < movie.tracks[t].samples.len())
        .collect()
}

#[test]
fn streaming_writes_ftyp_free_mdat_moov_with_correct_offsets() {
    let movie = two_track_movie();
    let mut writer = StreamingWriter::new(Cursor::new(Vec::new())).unwrap();
    stream_samples(&mut writer, &movie, &alternating_order(&movie));
    let written = writer.bytes_written();
    let file = writer.finish(&movie).unwrap().into_inner();

    let boxes = boxes(&file).unwrap();
    let (types, tracks) = parse_file(&file);
    assert_eq!(types, ["ftyp", "free", "mdat", "moov"]);
    assert_eq!(boxes[1].size, 8);
    assert_eq!(boxes[2].header_len, 8);
    assert_eq!(
        written, boxes[3].start,
        "bytes_written ends where moov starts"
    );
    for (track, parsed) in movie.tracks.iter().zip(&tracks) {
        assert_eq!(samples(parsed), track.samples);
    }
    // Samples alternate between tracks, so each is its own chunk until the
    // 20-sample track runs out; the rest of the other track is one chunk.
    assert_eq!(tracks[1].chunk_count, 20);
    assert_eq!(tracks[0].chunk_count, 21);
    assert_samples_in_place(&file, &tracks);
}

#[test]
fn streaming_mdat_header_patch_switches_to_64_bits() {
    // A fake file: ftyp, the reserved free+mdat header, a few payload bytes.
    let ftyp = ftyp();
    let file = [&ftyp[..], &reserved_mdat_header(), b"payload"].concat();
    let header_pos = ftyp.len() as u64;

    let mut small = Cursor::new(file.clone());
    patch_mdat_header(&mut small, header_pos, 7).unwrap();
    let small = small.into_inner();
    let boxes = boxes(&small).unwrap();
    assert_eq!(boxes[1].fourcc, *b"free");
    assert_eq!((boxes[2].fourcc, boxes[2].size), (*b"mdat", 15));
    assert_eq!(boxes[2].payload, b"payload");

    // Pretend 5 GiB were written: the free box is absorbed into a 64-bit header.
    let fake_payload_len = 5u64 << 30;
    let mut large = Cursor::new(file.clone());
    patch_mdat_header(&mut large, header_pos, fake_payload_len).unwrap();
    let large = large.into_inner();
    assert_eq!(
        large.len(),
        file.len(),
        "patch only overwrites the reserved bytes"
    );
    let header = &large[ftyp.len()..ftyp.len() + 16];
    assert_eq!(&header[..8], &[0, 0, 0, 1, b'm', b'd', b'a', b't']);
    assert_eq!(
        u64::from_be_bytes(header[8..].try_into().unwrap()),
        fake_payload_len + 16
    );
    assert_eq!(
        &large[ftyp.len() + 16..],
        b"payload",
        "payload does not move"
    );
}

/// A `Write + Seek` file that stores small writes and only counts big ones,
/// so a test can stream more than 4 GiB and still read headers and `moov`.
#[derive(Default)]
struct SparseFile {
    writes: Vec<(u64, Vec<u8>)>,
    position: u64,
    len: u64,
}

impl SparseFile {
    const STORE_BELOW: usize = MIB as usize;

    /// The bytes at `offset..offset + len`, unstored ranges reading as zero.
    fn read_at(&self, offset: u64, len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        let end = offset + len as u64;
        for (at, data) in &self.writes {
            let data_end = at + data.len() as u64;
            let (from, to) = ((*at).max(offset), data_end.min(end));
            if from < to {
                bytes[(from - offset) as usize..(to - offset) as usize]
                    .copy_from_slice(&data[(from - at) as usize..(to - at) as usize]);
            }
        }
        bytes
    }
}

impl Write for SparseFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() < Self::STORE_BELOW {
            self.writes.push((self.position, buf.to_vec()));
        }
        self.position += buf.len() as u64;
        self.len = self.len.max(self.position);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SparseFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.position = match pos {
            SeekFrom::Start(n) => n,
            SeekFrom::End(d) => self.len.checked_add_signed(d).expect("seek"),
            SeekFrom::Current(d) => self.position.checked_add_signed(d).expect("seek"),
        };
        Ok(self.position)
    }
}

#[test]
fn streaming_beyond_4_gib_uses_co64_and_a_64_bit_mdat_header() {
    let movie = large_movie();
    let big = vec![0u8; MIB as usize];
    let order = alternating_order(&movie);
    let mut writer = StreamingWriter::new(SparseFile::default()).unwrap();
    for &(t, s) in &order {
        let size = movie.tracks[t].samples[s].size as usize;
        writer.write_sample(t, &[&big[..size]]).unwrap();
    }
    let file = writer.finish(&movie).unwrap();

    let ftyp_len = ftyp().len() as u64;
    let payload_start = ftyp_len + 16;
    let payload_len: u64 =
        u64::from(MIB) * LARGE_SAMPLE_COUNT as u64 + 10 * LARGE_SAMPLE_COUNT as u64;
    let header = file.read_at(ftyp_len, 16);
    assert_eq!(&header[..8], &[0, 0, 0, 1, b'm', b'd', b'a', b't']);
    assert_eq!(
        u64::from_be_bytes(header[8..].try_into().unwrap()),
        payload_len + 16
    );

    let moov_start = payload_start + payload_len;
    let moov_bytes = file.read_at(moov_start, (file.len - moov_start) as usize);
    let moov = read(&moov_bytes);
    assert_eq!(&moov.layout.fourcc, b"moov");
    assert!(moov
        .trak(0)
        .path("mdia/minf/stbl")
        .find_child(b"co64")
        .is_some());
    let tracks = &moov.movie.tracks;
    let expected = offsets_in_call_order(&movie, &order, payload_start);
    for (parsed, expected) in tracks.iter().zip(&expected) {
        assert_eq!(&offsets(parsed), expected);
    }
}

fn streamed_two_tracks() -> (Movie, StreamingWriter<Cursor<Vec<u8>>>) {
    let movie = two_track_movie();
    let mut writer = StreamingWriter::new(Cursor::new(Vec::new())).unwrap();
    stream_samples(&mut writer, &movie, &alternating_order(&movie));
    (movie, writer)
}

fn finish_error(writer: StreamingWriter<Cursor<Vec<u8>>>, movie: &Movie) -> io::Error {
    writer.finish(movie).expect_err("finish should fail")
}

#[test]
fn streaming_finish_rejects_a_movie_that_does_not_match_the_written_samples() {
    let (mut movie, writer) = streamed_two_tracks();
    movie.tracks[0].samples[3].size += 1;
    assert_eq!(
        finish_error(writer, &movie).kind(),
        io::ErrorKind::InvalidInput
    );

    let (mut movie, writer) = streamed_two_tracks();
    movie.tracks[1].samples.push(sample(40, 100, 0, true));
    assert_eq!(
        finish_error(writer, &movie).kind(),
        io::ErrorKind::InvalidInput
    );

    let (mut movie, writer) = streamed_two_tracks();
    movie.tracks[1].samples.pop();
    assert_eq!(
        finish_error(writer, &movie).kind(),
        io::ErrorKind::InvalidInput
    );

    let (mut movie, writer) = streamed_two_tracks();
    movie.tracks.pop();
    assert_eq!(
        finish_error(writer, &movie).kind(),
        io::ErrorKind::InvalidInput
    );

    let (mut movie, writer) = streamed_two_tracks();
    movie.tracks[0].samples.swap(0, 1);
    assert_eq!(
        finish_error(writer, &movie).kind(),
        io::ErrorKind::InvalidInput
    );

    let (mut movie, writer) = streamed_two_tracks();
    movie.tracks[1].samples.clear();
    assert_eq!(
        finish_error(writer, &movie).kind(),
        io::ErrorKind::InvalidInput
    );
}

#[test]
fn streaming_rejects_a_sample_over_4_gib_without_writing_it() {
    let piece = vec![0u8; MIB as usize];
    // 4097 references to one 1 MiB buffer: over 4 GiB without the memory.
    let pieces: Vec<&[u8]> = vec![&piece[..]; 4097];
    let mut writer = StreamingWriter::new(Cursor::new(Vec::new())).unwrap();
    let before = writer.bytes_written();
    let error = writer.write_sample(0, &pieces).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(writer.bytes_written(), before);
    // The writer is still usable.
    writer.write_sample(0, &[b"abc"]).unwrap();
    let movie = Movie {
        timescale: 1000,
        tracks: vec![video_track(1000, vec![sample(3, 10, 0, true)], None)],
    };
    writer.finish(&movie).unwrap();
}

/// Accepts `budget` bytes, then fails every write.
struct FailingFile {
    inner: Cursor<Vec<u8>>,
    budget: usize,
}

impl Write for FailingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.budget {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        self.budget -= buf.len();
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FailingFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn streaming_writer_refuses_to_continue_after_a_failed_write() {
    let out = FailingFile {
        inner: Cursor::new(Vec::new()),
        budget: 100,
    };
    let mut writer = StreamingWriter::new(out).unwrap();
    let error = writer.write_sample(0, &[b"abc", &[0; 100]]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    assert!(writer.write_sample(0, &[b"x"]).is_err());
    let movie = Movie {
        timescale: 1000,
        tracks: vec![video_track(1000, vec![sample(1, 10, 0, true)], None)],
    };
    assert!(writer.finish(&movie).is_err());
}

// ---------------------------------------------------------------------------
// ffprobe reads what we write
// ---------------------------------------------------------------------------

/// Removes the file when the test ends, pass or fail (set `KEEP_MP4` in the
/// environment to keep it for inspection).
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        Self(
            std::env::temp_dir().join(format!("mp4-writer-test-{}-{name}.mp4", std::process::id())),
        )
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if std::env::var_os("KEEP_MP4").is_none() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// A sample payload ffprobe accepts: one length-prefixed H.264 filler-data NAL unit.
fn filler_nal(size: u32) -> Vec<u8> {
    assert!(size >= 6);
    let mut bytes = (size - 4).to_be_bytes().to_vec();
    bytes.push(12); // nal_unit_type 12: filler data
    bytes.resize(size as usize - 1, 0xff);
    bytes.push(0x80); // rbsp trailing bits
    bytes
}

/// Streams and packets as ffprobe reads them. `noparse`: report the container's keyframe
/// flags (stss) rather than what the H.264 parser makes of the filler payloads.
fn ffprobe(path: &Path) -> Probe {
    Ffprobe::new()
        .arg("-fflags")
        .arg("+noparse")
        .packets()
        .streams()
        .run(path)
}

/// Checks ffprobe's view of one track: codec, size, start and duration, and
/// each packet's size, timestamps and keyframe flag.
fn assert_probed_track(probe: &Probe, index: usize, movie: &Movie) {
    let track = &movie.tracks[index];
    let stream = &probe.streams[index];
    assert_eq!(stream.codec_name, "h264");
    assert_eq!((stream.width, stream.height), (Some(320), Some(240)));
    assert_eq!(stream.time_base, format!("1/{}", track.timescale));

    // With an edit, presentation starts at its media time and lasts its segment.
    let media_start = track.edit.map_or(0, |edit| edit.media_time);
    let expected_duration = match track.edit {
        Some(edit) => edit.segment_duration as f64 / f64::from(movie.timescale),
        None => track.media_duration() as f64 / f64::from(track.timescale),
    };
    let duration = stream.duration();
    assert!(
        (duration - expected_duration).abs() < 1e-3,
        "duration {duration} != {expected_duration}"
    );
    assert_eq!(stream.start_time, Some(0.0));

    let packets: Vec<_> = probe
        .packets
        .iter()
        .filter(|p| p.stream_index as usize == index)
        .collect();
    assert_eq!(packets.len(), track.samples.len());
    // FFmpeg moves dts back by the most negative composition offset so that
    // dts <= pts holds (its `dts_shift`); pts stay as the file says.
    let dts_shift = track
        .samples
        .iter()
        .map(|s| -i64::from(s.composition_offset))
        .max()
        .unwrap_or(0)
        .max(0);
    let mut decode_time = -media_start;
    for (i, (packet, sample)) in packets.iter().zip(&track.samples).enumerate() {
        assert_eq!(packet.size, u64::from(sample.size), "size of {i}");
        assert_eq!(packet.dts, Some(decode_time - dts_shift), "dts of {i}");
        let pts = decode_time + i64::from(sample.composition_offset);
        assert_eq!(packet.pts, Some(pts), "pts of {i}");
        assert_eq!(
            packet.duration,
            Some(i64::from(sample.duration)),
            "duration of {i}"
        );
        let flags = &packet.flags;
        assert_eq!(
            packet.keyframe(),
            sample.sync,
            "keyframe flag of {i}: {flags}"
        );
        assert!(!packet.discarded(), "packet {i} discarded: {flags}");
        decode_time += i64::from(sample.duration);
    }
}

fn samples_for_ffprobe(samples: Vec<Sample>) -> Vec<Sample> {
    samples
        .into_iter()
        .map(|s| Sample {
            size: s.size.max(6),
            ..s
        })
        .collect()
}

#[test]
fn ffprobe_reads_a_faststart_file() {
    let frames = 40;
    let edit = Edit {
        media_time: i64::from(FRAME), // the first frame's composition offset
        segment_duration: frames as u64 * 40, // 40 frames of 40 ms,
        delay: 0,
    };
    let movie = Movie {
        timescale: 1000,
        tracks: vec![
            video_track(12_800, samples_for_ffprobe(ipbb(frames)), Some(edit)),
            video_track(90_000, vec![sample(50, 3600, 0, true); 25], None),
        ],
    };
    let path = TempFile::new("faststart");
    let mut file = io::BufWriter::new(std::fs::File::create(&path.0).unwrap());
    write_faststart(&mut file, &movie, |out, t, s| {
        out.write_all(&filler_nal(movie.tracks[t].samples[s].size))
    })
    .unwrap();
    drop(file);

    let probe = ffprobe(&path.0);
    assert_eq!(probe.streams.len(), 2);
    assert_probed_track(&probe, 0, &movie);
    assert_probed_track(&probe, 1, &movie);
}

#[test]
fn ffprobe_reads_a_streamed_file() {
    // Negative composition offsets (ctts version 1): I0 P3 B1 B2 without delay.
    let samples: Vec<Sample> = ipbb(24)
        .into_iter()
        .map(|s| Sample {
            composition_offset: s.composition_offset - FRAME as i32,
            ..s
        })
        .collect();
    let edit = Edit {
        media_time: 0,
        segment_duration: 24 * 40,
        delay: 0,
    };
    let movie = Movie {
        timescale: 1000,
        tracks: vec![video_track(
            12_800,
            samples_for_ffprobe(samples),
            Some(edit),
        )],
    };
    let path = TempFile::new("streaming");
    let mut writer = StreamingWriter::new(std::fs::File::create(&path.0).unwrap()).unwrap();
    for (index, sample) in movie.tracks[0].samples.iter().enumerate() {
        let bytes = filler_nal(sample.size);
        let (head, tail) = bytes.split_at(5 + index % 3);
        writer.write_sample(0, &[head, tail]).unwrap();
    }
    writer.finish(&movie).unwrap().sync_all().unwrap();

    let probe = ffprobe(&path.0);
    assert_eq!(probe.streams.len(), 1);
    assert_probed_track(&probe, 0, &movie);
}

// ---------------------------------------------------------------------------
// Audio: real AAC and Opus packets from GStreamer's encoders, read by FFmpeg
// ---------------------------------------------------------------------------

/// What an encoder produced: the caps it announced and its packets in order.
struct EncodedAudio {
    caps: gst::Caps,
    packets: Vec<Vec<u8>>,
}

/// Runs `audiotestsrc` (`buffers` buffers of 1024 samples, 48 kHz stereo)
/// through `encoder` and collects what comes out.
fn encode_audio(encoder: &str, buffers: u32) -> EncodedAudio {
    use gst::prelude::*;

    gst::init().expect("GStreamer initializes");
    let description = format!(
        "audiotestsrc num-buffers={buffers} samplesperbuffer=1024 \
         ! audio/x-raw,rate=48000,channels=2 ! {encoder} ! appsink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&description)
        .unwrap_or_else(|error| panic!("{description}: {error} (is the encoder installed?)"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .and_then(|sink| sink.downcast::<gst_app::AppSink>().ok())
        .expect("the appsink");
    pipeline.set_state(gst::State::Playing).expect("playing");

    let mut caps = None;
    let mut packets = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        caps.get_or_insert_with(|| sample.caps().expect("caps").to_owned());
        let buffer = sample.buffer().expect("a buffer");
        packets.push(buffer.map_readable().expect("readable").to_vec());
    }
    let bus = pipeline.bus().expect("a bus");
    if let Some(message) = bus.pop_filtered(&[gst::MessageType::Error]) {
        panic!("{description}: {message:?}");
    }
    assert!(sink.is_eos(), "{description}: timed out before EOS");
    pipeline.set_state(gst::State::Null).expect("stopped");
    EncodedAudio {
        caps: caps.expect("at least one packet"),
        packets,
    }
}

impl EncodedAudio {
    fn caps_structure(&self) -> &gst::StructureRef {
        self.caps.structure(0).expect("a caps structure")
    }

    /// AAC's `codec_data`: the AudioSpecificConfig.
    fn codec_data(&self) -> Vec<u8> {
        let codec_data = self
            .caps_structure()
            .get::<gst::Buffer>("codec_data")
            .expect("codec_data in the AAC caps");
        let bytes = codec_data.map_readable().expect("readable").to_vec();
        bytes
    }

    /// Opus's first `streamheader` buffer: the OpusHead.
    fn opus_head(&self) -> Vec<u8> {
        let headers = self
            .caps_structure()
            .get::<gst::ArrayRef>("streamheader")
            .expect("streamheader in the Opus caps");
        let first = headers
            .first()
            .and_then(|value| value.get::<gst::Buffer>().ok())
            .expect("a first streamheader buffer");
        let bytes = first.map_readable().expect("readable").to_vec();
        bytes
    }

    /// One sync sample per packet, each `duration` ticks long.
    fn samples(&self, duration: u32) -> Vec<Sample> {
        self.packets
            .iter()
            .map(|packet| sample(packet.len() as u32, duration, 0, true))
            .collect()
    }
}

/// Samples of AAC-LC and 20 ms Opus per packet, at 48 kHz.
const AAC_FRAME_SAMPLES: u32 = 1024;
const OPUS_FRAME_SAMPLES: u32 = 960;

/// Two seconds of H.264 filler (as in the tests above) and `audio` as track 2.
fn movie_with_audio(audio: Track) -> Movie {
    Movie {
        timescale: 1000,
        tracks: vec![
            video_track(12_800, samples_for_ffprobe(ipbb(50)), None),
            audio,
        ],
    }
}

/// Writes `movie` with `write_faststart`: filler NAL units for the video
/// track, the encoder's packets for the audio track.
fn write_audio_movie(path: &Path, movie: &Movie, packets: &[Vec<u8>]) {
    let mut file = io::BufWriter::new(std::fs::File::create(path).unwrap());
    write_faststart(&mut file, movie, |out, track, index| match track {
        0 => out.write_all(&filler_nal(movie.tracks[0].samples[index].size)),
        _ => out.write_all(&packets[index]),
    })
    .unwrap();
    file.into_inner().unwrap().sync_all().unwrap();
}

/// `ffprobe -show_streams -count_packets`: stream parameters and packet counts.
fn ffprobe_streams(path: &Path) -> Vec<Stream> {
    Ffprobe::new().streams().count_packets().run(path).streams
}

/// Decodes the audio track with FFmpeg and returns the number of samples per
/// channel, failing on any message other than the H.264 decoder's.
///
/// The video track holds filler-data NAL units, no pictures, so the H.264
/// decoder complains while FFmpeg probes the file; that is not under test here.
fn ffmpeg_decoded_audio_samples(path: &Path, channels: usize) -> usize {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a", "-f", "s16le", "-"])
        .output()
        .expect("this test needs ffmpeg on PATH");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with("[h264 @") && !line.trim().is_empty())
        .collect();
    assert!(
        output.status.success() && complaints.is_empty(),
        "ffmpeg decode failed or complained: {stderr}"
    );
    let frame_bytes = channels * 2;
    assert_eq!(output.stdout.len() % frame_bytes, 0, "whole s16le frames");
    output.stdout.len() / frame_bytes
}

/// The audio stream's codec, layout and packet count as ffprobe reports them,
/// and the video stream still intact beside it.
fn assert_probed_audio(
    path: &Path,
    codec_name: &str,
    channels: u32,
    sample_rate: u32,
    packets: usize,
) {
    let streams = ffprobe_streams(path);
    assert_eq!(streams.len(), 2);
    let video = &streams[0];
    assert_eq!(video.codec_name, "h264");
    assert_eq!(video.nb_read_packets, Some(50));
    let audio = &streams[1];
    assert_eq!(audio.codec_type, "audio");
    assert_eq!(audio.codec_name, codec_name);
    assert_eq!(audio.channels, Some(channels));
    assert_eq!(audio.sample_rate, Some(sample_rate));
    assert_eq!(audio.time_base, "1/48000");
    assert_eq!(audio.nb_read_packets, Some(packets as u64));
}

#[test]
fn ffmpeg_decodes_an_aac_track_beside_h264() {
    // 94 buffers of 1024 samples: two seconds, plus the encoder's priming frame.
    let encoded = encode_audio("avenc_aac", 94);
    let audio_specific_config = encoded.codec_data();
    let parsed = crate::audio_config::AudioSpecificConfig::parse(&audio_specific_config).unwrap();
    assert_eq!(
        (parsed.sample_rate, parsed.channel_count()),
        (48_000, Some(2))
    );
    let entry = SampleEntry::Audio(AudioSampleEntry {
        channels: 2,
        sample_rate: parsed.sample_rate,
        codec: AudioCodecConfig::Aac {
            audio_specific_config,
            avg_bitrate: 0,
            max_bitrate: 0,
            buffer_size: 0,
        },
    });
    let track = audio_track(entry, 48_000, encoded.samples(AAC_FRAME_SAMPLES));
    let movie = movie_with_audio(track);
    let path = TempFile::new("aac");
    write_audio_movie(&path.0, &movie, &encoded.packets);

    let packets = encoded.packets.len();
    assert_probed_audio(&path.0, "aac", 2, 48_000, packets);
    // Without an edit list nothing is trimmed: every packet decodes to one full frame.
    assert_eq!(
        ffmpeg_decoded_audio_samples(&path.0, 2),
        packets * AAC_FRAME_SAMPLES as usize
    );
}

#[test]
fn ffmpeg_decodes_an_opus_track_beside_h264() {
    let encoded = encode_audio("opusenc frame-size=20", 94);
    let config = OpusConfig::from_opus_head(&encoded.opus_head()).unwrap();
    assert_eq!(
        (config.output_channels, config.channel_mapping_family),
        (2, 0)
    );
    let pre_skip = u64::from(config.pre_skip);
    assert!(pre_skip > 0, "opusenc primes the decoder");
    let packets = encoded.packets.len();
    let coded_samples = (packets * OPUS_FRAME_SAMPLES as usize) as u64;
    // The trimming edit the Opus mapping asks for, in a movie timescale that
    // keeps it exact: skip the priming, present everything after it.
    let trimming_edit = Edit {
        media_time: pre_skip as i64,
        segment_duration: coded_samples - pre_skip,
        delay: 0,
    };
    for edit in [None, Some(trimming_edit)] {
        let mut track = audio_track(
            opus_entry(config.clone()),
            48_000,
            encoded.samples(OPUS_FRAME_SAMPLES),
        );
        track.edit = edit;
        let mut movie = movie_with_audio(track);
        movie.timescale = 48_000;
        let path = TempFile::new(if edit.is_some() { "opus-edit" } else { "opus" });
        write_audio_movie(&path.0, &movie, &encoded.packets);

        assert_probed_audio(&path.0, "opus", 2, 48_000, packets);
        // FFmpeg drops the pre-skip once: from dOps alone when there is no edit
        // (which shows PreSkip was read big-endian), and not again with one.
        assert_eq!(
            ffmpeg_decoded_audio_samples(&path.0, 2) as u64,
            coded_samples - pre_skip,
            "edit {edit:?}"
        );
    }
}
