//! Single key presses in the terminal: `s` or space saves, `c` saves and clears, `p` saves
//! with post-roll, `q` stops.
//!
//! What a key means is decided here for every platform; `unix` (termios) and `windows` (the
//! console's input mode) only switch the terminal to key-at-a-time input without echo, hand
//! over the keys typed, and switch back when the run ends.

use std::sync::mpsc::Sender;

use super::clip::ClipRequest;
use super::RunEvent;
use crate::run::report::Trigger;

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
use windows as platform;

pub use platform::RawMode;

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

/// Reads keys from stdin when it is a terminal (a console on Windows); returns None
/// otherwise. Keeping the returned [`RawMode`] keeps the terminal in key-at-a-time mode;
/// dropping it restores line mode.
pub fn spawn(events: Sender<RunEvent>, post_roll: f64) -> Option<RawMode> {
    let (raw_mode, keys) = platform::raw_keys()?;
    let _ = std::thread::Builder::new()
        .name("terminal-keys".into())
        .spawn(move || {
            for key in keys {
                let Some(event) = event_for_key(key, post_roll) else {
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
