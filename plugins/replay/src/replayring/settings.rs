//! What the properties set.

use crate::ring::Limits;
use crate::save::request::RequestDefaults;
use crate::time::Nanos;

pub const DEFAULT_MAX_DURATION: u64 = 120 * 1_000_000_000;
pub const DEFAULT_MAX_BYTES: u64 = 500 * 1024 * 1024;
pub const DEFAULT_LOCATION: &str = "replay-%Y%m%d-%H%M%S.mp4";
pub const DEFAULT_SAVE_ON_EOS: bool = false;
pub const DEFAULT_POST_ROLL: u64 = 0;
pub const DEFAULT_CLEAR_ON_SAVE: bool = false;
pub const DEFAULT_SHA256: bool = false;

#[derive(Clone, Debug)]
pub struct Settings {
    pub max_duration: u64,
    pub max_bytes: u64,
    pub location: String,
    pub save_on_eos: bool,
    pub post_roll: u64,
    pub clear_on_save: bool,
    pub sha256: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_duration: DEFAULT_MAX_DURATION,
            max_bytes: DEFAULT_MAX_BYTES,
            location: DEFAULT_LOCATION.to_owned(),
            save_on_eos: DEFAULT_SAVE_ON_EOS,
            post_roll: DEFAULT_POST_ROLL,
            clear_on_save: DEFAULT_CLEAR_ON_SAVE,
            sha256: DEFAULT_SHA256,
        }
    }
}

impl Settings {
    pub fn limits(&self) -> Limits {
        Limits {
            max_duration: Nanos::from_unsigned_nanos(self.max_duration),
            max_bytes: self.max_bytes,
        }
    }

    pub fn request_defaults(&self) -> RequestDefaults {
        RequestDefaults {
            post_roll: Nanos::from_unsigned_nanos(self.post_roll),
            clear: self.clear_on_save,
        }
    }
}
