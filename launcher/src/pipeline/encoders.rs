//! Encoder elements and how each one is set to a preset.
//!
//! One preset, several encoders, each set to the closest it has to the design's NVENC
//! configuration (P1, CBR or constant QP, VBV, GOP, no B-frames, 1 reference, no
//! lookahead). Property names, units and enum values are GStreamer 1.22.0's, as checked
//! against each element's source at that tag (see docs/launcher.md for the gaps).

use std::fmt;
use std::str::FromStr;

use super::platform::{EncoderInput, InputMemory, Platform, RawFormat};
use super::sources::Source;
use super::Node;
use crate::presets::{Preset, RateControl, Tune};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    H264,
    Hevc,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
        }
    }

    pub fn parser(self) -> &'static str {
        match self {
            Codec::H264 => "h264parse",
            Codec::Hevc => "h265parse",
        }
    }
}

impl FromStr for Codec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "h264" | "avc" => Ok(Codec::H264),
            "hevc" | "h265" => Ok(Codec::Hevc),
            other => Err(format!("codec \"{other}\" is not h264 or hevc")),
        }
    }
}

/// A kind of encoder, independent of codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncoderFamily {
    /// NVIDIA NVENC (nvcodec plugin).
    Nvenc,
    /// VA-API (va plugin: Intel and AMD).
    Va,
    /// x264 for H.264, x265 for HEVC.
    Software,
}

impl EncoderFamily {
    pub fn name(self) -> &'static str {
        match self {
            EncoderFamily::Nvenc => "nvenc",
            EncoderFamily::Va => "va",
            EncoderFamily::Software => "software",
        }
    }

    /// The families that exist on a platform, best first.
    pub fn candidates(platform: Platform) -> &'static [EncoderFamily] {
        match platform {
            Platform::Linux => &[
                EncoderFamily::Nvenc,
                EncoderFamily::Va,
                EncoderFamily::Software,
            ],
            Platform::Windows => &[EncoderFamily::Nvenc, EncoderFamily::Software],
        }
    }
}

impl FromStr for EncoderFamily {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "nvenc" => Ok(EncoderFamily::Nvenc),
            "va" | "vaapi" => Ok(EncoderFamily::Va),
            "software" | "x264" | "x265" => Ok(EncoderFamily::Software),
            other => Err(format!(
                "encoder \"{other}\" is not auto, nvenc, va or software (x264/x265)"
            )),
        }
    }
}

/// One encoder element for one codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoder {
    pub family: EncoderFamily,
    pub codec: Codec,
}

impl fmt::Display for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.family.name(), self.codec.name())
    }
}

impl Encoder {
    /// The GStreamer element on `platform`.
    pub fn factory(&self, platform: Platform) -> &'static str {
        match (self.family, self.codec, platform) {
            // The D3D11 variants take D3D11 textures directly (zero copy after d3d11convert).
            (EncoderFamily::Nvenc, Codec::H264, Platform::Windows) => "nvd3d11h264enc",
            (EncoderFamily::Nvenc, Codec::Hevc, Platform::Windows) => "nvd3d11h265enc",
            (EncoderFamily::Nvenc, Codec::H264, Platform::Linux) => "nvh264enc",
            (EncoderFamily::Nvenc, Codec::Hevc, Platform::Linux) => "nvh265enc",
            (EncoderFamily::Va, Codec::H264, _) => "vah264enc",
            (EncoderFamily::Va, Codec::Hevc, _) => "vah265enc",
            (EncoderFamily::Software, Codec::H264, _) => "x264enc",
            (EncoderFamily::Software, Codec::Hevc, _) => "x265enc",
        }
    }

    pub fn input(&self, platform: Platform) -> EncoderInput {
        match (self.family, self.codec, platform) {
            (EncoderFamily::Nvenc, _, Platform::Windows) => EncoderInput {
                memory: InputMemory::D3D11,
                format: RawFormat::Nv12,
            },
            // x265enc has no NV12 input.
            (EncoderFamily::Software, Codec::Hevc, _) => EncoderInput {
                memory: InputMemory::System,
                format: RawFormat::I420,
            },
            _ => EncoderInput {
                memory: InputMemory::System,
                format: RawFormat::Nv12,
            },
        }
    }

    /// The encoder element set to `preset` at `fps`.
    pub fn nodes(
        &self,
        preset: &Preset,
        fps: u32,
        platform: Platform,
        _source: &Source,
    ) -> Vec<Node> {
        let element = Node::element(self.factory(platform));
        let configured = match self.family {
            EncoderFamily::Nvenc => nvenc(element, preset, fps, platform),
            EncoderFamily::Va => va(element, preset, fps),
            EncoderFamily::Software => match self.codec {
                Codec::H264 => x264(element, preset, fps),
                Codec::Hevc => x265(element, preset, fps),
            },
        };
        vec![configured]
    }
}

/// NVENC in GStreamer 1.22 (nvcodec). Neither element family has the P1..P7 presets or a
/// `tune` property yet (they came in 1.24), and the new D3D11/CUDA encoders ignore `preset`
/// altogether in 1.22.x; so the design's low-latency settings are set one by one. B-frames
/// and lookahead already default to 0 and are left out: those properties exist only on GPUs
/// that support them, and naming a missing property makes the pipeline fail to parse. No 1.22
/// element sets the reference count; the driver's low-latency default applies.
fn nvenc(element: Node, preset: &Preset, fps: u32, platform: Platform) -> Node {
    let gop = preset.gop_frames(fps);
    match platform {
        // nvd3d11h26xenc (new implementation).
        Platform::Windows => {
            let element = element
                .with("gop-size", gop)
                .with("zero-reorder-delay", true);
            match preset.rate_control {
                RateControl::Cbr => nvenc_cbr(element, "rate-control", preset),
                RateControl::Constqp => {
                    // qp-b must be set too: 1.22.0-1.22.1 copy it into the B-frame QP unchecked.
                    let qp = preset.qp.unwrap_or_default();
                    element
                        .with("rate-control", "cqp")
                        .with("qp-i", qp)
                        .with("qp-p", qp)
                        .with("qp-b", qp)
                }
            }
        }
        // nvh26xenc (the primary-rank implementation on Linux).
        Platform::Linux => {
            let element = element
                .with("preset", "low-latency-hp")
                .with("gop-size", gop)
                .with("zerolatency", true);
            match preset.rate_control {
                RateControl::Cbr => nvenc_cbr(element, "rc-mode", preset),
                RateControl::Constqp => element
                    .with("rc-mode", "constqp")
                    .with("qp-const", preset.qp.unwrap_or_default()),
            }
        }
    }
}

/// CBR on both NVENC implementations; only the rate-control property's name differs.
/// Bitrates and VBV are in kbit (of 1024 bits: both sides of the 0.5 s ratio alike).
fn nvenc_cbr(element: Node, rate_control_property: &str, preset: &Preset) -> Node {
    let kbps = preset.bitrate_kbps.unwrap_or_default();
    element
        .with(rate_control_property, "cbr")
        .with("bitrate", kbps)
        .with("max-bitrate", kbps)
        .with("vbv-buffer-size", preset.vbv_kbits().unwrap_or_default())
}

/// VA-API (va plugin, GStreamer 1.22): target-usage 7 is the fastest; `bitrate` and
/// `cpb-size` are in kbit. There is no lookahead to turn off.
fn va(element: Node, preset: &Preset, fps: u32) -> Node {
    let element = element
        .with("target-usage", 7)
        .with("key-int-max", preset.gop_frames(fps))
        .with("b-frames", preset.bframes)
        .with("ref-frames", preset.ref_frames);
    match preset.rate_control {
        RateControl::Cbr => {
            let kbps = preset.bitrate_kbps.unwrap_or_default();
            element
                .with("rate-control", "cbr")
                .with("bitrate", kbps)
                .with("cpb-size", preset.vbv_kbits().unwrap_or_default())
        }
        RateControl::Constqp => {
            let qp = preset.qp.unwrap_or_default();
            element
                .with("rate-control", "cqp")
                .with("qpi", qp)
                .with("qpp", qp)
                .with("qpb", qp)
        }
    }
}

fn x264_tune(tune: Tune) -> &'static str {
    match tune {
        Tune::LowLatency | Tune::UltraLowLatency => "zerolatency",
        Tune::HighQuality => "ssim",
    }
}

/// x264enc: ultrafast is the closest to NVENC P1; `vbv-buf-capacity` is in milliseconds.
fn x264(element: Node, preset: &Preset, fps: u32) -> Node {
    let element = element
        .with("speed-preset", "ultrafast")
        .with("tune", x264_tune(preset.tune))
        .with("key-int-max", preset.gop_frames(fps))
        .with("bframes", preset.bframes)
        .with("ref", preset.ref_frames)
        .with("rc-lookahead", preset.lookahead);
    match preset.rate_control {
        RateControl::Cbr => element
            .with("pass", "cbr")
            .with("bitrate", preset.bitrate_kbps.unwrap_or_default())
            .with(
                "vbv-buf-capacity",
                (preset.vbv_seconds * 1000.0).round() as u32,
            ),
        // ip-factor 1: the same QP for I and P frames, as constant QP means.
        RateControl::Constqp => element
            .with("pass", "quant")
            .with("quantizer", preset.qp.unwrap_or_default())
            .with("ip-factor", 1.0),
    }
}

/// x265enc: VBV, B-frames, references and lookahead only through `option-string`.
fn x265(element: Node, preset: &Preset, fps: u32) -> Node {
    let element = element
        .with("speed-preset", "ultrafast")
        .with("tune", x264_tune(preset.tune))
        .with("key-int-max", preset.gop_frames(fps));
    let common = format!(
        "bframes={}:ref={}:rc-lookahead={}",
        preset.bframes, preset.ref_frames, preset.lookahead
    );
    match preset.rate_control {
        RateControl::Cbr => {
            let kbps = preset.bitrate_kbps.unwrap_or_default();
            element.with("bitrate", kbps).with(
                "option-string",
                format!(
                    "vbv-maxrate={kbps}:vbv-bufsize={}:{common}",
                    preset.vbv_kbits().unwrap_or_default()
                ),
            )
        }
        RateControl::Constqp => element
            .with("qp", preset.qp.unwrap_or_default())
            .with("option-string", format!("ipratio=1:{common}")),
    }
}
