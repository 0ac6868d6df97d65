//! Helpers shared by the tests and benchmarks of every crate in this repository.
//!
//! Nothing here knows GStreamer: the plugin's GStreamer helpers stay in its own
//! `tests/common`. What is here is what more than one crate needs.

pub mod ffprobe;
pub mod mp4;

mod child;
mod dir;
mod process;
mod tools;

pub use child::ChildProcess;
pub use dir::TestDir;
pub use process::ProcessUsage;
pub use tools::require_tool;
