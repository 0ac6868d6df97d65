//! Telling the rest of a platform: `ReplayCreated` once a clip is durable, through the
//! outbox in the job database, to `DATA_DIR/events.jsonl` and every `--webhook`.
//!
//! A ready job and its event are written in one transaction (`jobs::store`), so no event is
//! lost between the two; the [`dispatcher`] then appends it to the file and posts it to each
//! webhook, marking each done only after it succeeded. Delivery is at least once: every
//! event carries its `replayId`, so receivers drop repeats.

pub mod dispatcher;
pub mod jsonl;
pub mod webhook;

use serde::Serialize;

use crate::ids::Id;

/// The event of a clip that is stored and durable (seed 000's fields, and what a receiver
/// needs to check the file).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayCreated {
    pub replay_id: Id,
    pub storage_url: String,
    pub session_id: Id,
    pub user_id: Option<Id>,
    pub game_id: Option<Id>,
    /// RFC 3339: when the clip became ready.
    pub timestamp: String,
    pub sha256: String,
    pub duration_seconds: f64,
    pub bytes: u64,
}

impl ReplayCreated {
    /// The event as written and posted: `{"type":"ReplayCreated", ...}`.
    pub fn body(&self) -> String {
        #[derive(Serialize)]
        struct Typed<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            #[serde(flatten)]
            event: &'a ReplayCreated,
        }
        serde_json::to_string(&Typed {
            kind: "ReplayCreated",
            event: self,
        })
        .expect("an event serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_its_type_and_has_every_field() {
        let id = |text| Id::parse("id", text).unwrap();
        let event = ReplayCreated {
            replay_id: id("r1"),
            storage_url: "http://127.0.0.1:8480/replays/g/u/r1.mp4".into(),
            session_id: id("s1"),
            user_id: Some(id("u")),
            game_id: None,
            timestamp: "2026-12-04T18:00:00.000Z".into(),
            sha256: "ab".repeat(32),
            duration_seconds: 30.0,
            bytes: 1234,
        };
        let body: serde_json::Value = serde_json::from_str(&event.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "ReplayCreated", "replayId": "r1",
                "storageUrl": "http://127.0.0.1:8480/replays/g/u/r1.mp4",
                "sessionId": "s1", "userId": "u", "gameId": null,
                "timestamp": "2026-12-04T18:00:00.000Z", "sha256": "ab".repeat(32),
                "durationSeconds": 30.0, "bytes": 1234,
            })
        );
        assert!(event.body().starts_with("{\"type\":\"ReplayCreated\""));
    }
}
