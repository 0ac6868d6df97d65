//! Arbitrary movies (tracks, sample tables, edit lists, video and audio sample entries)
//! through `build_moov`, `write_faststart` and `StreamingWriter`.
//!
//! Each must either fail with the error the movie calls for (worked out independently
//! in `movie_check`) or write a file the strict reader (`test_support::mp4`: mp4-atom, every
//! box size matching its bytes) reads back as exactly the movie given, with each sample's
//! bytes where the chunk offsets say.

#![no_main]

use std::io::{self, Cursor};
use std::ops::Range;

use gstreplay::mp4::{build_moov, ftyp, write_faststart, Movie, StreamingWriter};
use libfuzzer_sys::fuzz_target;
use replay_fuzz::movie_check::{check_movie, expected_build_result};
use replay_fuzz::movie_input::{FaultySample, MovieCase, OffsetsChoice};
use test_support::mp4::{read_file, read_moov, Mp4File};

/// The writers run only when all samples fit in this many bytes, to keep runs fast;
/// larger sample sizes still go through `build_moov`.
const MAX_WRITTEN_PAYLOAD: u64 = 256 * 1024;

fuzz_target!(|case: MovieCase| {
    let movie = &case.movie;
    let offsets = match &case.offsets {
        OffsetsChoice::Contiguous { start } => contiguous_offsets(movie, *start),
        OffsetsChoice::Arbitrary(offsets) => offsets.clone(),
    };
    check_build_moov(movie, &offsets);

    let payload = movie
        .tracks
        .iter()
        .flat_map(|track| &track.samples)
        .fold(0u64, |sum, sample| sum.saturating_add(sample.size.into()));
    if payload <= MAX_WRITTEN_PAYLOAD {
        check_faststart(movie, case.faulty_sample);
        check_streaming(movie, &case.write_order, case.faulty_sample);
    }
});

/// Each track's samples back to back from `start`, as one chunk.
fn contiguous_offsets(movie: &Movie, start: u64) -> Vec<Vec<u64>> {
    movie
        .tracks
        .iter()
        .map(|track| {
            let mut next = start;
            track
                .samples
                .iter()
                .map(|sample| {
                    let offset = next;
                    next = next.saturating_add(sample.size.into());
                    offset
                })
                .collect()
        })
        .collect()
}

fn check_build_moov(movie: &Movie, offsets: &[Vec<u64>]) {
    let built = build_moov(movie, offsets);
    let expected = expected_build_result(movie, offsets);
    match built {
        Err(error) => assert_eq!(Err(error), expected, "build_moov failed unexpectedly"),
        Ok(moov) => {
            assert_eq!(
                expected,
                Ok(()),
                "build_moov accepted a movie it must refuse"
            );
            let read = read_moov(&moov).unwrap_or_else(|error| panic!("malformed moov: {error}"));
            check_movie(movie, &read.movie, |track, sample| offsets[track][sample]);
        }
    }
}

/// The bytes the callback writes for one sample: distinct per sample, so a sample
/// found at the wrong offset shows.
fn sample_bytes(track: usize, sample: usize, len: usize) -> Vec<u8> {
    let seed = (track as u32).wrapping_mul(0x9e37_79b9) ^ (sample as u32).wrapping_mul(0x85eb_ca6b);
    (0..len)
        .map(|index| (seed.wrapping_add(index as u32).wrapping_mul(0x2545_f491) >> 24) as u8)
        .collect()
}

/// How many bytes the callback writes for a sample: its size, or for the faulty one more
/// or fewer (never below zero). `None` means the size is right.
fn faulty_len(
    fault: Option<FaultySample>,
    track: usize,
    sample: usize,
    size: u32,
) -> Option<usize> {
    let fault = fault.filter(|fault| fault.track == track && fault.sample == sample)?;
    let len = (i64::from(size) + i64::from(fault.size_error)).max(0) as usize;
    (len != size as usize).then_some(len)
}

fn fault_applies(movie: &Movie, fault: Option<FaultySample>) -> bool {
    fault.is_some_and(|fault| {
        movie
            .tracks
            .get(fault.track)
            .and_then(|track| track.samples.get(fault.sample))
            .is_some_and(|sample| {
                faulty_len(Some(fault), fault.track, fault.sample, sample.size).is_some()
            })
    })
}

fn check_faststart(movie: &Movie, fault: Option<FaultySample>) {
    let mut file = Vec::new();
    let result = write_faststart(&mut file, movie, |out, track, sample| {
        let size = movie.tracks[track].samples[sample].size;
        let len = faulty_len(fault, track, sample, size).unwrap_or(size as usize);
        out.write_all(&sample_bytes(track, sample, len))
    });
    // The writer lays out the offsets itself, so only the movie's own errors count.
    let expected = expected_build_result(movie, &contiguous_offsets(movie, 0));
    match result {
        Err(error) if expected.is_err() => {
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
            assert!(
                file.is_empty(),
                "an invalid movie must leave the output untouched"
            );
        }
        Err(error) => {
            assert!(
                fault_applies(movie, fault),
                "write_faststart failed: {error}"
            );
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
        }
        Ok(written) => {
            assert!(
                expected.is_ok(),
                "write_faststart accepted a movie it must refuse"
            );
            assert!(
                !fault_applies(movie, fault),
                "a wrong sample size went unnoticed"
            );
            assert_eq!(written, file.len() as u64, "returned length");
            let read = read_file(&file).unwrap_or_else(|error| panic!("malformed file: {error}"));
            assert_eq!(
                read.box_types(),
                ["ftyp", "moov", "mdat"],
                "faststart writes ftyp, moov, mdat"
            );
            assert_eq!(
                &file[..ftyp().len()],
                ftyp().as_slice(),
                "ftyp comes first, as built"
            );
            check_written_file(movie, &file, &read);
        }
    }
}

fn check_streaming(movie: &Movie, write_order: &[u8], fault: Option<FaultySample>) {
    let mut writer =
        StreamingWriter::new(Cursor::new(Vec::new())).expect("writing to memory cannot fail");
    let mut next_sample = vec![0usize; movie.tracks.len()];
    let mut order = write_order
        .iter()
        .copied()
        .chain(std::iter::repeat(0))
        .cycle();
    let mut written_bytes = 0u64;
    while let Some(track) = next_track(movie, &next_sample, order.next().unwrap_or(0)) {
        let sample = next_sample[track];
        let size = movie.tracks[track].samples[sample].size;
        let len = faulty_len(fault, track, sample, size).unwrap_or(size as usize);
        let bytes = sample_bytes(track, sample, len);
        // Several pieces, as the clip writer passes NAL length prefixes and NAL units.
        let (head, tail) = bytes.split_at(len / 3);
        writer
            .write_sample(track, &[head, &[], tail])
            .expect("a small sample written to memory");
        written_bytes += len as u64;
        next_sample[track] += 1;
    }
    assert_eq!(
        writer.bytes_written(),
        ftyp().len() as u64 + 16 + written_bytes,
        "bytes_written"
    );
    let expected = expected_build_result(movie, &contiguous_offsets(movie, 0));
    match writer.finish(movie) {
        Err(error) => {
            assert!(
                expected.is_err() || fault_applies(movie, fault),
                "StreamingWriter::finish failed: {error}"
            );
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
        }
        Ok(out) => {
            assert!(expected.is_ok(), "finish accepted a movie it must refuse");
            assert!(
                !fault_applies(movie, fault),
                "a wrong sample size went unnoticed"
            );
            let file = out.into_inner();
            let read = read_file(&file).unwrap_or_else(|error| panic!("malformed file: {error}"));
            assert_eq!(
                read.box_types(),
                ["ftyp", "free", "mdat", "moov"],
                "streaming writes ftyp, free, mdat, moov"
            );
            check_written_file(movie, &file, &read);
        }
    }
}

/// The track to write next: `choice` picks one, moving on to the next with samples left.
fn next_track(movie: &Movie, next_sample: &[usize], choice: u8) -> Option<usize> {
    let count = movie.tracks.len();
    (0..count)
        .map(|step| (usize::from(choice) + step) % count)
        .find(|&track| next_sample[track] < movie.tracks[track].samples.len())
}

/// The moov describes the movie, and every sample's bytes are in `mdat`, where the
/// chunk offsets say, with no two samples overlapping.
fn check_written_file(movie: &Movie, file: &[u8], read: &Mp4File<'_>) {
    let info = read.movie();
    check_movie(movie, info, |track, sample| {
        info.tracks[track].samples[sample].offset
    });

    let payload = read.mdat_payload();
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for (track_index, track) in info.tracks.iter().enumerate() {
        for (sample_index, sample) in track.samples.iter().enumerate() {
            let range = sample.offset..sample.offset + u64::from(sample.size);
            assert!(
                payload.start <= range.start && range.end <= payload.end,
                "track {track_index} sample {sample_index} at {range:?} is outside mdat {payload:?}"
            );
            let bytes = &file[range.start as usize..range.end as usize];
            assert!(
                bytes == sample_bytes(track_index, sample_index, bytes.len()),
                "track {track_index} sample {sample_index}: the bytes at its offset are not its own"
            );
            ranges.push(range);
        }
    }
    ranges.sort_by_key(|range| (range.start, range.end));
    for pair in ranges.windows(2) {
        assert!(pair[0].end <= pair[1].start, "samples overlap: {pair:?}");
    }
    let total: u64 = ranges.iter().map(|range| range.end - range.start).sum();
    assert_eq!(
        total,
        payload.end - payload.start,
        "mdat holds exactly the samples"
    );
}
