//! Why a session could not be started. Each message says what to do about it.

use super::types::{SessionState, SessionStatus};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("{uri:?} is not a URI GStreamer can parse ({reason}); write it as scheme://host:port/path, e.g. srt://:9000?mode=listener")]
    BadUri { uri: String, reason: String },
    #[error("{scheme}:// is not a source scheme GStreamer can read on this machine; use srt://, udp://, rtsp://, http(s):// or file://")]
    UnsupportedScheme { scheme: String },
    #[error("{path} does not exist or is not a file; give the file:// URI of a readable file")]
    FileNotFound { path: String },
    #[error(
        "GStreamer element {element} is missing ({purpose}); install the Debian package {package}"
    )]
    MissingElement {
        element: &'static str,
        purpose: &'static str,
        package: &'static str,
    },
    #[error("invalid session: {0}")]
    BadSpec(String),
    #[error("GStreamer could not start the session: {0}")]
    Gstreamer(String),
}

impl IngestError {
    /// A `failed` status carrying this error, for a layer that keeps sessions that never
    /// started beside the others.
    pub fn as_status(&self) -> SessionStatus {
        SessionStatus::empty(SessionState::Failed, Some(self.to_string()))
    }
}
