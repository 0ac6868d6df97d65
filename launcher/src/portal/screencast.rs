//! The ScreenCast portal: one monitor, chosen by the person in the desktop's dialog, shared as
//! a PipeWire node for as long as the session lives.
//!
//! CreateSession, SelectSources (a monitor, the cursor drawn in), Start (the dialog; answers
//! with the stream's node), then OpenPipeWireRemote: a PipeWire connection, as a file
//! descriptor, that can see that node. `pipewiresrc fd=... path=<node>` reads from it.

use std::cell::Cell;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gio::glib;
use gio::prelude::*;
use glib::variant::{Handle, ObjectPath};

use super::{restore_token, Portal, PortalError, Results};

const INTERFACE: &str = "org.freedesktop.portal.ScreenCast";
/// How long the quick steps may take (no dialog is shown before SelectSources).
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// `AvailableSourceTypes` and `types` bits.
const SOURCE_MONITOR: u32 = 1;
const SOURCE_WINDOW: u32 = 2;
/// `AvailableCursorModes` and `cursor_mode` bits.
const CURSOR_HIDDEN: u32 = 1;
const CURSOR_EMBEDDED: u32 = 2;
/// `persist_mode`: until the person revokes the permission.
const PERSIST_UNTIL_REVOKED: u32 = 2;
/// The interface version that brought restore tokens.
const RESTORE_TOKEN_VERSION: u32 = 4;

/// What the desktop's ScreenCast portal can do; reading it shows no dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub version: u32,
    pub source_types: u32,
    pub cursor_modes: u32,
}

impl Capabilities {
    pub fn read(portal: &Portal) -> Result<Capabilities, PortalError> {
        let properties = portal.properties(INTERFACE)?;
        let number = |name: &str| properties.get(name).and_then(|value| value.get::<u32>());
        let version = number("version").ok_or_else(|| {
            PortalError::NoPortal(
                "the portal has no ScreenCast interface, which your desktop's portal backend provides"
                    .to_owned(),
            )
        })?;
        Ok(Capabilities {
            version,
            source_types: number("AvailableSourceTypes").unwrap_or_default(),
            cursor_modes: number("AvailableCursorModes").unwrap_or_default(),
        })
    }

    /// The cursor drawn into the picture, as ximagesrc's show-pointer gives it; else none.
    fn cursor_mode(&self) -> Option<u32> {
        [CURSOR_EMBEDDED, CURSOR_HIDDEN]
            .into_iter()
            .find(|mode| self.cursor_modes & mode != 0)
    }

    /// One line for `gst-replay doctor`.
    pub fn describe(&self) -> String {
        let mut sources = Vec::new();
        if self.source_types & SOURCE_MONITOR != 0 {
            sources.push("monitors");
        }
        if self.source_types & SOURCE_WINDOW != 0 {
            sources.push("windows");
        }
        let cursor = match self.cursor_mode() {
            Some(CURSOR_EMBEDDED) => "drawn in",
            Some(_) => "hidden",
            None => "unknown",
        };
        let remember = if self.version >= RESTORE_TOKEN_VERSION {
            "the choice can be remembered"
        } else {
            "the dialog shows every time"
        };
        format!(
            "ScreenCast version {}: shares {}; cursor {cursor}; {remember}",
            self.version,
            if sources.is_empty() {
                "nothing".to_owned()
            } else {
                sources.join(" and ")
            }
        )
    }
}

/// What the portal shared: a PipeWire node, reachable through a PipeWire connection of its own.
#[derive(Debug)]
pub struct SharedScreen {
    pub node_id: u32,
    /// In the compositor's (logical) pixels, which may not be the stream's under scaling.
    pub size: Option<(u32, u32)>,
    /// The PipeWire connection; `pipewiresrc` duplicates it, so it may be closed once the
    /// pipeline has stopped.
    pub remote: OwnedFd,
}

pub struct StartOptions {
    /// Where the restore token is kept between runs; `None` shows the dialog every time.
    pub restore_token: Option<PathBuf>,
    /// How long the person has to answer the dialog.
    pub dialog_timeout: Duration,
}

/// An open ScreenCast session. The screen is shared until it is dropped, which closes it.
pub struct ScreenCastSession {
    session: OpenSession,
    pub screen: SharedScreen,
}

impl ScreenCastSession {
    /// Asks the desktop to share one monitor. `before_dialog` runs just before the portal may
    /// show its dialog, to tell the person what is waiting for them.
    pub fn start(
        options: &StartOptions,
        before_dialog: impl FnOnce(),
    ) -> Result<ScreenCastSession, PortalError> {
        let portal = Portal::connect()?;
        let capabilities = Capabilities::read(&portal)?;
        if capabilities.source_types & SOURCE_MONITOR == 0 {
            return Err(PortalError::Unsupported(format!(
                "the desktop portal cannot share a monitor ({}); use --source test, or X11",
                capabilities.describe()
            )));
        }
        let session = OpenSession::create(portal)?;
        let remembered = (capabilities.version >= RESTORE_TOKEN_VERSION)
            .then_some(options.restore_token.as_deref())
            .flatten();

        let selection = glib::VariantDict::new(None);
        selection.insert_value("types", &SOURCE_MONITOR.to_variant());
        selection.insert_value("multiple", &false.to_variant());
        if let Some(mode) = capabilities.cursor_mode() {
            selection.insert_value("cursor_mode", &mode.to_variant());
        }
        if let Some(path) = remembered {
            selection.insert_value("persist_mode", &PERSIST_UNTIL_REVOKED.to_variant());
            if let Some(token) = restore_token::load(path) {
                selection.insert_value("restore_token", &token.to_variant());
            }
        }
        before_dialog();
        session.portal.request(
            INTERFACE,
            "SelectSources",
            &[session.handle()],
            &selection,
            options.dialog_timeout,
        )?;
        let started = session.portal.request(
            INTERFACE,
            "Start",
            &[session.handle(), "".to_variant()],
            &glib::VariantDict::new(None),
            options.dialog_timeout,
        )?;
        let (node_id, size) = first_stream(&started)?;
        if let Some(path) = remembered {
            let token = started.get("restore_token").and_then(|v| v.str());
            restore_token::store(path, token);
        }
        let remote = session.open_pipewire_remote()?;
        Ok(ScreenCastSession {
            session,
            screen: SharedScreen {
                node_id,
                size,
                remote,
            },
        })
    }

    /// Calls `on_closed` from another thread if the desktop ends the session, as when the
    /// person stops sharing from the desktop's own controls. Watches until dropped.
    pub fn watch_closed(&self, on_closed: impl FnOnce() + Send + 'static) -> ClosedWatch {
        let connection = self.session.portal.connection().clone();
        let path = self.session.path.clone();
        let context = glib::MainContext::new();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("portal-session".into())
            .spawn({
                let context = context.clone();
                let stop = Arc::clone(&stop);
                move || {
                    let closed = context.with_thread_default(|| {
                        let closed = Rc::new(Cell::new(false));
                        let _subscription = connection.subscribe_to_signal(
                            Some(super::BUS_NAME),
                            Some(super::SESSION_INTERFACE),
                            Some("Closed"),
                            Some(&path),
                            None,
                            gio::DBusSignalFlags::NONE,
                            {
                                let closed = Rc::clone(&closed);
                                move |_| closed.set(true)
                            },
                        );
                        while !closed.get() && !stop.load(Ordering::Relaxed) {
                            context.iteration(true);
                        }
                        closed.get()
                    });
                    if closed.unwrap_or(false) {
                        on_closed();
                    }
                }
            })
            .expect("a thread can be started");
        ClosedWatch {
            context,
            stop,
            thread: Some(thread),
        }
    }
}

/// Watches a session for the desktop closing it; stops watching when dropped.
pub struct ClosedWatch {
    context: glib::MainContext,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ClosedWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.context.wakeup();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A session the portal created; closed on drop, on success and failure alike.
struct OpenSession {
    portal: Portal,
    path: String,
}

impl OpenSession {
    fn create(portal: Portal) -> Result<OpenSession, PortalError> {
        let options = glib::VariantDict::new(None);
        options.insert_value(
            "session_handle_token",
            &super::unique_token("session").to_variant(),
        );
        let created = portal.request(INTERFACE, "CreateSession", &[], &options, SETUP_TIMEOUT)?;
        // `s` in the specification, `o` in some portals: str() reads both.
        let path = created
            .get("session_handle")
            .and_then(|v| v.str())
            .map(str::to_owned)
            .ok_or_else(|| PortalError::BadReply {
                method: "CreateSession".into(),
                what: "no session_handle".into(),
            })?;
        Ok(OpenSession { portal, path })
    }

    fn handle(&self) -> glib::Variant {
        ObjectPath::try_from(self.path.clone())
            .map(|path| path.to_variant())
            .unwrap_or_else(|_| self.path.to_variant())
    }

    fn open_pipewire_remote(&self) -> Result<OwnedFd, PortalError> {
        let bad_reply = |what: String| PortalError::BadReply {
            method: "OpenPipeWireRemote".into(),
            what,
        };
        let parameters = glib::Variant::tuple_from_iter([
            self.handle(),
            HashMap::<String, glib::Variant>::new().to_variant(),
        ]);
        let (reply, fds) =
            self.portal
                .call_with_fds(INTERFACE, "OpenPipeWireRemote", &parameters, "(h)")?;
        // The reply holds an index into the message's file descriptors, not a descriptor.
        let Handle(index) = reply
            .child_value(0)
            .get::<Handle>()
            .ok_or_else(|| bad_reply(reply.type_().to_string()))?;
        fds.ok_or_else(|| bad_reply("no file descriptor".into()))?
            .get(index)
            .map_err(|err| bad_reply(err.to_string()))
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        self.portal.close_session(&self.path);
    }
}

/// The node and size of the first stream of Start's results.
fn first_stream(started: &Results) -> Result<(u32, Option<(u32, u32)>), PortalError> {
    let streams = started
        .get("streams")
        .and_then(|v| v.get::<Vec<(u32, Results)>>())
        .unwrap_or_default();
    let Some((node_id, properties)) = streams.into_iter().next() else {
        return Err(PortalError::BadReply {
            method: "Start".into(),
            what: "no stream".into(),
        });
    };
    let size = properties
        .get("size")
        .and_then(|v| v.get::<(i32, i32)>())
        .and_then(|(w, h)| Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?)))
        .filter(|&(w, h)| w > 0 && h > 0);
    Ok((node_id, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(entries: &[(&str, glib::Variant)]) -> Results {
        entries
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn the_first_stream_gives_the_node_and_its_size() {
        let properties = results(&[("size", (1920i32, 1080i32).to_variant())]);
        let streams = vec![(57u32, properties)].to_variant();
        assert_eq!(
            first_stream(&results(&[("streams", streams)])).unwrap(),
            (57, Some((1920, 1080)))
        );
    }

    #[test]
    fn a_stream_without_a_size_still_has_its_node() {
        let streams = vec![(3u32, Results::new())].to_variant();
        assert_eq!(
            first_stream(&results(&[("streams", streams)])).unwrap(),
            (3, None)
        );
        assert!(first_stream(&Results::new()).is_err());
    }

    #[test]
    fn the_cursor_is_drawn_in_when_the_portal_can() {
        let capabilities = |cursor_modes| Capabilities {
            version: 4,
            source_types: SOURCE_MONITOR,
            cursor_modes,
        };
        assert_eq!(capabilities(7).cursor_mode(), Some(CURSOR_EMBEDDED));
        assert_eq!(capabilities(1).cursor_mode(), Some(CURSOR_HIDDEN));
        assert_eq!(capabilities(0).cursor_mode(), None);
        assert!(capabilities(3).describe().contains("cursor drawn in"));
    }
}
