//! Faults end to end: feeders killed and started again (the session reconnects and keeps one
//! forward timeline), and a listener port that cannot be bound.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::*;
use gst_replay_service::sessions::ingest::{ClipRequest, SessionState, STALL_TIMEOUT};
use test_support::media::{Audio, Video};

/// The whole ring.
fn whole_ring(dir: &TestDir, name: &str) -> ClipRequest {
    clip_request(dir, name, None, 0.0)
}

/// Kills the feeder, waits for `reconnecting`, saves the last 3 s (of `codec`: name and
/// sample entry) while it is down, waits for a rebuilt source, starts a new feeder
/// (again, while the rebuilt listener is not up yet) until the session buffers again.
/// Returns the new feeder and how long the source was down, from the kill to the restart.
fn kill_and_restart(
    session: &Session,
    dir: &TestDir,
    codec: (&str, &str),
    feeder: &mut ChildProcess,
    start_feeder: impl Fn() -> ChildProcess,
) -> (ChildProcess, Duration) {
    let before = session.status();
    feeder.kill();
    let killed_at = Instant::now();
    let dropped = session.wait_for_state(
        SessionState::Reconnecting,
        STALL_TIMEOUT + Duration::from_secs(5),
    );
    assert!(
        dropped.error.is_some(),
        "a reason to reconnect: {dropped:?}"
    );
    assert!(
        dropped.buffered_seconds >= before.buffered_seconds,
        "the ring keeps what it had: {before:?} -> {dropped:?}"
    );
    // Saves still work while the source is down: the ring keeps what it had.
    let during = session.save(ClipRequest::last(3.0, dir.join("during.mp4")));
    assert_eq!(during.frames, 3 * FPS, "{during:?}");
    clips::check_exact(&during.location, 3 * FPS, codec.0, codec.1, None);
    session.wait_until("the source rebuilt", Duration::from_secs(10), |s| {
        s.reconnects >= 1
    });
    for _attempt in 0..3 {
        let restarted_at = Instant::now();
        let mut restarted = start_feeder();
        let deadline = Instant::now() + Duration::from_secs(8);
        while Instant::now() < deadline {
            if session.status().state == SessionState::Buffering {
                return (restarted, restarted_at - killed_at);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "feeder restart did not reach the session: {}",
            restarted.output()
        );
        restarted.kill();
    }
    panic!("the session did not buffer again: {:#?}", session.status());
}

/// Checks a whole-ring clip across the reconnect and the session's record of it.
fn check_reconnect(session: &Session, dir: &TestDir, downtime: Duration, audio: bool) {
    let clip = session.save(whole_ring(dir, "across.mp4"));
    let (before, after, gap) = clips::check_one_gap(&clip.location);
    let downtime = downtime.as_secs_f64();
    eprintln!(
        "{}: {before} frames, a gap of {gap:.3} s (down {downtime:.3} s), {after} frames",
        clip.location.display()
    );
    // The new connection's first frame lands when it arrived: the gap is at least the
    // downtime, and not much more (the new sender's first keyframe, the connection).
    assert!(
        gap >= downtime - 0.5 && gap <= downtime + 4.0,
        "gap {gap:.3} s for a downtime of {downtime:.3} s"
    );
    assert!(before >= 5 * FPS as usize, "{before} frames before the gap");
    assert!(after >= 4 * FPS as usize, "{after} frames after the gap");
    if audio {
        let (seconds, errors) = clips::decoded_audio_seconds(&clip.location);
        assert_eq!(errors, "", "audio decode errors");
        let frames = (before + after) as f64 / FPS as f64;
        assert!(
            seconds >= frames - 0.5,
            "{seconds:.2} s of sound beside {frames:.2} s of picture"
        );
    }
    let status = session.status();
    assert!(status.reconnects >= 1, "{status:?}");
    assert!(status.error.is_none(), "{status:?}");
    session.assert_no_backward_jump();
    let states = session.states();
    let at = states
        .iter()
        .position(|&s| s == SessionState::Reconnecting)
        .unwrap_or_else(|| panic!("no reconnecting in {states:?}"));
    assert_eq!(states[at - 1], SessionState::Buffering, "{states:?}");
    assert_eq!(states.last(), Some(&SessionState::Buffering), "{states:?}");
}

/// FFmpeg pushing H.264 + AAC over SRT is killed (SIGKILL: no goodbye to the listener) and
/// started again: `reconnecting`, then `buffering`; a clip across the gap shows it as a gap.
#[test]
fn a_killed_srt_feeder_reconnects_with_a_forward_timeline() {
    let dir = TestDir::new("ingest-srt-restart");
    let started = Instant::now();
    let source = media::encode(&dir, "source.ts", 20, Video::H264, Audio::Aac);
    let port = free_udp_port();
    let session = Session::start(
        "srt-restart",
        &format!("srt://127.0.0.1:{port}?mode=listener"),
        60,
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut feeder = feeders::srt_push(&source, port);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(15));
    session.wait_for_buffered(6.0, Duration::from_secs(15));
    let (_feeder, downtime) =
        kill_and_restart(&session, &dir, ("h264", "avc1"), &mut feeder, || {
            feeders::srt_push(&source, port)
        });
    std::thread::sleep(Duration::from_secs(5));
    check_reconnect(&session, &dir, downtime, true);
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
    eprintln!("srt restart test: {:.1} s", started.elapsed().as_secs_f64());
}

/// UDP has no connection: a sender that goes silent is noticed by the silence, and a new one
/// is picked up by the rebuilt source.
#[test]
fn a_silent_udp_source_reconnects_with_a_forward_timeline() {
    let dir = TestDir::new("ingest-udp-restart");
    let started = Instant::now();
    let source = media::encode(&dir, "source.mp4", 20, Video::H265, Audio::None);
    let port = free_udp_port();
    let session = Session::start("udp-restart", &format!("udp://127.0.0.1:{port}"), 60);
    std::thread::sleep(Duration::from_millis(300));
    let mut feeder = feeders::udp_push_h265(&source, port);
    session.wait_for_state(SessionState::Buffering, Duration::from_secs(15));
    session.wait_for_buffered(6.0, Duration::from_secs(15));
    let (_feeder, downtime) =
        kill_and_restart(&session, &dir, ("hevc", "hvc1"), &mut feeder, || {
            feeders::udp_push_h265(&source, port)
        });
    std::thread::sleep(Duration::from_secs(5));
    check_reconnect(&session, &dir, downtime, false);
    assert_eq!(session.ingest.stop().state, SessionState::Stopped);
    eprintln!("udp restart test: {:.1} s", started.elapsed().as_secs_f64());
}

/// A port another program holds: `failed`, with the reason, for UDP and SRT listeners.
#[test]
fn a_listener_port_that_cannot_be_bound_fails_with_a_reason() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    for (uri, says) in [
        (format!("udp://127.0.0.1:{port}"), "Address already in use"),
        (
            format!("srt://127.0.0.1:{port}?mode=listener"),
            "Cannot bind",
        ),
    ] {
        let session = Session::start("taken", &uri, 10);
        let failed = session.wait_for_state(SessionState::Failed, Duration::from_secs(10));
        let error = failed.error.unwrap_or_default();
        assert!(
            error.contains(says) && error.contains("another program"),
            "{uri}: {error}"
        );
        assert_eq!(failed.reconnects, 0);
        assert_eq!(session.ingest.stop().state, SessionState::Stopped);
    }
    drop(taken);
}
