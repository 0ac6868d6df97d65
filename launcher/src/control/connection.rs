//! What the shared protocol code needs of a connection, and reading the one line it carries
//! each way: under a deadline, and up to a size limit.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// One end of a control connection, as the shared protocol code needs it: bytes both ways,
/// with timeouts. An `interprocess` local socket stream: a Unix domain socket, or a named
/// pipe on Windows.
pub(crate) trait Connection: Read + Write + Send + 'static {
    /// Bounds each following read (None: wait without limit). As with `UnixStream`, a zero
    /// duration is refused: callers pass what is left of a deadline, never nothing.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Bounds each following write (None: wait without limit).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Writes `bytes` only as far as the connection takes them without waiting for the peer
    /// to read: for the one short reply the accept thread itself sends, which must never
    /// block it.
    fn write_without_waiting(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// Why [`read_line`] returned no line.
#[derive(Debug)]
pub(super) enum LineError {
    /// The peer closed the connection before sending a single byte.
    Closed,
    /// The line grew past the limit before its newline arrived.
    TooLong,
    /// The deadline passed first.
    TimedOut,
    /// The socket failed.
    Io(io::Error),
}

/// Reads one line (returned without its newline) from `stream`, giving up at `deadline`
/// (None: wait without limit) or once the line exceeds `max_len` bytes.
///
/// The deadline covers the whole line, not each read, so a peer that trickles one byte at a
/// time cannot hold the connection open forever. Bytes after the newline are ignored: there
/// is one message per connection. A peer that closes after a partial line has sent that line.
pub(super) fn read_line(
    stream: &mut impl Connection,
    deadline: Option<Instant>,
    max_len: usize,
) -> Result<Vec<u8>, LineError> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        set_read_deadline(stream, deadline)?;
        let count = match stream.read(&mut chunk) {
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => return Err(LineError::TimedOut),
            Err(error) => return Err(LineError::Io(error)),
        };
        let received = &chunk[..count];
        if received.is_empty() {
            return if line.is_empty() {
                Err(LineError::Closed)
            } else {
                Ok(line)
            };
        }
        let newline = received.iter().position(|&byte| byte == b'\n');
        line.extend_from_slice(&received[..newline.unwrap_or(count)]);
        if line.len() > max_len {
            return Err(LineError::TooLong);
        }
        if newline.is_some() {
            return Ok(line);
        }
    }
}

/// Sets the socket's read timeout to what is left until `deadline`.
fn set_read_deadline(stream: &impl Connection, deadline: Option<Instant>) -> Result<(), LineError> {
    let remaining = match deadline {
        None => None,
        Some(deadline) => match time_left(deadline) {
            Some(remaining) => Some(remaining),
            None => return Err(LineError::TimedOut),
        },
    };
    stream.set_read_timeout(remaining).map_err(LineError::Io)
}

/// Time left until `deadline`, or None once it has passed (a zero timeout means "no timeout"
/// to the socket API, so it must never be handed over).
pub(super) fn time_left(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|left| !left.is_zero())
}

/// Socket timeouts surface as `WouldBlock` on Unix and `TimedOut` elsewhere (and from the
/// Windows pipes).
fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
