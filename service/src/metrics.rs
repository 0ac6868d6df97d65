//! `/metrics`: seed 002's metric names in the Prometheus text format (OpenMetrics), with
//! `prometheus-client`.
//!
//! - `replay_buffer_active_sessions`: sessions holding a ring.
//! - `replay_buffer_capture_duration_seconds`: histogram, save request to ready.
//! - `replay_buffer_storage_bytes{type="temp"}`: bytes the rings hold in RAM;
//!   `{type="permanent"}`: bytes of the stored clips.
//! - `replay_buffer_capture_errors_total{error_type}`: failed saves, by cause.
//! - `replay_buffer_capture_attempts_total`: saves accepted (new jobs).
//! - `replay_buffer_captures_total`: saves that became ready.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Request-to-ready times worth telling apart: a short save is ready in tens of ms, one with
/// a post-roll after its post-roll.
const CAPTURE_BUCKETS: [f64; 12] = [
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

pub struct Metrics {
    registry: Registry,
    pub active_sessions: Gauge,
    pub capture_duration: Histogram,
    storage_bytes: Family<Labels, Gauge>,
    capture_errors: Family<Labels, Counter>,
    pub capture_attempts: Counter,
    pub captures: Counter,
}

/// Why a save failed, as the `error_type` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    /// The ring had nothing to save in the range.
    Range,
    /// Writing the file failed (disk full, permissions).
    Storage,
    /// The session stopped or failed before the save finished.
    Session,
    /// The service stopped while the save ran.
    Interrupted,
}

impl ErrorType {
    pub fn label(self) -> &'static str {
        match self {
            ErrorType::Range => "range",
            ErrorType::Storage => "storage",
            ErrorType::Session => "session",
            ErrorType::Interrupted => "interrupted",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let active_sessions = Gauge::default();
        registry.register(
            "replay_buffer_active_sessions",
            "Sessions holding a replay ring",
            active_sessions.clone(),
        );
        let capture_duration = Histogram::new(CAPTURE_BUCKETS);
        registry.register(
            "replay_buffer_capture_duration_seconds",
            "Time from a save request to its clip being ready",
            capture_duration.clone(),
        );
        let storage_bytes = Family::<Labels, Gauge>::default();
        registry.register(
            "replay_buffer_storage_bytes",
            "Bytes held: type=temp in the rings' RAM, type=permanent in stored clips",
            storage_bytes.clone(),
        );
        let capture_errors = Family::<Labels, Counter>::default();
        registry.register(
            "replay_buffer_capture_errors",
            "Saves that failed, by error_type",
            capture_errors.clone(),
        );
        let capture_attempts = Counter::default();
        registry.register(
            "replay_buffer_capture_attempts",
            "Saves accepted",
            capture_attempts.clone(),
        );
        let captures = Counter::default();
        registry.register(
            "replay_buffer_captures",
            "Saves whose clip became ready",
            captures.clone(),
        );
        Metrics {
            registry,
            active_sessions,
            capture_duration,
            storage_bytes,
            capture_errors,
            capture_attempts,
            captures,
        }
    }
}

impl Metrics {
    pub fn set_storage_bytes(&self, kind: &str, bytes: u64) {
        self.storage_bytes
            .get_or_create(&vec![("type".to_owned(), kind.to_owned())])
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub fn capture_failed(&self, error: ErrorType) {
        self.capture_errors
            .get_or_create(&vec![("error_type".to_owned(), error.label().to_owned())])
            .inc();
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// The Content-Type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_names_are_exposed() {
        let metrics = Metrics::default();
        metrics.active_sessions.set(3);
        metrics.capture_attempts.inc();
        metrics.captures.inc();
        metrics.capture_failed(ErrorType::Storage);
        metrics.capture_duration.observe(0.2);
        metrics.set_storage_bytes("temp", 1000);
        metrics.set_storage_bytes("permanent", 5000);
        let text = metrics.render();
        for line in [
            "replay_buffer_active_sessions 3",
            "replay_buffer_capture_attempts_total 1",
            "replay_buffer_captures_total 1",
            "replay_buffer_capture_errors_total{error_type=\"storage\"} 1",
            "replay_buffer_storage_bytes{type=\"temp\"} 1000",
            "replay_buffer_storage_bytes{type=\"permanent\"} 5000",
            "replay_buffer_capture_duration_seconds_count 1",
            "replay_buffer_capture_duration_seconds_bucket{le=\"0.25\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }
}
