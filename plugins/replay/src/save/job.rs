//! One save: a snapshot of the ring written to its file on its own thread.

use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

use super::clip_writer::{self, ClipSummary};
use super::cut;
use super::output_file::{self, PendingFile};
use crate::audio_format::AudioFormat;
use crate::ring::Snapshot;
use crate::stream_format::StreamFormat;

/// Large enough that the sample payloads are written with few system calls.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

pub struct SaveJob {
    pub id: String,
    pub location_template: String,
    /// The stream time (running time, ns) the clip presents.
    pub window: Range<i64>,
    /// The ring when the save was requested, plus what arrived during its post-roll.
    pub snapshot: Snapshot<gst::Buffer, StreamFormat, AudioFormat>,
    pub requested_at: Instant,
}

pub struct Saved {
    pub id: String,
    pub location: String,
    pub summary: ClipSummary,
    pub latency: u64,
}

pub struct Failed {
    pub id: String,
    pub location: String,
    pub error: String,
}

pub enum SaveOutcome {
    Saved(Saved),
    Failed(Failed),
}

impl SaveOutcome {
    pub fn failed(id: &str, location: &str, error: String) -> Self {
        SaveOutcome::Failed(Failed {
            id: id.to_owned(),
            location: location.to_owned(),
            error,
        })
    }

    /// The `replay-saved` / `replay-failed` element message body.
    pub fn into_structure(self) -> gst::Structure {
        match self {
            SaveOutcome::Saved(saved) => gst::Structure::builder("replay-saved")
                .field("id", saved.id)
                .field("location", saved.location)
                .field("duration", saved.summary.duration)
                .field("frames", saved.summary.frames)
                .field("samples", saved.summary.samples)
                .field("bytes", saved.summary.bytes)
                .field("audio-tracks", saved.summary.audio_tracks)
                .field("running-time", saved.summary.running_time.max(0) as u64)
                .field("latency", saved.latency)
                .build(),
            SaveOutcome::Failed(failed) => gst::Structure::builder("replay-failed")
                .field("id", failed.id)
                .field("location", failed.location)
                .field("error", failed.error)
                .build(),
        }
    }
}

impl SaveJob {
    pub fn run(self) -> SaveOutcome {
        let location = match output_file::expand_template(&self.location_template) {
            Ok(location) => location,
            Err(error) => return SaveOutcome::failed(&self.id, &self.location_template, error),
        };
        match self.write(&location) {
            Ok((path, summary)) => SaveOutcome::Saved(Saved {
                id: self.id,
                location: path.to_string_lossy().into_owned(),
                summary,
                latency: self.requested_at.elapsed().as_nanos() as u64,
            }),
            Err(error) => SaveOutcome::failed(&self.id, &location, error),
        }
    }

    fn write(&self, location: &str) -> Result<(PathBuf, ClipSummary), String> {
        let clip =
            cut::window(&self.snapshot, self.window.clone()).map_err(|err| err.to_string())?;
        let mut pending = PendingFile::create(location.as_ref(), &self.id)
            .map_err(|err| format!("cannot create a file beside {location}: {err}"))?;
        let summary = {
            let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, pending.file());
            let summary = clip_writer::write_clip(&clip, &mut out)
                .map_err(|err| format!("cannot write {location}: {err}"))?;
            out.flush()
                .map_err(|err| format!("cannot write {location}: {err}"))?;
            summary
        };
        let path = pending
            .publish()
            .map_err(|err| format!("cannot finish {location}: {err}"))?;
        Ok((path, summary))
    }
}
