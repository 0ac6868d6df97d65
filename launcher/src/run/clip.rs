//! What one save asks of the ring, and how it is asked: the `save-clip` signal with a
//! `replay-request` structure, so post-roll and clearing are chosen per save.

use gst::prelude::*;

/// Post-roll of the `p` key when the run has none of its own.
pub const KEY_POST_ROLL_SECONDS: f64 = 10.0;

/// A save as its trigger asks for it; what it leaves out, the run's defaults fill in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClipRequest {
    /// Seconds before the request.
    pub last: Option<f64>,
    /// Seconds after the request.
    pub post: Option<f64>,
    pub clear: Option<bool>,
    /// The file, instead of the ring's name template.
    pub path: Option<String>,
}

impl ClipRequest {
    pub fn last(seconds: Option<f64>) -> ClipRequest {
        ClipRequest {
            last: seconds,
            ..ClipRequest::default()
        }
    }
}

/// `run`'s `--duration`, `--post-roll` and `--clear-on-save`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipDefaults {
    pub last: f64,
    pub post: f64,
    pub clear: bool,
}

/// A save with every choice made, in the ring's units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clip {
    pub start_ago_ns: u64,
    pub post_roll_ns: u64,
    pub clear: bool,
    pub location: Option<String>,
}

fn nanoseconds(seconds: f64) -> u64 {
    (seconds * 1e9).round() as u64
}

impl ClipRequest {
    pub fn resolve(&self, defaults: &ClipDefaults) -> Clip {
        Clip {
            start_ago_ns: nanoseconds(self.last.unwrap_or(defaults.last)),
            post_roll_ns: nanoseconds(self.post.unwrap_or(defaults.post)),
            clear: self.clear.unwrap_or(defaults.clear),
            location: self.path.clone(),
        }
    }
}

impl Clip {
    /// The argument of `save-clip`. Every field is set, so the ring's `post-roll` and
    /// `clear-on-save` properties never decide for the launcher.
    pub fn to_structure(&self) -> gst::Structure {
        let mut request = gst::Structure::builder("replay-request")
            .field("start-ago", self.start_ago_ns)
            .field("post-roll", self.post_roll_ns)
            .field("clear", self.clear)
            .build();
        if let Some(location) = &self.location {
            request.set("location", location);
        }
        request
    }

    pub fn post_roll_seconds(&self) -> f64 {
        self.post_roll_ns as f64 / 1e9
    }
}

/// Asks the ring for the clip and returns the save's id. The outcome comes later, as a
/// `replay-saved` or `replay-failed` message with that id.
pub fn request(ring: &gst::Element, clip: &Clip) -> String {
    ring.emit_by_name::<String>("save-clip", &[&clip.to_structure()])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: ClipDefaults = ClipDefaults {
        last: 120.0,
        post: 0.0,
        clear: false,
    };

    #[test]
    fn what_a_trigger_leaves_out_the_run_fills_in() {
        assert_eq!(
            ClipRequest::last(None).resolve(&DEFAULTS),
            Clip {
                start_ago_ns: 120_000_000_000,
                post_roll_ns: 0,
                clear: false,
                location: None,
            }
        );
        let defaults = ClipDefaults {
            post: 5.0,
            clear: true,
            ..DEFAULTS
        };
        let explicit = ClipRequest {
            last: Some(30.0),
            post: Some(0.0),
            clear: Some(false),
            path: Some("/tmp/clip.mp4".into()),
        };
        assert_eq!(
            explicit.resolve(&defaults),
            Clip {
                start_ago_ns: 30_000_000_000,
                post_roll_ns: 0,
                clear: false,
                location: Some("/tmp/clip.mp4".into()),
            }
        );
        let by_default = ClipRequest::last(Some(10.0)).resolve(&defaults);
        assert_eq!(
            (by_default.post_roll_ns, by_default.clear),
            (5_000_000_000, true)
        );
    }

    #[test]
    fn the_request_structure_names_every_choice() {
        gst::init().unwrap();
        let clip = Clip {
            start_ago_ns: 30_000_000_000,
            post_roll_ns: 10_000_000_000,
            clear: true,
            location: Some("/tmp/clip.mp4".into()),
        };
        let request = clip.to_structure();
        assert_eq!(request.name(), "replay-request");
        assert_eq!(request.get::<u64>("start-ago"), Ok(30_000_000_000));
        assert_eq!(request.get::<u64>("post-roll"), Ok(10_000_000_000));
        assert_eq!(request.get::<bool>("clear"), Ok(true));
        assert_eq!(
            request.get::<String>("location").as_deref(),
            Ok("/tmp/clip.mp4")
        );
        assert!(!request.has_field("end-ago"), "end-ago defaults to now");

        let to_template = Clip {
            location: None,
            ..clip
        };
        assert!(!to_template.to_structure().has_field("location"));
    }
}
