//! End-to-end tests: a real server and client on a socket in a private temporary directory,
//! or on a named pipe of their own on Windows. Those about socket files run on Unix only.

#[cfg(unix)]
use std::fs;
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use test_support::TestDir;

use super::server::Server;
use super::{client, platform, Connection, ControlError, Request, MAX_REQUEST_LINE_BYTES};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Where a test's server listens: a socket in the test's directory, or on Windows, where
/// pipes are not files, a pipe named after it.
pub(super) trait SocketPlace {
    fn socket(&self) -> PathBuf;
}

impl SocketPlace for TestDir {
    fn socket(&self) -> PathBuf {
        if cfg!(windows) {
            let name = self.path.file_name().unwrap().to_string_lossy();
            PathBuf::from(format!(r"\\.\pipe\gst-replay-test-{name}"))
        } else {
            self.join("control.sock")
        }
    }
}

fn save(last_ns: Option<u64>) -> Request {
    Request::Save {
        last_ns,
        post_ns: None,
        clear: None,
        path: None,
    }
}

/// Sends raw bytes and reads everything the server writes until it closes the connection.
pub(super) fn exchange_raw(path: &Path, bytes: &[u8]) -> String {
    let mut stream = platform::connect(path).unwrap();
    Connection::set_read_timeout(&stream, Some(TIMEOUT)).unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn parse_reply(answer: &str) -> Value {
    assert!(answer.ends_with('\n'), "not one line: {answer:?}");
    assert_eq!(answer.matches('\n').count(), 1, "not one line: {answer:?}");
    serde_json::from_str(answer).unwrap()
}

fn error_text(reply: &Value) -> &str {
    assert_eq!(reply["event"], "error", "{reply}");
    reply["error"].as_str().unwrap()
}

/// A handler that records every request and answers with its position.
fn recording_server(path: &Path) -> (super::server::ServerHandle, Arc<Mutex<Vec<Request>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    let handle = Server::bind(path).unwrap().spawn(move |request| {
        let mut seen = recorder.lock().unwrap();
        seen.push(request);
        json!({ "event": "ok", "number": seen.len() })
    });
    (handle, seen)
}

#[test]
fn client_and_server_exchange_requests_and_replies() {
    let dir = TestDir::new("control-exchange");
    let (_server, seen) = recording_server(&dir.socket());

    let first = client::send(&dir.socket(), &save(Some(30_000_000_000)), TIMEOUT).unwrap();
    let second = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();

    assert_eq!(first, json!({ "event": "ok", "number": 1 }));
    assert_eq!(second, json!({ "event": "ok", "number": 2 }));
    assert_eq!(
        *seen.lock().unwrap(),
        [save(Some(30_000_000_000)), Request::Status]
    );
}

#[test]
fn bare_save_line_on_the_wire_gets_defaults() {
    let dir = TestDir::new("control-bare-save");
    let (_server, seen) = recording_server(&dir.socket());

    let answer = exchange_raw(&dir.socket(), b"{\"command\":\"save\"}\n");

    assert_eq!(parse_reply(&answer), json!({ "event": "ok", "number": 1 }));
    assert_eq!(*seen.lock().unwrap(), [save(None)]);
}

#[test]
fn a_slow_request_does_not_block_another_connection() {
    let dir = TestDir::new("control-concurrent");
    let (save_started, save_started_seen) = mpsc::channel::<()>();
    let (release_save, save_released) = mpsc::channel::<()>();
    let save_released = Mutex::new(save_released);
    let save_started = Mutex::new(save_started);
    let _server = Server::bind(&dir.socket())
        .unwrap()
        .spawn(move |request| match request {
            Request::Save { .. } => {
                save_started.lock().unwrap().send(()).unwrap();
                let released = save_released.lock().unwrap().recv_timeout(TIMEOUT).is_ok();
                json!({ "event": "saved", "released": released })
            }
            Request::Status => json!({ "event": "status" }),
        });

    let socket = dir.socket();
    let slow_client = thread::spawn(move || client::send(&socket, &save(None), TIMEOUT));
    save_started_seen.recv_timeout(TIMEOUT).unwrap();

    // The save handler is still blocked; status must be answered regardless.
    let status = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();
    assert_eq!(status, json!({ "event": "status" }));
    release_save.send(()).unwrap();

    let saved = slow_client.join().unwrap().unwrap();
    assert_eq!(saved, json!({ "event": "saved", "released": true }));
}

#[test]
fn second_bind_on_a_live_socket_fails_and_leaves_the_first_serving() {
    let dir = TestDir::new("control-already-running");
    let (_server, _) = recording_server(&dir.socket());

    let error = Server::bind(&dir.socket()).err().unwrap();

    assert!(
        matches!(error, ControlError::AlreadyRunning { .. }),
        "{error}"
    );
    assert!(error
        .to_string()
        .starts_with("another gst-replay is already running on "));
    let status = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();
    assert_eq!(status["event"], "ok");
}

#[cfg(unix)]
#[test]
fn stale_socket_file_is_replaced() {
    let dir = TestDir::new("control-stale");
    // A listener dropped without removing its file, as a crashed server leaves it.
    drop(UnixListener::bind(dir.socket()).unwrap());
    assert!(dir.socket().exists());
    assert!(matches!(
        client::send(&dir.socket(), &Request::Status, TIMEOUT),
        Err(ControlError::NotRunning { .. })
    ));

    let (_server, _) = recording_server(&dir.socket());

    let status = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();
    assert_eq!(status["event"], "ok");
}

#[cfg(unix)]
#[test]
fn a_file_that_is_not_a_socket_is_left_alone() {
    let dir = TestDir::new("control-not-a-socket");
    fs::write(dir.socket(), "precious").unwrap();

    let error = Server::bind(&dir.socket()).err().unwrap();

    assert!(matches!(error, ControlError::NotASocket { .. }), "{error}");
    assert_eq!(fs::read_to_string(dir.socket()).unwrap(), "precious");
}

#[test]
fn send_to_a_missing_socket_says_nothing_is_running() {
    let dir = TestDir::new("control-missing");

    let error = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap_err();

    assert!(matches!(error, ControlError::NotRunning { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "no gst-replay is running on {} (start one with `gst-replay run`, or pass the same --socket)",
            dir.socket().display()
        )
    );
}

#[test]
fn malformed_json_gets_an_error_reply_and_the_connection_closes() {
    let dir = TestDir::new("control-malformed");
    let (_server, seen) = recording_server(&dir.socket());

    for line in [
        &b"{\"command\":\"save\"\n"[..],
        b"{\"command\":\"rewind\"}\n",
        b"\xff\xfe\n",
        b"\n",
    ] {
        // exchange_raw reads to the end, so it returning at all proves the close.
        let reply = parse_reply(&exchange_raw(&dir.socket(), line));
        assert!(error_text(&reply).starts_with("the request is not valid: "));
    }
    assert!(seen.lock().unwrap().is_empty());
}

/// A save request whose line, newline excluded, is exactly `length` bytes long.
fn save_with_line_length(length: usize) -> Request {
    let empty_path_length = Request::Save {
        last_ns: None,
        post_ns: None,
        clear: None,
        path: Some(String::new()),
    }
    .to_line()
    .len()
        - 1;
    Request::Save {
        last_ns: None,
        post_ns: None,
        clear: None,
        path: Some("p".repeat(length - empty_path_length)),
    }
}

#[test]
fn request_lines_over_64_kib_are_refused() {
    let dir = TestDir::new("control-oversized");
    let (_server, seen) = recording_server(&dir.socket());

    let at_limit = save_with_line_length(MAX_REQUEST_LINE_BYTES);
    let reply = client::send(&dir.socket(), &at_limit, TIMEOUT).unwrap();
    assert_eq!(reply["event"], "ok");

    // Large enough that the server stops reading before the client has written it all.
    let far_over = save_with_line_length(4 * 1024 * 1024);
    for request in [save_with_line_length(MAX_REQUEST_LINE_BYTES + 1), far_over] {
        let reply = client::send(&dir.socket(), &request, TIMEOUT).unwrap();
        assert_eq!(
            error_text(&reply),
            "the request is longer than 64 KiB and was refused"
        );
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn dropping_the_handle_removes_the_socket_promptly() {
    let dir = TestDir::new("control-drop");
    let (server, _) = recording_server(&dir.socket());
    client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();

    let started = Instant::now();
    drop(server);

    assert!(started.elapsed() < Duration::from_secs(1));
    #[cfg(unix)]
    assert!(!dir.socket().exists());
    let error = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap_err();
    assert!(matches!(error, ControlError::NotRunning { .. }), "{error}");
}

#[cfg(unix)]
#[test]
fn dropping_the_handle_keeps_a_socket_another_server_created() {
    let dir = TestDir::new("control-replaced");
    let (first, _) = recording_server(&dir.socket());
    fs::remove_file(dir.socket()).unwrap();
    let (_second, seen_by_second) = recording_server(&dir.socket());

    drop(first);

    assert!(dir.socket().exists());
    client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();
    assert_eq!(seen_by_second.lock().unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn dropping_an_unspawned_server_removes_the_socket() {
    let dir = TestDir::new("control-unspawned");
    let server = Server::bind(&dir.socket()).unwrap();
    assert!(dir.socket().exists());

    drop(server);

    assert!(!dir.socket().exists());
}

#[cfg(unix)]
#[test]
fn socket_directory_is_0700_and_socket_is_0600() {
    let dir = TestDir::new("control-permissions");
    let socket = dir.path.join("created/by/bind/control.sock");

    let (_server, _) = recording_server(&socket);

    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&socket), 0o600);
}

#[test]
fn client_gives_up_after_its_timeout() {
    let dir = TestDir::new("control-timeout");
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let server = Server::bind(&dir.socket()).unwrap().spawn(move |_| {
        let _ = released.lock().unwrap().recv_timeout(TIMEOUT);
        json!({ "event": "late" })
    });

    let started = Instant::now();
    let timeout = Duration::from_millis(300);
    let error = client::send(&dir.socket(), &Request::Status, timeout).unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(error, ControlError::Timeout { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!("no answer from {} within 0.3 s", dir.socket().display())
    );
    release.send(()).unwrap();
    drop(server);
}

#[test]
fn a_panicking_handler_gets_an_error_reply() {
    let dir = TestDir::new("control-panic");
    let _server = Server::bind(&dir.socket())
        .unwrap()
        .spawn(|_| panic!("handler failure provoked by a test"));

    let reply = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap();

    assert!(error_text(&reply).contains("failed while handling the request"));
}

#[cfg(unix)]
#[test]
fn a_reply_that_is_not_json_is_reported() {
    let dir = TestDir::new("control-bad-reply");
    let listener = UnixListener::bind(dir.socket()).unwrap();
    let fake_server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let _ = stream.read(&mut request).unwrap();
        stream.write_all(b"hello\n").unwrap();
    });

    let error = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap_err();

    assert!(
        matches!(error, ControlError::InvalidReply { .. }),
        "{error}"
    );
    fake_server.join().unwrap();
}

#[cfg(unix)]
#[test]
fn a_server_that_closes_without_answering_is_reported() {
    let dir = TestDir::new("control-no-reply");
    let listener = UnixListener::bind(dir.socket()).unwrap();
    let fake_server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let _ = stream.read(&mut request).unwrap();
    });

    let error = client::send(&dir.socket(), &Request::Status, TIMEOUT).unwrap_err();

    assert!(matches!(error, ControlError::NoReply { .. }), "{error}");
    fake_server.join().unwrap();
}
