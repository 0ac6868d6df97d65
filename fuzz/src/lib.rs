//! The code under test and the helpers the fuzz targets share.
//!
//! The plugin and launcher crates link GStreamer, which would be slow to build again with
//! libFuzzer's instrumentation, so this crate compiles just their GStreamer-free modules
//! from their own source files. Each module keeps its crate-root name (`codec`, `mp4`,
//! ...), so the paths inside them resolve here as they do in their home crate.

#[path = "../../plugins/replay/src/audio_config.rs"]
pub mod audio_config;
#[path = "../../plugins/replay/src/codec/mod.rs"]
pub mod codec;
#[path = "../../launcher/src/control/mod.rs"]
pub mod control;
#[path = "../../plugins/replay/src/mp4/mod.rs"]
pub mod mp4;
#[path = "../../launcher/src/presets.rs"]
pub mod presets;

pub mod movie_check;
pub mod movie_input;
pub mod mp4_reader;
