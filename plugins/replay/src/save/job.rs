//! One save: a snapshot of the ring written to its file on a save thread.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

use super::clip_writer::{ClipFile, ClipSummary};
use super::cut;
use super::gather;
use super::output_file::{self, PendingFile};
use crate::audio_format::AudioFormat;
use crate::ring::Snapshot;
use crate::stream_format::StreamFormat;
use crate::time::Nanos;

pub struct SaveJob {
    pub id: String,
    pub location_template: String,
    /// The stream time (running time) the clip presents.
    pub window: Range<Nanos>,
    /// The ring when the save was requested, plus what arrived during its post-roll.
    pub snapshot: Snapshot<gst::Buffer, StreamFormat, AudioFormat>,
    pub requested_at: Instant,
    /// Compute the file's SHA-256 while writing it.
    pub sha256: bool,
}

/// A save thread starts writing a clip's file: posted as `replay-writing`.
pub struct Writing {
    pub id: String,
    /// The final name the file will have unless it is taken by then.
    pub location: String,
    /// The size the file will have.
    pub bytes: u64,
}

impl Writing {
    pub fn into_structure(self) -> gst::Structure {
        gst::Structure::builder("replay-writing")
            .field("id", self.id)
            .field("location", self.location)
            .field("bytes", self.bytes)
            .build()
    }
}

pub struct Saved {
    pub id: String,
    pub location: String,
    pub summary: ClipSummary,
    pub latency: u64,
    /// Lower-case hex, when asked for.
    pub sha256: Option<String>,
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
            SaveOutcome::Saved(saved) => {
                let mut structure = gst::Structure::builder("replay-saved")
                    .field("id", saved.id)
                    .field("location", saved.location)
                    .field("duration", saved.summary.duration.as_unsigned_nanos())
                    .field("frames", saved.summary.frames)
                    .field("samples", saved.summary.samples)
                    .field("bytes", saved.summary.bytes)
                    .field("audio-tracks", saved.summary.audio_tracks)
                    .field(
                        "running-time",
                        saved.summary.running_time.as_unsigned_nanos(),
                    )
                    .field("latency", saved.latency)
                    .build();
                if let Some(sha256) = saved.sha256 {
                    structure.set("sha256", sha256);
                }
                structure
            }
            SaveOutcome::Failed(failed) => gst::Structure::builder("replay-failed")
                .field("id", failed.id)
                .field("location", failed.location)
                .field("error", failed.error)
                .build(),
        }
    }
}

impl SaveJob {
    /// Writes the clip; `writing` is told once its file is laid out and about to be written.
    pub fn run(self, writing: &dyn Fn(Writing)) -> SaveOutcome {
        let location = match output_file::expand_template(&self.location_template) {
            Ok(location) => location,
            Err(error) => return SaveOutcome::failed(&self.id, &self.location_template, error),
        };
        match self.write(&location, writing) {
            Ok((path, summary, sha256)) => SaveOutcome::Saved(Saved {
                id: self.id,
                location: path.to_string_lossy().into_owned(),
                summary,
                latency: self.requested_at.elapsed().as_nanos() as u64,
                sha256: sha256.map(|hash| gather::hex(&hash)),
            }),
            Err(error) => SaveOutcome::failed(&self.id, &location, error),
        }
    }

    fn write(
        &self,
        location: &str,
        writing: &dyn Fn(Writing),
    ) -> Result<(PathBuf, ClipSummary, Option<[u8; 32]>), String> {
        let clip =
            cut::window(&self.snapshot, self.window.clone()).map_err(|err| err.to_string())?;
        let file =
            ClipFile::plan(&clip).map_err(|err| format!("cannot write {location}: {err}"))?;
        let mut pending = PendingFile::create(location.as_ref(), &self.id)
            .map_err(|err| format!("cannot create a file beside {location}: {err}"))?;
        writing(Writing {
            id: self.id.clone(),
            location: location.to_owned(),
            bytes: file.summary.bytes,
        });
        let sha256 = gather::write_hashed(pending.file(), &file.slices(), self.sha256)
            .map_err(|err| format!("cannot write {location}: {err}"))?;
        let path = pending
            .publish()
            .map_err(|err| format!("cannot finish {location}: {err}"))?;
        Ok((path, file.summary, sha256))
    }
}
