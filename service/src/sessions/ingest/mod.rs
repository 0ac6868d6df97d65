//! One session's pipeline: its source, demuxed and parsed without decoding, into a
//! `replayring`.
//!
//! - [`reconnect`]: the backoff and what a drop means (pure logic); [`timeline`]: the
//!   offsets that keep the timeline forward across reconnects (pure logic).
//! - [`saves`]: clip requests and their outcomes; [`status`]: reading the ring's stats.

#![allow(dead_code)] // Used by the pipeline, which comes next.

mod error;
pub mod reconnect;
mod saves;
mod status;
pub mod timeline;
mod types;

pub use error::IngestError;
pub use types::{
    ClipEvent, ClipRequest, SavedClip, SessionSpec, SessionState, SessionStatus, TrackInfo,
};
