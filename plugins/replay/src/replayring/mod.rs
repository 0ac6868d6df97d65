//! `replayring`: keeps the last N seconds of encoded video in RAM and saves any part of it
//! to MP4 on demand, without re-encoding, while capture goes on.
//!
//! ```text
//! gst-launch-1.0 videotestsrc is-live=true ! x264enc tune=zerolatency key-int-max=60 \
//!     ! h264parse ! replayring max-duration=30000000000 save-on-eos=true location=clip.mp4
//! ```
//!
//! Audio tracks go to `audio_%u` request pads (`... ! avenc_aac ! ring.audio_0`).
//! Applications emit the `save`, `save-range` or `save-clip` action signals and watch the
//! bus for the `replay-saved` and `replay-failed` element messages.

use gst::glib;
use gst::prelude::*;

mod buffers;
mod imp;
mod settings;
mod state;
mod stats;

glib::wrapper! {
    pub struct ReplayRing(ObjectSubclass<imp::ReplayRing>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "replayring",
        gst::Rank::NONE,
        ReplayRing::static_type(),
    )
}
