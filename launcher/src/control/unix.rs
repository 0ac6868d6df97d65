//! The control channel on Unix: an `interprocess` local socket, which here is a stream socket
//! file, in a private directory.
//!
//! The socket file is the server's identity: `bind` refuses a live one (another server is
//! running), replaces a stale one (a server died) and never touches anything that is not a
//! socket; the file goes when the server does, unless another server has replaced it.
//!
//! `interprocess` binds, accepts, connects and gives the socket its mode before anything can
//! connect. What it leaves to us is here: the private directory, telling a stale socket file
//! from a live one (its `try_overwrite` would replace a live server too), removing only the
//! file this server created (its name reclamation removes whatever is at the path), and
//! waking the accept loop to stop.

use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{
    GenericFilePath, ListenerNonblockingMode, ListenerOptions, Name, Stream,
};
use interprocess::os::unix::local_socket::ListenerOptionsExt;
use interprocess::os::unix::uds_local_socket::Listener as SocketListener;
use rustix::event::{PollFd, PollFlags};

use super::server::RETRY_PAUSE;
use super::{Connection, ControlError};

/// Name of the socket file inside its directory.
const SOCKET_FILE_NAME: &str = "control.sock";

/// `$XDG_RUNTIME_DIR/gst-replay/control.sock`, else `/tmp/gst-replay-<uid>/control.sock`.
pub(super) fn default_socket_path() -> PathBuf {
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute());
    match runtime_dir {
        Some(dir) => dir.join("gst-replay").join(SOCKET_FILE_NAME),
        // Not std::env::temp_dir(): a different $TMPDIR in the shell running `save` must not
        // make it look for the server somewhere else.
        None => Path::new("/tmp")
            .join(format!("gst-replay-{}", rustix::process::getuid().as_raw()))
            .join(SOCKET_FILE_NAME),
    }
}

impl Connection for Stream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_recv_timeout(timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_send_timeout(timeout)
    }

    fn write_without_waiting(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.set_nonblocking(true)?;
        self.write_all(bytes)
    }
}

/// The socket file's name as `interprocess` takes it.
fn socket_name<'path>(
    path: &'path Path,
    action: &'static str,
) -> Result<Name<'path>, ControlError> {
    path.to_fs_name::<GenericFilePath>()
        .map_err(|error| ControlError::io(action, path, error))
}

/// Connects, telling "nobody is there" (no file, or a stale file nobody accepts on) apart
/// from other failures such as a permission problem.
pub(super) fn connect(path: &Path) -> Result<Stream, ControlError> {
    Stream::connect(socket_name(path, "connect to")?).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ControlError::NotRunning {
            path: path.to_path_buf(),
        },
        _ => ControlError::io("connect to", path, error),
    })
}

/// A bound socket. Dropping it closes the socket, then removes its file.
pub(super) struct Listener {
    // Declared first, so it is closed before the file it was reached by goes.
    listener: SocketListener,
    socket_file: SocketFile,
}

impl Listener {
    /// Binds the socket: creates the parent directory with mode 0700 if missing; if a server
    /// already answers on `path`, fails with [`ControlError::AlreadyRunning`]; a stale socket
    /// file (nobody answers) is removed and replaced; anything else on `path` is left alone
    /// ([`ControlError::NotASocket`]). The socket file gets mode 0600.
    pub(super) fn bind(path: &Path) -> Result<Listener, ControlError> {
        create_private_parent_dir(path)?;
        remove_stale_socket(path)?;
        let listener = ListenerOptions::new()
            .name(socket_name(path, "listen on")?)
            // Set on the socket before it is bound: never reachable by others, not even for
            // a moment.
            .mode(0o600)
            // `SocketFile` removes the file, and only if it is still this server's.
            .reclaim_name(false)
            // Accepting never blocks, so that a connection that vanishes between poll and
            // accept cannot stall the accept loop (and with it, shutdown).
            .nonblocking(ListenerNonblockingMode::Accept)
            .create_sync_as::<SocketListener>()
            .map_err(|error| match error.kind() {
                // Another server won the race between our stale check and our bind.
                io::ErrorKind::AddrInUse => ControlError::AlreadyRunning {
                    path: path.to_path_buf(),
                },
                _ => ControlError::io("listen on", path, error),
            })?;
        Ok(Listener {
            listener,
            socket_file: SocketFile::identify(path)?,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.socket_file.path
    }

    /// What stops [`Listener::accept_until_stopped`].
    pub(super) fn stop_pair(&self) -> io::Result<(StopSender, StopReceiver)> {
        let (sender, receiver) = UnixStream::pair()?;
        Ok((StopSender { _write_end: sender }, StopReceiver(receiver)))
    }

    /// Hands every client that connects to `on_connection`, in blocking mode, until `stop`
    /// fires; stopping wins over pending clients.
    pub(super) fn accept_until_stopped(
        self,
        stop: &StopReceiver,
        mut on_connection: impl FnMut(Stream),
    ) {
        loop {
            match wait_for_wakeup(&self.listener, &stop.0) {
                Wakeup::Stop => return,
                Wakeup::Connection => accept_connections(&self.listener, &mut on_connection),
                Wakeup::Failure => thread::sleep(RETRY_PAUSE),
            }
        }
    }
}

/// Dropping it wakes the accept loop to stop: the other end of the pair then reads end of
/// file at once, whatever happened to the socket file.
pub(super) struct StopSender {
    _write_end: UnixStream,
}

/// What the accept loop watches besides the listener.
pub(super) struct StopReceiver(UnixStream);

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
    match Stream::connect(socket_name(path, "check who listens on")?) {
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

/// What woke the accept thread.
enum Wakeup {
    Stop,
    Connection,
    Failure,
}

/// Blocks until a client connects or the handle asks to stop; stopping wins.
///
/// `interprocess` has no way to interrupt a blocking accept, hence this poll on the listener
/// and the stop pair together.
fn wait_for_wakeup(listener: &SocketListener, stop_receiver: &UnixStream) -> Wakeup {
    let mut fds = [
        PollFd::new(stop_receiver, PollFlags::IN),
        PollFd::new(listener, PollFlags::IN),
    ];
    match rustix::event::poll(&mut fds, None) {
        Ok(_) => {}
        // Spurious: accept finds nothing and we poll again.
        Err(rustix::io::Errno::INTR) => return Wakeup::Connection,
        Err(_) => return Wakeup::Failure,
    }
    if !fds[0].revents().is_empty() {
        Wakeup::Stop
    } else if fds[1].revents().contains(PollFlags::IN) {
        Wakeup::Connection
    } else {
        Wakeup::Failure
    }
}

/// Accepts every pending connection and hands each over in blocking mode.
fn accept_connections(listener: &SocketListener, on_connection: &mut impl FnMut(Stream)) {
    loop {
        match listener.accept() {
            Ok(stream) => {
                // Some systems pass the listener's non-blocking flag on to accepted sockets.
                if stream.set_nonblocking(false).is_ok() {
                    on_connection(stream.into());
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_socket_path_follows_xdg_runtime_dir() {
        // Only inspects the variable; changing it would race with other tests.
        let path = default_socket_path();
        assert!(path.ends_with("control.sock"));
        match std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| Path::new(dir).is_absolute()) {
            Some(dir) => assert_eq!(path, Path::new(&dir).join("gst-replay/control.sock")),
            None => assert_eq!(
                path,
                PathBuf::from(format!(
                    "/tmp/gst-replay-{}/control.sock",
                    rustix::process::getuid().as_raw()
                ))
            ),
        }
    }
}
