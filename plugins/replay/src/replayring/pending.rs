//! Saves waiting for their post-roll: each collects the frames that arrive until the end of
//! its window has been captured, then goes to a save thread like any other save.

use super::save::SaveJob;

/// How long a finished video post-roll waits for audio that lags behind before the clip is
/// written with the audio there is.
pub const AUDIO_WAIT_LIMIT: i64 = 1_000_000_000;

pub struct PendingSave {
    pub job: SaveJob,
    /// Whether the ring lets go of the saved range once the clip is taken.
    pub clear: bool,
}

impl PendingSave {
    /// The stream time the clip ends at.
    pub fn until(&self) -> i64 {
        self.job.window.end
    }

    /// Complete once a video frame decoded at or after the end has arrived (every frame
    /// presented before it has then arrived too) and each live audio track reached it.
    pub fn is_complete(&self, newest_video_dts: i64, live_audio_ends: &[Option<i64>]) -> bool {
        let until = self.until();
        if newest_video_dts < until {
            return false;
        }
        let audio_caught_up = live_audio_ends
            .iter()
            .all(|end| end.is_some_and(|end| end >= until));
        audio_caught_up || newest_video_dts >= until.saturating_add(AUDIO_WAIT_LIMIT)
    }
}
