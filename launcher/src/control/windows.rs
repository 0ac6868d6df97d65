//! The control channel on Windows: a named pipe, `\\.\pipe\gst-replay-<user name>` unless
//! `--socket` names another (`NAME` or `\\.\pipe\NAME`).
//!
//! The pipe is the server's identity, as the socket file is on Unix. The server creates it
//! with `FILE_FLAG_FIRST_PIPE_INSTANCE`, which fails while a pipe of that name exists, so a
//! second server is refused. Unlike a socket file a pipe vanishes with its last handle: there
//! is never a stale one to clean up.
//!
//! The pipe keeps Windows' default security: full access for the user who created it,
//! administrators and LocalSystem, read-only access for everyone else, who therefore cannot
//! send a request. Clients on other machines are refused.

mod pipe;

use std::io;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_NO_DATA, ERROR_PIPE_BUSY, GENERIC_READ,
    GENERIC_WRITE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, OPEN_EXISTING,
    PIPE_ACCESS_DUPLEX, SECURITY_IDENTIFICATION, SECURITY_SQOS_PRESENT,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, WaitNamedPipeW, PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS,
    PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, PIPE_WAIT,
};
use windows_sys::Win32::System::WindowsProgramming::GetUserNameW;

pub(crate) use pipe::PipeStream;
use pipe::{wait_milliseconds, ClientWait, Event};

use super::pipe_name::{default_pipe_name, pipe_path};
use super::server::RETRY_PAUSE;
use super::{time_left, ControlError, MAX_REQUEST_LINE_BYTES};

/// How long a client waits while every pipe instance is taken: the server makes a new one
/// as soon as it has handed the last one to a client, so this only passes on a flood.
const BUSY_PIPE_WAIT: Duration = Duration::from_secs(5);

/// Each direction's buffer: room for any accepted request line and its newline, so a
/// client's write never waits for the server to read.
const PIPE_BUFFER_BYTES: u32 = MAX_REQUEST_LINE_BYTES as u32 + 1;

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

/// A pipe's full name, as messages show it and as the NUL-terminated UTF-16 Windows takes.
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
}

/// Connects to the pipe `socket` names. A missing pipe means nobody is running; while every
/// instance is taken (between two clients) the client waits for the next one.
pub(super) fn connect(socket: &Path) -> Result<PipeStream, ControlError> {
    let name = PipeName::of(socket)?;
    let give_up = Instant::now() + BUSY_PIPE_WAIT;
    loop {
        // SAFETY: `name.wide` is NUL-terminated and outlives the call; no security attributes
        // and no template file. SECURITY_IDENTIFICATION lets the server learn who we are but
        // not act as us, should another program hold the name.
        let handle = unsafe {
            CreateFileW(
                name.wide.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                0,
                ptr::null(),
                OPEN_EXISTING,
                FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                ptr::null_mut(),
            )
        };
        if handle != INVALID_HANDLE_VALUE {
            // SAFETY: a pipe handle just opened for overlapped I/O, owned by nothing else.
            return unsafe { PipeStream::from_raw(handle) }
                .map_err(|error| ControlError::io("connect to", &name.path, error));
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error().map(|code| code as u32) {
            Some(ERROR_FILE_NOT_FOUND) => return Err(ControlError::NotRunning { path: name.path }),
            Some(ERROR_PIPE_BUSY) => {
                if let Some(left) = time_left(give_up) {
                    // SAFETY: `name.wide` is NUL-terminated and outlives the call. Its result
                    // is not needed: the next CreateFileW says how things stand.
                    unsafe { WaitNamedPipeW(name.wide.as_ptr(), wait_milliseconds(Some(left))) };
                    continue;
                }
            }
            _ => {}
        }
        return Err(ControlError::io("connect to", &name.path, error));
    }
}

/// Which pipe instance to create.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Instance {
    /// The one that claims the name, failing if the pipe exists.
    First,
    /// One more of a pipe this server already holds.
    Another,
}

fn create_instance(name: &PipeName, instance: Instance) -> io::Result<PipeStream> {
    let claim = match instance {
        Instance::First => FILE_FLAG_FIRST_PIPE_INSTANCE,
        Instance::Another => 0,
    };
    // SAFETY: `name.wide` is NUL-terminated and outlives the call; null security attributes
    // ask for the default security described at the top of this module.
    let handle = unsafe {
        CreateNamedPipeW(
            name.wide.as_ptr(),
            PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | claim,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            PIPE_UNLIMITED_INSTANCES,
            PIPE_BUFFER_BYTES,
            PIPE_BUFFER_BYTES,
            0,
            ptr::null(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a pipe instance just created for overlapped I/O, owned by nothing else.
    unsafe { PipeStream::from_raw(handle) }
}

/// The server's pipe: its name and the instance waiting for the first client.
pub(super) struct Listener {
    name: PipeName,
    first_instance: PipeStream,
}

impl Listener {
    /// Claims the pipe; [`ControlError::AlreadyRunning`] if it exists.
    pub(super) fn bind(socket: &Path) -> Result<Listener, ControlError> {
        let name = PipeName::of(socket)?;
        let first_instance = match create_instance(&name, Instance::First) {
            Ok(instance) => instance,
            // What FILE_FLAG_FIRST_PIPE_INSTANCE answers when the pipe exists.
            Err(error) if error.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => {
                return Err(ControlError::AlreadyRunning { path: name.path });
            }
            Err(error) => return Err(ControlError::io("listen on", &name.path, error)),
        };
        Ok(Listener {
            name,
            first_instance,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.name.path
    }

    /// Hands every client that connects to `on_connection` until `stop` fires; stopping
    /// wins over pending clients.
    pub(super) fn accept_until_stopped(
        self,
        stop: &StopReceiver,
        mut on_connection: impl FnMut(PipeStream),
    ) {
        let Listener {
            name,
            first_instance,
        } = self;
        let stop = &*stop.0;
        let mut listening = Some(first_instance);
        while !stop.is_set() {
            let instance = match listening.take() {
                Some(instance) => instance,
                None => match create_instance(&name, Instance::Another) {
                    Ok(instance) => instance,
                    Err(_) => {
                        // Out of handles or memory: try again shortly.
                        stop.wait(RETRY_PAUSE);
                        continue;
                    }
                },
            };
            let arrival = instance.wait_for_client(stop);
            if matches!(arrival, Ok(ClientWait::Stopped)) {
                return;
            }
            // The next instance exists before this one is handed over or closed, so the pipe
            // never vanishes between two clients: a client would take that for "not
            // running", and a second server could claim the name.
            listening = create_instance(&name, Instance::Another).ok();
            match arrival {
                Ok(_) => on_connection(instance),
                // The client left before it was served; the next one may come at once.
                Err(error) if error.raw_os_error() == Some(ERROR_NO_DATA as i32) => {}
                Err(_) => {
                    stop.wait(RETRY_PAUSE);
                }
            }
        }
    }
}

/// Dropping it sets the event the accept loop waits on besides its clients.
pub(super) struct StopSender(Arc<Event>);

impl Drop for StopSender {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// The event the accept loop watches.
pub(super) struct StopReceiver(Arc<Event>);

pub(super) fn stop_pair() -> io::Result<(StopSender, StopReceiver)> {
    let event = Arc::new(Event::new()?);
    Ok((StopSender(Arc::clone(&event)), StopReceiver(event)))
}
