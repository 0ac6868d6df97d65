//! The `stats` property: what the ring holds, per track, and what happened since start.

use crate::audio_format::AudioFormat;
use crate::ring::Recording;
use crate::stream_format::StreamFormat;
use crate::time::Nanos;

/// Counters kept outside the ring.
pub struct ElementCounters {
    pub pooled_copies: u64,
    pub saves: u64,
    pub failed_saves: u64,
    pub pending_saves: u64,
}

pub fn structure(
    recording: &Recording<gst::Buffer, StreamFormat, AudioFormat>,
    video_codec: Option<&'static str>,
    audio_codecs: impl Fn(usize) -> Option<&'static str>,
    counters: ElementCounters,
) -> gst::Structure {
    let video = recording.video();
    let ring_counters = video.counters();
    let mut tracks = vec![gst::Structure::builder("track")
        .field("pad", "video")
        .field("codec", video_codec.unwrap_or("none"))
        .field("bytes", video.bytes())
        .field("packets", video.frames())
        .build()];
    let video_end = video.end();
    for (number, track) in recording.audio_tracks() {
        let gaps = track.gaps();
        // A source that stopped delivering has no next packet to reveal its gap: how far the
        // track trails the video shows it while it lasts.
        let behind = match (video_end, track.newest_end()) {
            (Some(video), Some(audio)) => video - audio,
            (Some(video), None) => video - video_start(recording),
            _ => Nanos::ZERO,
        };
        tracks.push(
            gst::Structure::builder("track")
                .field("pad", format!("audio_{number}"))
                .field("codec", audio_codecs(number).unwrap_or("none"))
                .field("bytes", track.bytes())
                .field("packets", track.packet_count())
                .field("evicted", track.evicted_packets())
                .field("gaps", gaps.gaps)
                .field("gap-duration", gaps.missing.as_unsigned_nanos())
                .field("behind-video", behind.as_unsigned_nanos())
                .build(),
        );
    }
    gst::Structure::builder("replayring-stats")
        .field("duration", video.duration().as_unsigned_nanos())
        .field("bytes", recording.bytes())
        .field("frames", video.frames())
        .field("keyframes", video.keyframes())
        .field("evicted", ring_counters.evicted_frames)
        .field("dropped", ring_counters.dropped_frames)
        .field("copied", counters.pooled_copies)
        .field("saves", counters.saves)
        .field("failed-saves", counters.failed_saves)
        .field("pending-saves", counters.pending_saves)
        .field("tracks", gst::Array::new(tracks))
        .build()
}

fn video_start(recording: &Recording<gst::Buffer, StreamFormat, AudioFormat>) -> Nanos {
    recording.video().start().unwrap_or(Nanos::ZERO)
}
