//! The local control channel: a running `gst-replay run` listens on a Unix domain socket (a
//! named pipe on Windows), and `gst-replay save` / `gst-replay status` from another shell
//! connect to it.
//!
//! The protocol is deliberately tiny: one request per connection, sent as one JSON line
//! (see [`Request`]), answered by one JSON line. Replies are free-form JSON chosen by the
//! server's handler; errors the channel itself reports look like
//! `{"event":"error","error":"<sentence>"}` (see [`error_reply`]).
//!
//! The bytes travel over `interprocess` local sockets. Everything but opening and accepting
//! connections is shared: the request format (here), the line reading with its deadline and
//! size limit (`connection`), the server's connection handling and the client. `unix` and
//! `windows` each provide what the platform adds to `interprocess`: a [`Connection`], a
//! `connect` for clients and a `Listener` for the server.
//!
//! This module knows nothing about GStreamer: the server hands each request to a closure.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub mod client;
mod connection;
#[cfg(any(windows, test))]
mod pipe_name;
pub mod server;
#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

use connection::Connection;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
use windows as platform;

#[cfg(test)]
mod tests;

/// Longest request line a server accepts, not counting the newline. Real requests are a few
/// hundred bytes; the limit only stops a runaway client from filling the server's memory.
pub const MAX_REQUEST_LINE_BYTES: usize = 64 * 1024;

/// Where `gst-replay run` listens unless told otherwise.
///
/// Unix: `$XDG_RUNTIME_DIR/gst-replay/control.sock`, else `/tmp/gst-replay-<uid>/control.sock`
/// (an empty or relative `$XDG_RUNTIME_DIR` is ignored, as the XDG base directory
/// specification asks). Windows: the named pipe `\\.\pipe\gst-replay-<user name>`.
pub fn default_socket_path() -> PathBuf {
    platform::default_socket_path()
}

/// One request per connection, sent as one JSON line.
///
/// Missing optional fields default, so `{"command":"save"}` is a complete request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    /// Save the last `last_ns` nanoseconds (None: the run's --duration) and the next
    /// `post_ns` (None: the run's --post-roll); `clear` true makes later saves start after
    /// this clip, false keeps them from doing so (None: the run's --clear-on-save decides).
    /// `path` chooses the file (None: the run's naming scheme). None goes on the wire as
    /// `null`; a field left out means the same.
    Save {
        #[serde(default)]
        last_ns: Option<u64>,
        #[serde(default)]
        post_ns: Option<u64>,
        #[serde(default)]
        clear: Option<bool>,
        #[serde(default)]
        path: Option<String>,
    },
    /// Report the ring's status.
    Status,
}

impl Request {
    /// The request as it goes on the wire: compact JSON and a newline. serde_json escapes
    /// control characters inside strings, so the only newline is the terminating one.
    pub fn to_line(&self) -> String {
        let mut line =
            serde_json::to_string(self).expect("a Request has only string keys and plain values");
        line.push('\n');
        line
    }
}

/// Parses one request line (with or without its newline) as a server receives it.
pub fn parse_request(line: &[u8]) -> Result<Request, ControlError> {
    serde_json::from_slice(line).map_err(|error| ControlError::InvalidRequest {
        message: error.to_string(),
    })
}

/// The reply shape for failures: `{"event":"error","error":"<message>"}`. The socket layer
/// uses it for requests it refuses; handlers may use it too, so clients see one shape.
pub fn error_reply(message: impl std::fmt::Display) -> serde_json::Value {
    serde_json::json!({ "event": "error", "error": message.to_string() })
}

/// Everything that can go wrong on the control socket, each as a sentence a user can act on.
///
/// Messages are complete on their own (an I/O error's reason is part of the message), so
/// printing the error with `{}` is enough; there is no `source()` chain to walk.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing listens on the socket (missing file, or a stale one nobody accepts on).
    #[error(
        "no gst-replay is running on {path} (start one with `gst-replay run`, or pass the same --socket)"
    )]
    NotRunning { path: PathBuf },

    /// `bind` found a live server on the path.
    #[error(
        "another gst-replay is already running on {path}; stop it, or give this one another --socket"
    )]
    AlreadyRunning { path: PathBuf },

    /// `bind` found something other than a socket on the path; it is never deleted.
    #[error("{path} exists and is not a socket; move it away, or give this one another --socket")]
    NotASocket { path: PathBuf },

    /// Windows: `--socket` is not a pipe name.
    #[error(
        "{path} is not a pipe name; on Windows --socket takes a name such as gst-replay-test \
         or \\\\.\\pipe\\gst-replay-test"
    )]
    NotAPipeName { path: PathBuf },

    /// A request line that does not parse as a [`Request`].
    #[error("the request is not valid: {message}")]
    InvalidRequest { message: String },

    /// The server did not answer before the client's timeout.
    #[error("no answer from {path} within {} s", .timeout.as_secs_f64())]
    Timeout { path: PathBuf, timeout: Duration },

    /// The server closed the connection without answering.
    #[error("{path} closed the connection without answering (the gst-replay there may have stopped or failed; see its output)")]
    NoReply { path: PathBuf },

    /// The server answered something that is not one JSON line.
    #[error("the answer from {path} is not valid: {message}")]
    InvalidReply { path: PathBuf, message: String },

    /// An operating-system error, with what was being done and to which path.
    #[error("could not {action} {path}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

impl ControlError {
    fn io(action: &'static str, path: &std::path::Path, error: io::Error) -> Self {
        ControlError::Io {
            action,
            path: path.to_path_buf(),
            error,
        }
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn save_request_uses_the_documented_wire_format() {
        let request = Request::Save {
            last_ns: Some(30_000_000_000),
            post_ns: None,
            clear: None,
            path: None,
        };
        assert_eq!(
            request.to_line(),
            "{\"command\":\"save\",\"last_ns\":30000000000,\"post_ns\":null,\"clear\":null,\"path\":null}\n"
        );
        assert_eq!(
            parse_request(request.to_line().as_bytes()).unwrap(),
            request
        );
    }

    #[test]
    fn clear_says_clear_do_not_clear_or_nothing() {
        let clear_of = |line: &[u8]| match parse_request(line).unwrap() {
            Request::Save { clear, .. } => clear,
            Request::Status => panic!("not a save"),
        };
        assert_eq!(clear_of(br#"{"command":"save","clear":true}"#), Some(true));
        assert_eq!(
            clear_of(br#"{"command":"save","clear":false}"#),
            Some(false)
        );
        assert_eq!(clear_of(br#"{"command":"save","clear":null}"#), None);
        assert_eq!(clear_of(br#"{"command":"save"}"#), None);
        for (clear, on_the_wire) in [
            (Some(true), "\"clear\":true"),
            (Some(false), "\"clear\":false"),
            (None, "\"clear\":null"),
        ] {
            let request = Request::Save {
                last_ns: None,
                post_ns: None,
                clear,
                path: None,
            };
            let line = request.to_line();
            assert!(line.contains(on_the_wire), "{line}");
            assert_eq!(parse_request(line.as_bytes()).unwrap(), request);
        }
        let error = parse_request(br#"{"command":"save","clear":"yes"}"#).unwrap_err();
        assert!(
            matches!(error, ControlError::InvalidRequest { .. }),
            "{error}"
        );
    }

    #[test]
    fn status_request_round_trips() {
        assert_eq!(Request::Status.to_line(), "{\"command\":\"status\"}\n");
        assert_eq!(
            parse_request(b"{\"command\":\"status\"}").unwrap(),
            Request::Status
        );
    }

    #[test]
    fn bare_save_gets_defaults() {
        let expected = Request::Save {
            last_ns: None,
            post_ns: None,
            clear: None,
            path: None,
        };
        assert_eq!(parse_request(b"{\"command\":\"save\"}").unwrap(), expected);
    }

    #[test]
    fn partial_save_keeps_given_fields() {
        let parsed =
            parse_request(br#"{"command":"save","last_ns":5,"path":"/tmp/clip.mp4"}"#).unwrap();
        let expected = Request::Save {
            last_ns: Some(5),
            post_ns: None,
            clear: None,
            path: Some("/tmp/clip.mp4".into()),
        };
        assert_eq!(parsed, expected);
    }

    #[test]
    fn invalid_requests_explain_themselves() {
        for line in [
            &b"not json"[..],
            br#"{"command":"explode"}"#,
            br#"{"last_ns":5}"#,
            br#"{"command":"save","last_ns":-1}"#,
            b"\xff\xfe",
            b"",
        ] {
            let error = parse_request(line).unwrap_err();
            assert!(matches!(error, ControlError::InvalidRequest { .. }));
            assert!(error.to_string().starts_with("the request is not valid: "));
        }
    }

    #[test]
    fn error_messages_read_as_sentences() {
        let path = PathBuf::from("/run/user/1000/gst-replay/control.sock");
        assert_eq!(
            ControlError::NotRunning { path: path.clone() }.to_string(),
            "no gst-replay is running on /run/user/1000/gst-replay/control.sock \
             (start one with `gst-replay run`, or pass the same --socket)"
        );
        assert_eq!(
            ControlError::AlreadyRunning { path: path.clone() }.to_string(),
            "another gst-replay is already running on /run/user/1000/gst-replay/control.sock; \
             stop it, or give this one another --socket"
        );
        assert_eq!(
            ControlError::Timeout {
                path: path.clone(),
                timeout: Duration::from_millis(2500)
            }
            .to_string(),
            "no answer from /run/user/1000/gst-replay/control.sock within 2.5 s"
        );
        let io = ControlError::io("connect to", &path, io::ErrorKind::PermissionDenied.into());
        assert!(io
            .to_string()
            .starts_with("could not connect to /run/user/1000/gst-replay/control.sock: "));
    }

    fn arbitrary_save() -> impl Strategy<Value = Request> {
        (
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<Option<bool>>(),
            proptest::option::of(any::<String>()),
        )
            .prop_map(|(last_ns, post_ns, clear, path)| Request::Save {
                last_ns,
                post_ns,
                clear,
                path,
            })
    }

    proptest! {
        #[test]
        fn any_save_request_round_trips_as_one_line(request in arbitrary_save()) {
            let line = request.to_line();
            prop_assert_eq!(line.find('\n'), Some(line.len() - 1));
            prop_assert_eq!(parse_request(line.as_bytes()).unwrap(), request);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_request(&bytes);
        }
    }
}
