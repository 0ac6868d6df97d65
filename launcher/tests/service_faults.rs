//! `gst-replay serve` when things go wrong: a source that drops, the service killed in the
//! middle of a save, a full disk, a storm of saves with repeated keys, full queues and
//! limits, and a SIGTERM with saves in flight. Nothing accepted is lost or written twice.
#![cfg(all(unix, feature = "service"))]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::service::{save_body, ServiceProcess};
use common::*;
use serde_json::json;
use test_support::clips;
use test_support::feeders::{self, free_udp_port};
use test_support::http::Client;
use test_support::media::{self, Audio, Video, FPS};
use test_support::mounts::{may_mount_or_rerun, Mount};

fn file_session(service: &ServiceProcess, id: &str, source: &std::path::Path, seconds: f64) {
    service.start_session(
        id,
        json!({"source": feeders::file_uri(source), "maxDurationSeconds": 30}),
    );
    service.wait_for_buffered(id, seconds, Duration::from_secs(60));
}

#[test]
fn a_source_that_drops_is_reconnected_and_a_clip_over_the_gap_shows_it() {
    let dir = TestDir::new("service-reconnect");
    let service = ServiceProcess::in_dir(&dir, None, &[]);
    let source = media::encode(&dir, "source.ts", 30, Video::H264, Audio::Aac);
    let port = free_udp_port();
    service.start_session(
        "live",
        json!({"source": format!("srt://127.0.0.1:{port}?mode=listener"), "maxDurationSeconds": 30}),
    );
    let feeder = feeders::srt_push(&source, port);
    service.wait_for_buffered("live", 4.0, Duration::from_secs(60));
    drop(feeder);
    let down = service.wait_for_session("live", Duration::from_secs(30), |session| {
        session["state"] == "reconnecting"
    });
    assert!(down["error"].is_string(), "the reason it dropped: {down}");
    std::thread::sleep(Duration::from_secs(2));
    let _feeder = feeders::srt_push(&source, port);
    let back = service.wait_for_session("live", Duration::from_secs(60), |session| {
        session["state"] == "buffering" && session["reconnects"].as_u64() >= Some(1)
    });
    assert_eq!(back["error"], serde_json::Value::Null, "{back}");
    std::thread::sleep(Duration::from_secs(4));
    let across = service.save_and_wait("across", save_body("live", None, None));
    assert_eq!(across["status"], "ready", "{across}");
    let (before, after, gap) = clips::check_one_gap(&service.clip_path(&across));
    assert!(
        before >= 3 * FPS as usize && after >= 3 * FPS as usize,
        "{before} + {after}"
    );
    assert!(
        gap > 2.0,
        "the clip shows the downtime: a gap of {gap:.2} s"
    );
}

#[test]
fn a_service_killed_mid_save_fails_the_job_and_its_key_still_answers() {
    let dir = TestDir::new("service-kill");
    let data = dir.join("data");
    let source = media::encode(&dir, "source.mp4", 40, Video::H264, Audio::Aac);
    let service = ServiceProcess::start(&data, None, &[]);
    file_session(&service, "file", &source, 4.0);
    // A post-roll keeps the job in flight long enough to be caught in it.
    let body = json!({"sessionId": "file", "fromSeconds": 2, "postSeconds": 20});
    let accepted = service.save("killed-save", body.clone());
    assert_eq!(accepted.status, 202);
    let replay_id = accepted.json()["replayId"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(service.status(&replay_id)["status"], "extracting");
    service.run.signal(libc::SIGKILL);
    drop(service);

    let restarted = ServiceProcess::start(&data, None, &[]);
    let status = restarted.status(&replay_id);
    assert_eq!(status["status"], "failed", "{status}");
    let error = status["error"].as_str().unwrap();
    assert!(
        error.contains("stopped while this save was extracting"),
        "{error}"
    );
    let again = restarted.save("killed-save", body);
    assert_eq!(again.status, 202, "{}", again.text());
    assert_eq!(again.json()["replayId"], replay_id.as_str());
    let leftovers: Vec<_> = walk(&data.join("replays"))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "mp4" || e == "part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no clip and no partial file: {leftovers:?}"
    );
    // The sessions went with the process: the key answered, a new save cannot start.
    let new = restarted.save("new-save", save_body("file", Some(2.0), None));
    assert_eq!(new.status, 404, "{}", new.text());
}

#[test]
fn a_full_disk_fails_the_save_and_keeps_the_ring_for_the_next() {
    if !may_mount_or_rerun("a_full_disk_fails_the_save_and_keeps_the_ring_for_the_next") {
        return;
    }
    let dir = TestDir::new("service-disk-full");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("replays")).unwrap();
    // Room for a few seconds of the clip, not for the whole ring.
    let _full = Mount::tmpfs(&data.join("replays"), "700k", false).unwrap();
    let source = media::encode(&dir, "source.mp4", 40, Video::H264, Audio::Aac);
    let service = ServiceProcess::start(&data, None, &[]);
    file_session(&service, "file", &source, 25.0);
    let whole = service.save_and_wait("whole", save_body("file", None, None));
    assert_eq!(whole["status"], "failed", "{whole}");
    let error = whole["error"].as_str().unwrap();
    assert!(error.contains("No space left"), "{error}");
    let session = service.session("file");
    assert_eq!(session["state"], "buffering", "the ring goes on: {session}");
    assert!(
        session["bufferedSeconds"].as_f64().unwrap() >= 25.0,
        "{session}"
    );
    let small = service.save_and_wait("small", save_body("file", Some(3.0), None));
    assert_eq!(small["status"], "ready", "{small}");
    clips::check_exact(
        &service.clip_path(&small),
        3 * FPS,
        "h264",
        "avc1",
        Some(clips::AAC_PACKET),
    );
    let metrics = service.get("/metrics").text();
    assert!(
        metrics.contains("replay_buffer_capture_errors_total{error_type=\"storage\"} 1"),
        "{metrics}"
    );
}

#[test]
fn health_says_when_the_storage_takes_no_files() {
    if !may_mount_or_rerun("health_says_when_the_storage_takes_no_files") {
        return;
    }
    let dir = TestDir::new("service-health");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("replays")).unwrap();
    let service = ServiceProcess::start(&data, None, &[]);
    let healthy = service.get("/health");
    assert_eq!(healthy.status, 200, "{}", healthy.text());
    assert_eq!(healthy.json()["storage"], "writable");
    let _read_only = Mount::tmpfs(&data.join("replays"), "64k", true).unwrap();
    let sick = service.get("/health");
    assert_eq!(sick.status, 503, "{}", sick.text());
    let body = sick.json();
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["storage"].as_str().unwrap().contains("Read-only"),
        "{body}"
    );
}

#[test]
fn two_hundred_saves_at_once_with_fifty_keys_sent_twice_make_one_hundred_fifty_clips() {
    let dir = TestDir::new("service-storm");
    let source = media::encode(&dir, "source.mp4", 40, Video::H264, Audio::Aac);
    let service = ServiceProcess::in_dir(&dir, None, &[]);
    file_session(&service, "file", &source, 4.0);
    let mut keys: Vec<String> = (0..150).map(|n| format!("storm-{n}")).collect();
    keys.extend((0..50).map(|n| format!("storm-{n}")));
    let barrier = Arc::new(std::sync::Barrier::new(keys.len()));
    let senders: Vec<_> = keys
        .into_iter()
        .map(|key| {
            let (url, barrier) = (service.url.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let client = Client::new(&url, None);
                barrier.wait();
                let body = save_body("file", Some(2.0), None);
                let answer =
                    client.post("/api/replay/v1/save", &body, &[("Idempotency-Key", &key)]);
                assert_eq!(answer.status, 202, "{key}: {}", answer.text());
                (key, answer.json()["replayId"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut replay_of: HashMap<String, String> = HashMap::new();
    for sender in senders {
        let (key, replay_id) = sender.join().unwrap();
        if let Some(first) = replay_of.insert(key.clone(), replay_id.clone()) {
            assert_eq!(first, replay_id, "{key} answered two replays");
        }
    }
    let replays: HashSet<&String> = replay_of.values().collect();
    assert_eq!(replays.len(), 150, "exactly one job per key");
    let mut files = HashSet::new();
    for replay_id in &replays {
        let status = service.wait_for_replay(replay_id);
        assert_eq!(status["status"], "ready", "{status}");
        assert_eq!(status["frames"], 2 * FPS);
        let path = service.clip_path(&status);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            status["bytes"].as_u64().unwrap()
        );
        assert!(files.insert(path), "two replays in one file");
    }
    let on_disk = walk(&service.data_dir.join("replays"));
    assert_eq!(on_disk.len(), 150, "every clip, nothing else: {on_disk:?}");
    // The dispatcher may still be appending the last ones.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while service.events().len() < 150 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let events = service.events();
    let announced: HashSet<String> = events
        .iter()
        .map(|event| event["replayId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        (events.len(), announced.len()),
        (150, 150),
        "each replay announced once"
    );
}

#[test]
fn full_queues_and_limits_answer_with_what_to_do() {
    let dir = TestDir::new("service-limits");
    let source = media::encode(&dir, "source.mp4", 30, Video::H264, Audio::None);
    let service = ServiceProcess::in_dir(&dir, None, &["--save-queue", "2", "--max-sessions", "1"]);
    file_session(&service, "file", &source, 3.0);
    let second = service.post(
        "/api/replay/v1/session/other/start-buffer",
        json!({"source": feeders::file_uri(&source)}),
    );
    assert_eq!(second.status, 507, "{}", second.text());
    let problem = second.json();
    assert_eq!(
        (problem["limit"].as_str(), problem["value"].as_u64()),
        (Some("max-sessions"), Some(1))
    );
    assert_eq!(
        second.header("content-type"),
        Some("application/problem+json")
    );

    let waiting = json!({"sessionId": "file", "fromSeconds": 1, "postSeconds": 8});
    let first_ids: Vec<String> = ["q1", "q2"]
        .iter()
        .map(|key| {
            let answer = service.save(key, waiting.clone());
            assert_eq!(answer.status, 202, "{}", answer.text());
            answer.json()["replayId"].as_str().unwrap().to_owned()
        })
        .collect();
    let full = service.save("q3", waiting.clone());
    assert_eq!(full.status, 503, "{}", full.text());
    assert_eq!(full.header("retry-after"), Some("1"));
    assert_eq!(full.json()["limit"], "save-queue");
    for replay_id in &first_ids {
        assert_eq!(service.wait_for_replay(replay_id)["status"], "ready");
    }
    let retried = service.save("q3", waiting);
    assert_eq!(
        retried.status,
        202,
        "the same key once there is room: {}",
        retried.text()
    );
}

#[test]
fn sigterm_finishes_the_saves_in_flight_and_exits_cleanly() {
    let dir = TestDir::new("service-sigterm");
    let data = dir.join("data");
    let source = media::encode(&dir, "source.mp4", 30, Video::H264, Audio::Aac);
    let service = ServiceProcess::start(&data, None, &[]);
    file_session(&service, "file", &source, 3.0);
    let accepted = service.save(
        "in-flight",
        json!({"sessionId": "file", "fromSeconds": 2, "postSeconds": 3}),
    );
    assert_eq!(accepted.status, 202);
    let replay_id = accepted.json()["replayId"].as_str().unwrap().to_owned();
    let finished = service.terminate();
    assert!(finished.status.success(), "{:?}", finished.stderr);
    let lines: Vec<serde_json::Value> = finished
        .stdout
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let ready = lines
        .iter()
        .position(|line| line["event"] == "replay-ready");
    let stopped = lines.iter().position(|line| line["event"] == "stopped");
    assert!(
        ready.is_some() && ready < stopped,
        "the save ended before the exit: {lines:?}"
    );
    let restarted = ServiceProcess::start(&data, None, &[]);
    let status = restarted.status(&replay_id);
    assert_eq!(status["status"], "ready", "{status}");
    assert_eq!(
        status["frames"],
        5 * FPS,
        "two seconds before and three after: {status}"
    );
}

/// Every file below `root`.
fn walk(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
