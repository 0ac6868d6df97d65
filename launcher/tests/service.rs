//! `gst-replay serve` end to end: the service as its own process, fed by independent ones
//! (FFmpeg over SRT, gst-rtsp-server, gst-launch-1.0 over UDP), asked over HTTP; clips
//! checked by decoding them, served back byte for byte, announced once each.
#![cfg(all(unix, feature = "service"))]

mod common;

use std::time::Duration;

use common::service::{hmac_sha256, save_body, ServiceProcess, WebhookReceiver};
use common::*;
use serde_json::{json, Value};
use test_support::clips::{self, AAC_PACKET};
use test_support::feeders::{self, free_tcp_port, free_udp_port};
use test_support::media::{self, Audio, Video, FPS};
use test_support::{run_ok, sha256sum};

const TOKEN: &str = "test-token-5f3a";

/// Checks a ready replay the way a receiver of its event would: the file the service
/// stored decodes to exactly `frames` frames with sound beside them, the SHA-256 is the
/// file's, and the storageUrl serves it byte for byte, whole and by range.
fn check_ready_clip(
    service: &ServiceProcess,
    status: &Value,
    frames: u64,
    codec: (&str, &str),
    audio: bool,
) {
    assert_eq!(status["status"], "ready", "{status}");
    assert_eq!(status["progress"], 100, "{status}");
    assert_eq!(status["frames"], frames, "{status}");
    assert_eq!(
        status["durationSeconds"].as_f64().unwrap(),
        frames as f64 / FPS as f64,
        "{status}"
    );
    let path = service.clip_path(status);
    let stored = std::fs::read(&path).unwrap();
    assert_eq!(status["bytes"], stored.len() as u64);
    assert_eq!(status["sha256"], sha256sum(&path));
    clips::check_exact(&path, frames, codec.0, codec.1, audio.then_some(AAC_PACKET));

    let url = status["storageUrl"].as_str().unwrap();
    let whole = service.client.get(url, &[]);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, stored, "the storageUrl serves the stored file");
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = format!("\"{}\"", status["sha256"].as_str().unwrap());
    assert_eq!(whole.header("etag"), Some(etag.as_str()));
    let range = service.client.get(url, &[("range", "bytes=1000-4999")]);
    assert_eq!(range.status, 206);
    assert_eq!(range.body, stored[1000..5000]);
    assert_eq!(
        range.header("content-range"),
        Some(format!("bytes 1000-4999/{}", stored.len()).as_str())
    );
    let unchanged = service.client.get(url, &[("if-none-match", &etag)]);
    assert_eq!(unchanged.status, 304);
    let replay_id = status["replayId"].as_str().unwrap();
    let download = service.get(&format!("/api/replay/v1/{replay_id}/download"));
    assert_eq!(download.body, stored);
}

#[test]
fn an_srt_push_is_saved_exactly_served_by_range_and_announced_once() {
    let dir = TestDir::new("service-srt");
    let hook = WebhookReceiver::start();
    // The receiver is down at first: the first event is retried until it takes it.
    hook.refusing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let service = ServiceProcess::in_dir(&dir, Some(TOKEN), &["--webhook", &hook.url]);
    let source = media::encode(&dir, "source.ts", 45, Video::H264, Audio::Aac);
    let port = free_udp_port();
    let started = service.start_session(
        "match-7",
        json!({
            "source": format!("srt://127.0.0.1:{port}?mode=listener"),
            "userId": "player-1", "gameId": "game-2", "maxDurationSeconds": 40,
        }),
    );
    assert_eq!(started["state"], "starting", "{started}");
    let _feeder = feeders::srt_push(&source, port);
    let buffering = service.wait_for_buffered("match-7", 32.0, Duration::from_secs(60));
    let codecs: Vec<&str> = buffering["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|track| track["codec"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["h264", "aac"], "{buffering}");

    let last = service.save_and_wait("last-10s", save_body("match-7", Some(10.0), None));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(hook.received().is_empty(), "refused posts are not counted");
    hook.refusing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let range = service.save_and_wait("30-to-20", save_body("match-7", Some(30.0), Some(20.0)));
    for status in [&last, &range] {
        check_ready_clip(&service, status, 10 * FPS, ("h264", "avc1"), true);
        assert_eq!(status["sessionId"], "match-7");
        assert_eq!(
            (status["userId"].as_str(), status["gameId"].as_str()),
            (Some("player-1"), Some("game-2"))
        );
        let key = format!(
            "game-2/player-1/{}.mp4",
            status["replayId"].as_str().unwrap()
        );
        assert!(
            status["storageUrl"].as_str().unwrap().ends_with(&key),
            "{status}"
        );
    }
    // The same key and body: the same replay, and no new job.
    let again = service.save("last-10s", save_body("match-7", Some(10.0), None));
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["replayId"], last["replayId"]);
    let other = service.save("last-10s", save_body("match-7", Some(5.0), None));
    assert_eq!(other.status, 422, "{}", other.text());

    // One ReplayCreated per replay, in the file and at the webhook, signed with the token.
    let posts = hook.wait_for(2, Duration::from_secs(30));
    let events = service.events();
    assert_eq!(events.len(), 2, "{events:?}");
    for status in [&last, &range] {
        let event = events
            .iter()
            .find(|event| event["replayId"] == status["replayId"])
            .expect("an event per replay");
        assert_eq!(event["type"], "ReplayCreated");
        for field in [
            "storageUrl",
            "sessionId",
            "userId",
            "gameId",
            "sha256",
            "bytes",
            "durationSeconds",
        ] {
            assert_eq!(event[field], status[field], "{field}");
        }
        assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(posts.len(), 2, "each event once");
    for (signature, body) in &posts {
        assert_eq!(signature, &hmac_sha256(TOKEN, body));
        let posted: Value = serde_json::from_slice(body).unwrap();
        assert!(events.contains(&posted), "{posted}");
    }

    let metrics = service.get("/metrics").text();
    for line in [
        "replay_buffer_active_sessions 1",
        "replay_buffer_captures_total 2",
        "replay_buffer_capture_attempts_total 2",
        "replay_buffer_capture_duration_seconds_count 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    let stored: u64 = [&last, &range]
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .sum();
    assert!(metrics.contains(&format!(
        "replay_buffer_storage_bytes{{type=\"permanent\"}} {stored}"
    )));

    let stopped = service.post("/api/replay/v1/session/match-7/stop-buffer", json!({}));
    assert_eq!(stopped.status, 200);
    assert_eq!(stopped.json()["state"], "stopped");
    assert_eq!(
        service.get("/api/replay/v1/sessions").json()["sessions"][0]["state"],
        "stopped"
    );
    let finished = service.terminate();
    assert!(finished.status.success(), "{:?}", finished.stderr);
}

#[test]
fn rtsp_and_udp_sources_feed_sessions_side_by_side() {
    let dir = TestDir::new("service-rtsp-udp");
    let service = ServiceProcess::in_dir(&dir, None, &[]);
    let h264 = media::encode(&dir, "h264.mp4", 30, Video::H264, Audio::Aac);
    let h265 = media::encode(&dir, "h265.mp4", 30, Video::H265, Audio::None);
    let rtsp_port = free_tcp_port();
    let _rtsp = feeders::rtsp_server(&h264, rtsp_port, true);
    let udp_port = free_udp_port();
    service.start_session(
        "rtsp",
        json!({"source": format!("rtsp://127.0.0.1:{rtsp_port}/test")}),
    );
    service.start_session(
        "udp",
        json!({"source": format!("udp://127.0.0.1:{udp_port}")}),
    );
    let _udp = feeders::udp_push_h265(&h265, udp_port);
    for session in ["rtsp", "udp"] {
        service.wait_for_buffered(session, 7.0, Duration::from_secs(60));
    }
    let rtsp = service.save_and_wait("rtsp-5s", save_body("rtsp", Some(5.0), None));
    check_ready_clip(&service, &rtsp, 5 * FPS, ("h264", "avc1"), true);
    let udp = service.save_and_wait("udp-5s", save_body("udp", Some(5.0), None));
    check_ready_clip(&service, &udp, 5 * FPS, ("hevc", "hvc1"), false);
    // Clips without ids go under _/_/.
    assert!(
        udp["storageUrl"]
            .as_str()
            .unwrap()
            .contains("/replays/_/_/"),
        "{udp}"
    );
}

#[test]
fn gst_replay_save_asks_a_service_and_waits_for_the_clip() {
    let dir = TestDir::new("service-save-command");
    let service = ServiceProcess::in_dir(&dir, Some(TOKEN), &[]);
    let source = media::encode(&dir, "source.mp4", 20, Video::H264, Audio::Aac);
    let settings = json!({"source": feeders::file_uri(&source), "maxDurationSeconds": 20});
    service.start_session("file", settings.clone());
    // The same request again is the same session; another one under its id is refused.
    let again = service.post("/api/replay/v1/session/file/start-buffer", settings);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["sessionId"], "file");
    let other = service.post(
        "/api/replay/v1/session/file/start-buffer",
        json!({"source": feeders::file_uri(&source), "maxDurationSeconds": 30}),
    );
    assert_eq!(other.status, 409, "{}", other.text());
    assert_eq!(other.json()["session"]["maxDurationSeconds"], 20.0);
    service.wait_for_buffered("file", 4.0, Duration::from_secs(30));
    let output = run_ok(
        std::process::Command::new(BINARY)
            .args([
                "save",
                "--service",
                &service.url,
                "--session",
                "file",
                "--last",
                "3s",
            ])
            .env("GST_REPLAY_TOKEN", TOKEN),
    );
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    check_ready_clip(&service, &status, 3 * FPS, ("h264", "avc1"), true);
    let refused = std::process::Command::new(BINARY)
        .args(["save", "--service", &service.url, "--session", "nope"])
        .env("GST_REPLAY_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("404") && message.contains("no session nope"),
        "{message}"
    );
}
