//! A save job's states, with seed 000's names, and the moves between them.
//!
//! ```text
//! queued -> extracting -> encoding -> ready
//!    \           \            \
//!     +-----------+------------+----> failed
//! ```
//!
//! `extracting`: the ring took its snapshot and the save waits for its post-roll (or for audio
//! to catch up). `encoding`: the MP4 is being written (by passthrough: the name is the seed's).
//! `uploading` comes between `encoding` and `ready` when clips go to object storage. Every job
//! ends `ready` or `failed`; a job found unfinished when the service starts is `failed`.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Extracting,
    Encoding,
    Uploading,
    Ready,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Queued,
        JobStatus::Extracting,
        JobStatus::Encoding,
        JobStatus::Uploading,
        JobStatus::Ready,
        JobStatus::Failed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Extracting => "extracting",
            JobStatus::Encoding => "encoding",
            JobStatus::Uploading => "uploading",
            JobStatus::Ready => "ready",
            JobStatus::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Ready | JobStatus::Failed)
    }

    /// Whether a job may go from `self` to `next`: forward along the line, or to `failed` from
    /// any state that is not final.
    pub fn can_become(self, next: JobStatus) -> bool {
        if self.is_final() {
            return false;
        }
        next == JobStatus::Failed || self.step() < next.step()
    }

    fn step(self) -> u8 {
        match self {
            JobStatus::Queued => 0,
            JobStatus::Extracting => 1,
            JobStatus::Encoding => 2,
            JobStatus::Uploading => 3,
            JobStatus::Ready => 4,
            JobStatus::Failed => 5,
        }
    }

    /// The progress shown for a job in this state, 0 to 100, when nothing finer is known.
    pub fn progress(self) -> u8 {
        match self {
            JobStatus::Queued => 0,
            JobStatus::Extracting => 10,
            JobStatus::Encoding => 50,
            JobStatus::Uploading => 90,
            JobStatus::Ready => 100,
            JobStatus::Failed => 0,
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.name() == text)
            .ok_or_else(|| format!("no job status is called {text}"))
    }
}

/// Why a job left unfinished by an earlier run of the service failed.
pub fn interrupted_reason(status: JobStatus) -> String {
    format!(
        "the service stopped while this save was {status}; the clip was not kept \
         (send the save again with a new Idempotency-Key)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_move_forward_or_fail_and_final_states_stay() {
        use JobStatus::*;
        assert!(Queued.can_become(Extracting));
        assert!(Extracting.can_become(Encoding));
        assert!(Encoding.can_become(Ready));
        assert!(Encoding.can_become(Uploading));
        assert!(Uploading.can_become(Ready));
        for status in [Queued, Extracting, Encoding, Uploading] {
            assert!(status.can_become(Failed), "{status} can fail");
            assert!(!status.can_become(status), "{status} does not repeat");
        }
        assert!(!Encoding.can_become(Extracting), "no way back");
        for last in [Ready, Failed] {
            for next in JobStatus::ALL {
                assert!(!last.can_become(next), "{last} is final");
            }
        }
    }

    #[test]
    fn names_are_the_seeds_and_parse_back() {
        let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "queued",
                "extracting",
                "encoding",
                "uploading",
                "ready",
                "failed"
            ]
        );
        for status in JobStatus::ALL {
            assert_eq!(status.name().parse::<JobStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.name())
            );
        }
        assert!("done".parse::<JobStatus>().is_err());
    }

    #[test]
    fn progress_rises_to_100_at_ready() {
        use JobStatus::*;
        let line = [Queued, Extracting, Encoding, Uploading, Ready];
        assert!(line.windows(2).all(|w| w[0].progress() < w[1].progress()));
        assert_eq!(Ready.progress(), 100);
    }
}
