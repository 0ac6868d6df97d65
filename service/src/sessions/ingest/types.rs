//! The types the HTTP layer sees: what a session is asked to ingest, what it reports, and
//! what a clip request and its outcome are.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One session: its source and the size of its ring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSpec {
    /// Names the session in the pipeline and in save ids.
    pub id: String,
    /// The URI of the stream: `srt://host:port` (caller), `srt://:port?mode=listener`,
    /// `udp://host:port` (MPEG-TS), `rtsp://...`, `http(s)://...`, `file:///...`.
    pub source: String,
    /// How much of the stream the ring keeps (its `max-duration`).
    pub max_duration: Duration,
    /// Hard cap on the encoded bytes the ring holds (its `max-bytes`).
    pub max_bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// The source is being opened; no keyframe has reached the ring yet.
    Starting,
    /// Keyframes reach the ring: saves work.
    Buffering,
    /// The source dropped; it is being rebuilt with backoff. The ring keeps what it holds
    /// and saves still work.
    Reconnecting,
    /// `stop` was called.
    Stopped,
    /// The source can never work (`error` says why). The ring keeps what it holds.
    Failed,
    /// A finite source (`file://`) reached its end. The ring keeps what it holds and saves
    /// still work.
    Ended,
}

impl SessionState {
    /// The lowercase name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Starting => "starting",
            SessionState::Buffering => "buffering",
            SessionState::Reconnecting => "reconnecting",
            SessionState::Stopped => "stopped",
            SessionState::Failed => "failed",
            SessionState::Ended => "ended",
        }
    }
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the ring's tracks, from its `stats`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    /// The ring's pad: `video`, `audio_0`, ...
    pub pad: String,
    /// `h264`, `h265`, `aac`, `opus` (the ring's names), `none` before caps.
    pub codec: String,
    pub bytes: u64,
    pub packets: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionStatus {
    pub state: SessionState,
    /// What the ring holds now: from its first keyframe to the end of its newest frame.
    pub buffered_seconds: f64,
    /// Encoded bytes held, all tracks.
    pub buffered_bytes: u64,
    /// Video frames held.
    pub frames: u64,
    /// Video keyframes held.
    pub keyframes: u64,
    pub tracks: Vec<TrackInfo>,
    /// Each distinct warning once, oldest first: streams left out, the ring's own warnings.
    pub warnings: Vec<String>,
    /// Why the session failed, or why the source dropped while `reconnecting`.
    pub error: Option<String>,
    /// Times the source was rebuilt after it dropped.
    pub reconnects: u64,
}

impl SessionStatus {
    /// A session that holds nothing (yet, or any more).
    pub fn empty(state: SessionState, error: Option<String>) -> Self {
        Self {
            state,
            buffered_seconds: 0.0,
            buffered_bytes: 0,
            frames: 0,
            keyframes: 0,
            tracks: Vec::new(),
            warnings: Vec::new(),
            error,
            reconnects: 0,
        }
    }
}

/// A clip to save. Times are seconds before now ("now" is the end of the newest complete
/// frame when [`super::Ingest::save`] is called).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClipRequest {
    /// Where the clip starts; `None`: the whole ring.
    pub from_seconds: Option<f64>,
    /// Where it ends; 0: now.
    pub to_seconds: f64,
    /// What the clip also takes in after the request.
    pub post_seconds: f64,
    /// Later saves start where this one ended (the ring's clear-on-save for this save).
    pub clear: bool,
    /// The exact final path; its directory exists. The ring never overwrites: a taken name
    /// gets `-2`, `-3`, ... (the saved clip's `location` says which).
    pub location: PathBuf,
}

impl ClipRequest {
    /// The last `seconds` up to now, to `location`.
    pub fn last(seconds: f64, location: impl Into<PathBuf>) -> ClipRequest {
        ClipRequest {
            from_seconds: Some(seconds),
            to_seconds: 0.0,
            post_seconds: 0.0,
            clear: false,
            location: location.into(),
        }
    }
}

/// What a save's channel receives: `Writing` (when the ring announces it), then exactly one
/// `Saved` or `Failed`.
#[derive(Clone, Debug, PartialEq)]
pub enum ClipEvent {
    /// The file is being written (the ring's `replay-writing` message, when it posts one).
    Writing,
    Saved(SavedClip),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedClip {
    /// The file written (the requested location, or it with a `-2`, ... suffix).
    pub location: PathBuf,
    /// What the clip presents.
    pub duration: Duration,
    /// Video frames presented.
    pub frames: u64,
    /// File size.
    pub bytes: u64,
    /// The file's SHA-256 in hex, when the ring reports it.
    pub sha256: Option<String>,
}
