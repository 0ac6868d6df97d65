//! Clips: a [`ClipRequest`] as the ring's `replay-request`, the ring's save messages as
//! [`ClipEvent`]s, and the channel each save's events go to.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use super::types::{ClipEvent, ClipRequest, SavedClip};

/// Seconds as the ring's nanoseconds; the error names the field.
fn nanoseconds(field: &str, seconds: f64) -> Result<u64, String> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!(
            "{field} must be a number of seconds, 0 or more, not {seconds}"
        ));
    }
    Ok((seconds * 1e9).round() as u64)
}

/// The `replay-request` structure `save-clip` takes for `request`.
pub fn request_structure(request: &ClipRequest) -> Result<gst::Structure, String> {
    let end_ago = nanoseconds("to_seconds", request.to_seconds)?;
    let post_roll = nanoseconds("post_seconds", request.post_seconds)?;
    let location = request
        .location
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", request.location.display()))?;
    if location.is_empty() {
        return Err("location must name the clip's file".to_owned());
    }
    let mut builder = gst::Structure::builder("replay-request")
        .field("end-ago", end_ago)
        .field("post-roll", post_roll)
        .field("clear", request.clear)
        // "Now" is where every track has got to: a network feed's sound often trails its
        // picture by a few hundred milliseconds, and a save need not wait for it.
        .field("wait-for-audio", false)
        .field("location", location);
    if let Some(from) = request.from_seconds {
        let start_ago = nanoseconds("from_seconds", from)?;
        if start_ago <= end_ago {
            return Err(format!(
                "from_seconds ({from}) must be more than to_seconds ({})",
                request.to_seconds
            ));
        }
        builder = builder.field("start-ago", start_ago);
    }
    Ok(builder.build())
}

/// A ring message about a save, as (save id, event); None for other messages.
pub fn event_from_message(structure: &gst::StructureRef) -> Option<(String, ClipEvent)> {
    let id = structure.get::<String>("id").ok()?;
    let event = match structure.name().as_str() {
        "replay-writing" => ClipEvent::Writing,
        "replay-saved" => {
            let number = |field: &str| structure.get::<u64>(field).unwrap_or(0);
            ClipEvent::Saved(SavedClip {
                location: PathBuf::from(structure.get::<String>("location").unwrap_or_default()),
                duration: Duration::from_nanos(number("duration")),
                frames: number("frames"),
                bytes: number("bytes"),
                sha256: structure.get::<String>("sha256").ok(),
            })
        }
        "replay-failed" => ClipEvent::Failed(
            structure
                .get::<String>("error")
                .unwrap_or_else(|_| "the ring gave no reason".to_owned()),
        ),
        _ => return None,
    };
    Some((id, event))
}

fn is_final(event: &ClipEvent) -> bool {
    !matches!(event, ClipEvent::Writing)
}

/// The channel of each save in flight. A save's outcome may be posted while `save-clip` is
/// still being emitted, before its id is known here: it waits until the id is registered.
#[derive(Default)]
pub struct SaveRegistry {
    waiting: HashMap<String, UnboundedSender<ClipEvent>>,
    early: HashMap<String, Vec<ClipEvent>>,
}

impl SaveRegistry {
    pub fn register(&mut self, id: String, sender: UnboundedSender<ClipEvent>) {
        for event in self.early.remove(&id).unwrap_or_default() {
            let done = is_final(&event);
            let _ = sender.send(event);
            if done {
                return;
            }
        }
        self.waiting.insert(id, sender);
    }

    pub fn report(&mut self, id: String, event: ClipEvent) {
        match self.waiting.get(&id) {
            Some(sender) => {
                let done = is_final(&event);
                let _ = sender.send(event);
                if done {
                    self.waiting.remove(&id);
                }
            }
            None => self.early.entry(id).or_default().push(event),
        }
    }

    /// Saves still waiting get `Failed(reason)`: every channel ends with an outcome.
    pub fn close(&mut self, reason: &str) {
        for (_, sender) in self.waiting.drain() {
            let _ = sender.send(ClipEvent::Failed(reason.to_owned()));
        }
        self.early.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    fn request(from: Option<f64>, to: f64) -> ClipRequest {
        ClipRequest {
            from_seconds: from,
            to_seconds: to,
            post_seconds: 2.5,
            clear: true,
            location: "/tmp/clip.mp4".into(),
        }
    }

    #[test]
    fn maps_seconds_to_the_request_fields() {
        gst::init().unwrap();
        let s = request_structure(&request(Some(30.0), 20.0)).unwrap();
        assert_eq!(s.name(), "replay-request");
        assert_eq!(s.get::<u64>("start-ago").unwrap(), 30_000_000_000);
        assert_eq!(s.get::<u64>("end-ago").unwrap(), 20_000_000_000);
        assert_eq!(s.get::<u64>("post-roll").unwrap(), 2_500_000_000);
        assert!(s.get::<bool>("clear").unwrap());
        assert!(!s.get::<bool>("wait-for-audio").unwrap());
        assert_eq!(s.get::<&str>("location").unwrap(), "/tmp/clip.mp4");
        // The whole ring: no start-ago, so the ring takes max-duration.
        let whole = request_structure(&request(None, 0.0)).unwrap();
        assert!(!whole.has_field("start-ago"));
        assert_eq!(whole.get::<u64>("end-ago").unwrap(), 0);
    }

    #[test]
    fn refuses_what_the_ring_could_not_mean() {
        gst::init().unwrap();
        assert!(request_structure(&request(Some(10.0), 10.0))
            .unwrap_err()
            .contains("more than to_seconds"));
        assert!(request_structure(&request(Some(-1.0), 0.0))
            .unwrap_err()
            .contains("from_seconds"));
        assert!(request_structure(&request(None, f64::NAN))
            .unwrap_err()
            .contains("to_seconds"));
    }

    #[test]
    fn reads_saved_and_failed_messages() {
        gst::init().unwrap();
        let saved = gst::Structure::builder("replay-saved")
            .field("id", "ring-1")
            .field("location", "/tmp/a.mp4")
            .field("duration", 10_000_000_000u64)
            .field("frames", 300u64)
            .field("bytes", 1234u64)
            .build();
        assert_eq!(
            event_from_message(&saved),
            Some((
                "ring-1".into(),
                ClipEvent::Saved(SavedClip {
                    location: "/tmp/a.mp4".into(),
                    duration: Duration::from_secs(10),
                    frames: 300,
                    bytes: 1234,
                    sha256: None,
                })
            ))
        );
        let failed = gst::Structure::builder("replay-failed")
            .field("id", "ring-2")
            .field("error", "no keyframe buffered yet")
            .build();
        assert_eq!(
            event_from_message(&failed),
            Some((
                "ring-2".into(),
                ClipEvent::Failed("no keyframe buffered yet".into())
            ))
        );
        let other = gst::Structure::builder("pmt").field("id", "x").build();
        assert_eq!(event_from_message(&other), None);
    }

    #[test]
    fn outcomes_reach_their_channel_in_either_order() {
        let mut registry = SaveRegistry::default();
        let (early_tx, mut early_rx) = unbounded_channel();
        registry.report("a".into(), ClipEvent::Writing);
        registry.report("a".into(), ClipEvent::Failed("x".into()));
        registry.register("a".into(), early_tx);
        assert_eq!(early_rx.try_recv().unwrap(), ClipEvent::Writing);
        assert_eq!(early_rx.try_recv().unwrap(), ClipEvent::Failed("x".into()));

        let (late_tx, mut late_rx) = unbounded_channel();
        registry.register("b".into(), late_tx);
        registry.report("b".into(), ClipEvent::Failed("y".into()));
        assert_eq!(late_rx.try_recv().unwrap(), ClipEvent::Failed("y".into()));
        assert!(registry.waiting.is_empty() && registry.early.is_empty());

        let (open_tx, mut open_rx) = unbounded_channel();
        registry.register("c".into(), open_tx);
        registry.close("stopped");
        assert_eq!(
            open_rx.try_recv().unwrap(),
            ClipEvent::Failed("stopped".into())
        );
    }
}
