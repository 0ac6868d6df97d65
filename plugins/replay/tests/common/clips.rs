//! Clips of a test stream: the source, the ring teed beside a Matroska reference of the
//! whole stream, and the check that a saved clip is an exact run of the reference.

use std::path::Path;

use gst::prelude::*;

use super::*;

pub const FPS: u64 = 30;

pub fn source(frames: u64) -> String {
    format!("videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,width=160,height=120,framerate={FPS}/1")
}

/// `encoder ! parser`, teed into the ring and into a Matroska reference of the whole stream.
pub fn ring_pipeline(
    frames: u64,
    encoder: &str,
    parser: &str,
    ring: &str,
    reference: &Path,
) -> gst::Pipeline {
    parse(&format!(
        "{} ! {encoder} ! {parser} ! tee name=t \
         t. ! queue ! replayring name=ring {ring} \
         t. ! queue ! matroskamux ! filesink location=\"{}\"",
        source(frames),
        reference.display()
    ))
}

pub fn ring_of(pipeline: &gst::Pipeline) -> gst::Element {
    pipeline.by_name("ring").unwrap()
}

/// Checks one saved clip against the reference decode: exact frame count and duration,
/// decoding starts at a keyframe, presentation starts at 0, and every decoded picture equals
/// the reference's picture at the same place. Returns the clip's index in the reference.
pub fn check_clip(clip: &Path, reference_hashes: &[String], expected_frames: usize) -> usize {
    let probe = ffprobe::Ffprobe::new()
        .streams()
        .format()
        .count_frames()
        .select_streams("v:0")
        .run(clip);
    let video = &probe.streams[0];
    assert_eq!(
        video.frames(),
        expected_frames as u64,
        "{}: presented frames",
        clip.display()
    );
    let seconds = expected_frames as f64 / FPS as f64;
    let format_duration = probe.format.as_ref().and_then(|format| format.duration);
    for (what, duration) in [("stream", video.duration), ("file", format_duration)] {
        let duration = duration.unwrap_or(f64::NAN);
        assert!(
            (duration - seconds).abs() < 1e-6,
            "{}: {what} duration {duration}, wanted {seconds}",
            clip.display()
        );
    }

    let packets = ffprobe::video_packets(clip);
    assert!(
        packets[0].keyframe(),
        "{}: the first sample is not a keyframe",
        clip.display()
    );
    let first_shown = packets
        .iter()
        .filter_map(|p| p.pts_time)
        .filter(|pts| *pts >= 0.0)
        .fold(f64::MAX, f64::min);
    assert_eq!(
        first_shown,
        0.0,
        "{}: presentation does not start at 0",
        clip.display()
    );

    let (hashes, errors) = decoded_frame_hashes(clip);
    assert_eq!(errors, "", "{}: decode errors", clip.display());
    assert_eq!(hashes.len(), expected_frames);
    position_in(reference_hashes, &hashes).unwrap_or_else(|| {
        panic!(
            "{}: decoded frames are not a run of the source's frames",
            clip.display()
        )
    })
}
