//! A session's status: what the controller knows (state, warnings, error, reconnects) beside
//! what the ring's `stats` property says it holds.

use gst::prelude::*;

use super::types::{SessionState, SessionStatus, TrackInfo};

/// Distinct warnings kept; later ones are counted in the last entry only.
const MAX_WARNINGS: usize = 32;

/// The part of the status the controller owns.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusFields {
    pub state: SessionState,
    pub warnings: Vec<String>,
    pub error: Option<String>,
    pub reconnects: u64,
    /// Warnings not kept because the list was full.
    pub warnings_dropped: u64,
}

impl Default for StatusFields {
    fn default() -> Self {
        StatusFields {
            state: SessionState::Starting,
            warnings: Vec::new(),
            error: None,
            reconnects: 0,
            warnings_dropped: 0,
        }
    }
}

impl StatusFields {
    /// Adds a warning unless it is already there; true when the list changed.
    pub fn add_warning(&mut self, warning: String) -> bool {
        if self.warnings.contains(&warning) {
            return false;
        }
        if self.warnings.len() >= MAX_WARNINGS {
            self.warnings_dropped += 1;
            return false;
        }
        self.warnings.push(warning);
        true
    }
}

/// The status from the controller's fields and the ring's `stats` (`replayring-stats`).
pub fn compose(fields: &StatusFields, stats: &gst::StructureRef) -> SessionStatus {
    let number = |field: &str| stats.get::<u64>(field).unwrap_or(0);
    let tracks = stats
        .get::<gst::Array>("tracks")
        .map(|tracks| {
            tracks
                .iter()
                .filter_map(|value| value.get::<gst::Structure>().ok())
                .map(|track| TrackInfo {
                    pad: track.get::<String>("pad").unwrap_or_default(),
                    codec: track
                        .get::<String>("codec")
                        .unwrap_or_else(|_| "none".to_owned()),
                    bytes: track.get::<u64>("bytes").unwrap_or(0),
                    packets: track.get::<u64>("packets").unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut warnings = fields.warnings.clone();
    if fields.warnings_dropped > 0 {
        warnings.push(format!(
            "{} more warnings were not kept",
            fields.warnings_dropped
        ));
    }
    SessionStatus {
        state: fields.state,
        buffered_seconds: number("duration") as f64 / 1e9,
        buffered_bytes: number("bytes"),
        frames: number("frames"),
        keyframes: number("keyframes"),
        tracks,
        warnings,
        error: fields.error.clone(),
        reconnects: fields.reconnects,
    }
}

/// Reads the ring's `stats` property (its lock only, briefly).
pub fn ring_stats(ring: &gst::Element) -> gst::Structure {
    ring.property::<gst::Structure>("stats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ring_stats() {
        gst::init().unwrap();
        let track = gst::Structure::builder("track")
            .field("pad", "video")
            .field("codec", "h264")
            .field("bytes", 3000u64)
            .field("packets", 375u64)
            .build();
        let stats = gst::Structure::builder("replayring-stats")
            .field("duration", 12_500_000_000u64)
            .field("bytes", 4000u64)
            .field("frames", 375u64)
            .field("keyframes", 13u64)
            .field("tracks", gst::Array::new([track]))
            .build();
        let fields = StatusFields {
            state: SessionState::Buffering,
            ..StatusFields::default()
        };
        let status = compose(&fields, &stats);
        assert_eq!(status.state, SessionState::Buffering);
        assert_eq!(status.buffered_seconds, 12.5);
        assert_eq!(
            (status.buffered_bytes, status.frames, status.keyframes),
            (4000, 375, 13)
        );
        assert_eq!(
            status.tracks,
            vec![TrackInfo {
                pad: "video".into(),
                codec: "h264".into(),
                bytes: 3000,
                packets: 375
            }]
        );
    }

    #[test]
    fn keeps_each_warning_once_and_a_bounded_list() {
        let mut fields = StatusFields::default();
        assert!(fields.add_warning("a".into()));
        assert!(!fields.add_warning("a".into()));
        for n in 0..100 {
            fields.add_warning(format!("w{n}"));
        }
        assert_eq!(fields.warnings.len(), MAX_WARNINGS);
        gst::init().unwrap();
        let stats = gst::Structure::new_empty("replayring-stats");
        let status = compose(&fields, &stats);
        assert_eq!(status.warnings.len(), MAX_WARNINGS + 1);
        assert_eq!(
            status.warnings.last().unwrap(),
            "69 more warnings were not kept"
        );
    }
}
