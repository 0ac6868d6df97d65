//! The server side: `gst-replay run` binds the socket, then answers requests on background
//! threads until its [`ServerHandle`] is dropped.

use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{
    error_reply, parse_request, read_line, ControlError, LineError, Request, MAX_REQUEST_LINE_BYTES,
};

/// How long a client may take to send its request line before it is dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more are refused with an error reply. Each one holds a thread,
/// and a handful is all a person at a shell produces, so this only stops a runaway script.
const MAX_ACTIVE_CONNECTIONS: usize = 64;

/// Pause after an `accept`/`poll` failure (say, out of file descriptors) so a persistent
/// failure does not turn the accept loop into a busy loop.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The reply must fit the socket buffer in practice; this only bounds a client that never reads.
const REPLY_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

type Handler = dyn Fn(Request) -> serde_json::Value + Send + Sync;

/// A bound control socket, not yet serving. Dropping it removes the socket file.
pub struct Server {
    listener: UnixListener,
    socket_file: SocketFile,
    request_timeout: Duration,
}

impl Server {
    /// Binds the socket: creates the parent directory with mode 0700 if missing; if a server
    /// already answers on `path`, fails with [`ControlError::AlreadyRunning`]; a stale socket
    /// file (nobody answers) is removed and replaced; anything else on `path` is left alone
    /// ([`ControlError::NotASocket`]). The socket file gets mode 0600.
    pub fn bind(path: &Path) -> Result<Server, ControlError> {
        create_private_parent_dir(path)?;
        remove_stale_socket(path)?;
        let listener = UnixListener::bind(path).map_err(|error| match error.kind() {
            // Another server won the race between our stale check and our bind.
            io::ErrorKind::AddrInUse => ControlError::AlreadyRunning {
                path: path.to_path_buf(),
            },
            _ => ControlError::io("listen on", path, error),
        })?;
        // From here on, dropping `socket_file` on an error removes what we just created.
        let socket_file = SocketFile::identify(path)?;
        fs::set_permissions(path, Permissions::from_mode(0o600))
            .map_err(|error| ControlError::io("restrict the permissions of", path, error))?;
        // Non-blocking so that a connection that vanishes between poll and accept cannot
        // stall the accept loop (and with it, shutdown).
        listener
            .set_nonblocking(true)
            .map_err(|error| ControlError::io("listen on", path, error))?;
        Ok(Server {
            listener,
            socket_file,
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
            socket_file,
            request_timeout,
        } = self;
        let path = socket_file.path.clone();
        // The handle keeps one end; dropping it makes the other end readable (end of file),
        // which wakes the accept thread's poll at once, whatever happened to the socket file.
        let (stop_sender, stop_receiver) =
            UnixStream::pair().map_err(|error| ControlError::io("serve on", &path, error))?;
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            request_timeout,
            active_connections: AtomicUsize::new(0),
        });
        let accept_thread = thread::Builder::new()
            .name("control-accept".into())
            .spawn(move || accept_loop(&listener, &stop_receiver, &shared))
            .map_err(|error| ControlError::io("start serving on", &path, error))?;
        Ok(ServerHandle {
            stop_sender: Some(stop_sender),
            accept_thread: Some(accept_thread),
            socket_file: Some(socket_file),
        })
    }
}

/// A serving control socket. Dropping it stops accepting at once, waits for the accept thread
/// and removes the socket file if it is still the one this server created. Requests already
/// being handled finish on their own threads.
pub struct ServerHandle {
    stop_sender: Option<UnixStream>,
    accept_thread: Option<JoinHandle<()>>,
    socket_file: Option<SocketFile>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        drop(self.stop_sender.take());
        if let Some(thread) = self.accept_thread.take() {
            // The accept loop does not panic; if it somehow did, there is nothing left to stop.
            let _ = thread.join();
        }
        // The listener closed with the thread; the file it was reached by can go now.
        drop(self.socket_file.take());
    }
}

/// The socket file this server created, identified by device and inode so that it is never
/// mistaken for a file another server put at the same path later.
struct SocketFile {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl SocketFile {
    fn identify(path: &Path) -> Result<SocketFile, ControlError> {
        match fs::symlink_metadata(path) {
            Ok(metadata) => Ok(SocketFile {
                path: path.to_path_buf(),
                device: metadata.dev(),
                inode: metadata.ino(),
            }),
            Err(error) => {
                let _ = fs::remove_file(path);
                Err(ControlError::io("inspect the new socket", path, error))
            }
        }
    }

    fn is_still_ours(&self) -> bool {
        fs::symlink_metadata(&self.path)
            .is_ok_and(|metadata| metadata.dev() == self.device && metadata.ino() == self.inode)
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if self.is_still_ours() {
            // Best effort: a leftover file is detected as stale by the next `bind`.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Creates the socket's directory, private to this user, if it does not exist. An existing
/// directory is left as it is: it may be shared on purpose (say, `--socket /tmp/x.sock`).
fn create_private_parent_dir(path: &Path) -> Result<(), ControlError> {
    let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    else {
        return Ok(());
    };
    if parent.exists() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .map_err(|error| ControlError::io("create the directory", parent, error))?;
    // The mode given to mkdir is filtered by the umask; set it explicitly so it is exactly 0700.
    fs::set_permissions(parent, Permissions::from_mode(0o700))
        .map_err(|error| ControlError::io("restrict the permissions of", parent, error))
}

/// Clears the way for `bind`: a socket nobody accepts on is a leftover from a server that
/// died, and is removed; a live one means another server is running.
fn remove_stale_socket(path: &Path) -> Result<(), ControlError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(ControlError::io("inspect", path, error)),
    };
    if !metadata.file_type().is_socket() {
        return Err(ControlError::NotASocket {
            path: path.to_path_buf(),
        });
    }
    // The probe sends nothing; a gst-replay server closes such a connection silently.
    match UnixStream::connect(path) {
        Ok(_probe) => Err(ControlError::AlreadyRunning {
            path: path.to_path_buf(),
        }),
        Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
            match fs::remove_file(path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    Err(ControlError::io("remove the stale socket", path, error))
                }
                _ => Ok(()),
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(ControlError::io("check who listens on", path, error)),
    }
}

/// What every connection thread needs.
struct Shared {
    handler: Box<Handler>,
    request_timeout: Duration,
    active_connections: AtomicUsize,
}

/// What woke the accept thread.
enum Wakeup {
    Stop,
    Connection,
    Failure,
}

fn accept_loop(listener: &UnixListener, stop_receiver: &UnixStream, shared: &Arc<Shared>) {
    loop {
        match wait_for_wakeup(listener, stop_receiver) {
            Wakeup::Stop => return,
            Wakeup::Connection => accept_connections(listener, shared),
            Wakeup::Failure => thread::sleep(RETRY_PAUSE),
        }
    }
}

/// Blocks until a client connects or the handle asks to stop; stopping wins.
fn wait_for_wakeup(listener: &UnixListener, stop_receiver: &UnixStream) -> Wakeup {
    let mut fds = [
        libc::pollfd {
            fd: stop_receiver.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is a valid array of two pollfd for the length passed, and both
    // descriptors stay open for the duration of the call (borrowed above).
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
    if ready < 0 {
        let interrupted = io::Error::last_os_error().kind() == io::ErrorKind::Interrupted;
        return if interrupted {
            Wakeup::Connection // Spurious: accept finds nothing and we poll again.
        } else {
            Wakeup::Failure
        };
    }
    if fds[0].revents != 0 {
        Wakeup::Stop
    } else if fds[1].revents & libc::POLLIN != 0 {
        Wakeup::Connection
    } else {
        Wakeup::Failure
    }
}

/// Accepts every pending connection, each onto its own thread.
fn accept_connections(listener: &UnixListener, shared: &Arc<Shared>) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => start_connection(stream, shared),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if error.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(_) => {
                // Out of descriptors or memory: let the pending client wait, then retry.
                thread::sleep(RETRY_PAUSE);
                return;
            }
        }
    }
}

fn start_connection(mut stream: UnixStream, shared: &Arc<Shared>) {
    let Some(slot) = ConnectionSlot::claim(shared) else {
        let reply = error_reply("too many control connections at once; try again shortly");
        // Never block the accept thread on a client: a fresh socket buffer takes this reply.
        let _ = stream.set_nonblocking(true);
        let _ = stream.write_all(reply_line(&reply).as_bytes());
        return;
    };
    // Some systems pass the listener's non-blocking flag on to accepted sockets.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
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
fn serve_connection(mut stream: UnixStream, shared: &Shared) {
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

fn write_reply(stream: &mut UnixStream, reply: &serde_json::Value) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::tests::TestDir;
    use proptest::prelude::*;
    use std::io::Read;

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
        let dir = TestDir::new("default-timeout");
        let server = Server::bind(&dir.socket()).unwrap();
        assert_eq!(server.request_timeout, Duration::from_secs(5));
    }

    #[test]
    fn a_silent_client_is_dropped() {
        let dir = TestDir::new("silent");
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
        let dir = TestDir::new("trickle");
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
        let dir = TestDir::new("half-close");
        let _server = impatient_server(&dir.socket(), Duration::from_secs(5));
        let mut stream = UnixStream::connect(dir.socket()).unwrap();

        stream.write_all(b"{\"command\":\"status\"}").unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();

        assert_eq!(read_until_closed(&mut stream), "{\"event\":\"ok\"}\n");
    }

    #[test]
    fn connections_over_the_limit_are_refused_with_a_reply() {
        let dir = TestDir::new("limit");
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
