//! Key-at-a-time input on a Unix terminal: termios without canonical mode and echo.

use std::io::Read;
use std::os::fd::AsRawFd;

/// Restores the terminal's line mode when dropped.
pub struct RawMode {
    fd: i32,
    original: libc::termios,
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read from the same descriptor in `raw_keys`.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.original);
        }
    }
}

/// Switches stdin, if it is a terminal, to key-at-a-time input without echo, and returns the
/// bytes typed from then on. Ctrl-C still interrupts (ISIG stays on).
pub(super) fn raw_keys() -> Option<(RawMode, impl Iterator<Item = u8> + Send + 'static)> {
    let fd = std::io::stdin().as_raw_fd();
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
    let mut stdin = std::io::stdin();
    let keys = std::iter::from_fn(move || {
        let mut byte = [0u8; 1];
        stdin.read_exact(&mut byte).ok().map(|()| byte[0])
    });
    Some((raw_mode, keys))
}
