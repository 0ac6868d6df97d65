//! Helpers shared by the tests and benchmarks of every crate in this repository.
//!
//! Nothing here links GStreamer: the plugin's GStreamer helpers stay in its own
//! `tests/common`. What is here is what more than one crate needs: test directories and
//! tools, child processes, process usage, ffprobe, a strict MP4 reader, test media, feeders
//! (independent processes that push or serve streams) and clip checks.

pub mod clips;
pub mod feeders;
pub mod ffprobe;
pub mod http;
pub mod media;
#[cfg(target_os = "linux")]
pub mod mounts;
pub mod mp4;

mod child;
mod dir;
mod process;
mod tools;

pub use child::ChildProcess;
pub use dir::TestDir;
pub use process::ProcessUsage;
pub use tools::{require_tool, run_ok, sha256sum};
