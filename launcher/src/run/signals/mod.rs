//! What the operating system asks of the run: stop (Ctrl-C and its kin) everywhere, and on
//! Unix also save (SIGUSR1, SIGRTMIN+N). Windows has no such signals: there, saves come from
//! the hotkey, the terminal keys or `gst-replay save`.
//!
//! Each platform's `spawn` sends the same [`RunEvent`](super::RunEvent)s the other triggers
//! send, and returns a handle the run keeps for as long as it runs.

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
pub use unix::{save_command, spawn, Handle, REALTIME_SIGNAL_SECONDS};
#[cfg(windows)]
pub use windows::{save_command, spawn, Handle};
