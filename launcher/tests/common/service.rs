//! `gst-replay serve` as its tests run it: a process of its own on a free port, its data in
//! the test's directory, asked over HTTP as any client would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use test_support::http::{Answer, Client};

use super::{Running, TestDir, BINARY};

pub struct ServiceProcess {
    pub run: Running,
    pub url: String,
    pub data_dir: PathBuf,
    pub client: Client,
}

impl ServiceProcess {
    /// Starts `gst-replay serve --listen 127.0.0.1:0 --data-dir DATA_DIR` plus `extra`, and
    /// waits for its `listening` line.
    pub fn start(data_dir: &Path, token: Option<&str>, extra: &[&str]) -> ServiceProcess {
        let mut command = Command::new(BINARY);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env_remove("GST_REPLAY_TOKEN");
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        let mut run = Running::spawn(command);
        let listening = run.next_event(Duration::from_secs(30));
        assert_eq!(listening["event"], "listening", "{listening}");
        let url = listening["url"].as_str().unwrap().to_owned();
        ServiceProcess {
            client: Client::new(&url, token),
            url,
            data_dir: data_dir.to_owned(),
            run,
        }
    }

    pub fn in_dir(dir: &TestDir, token: Option<&str>, extra: &[&str]) -> ServiceProcess {
        ServiceProcess::start(&dir.join("data"), token, extra)
    }

    pub fn get(&self, path: &str) -> Answer {
        self.client.get(path, &[])
    }

    pub fn post(&self, path: &str, body: Value) -> Answer {
        self.client.post(path, &body, &[])
    }

    /// `start-buffer`; asserts it answered 201.
    pub fn start_session(&self, id: &str, body: Value) -> Value {
        let answer = self.post(&format!("/api/replay/v1/session/{id}/start-buffer"), body);
        assert_eq!(answer.status, 201, "start-buffer {id}: {}", answer.text());
        answer.json()
    }

    pub fn session(&self, id: &str) -> Value {
        let answer = self.get(&format!("/api/replay/v1/session/{id}"));
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// Polls the session until `ready` says so.
    pub fn wait_for_session(
        &self,
        id: &str,
        limit: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let document = self.session(id);
            if ready(&document) {
                return document;
            }
            assert!(
                Instant::now() < deadline,
                "session {id} not as expected within {limit:?}: {document}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the session has buffered `seconds`.
    pub fn wait_for_buffered(&self, id: &str, seconds: f64, limit: Duration) -> Value {
        self.wait_for_session(id, limit, |document| {
            document["state"] == "buffering"
                && document["bufferedSeconds"].as_f64().unwrap_or(0.0) >= seconds
        })
    }

    /// `POST /api/replay/v1/save` with `key`; the answer as it came.
    pub fn save(&self, key: &str, body: Value) -> Answer {
        self.client
            .post("/api/replay/v1/save", &body, &[("Idempotency-Key", key)])
    }

    /// Saves and waits for the job to end; returns its status document.
    pub fn save_and_wait(&self, key: &str, body: Value) -> Value {
        let answer = self.save(key, body);
        assert_eq!(answer.status, 202, "save: {}", answer.text());
        self.wait_for_replay(answer.json()["replayId"].as_str().unwrap())
    }

    pub fn status(&self, replay_id: &str) -> Value {
        let answer = self.get(&format!("/api/replay/v1/{replay_id}/status"));
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// Polls the replay's status until it is `ready` or `failed`.
    pub fn wait_for_replay(&self, replay_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let status = self.status(replay_id);
            if matches!(status["status"].as_str(), Some("ready" | "failed")) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "replay {replay_id} still {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Where a ready replay's file is in the data directory.
    pub fn clip_path(&self, status: &Value) -> PathBuf {
        let url = status["storageUrl"].as_str().expect("a storageUrl");
        let key = url
            .split("/replays/")
            .nth(1)
            .expect("a storage URL under /replays/");
        self.data_dir.join("replays").join(key)
    }

    /// The ReplayCreated events in events.jsonl, in order.
    pub fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data_dir.join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// SIGTERM, and the exit status with what it printed.
    pub fn terminate(self) -> super::Finished {
        self.run.stop_with(libc::SIGTERM)
    }
}

/// The whole ring, the last `seconds`, or `from` ago to `to` ago.
pub fn save_body(session: &str, from: Option<f64>, to: Option<f64>) -> Value {
    let mut body = json!({ "sessionId": session });
    if let Some(from) = from {
        body["fromSeconds"] = json!(from);
    }
    if let Some(to) = to {
        body["toSeconds"] = json!(to);
    }
    body
}

/// The HMAC-SHA256 of `body` keyed with `key`, as lower-case hex, computed by Python's
/// standard library: not the service's code.
pub fn hmac_sha256(key: &str, body: &[u8]) -> String {
    use std::io::Write;
    let mut python = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import hmac, hashlib, sys; \
             print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
            key,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    python.stdin.take().unwrap().write_all(body).unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// What a webhook receiver kept: (X-Replay-Signature, body) of each post.
type Posts = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A webhook receiver: an HTTP server on a free port that answers 200 to every POST (or 503
/// while `refusing`) and keeps what arrived.
pub struct WebhookReceiver {
    pub url: String,
    received: Posts,
    pub refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl WebhookReceiver {
    pub fn start() -> WebhookReceiver {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received: Posts = Arc::default();
        let refusing = Arc::new(AtomicBool::new(false));
        let (kept, refuse) = (Arc::clone(&received), Arc::clone(&refusing));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                let mut signature = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "x-replay-signature" => signature = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = if refuse.load(Ordering::SeqCst) {
                    "503 Service Unavailable"
                } else {
                    kept.lock().unwrap().push((signature, body));
                    "200 OK"
                };
                let _ = reader.get_mut().write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                );
            }
        });
        WebhookReceiver {
            url,
            received,
            refusing,
        }
    }

    /// (signature header, body) of every POST answered 200, in arrival order.
    pub fn received(&self) -> Vec<(String, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` posts arrived.
    pub fn wait_for(&self, count: usize, limit: Duration) -> Vec<(String, Vec<u8>)> {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} webhook posts within {limit:?}",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
