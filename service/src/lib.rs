//! The replay service behind `gst-replay serve`: one `replayring` per session, fed by the
//! encoded network stream the session names (SRT, UDP MPEG-TS, RTSP, HTTP, files) without
//! decoding it; clips saved on REST calls, stored, announced as events, measured as metrics.
//!
//! One module per concern, as MediaMTX keeps one package per concern:
//! - [`config`]: flags and the TOML file.
//! - [`api`]: the HTTP routes, thin: they check what they get and call the rest.
//! - [`sessions`]: the sessions and their ingest pipelines (GStreamer's threads only).
//! - [`jobs`]: save jobs, their states, idempotency, and the database that keeps them.
//! - [`storage`]: where clips are kept and served from.
//! - [`events`]: `ReplayCreated` to events.jsonl and webhooks, through an outbox.
//! - [`metrics`]: `/metrics`, with seed 002's names.
//! - [`ids`]: the identifiers that name routes and files.
//!
//! GStreamer work never runs on the async runtime's threads: pipelines run on GStreamer's
//! own, and calls that may block (stopping a pipeline, waiting for its saves, the database)
//! go through `tokio::task::spawn_blocking`.

pub mod api;
pub mod app;
pub mod config;
pub mod events;
pub mod ids;
pub mod jobs;
pub mod log;
pub mod metrics;
pub mod sessions;
pub mod storage;

pub use app::{serve, ServeError};
pub use config::{ServeArgs, ServeConfig};
