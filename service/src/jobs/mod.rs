//! Save jobs: what a save asks for, the job's record and states, the idempotency rules, and
//! the embedded database that keeps them across restarts.

pub mod idempotency;
pub mod runner;
pub mod status;
pub mod store;

use serde::Serialize;

use crate::ids::Id;
pub use status::JobStatus;

/// A save as the service understood it: defaults filled in, checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveSpec {
    pub session_id: Id,
    /// Seconds before now the clip starts; None: the whole ring.
    pub from_seconds: Option<f64>,
    /// Seconds before now the clip ends.
    pub to_seconds: f64,
    /// Seconds after the request the clip also takes in.
    pub post_seconds: f64,
    /// Later saves start after this clip, and the ring lets go of what it saved.
    pub clear: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("{field} is {value}: it must be a number of seconds of 0 or more")]
    Negative { field: &'static str, value: String },
    #[error("fromSeconds ({from}) must be more than toSeconds ({to}): the clip runs from fromSeconds ago to toSeconds ago")]
    EmptyRange { from: f64, to: f64 },
}

impl SaveSpec {
    pub fn new(
        session_id: Id,
        from_seconds: Option<f64>,
        to_seconds: Option<f64>,
        post_seconds: Option<f64>,
        clear: Option<bool>,
    ) -> Result<SaveSpec, SpecError> {
        let seconds = |field: &'static str, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(value)
            } else {
                Err(SpecError::Negative {
                    field,
                    value: value.to_string(),
                })
            }
        };
        let to_seconds = seconds("toSeconds", to_seconds.unwrap_or(0.0))?;
        let post_seconds = seconds("postSeconds", post_seconds.unwrap_or(0.0))?;
        let from_seconds = from_seconds
            .map(|from| seconds("fromSeconds", from))
            .transpose()?;
        if let Some(from) = from_seconds {
            if from <= to_seconds {
                return Err(SpecError::EmptyRange {
                    from,
                    to: to_seconds,
                });
            }
        }
        Ok(SaveSpec {
            session_id,
            from_seconds,
            to_seconds,
            post_seconds,
            clear: clear.unwrap_or(false),
        })
    }

    /// The form idempotency compares.
    pub fn canonical(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a save spec serializes")
    }
}

/// One save job, as the database keeps it and `GET .../status` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub replay_id: Id,
    pub session_id: Id,
    pub user_id: Option<Id>,
    pub game_id: Option<Id>,
    pub status: JobStatus,
    pub progress: u8,
    /// Where the clip is (or will be) stored: its key in the storage.
    pub location: String,
    pub storage_url: Option<String>,
    pub duration_seconds: Option<f64>,
    pub frames: Option<u64>,
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
    pub ready_at: Option<u64>,
    pub spec: SaveSpec,
}

/// What a finished save left.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipResult {
    pub storage_url: String,
    pub duration_seconds: f64,
    pub frames: u64,
    pub bytes: u64,
    pub sha256: String,
}

pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// RFC 3339 in UTC with milliseconds, as the API shows times.
pub fn rfc3339(millis: u64) -> String {
    humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis),
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Id {
        Id::parse("sessionId", "s").unwrap()
    }

    #[test]
    fn defaults_are_the_whole_ring_until_now() {
        let spec = SaveSpec::new(session(), None, None, None, None).unwrap();
        assert_eq!(
            spec.canonical(),
            serde_json::json!({"sessionId": "s", "fromSeconds": null, "toSeconds": 0.0,
                               "postSeconds": 0.0, "clear": false})
        );
        // Written differently, the same request.
        let explicit = SaveSpec::new(session(), None, Some(0.0), Some(0.0), Some(false)).unwrap();
        assert_eq!(explicit.canonical(), spec.canonical());
    }

    #[test]
    fn ranges_must_run_forward_in_non_negative_seconds() {
        assert!(SaveSpec::new(session(), Some(30.0), Some(10.0), Some(5.0), Some(true)).is_ok());
        assert!(matches!(
            SaveSpec::new(session(), Some(10.0), Some(10.0), None, None),
            Err(SpecError::EmptyRange { .. })
        ));
        assert!(matches!(
            SaveSpec::new(session(), Some(-1.0), None, None, None),
            Err(SpecError::Negative {
                field: "fromSeconds",
                ..
            })
        ));
        assert!(matches!(
            SaveSpec::new(session(), None, None, Some(f64::NAN), None),
            Err(SpecError::Negative {
                field: "postSeconds",
                ..
            })
        ));
    }

    #[test]
    fn times_are_rfc_3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(1_764_873_600_123), "2025-12-04T18:40:00.123Z");
    }
}
