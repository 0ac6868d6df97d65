//! Windows console events: Ctrl-C, Ctrl-Break and closing the console window stop the run, as
//! SIGINT and SIGTERM do on Unix (logging off and shutting down too, should they arrive).

use std::io;
use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;

use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::{FALSE, TRUE};
use windows_sys::Win32::System::Console::{
    SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_CLOSE_EVENT, CTRL_C_EVENT, CTRL_LOGOFF_EVENT,
    CTRL_SHUTDOWN_EVENT,
};

use crate::run::RunEvent;

/// Where the handler sends the stop. Windows calls it on a thread of its own with nothing but
/// the event's type, so the run's sender has to be reachable from a static.
static RUN_EVENTS: Mutex<Option<Sender<RunEvent>>> = Mutex::new(None);

/// Keeps the console control handler installed; dropping it removes the handler.
pub struct Handle {
    _private: (),
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: removes the handler `spawn` added; it is a plain function, nothing dangles.
        unsafe { SetConsoleCtrlHandler(Some(on_console_control), FALSE) };
        *run_events() = None;
    }
}

/// None: Windows has no signal another shell could send; `gst-replay save` does that job.
pub fn save_command() -> Option<String> {
    None
}

pub fn spawn(events: Sender<RunEvent>) -> io::Result<Handle> {
    *run_events() = Some(events);
    // SAFETY: `on_console_control` is a plain function, valid for the life of the process.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_control), TRUE) } == FALSE {
        *run_events() = None;
        return Err(io::Error::last_os_error());
    }
    Ok(Handle { _private: () })
}

fn run_events() -> MutexGuard<'static, Option<Sender<RunEvent>>> {
    // The lock is never held across anything that panics; if it were, the sender inside would
    // still be fine to use.
    RUN_EVENTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why the run stops, for each console event that stops it.
fn stop_reason(control_type: u32) -> Option<&'static str> {
    match control_type {
        CTRL_C_EVENT => Some("interrupted"),
        CTRL_BREAK_EVENT => Some("interrupted by Ctrl-Break"),
        CTRL_CLOSE_EVENT => Some("the console was closed"),
        CTRL_LOGOFF_EVENT => Some("logging off"),
        CTRL_SHUTDOWN_EVENT => Some("shutting down"),
        _ => None,
    }
}

/// Runs on a thread Windows starts for each console event; TRUE means "handled". After
/// Ctrl-C and Ctrl-Break the process goes on; after the others Windows ends it as soon as the
/// handler returns, or a few seconds later regardless.
extern "system" fn on_console_control(control_type: u32) -> BOOL {
    let Some(reason) = stop_reason(control_type) else {
        return FALSE;
    };
    let sent = run_events()
        .as_ref()
        .is_some_and(|events| events.send(RunEvent::Stop(reason.to_owned())).is_ok());
    if !sent {
        // The run is over: let Windows do what it would do without us.
        return FALSE;
    }
    if control_type != CTRL_C_EVENT && control_type != CTRL_BREAK_EVENT {
        // Returning would end the process at once. Waiting here lets the run stop cleanly
        // (and --save-on-exit save) until main returns, or Windows' limit runs out.
        loop {
            thread::park();
        }
    }
    TRUE
}
