//! What a save asks for, from the `save`, `save-range` and `save-clip` signals, and the
//! window of stream time it covers.

use std::ops::Range;

/// One save request, with the element's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaveRequest {
    /// How long before "now" the clip starts, in nanoseconds; 0 means `max-duration`.
    pub start_ago: u64,
    /// How long before "now" the clip ends (0: now).
    pub end_ago: u64,
    /// What comes after "now" that the clip also includes.
    pub post_roll: u64,
    /// Later saves start after this clip's end, and the ring lets go of what it saved.
    pub clear: bool,
    /// None: the `location` template.
    pub location: Option<String>,
}

/// The element's settings a request defaults to.
#[derive(Clone, Copy, Debug)]
pub struct RequestDefaults {
    pub post_roll: u64,
    pub clear: bool,
}

/// The name of the structure `save-clip` takes.
pub const REQUEST_STRUCTURE: &str = "replay-request";

impl SaveRequest {
    pub fn last(duration: u64, location: Option<String>, defaults: RequestDefaults) -> Self {
        Self::range(duration, 0, location, defaults)
    }

    pub fn range(
        start_ago: u64,
        end_ago: u64,
        location: Option<String>,
        defaults: RequestDefaults,
    ) -> Self {
        SaveRequest {
            start_ago,
            end_ago,
            post_roll: defaults.post_roll,
            clear: defaults.clear,
            location: location.filter(|location| !location.is_empty()),
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
            if !["start-ago", "end-ago", "post-roll", "clear", "location"].contains(&field.as_str())
            {
                return Err(format!(
                    "{REQUEST_STRUCTURE} has no field {field} (start-ago, end-ago, post-roll, clear, location)"
                ));
            }
        }
        let nanos = |field: &str, default: u64| -> Result<u64, String> {
            match structure.value(field) {
                Err(_) => Ok(default),
                Ok(value) => value
                    .get::<u64>()
                    .map_err(|_| format!("{field} must be a guint64 of nanoseconds")),
            }
        };
        let clear = match structure.value("clear") {
            Err(_) => defaults.clear,
            Ok(value) => value
                .get::<bool>()
                .map_err(|_| "clear must be a gboolean".to_owned())?,
        };
        let location = match structure.value("location") {
            Err(_) => None,
            Ok(value) => value
                .get::<Option<String>>()
                .map_err(|_| "location must be a string".to_owned())?,
        };
        Ok(SaveRequest {
            start_ago: nanos("start-ago", 0)?,
            end_ago: nanos("end-ago", 0)?,
            post_roll: nanos("post-roll", defaults.post_roll)?,
            clear,
            location: location.filter(|location| !location.is_empty()),
        })
    }

    /// The stream time the clip presents, given "now" (the end of the newest complete
    /// frame), `max-duration` and where the last clear-on-save left off.
    pub fn window(
        &self,
        now: i64,
        max_duration: u64,
        cleared_until: Option<i64>,
    ) -> Result<Range<i64>, String> {
        let start_ago = if self.start_ago == 0 {
            max_duration
        } else {
            self.start_ago
        };
        if start_ago <= self.end_ago {
            return Err(format!(
                "the range starts {} s ago and ends {} s ago: start-ago must be more than end-ago",
                seconds(start_ago),
                seconds(self.end_ago)
            ));
        }
        let nanos = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        let start = now
            .saturating_sub(nanos(start_ago))
            .max(cleared_until.unwrap_or(i64::MIN));
        let end = now
            .saturating_sub(nanos(self.end_ago))
            .saturating_add(nanos(self.post_roll));
        Ok(start..end)
    }
}

fn seconds(nanos: u64) -> String {
    format!("{:.3}", nanos as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;
    const DEFAULTS: RequestDefaults = RequestDefaults {
        post_roll: 0,
        clear: false,
    };

    #[test]
    fn a_range_counts_back_from_now_and_post_roll_forward() {
        let request = SaveRequest {
            post_roll: 10 * SECOND,
            ..SaveRequest::range(30 * SECOND, 10 * SECOND, None, DEFAULTS)
        };
        let now = 100 * SECOND as i64;
        assert_eq!(
            request.window(now, 120 * SECOND, None).unwrap(),
            70 * SECOND as i64..100 * SECOND as i64
        );
    }

    #[test]
    fn zero_means_max_duration_and_clearing_moves_the_start() {
        let request = SaveRequest::last(0, Some(String::new()), DEFAULTS);
        assert_eq!(request.location, None);
        let now = 100 * SECOND as i64;
        assert_eq!(
            request.window(now, 60 * SECOND, None).unwrap(),
            40 * SECOND as i64..now
        );
        assert_eq!(
            request
                .window(now, 60 * SECOND, Some(90 * SECOND as i64))
                .unwrap(),
            90 * SECOND as i64..now
        );
    }

    #[test]
    fn an_inverted_range_is_explained() {
        let request = SaveRequest::range(10 * SECOND, 30 * SECOND, None, DEFAULTS);
        let error = request.window(0, 60 * SECOND, None).unwrap_err();
        assert!(
            error.contains("start-ago must be more than end-ago"),
            "{error}"
        );
    }

    #[test]
    fn structures_fill_in_the_defaults_and_refuse_unknown_fields() {
        gst::init().unwrap();
        let defaults = RequestDefaults {
            post_roll: 5 * SECOND,
            clear: true,
        };
        let structure = gst::Structure::builder(REQUEST_STRUCTURE)
            .field("start-ago", 30 * SECOND)
            .field("location", "/tmp/clip.mp4")
            .build();
        let request = SaveRequest::from_structure(&structure, defaults).unwrap();
        assert_eq!(
            request,
            SaveRequest {
                start_ago: 30 * SECOND,
                end_ago: 0,
                post_roll: 5 * SECOND,
                clear: true,
                location: Some("/tmp/clip.mp4".into()),
            }
        );
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
