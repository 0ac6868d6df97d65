//! The server side: `gst-replay run` binds the control channel, then answers requests on
//! background threads until its [`ServerHandle`] is dropped.
//!
//! Binding and accepting are the platform's (a socket file on Unix, a named pipe on Windows);
//! what happens on a connection, with its limits and deadlines, is the same everywhere.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::connection::{read_line, Connection, LineError};
use super::platform::{Listener, StopSender};
use super::{error_reply, parse_request, ControlError, Request, MAX_REQUEST_LINE_BYTES};

/// How long a client may take to send its request line before it is dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more are refused with an error reply. Each one holds a thread,
/// and a handful is all a person at a shell produces, so this only stops a runaway script.
const MAX_ACTIVE_CONNECTIONS: usize = 64;

/// Pause after an accept failure (say, out of file descriptors) so a persistent failure does
/// not turn the accept loop into a busy loop.
pub(super) const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The reply must fit the socket buffer in practice; this only bounds a client that never reads.
const REPLY_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

type Handler = dyn Fn(Request) -> serde_json::Value + Send + Sync;

/// A bound control channel, not yet serving. Dropping it releases the channel (on Unix,
/// removes the socket file).
pub struct Server {
    listener: Listener,
    request_timeout: Duration,
}

impl Server {
    /// Binds the control channel, refusing a second server on the same `path` with
    /// [`ControlError::AlreadyRunning`].
    ///
    /// Unix: creates the parent directory with mode 0700 if missing; a stale socket file
    /// (nobody answers) is removed and replaced; anything else on `path` is left alone
    /// ([`ControlError::NotASocket`]). The socket file gets mode 0600.
    ///
    /// Windows: `path` is a pipe name (`\\.\pipe\NAME`, or just `NAME`); the pipe is created
    /// as its first instance, so an existing pipe of that name means another server.
    pub fn bind(path: &Path) -> Result<Server, ControlError> {
        Ok(Server {
            listener: Listener::bind(path)?,
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// Serves on a background thread: each connection is handled on its own thread so a slow
    /// save does not block a status request; `handler` returns the JSON reply (it may block
    /// until a save completes). Malformed lines get `{"event":"error","error":"..."}` and the
    /// connection closes; a client that sends nothing for 5 s is dropped; request lines over
    /// 64 KiB are refused.
    ///
    /// # Panics
    /// If the operating system cannot start a thread, like [`std::thread::spawn`]; use
    /// [`Server::try_spawn`] to get an error instead.
    pub fn spawn(
        self,
        handler: impl Fn(Request) -> serde_json::Value + Send + Sync + 'static,
    ) -> ServerHandle {
        match self.try_spawn(handler) {
            Ok(handle) => handle,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`Server::spawn`], returning an error when the accept thread cannot be started.
    pub fn try_spawn(
        self,
        handler: impl Fn(Request) -> serde_json::Value + Send + Sync + 'static,
    ) -> Result<ServerHandle, ControlError> {
        let Server {
            listener,
            request_timeout,
        } = self;
        let path = listener.path().to_path_buf();
        let (stop_sender, stop_receiver) = listener
            .stop_pair()
            .map_err(|error| ControlError::io("serve on", &path, error))?;
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            request_timeout,
            active_connections: AtomicUsize::new(0),
        });
        let accept_thread = thread::Builder::new()
            .name("control-accept".into())
            .spawn(move || {
                listener.accept_until_stopped(&stop_receiver, |stream| {
                    start_connection(stream, &shared)
                })
            })
            .map_err(|error| ControlError::io("start serving on", &path, error))?;
        Ok(ServerHandle {
            stop_sender: Some(stop_sender),
            accept_thread: Some(accept_thread),
        })
    }
}

/// A serving control channel. Dropping it stops accepting at once and waits for the accept
/// thread, which releases the channel as it ends (on Unix, removes the socket file if it is
/// still the one this server created). Requests already being handled finish on their own
/// threads.
pub struct ServerHandle {
    stop_sender: Option<StopSender>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        drop(self.stop_sender.take());
        if let Some(thread) = self.accept_thread.take() {
            // The accept loop does not panic; if it somehow did, there is nothing left to stop.
            let _ = thread.join();
        }
    }
}

/// What every connection thread needs.
struct Shared {
    handler: Box<Handler>,
    request_timeout: Duration,
    active_connections: AtomicUsize,
}

fn start_connection(mut stream: impl Connection, shared: &Arc<Shared>) {
    let Some(slot) = ConnectionSlot::claim(shared) else {
        let reply = error_reply("too many control connections at once; try again shortly");
        // Never block the accept thread on a client: a fresh connection's buffer takes this
        // reply.
        let _ = stream.write_without_waiting(reply_line(&reply).as_bytes());
        return;
    };
    // If the thread cannot start, the closure (stream and slot) is dropped: the client sees
    // the connection close and reports that no answer came.
    let _ = thread::Builder::new()
        .name("control-connection".into())
        .spawn(move || {
            let slot = slot; // Held, and so counted, until the connection is done.
            serve_connection(stream, &slot.shared);
        });
}

/// A counted place among the active connections, given back on drop.
struct ConnectionSlot {
    shared: Arc<Shared>,
}

impl ConnectionSlot {
    fn claim(shared: &Arc<Shared>) -> Option<ConnectionSlot> {
        let previously_active = shared.active_connections.fetch_add(1, Ordering::SeqCst);
        let slot = ConnectionSlot {
            shared: Arc::clone(shared),
        };
        // Dropping the slot undoes the increment when over the limit.
        (previously_active < MAX_ACTIVE_CONNECTIONS).then_some(slot)
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.shared
            .active_connections
            .fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads the one request, answers it and closes the connection.
fn serve_connection(mut stream: impl Connection, shared: &Shared) {
    let deadline = Instant::now() + shared.request_timeout;
    let reply = match read_line(&mut stream, Some(deadline), MAX_REQUEST_LINE_BYTES) {
        Ok(line) => reply_to_line(&line, &*shared.handler),
        // A client that connects and leaves (as `bind` does to probe) needs no answer.
        Err(LineError::Closed) | Err(LineError::Io(_)) => return,
        Err(LineError::TooLong) => error_reply(format!(
            "the request is longer than {} KiB and was refused",
            MAX_REQUEST_LINE_BYTES / 1024
        )),
        Err(LineError::TimedOut) => error_reply(format!(
            "no request arrived within {} s; the connection was closed",
            shared.request_timeout.as_secs_f64()
        )),
    };
    // The client may already be gone; there is nobody left to tell.
    let _ = write_reply(&mut stream, &reply);
}

/// Parses one request line and asks the handler for the reply. Never panics: a bad line gets
/// an error reply, and so does a handler that panics.
fn reply_to_line(line: &[u8], handler: &Handler) -> serde_json::Value {
    let request = match parse_request(line) {
        Ok(request) => request,
        Err(error) => return error_reply(error),
    };
    catch_unwind(AssertUnwindSafe(|| handler(request))).unwrap_or_else(|_| {
        error_reply("gst-replay failed while handling the request; see its output")
    })
}

fn write_reply(stream: &mut impl Connection, reply: &serde_json::Value) -> io::Result<()> {
    stream.set_write_timeout(Some(REPLY_WRITE_TIMEOUT))?;
    stream.write_all(reply_line(reply).as_bytes())?;
    stream.flush()
}

/// A reply as one line. A `Value` always serializes (its map keys are strings), and compact
/// serde_json output never contains a raw newline.
fn reply_line(reply: &serde_json::Value) -> String {
    let mut line = reply.to_string();
    line.push('\n');
    line
}

// These drive the shared server through Unix sockets, half-closes included; control/tests.rs
// covers what both platforms do.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::control::tests::SocketPlace;
    use proptest::prelude::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use test_support::TestDir;

    /// A server whose clients get `request_timeout` instead of 5 s, to keep tests fast.
    fn impatient_server(path: &Path, request_timeout: Duration) -> ServerHandle {
        let mut server = Server::bind(path).unwrap();
        server.request_timeout = request_timeout;
        server.spawn(|_| serde_json::json!({ "event": "ok" }))
    }

    fn read_until_closed(stream: &mut UnixStream) -> String {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn default_request_timeout_is_five_seconds() {
        let dir = TestDir::new("server-default-timeout");
        let server = Server::bind(&dir.socket()).unwrap();
        assert_eq!(server.request_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_silent_client_is_dropped() {
        let dir = TestDir::new("server-silent");
        let _server = impatient_server(&dir.socket(), Duration::from_millis(200));
        let started = Instant::now();

        let mut stream = UnixStream::connect(dir.socket()).unwrap();
        let answer = read_until_closed(&mut stream);

        assert!(started.elapsed() < Duration::from_secs(5));
        let reply: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(reply["event"], "error");
        assert_eq!(
            reply["error"],
            "no request arrived within 0.2 s; the connection was closed"
        );
    }

    #[test]
    fn a_client_trickling_bytes_is_dropped_at_the_deadline() {
        let dir = TestDir::new("server-trickle");
        let _server = impatient_server(&dir.socket(), Duration::from_millis(300));
        let mut stream = UnixStream::connect(dir.socket()).unwrap();
        let started = Instant::now();

        // Each byte arrives well within the timeout; only the total is too slow.
        for byte in b"{\"command\":\"status\"".iter().take(10) {
            if stream.write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let answer = read_until_closed(&mut stream);

        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            answer.contains("no request arrived within 0.3 s"),
            "{answer}"
        );
    }

    #[test]
    fn a_request_ended_by_closing_the_write_side_is_answered() {
        let dir = TestDir::new("server-half-close");
        let _server = impatient_server(&dir.socket(), Duration::from_secs(5));
        let mut stream = UnixStream::connect(dir.socket()).unwrap();

        stream.write_all(b"{\"command\":\"status\"}").unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();

        assert_eq!(read_until_closed(&mut stream), "{\"event\":\"ok\"}\n");
    }

    #[test]
    fn connections_over_the_limit_are_refused_with_a_reply() {
        let dir = TestDir::new("server-limit");
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = std::sync::Mutex::new(released);
        let server = Server::bind(&dir.socket()).unwrap().spawn(move |_| {
            let _ = released
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(10));
            serde_json::json!({ "event": "ok" })
        });
        let mut busy: Vec<UnixStream> = (0..MAX_ACTIVE_CONNECTIONS)
            .map(|_| {
                let mut stream = UnixStream::connect(dir.socket()).unwrap();
                stream.write_all(b"{\"command\":\"status\"}\n").unwrap();
                stream
            })
            .collect();
        // The backlog is first in, first out: by the time this one is accepted, every busy
        // connection has been, and holds its slot while its handler waits.
        let mut extra = UnixStream::connect(dir.socket()).unwrap();
        let answer = read_until_closed(&mut extra);

        assert!(answer.contains("too many control connections"), "{answer}");
        for _ in 0..MAX_ACTIVE_CONNECTIONS {
            release.send(()).unwrap();
        }
        for stream in &mut busy {
            assert_eq!(read_until_closed(stream), "{\"event\":\"ok\"}\n");
        }
        drop(server);
    }

    proptest! {
        #[test]
        fn any_line_gets_an_object_reply_without_panicking(
            line in proptest::collection::vec(any::<u8>(), 0..512)
        ) {
            let handler = |_: Request| serde_json::json!({ "event": "ok" });
            let reply = reply_to_line(&line, &handler);
            prop_assert!(reply.is_object());
            prop_assert!(reply["event"] == "ok" || reply["event"] == "error");
        }
    }
}
