//! Registering the hotkey with Windows and calling back on each press.
//!
//! `RegisterHotKey` without a window ties the hotkey to the calling thread's message queue, so
//! a thread of ours registers it, waits in `GetMessageW` for `WM_HOTKEY`, and unregisters it
//! when told to stop. Windows delivers the press whichever window has the focus.

use std::io;
use std::ptr;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use windows_sys::Win32::Foundation::ERROR_HOTKEY_ALREADY_REGISTERED;
use windows_sys::Win32::System::Threading::GetCurrentThreadId;
use windows_sys::Win32::UI::Input::KeyboardAndMouse::{
    self as keyboard, RegisterHotKey, UnregisterHotKey,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    GetMessageW, PeekMessageW, PostThreadMessageW, MSG, PM_NOREMOVE, WM_APP, WM_HOTKEY, WM_USER,
};

use super::virtual_keys::{self, Registration};
use super::{Hotkey, HotkeyError};

/// The values `virtual_keys` spells out by hand, checked against Windows' own.
const _: () = {
    assert!(virtual_keys::MOD_ALT == keyboard::MOD_ALT);
    assert!(virtual_keys::MOD_CONTROL == keyboard::MOD_CONTROL);
    assert!(virtual_keys::MOD_SHIFT == keyboard::MOD_SHIFT);
    assert!(virtual_keys::MOD_WIN == keyboard::MOD_WIN);
    assert!(virtual_keys::MOD_NOREPEAT == keyboard::MOD_NOREPEAT);
    assert!(virtual_keys::VK_BACK == keyboard::VK_BACK);
    assert!(virtual_keys::VK_TAB == keyboard::VK_TAB);
    assert!(virtual_keys::VK_RETURN == keyboard::VK_RETURN);
    assert!(virtual_keys::VK_PAUSE == keyboard::VK_PAUSE);
    assert!(virtual_keys::VK_ESCAPE == keyboard::VK_ESCAPE);
    assert!(virtual_keys::VK_SPACE == keyboard::VK_SPACE);
    assert!(virtual_keys::VK_PRIOR == keyboard::VK_PRIOR);
    assert!(virtual_keys::VK_NEXT == keyboard::VK_NEXT);
    assert!(virtual_keys::VK_END == keyboard::VK_END);
    assert!(virtual_keys::VK_HOME == keyboard::VK_HOME);
    assert!(virtual_keys::VK_LEFT == keyboard::VK_LEFT);
    assert!(virtual_keys::VK_UP == keyboard::VK_UP);
    assert!(virtual_keys::VK_RIGHT == keyboard::VK_RIGHT);
    assert!(virtual_keys::VK_DOWN == keyboard::VK_DOWN);
    assert!(virtual_keys::VK_SNAPSHOT == keyboard::VK_SNAPSHOT);
    assert!(virtual_keys::VK_INSERT == keyboard::VK_INSERT);
    assert!(virtual_keys::VK_DELETE == keyboard::VK_DELETE);
    assert!(virtual_keys::VK_APPS == keyboard::VK_APPS);
    assert!(virtual_keys::VK_F1 == keyboard::VK_F1);
    assert!(virtual_keys::VK_F24 == keyboard::VK_F24);
    assert!(virtual_keys::VK_SCROLL == keyboard::VK_SCROLL);
    assert!(keyboard::VK_A == b'A' as u16 && keyboard::VK_0 == b'0' as u16);
};

/// The id of our one hotkey on the listener thread (any value in 0..=0xBFFF is ours to pick).
const HOTKEY_ID: i32 = 1;

/// The message that tells the listener thread to stop.
const STOP_MESSAGE: u32 = WM_APP + 1;

/// A registered hotkey. Dropping it stops the listener thread, which unregisters the hotkey,
/// so the same hotkey can be registered again at once.
///
/// Drop waits for a callback that is running to return.
#[derive(Debug)]
pub struct Listener {
    thread_id: u32,
    thread: Option<JoinHandle<()>>,
}

/// Registers `hotkey` for the whole desktop and calls `on_press` on each press from a
/// background thread. Holding the keys down calls it once, not once per auto-repeat.
///
/// # Errors
/// [`HotkeyError::AlreadyGrabbed`] when another program (or another `Listener`) has
/// registered the same combination; [`HotkeyError::CannotRegister`] when Windows refuses it
/// otherwise; [`HotkeyError::Thread`] if no thread can be started.
pub fn listen(hotkey: &Hotkey, on_press: Box<dyn Fn() + Send>) -> Result<Listener, HotkeyError> {
    let registration =
        virtual_keys::registration(hotkey).ok_or_else(|| HotkeyError::UnknownKey {
            hotkey: hotkey.to_string(),
            key: hotkey.key_name.clone(),
        })?;
    let (report_registered, registered) = mpsc::sync_channel(1);
    let thread = thread::Builder::new()
        .name("hotkey-listener".into())
        .spawn(move || listen_on_this_thread(registration, &report_registered, on_press.as_ref()))
        .map_err(HotkeyError::Thread)?;
    let cannot_register = |error: io::Error| {
        if error.raw_os_error() == Some(ERROR_HOTKEY_ALREADY_REGISTERED as i32) {
            HotkeyError::AlreadyGrabbed {
                hotkey: hotkey.to_string(),
            }
        } else {
            HotkeyError::CannotRegister {
                hotkey: hotkey.to_string(),
                reason: error.to_string(),
            }
        }
    };
    match registered.recv() {
        Ok(Ok(thread_id)) => Ok(Listener {
            thread_id,
            thread: Some(thread),
        }),
        Ok(Err(error)) => {
            let _ = thread.join();
            Err(cannot_register(error))
        }
        // The thread ended without a word, which only a panic does.
        Err(_) => {
            let _ = thread.join();
            Err(cannot_register(io::Error::other(
                "the listener thread stopped before registering it",
            )))
        }
    }
}

/// The listener thread: registers the hotkey, reports how that went, then calls `on_press`
/// for each press until told to stop.
fn listen_on_this_thread(
    registration: Registration,
    report_registered: &mpsc::SyncSender<io::Result<u32>>,
    on_press: &(dyn Fn() + Send),
) {
    // PostThreadMessageW fails until the thread has a message queue; peeking creates it, so
    // the stop message can never be lost once `listen` has returned.
    let mut message = MSG::default();
    // SAFETY: `message` is a valid MSG to fill; nothing is removed from the queue.
    unsafe { PeekMessageW(&mut message, ptr::null_mut(), WM_USER, WM_USER, PM_NOREMOVE) };
    // SAFETY: a null window ties the hotkey to this thread's queue; HOTKEY_ID is ours.
    let registered = unsafe {
        RegisterHotKey(
            ptr::null_mut(),
            HOTKEY_ID,
            registration.modifiers,
            registration.virtual_key,
        )
    };
    if registered == 0 {
        let _ = report_registered.send(Err(io::Error::last_os_error()));
        return;
    }
    // SAFETY: GetCurrentThreadId has no preconditions.
    let thread_id = unsafe { GetCurrentThreadId() };
    if report_registered.send(Ok(thread_id)).is_ok() {
        wait_for_presses(on_press);
    }
    // SAFETY: unregisters what this thread registered above.
    unsafe { UnregisterHotKey(ptr::null_mut(), HOTKEY_ID) };
}

fn wait_for_presses(on_press: &(dyn Fn() + Send)) {
    let mut message = MSG::default();
    loop {
        // SAFETY: `message` is a valid MSG to fill; a null window takes every message of this
        // thread, which is where WM_HOTKEY and the stop message arrive.
        let result = unsafe { GetMessageW(&mut message, ptr::null_mut(), 0, 0) };
        match result {
            // WM_QUIT: nobody posts it, but it means stop all the same.
            0 => return,
            -1 => {
                eprintln!(
                    "warning: the hotkey stopped working: {}",
                    io::Error::last_os_error()
                );
                return;
            }
            _ if message.message == STOP_MESSAGE => return,
            _ if message.message == WM_HOTKEY && message.wParam == HOTKEY_ID as usize => on_press(),
            _ => {}
        }
    }
}

impl Listener {
    /// False once the listener thread has ended on its own, which happens only when Windows'
    /// message queue fails: the hotkey then no longer works.
    pub fn is_listening(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: posts a message with no pointers in it; if the thread has already ended this
        // fails harmlessly.
        unsafe { PostThreadMessageW(self.thread_id, STOP_MESSAGE, 0, 0) };
        if let Some(thread) = self.thread.take() {
            // A callback that drops its own listener must not join its own thread (deadlock).
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}
