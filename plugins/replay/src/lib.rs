//! GStreamer plugin `replay`: instant replay of encoded video.
//!
//! - `replayring`: a RAM ring of encoded H.264/H.265 (and AAC/Opus audio tracks) that saves
//!   clips to MP4 on demand.
//! - `mp4passmux`: passthrough MP4 muxing of encoded H.264/H.265.
//!
//! The pure logic lives in plain modules ([`ring`], [`mp4`], [`codec`], [`audio_config`],
//! [`timing`]) that do not depend on GStreamer types, so it is tested on its own. Their
//! times are [`time::Nanos`] on the stream's running-time clock; MP4 ticks are plain
//! integers. A save runs through [`save`], in the order its module documentation lists.

use gst::glib;

pub mod audio_config;
pub mod audio_format;
pub mod codec;
pub mod mp4;
pub mod ring;
pub mod running_time;
pub mod save;
pub mod stream_format;
pub mod time;
pub mod timing;

mod mp4passmux;
mod replayring;

pub use mp4passmux::Mp4PassMux;
pub use replayring::ReplayRing;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    replayring::register(plugin)?;
    mp4passmux::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    replay,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
