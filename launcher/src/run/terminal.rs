//! Single key presses in the terminal: `s` or space saves, `c` saves and clears, `p` saves
//! with post-roll, `q` stops.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::mpsc::Sender;

use super::clip::ClipRequest;
use super::RunEvent;
use crate::run::report::Trigger;

/// The keys, as the status line shows them.
pub fn key_help(post_roll: f64) -> String {
    format!("[s] save  [c] save & clear  [p] save + next {post_roll} s  [q] quit")
}

/// What a key asks for, if anything; `p` takes `post_roll` seconds after the press.
fn event_for_key(key: u8, post_roll: f64) -> Option<RunEvent> {
    let save = |clip| Some(RunEvent::save(clip, Trigger::Key));
    match key {
        b's' | b'S' | b' ' => save(ClipRequest::default()),
        b'c' | b'C' => save(ClipRequest {
            clear: Some(true),
            ..ClipRequest::default()
        }),
        b'p' | b'P' => save(ClipRequest {
            post: Some(post_roll),
            ..ClipRequest::default()
        }),
        b'q' | b'Q' => Some(RunEvent::Stop("q pressed".into())),
        _ => None,
    }
}

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
pub fn spawn(events: Sender<RunEvent>, post_roll: f64) -> Option<RawMode> {
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
                let Some(event) = event_for_key(byte[0], post_roll) else {
                    continue;
                };
                if events.send(event).is_err() {
                    break;
                }
            }
        });
    Some(raw_mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip_of(key: u8) -> Option<ClipRequest> {
        match event_for_key(key, 10.0)? {
            RunEvent::Save { clip, trigger, .. } => {
                assert_eq!(trigger, Trigger::Key);
                Some(clip)
            }
            _ => None,
        }
    }

    #[test]
    fn keys_choose_what_a_save_takes() {
        assert_eq!(clip_of(b's'), Some(ClipRequest::default()));
        assert_eq!(clip_of(b' '), Some(ClipRequest::default()));
        assert_eq!(clip_of(b'c').and_then(|clip| clip.clear), Some(true));
        let post = clip_of(b'p').unwrap();
        assert_eq!((post.post, post.clear), (Some(10.0), None));
        assert!(matches!(event_for_key(b'q', 10.0), Some(RunEvent::Stop(_))));
        assert!(event_for_key(b'x', 10.0).is_none());
    }

    #[test]
    fn the_help_line_names_every_key() {
        let help = key_help(10.0);
        for key in ["[s]", "[c]", "[p]", "[q]", "10 s"] {
            assert!(help.contains(key), "{help}");
        }
    }
}
