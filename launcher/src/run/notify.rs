//! Desktop notifications (freedesktop.org Notifications over the session D-Bus).
//! Best effort: without a session bus or a notification daemon nothing is shown.
//!
//! Windows has no such service, and asking GLib there for a session bus makes it start one
//! (`gdbus.exe`): so on Windows nothing is sent at all, and the report on stderr and stdout is
//! all there is.

use gio::prelude::*;

/// Shows a notification from a short-lived thread, so a slow bus never delays capture.
pub fn notify(summary: String, body: String) {
    if cfg!(windows) {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            let _ = send(&summary, &body);
        });
}

fn send(summary: &str, body: &str) -> Result<(), gio::glib::Error> {
    let connection = gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE)?;
    let no_actions: Vec<String> = Vec::new();
    let parameters = (
        "gst-replay",
        0u32,
        "video-x-generic",
        summary,
        body,
        no_actions,
        // a{sv}: a map, not a dictionary boxed in a variant.
        std::collections::HashMap::<String, gio::glib::Variant>::new(),
        5000i32,
    )
        .to_variant();
    connection.call_sync(
        Some("org.freedesktop.Notifications"),
        "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications",
        "Notify",
        Some(&parameters),
        None,
        gio::DBusCallFlags::NONE,
        2000,
        gio::Cancellable::NONE,
    )?;
    Ok(())
}
