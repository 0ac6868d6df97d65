//! A pipe connection with the timeouts the shared control code expects of a connection.
//!
//! `interprocess` refuses to set timeouts on named pipes, and its reads and writes wait
//! without limit. So a read or write with a limit runs while a watchdog thread waits beside
//! it; once the limit has passed, the watchdog cancels the pipe's pending I/O (`CancelIoEx`),
//! the operation ends with `ERROR_OPERATION_ABORTED`, and that is reported as a timeout.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle};
use std::ptr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use interprocess::local_socket::Stream;
use windows_sys::Win32::Foundation::ERROR_OPERATION_ABORTED;
use windows_sys::Win32::System::IO::CancelIoEx;

use crate::control::Connection;

/// What a write "without waiting" may take: the one short reply the accept thread sends
/// goes into a fresh pipe's buffer at once, so this only bounds a client gone wrong.
const WRITE_WITHOUT_WAITING_LIMIT: Duration = Duration::from_millis(100);

/// Once the limit has passed, the watchdog cancels again this often until the operation is
/// over: its first cancel may come before the operation has even started.
const CANCEL_AGAIN_PAUSE: Duration = Duration::from_millis(10);

/// One end of a control pipe, server's or client's.
pub(crate) struct TimedPipe {
    stream: Stream,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
}

impl TimedPipe {
    pub(super) fn new(stream: Stream) -> TimedPipe {
        TimedPipe {
            stream,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
        }
    }
}

impl Read for TimedPipe {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        within(&self.stream, self.read_timeout.get(), |mut stream| {
            stream.read(buffer)
        })
    }
}

impl Write for TimedPipe {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        within(&self.stream, self.write_timeout.get(), |mut stream| {
            stream.write(bytes)
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Connection for TimedPipe {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(refuse_zero(timeout)?);
        Ok(())
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(refuse_zero(timeout)?);
        Ok(())
    }

    fn write_without_waiting(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_timeout.set(Some(WRITE_WITHOUT_WAITING_LIMIT));
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

/// Runs `operation`, one read or write on `stream`, cancelling it once `limit` has passed
/// (None: no limit); a cancelled operation is reported as `TimedOut`.
fn within<T>(
    stream: &Stream,
    limit: Option<Duration>,
    operation: impl FnOnce(&Stream) -> io::Result<T>,
) -> io::Result<T> {
    let Some(limit) = limit else {
        return operation(stream);
    };
    let Stream::NamedPipe(pipe) = stream;
    let handle = pipe.inner().as_handle();
    let (finished, watched) = mpsc::channel::<()>();
    thread::scope(|scope| {
        let watchdog = thread::Builder::new()
            .name("control-deadline".into())
            .spawn_scoped(scope, move || cancel_when_late(handle, limit, &watched))?;
        let outcome = operation(stream);
        drop(finished);
        // The watchdog does not panic; if it somehow did, it cancels nothing any more.
        let cancelled = watchdog.join().unwrap_or(false);
        match outcome {
            Err(error)
                if cancelled && error.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) =>
            {
                Err(io::ErrorKind::TimedOut.into())
            }
            other => other,
        }
    })
}

/// Waits for the operation to finish (its sender to be dropped); once `limit` has passed,
/// cancels the pipe's I/O until it has. True when it had to cancel.
fn cancel_when_late(pipe: BorrowedHandle<'_>, limit: Duration, finished: &Receiver<()>) -> bool {
    let mut wait = limit;
    let mut cancelled = false;
    while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(wait) {
        // SAFETY: the handle is borrowed from the stream, which stays open until this thread
        // has been joined; CancelIoEx touches no memory of ours and leaves alone an operation
        // that is already over.
        unsafe { CancelIoEx(pipe.as_raw_handle(), ptr::null()) };
        cancelled = true;
        wait = CANCEL_AGAIN_PAUSE;
    }
    cancelled
}
