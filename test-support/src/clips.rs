//! Saved clips checked by decoding them with FFmpeg: exact frame counts, keyframe starts,
//! clean decodes, sound as long as the picture, and gaps where a source dropped.

use std::path::Path;
use std::process::Command;

use crate::media::FPS;
use crate::{ffprobe, require_tool, run_ok};

/// Codec names of every stream, in order.
pub fn codecs(path: &Path) -> Vec<String> {
    ffprobe::streams(path)
        .into_iter()
        .map(|stream| stream.codec_name)
        .collect()
}

/// Video packets in file (decode) order: (pts seconds, keyframe).
pub fn video_packets(path: &Path) -> Vec<(f64, bool)> {
    ffprobe::video_packets(path)
        .iter()
        .map(|packet| (packet.pts_seconds(), packet.keyframe()))
        .collect()
}

/// Seconds of sound the first audio track decodes to (48 kHz mono samples counted), and
/// FFmpeg's complaints while decoding.
pub fn decoded_audio_seconds(path: &Path) -> (f64, String) {
    require_tool("ffmpeg");
    let output = run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args([
                "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-",
            ]),
    );
    (
        output.stdout.len() as f64 / 2.0 / 48_000.0,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Decodes every video frame and returns FFmpeg's complaints (empty for a clean decode).
pub fn video_decode_errors(path: &Path) -> String {
    require_tool("ffmpeg");
    let output = run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-f", "null", "-"]),
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One AAC packet at 48 kHz.
pub const AAC_PACKET: f64 = 1024.0 / 48_000.0;

/// One Opus packet as FFmpeg encodes it.
pub const OPUS_PACKET: f64 = 0.020;

/// The checks every exact clip gets: `frames` frames of `codec` (sample entry `tag`),
/// decoded without errors, stored from a keyframe; with `audio` (a tolerance: one packet), a
/// sound track as long as the picture within it.
pub fn check_exact(path: &Path, frames: u64, codec: &str, tag: &str, audio: Option<f64>) {
    check_exact_at(path, frames, FPS, codec, tag, audio)
}

/// [`check_exact`] for a stream of `fps` frames per second.
pub fn check_exact_at(
    path: &Path,
    frames: u64,
    fps: u64,
    codec: &str,
    tag: &str,
    audio: Option<f64>,
) {
    let stream = ffprobe::video_stream(path);
    let what = path.display();
    assert_eq!(stream.codec_name, codec, "{what}: codec");
    assert_eq!(stream.codec_tag_string, tag, "{what}: sample entry");
    assert_eq!(stream.nb_read_frames, Some(frames), "{what}: frames shown");
    let packets = video_packets(path);
    assert!(
        packets[0].1,
        "{what}: the first stored frame is not a keyframe"
    );
    assert_eq!(video_decode_errors(path), "", "{what}: video decode errors");
    if let Some(tolerance) = audio {
        let (seconds, errors) = decoded_audio_seconds(path);
        assert_eq!(errors, "", "{what}: audio decode errors");
        let video_seconds = frames as f64 / fps as f64;
        assert!(
            (seconds - video_seconds).abs() <= tolerance + 1e-6,
            "{what}: {seconds:.4} s of sound beside {video_seconds:.4} s of picture"
        );
    }
}

/// A clip across a reconnect: decodes cleanly, its frames are shown in order, and exactly
/// one step between them is longer than half a second: the downtime. Returns (frames before
/// the gap, frames after it, the gap in seconds).
pub fn check_one_gap(path: &Path) -> (usize, usize, f64) {
    let what = path.display();
    assert_eq!(video_decode_errors(path), "", "{what}: video decode errors");
    assert!(
        video_packets(path)[0].1,
        "{what}: the first stored frame is not a keyframe"
    );
    let times = ffprobe::frame_times(path);
    assert!(times.len() > 2, "{what}: {} frames", times.len());
    let steps: Vec<f64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        steps.iter().all(|&step| step > 0.0),
        "{what}: frames out of order or repeated: {times:?}"
    );
    let gaps: Vec<usize> = (0..steps.len()).filter(|&i| steps[i] > 0.5).collect();
    assert_eq!(gaps.len(), 1, "{what}: gaps at {gaps:?} in {times:?}");
    let at = gaps[0];
    (at + 1, times.len() - at - 1, steps[at])
}
