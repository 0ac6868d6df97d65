//! Presets files (TOML) through the preset table parser, as `--presets-file` reads them.
//!
//! Checked: no panic; every preset of an accepted table is usable (its derived encoder
//! settings compute without overflow) and survives being written back as TOML and
//! parsed again unchanged.

#![no_main]

use gst_replay::presets::{Preset, PresetTable};
use libfuzzer_sys::fuzz_target;

/// The shape of a presets file, for writing one back.
#[derive(serde::Serialize)]
struct PresetFile<'a> {
    preset: &'a [Preset],
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(table) = PresetTable::parse(text, "fuzz input") else {
        return;
    };
    for preset in table.presets() {
        for fps in [1, 30, 60, 240] {
            assert!(preset.gop_frames(fps) >= 1);
        }
        let _ = preset.vbv_kbits();
        let estimate = preset.ring_bytes_estimate(120.0, 3840, 2160, 60);
        assert!(estimate.bytes().is_finite() && estimate.bytes() >= 0.0);
    }
    let written = toml::to_string(&PresetFile {
        preset: table.presets(),
    })
    .expect("a preset table serializes");
    let reread = PresetTable::parse(&written, "written back")
        .unwrap_or_else(|error| panic!("{error}\n{written}"));
    assert_eq!(reread.presets(), table.presets(), "{written}");
});
