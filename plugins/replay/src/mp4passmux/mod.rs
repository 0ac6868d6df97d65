//! `mp4passmux`: passthrough MP4 muxing of encoded H.264/H.265, writing straight to a file.
//!
//! ```text
//! gst-launch-1.0 filesrc location=in.mp4 ! qtdemux ! h264parse ! mp4passmux location=out.mp4
//! ```
//!
//! Samples go to `mdat` as they arrive and the `moov` follows at EOS: one sequential pass,
//! no second copy of the media. The file is written under a temporary name and renamed to
//! `location` only when complete. It shares the box writer and the sample-table code with
//! `replayring`'s saves.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct Mp4PassMux(ObjectSubclass<imp::Mp4PassMux>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "mp4passmux",
        gst::Rank::NONE,
        Mp4PassMux::static_type(),
    )
}
