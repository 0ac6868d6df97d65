//! Saves waiting for their post-roll, or for audio to catch up with the video: each collects
//! the frames that arrive until the end of its window has been captured on every track, then
//! goes to a save thread.

use std::time::{Duration, Instant};

use super::job::SaveJob;
use crate::time::Nanos;

/// How long a finished video post-roll waits for audio that lags behind before the clip is
/// written with the audio there is.
pub const AUDIO_WAIT_LIMIT: Nanos = Nanos::from_secs(1);

/// Wall-clock slack past a save's post-roll before it is written with whatever has arrived:
/// a stalled encoder or a source that stopped must not hold a clip back forever.
const STALL_GRACE: Duration = Duration::from_secs(2);

/// When a save requested now, with `post_roll`, is written at the latest. Twice the
/// post-roll leaves room for a pipeline that runs slower than real time.
pub fn deadline(requested_at: Instant, post_roll: Duration) -> Instant {
    requested_at + post_roll * 2 + STALL_GRACE
}

pub struct PendingSave {
    pub job: SaveJob,
    /// Whether the ring lets go of the saved range once the clip is taken.
    pub clear: bool,
    /// Where the complete video ended when the save was requested.
    pub requested_at_stream_time: Nanos,
    /// Written then with what has arrived, complete or not (see [`deadline`]).
    pub deadline: Instant,
}

impl PendingSave {
    /// The stream time the clip ends at.
    pub fn until(&self) -> Nanos {
        self.job.window.end
    }

    /// Complete once the video up to the end has arrived (a save without post-roll has it
    /// at once; else a frame decoded at or after the end, since every frame presented before
    /// it has then arrived too) and each live audio track reached it: audio encoders run a
    /// few packets behind the video, and a clip should not lose its last sounds to that.
    pub fn is_complete(&self, newest_video_dts: Nanos, live_audio_ends: &[Option<Nanos>]) -> bool {
        if Instant::now() >= self.deadline {
            return true;
        }
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
