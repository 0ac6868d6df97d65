//! `gst-replay`: the launcher's pieces, as a library so tests can reach them.

pub mod audio_probe;
pub mod cli;
pub mod commands;
pub mod control;
pub mod display;
pub mod ffmpeg;
pub mod hotkey;
pub mod pipeline;
pub mod plan;
#[cfg(unix)]
pub mod portal;
pub mod presets;
pub mod probe;
pub mod run;
pub mod units;
