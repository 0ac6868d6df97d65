//! Grabbing the hotkey on an X server and calling back on each press.
//!
//! The grab is a passive key grab on the root window of every screen, so the press reaches us
//! whichever window has the focus, and is not seen by that window.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use x11rb::connection::Connection;
use x11rb::errors::ReplyError;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, GrabMode,
    Keycode, Keysym, ModMask, Timestamp, Window, WindowClass,
};
use x11rb::protocol::{ErrorKind, Event};
use x11rb::rust_connection::RustConnection;
use x11rb::COPY_FROM_PARENT;

use super::{Hotkey, HotkeyError, Modifiers};

/// X11 keysym of the NumLock key, looked up to learn which modifier bit NumLock sets.
const KEYSYM_NUM_LOCK: Keysym = 0xff7f;

/// A running hotkey grab. Dropping it stops the listener thread, releases the grab and waits
/// until the X server has processed the release, so the same hotkey can be grabbed again at
/// once.
///
/// Drop waits for a callback that is running to return.
pub struct Listener {
    connection: Arc<RustConnection>,
    grab: KeyGrab,
    /// An unmapped window of ours that exists only to receive the wake-up ClientMessage.
    wake_window: Window,
    stop_requested: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("display", &self.grab.display)
            .field("keycode", &self.grab.keycode)
            .field("roots", &self.grab.roots)
            .finish_non_exhaustive()
    }
}

/// What was grabbed, to release it again.
struct KeyGrab {
    display: String,
    keycode: Keycode,
    roots: Vec<Window>,
}

/// Grabs the hotkey on the root window of every screen of `display` (None = $DISPLAY) and calls
/// `on_press` on each key press from a background thread. The grab also covers the key with
/// CapsLock and NumLock on. Dropping the listener ungrabs and stops the thread promptly.
///
/// Holding the key down calls `on_press` once, not once per auto-repeat.
///
/// # Errors
/// [`HotkeyError::AlreadyGrabbed`] when another X client (another program, or another
/// `Listener`) holds the same combination; [`HotkeyError::NoDisplay`],
/// [`HotkeyError::CannotOpenDisplay`], [`HotkeyError::KeyNotOnKeyboard`] and
/// [`HotkeyError::X11`] for the display; [`HotkeyError::Thread`] if no thread can be started.
pub fn listen(
    display: Option<&str>,
    hotkey: &Hotkey,
    on_press: Box<dyn Fn() + Send>,
) -> Result<Listener, HotkeyError> {
    let display = resolve_display_name(display)?;
    refuse_display_numbers_x11rb_cannot_handle(&display)?;
    let (connection, _default_screen) =
        x11rb::connect(Some(&display)).map_err(|error| HotkeyError::CannotOpenDisplay {
            display: display.clone(),
            reason: error.to_string(),
        })?;
    let connection = Arc::new(connection);
    let x11_error = |action: &'static str, error: &dyn std::fmt::Display| HotkeyError::X11 {
        display: display.clone(),
        action,
        reason: error.to_string(),
    };

    let keyboard = KeyboardMapping::query(&connection)
        .map_err(|error| x11_error("reading the keyboard mapping", &error))?;
    let keycode =
        keyboard
            .keycode_of(hotkey.keysym)
            .ok_or_else(|| HotkeyError::KeyNotOnKeyboard {
                display: display.clone(),
                key: hotkey.key_name.clone(),
            })?;
    let num_lock_mask = num_lock_mask(&connection, &keyboard)
        .map_err(|error| x11_error("reading the modifier mapping", &error))?;

    let grab = KeyGrab {
        display: display.clone(),
        keycode,
        roots: connection
            .setup()
            .roots
            .iter()
            .map(|screen| screen.root)
            .collect(),
    };
    let masks = grab_masks(hotkey.modifiers, num_lock_mask);
    if let Err(error) = grab_key_everywhere(&connection, &grab, &masks) {
        // Some grabs may have succeeded before one failed: release them before the
        // connection goes, so a retry with the same display does not race against them.
        let _ = release_key_grab(&connection, &grab);
        return Err(match error {
            ReplyError::X11Error(x11) if x11.error_kind == ErrorKind::Access => {
                HotkeyError::AlreadyGrabbed {
                    hotkey: hotkey.to_string(),
                }
            }
            other => x11_error("grabbing the hotkey", &other),
        });
    }

    let wake_window = create_wake_window(&connection, &grab.roots).map_err(|error| {
        let _ = release_key_grab(&connection, &grab);
        x11_error("creating the listener's window", &error)
    })?;

    let stop_requested = Arc::new(AtomicBool::new(false));
    let thread = thread::Builder::new()
        .name("hotkey-listener".into())
        .spawn({
            let connection = Arc::clone(&connection);
            let stop_requested = Arc::clone(&stop_requested);
            move || run_event_loop(&connection, keycode, &stop_requested, on_press.as_ref())
        })
        .map_err(|error| {
            let _ = release_key_grab(&connection, &grab);
            HotkeyError::Thread(error)
        })?;

    Ok(Listener {
        connection,
        grab,
        wake_window,
        stop_requested,
        thread: Some(thread),
    })
}

impl Listener {
    /// The X display the hotkey is grabbed on, e.g. `:0`.
    pub fn display(&self) -> &str {
        &self.grab.display
    }

    /// False once the listener thread has ended on its own, which happens only when the
    /// connection to the X server is lost (the server quit): the hotkey then no longer works.
    pub fn is_listening(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        // wait_for_event has no timeout: a ClientMessage to our own window wakes the thread so
        // it sees the stop request. If sending fails the connection is broken, and then the
        // thread's wait_for_event fails and returns as well.
        let _ = send_wake_up(&self.connection, self.wake_window);
        if let Some(thread) = self.thread.take() {
            // A callback that drops its own listener must not join its own thread (deadlock).
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
        let _ = self.connection.destroy_window(self.wake_window);
        let _ = release_key_grab(&self.connection, &self.grab);
    }
}

/// The display to open: the given one, else `$DISPLAY`.
fn resolve_display_name(display: Option<&str>) -> Result<String, HotkeyError> {
    match display.filter(|name| !name.is_empty()) {
        Some(name) => Ok(name.to_owned()),
        None => std::env::var("DISPLAY")
            .ok()
            .filter(|name| !name.is_empty())
            .ok_or(HotkeyError::NoDisplay),
    }
}

/// X11's TCP port for display N is 6000 + N.
const X11_TCP_PORT_BASE: u16 = 6000;

/// x11rb 0.14 computes the TCP port 6000 + N in a u16, which overflows (a panic in debug
/// builds) for display numbers above 59535: refuse those with an error instead.
fn refuse_display_numbers_x11rb_cannot_handle(display: &str) -> Result<(), HotkeyError> {
    use x11rb::reexports::x11rb_protocol::parse_display::parse_display;
    // A name that does not parse is left to x11rb::connect, which reports why.
    match parse_display(Some(display)) {
        Ok(parsed) if parsed.display > u16::MAX - X11_TCP_PORT_BASE => {
            Err(HotkeyError::CannotOpenDisplay {
                display: display.to_owned(),
                reason: format!(
                    "display number {} is too large (the largest is {})",
                    parsed.display,
                    u16::MAX - X11_TCP_PORT_BASE
                ),
            })
        }
        _ => Ok(()),
    }
}

/// The server's keycode -> keysyms table.
struct KeyboardMapping {
    min_keycode: Keycode,
    keysyms_per_keycode: usize,
    keysyms: Vec<Keysym>,
}

impl KeyboardMapping {
    fn query(connection: &RustConnection) -> Result<Self, ReplyError> {
        let setup = connection.setup();
        let min_keycode = setup.min_keycode;
        // The protocol guarantees min_keycode >= 8, so the count fits in a u8; saturate anyway
        // rather than trust a server.
        let count = (setup.max_keycode.saturating_sub(min_keycode)).saturating_add(1);
        let reply = connection
            .get_keyboard_mapping(min_keycode, count)?
            .reply()?;
        Ok(KeyboardMapping {
            min_keycode,
            keysyms_per_keycode: usize::from(reply.keysyms_per_keycode),
            keysyms: reply.keysyms,
        })
    }

    /// The keysyms a keycode produces (one per group and shift level).
    fn keysyms_of(&self, keycode: Keycode) -> &[Keysym] {
        let Some(index) = keycode.checked_sub(self.min_keycode) else {
            return &[];
        };
        let start = usize::from(index) * self.keysyms_per_keycode;
        self.keysyms
            .get(start..start + self.keysyms_per_keycode)
            .unwrap_or(&[])
    }

    /// The keycode that produces `keysym`, chosen as Xlib's XKeysymToKeycode does: the lowest
    /// shift level first, then the lowest keycode, so "F10" finds the F10 key rather than some
    /// key that gives F10 only with a modifier.
    fn keycode_of(&self, keysym: Keysym) -> Option<Keycode> {
        if self.keysyms_per_keycode == 0 {
            return None;
        }
        let rows = self.keysyms.chunks_exact(self.keysyms_per_keycode);
        (0..self.keysyms_per_keycode).find_map(|level| {
            rows.clone()
                .position(|row| keysyms_match(row[level], keysym))
                .and_then(|index| u8::try_from(index).ok())
                .and_then(|index| self.min_keycode.checked_add(index))
        })
    }
}

/// Letters match in either case: a keymap may list only 'A' where the hotkey asked for 'a'.
fn keysyms_match(listed: Keysym, wanted: Keysym) -> bool {
    let to_lower = |keysym: Keysym| match keysym {
        0x41..=0x5a => keysym + 0x20,
        other => other,
    };
    listed != 0 && to_lower(listed) == to_lower(wanted)
}

/// The modifier bits that NumLock sets: whatever modifier the server maps a Num_Lock key to
/// (usually Mod2, but layouts differ), or no bits when NumLock is not a modifier.
fn num_lock_mask(
    connection: &RustConnection,
    keyboard: &KeyboardMapping,
) -> Result<ModMask, ReplyError> {
    let reply = connection.get_modifier_mapping()?.reply()?;
    // The reply lists keycodes_per_modifier keycodes for each of the 8 modifiers, in the order
    // Shift, Lock, Control, Mod1..Mod5; 0 pads unused slots.
    let keycodes_per_modifier = reply.keycodes.len() / 8;
    let mut mask = 0u16;
    if keycodes_per_modifier > 0 {
        for (modifier_index, keycodes) in reply.keycodes.chunks(keycodes_per_modifier).enumerate() {
            let is_num_lock = keycodes.iter().any(|&keycode| {
                keycode != 0 && keyboard.keysyms_of(keycode).contains(&KEYSYM_NUM_LOCK)
            });
            if is_num_lock && modifier_index < 8 {
                mask |= 1 << modifier_index;
            }
        }
    }
    Ok(ModMask::from(mask))
}

/// The X modifier mask the hotkey's modifiers correspond to.
fn modifier_mask(modifiers: Modifiers) -> u16 {
    let mut mask = 0u16;
    for (held, bit) in [
        (modifiers.ctrl, ModMask::CONTROL),
        (modifiers.alt, ModMask::M1),
        (modifiers.shift, ModMask::SHIFT),
        (modifiers.super_key, ModMask::M4),
    ] {
        if held {
            mask |= u16::from(bit);
        }
    }
    mask
}

/// Every modifier mask to grab: a passive grab matches the modifier state exactly, so the
/// hotkey is grabbed once for each combination of CapsLock and NumLock being on, or it would
/// stop working whenever one of them is on.
fn grab_masks(modifiers: Modifiers, num_lock_mask: ModMask) -> Vec<ModMask> {
    let base = modifier_mask(modifiers);
    let caps_lock = u16::from(ModMask::LOCK);
    let num_lock = u16::from(num_lock_mask);
    // A set, because NumLock may share bits with the hotkey's own modifiers on odd layouts.
    let masks: BTreeSet<u16> = [0, caps_lock, num_lock, caps_lock | num_lock]
        .into_iter()
        .map(|locks| base | locks)
        .collect();
    masks.into_iter().map(ModMask::from).collect()
}

/// Grabs the key with each mask on each root; the grabs are sent together, then every one is
/// checked, because a refused grab (BadAccess) is reported only as an error reply.
fn grab_key_everywhere(
    connection: &RustConnection,
    grab: &KeyGrab,
    masks: &[ModMask],
) -> Result<(), ReplyError> {
    let mut cookies = Vec::with_capacity(grab.roots.len() * masks.len());
    for &root in &grab.roots {
        for &mask in masks {
            cookies.push(connection.grab_key(
                false,
                root,
                mask,
                grab.keycode,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
            )?);
        }
    }
    cookies.into_iter().try_for_each(|cookie| cookie.check())
}

/// Releases every grab of the key made by this connection and waits for the server to have
/// done so (a round trip), so that another client can grab the key right after this returns.
fn release_key_grab(connection: &RustConnection, grab: &KeyGrab) -> Result<(), ReplyError> {
    for &root in &grab.roots {
        connection.ungrab_key(grab.keycode, root, ModMask::ANY)?;
    }
    connection.get_input_focus()?.reply()?;
    Ok(())
}

fn create_wake_window(
    connection: &RustConnection,
    roots: &[Window],
) -> Result<Window, Box<dyn std::error::Error>> {
    let root = *roots.first().ok_or("the X server reports no screen")?;
    let window = connection.generate_id()?;
    connection
        .create_window(
            COPY_FROM_PARENT as u8,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            COPY_FROM_PARENT,
            &CreateWindowAux::new(),
        )?
        .check()?;
    Ok(window)
}

/// Sends a ClientMessage to our own window. With an empty event mask the server delivers it to
/// the window's creator, which is this connection, whatever else selects events there.
fn send_wake_up(connection: &RustConnection, wake_window: Window) -> Result<(), ReplyError> {
    let event = ClientMessageEvent::new(32, wake_window, AtomEnum::NONE, [0u32; 5]);
    connection.send_event(false, wake_window, EventMask::NO_EVENT, event)?;
    connection.flush()?;
    Ok(())
}

fn run_event_loop(
    connection: &RustConnection,
    keycode: Keycode,
    stop_requested: &AtomicBool,
    on_press: &(dyn Fn() + Send),
) {
    let mut repeat_filter = RepeatFilter::default();
    while !stop_requested.load(Ordering::SeqCst) {
        let event = match connection.wait_for_event() {
            Ok(event) => event,
            Err(error) => {
                if !stop_requested.load(Ordering::SeqCst) {
                    eprintln!("warning: the hotkey stopped working: lost the X display: {error}");
                }
                return;
            }
        };
        let is_hotkey_press = match event {
            // While the grab is active every key goes to us, so check that it is our key.
            Event::KeyPress(press) if press.detail == keycode => {
                repeat_filter.is_new_press(press.time)
            }
            Event::KeyRelease(release) if release.detail == keycode => {
                repeat_filter.released(release.time);
                false
            }
            // The wake-up ClientMessage and anything else: the loop condition decides.
            _ => false,
        };
        if is_hotkey_press {
            on_press();
        }
    }
}

/// Tells a real key press from auto-repeat, so holding the key triggers once.
///
/// X reports auto-repeat in one of two ways. Normally each repeat is a KeyRelease immediately
/// followed by a KeyPress with the same timestamp (the release is fake). With XKB "detectable
/// auto-repeat" the fake releases are left out, so repeats are KeyPress after KeyPress.
/// Both are recognised.
#[derive(Debug, Default)]
struct RepeatFilter {
    /// A press was seen and no release since.
    held: bool,
    /// Time of the last release, to recognise the repeat press that has the same time.
    last_release_time: Option<Timestamp>,
}

impl RepeatFilter {
    /// Records a KeyPress and says whether it is a new press (true) or an auto-repeat.
    fn is_new_press(&mut self, time: Timestamp) -> bool {
        let is_repeat = self.held || self.last_release_time == Some(time);
        self.held = true;
        self.last_release_time = None;
        !is_repeat
    }

    /// Records a KeyRelease.
    fn released(&mut self, time: Timestamp) {
        self.held = false;
        self.last_release_time = Some(time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_filter_counts_each_real_press_once() {
        let mut filter = RepeatFilter::default();
        assert!(filter.is_new_press(1000));
        // Classic auto-repeat: fake release and press with one timestamp.
        for time in [1660, 1700, 1740] {
            filter.released(time);
            assert!(!filter.is_new_press(time));
        }
        filter.released(1800);
        assert!(filter.is_new_press(2500), "a later press is a new one");
        // Detectable auto-repeat: presses without releases.
        assert!(!filter.is_new_press(3160));
        assert!(!filter.is_new_press(3200));
        filter.released(3300);
        assert!(filter.is_new_press(3301));
    }

    #[test]
    fn grab_masks_cover_caps_lock_and_num_lock() {
        let alt = Modifiers {
            alt: true,
            ..Modifiers::default()
        };
        let masks: Vec<u16> = grab_masks(alt, ModMask::M2)
            .into_iter()
            .map(u16::from)
            .collect();
        let m1 = u16::from(ModMask::M1);
        let lock = u16::from(ModMask::LOCK);
        let m2 = u16::from(ModMask::M2);
        assert_eq!(masks, vec![m1, m1 | lock, m1 | m2, m1 | lock | m2]);
        // No NumLock modifier on this server: only CapsLock doubles the grabs.
        let masks: Vec<u16> = grab_masks(alt, ModMask::from(0u16))
            .into_iter()
            .map(u16::from)
            .collect();
        assert_eq!(masks, vec![m1, m1 | lock]);
    }

    #[test]
    fn keyboard_mapping_prefers_lowest_level_then_lowest_keycode() {
        let keyboard = KeyboardMapping {
            min_keycode: 8,
            keysyms_per_keycode: 2,
            keysyms: vec![
                0x61, 0x41, // keycode 8: a A
                0x31, 0xffc7, // keycode 9: 1, F10 when shifted
                0xffc7, 0, // keycode 10: F10
                0xff7f, 0, // keycode 11: Num_Lock
            ],
        };
        assert_eq!(keyboard.keycode_of(0xffc7), Some(10));
        assert_eq!(keyboard.keycode_of(0x61), Some(8));
        assert_eq!(keyboard.keycode_of(0x41), Some(8));
        assert_eq!(keyboard.keycode_of(0xffbe), None);
        assert_eq!(keyboard.keycode_of(0), None, "padding never matches");
        assert_eq!(keyboard.keysyms_of(11), &[0xff7f, 0]);
        assert_eq!(keyboard.keysyms_of(7), &[] as &[Keysym]);
        assert_eq!(keyboard.keysyms_of(200), &[] as &[Keysym]);
    }

    #[test]
    fn missing_display_is_reported_by_name() {
        let hotkey = Hotkey::default();
        // Display numbers this high are never in use; the socket does not exist. 65000 is past
        // what x11rb can handle, 59000 is an ordinary missing display, "nonsense" malformed.
        for display in [":65000", ":59000", "nonsense"] {
            let error = listen(Some(display), &hotkey, Box::new(|| {})).unwrap_err();
            assert!(
                matches!(&error, HotkeyError::CannotOpenDisplay { display: shown, .. } if shown == display),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("cannot open X display {display}: ")),
                "{message}"
            );
        }
    }

    /// Tests against a real X server (Xvfb), pressing keys with xdotool.
    mod with_xvfb {
        use super::*;
        use std::io::{BufRead, BufReader};
        use std::process::{Child, Command, Stdio};
        use std::sync::mpsc;
        use std::time::{Duration, Instant};

        /// How long a press may take to reach the callback before the test fails.
        const PRESS_TIMEOUT: Duration = Duration::from_secs(5);
        /// How long to wait for a callback that must not come.
        const QUIET_PERIOD: Duration = Duration::from_millis(400);

        /// A private Xvfb server, killed when dropped (also when the test panics).
        struct Xvfb {
            child: Child,
            display: String,
        }

        impl Xvfb {
            /// Starts Xvfb with two screens on a display number it picks itself
            /// (`-displayfd`), so tests running in parallel never collide, and waits until
            /// it accepts connections.
            fn start() -> Xvfb {
                for program in ["Xvfb", "xdotool"] {
                    assert!(
                        is_on_path(program),
                        "{program} is not installed: these tests need the Debian packages \
                         xvfb and xdotool (apt-get install xvfb xdotool)"
                    );
                }
                let mut child = Command::new("Xvfb")
                    .args(["-displayfd", "1", "-nolisten", "tcp", "-noreset"])
                    .args(["-screen", "0", "640x480x24", "-screen", "1", "320x240x24"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("cannot start Xvfb");
                let stdout = child.stdout.take().expect("Xvfb stdout is piped");
                let mut guard = Xvfb {
                    child,
                    display: String::new(),
                };
                // Xvfb writes the display number once it is ready to accept clients.
                let (sender, receiver) = mpsc::channel();
                thread::spawn(move || {
                    let mut line = String::new();
                    let _ = BufReader::new(stdout).read_line(&mut line);
                    let _ = sender.send(line);
                });
                let line = receiver
                    .recv_timeout(Duration::from_secs(20))
                    .expect("Xvfb did not report its display within 20 s");
                let number: u32 = line
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("Xvfb failed to start (printed {line:?})"));
                guard.display = format!(":{number}");
                guard
            }

            /// Runs `xdotool ARGS` against this server and waits for it.
            fn xdotool(&self, args: &[&str]) {
                let status = Command::new("xdotool")
                    .args(args)
                    .env("DISPLAY", &self.display)
                    .status()
                    .expect("cannot run xdotool");
                assert!(status.success(), "xdotool {args:?} failed: {status}");
            }
        }

        impl Drop for Xvfb {
            fn drop(&mut self) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }

        fn is_on_path(program: &str) -> bool {
            std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
            })
        }

        /// A listener whose callback reports each press on a channel.
        fn listen_counting(xvfb: &Xvfb, hotkey: &str) -> (Listener, mpsc::Receiver<()>) {
            let (sender, receiver) = mpsc::channel();
            let listener = listen(
                Some(&xvfb.display),
                &hotkey.parse().unwrap(),
                Box::new(move || {
                    let _ = sender.send(());
                }),
            )
            .unwrap_or_else(|error| panic!("listen {hotkey}: {error}"));
            (listener, receiver)
        }

        fn expect_presses(presses: &mpsc::Receiver<()>, count: usize) {
            for index in 0..count {
                presses
                    .recv_timeout(PRESS_TIMEOUT)
                    .unwrap_or_else(|_| panic!("press {} of {count} never arrived", index + 1));
            }
            assert!(
                presses.recv_timeout(QUIET_PERIOD).is_err(),
                "the callback ran more than {count} times"
            );
        }

        #[test]
        fn each_press_triggers_once_and_other_combinations_do_not() {
            let xvfb = Xvfb::start();
            let (_listener, presses) = listen_counting(&xvfb, "Alt+F10");

            for _ in 0..3 {
                xvfb.xdotool(&["key", "alt+F10"]);
            }
            expect_presses(&presses, 3);

            // Other combinations of the same key are not the hotkey. The Alt+F10 press after
            // them arrives after their events, so one callback proves they were ignored.
            xvfb.xdotool(&["key", "ctrl+F10"]);
            xvfb.xdotool(&["key", "F10"]);
            xvfb.xdotool(&["key", "alt+shift+F10"]);
            xvfb.xdotool(&["key", "alt+F9"]);
            xvfb.xdotool(&["key", "alt+F10"]);
            expect_presses(&presses, 1);
        }

        #[test]
        fn holding_the_key_through_auto_repeat_triggers_once() {
            let xvfb = Xvfb::start();
            let (_listener, presses) = listen_counting(&xvfb, "Alt+F10");
            // Xvfb starts auto-repeat after 660 ms; hold well past that.
            xvfb.xdotool(&["keydown", "alt+F10", "sleep", "1.5", "keyup", "F10+alt"]);
            expect_presses(&presses, 1);
        }

        /// Drops the listener on another thread and fails (instead of hanging the test run)
        /// if that takes longer than a second.
        fn drop_promptly(listener: Listener) {
            let (done_sender, done) = mpsc::channel();
            let started = Instant::now();
            thread::spawn(move || {
                drop(listener);
                let _ = done_sender.send(());
            });
            assert!(
                done.recv_timeout(Duration::from_secs(1)).is_ok(),
                "dropping the listener did not return within 1 s"
            );
            assert!(started.elapsed() < Duration::from_secs(1));
        }

        /// Moves NumLock from the usual Mod2 to Mod3, as some layouts do, to show that the
        /// listener finds NumLock's bit instead of assuming Mod2.
        fn move_num_lock_to_mod3(xvfb: &Xvfb) {
            let (connection, _) = x11rb::connect(Some(&xvfb.display)).unwrap();
            let keyboard = KeyboardMapping::query(&connection).unwrap();
            let mut keycodes = connection
                .get_modifier_mapping()
                .unwrap()
                .reply()
                .unwrap()
                .keycodes;
            let per_modifier = keycodes.len() / 8;
            // Modifier rows: Shift, Lock, Control, Mod1, Mod2, Mod3, Mod4, Mod5.
            let (mod2, mod3) = (4 * per_modifier, 5 * per_modifier);
            let num_lock_slot = (mod2..mod2 + per_modifier)
                .find(|&slot| {
                    keyboard
                        .keysyms_of(keycodes[slot])
                        .contains(&KEYSYM_NUM_LOCK)
                })
                .expect("Xvfb's default layout has NumLock on Mod2");
            let free_mod3_slot = (mod3..mod3 + per_modifier)
                .find(|&slot| keycodes[slot] == 0)
                .expect("Xvfb's default layout has a free Mod3 slot");
            keycodes.swap(num_lock_slot, free_mod3_slot);
            let reply = connection
                .set_modifier_mapping(&keycodes)
                .unwrap()
                .reply()
                .unwrap();
            assert_eq!(
                reply.status,
                x11rb::protocol::xproto::MappingStatus::SUCCESS
            );
            let moved = num_lock_mask(&connection, &keyboard).unwrap();
            assert_eq!(u16::from(moved), u16::from(ModMask::M3));
        }

        #[test]
        fn caps_lock_and_num_lock_do_not_defeat_the_grab() {
            let xvfb = Xvfb::start();
            let (_listener, presses) = listen_counting(&xvfb, "Ctrl+Shift+S");
            press_with_locks_toggled(&xvfb, &presses);
        }

        #[test]
        fn num_lock_on_another_modifier_bit_does_not_defeat_the_grab() {
            let xvfb = Xvfb::start();
            move_num_lock_to_mod3(&xvfb);
            let (_listener, presses) = listen_counting(&xvfb, "Ctrl+Shift+S");
            press_with_locks_toggled(&xvfb, &presses);
        }

        /// Presses Ctrl+Shift+S with NumLock on, then both locks on, then CapsLock only.
        fn press_with_locks_toggled(xvfb: &Xvfb, presses: &mpsc::Receiver<()>) {
            xvfb.xdotool(&["key", "Num_Lock"]);
            xvfb.xdotool(&["key", "ctrl+shift+s"]);
            expect_presses(presses, 1);
            xvfb.xdotool(&["key", "Caps_Lock"]);
            xvfb.xdotool(&["key", "ctrl+shift+s"]);
            expect_presses(presses, 1);
            xvfb.xdotool(&["key", "Num_Lock"]);
            xvfb.xdotool(&["key", "ctrl+shift+s"]);
            expect_presses(presses, 1);
        }

        #[test]
        fn a_grabbed_hotkey_is_refused_until_released() {
            let xvfb = Xvfb::start();
            let hotkey: Hotkey = "Alt+F10".parse().unwrap();
            let first = listen(Some(&xvfb.display), &hotkey, Box::new(|| {})).unwrap();

            // A second listener in the same process is a second X client, and is refused.
            let error = listen(Some(&xvfb.display), &hotkey, Box::new(|| {})).unwrap_err();
            assert!(
                matches!(&error, HotkeyError::AlreadyGrabbed { hotkey } if hotkey == "Alt+F10"),
                "{error:?}"
            );
            assert!(error.to_string().starts_with("Alt+F10 is already grabbed"));

            // Another program trying the same key, on the second screen's root, is refused as
            // well: the listener grabbed on every screen.
            let (other_program, _) = x11rb::connect(Some(&xvfb.display)).unwrap();
            let second_root = other_program.setup().roots[1].root;
            let keyboard = KeyboardMapping::query(&other_program).unwrap();
            let keycode = keyboard.keycode_of(hotkey.keysym).unwrap();
            let other_grab = other_program
                .grab_key(
                    false,
                    second_root,
                    ModMask::M1,
                    keycode,
                    GrabMode::ASYNC,
                    GrabMode::ASYNC,
                )
                .unwrap()
                .check();
            assert!(
                matches!(&other_grab, Err(ReplyError::X11Error(e)) if e.error_kind == ErrorKind::Access),
                "{other_grab:?}"
            );

            // Dropping the first listener is prompt and frees the key for a new one.
            drop_promptly(first);
            let (_second, presses) = listen_counting(&xvfb, "Alt+F10");
            xvfb.xdotool(&["key", "alt+F10"]);
            expect_presses(&presses, 1);
        }

        #[test]
        fn a_key_grabbed_by_another_program_is_refused() {
            let xvfb = Xvfb::start();
            let hotkey: Hotkey = "Super+Print".parse().unwrap();
            let (other_program, _) = x11rb::connect(Some(&xvfb.display)).unwrap();
            let root = other_program.setup().roots[0].root;
            let keycode = KeyboardMapping::query(&other_program)
                .unwrap()
                .keycode_of(hotkey.keysym)
                .unwrap();
            other_program
                .grab_key(
                    false,
                    root,
                    ModMask::M4,
                    keycode,
                    GrabMode::ASYNC,
                    GrabMode::ASYNC,
                )
                .unwrap()
                .check()
                .unwrap();

            let error = listen(Some(&xvfb.display), &hotkey, Box::new(|| {})).unwrap_err();
            assert!(
                matches!(&error, HotkeyError::AlreadyGrabbed { hotkey } if hotkey == "Super+Print"),
                "{error:?}"
            );
            // The refused listen released the grabs it had made (with CapsLock, NumLock), so
            // once the other program lets go the key is free.
            other_program
                .ungrab_key(keycode, root, ModMask::ANY)
                .unwrap();
            other_program.get_input_focus().unwrap().reply().unwrap();
            let (_listener, presses) = listen_counting(&xvfb, "Super+Print");
            xvfb.xdotool(&["key", "super+Print"]);
            expect_presses(&presses, 1);
        }

        #[test]
        fn dropped_listener_no_longer_calls_back() {
            let xvfb = Xvfb::start();
            let (listener, presses) = listen_counting(&xvfb, "Alt+F10");
            assert!(listener.is_listening());
            assert_eq!(listener.display(), xvfb.display);
            drop_promptly(listener);
            xvfb.xdotool(&["key", "alt+F10"]);
            // The callback (and its sender) went with the thread: the channel is closed.
            assert_eq!(
                presses.recv_timeout(PRESS_TIMEOUT),
                Err(mpsc::RecvTimeoutError::Disconnected)
            );
        }
    }
}
