//! Key-at-a-time input on a Windows console: the input mode without line input and echo, and
//! the console's key events read one by one.

use std::os::windows::io::AsRawHandle;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Console::{
    GetConsoleMode, ReadConsoleInputW, SetConsoleMode, CONSOLE_MODE, ENABLE_ECHO_INPUT,
    ENABLE_LINE_INPUT, INPUT_RECORD, KEY_EVENT,
};

/// Restores the console's input mode when dropped.
pub struct RawMode {
    input: HANDLE,
    original: CONSOLE_MODE,
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the mode read from the same console handle in `raw_keys`; the
        // handle is the process's stdin, which stays open.
        unsafe { SetConsoleMode(self.input, self.original) };
    }
}

/// Switches stdin, if it is a console, to key-at-a-time input without echo, and returns the
/// ASCII characters typed from then on. Ctrl-C still interrupts: processed input stays on,
/// so the console turns it into a control event rather than a key.
pub(super) fn raw_keys() -> Option<(RawMode, impl Iterator<Item = u8> + Send + 'static)> {
    let input = console_input();
    let mut original: CONSOLE_MODE = 0;
    // SAFETY: GetConsoleMode only writes the mode; it fails for anything but a console, which
    // is how a redirected stdin is told apart.
    if unsafe { GetConsoleMode(input, &mut original) } == 0 {
        return None;
    }
    // Echo can only be on together with line input, so both go.
    let key_at_a_time = original & !(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT);
    // SAFETY: `input` is the console handle whose mode was just read.
    if unsafe { SetConsoleMode(input, key_at_a_time) } == 0 {
        return None;
    }
    Some((RawMode { input, original }, ConsoleKeys))
}

/// The process's stdin, as a Windows handle.
fn console_input() -> HANDLE {
    std::io::stdin().as_raw_handle()
}

/// The characters typed on the console, until reading it fails.
struct ConsoleKeys;

impl Iterator for ConsoleKeys {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        // Looked up on each read rather than kept: a raw handle is not Send, and looking up
        // stdin's handle costs nothing.
        let input = console_input();
        loop {
            let mut record = INPUT_RECORD::default();
            let mut count = 0;
            // SAFETY: room for exactly one record, the length passed; `count` receives how
            // many were read.
            if unsafe { ReadConsoleInputW(input, &mut record, 1, &mut count) } == 0 {
                return None;
            }
            if count == 1 {
                if let Some(key) = typed_ascii(&record) {
                    return Some(key);
                }
            }
        }
    }
}

/// The ASCII character of a key press; None for releases, other keys and other events (mouse,
/// focus, window size).
fn typed_ascii(record: &INPUT_RECORD) -> Option<u8> {
    if u32::from(record.EventType) != KEY_EVENT {
        return None;
    }
    // SAFETY: the event type says the union holds a key event.
    let key = unsafe { record.Event.KeyEvent };
    if key.bKeyDown == 0 {
        return None;
    }
    // SAFETY: ReadConsoleInputW, the UTF-16 variant, fills in UnicodeChar.
    let character = unsafe { key.uChar.UnicodeChar };
    u8::try_from(character).ok().filter(u8::is_ascii)
}
