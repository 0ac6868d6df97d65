//! MP4 (ISO BMFF) writing for passthrough muxing of encoded H.264/H.265 video
//! and AAC/Opus audio.
//!
//! Plain Rust with no GStreamer types: the caller describes the movie (tracks,
//! sample entries, sample tables) and supplies the sample bytes; this module
//! lays out `ftyp`, `moov` and `mdat`.
//!
//! * [`FaststartPlan`] lays out `moov` before `mdat` so a file is written in one sequential
//!   pass; [`write_faststart`] writes one through a callback per sample.
//! * [`StreamingWriter`] appends samples and writes `moov` at the end.
//! * [`build_moov`] and [`ftyp`] are the builders both share.

mod audio;
pub mod boxes;
mod movie;
mod write;

#[cfg(test)]
mod testutil;

pub use audio::{AudioCodecConfig, AudioEntryError, AudioSampleEntry, OpusConfig, OpusHeadError};
pub use movie::{
    build_moov, ftyp, Edit, Movie, MovieError, Sample, SampleEntry, Track, VideoSampleEntry,
};
pub use write::{mdat_header, write_faststart, FaststartPlan, StreamingWriter};
