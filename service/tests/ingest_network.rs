//! Network ingest end to end: independent feeder processes push or serve real streams
//! (FFmpeg over SRT, gst-rtsp-server over RTSP, gst-launch-1.0 over UDP), a session records
//! them, and its clips are checked by decoding them with FFmpeg.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gst_replay_service::sessions::ingest::{ClipEvent, ClipRequest, SessionState};
use test_support::media::{Audio, Video};

/// H.264 + AAC in MPEG-TS over SRT, from FFmpeg as an SRT caller to a listener session: the
/// last 10 s and the range from 30 s ago to 20 s ago are 300 frames each, with their sound.
#[test]
fn srt_listener_clips_are_frame_exact() {
    let dir = TestDir::new("ingest-srt");
    let started = Instant::now();
    let source = media::encode(&dir, "source.ts", 40, Video::H264, Audio::Aac);
    let port = free_udp_port();
    let session = Session::start("srt", &format!("srt://127.0.0.1:{port}?mode=listener"), 35);
    assert_eq!(session.status().state, SessionState::Starting);
    std::thread::sleep(Duration::from_millis(500));
    let _feeder = feeders::srt_push(&source, port);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(15));
    session.wait_for_buffered(31.0, Duration::from_secs(45));

    let last = session.save(ClipRequest::last(10.0, dir.join("last.mp4")));
    let range = session.save(clip_request(&dir, "range.mp4", Some(30.0), 20.0));
    for saved in [&last, &range] {
        assert_eq!(saved.frames, 300, "{saved:?}");
        assert_eq!(saved.duration, Duration::from_secs(10), "{saved:?}");
        clips::check_exact(
            &saved.location,
            300,
            "h264",
            "avc1",
            Some(clips::AAC_PACKET),
        );
    }
    assert_eq!(last.location, dir.join("last.mp4"));
    let status = session.status();
    assert_eq!(status.state, SessionState::Buffering);
    assert_eq!(status.reconnects, 0);
    let pads: Vec<(&str, &str)> = status
        .tracks
        .iter()
        .map(|t| (t.pad.as_str(), t.codec.as_str()))
        .collect();
    assert_eq!(pads, [("video", "h264"), ("audio_0", "aac")]);
    assert!(status.warnings.is_empty(), "{:?}", status.warnings);
    session.assert_no_backward_jump();
    session.assert_no_codec();
    let stopped = session.ingest.stop();
    assert_eq!(stopped.state, SessionState::Stopped);
    eprintln!("srt test: {:.1} s", started.elapsed().as_secs_f64());
    if std::env::var("KEEP").is_ok() {
        panic!("keep");
    }
}

/// The session as the SRT caller, started before the server: it retries with backoff until
/// FFmpeg listens, then records; the last 5 s are 150 frames with their sound.
#[test]
fn srt_caller_retries_until_the_server_listens() {
    let dir = TestDir::new("ingest-srt-caller");
    let started = Instant::now();
    let source = media::encode(&dir, "source.ts", 15, Video::H264, Audio::Aac);
    let port = free_udp_port();
    let session = Session::start("srt-caller", &format!("srt://127.0.0.1:{port}"), 20);
    session.wait_for_state(SessionState::Reconnecting, Duration::from_secs(10));
    let _server = feeders::srt_serve(&source, port);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(20));
    session.wait_for_buffered(6.0, Duration::from_secs(15));
    let last = session.save(ClipRequest::last(5.0, dir.join("last.mp4")));
    assert_eq!(last.frames, 150, "{last:?}");
    clips::check_exact(&last.location, 150, "h264", "avc1", Some(clips::AAC_PACKET));
    let status = session.status();
    assert!(
        status.reconnects >= 1 && status.error.is_none(),
        "{status:?}"
    );
    session.assert_no_backward_jump();
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
    eprintln!("srt caller test: {:.1} s", started.elapsed().as_secs_f64());
}

/// H.264 + AAC served by gst-rtsp-server (an independent Python process) and pulled over
/// RTSP: the last 10 s are 300 frames with their sound.
#[test]
fn rtsp_pull_clips_are_frame_exact() {
    let dir = TestDir::new("ingest-rtsp");
    let started = Instant::now();
    let source = media::encode(&dir, "source.mp4", 30, Video::H264, Audio::Aac);
    let port = free_tcp_port();
    let _server = feeders::rtsp_server(&source, port, true);
    let session = Session::start("rtsp", &format!("rtsp://127.0.0.1:{port}/test"), 20);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(15));
    session.wait_for_buffered(11.0, Duration::from_secs(25));
    let last = session.save(ClipRequest::last(10.0, dir.join("last.mp4")));
    assert_eq!(last.frames, 300, "{last:?}");
    clips::check_exact(&last.location, 300, "h264", "avc1", Some(clips::AAC_PACKET));
    let status = session.status();
    let codecs: Vec<&str> = status.tracks.iter().map(|t| t.codec.as_str()).collect();
    assert_eq!(codecs, ["h264", "aac"]);
    session.assert_no_backward_jump();
    session.assert_no_codec();
    // Stopping writes a save still waiting for its post-roll, with what has arrived.
    let pending = session.ingest.save(ClipRequest {
        post_seconds: 30.0,
        ..ClipRequest::last(2.0, dir.join("pending.mp4"))
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
    match wait_for_outcome(pending) {
        ClipEvent::Saved(saved) => {
            assert!(saved.frames >= 60 && saved.frames < 120, "{saved:?}");
            assert_eq!(clips::video_decode_errors(&saved.location), "");
        }
        other => panic!("the pending save was lost at stop: {other:?}"),
    }
    eprintln!("rtsp test: {:.1} s", started.elapsed().as_secs_f64());
}

/// H.265 alone as MPEG-TS over UDP from gst-launch-1.0: the clip is hvc1 and 300 frames.
#[test]
fn udp_h265_clips_are_hvc1_and_frame_exact() {
    let dir = TestDir::new("ingest-udp");
    let started = Instant::now();
    let source = media::encode(&dir, "source.mp4", 20, Video::H265, Audio::None);
    let port = free_udp_port();
    let session = Session::start("udp", &format!("udp://127.0.0.1:{port}"), 15);
    std::thread::sleep(Duration::from_millis(300));
    let _feeder = feeders::udp_push_h265(&source, port);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(15));
    session.wait_for_buffered(11.0, Duration::from_secs(25));
    let last = session.save(ClipRequest::last(10.0, dir.join("last.mp4")));
    assert_eq!(last.frames, 300, "{last:?}");
    clips::check_exact(&last.location, 300, "hevc", "hvc1", None);
    assert_eq!(clips::codecs(&last.location), ["hevc"]);
    let status = session.status();
    assert_eq!(status.tracks.len(), 1);
    assert_eq!(status.tracks[0].codec, "h265");
    session.assert_no_backward_jump();
    session.assert_no_codec();
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
    eprintln!("udp test: {:.1} s", started.elapsed().as_secs_f64());
}
