//! The xdg-desktop-portal on the session D-Bus: how Wayland desktops let an application
//! capture the screen, after asking the person in front of it.
//!
//! A portal method does not answer with its result: it returns the path of a `Request` object
//! and later emits `Response(u code, a{sv} results)` on it, once the person has answered a
//! dialog if there is one. [`Portal::request`] hides that dance.

pub mod restore_token;
pub mod screencast;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gio::glib;
use gio::prelude::*;

pub const BUS_NAME: &str = "org.freedesktop.portal.Desktop";
pub const OBJECT_PATH: &str = "/org/freedesktop/portal/desktop";
const REQUEST_INTERFACE: &str = "org.freedesktop.portal.Request";
const SESSION_INTERFACE: &str = "org.freedesktop.portal.Session";
/// How long a method call may take to return its request handle. The first call also starts
/// the portal through D-Bus activation, which takes a few seconds on a cold start.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The a{sv} results of a portal request.
pub type Results = HashMap<String, glib::Variant>;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error(
        "cannot reach the session D-Bus ({0}); the desktop portal lives there: run gst-replay \
         inside your desktop session, or set DBUS_SESSION_BUS_ADDRESS"
    )]
    NoSessionBus(glib::Error),
    #[error(
        "no desktop portal answers on the session bus ({0}); install xdg-desktop-portal and \
         your desktop's backend (xdg-desktop-portal-gnome, -kde, -wlr or -hyprland)"
    )]
    NoPortal(String),
    #[error("the desktop portal's {method} failed: {error}")]
    Call { method: String, error: glib::Error },
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "the screen-sharing dialog was cancelled, so there is nothing to capture; run again and \
         choose a screen to share, or use --source test"
    )]
    Cancelled,
    #[error(
        "the desktop portal ended {method} without sharing anything (response code {code}); its \
         log (journalctl --user -u xdg-desktop-portal) may say why"
    )]
    Ended { method: String, code: u32 },
    #[error("{0}")]
    TimedOut(String),
    #[error("the desktop portal's {method} answered something unexpected: {what}")]
    BadReply { method: String, what: String },
}

/// A connection to the portal on the session bus.
pub struct Portal {
    connection: gio::DBusConnection,
}

impl Portal {
    pub fn connect() -> Result<Portal, PortalError> {
        let connection = gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE)
            .map_err(PortalError::NoSessionBus)?;
        Ok(Portal { connection })
    }

    pub fn connection(&self) -> &gio::DBusConnection {
        &self.connection
    }

    /// The properties of one of the portal's interfaces; an error names what to install.
    pub fn properties(&self, interface: &str) -> Result<Results, PortalError> {
        let reply = self
            .connection
            .call_sync(
                Some(BUS_NAME),
                OBJECT_PATH,
                "org.freedesktop.DBus.Properties",
                "GetAll",
                Some(&(interface,).to_variant()),
                Some(glib::VariantTy::new("(a{sv})").expect("a valid type")),
                gio::DBusCallFlags::NONE,
                timeout_ms(CALL_TIMEOUT),
                gio::Cancellable::NONE,
            )
            .map_err(|err| PortalError::NoPortal(err.to_string()))?;
        let (properties,) = reply
            .get::<(Results,)>()
            .ok_or_else(|| PortalError::BadReply {
                method: "GetAll".into(),
                what: reply.type_().to_string(),
            })?;
        Ok(properties)
    }

    /// Calls `interface.method(arguments..., options)`, where `options` gets the
    /// `handle_token` that names the request, and waits up to `limit` for its response.
    pub fn request(
        &self,
        interface: &str,
        method: &str,
        arguments: &[glib::Variant],
        options: &glib::VariantDict,
        limit: Duration,
    ) -> Result<Results, PortalError> {
        let token = unique_token("request");
        options.insert_value("handle_token", &token.to_variant());
        let expected = format!(
            "{OBJECT_PATH}/request/{}/{token}",
            self.sender_path_element()
        );
        let mut parameters = arguments.to_vec();
        parameters.push(options.end());
        let parameters = glib::Variant::tuple_from_iter(parameters);

        let context = glib::MainContext::new();
        let outcome = context.with_thread_default(|| {
            let response: Rc<RefCell<Option<(u32, Results)>>> = Rc::default();
            // Subscribed before the call: the portal may answer before the call returns.
            let mut subscriptions = vec![self.subscribe_response(&expected, &response)];
            let reply = self
                .connection
                .call_sync(
                    Some(BUS_NAME),
                    OBJECT_PATH,
                    interface,
                    method,
                    Some(&parameters),
                    Some(glib::VariantTy::new("(o)").expect("a valid type")),
                    gio::DBusCallFlags::NONE,
                    timeout_ms(CALL_TIMEOUT),
                    gio::Cancellable::NONE,
                )
                .map_err(|error| PortalError::Call {
                    method: method.to_owned(),
                    error,
                })?;
            let handle = reply
                .child_value(0)
                .str()
                .map(str::to_owned)
                .unwrap_or_default();
            // Portals before 0.9 chose the request path themselves.
            if handle != expected {
                subscriptions.push(self.subscribe_response(&handle, &response));
            }
            let answered = wait_until(&context, limit, || response.borrow().is_some());
            drop(subscriptions);
            if !answered {
                self.close_request(&handle);
                return Err(PortalError::TimedOut(format!(
                    "the desktop portal did not answer {method} within {} s; if a screen-sharing \
                     dialog is open, choose a screen and run again",
                    limit.as_secs()
                )));
            }
            let (code, results) = response.take().expect("answered");
            match code {
                0 => Ok(results),
                1 => Err(PortalError::Cancelled),
                code => Err(PortalError::Ended {
                    method: method.to_owned(),
                    code,
                }),
            }
        });
        outcome.expect("a new main context can be made the thread default")
    }

    /// Calls a method that returns at once, passing and receiving Unix file descriptors.
    pub fn call_with_fds(
        &self,
        interface: &str,
        method: &str,
        parameters: &glib::Variant,
        reply_type: &str,
    ) -> Result<(glib::Variant, Option<gio::UnixFDList>), PortalError> {
        self.connection
            .call_with_unix_fd_list_sync(
                Some(BUS_NAME),
                OBJECT_PATH,
                interface,
                method,
                Some(parameters),
                Some(glib::VariantTy::new(reply_type).expect("a valid type")),
                gio::DBusCallFlags::NONE,
                timeout_ms(CALL_TIMEOUT),
                gio::UnixFDList::NONE,
                gio::Cancellable::NONE,
            )
            .map_err(|error| PortalError::Call {
                method: method.to_owned(),
                error,
            })
    }

    /// Ends a session: the portal stops whatever it shares through it.
    pub fn close_session(&self, session: &str) {
        self.close(session, SESSION_INTERFACE);
    }

    /// The element of request and session paths that names this connection: its unique
    /// name without the colon, dots as underscores (`:1.42` gives `1_42`).
    fn sender_path_element(&self) -> String {
        self.connection
            .unique_name()
            .map(|name| name.trim_start_matches(':').replace('.', "_"))
            .unwrap_or_default()
    }

    fn subscribe_response(
        &self,
        path: &str,
        response: &Rc<RefCell<Option<(u32, Results)>>>,
    ) -> gio::SignalSubscription {
        let response = Rc::clone(response);
        self.connection.subscribe_to_signal(
            Some(BUS_NAME),
            Some(REQUEST_INTERFACE),
            Some("Response"),
            Some(path),
            None,
            gio::DBusSignalFlags::NONE,
            move |signal| {
                if let Some(answer) = signal.parameters.get::<(u32, Results)>() {
                    response.borrow_mut().get_or_insert(answer);
                }
            },
        )
    }

    /// Dismisses a request that is still open, such as a dialog nobody answered.
    fn close_request(&self, request: &str) {
        self.close(request, REQUEST_INTERFACE);
    }

    fn close(&self, path: &str, interface: &str) {
        if path.is_empty() {
            return;
        }
        // Best effort: the portal forgets both when this connection goes away anyway.
        let _ = self.connection.call_sync(
            Some(BUS_NAME),
            path,
            interface,
            "Close",
            None,
            None,
            gio::DBusCallFlags::NONE,
            2000,
            gio::Cancellable::NONE,
        );
    }
}

/// A token for a request or session path: letters, digits and underscores, unique in this
/// process.
pub fn unique_token(kind: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "gst_replay_{kind}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `context` until `done` or `limit`; whether `done` became true.
fn wait_until(context: &glib::MainContext, limit: Duration, done: impl Fn() -> bool) -> bool {
    let expired = Arc::new(AtomicBool::new(false));
    let timer = glib::timeout_source_new(limit, None, glib::Priority::DEFAULT, {
        let expired = Arc::clone(&expired);
        move || {
            expired.store(true, Ordering::Relaxed);
            glib::ControlFlow::Break
        }
    });
    timer.attach(Some(context));
    while !done() && !expired.load(Ordering::Relaxed) {
        context.iteration(true);
    }
    timer.destroy();
    done()
}

fn timeout_ms(limit: Duration) -> i32 {
    limit.as_millis().try_into().unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_valid_object_path_elements_and_unique() {
        let first = unique_token("request");
        let second = unique_token("request");
        assert_ne!(first, second);
        assert!(first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
}
