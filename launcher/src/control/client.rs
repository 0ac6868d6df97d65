//! The client side: `gst-replay save` and `gst-replay status` send one request and wait for
//! the one-line reply.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::connection::{read_line, time_left, Connection, LineError};
use super::platform::connect;
use super::{ControlError, Request};

/// Longest reply accepted. Replies are small status objects; the cap only keeps a confused
/// peer from filling the client's memory.
const MAX_REPLY_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Sends `request` to the server listening on `path` (a pipe name on Windows) and returns its
/// one-line JSON reply.
///
/// `timeout` bounds the whole exchange after connecting (a save may legitimately take a
/// while, so callers pick it); `Duration::ZERO` waits without limit. Errors are sentences a
/// user can act on: nothing running on `path`, no answer in time, or the I/O failure.
pub fn send(
    path: &Path,
    request: &Request,
    timeout: Duration,
) -> Result<serde_json::Value, ControlError> {
    let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
    let mut stream = connect(path)?;
    let sent = write_request(&mut stream, request, deadline);
    // Read even if sending failed: a server that refuses a request (say, one too long)
    // answers why and closes before reading all of it, which breaks our write.
    let reply = read_reply(&mut stream, deadline);
    match (sent, reply) {
        (_, Ok(reply)) => Ok(reply),
        // Without a reply, the failed write is the root cause.
        (Err(error), Err(_)) | (Ok(()), Err(error)) => Err(describe(error, path, timeout)),
    }
}

/// What went wrong in one step of the exchange, before the path and timeout are attached.
enum ExchangeError {
    Io(&'static str, io::Error),
    TimedOut,
    NoReply,
    InvalidReply(String),
}

fn describe(error: ExchangeError, path: &Path, timeout: Duration) -> ControlError {
    let path = path.to_path_buf();
    match error {
        ExchangeError::Io(action, error) => ControlError::Io {
            action,
            path,
            error,
        },
        ExchangeError::TimedOut => ControlError::Timeout { path, timeout },
        ExchangeError::NoReply => ControlError::NoReply { path },
        ExchangeError::InvalidReply(message) => ControlError::InvalidReply { path, message },
    }
}

fn write_request(
    stream: &mut impl Connection,
    request: &Request,
    deadline: Option<Instant>,
) -> Result<(), ExchangeError> {
    let remaining = match deadline {
        None => None,
        Some(deadline) => Some(time_left(deadline).ok_or(ExchangeError::TimedOut)?),
    };
    let set_timeout = stream.set_write_timeout(remaining);
    set_timeout.map_err(|error| ExchangeError::Io("send the request to", error))?;
    stream
        .write_all(request.to_line().as_bytes())
        .map_err(|error| match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ExchangeError::TimedOut,
            _ => ExchangeError::Io("send the request to", error),
        })
}

fn read_reply(
    stream: &mut impl Connection,
    deadline: Option<Instant>,
) -> Result<serde_json::Value, ExchangeError> {
    let line = read_line(stream, deadline, MAX_REPLY_LINE_BYTES).map_err(|error| match error {
        LineError::Closed => ExchangeError::NoReply,
        LineError::TimedOut => ExchangeError::TimedOut,
        LineError::TooLong => ExchangeError::InvalidReply(format!(
            "it is longer than {} MiB",
            MAX_REPLY_LINE_BYTES / (1024 * 1024)
        )),
        LineError::Io(error) => ExchangeError::Io("read the answer from", error),
    })?;
    serde_json::from_slice(&line).map_err(|error| ExchangeError::InvalidReply(error.to_string()))
}
