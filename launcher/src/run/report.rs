//! How a finished save is reported: one JSON line on stdout, a readable line on stderr.

use serde_json::json;

/// What asked for a save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Hotkey,
    Signal,
    Key,
    Socket,
    Exit,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Hotkey => "hotkey",
            Trigger::Signal => "signal",
            Trigger::Key => "key",
            Trigger::Socket => "socket",
            Trigger::Exit => "exit",
        }
    }
}

/// The `replay-saved` / `replay-failed` message of the ring as a launcher event.
pub fn event_from_message(
    structure: &gst::StructureRef,
    trigger: Trigger,
) -> Option<serde_json::Value> {
    let text = |field| structure.get::<String>(field).unwrap_or_default();
    let number = |field| structure.get::<u64>(field).unwrap_or_default();
    match structure.name().as_str() {
        "replay-saved" => Some(json!({
            "event": "saved",
            "id": text("id"),
            "path": text("location"),
            "duration": number("duration") as f64 / 1e9,
            "frames": number("frames"),
            "bytes": number("bytes"),
            "latency_ms": number("latency") as f64 / 1e6,
            "trigger": trigger.name(),
        })),
        "replay-failed" => Some(json!({
            "event": "failed",
            "id": text("id"),
            "path": text("location"),
            "error": text("error"),
            "trigger": trigger.name(),
        })),
        _ => None,
    }
}

/// One sentence for a person.
pub fn human_line(event: &serde_json::Value) -> String {
    match event["event"].as_str() {
        Some("saved") => format!(
            "Saved {:.1} s ({:.1} MB) to {} in {:.0} ms",
            event["duration"].as_f64().unwrap_or_default(),
            event["bytes"].as_f64().unwrap_or_default() / 1e6,
            event["path"].as_str().unwrap_or_default(),
            event["latency_ms"].as_f64().unwrap_or_default()
        ),
        _ => format!(
            "Could not save {}: {}",
            event["path"].as_str().unwrap_or_default(),
            event["error"].as_str().unwrap_or_default()
        ),
    }
}
