//! Sessions: a replay ring each, fed by a network stream.
//!
//! - [`ingest`]: one session's GStreamer pipeline, from its source URI to its `replayring`.
//! - [`registry`]: the sessions the service holds, by id.
//! - [`admission`]: whether one more fits the limits.
//! - [`document`]: what `start-buffer` takes and the session document the API shows.

pub mod admission;
pub mod document;
pub mod ingest;
pub mod registry;
