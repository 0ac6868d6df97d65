//! File ingest end to end, and the sources a session refuses: MP4 and Matroska files played
//! in real time until they end, a file without video, an unknown scheme, and an audio codec
//! the ring does not keep.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gst_replay_service::sessions::ingest::{
    ClipRequest, Ingest, IngestError, SessionSpec, SessionState,
};
use test_support::media::{Audio, Video};

/// One file to play: its name (the extension picks the container), frame rate and audio.
struct FileCase {
    name: &'static str,
    fps: u64,
    audio: Audio,
    /// How far the sound may be from the picture's length: one packet.
    tolerance: f64,
    codec: &'static str,
}

/// Plays a 14 s file in a session: real time, an exact 10 s clip with its sound, `ended` at
/// the end of the file, and saves still working after it.
fn play_file(dir: &TestDir, case: FileCase) {
    let FileCase {
        name,
        fps,
        audio,
        tolerance,
        codec,
    } = case;
    let source = media::encode_at(dir, name, 14, fps, Video::H264, audio);
    let session = Session::start(name, &file_uri(&source), 30);
    let buffering = session.wait_for_state(SessionState::Buffering, Duration::from_secs(10));
    let playing_since = Instant::now() - Duration::from_secs_f64(buffering.buffered_seconds);
    // Real time: the ring never holds more than the wall clock let through.
    let status = session.wait_until("11 s buffered", Duration::from_secs(20), |status| {
        let played = playing_since.elapsed().as_secs_f64();
        assert!(
            status.buffered_seconds <= played + 1.5,
            "{name}: {} s buffered after {played:.1} s: not paced in real time",
            status.buffered_seconds
        );
        status.buffered_seconds >= 11.0
    });
    assert_eq!(status.state, SessionState::Buffering);
    let last = session.save(ClipRequest::last(
        10.0,
        dir.join(&format!("{name}-last.mp4")),
    ));
    assert_eq!(last.frames, 10 * fps, "{last:?}");
    clips::check_exact_at(
        &last.location,
        10 * fps,
        fps,
        "h264",
        "avc1",
        Some(tolerance),
    );
    assert_eq!(clips::codecs(&last.location), ["h264", codec]);

    let ended = session.wait_for_state(SessionState::Ended, Duration::from_secs(10));
    assert!(ended.error.is_none(), "{ended:?}");
    assert!(
        ended.buffered_seconds >= 13.0,
        "the ring was kept: {ended:?}"
    );
    let after = session.save(ClipRequest::last(
        5.0,
        dir.join(&format!("{name}-after.mp4")),
    ));
    assert_eq!(after.frames, 5 * fps, "{after:?}");
    clips::check_exact_at(
        &after.location,
        5 * fps,
        fps,
        "h264",
        "avc1",
        Some(tolerance),
    );
    assert_eq!(
        session.states(),
        [SessionState::Buffering, SessionState::Ended],
        "{name}: states reported"
    );
    assert!(
        session.status().warnings.is_empty(),
        "{:?}",
        session.status().warnings
    );
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
}

#[test]
fn mp4_and_mkv_files_play_in_real_time_until_they_end() {
    let dir = TestDir::new("ingest-files");
    let started = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            play_file(
                &dir,
                FileCase {
                    name: "aac.mp4",
                    fps: FPS,
                    audio: Audio::Aac,
                    tolerance: clips::AAC_PACKET,
                    codec: "aac",
                },
            )
        });
        // Matroska keeps timestamps in milliseconds: at 30 fps frames are 33 or 34 ms
        // apart and a 10 s window holds 300 or 301 of them. 25 fps is exact in ms.
        scope.spawn(|| {
            play_file(
                &dir,
                FileCase {
                    name: "opus.mkv",
                    fps: 25,
                    audio: Audio::Opus,
                    tolerance: clips::OPUS_PACKET,
                    codec: "opus",
                },
            )
        });
    });
    eprintln!("file test: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_file_without_video_fails_with_a_reason() {
    let dir = TestDir::new("ingest-no-video");
    let source = media::encode(&dir, "sound.m4a", 8, Video::None, Audio::Aac);
    let session = Session::start("no-video", &file_uri(&source), 10);
    let failed = session.wait_for_state(SessionState::Failed, Duration::from_secs(10));
    let error = failed.error.unwrap();
    assert!(
        error.contains("no H.264 or H.265 video") && error.contains("audio/mpeg"),
        "{error}"
    );
    // The session stays answerable: a save says why it cannot work.
    let outcome = wait_for_outcome(
        session
            .ingest
            .save(ClipRequest::last(5.0, dir.join("nothing.mp4"))),
    );
    assert!(
        matches!(&outcome, gst_replay_service::sessions::ingest::ClipEvent::Failed(e) if e.contains("keyframe")),
        "{outcome:?}"
    );
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
}

#[test]
fn unknown_schemes_and_missing_files_are_refused_with_a_reason() {
    let spec = |source: &str| SessionSpec {
        id: "refused".into(),
        source: source.into(),
        max_duration: Duration::from_secs(10),
        max_bytes: 1 << 20,
    };
    let error = Ingest::start(spec("bogus://127.0.0.1:9000"), |_| {})
        .err()
        .expect("an unknown scheme is refused");
    assert_eq!(
        error,
        IngestError::UnsupportedScheme {
            scheme: "bogus".into()
        }
    );
    assert!(error.to_string().contains("use srt://"), "{error}");
    assert_eq!(error.as_status().state, SessionState::Failed);
    let missing = Ingest::start(spec("file:///nonexistent/clip.mp4"), |_| {})
        .err()
        .expect("a missing file is refused");
    assert!(
        matches!(missing, IngestError::FileNotFound { .. }),
        "{missing}"
    );
    let not_a_uri = Ingest::start(spec("127.0.0.1:9000"), |_| {}).err().unwrap();
    assert!(
        matches!(not_a_uri, IngestError::BadUri { .. }),
        "{not_a_uri}"
    );
}

/// AC-3 beside H.264 in MPEG-TS: the AC-3 track is left out with a warning, the video is
/// saved.
#[test]
fn an_ac3_track_is_left_out_with_a_warning() {
    let dir = TestDir::new("ingest-ac3");
    let source = media::encode(&dir, "ac3.ts", 6, Video::H264, Audio::Ac3);
    let session = Session::start("ac3", &file_uri(&source), 10);
    let status = session.wait_for_buffered(3.5, Duration::from_secs(10));
    assert_eq!(status.state, SessionState::Buffering);
    assert_eq!(
        status.warnings,
        ["audio/x-ac3 is left out: the ring keeps AAC and Opus"]
    );
    let pads: Vec<&str> = status.tracks.iter().map(|t| t.pad.as_str()).collect();
    assert_eq!(pads, ["video"]);
    let clip = session.save(ClipRequest::last(3.0, dir.join("video.mp4")));
    clips::check_exact(&clip.location, 90, "h264", "avc1", None);
    assert_eq!(clips::codecs(&clip.location), ["h264"]);
    session.wait_for_state(SessionState::Ended, Duration::from_secs(10));
    assert!(session
        .changes
        .lock()
        .unwrap()
        .iter()
        .any(|change| change.warnings.len() == 1));
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
}

/// MPEG-TS over HTTP is paced like a file, and its end is a drop: the session fetches it
/// again, on a timeline that keeps going forward.
#[test]
fn an_http_stream_plays_in_real_time_and_is_fetched_again_at_its_end() {
    let dir = TestDir::new("ingest-http");
    let started = Instant::now();
    media::encode(&dir, "source.ts", 7, Video::H264, Audio::Aac);
    let port = free_tcp_port();
    let _server = feeders::http_server(dir.path(), port);
    let session = Session::start("http", &format!("http://127.0.0.1:{port}/source.ts"), 30);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(10));
    let buffered = session.wait_for_buffered(5.5, Duration::from_secs(10));
    assert!(
        started.elapsed().as_secs_f64() >= 5.0,
        "{} s buffered after {:.1} s: not paced",
        buffered.buffered_seconds,
        started.elapsed().as_secs_f64()
    );
    let last = session.save(ClipRequest::last(5.0, dir.join("last.mp4")));
    clips::check_exact(&last.location, 150, "h264", "avc1", Some(clips::AAC_PACKET));
    // The end of the download: reconnecting, then the stream again.
    session.wait_until("the stream fetched again", Duration::from_secs(15), |s| {
        s.reconnects >= 1 && s.state == SessionState::Buffering
    });
    assert!(session.states().contains(&SessionState::Reconnecting));
    session.wait_for_buffered(10.0, Duration::from_secs(10));
    session.assert_no_backward_jump();
    let across = session.save(clip_request(&dir, "across.mp4", None, 0.0));
    let (before, after, gap) = clips::check_one_gap(&across.location);
    assert!(
        before >= 6 * FPS as usize && after >= FPS as usize,
        "{before} + {after}"
    );
    assert!(gap < 3.0, "a {gap:.3} s gap for a reconnect at once");
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
}
