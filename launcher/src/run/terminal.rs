//! Single key presses in the terminal: `s` or space saves, `q` stops.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::mpsc::Sender;

use super::RunEvent;
use crate::run::report::Trigger;

/// Restores the terminal's line mode when dropped.
pub struct RawMode {
    fd: i32,
    original: libc::termios,
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read from the same descriptor in `spawn`.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.original);
        }
    }
}

/// Reads keys from stdin when it is a terminal; returns None otherwise.
pub fn spawn(events: Sender<RunEvent>) -> Option<RawMode> {
    let stdin = std::io::stdin();
    let fd = stdin.as_raw_fd();
    // SAFETY: isatty/tcgetattr/tcsetattr on our own stdin with a properly sized struct.
    let raw_mode = unsafe {
        if libc::isatty(fd) != 1 {
            return None;
        }
        let mut original: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut original) != 0 {
            return None;
        }
        let mut raw = original;
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        libc::tcsetattr(fd, libc::TCSANOW, &raw);
        RawMode { fd, original }
    };
    let _ = std::thread::Builder::new()
        .name("terminal-keys".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            let mut stdin = std::io::stdin();
            while stdin.read_exact(&mut byte).is_ok() {
                let event = match byte[0] {
                    b's' | b'S' | b' ' => RunEvent::save(None, Trigger::Key),
                    b'q' | b'Q' => RunEvent::Stop("q pressed".into()),
                    _ => continue,
                };
                if events.send(event).is_err() {
                    break;
                }
            }
        });
    Some(raw_mode)
}
