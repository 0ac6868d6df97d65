//! From what the user asked for (source, encoder, preset, fps, codec, crop, monitor,
//! duration, max bytes, audio tracks) to a GStreamer pipeline, for any platform.

pub mod audio;
pub mod audio_encoders;
pub mod crop;
pub mod encoders;
pub mod launch_line;
pub mod platform;
pub mod sources;

use std::path::PathBuf;

use crate::presets::Preset;
pub use audio::{AudioCapture, AudioInput, AudioRequest};
pub use audio_encoders::{AudioCodec, AudioEncoder, AudioEncoderChoice};
pub use crop::{Aspect, Region};
pub use encoders::{Codec, Encoder, EncoderFamily};
pub use launch_line::{LaunchLine, Node};
pub use platform::Platform;
pub use sources::{PortalStream, Source};

/// Name of the `replayring` element in every pipeline the launcher builds.
pub const RING_NAME: &str = "ring";

/// Everything that decides the pipeline.
#[derive(Clone, Debug)]
pub struct PipelineRequest {
    pub platform: Platform,
    pub source: Source,
    /// Size of the captured screen (or the test pattern) before cropping.
    pub screen: (u32, u32),
    /// Where the monitor starts on the X11 root window (Linux multi-monitor).
    pub screen_origin: (u32, u32),
    pub aspect: Aspect,
    pub fps: u32,
    pub encoder: Encoder,
    pub preset: Preset,
    /// The audio tracks, if any.
    pub audio: Option<AudioRequest>,
    /// Seconds the ring keeps.
    pub duration: f64,
    pub max_bytes: u64,
    pub output_dir: PathBuf,
    /// Save the ring at EOS (what Ctrl-C does to a printed gst-launch-1.0 line).
    pub save_on_eos: bool,
}

impl PipelineRequest {
    /// The centred crop of the screen, in screen coordinates.
    pub fn region(&self) -> Region {
        crop::centered_crop(self.screen.0, self.screen.1, self.aspect)
    }

    pub fn location_template(&self) -> PathBuf {
        self.output_dir.join("replay-%Y%m%d-%H%M%S.mp4")
    }

    /// capture -> convert -> encode -> parse -> replayring, then one chain per audio track
    /// into the ring's `audio_%u` pads.
    pub fn launch_line(&self) -> LaunchLine {
        let mut line = LaunchLine::default();
        for node in sources::capture_nodes(self) {
            line.push(node);
        }
        for node in self
            .encoder
            .nodes(&self.preset, self.fps, self.platform, &self.source)
        {
            line.push(node);
        }
        line.push(Node::element(self.encoder.codec.parser()));
        let mut ring = Node::element("replayring")
            .with("name", RING_NAME)
            .with("max-duration", (self.duration * 1e9).round() as u64)
            .with("max-bytes", self.max_bytes)
            .with("location", self.location_template().display());
        if self.save_on_eos {
            ring = ring.with("save-on-eos", true);
        }
        line.push(ring);
        for chain in self
            .audio
            .iter()
            .flat_map(|audio| audio.chains(self.platform))
        {
            line.start_chain();
            for node in chain {
                line.push(node);
            }
        }
        line
    }
}
