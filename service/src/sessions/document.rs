//! What `start-buffer` asks for, and the session document the API shows.

use serde::{Deserialize, Serialize};

use super::ingest::{SessionState, SessionStatus, TrackInfo};
use crate::ids::Id;

pub const DEFAULT_MAX_DURATION_SECONDS: f64 = 120.0;
/// replayring's own default `max-bytes`.
pub const DEFAULT_MAX_BYTES: u64 = 500 * 1024 * 1024;

/// The body of `POST .../start-buffer`, as sent.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartBody {
    pub source: String,
    pub user_id: Option<String>,
    pub game_id: Option<String>,
    pub max_duration_seconds: Option<f64>,
    pub max_bytes: Option<u64>,
}

/// A session's settings, checked and with defaults: two requests ask for the same session
/// when these are equal.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    pub source: String,
    pub user_id: Option<Id>,
    pub game_id: Option<Id>,
    pub max_duration_seconds: f64,
    pub max_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Id(#[from] crate::ids::IdError),
    #[error("source is empty: give the URI of the stream (srt://, udp://, rtsp://, http(s)://, file://)")]
    NoSource,
    #[error("source \"{0}\" is not a URI: it needs a scheme such as srt://, udp://, rtsp://, http(s):// or file://")]
    NotAUri(String),
    #[error("maxDurationSeconds is {0}: give a number of seconds above 0")]
    Duration(f64),
    #[error("maxBytes is 0: give the most bytes the ring may hold, above 0")]
    Bytes,
}

impl SessionConfig {
    pub fn from_body(body: StartBody) -> Result<SessionConfig, ConfigError> {
        let source = body.source.trim().to_owned();
        if source.is_empty() {
            return Err(ConfigError::NoSource);
        }
        if !source.contains("://") {
            return Err(ConfigError::NotAUri(source));
        }
        let max_duration_seconds = body
            .max_duration_seconds
            .unwrap_or(DEFAULT_MAX_DURATION_SECONDS);
        if !(max_duration_seconds.is_finite() && max_duration_seconds > 0.0) {
            return Err(ConfigError::Duration(max_duration_seconds));
        }
        let max_bytes = body.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if max_bytes == 0 {
            return Err(ConfigError::Bytes);
        }
        Ok(SessionConfig {
            source,
            user_id: body
                .user_id
                .map(|id| Id::parse("userId", &id))
                .transpose()?,
            game_id: body
                .game_id
                .map(|id| Id::parse("gameId", &id))
                .transpose()?,
            max_duration_seconds,
            max_bytes,
        })
    }
}

/// `GET /api/replay/v1/session/{sessionId}`.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionDocument {
    pub session_id: Id,
    pub user_id: Option<Id>,
    pub game_id: Option<Id>,
    pub source: String,
    pub state: SessionState,
    pub buffered_seconds: f64,
    pub buffered_bytes: u64,
    pub frames: u64,
    pub keyframes: u64,
    pub tracks: Vec<TrackInfo>,
    pub error: Option<String>,
    /// Streams left out (audio the ring does not keep), and the ring's own warnings.
    pub warnings: Vec<String>,
    pub reconnects: u64,
    pub max_duration_seconds: f64,
    pub max_bytes: u64,
    pub started_at: String,
}

impl SessionDocument {
    pub fn new(id: &Id, config: &SessionConfig, started_at: &str, status: SessionStatus) -> Self {
        SessionDocument {
            session_id: id.clone(),
            user_id: config.user_id.clone(),
            game_id: config.game_id.clone(),
            source: config.source.clone(),
            state: status.state,
            buffered_seconds: status.buffered_seconds,
            buffered_bytes: status.buffered_bytes,
            frames: status.frames,
            keyframes: status.keyframes,
            tracks: status.tracks,
            error: status.error,
            warnings: status.warnings,
            reconnects: status.reconnects,
            max_duration_seconds: config.max_duration_seconds,
            max_bytes: config.max_bytes,
            started_at: started_at.to_owned(),
        }
    }

    /// A session whose pipeline is still being built.
    pub fn starting(id: &Id, config: &SessionConfig, started_at: &str) -> Self {
        SessionDocument::new(
            id,
            config,
            started_at,
            SessionStatus::empty(SessionState::Starting, None),
        )
    }

    /// A session that could not start at all.
    pub fn failed(id: &Id, config: &SessionConfig, started_at: &str, error: String) -> Self {
        SessionDocument::new(
            id,
            config,
            started_at,
            SessionStatus::empty(SessionState::Failed, Some(error)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<StartBody, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn defaults_fill_in_what_is_left_out() {
        let config =
            SessionConfig::from_body(body(r#"{"source":"srt://:9000?mode=listener"}"#).unwrap())
                .unwrap();
        assert_eq!(config.max_duration_seconds, 120.0);
        assert_eq!(config.max_bytes, 500 << 20);
        assert_eq!((config.user_id, config.game_id), (None, None));
    }

    #[test]
    fn bad_bodies_are_refused_with_reasons() {
        let unknown = body(r#"{"source":"srt://x","maxBytez":5}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `maxBytez`"),
            "{unknown}"
        );
        let config = |json: &str| SessionConfig::from_body(body(json).unwrap()).unwrap_err();
        assert_eq!(config(r#"{"source":" "}"#), ConfigError::NoSource);
        assert!(matches!(
            config(r#"{"source":"camera-1"}"#),
            ConfigError::NotAUri(_)
        ));
        assert_eq!(
            config(r#"{"source":"udp://:5000","maxDurationSeconds":0}"#),
            ConfigError::Duration(0.0)
        );
        assert_eq!(
            config(r#"{"source":"udp://:5000","maxBytes":0}"#),
            ConfigError::Bytes
        );
        assert!(matches!(
            config(r#"{"source":"udp://:5000","userId":"../x"}"#),
            ConfigError::Id(_)
        ));
    }
}
