//! What a save asks for, from the `save`, `save-range` and `save-clip` signals, and the
//! window of stream time it covers.

use std::ops::Range;

use crate::time::Nanos;

/// One save request, with the element's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveRequest {
    /// How long before "now" the clip starts; 0 means `max-duration`.
    pub start_ago: Nanos,
    /// How long before "now" the clip ends (0: now).
    pub end_ago: Nanos,
    /// What comes after "now" that the clip also includes.
    pub post_roll: Nanos,
    /// Later saves start after this clip's end, and the ring lets go of what it saved.
    pub clear: bool,
    /// None: the `location` template.
    pub location: Option<String>,
    /// Whether "now" is the newest complete video frame, the save then waiting for audio
    /// that trails it; false: "now" is the newest instant every track has reached, so the
    /// save never waits for audio.
    pub wait_for_audio: bool,
}

/// The element's settings a request defaults to.
#[derive(Clone, Copy, Debug)]
pub struct RequestDefaults {
    pub post_roll: Nanos,
    pub clear: bool,
}

/// The name of the structure `save-clip` takes.
pub const REQUEST_STRUCTURE: &str = "replay-request";

impl SaveRequest {
    pub fn last(duration: Nanos, location: Option<String>, defaults: RequestDefaults) -> Self {
        Self::range(duration, Nanos::ZERO, location, defaults)
    }

    pub fn range(
        start_ago: Nanos,
        end_ago: Nanos,
        location: Option<String>,
        defaults: RequestDefaults,
    ) -> Self {
        SaveRequest {
            start_ago,
            end_ago,
            post_roll: defaults.post_roll,
            clear: defaults.clear,
            location: location.filter(|location| !location.is_empty()),
            wait_for_audio: true,
        }
    }

    /// A `replay-request` structure: every field optional (see the `save-clip` signal).
    pub fn from_structure(
        structure: &gst::StructureRef,
        defaults: RequestDefaults,
    ) -> Result<Self, String> {
        if structure.name() != REQUEST_STRUCTURE {
            return Err(format!(
                "save-clip takes a {REQUEST_STRUCTURE} structure, not {}",
                structure.name()
            ));
        }
        for field in structure.fields() {
            if ![
                "start-ago",
                "end-ago",
                "post-roll",
                "clear",
                "location",
                "wait-for-audio",
            ]
            .contains(&field.as_str())
            {
                return Err(format!(
                    "{REQUEST_STRUCTURE} has no field {field} (start-ago, end-ago, post-roll, clear, \
                     location, wait-for-audio)"
                ));
            }
        }
        let nanos = |field: &str, default: Nanos| -> Result<Nanos, String> {
            match structure.value(field) {
                Err(_) => Ok(default),
                Ok(value) => value
                    .get::<u64>()
                    .map(Nanos::from_unsigned_nanos)
                    .map_err(|_| format!("{field} must be a guint64 of nanoseconds")),
            }
        };
        let clear = match structure.value("clear") {
            Err(_) => defaults.clear,
            Ok(value) => value
                .get::<bool>()
                .map_err(|_| "clear must be a gboolean".to_owned())?,
        };
        let wait_for_audio = match structure.value("wait-for-audio") {
            Err(_) => true,
            Ok(value) => value
                .get::<bool>()
                .map_err(|_| "wait-for-audio must be a gboolean".to_owned())?,
        };
        let location = match structure.value("location") {
            Err(_) => None,
            Ok(value) => value
                .get::<Option<String>>()
                .map_err(|_| "location must be a string".to_owned())?,
        };
        Ok(SaveRequest {
            start_ago: nanos("start-ago", Nanos::ZERO)?,
            end_ago: nanos("end-ago", Nanos::ZERO)?,
            post_roll: nanos("post-roll", defaults.post_roll)?,
            clear,
            location: location.filter(|location| !location.is_empty()),
            wait_for_audio,
        })
    }

    /// The stream time the clip presents, given "now" (the end of the newest complete
    /// frame), `max-duration` and where the last clear-on-save left off.
    pub fn window(
        &self,
        now: Nanos,
        max_duration: Nanos,
        cleared_until: Option<Nanos>,
    ) -> Result<Range<Nanos>, String> {
        let start_ago = if self.start_ago == Nanos::ZERO {
            max_duration
        } else {
            self.start_ago
        };
        if start_ago <= self.end_ago {
            return Err(format!(
                "the range starts {start_ago} ago and ends {} ago: start-ago must be more than \
                 end-ago",
                self.end_ago
            ));
        }
        let start = now
            .saturating_sub(start_ago)
            .max(cleared_until.unwrap_or(Nanos::MIN));
        let end = now
            .saturating_sub(self.end_ago)
            .saturating_add(self.post_roll);
        Ok(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(seconds: i64) -> Nanos {
        Nanos::from_secs(seconds)
    }

    const DEFAULTS: RequestDefaults = RequestDefaults {
        post_roll: Nanos::ZERO,
        clear: false,
    };

    #[test]
    fn a_range_counts_back_from_now_and_post_roll_forward() {
        let request = SaveRequest {
            post_roll: secs(10),
            ..SaveRequest::range(secs(30), secs(10), None, DEFAULTS)
        };
        let now = secs(100);
        assert_eq!(
            request.window(now, secs(120), None).unwrap(),
            secs(70)..secs(100)
        );
    }

    #[test]
    fn zero_means_max_duration_and_clearing_moves_the_start() {
        let request = SaveRequest::last(Nanos::ZERO, Some(String::new()), DEFAULTS);
        assert_eq!(request.location, None);
        let now = secs(100);
        assert_eq!(request.window(now, secs(60), None).unwrap(), secs(40)..now);
        assert_eq!(
            request.window(now, secs(60), Some(secs(90))).unwrap(),
            secs(90)..now
        );
    }

    #[test]
    fn an_inverted_range_is_explained() {
        let request = SaveRequest::range(secs(10), secs(30), None, DEFAULTS);
        let error = request.window(Nanos::ZERO, secs(60), None).unwrap_err();
        assert!(
            error.contains("start-ago must be more than end-ago"),
            "{error}"
        );
        assert!(
            error.starts_with("the range starts 10.000 s ago and ends 30.000 s ago"),
            "{error}"
        );
    }

    #[test]
    fn structures_fill_in_the_defaults_and_refuse_unknown_fields() {
        gst::init().unwrap();
        let defaults = RequestDefaults {
            post_roll: secs(5),
            clear: true,
        };
        let structure = gst::Structure::builder(REQUEST_STRUCTURE)
            .field("start-ago", 30_000_000_000u64)
            .field("location", "/tmp/clip.mp4")
            .build();
        let request = SaveRequest::from_structure(&structure, defaults).unwrap();
        assert_eq!(
            request,
            SaveRequest {
                start_ago: secs(30),
                end_ago: Nanos::ZERO,
                post_roll: secs(5),
                clear: true,
                location: Some("/tmp/clip.mp4".into()),
                wait_for_audio: true,
            }
        );
        let eager = gst::Structure::builder(REQUEST_STRUCTURE)
            .field("wait-for-audio", false)
            .build();
        assert!(
            !SaveRequest::from_structure(&eager, defaults)
                .unwrap()
                .wait_for_audio
        );
        let not_a_boolean = gst::Structure::builder(REQUEST_STRUCTURE)
            .field("wait-for-audio", "no")
            .build();
        assert!(SaveRequest::from_structure(&not_a_boolean, defaults)
            .unwrap_err()
            .contains("wait-for-audio must be a gboolean"));
        let typo = gst::Structure::builder(REQUEST_STRUCTURE)
            .field("postroll", 1u64)
            .build();
        assert!(SaveRequest::from_structure(&typo, defaults)
            .unwrap_err()
            .contains("no field postroll"));
        let wrong_type = gst::Structure::builder(REQUEST_STRUCTURE)
            .field("start-ago", 30i32)
            .build();
        assert!(SaveRequest::from_structure(&wrong_type, defaults)
            .unwrap_err()
            .contains("guint64"));
    }
}
