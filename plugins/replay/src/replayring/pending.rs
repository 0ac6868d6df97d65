//! Saves waiting for their post-roll, or for audio to catch up with the video: each collects
//! the frames that arrive until the end of its window has been captured on every track, then
//! goes to a save thread.

use super::save::SaveJob;

/// How long a finished video post-roll waits for audio that lags behind before the clip is
/// written with the audio there is.
pub const AUDIO_WAIT_LIMIT: i64 = 1_000_000_000;

pub struct PendingSave {
    pub job: SaveJob,
    /// Whether the ring lets go of the saved range once the clip is taken.
    pub clear: bool,
    /// Where the complete video ended when the save was requested.
    pub requested_at_stream_time: i64,
}

impl PendingSave {
    /// The stream time the clip ends at.
    pub fn until(&self) -> i64 {
        self.job.window.end
    }

    /// Complete once the video up to the end has arrived (a save without post-roll has it
    /// at once; else a frame decoded at or after the end, since every frame presented before
    /// it has then arrived too) and each live audio track reached it: audio encoders run a
    /// few packets behind the video, and a clip should not lose its last sounds to that.
    pub fn is_complete(&self, newest_video_dts: i64, live_audio_ends: &[Option<i64>]) -> bool {
        let until = self.until();
        let video_complete = self.requested_at_stream_time >= until || newest_video_dts >= until;
        if !video_complete {
            return false;
        }
        let audio_caught_up = live_audio_ends
            .iter()
            .all(|end| end.is_some_and(|end| end >= until));
        audio_caught_up || newest_video_dts >= until.saturating_add(AUDIO_WAIT_LIMIT)
    }
}
