//! One end of a named pipe, with what the shared control code expects of a connection: reads
//! and writes with timeouts, and (server side) a wait for a client that can be called off.
//!
//! Pipe handles have no timeouts of their own, so every operation is overlapped: started,
//! waited for with a limit, and cancelled when the limit passes or the server stops.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::time::Duration;

use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_BROKEN_PIPE, ERROR_IO_PENDING, ERROR_PIPE_CONNECTED,
    ERROR_PIPE_NOT_CONNECTED, FALSE, HANDLE, TRUE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::Pipes::ConnectNamedPipe;
use windows_sys::Win32::System::Threading::{
    CreateEventW, ResetEvent, SetEvent, WaitForMultipleObjects, WaitForSingleObject, INFINITE,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};

use crate::control::Connection;

/// A manual-reset event: what overlapped operations signal on completion, and what tells the
/// accept loop to stop.
pub(super) struct Event(OwnedHandle);

impl Event {
    pub(super) fn new() -> io::Result<Event> {
        // SAFETY: no security attributes and no name ask for a private, unnamed event that
        // starts unset; the handle returned is ours alone.
        let handle = unsafe { CreateEventW(ptr::null(), TRUE, FALSE, ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `handle` is a valid event handle that nothing else owns or closes.
        Ok(Event(unsafe { OwnedHandle::from_raw_handle(handle) }))
    }

    pub(super) fn set(&self) {
        // SAFETY: the handle is a valid event for as long as `self` lives.
        unsafe { SetEvent(self.raw()) };
    }

    fn reset(&self) {
        // SAFETY: the handle is a valid event for as long as `self` lives.
        unsafe { ResetEvent(self.raw()) };
    }

    pub(super) fn is_set(&self) -> bool {
        self.wait(Duration::ZERO)
    }

    /// Waits up to `limit` for the event; true when it is set.
    pub(super) fn wait(&self, limit: Duration) -> bool {
        // SAFETY: the handle is a valid event for the whole wait.
        unsafe { WaitForSingleObject(self.raw(), wait_milliseconds(Some(limit))) == WAIT_OBJECT_0 }
    }

    fn raw(&self) -> HANDLE {
        self.0.as_raw_handle()
    }
}

/// A limit as the milliseconds Windows waits take: rounded up, so that a limit under a
/// millisecond still waits; no limit is INFINITE.
pub(super) fn wait_milliseconds(limit: Option<Duration>) -> u32 {
    match limit {
        None => INFINITE,
        Some(limit) => u32::try_from(limit.as_nanos().div_ceil(1_000_000))
            .unwrap_or(u32::MAX)
            .min(INFINITE - 1),
    }
}

/// How an overlapped operation ended.
enum Outcome {
    /// With the number of bytes transferred.
    Completed(u32),
    TimedOut,
    Stopped,
}

/// Starts one overlapped operation with `start` (which gets the OVERLAPPED to pass on) and
/// waits until it completes, `limit` passes or `stop` is set; stopping wins over completing.
///
/// An operation given up on is cancelled and waited for before this returns, so the
/// OVERLAPPED here and the buffer `start` handed to Windows are never used after it.
fn run_overlapped(
    handle: HANDLE,
    completion: &Event,
    limit: Option<Duration>,
    stop: Option<&Event>,
    start: impl FnOnce(*mut OVERLAPPED) -> BOOL,
) -> io::Result<Outcome> {
    // A completion left over from an earlier operation must not pass for this one.
    completion.reset();
    let mut overlapped = OVERLAPPED {
        hEvent: completion.raw(),
        ..OVERLAPPED::default()
    };
    if start(&mut overlapped) == FALSE {
        // SAFETY: reads this thread's last error, which `start` just set.
        let error = unsafe { GetLastError() };
        if error != ERROR_IO_PENDING {
            return Err(io::Error::from_raw_os_error(error as i32));
        }
        let (handles, count, completed) = match stop {
            Some(stop) => ([stop.raw(), completion.raw()], 2, WAIT_OBJECT_0 + 1),
            None => ([completion.raw(), ptr::null_mut()], 1, WAIT_OBJECT_0),
        };
        // SAFETY: the first `count` handles are valid events for the whole wait.
        let woken = unsafe {
            WaitForMultipleObjects(count, handles.as_ptr(), FALSE, wait_milliseconds(limit))
        };
        if woken != completed {
            // Only meaningful when the wait itself failed; read before other calls change it.
            let wait_error = io::Error::last_os_error();
            // SAFETY: cancels only this operation, whose OVERLAPPED is still alive.
            unsafe { CancelIoEx(handle, &overlapped) };
            let mut transferred = 0;
            // SAFETY: with bWait TRUE this returns once the operation is over, cancelled or
            // not; after that Windows no longer touches `overlapped` or the buffer.
            let finished_anyway =
                unsafe { GetOverlappedResult(handle, &overlapped, &mut transferred, TRUE) };
            return match woken {
                // It completed before the cancellation took: the transfer happened.
                _ if finished_anyway != FALSE => Ok(Outcome::Completed(transferred)),
                WAIT_TIMEOUT => Ok(Outcome::TimedOut),
                WAIT_OBJECT_0 if stop.is_some() => Ok(Outcome::Stopped),
                _ => Err(wait_error),
            };
        }
    }
    let mut transferred = 0;
    // SAFETY: the operation is over (it completed at once, or its event was set), so this
    // only reads its result from the OVERLAPPED.
    if unsafe { GetOverlappedResult(handle, &overlapped, &mut transferred, FALSE) } == FALSE {
        return Err(io::Error::last_os_error());
    }
    Ok(Outcome::Completed(transferred))
}

/// What [`PipeStream::wait_for_client`] saw.
pub(super) enum ClientWait {
    Connected,
    Stopped,
}

/// A pipe handle opened for overlapped I/O: a server's pipe instance or a client's end.
///
/// Dropping it closes the handle without `DisconnectNamedPipe`, so a reply the server wrote
/// just before stays readable by the client (disconnecting would discard it).
pub(crate) struct PipeStream {
    handle: OwnedHandle,
    /// Set by Windows when this stream's operation completes; one at a time, as reads and
    /// writes take `&mut self`.
    completion: Event,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

impl PipeStream {
    /// Takes ownership of `handle`.
    ///
    /// # Safety
    /// `handle` must be a valid pipe handle opened with `FILE_FLAG_OVERLAPPED` that nothing
    /// else owns or closes.
    pub(super) unsafe fn from_raw(handle: HANDLE) -> io::Result<PipeStream> {
        // Owned before anything else can fail, so the handle is closed on every path.
        // SAFETY: the caller hands over a valid handle that is now ours alone.
        let handle = unsafe { OwnedHandle::from_raw_handle(handle) };
        Ok(PipeStream {
            handle,
            completion: Event::new()?,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
        })
    }

    /// Server side: waits for a client to connect to this pipe instance, or for `stop`.
    pub(super) fn wait_for_client(&self, stop: &Event) -> io::Result<ClientWait> {
        let pipe = self.raw();
        let outcome = run_overlapped(pipe, &self.completion, None, Some(stop), |overlapped| {
            // SAFETY: `pipe` is a server pipe instance opened for overlapped I/O, and
            // run_overlapped keeps `overlapped` alive until the operation is over.
            unsafe { ConnectNamedPipe(pipe, overlapped) }
        });
        match outcome {
            Ok(Outcome::Completed(_)) => Ok(ClientWait::Connected),
            Ok(Outcome::Stopped) => Ok(ClientWait::Stopped),
            Ok(Outcome::TimedOut) => Err(io::ErrorKind::TimedOut.into()),
            // The client came between CreateNamedPipeW and ConnectNamedPipe.
            Err(error) if error.raw_os_error() == Some(ERROR_PIPE_CONNECTED as i32) => {
                Ok(ClientWait::Connected)
            }
            Err(error) => Err(error),
        }
    }

    /// One read or write, bounded by `limit`.
    fn transfer(
        &self,
        limit: Option<Duration>,
        start: impl FnOnce(HANDLE, *mut OVERLAPPED) -> BOOL,
    ) -> io::Result<usize> {
        let pipe = self.raw();
        match run_overlapped(pipe, &self.completion, limit, None, |overlapped| {
            start(pipe, overlapped)
        })? {
            Outcome::Completed(count) => Ok(count as usize),
            Outcome::TimedOut => Err(io::ErrorKind::TimedOut.into()),
            // Unreachable: a transfer is given no stop event.
            Outcome::Stopped => Err(io::Error::other("the transfer was called off")),
        }
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle()
    }
}

impl Read for PipeStream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let length = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
        let result = self.transfer(self.read_timeout.get(), |pipe, overlapped| {
            // SAFETY: `buffer` has room for `length` bytes and, like `overlapped`, outlives
            // the operation: run_overlapped returns only once it is over.
            unsafe {
                ReadFile(
                    pipe,
                    buffer.as_mut_ptr(),
                    length,
                    ptr::null_mut(),
                    overlapped,
                )
            }
        });
        match result {
            // The other end closed (or the server disconnected us): end of file, as std
            // reads pipes.
            Err(error)
                if error.raw_os_error() == Some(ERROR_BROKEN_PIPE as i32)
                    || error.raw_os_error() == Some(ERROR_PIPE_NOT_CONNECTED as i32) =>
            {
                Ok(0)
            }
            other => other,
        }
    }
}

impl Write for PipeStream {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.transfer(self.write_timeout.get(), |pipe, overlapped| {
            // SAFETY: `bytes` holds `length` bytes and, like `overlapped`, outlives the
            // operation: run_overlapped returns only once it is over.
            unsafe { WriteFile(pipe, bytes.as_ptr(), length, ptr::null_mut(), overlapped) }
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        // Writes go straight to the pipe: nothing is buffered here.
        Ok(())
    }
}

impl Connection for PipeStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(refuse_zero(timeout)?);
        Ok(())
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(refuse_zero(timeout)?);
        Ok(())
    }

    fn write_without_waiting(&mut self, bytes: &[u8]) -> io::Result<()> {
        // A zero limit: what the pipe's buffer takes at once is written, a write that would
        // wait for the client is called off.
        self.write_timeout.set(Some(Duration::ZERO));
        self.write_all(bytes)
    }
}

/// Zero means "no timeout" to sockets, and is refused there; refused here too, so the shared
/// code behaves the same on both.
fn refuse_zero(timeout: Option<Duration>) -> io::Result<Option<Duration>> {
    match timeout {
        Some(timeout) if timeout.is_zero() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        )),
        _ => Ok(timeout),
    }
}
