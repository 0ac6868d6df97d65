//! Helpers for the ingest tests: sessions and their state changes, free ports, media made
//! with FFmpeg once per test, and clips checked by decoding them with FFmpeg.
#![allow(dead_code)] // Each test binary uses its own part of them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst_replay_service::sessions::ingest::{
    ClipEvent, ClipRequest, Ingest, SavedClip, SessionSpec, SessionState, SessionStatus,
};
#[allow(unused_imports)] // Each test binary uses its own part of them.
pub use test_support::feeders::{self, file_uri, free_tcp_port, free_udp_port};
#[allow(unused_imports)]
pub use test_support::media::{self, FPS};
#[allow(unused_imports)]
pub use test_support::{clips, require_tool, sha256sum, ChildProcess, TestDir};

/// A session and the states its `on_change` reported, in order.
pub struct Session {
    pub ingest: Ingest,
    pub states: Arc<Mutex<Vec<SessionState>>>,
    pub changes: Arc<Mutex<Vec<SessionStatus>>>,
}

impl Session {
    pub fn start(id: &str, source: &str, max_seconds: u64) -> Session {
        let states = Arc::new(Mutex::new(Vec::new()));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let (states_seen, changes_seen) = (Arc::clone(&states), Arc::clone(&changes));
        let spec = SessionSpec {
            id: id.to_owned(),
            source: source.to_owned(),
            max_duration: Duration::from_secs(max_seconds),
            max_bytes: 200 * 1024 * 1024,
        };
        let ingest = Ingest::start(spec, move |status: &SessionStatus| {
            let mut states = states_seen.lock().unwrap();
            if states.last() != Some(&status.state) {
                states.push(status.state);
            }
            changes_seen.lock().unwrap().push(status.clone());
        })
        .unwrap_or_else(|err| panic!("session {id} on {source} does not start: {err}"));
        Session {
            ingest,
            states,
            changes,
        }
    }

    pub fn status(&self) -> SessionStatus {
        self.ingest.status()
    }

    pub fn states(&self) -> Vec<SessionState> {
        self.states.lock().unwrap().clone()
    }

    /// Polls the status until `done` holds; panics with the last status after `limit`.
    pub fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&SessionStatus) -> bool,
    ) -> SessionStatus {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "waited {limit:?} for {what}; status {status:#?}; states {:?}",
                self.states()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for_state(&self, state: SessionState, limit: Duration) -> SessionStatus {
        self.wait_until(&format!("state {state}"), limit, |s| s.state == state)
    }

    /// Waits until the ring holds at least `seconds`.
    pub fn wait_for_buffered(&self, seconds: f64, limit: Duration) -> SessionStatus {
        self.wait_until(&format!("{seconds} s buffered"), limit, |s| {
            s.buffered_seconds >= seconds
        })
    }

    /// Saves and waits for the outcome; panics when the save fails.
    pub fn save(&self, request: ClipRequest) -> SavedClip {
        let location = request.location.clone();
        match wait_for_outcome(self.ingest.save(request)) {
            ClipEvent::Saved(saved) => {
                if let Some(sha256) = &saved.sha256 {
                    assert_eq!(sha256, &sha256sum(&saved.location), "{saved:?}");
                }
                saved
            }
            other => panic!(
                "save to {} did not succeed: {other:?}; status {:#?}",
                location.display(),
                self.status()
            ),
        }
    }

    /// Asserts nothing in the pipeline decodes or encodes: streams go to the ring as sent.
    pub fn assert_no_codec(&self) {
        use gst::prelude::*;
        let mut elements = Vec::new();
        for element in self
            .ingest
            .pipeline()
            .iterate_recurse()
            .into_iter()
            .flatten()
        {
            let Some(factory) = element.factory() else {
                continue;
            };
            let klass = factory.metadata("klass").unwrap_or_default().to_owned();
            assert!(
                !klass.contains("Decoder") && !klass.contains("Encoder"),
                "{} ({klass}) in the pipeline",
                factory.name()
            );
            elements.push(factory.name().to_string());
        }
        assert!(
            elements.iter().any(|e| e == "parsebin"),
            "a source part is running: {elements:?}"
        );
    }

    /// Asserts the ring never saw timestamps go back.
    pub fn assert_no_backward_jump(&self) {
        let status = self.status();
        assert!(
            !status.warnings.iter().any(|w| w.contains("backwards")),
            "the ring saw timestamps go back: {:?}",
            status.warnings
        );
    }
}

/// The one outcome of a save (after an optional `Writing`).
pub fn wait_for_outcome(mut events: tokio::sync::mpsc::UnboundedReceiver<ClipEvent>) -> ClipEvent {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match events.try_recv() {
            Ok(ClipEvent::Writing) => continue,
            Ok(outcome) => {
                // Exactly one outcome: the channel has nothing after it.
                std::thread::sleep(Duration::from_millis(50));
                assert!(
                    events.try_recv().is_err(),
                    "a second event after {outcome:?}"
                );
                return outcome;
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "no save outcome within 60 s");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                panic!("the save's channel closed without an outcome")
            }
        }
    }
}

pub fn clip_request(dir: &TestDir, name: &str, from: Option<f64>, to: f64) -> ClipRequest {
    ClipRequest {
        from_seconds: from,
        to_seconds: to,
        post_seconds: 0.0,
        clear: false,
        location: dir.join(name),
    }
}
