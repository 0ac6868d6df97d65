//! The control channel on Windows: an `interprocess` local socket, which here is a named
//! pipe, `\\.\pipe\gst-replay-<user name>` unless `--socket` names another (`NAME` or
//! `\\.\pipe\NAME`).
//!
//! The pipe is the server's identity, as the socket file is on Unix. `interprocess` creates
//! the server's first instance with `FILE_FLAG_FIRST_PIPE_INSTANCE`, which fails while a pipe
//! of that name exists, so a second server is refused; it makes the next instance before it
//! hands one to a client, so the pipe never vanishes between two clients; and it refuses
//! clients on other machines (`PIPE_REJECT_REMOTE_CLIENTS`). Unlike a socket file a pipe
//! vanishes with its last handle: there is never a stale one to clean up.
//!
//! The pipe keeps Windows' default security: full access for the user who created it,
//! administrators and LocalSystem, read-only access for everyone else, who therefore cannot
//! send a request.
//!
//! What `interprocess` does not do is here: the default name, clients that let the pipe's
//! owner identify them but not act as them, waking the accept loop to stop, and (in
//! `timed_pipe`) read and write timeouts.

mod timed_pipe;

use std::io;
use std::os::windows::io::{FromRawHandle, OwnedHandle};
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{ConnectOptions, GenericFilePath, ListenerOptions, Name};
use interprocess::os::windows::named_pipe::local_socket::Stream as PipeStream;
use interprocess::ConnectWaitMode;
use windows_sys::Win32::Foundation::{
    ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_OVERLAPPED, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
    SECURITY_IDENTIFICATION, SECURITY_SQOS_PRESENT,
};
use windows_sys::Win32::System::WindowsProgramming::GetUserNameW;

pub(crate) use timed_pipe::TimedPipe;

use super::connection::time_left;
use super::pipe_name::{default_pipe_name, pipe_path};
use super::server::RETRY_PAUSE;
use super::ControlError;

/// How long a client waits while every pipe instance is taken: the server makes a new one
/// as soon as it has handed the last one to a client, so this only passes on a flood.
const BUSY_PIPE_WAIT: Duration = Duration::from_secs(5);

/// How often a client tries again meanwhile.
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// How long the stop's wake-up call may wait for a free pipe instance.
const WAKE_UP_WAIT: Duration = Duration::from_secs(1);

/// The longest user name Windows has (UNLEN), plus its NUL.
const USER_NAME_CAPACITY: usize = 256 + 1;

/// `\\.\pipe\gst-replay-<user name>`.
pub(super) fn default_socket_path() -> PathBuf {
    PathBuf::from(default_pipe_name(&current_user_name()))
}

/// The account name this process runs as; `%USERNAME%` if Windows will not say, which only
/// matters in that `save` then has to find the same name.
fn current_user_name() -> String {
    let mut buffer = [0u16; USER_NAME_CAPACITY];
    let mut length = buffer.len() as u32;
    // SAFETY: `buffer` has room for `length` UTF-16 units; GetUserNameW writes no more (it
    // fails instead) and sets `length` to what it wrote, NUL included.
    if unsafe { GetUserNameW(buffer.as_mut_ptr(), &mut length) } != 0 {
        let written = (length as usize).saturating_sub(1).min(buffer.len());
        return String::from_utf16_lossy(&buffer[..written]);
    }
    std::env::var("USERNAME").unwrap_or_default()
}

/// A pipe's full name, as messages show it and `interprocess` takes it, and as the
/// NUL-terminated UTF-16 that Windows takes.
struct PipeName {
    path: PathBuf,
    wide: Vec<u16>,
}

impl PipeName {
    fn of(socket: &Path) -> Result<PipeName, ControlError> {
        let full =
            socket
                .to_str()
                .and_then(pipe_path)
                .ok_or_else(|| ControlError::NotAPipeName {
                    path: socket.to_path_buf(),
                })?;
        Ok(PipeName {
            wide: full.encode_utf16().chain([0]).collect(),
            path: PathBuf::from(full),
        })
    }

    fn local_socket_name(&self) -> io::Result<Name<'_>> {
        self.path.as_path().to_fs_name::<GenericFilePath>()
    }
}

/// Connects to the pipe `socket` names. A missing pipe means nobody is running; while every
/// instance is taken (between two clients) the client waits for the next one.
pub(super) fn connect(socket: &Path) -> Result<TimedPipe, ControlError> {
    let name = PipeName::of(socket)?;
    let give_up = Instant::now() + BUSY_PIPE_WAIT;
    loop {
        let error = match open_identifying_only(&name) {
            Ok(handle) => {
                return PipeStream::try_from(handle)
                    .map(|pipe| TimedPipe::new(pipe.into()))
                    .map_err(|error| ControlError::io("connect to", &name.path, error.into()));
            }
            Err(error) => error,
        };
        match error.raw_os_error().map(|code| code as u32) {
            Some(ERROR_FILE_NOT_FOUND) => return Err(ControlError::NotRunning { path: name.path }),
            Some(ERROR_PIPE_BUSY) if time_left(give_up).is_some() => {
                thread::sleep(BUSY_RETRY_PAUSE);
            }
            _ => return Err(ControlError::io("connect to", &name.path, error)),
        }
    }
}

/// Opens the client end of the pipe as `interprocess` does, and with SECURITY_IDENTIFICATION,
/// which its own connect cannot ask for: should another program hold the name, it can learn
/// who we are but not act as us.
fn open_identifying_only(name: &PipeName) -> io::Result<OwnedHandle> {
    // SAFETY: `name.wide` is NUL-terminated and outlives the call; no security attributes
    // and no template file.
    let handle = unsafe {
        CreateFileW(
            name.wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
            ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a handle just opened, owned by nothing else.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// The server's pipe: its name, and the `interprocess` listener that keeps an instance
/// waiting for the next client.
pub(super) struct Listener {
    name: PipeName,
    listener: interprocess::local_socket::Listener,
}

impl Listener {
    /// Claims the pipe; [`ControlError::AlreadyRunning`] if it exists.
    pub(super) fn bind(socket: &Path) -> Result<Listener, ControlError> {
        let name = PipeName::of(socket)?;
        let options = ListenerOptions::new().name(
            name.local_socket_name()
                .map_err(|error| ControlError::io("listen on", &name.path, error))?,
        );
        let listener = options.create_sync().map_err(|error| match error.kind() {
            // What FILE_FLAG_FIRST_PIPE_INSTANCE answers when the pipe exists.
            io::ErrorKind::PermissionDenied => ControlError::AlreadyRunning {
                path: name.path.clone(),
            },
            _ => ControlError::io("listen on", &name.path, error),
        })?;
        Ok(Listener { name, listener })
    }

    pub(super) fn path(&self) -> &Path {
        &self.name.path
    }

    /// What stops [`Listener::accept_until_stopped`].
    pub(super) fn stop_pair(&self) -> io::Result<(StopSender, StopReceiver)> {
        let stopping = Arc::new(AtomicBool::new(false));
        let sender = StopSender {
            stopping: Arc::clone(&stopping),
            pipe: self.name.path.clone(),
        };
        Ok((sender, StopReceiver(stopping)))
    }

    /// Hands every client that connects to `on_connection` until `stop` fires; stopping
    /// wins over pending clients.
    pub(super) fn accept_until_stopped(
        self,
        stop: &StopReceiver,
        mut on_connection: impl FnMut(TimedPipe),
    ) {
        while !stop.is_set() {
            match self.listener.accept() {
                // The stop's wake-up call, or a client that came as the server stopped.
                Ok(_) if stop.is_set() => return,
                Ok(stream) => on_connection(TimedPipe::new(stream)),
                // Out of handles or memory: try again shortly.
                Err(_) => thread::sleep(RETRY_PAUSE),
            }
        }
    }
}

/// Dropping it stops the accept loop: it sets the flag, then connects to the pipe to wake
/// the loop from its accept, which `interprocess` offers no other way to interrupt. While
/// this server holds the name no other can, so the call reaches this server.
pub(super) struct StopSender {
    stopping: Arc<AtomicBool>,
    pipe: PathBuf,
}

impl Drop for StopSender {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Ok(name) = self.pipe.as_path().to_fs_name::<GenericFilePath>() {
            // Closed at once: the accept loop only needs to wake up.
            let _ = ConnectOptions::new()
                .name(name)
                .wait_mode(ConnectWaitMode::Timeout(WAKE_UP_WAIT))
                .connect_sync();
        }
    }
}

/// The flag the accept loop checks whenever it wakes up.
pub(super) struct StopReceiver(Arc<AtomicBool>);

impl StopReceiver {
    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
