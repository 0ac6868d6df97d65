//! Encoder presets: a documented TOML table shipped in the binary (`presets.toml`),
//! extended or overridden by the user's own file.

use std::path::Path;

use serde::{Deserialize, Serialize};

const BUILT_IN: &str = include_str!("presets.toml");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RateControl {
    /// Constant bitrate with a VBV buffer.
    Cbr,
    /// Constant quantizer for I and P frames.
    Constqp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tune {
    LowLatency,
    UltraLowLatency,
    HighQuality,
}

impl Tune {
    pub fn name(self) -> &'static str {
        match self {
            Tune::LowLatency => "low-latency",
            Tune::UltraLowLatency => "ultra-low-latency",
            Tune::HighQuality => "high-quality",
        }
    }
}

fn default_gop_seconds() -> f64 {
    2.0
}
fn default_vbv_seconds() -> f64 {
    0.5
}
fn default_ref_frames() -> u32 {
    1
}
fn default_nvenc_preset() -> String {
    "p1".to_owned()
}

/// One row of the table. Defaults are the design's: P1, 2 s GOP, no B-frames, 1 reference
/// frame, no lookahead, VBV of 0.5 s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub rate_control: RateControl,
    /// Target (and maximum) bitrate for CBR.
    pub bitrate_kbps: Option<u32>,
    /// VBV buffer size in seconds of bitrate (CBR).
    #[serde(default = "default_vbv_seconds")]
    pub vbv_seconds: f64,
    /// Quantizer for I and P frames (constant QP).
    pub qp: Option<u32>,
    /// Keyframe interval in seconds; frames = round(seconds x fps).
    #[serde(default = "default_gop_seconds")]
    pub gop_seconds: f64,
    #[serde(default)]
    pub bframes: u32,
    #[serde(default = "default_ref_frames")]
    pub ref_frames: u32,
    #[serde(default)]
    pub lookahead: u32,
    /// NVENC speed preset, p1 (fastest) to p7.
    #[serde(default = "default_nvenc_preset")]
    pub nvenc_preset: String,
    pub tune: Tune,
}

#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("cannot read presets file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("presets file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("preset \"{name}\": {problem}")]
    Invalid { name: String, problem: String },
    #[error("no preset named \"{name}\"; the presets are: {known}")]
    Unknown { name: String, known: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    #[serde(default)]
    preset: Vec<Preset>,
}

/// The presets in force: the built-in table, then the user's file on top.
#[derive(Clone, Debug)]
pub struct PresetTable {
    presets: Vec<Preset>,
}

impl PresetTable {
    pub fn built_in() -> PresetTable {
        PresetTable::parse(BUILT_IN, "built-in presets")
            .expect("the built-in presets are valid (tested)")
    }

    /// The built-in table with `overrides` applied (same name: replaced; new name: added).
    pub fn load(overrides: Option<&Path>) -> Result<PresetTable, PresetError> {
        let mut table = PresetTable::built_in();
        if let Some(path) = overrides {
            let text = std::fs::read_to_string(path).map_err(|source| PresetError::Read {
                path: path.display().to_string(),
                source,
            })?;
            for preset in PresetTable::parse(&text, &path.display().to_string())?.presets {
                match table.presets.iter_mut().find(|p| p.name == preset.name) {
                    Some(existing) => *existing = preset,
                    None => table.presets.push(preset),
                }
            }
        }
        Ok(table)
    }

    /// Parses and validates one presets file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<PresetTable, PresetError> {
        let file: PresetFile = toml::from_str(text).map_err(|err| PresetError::Parse {
            path: origin.to_owned(),
            message: err.to_string(),
        })?;
        for preset in &file.preset {
            preset.validate()?;
        }
        Ok(PresetTable {
            presets: file.preset,
        })
    }

    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    pub fn get(&self, name: &str) -> Result<&Preset, PresetError> {
        self.presets
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PresetError::Unknown {
                name: name.to_owned(),
                known: self.names().join(", "),
            })
    }

    pub fn names(&self) -> Vec<&str> {
        self.presets.iter().map(|p| p.name.as_str()).collect()
    }
}

impl Preset {
    fn validate(&self) -> Result<(), PresetError> {
        let invalid = |problem: String| {
            Err(PresetError::Invalid {
                name: self.name.clone(),
                problem,
            })
        };
        match self.rate_control {
            RateControl::Cbr => match self.bitrate_kbps {
                Some(100..=500_000) => {}
                Some(other) => {
                    return invalid(format!("bitrate_kbps {other} is outside 100 to 500000"))
                }
                None => return invalid("a cbr preset needs bitrate_kbps".into()),
            },
            RateControl::Constqp => match self.qp {
                Some(0..=51) => {}
                Some(other) => return invalid(format!("qp {other} is outside 0 to 51")),
                None => return invalid("a constqp preset needs qp".into()),
            },
        }
        if !(0.1..=10.0).contains(&self.gop_seconds) {
            return invalid(format!(
                "gop_seconds {} is outside 0.1 to 10",
                self.gop_seconds
            ));
        }
        if !(0.05..=10.0).contains(&self.vbv_seconds) {
            return invalid(format!(
                "vbv_seconds {} is outside 0.05 to 10",
                self.vbv_seconds
            ));
        }
        if self.bframes > 4 || !(1..=16).contains(&self.ref_frames) || self.lookahead > 32 {
            return invalid("bframes must be 0 to 4, ref_frames 1 to 16, lookahead 0 to 32".into());
        }
        if !matches!(
            self.nvenc_preset.as_str(),
            "p1" | "p2" | "p3" | "p4" | "p5" | "p6" | "p7"
        ) {
            return invalid(format!(
                "nvenc_preset {} is not p1 to p7",
                self.nvenc_preset
            ));
        }
        Ok(())
    }

    /// Keyframe interval in frames at `fps`.
    pub fn gop_frames(&self, fps: u32) -> u32 {
        ((self.gop_seconds * fps as f64).round() as u32).max(1)
    }

    /// VBV buffer in kbit (CBR).
    pub fn vbv_kbits(&self) -> Option<u32> {
        self.bitrate_kbps
            .map(|kbps| (kbps as f64 * self.vbv_seconds).round() as u32)
    }

    /// Expected ring size in bytes for `seconds` of video: exact for CBR (plus one GOP of
    /// padding, as the ring keeps), a rough figure for constant QP, which depends on content.
    pub fn ring_bytes_estimate(
        &self,
        seconds: f64,
        width: u32,
        height: u32,
        fps: u32,
    ) -> RingEstimate {
        let kept = seconds + self.gop_seconds;
        match (self.rate_control, self.bitrate_kbps, self.qp) {
            (RateControl::Cbr, Some(kbps), _) => {
                RingEstimate::Exact(kbps as f64 * 1000.0 / 8.0 * kept)
            }
            (_, _, qp) => {
                // Bits per pixel of busy screen content at this QP: each 6 QP halves the size.
                let bits_per_pixel = 0.12 * 2f64.powf((24.0 - qp.unwrap_or(24) as f64) / 6.0);
                // In u64: 8K at 144 fps is 4.8 billion pixels a second, more than a u32 holds.
                let pixels_per_second = u64::from(width) * u64::from(height) * u64::from(fps);
                RingEstimate::Rough(bits_per_pixel * pixels_per_second as f64 / 8.0 * kept)
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RingEstimate {
    Exact(f64),
    Rough(f64),
}

impl RingEstimate {
    pub fn bytes(self) -> f64 {
        match self {
            RingEstimate::Exact(b) | RingEstimate::Rough(b) => b,
        }
    }

    pub fn is_rough(self) -> bool {
        matches!(self, RingEstimate::Rough(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_is_the_design() {
        let table = PresetTable::built_in();
        let bitrates: Vec<_> = ["low", "medium", "high"]
            .iter()
            .map(|n| table.get(n).unwrap().bitrate_kbps.unwrap())
            .collect();
        assert_eq!(bitrates, vec![8000, 12000, 15000]);
        let qps: Vec<_> = [
            "quality-low",
            "quality-medium",
            "quality-high",
            "quality-lossless",
        ]
        .iter()
        .map(|n| table.get(n).unwrap().qp.unwrap())
        .collect();
        assert_eq!(qps, vec![28, 24, 20, 16]);
        for preset in table.presets() {
            assert_eq!(preset.nvenc_preset, "p1");
            assert_eq!(
                (preset.bframes, preset.ref_frames, preset.lookahead),
                (0, 1, 0)
            );
            assert_eq!(preset.gop_frames(60), 120);
            assert_eq!(preset.gop_frames(30), 60);
        }
        assert_eq!(table.get("high").unwrap().vbv_kbits(), Some(7500));
        assert_eq!(
            table.get("quality-high").unwrap().tune,
            Tune::UltraLowLatency
        );
    }

    #[test]
    fn a_user_file_overrides_and_extends() {
        let dir = std::env::temp_dir().join(format!("gst-replay-presets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("presets.toml");
        std::fs::write(
            &file,
            "[[preset]]\nname = \"high\"\nrate_control = \"cbr\"\nbitrate_kbps = 20000\ntune = \"low-latency\"\n\
             [[preset]]\nname = \"archive\"\nrate_control = \"constqp\"\nqp = 18\ngop_seconds = 1\ntune = \"high-quality\"\n",
        )
        .unwrap();
        let table = PresetTable::load(Some(&file)).unwrap();
        assert_eq!(table.get("high").unwrap().bitrate_kbps, Some(20000));
        assert_eq!(table.get("archive").unwrap().gop_frames(60), 60);
        assert_eq!(table.get("low").unwrap().bitrate_kbps, Some(8000));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_presets_say_what_is_wrong() {
        let err = PresetTable::parse(
            "[[preset]]\nname = \"x\"\nrate_control = \"cbr\"\ntune = \"low-latency\"\n",
            "f",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "preset \"x\": a cbr preset needs bitrate_kbps"
        );
        let err = PresetTable::parse("[[preset]]\nname = \"x\"\nrate_control = \"vbr\"\n", "f")
            .unwrap_err();
        assert!(
            err.to_string().contains("presets file f is not valid"),
            "{err}"
        );
        let err = PresetTable::built_in().get("ultra").unwrap_err();
        assert!(err.to_string().contains("low, medium, high"), "{err}");
    }

    #[test]
    fn ring_estimates_follow_the_bitrate() {
        let table = PresetTable::built_in();
        let high = table
            .get("high")
            .unwrap()
            .ring_bytes_estimate(120.0, 1920, 1080, 60);
        assert_eq!(high, RingEstimate::Exact(15_000_000.0 / 8.0 * 122.0));
        let qp = table
            .get("quality-medium")
            .unwrap()
            .ring_bytes_estimate(15.0, 2560, 1440, 30);
        assert!(qp.is_rough());
    }

    #[test]
    fn ring_estimates_hold_8k_at_144_fps() {
        let table = PresetTable::built_in();
        let estimate = table
            .get("quality-medium")
            .unwrap()
            .ring_bytes_estimate(60.0, 7680, 4320, 144);
        // 7680 x 4320 x 144 = 4 777 574 400 pixels a second; at QP 24, 0.12 bit each:
        // 71 663 616 bytes a second, for 60 s plus one 2 s GOP.
        assert!(estimate.is_rough());
        assert!(
            (estimate.bytes() - 71_663_616.0 * 62.0).abs() < 1.0,
            "{estimate:?}"
        );
    }
}
