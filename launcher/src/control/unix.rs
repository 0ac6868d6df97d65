//! The control channel on Unix: a stream socket in a private directory.
//!
//! The socket file is the server's identity: `bind` refuses a live one (another server is
//! running), replaces a stale one (a server died) and never touches anything that is not a
//! socket; the file goes when the server does, unless another server has replaced it.

use std::fs::{self, DirBuilder, Permissions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

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
            .join(format!("gst-replay-{}", current_uid()))
            .join(SOCKET_FILE_NAME),
    }
}

fn current_uid() -> libc::uid_t {
    // SAFETY: getuid has no preconditions, cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}

impl Connection for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }

    fn write_without_waiting(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.set_nonblocking(true)?;
        self.write_all(bytes)
    }
}

/// Connects, telling "nobody is there" (no file, or a stale file nobody accepts on) apart
/// from other failures such as a permission problem.
pub(super) fn connect(path: &Path) -> Result<UnixStream, ControlError> {
    UnixStream::connect(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ControlError::NotRunning {
            path: path.to_path_buf(),
        },
        _ => ControlError::io("connect to", path, error),
    })
}

/// A bound socket. Dropping it closes the socket, then removes its file.
pub(super) struct Listener {
    // Declared first, so it is closed before the file it was reached by goes.
    listener: UnixListener,
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
        Ok(Listener {
            listener,
            socket_file,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.socket_file.path
    }

    /// Hands every client that connects to `on_connection`, in blocking mode, until `stop`
    /// fires; stopping wins over pending clients.
    pub(super) fn accept_until_stopped(
        self,
        stop: &StopReceiver,
        mut on_connection: impl FnMut(UnixStream),
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

pub(super) fn stop_pair() -> io::Result<(StopSender, StopReceiver)> {
    let (sender, receiver) = UnixStream::pair()?;
    Ok((StopSender { _write_end: sender }, StopReceiver(receiver)))
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

/// What woke the accept thread.
enum Wakeup {
    Stop,
    Connection,
    Failure,
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

/// Accepts every pending connection and hands each over in blocking mode.
fn accept_connections(listener: &UnixListener, on_connection: &mut impl FnMut(UnixStream)) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                // Some systems pass the listener's non-blocking flag on to accepted sockets.
                if stream.set_nonblocking(false).is_ok() {
                    on_connection(stream);
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
                PathBuf::from(format!("/tmp/gst-replay-{}/control.sock", current_uid()))
            ),
        }
    }
}
