//! Which encoders exist here and actually work, and the automatic choice among them.

use gst::prelude::*;

use crate::pipeline::{Codec, Encoder, EncoderFamily, LaunchLine, Node, Platform, Source};
use crate::presets::Preset;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncoderStatus {
    Working,
    /// The element is not registered (plugin or driver missing).
    Missing,
    /// The element exists but could not encode a few test frames.
    Broken(String),
}

/// Encodes a few frames of a test pattern with the encoder set exactly as the preset sets it,
/// which also proves the properties are right for this GStreamer version.
pub fn probe(encoder: Encoder, preset: &Preset) -> EncoderStatus {
    let factory = encoder.factory(Platform::current());
    if gst::ElementFactory::find(factory).is_none() {
        return EncoderStatus::Missing;
    }
    match run_briefly(&probe_line(encoder, preset).description()) {
        Ok(()) => EncoderStatus::Working,
        Err(reason) => EncoderStatus::Broken(reason),
    }
}

/// The test pattern, the encoder as the preset sets it, its parser and a sink.
fn probe_line(encoder: Encoder, preset: &Preset) -> LaunchLine {
    let platform = Platform::current();
    let input = encoder.input(platform);
    let mut line = LaunchLine::default();
    line.push(Node::element("videotestsrc").with("num-buffers", 5));
    line.push(Node::caps(format!(
        "video/x-raw,format={},width=640,height=360,framerate=30/1",
        input.format.name()
    )));
    for node in encoder.nodes(preset, 30, platform, &Source::Test) {
        line.push(node);
    }
    line.push(Node::element(encoder.codec.parser()));
    line.push(Node::element("fakesink"));
    line
}

/// The package that installs an element the launcher uses around the encoders.
fn package_of(factory: &str) -> &'static str {
    match factory {
        "videotestsrc" | "videoconvert" | "videoscale" | "audiotestsrc" | "audioconvert"
        | "audioresample" | "opusenc" => "gstreamer1.0-plugins-base",
        "ximagesrc" | "v4l2src" | "videocrop" => "gstreamer1.0-plugins-good",
        "pulsesrc" => "gstreamer1.0-pulseaudio",
        "h264parse" | "h265parse" | "d3d11screencapturesrc" | "d3d11convert" | "d3d11download" => {
            "gstreamer1.0-plugins-bad"
        }
        "aacparse" | "opusparse" => "gstreamer1.0-plugins-good or -bad",
        "fakesink" | "queue" | "tee" | "capsfilter" => "libgstreamer1.0-0",
        _ => "the GStreamer plugin that provides it",
    }
}

/// Names the elements of `factories` that are not installed, with their packages, or None
/// when all are there.
pub fn missing_elements<'a>(factories: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut missing: Vec<&str> = Vec::new();
    for factory in factories {
        if !missing.contains(&factory) && gst::ElementFactory::find(factory).is_none() {
            missing.push(factory);
        }
    }
    let named: Vec<String> = missing
        .iter()
        .map(|factory| format!("{factory} (from {})", package_of(factory)))
        .collect();
    let verb = match named.len() {
        0 => return None,
        1 => "is",
        _ => "are",
    };
    Some(format!(
        "{} {verb} not installed; `gst-replay doctor` lists what works here",
        named.join(" and ")
    ))
}

/// Without the elements the probe runs the encoders with, every encoder would look broken
/// and the advice would be to install an encoder that is there.
fn probe_helpers_missing(encoder: Encoder, preset: &Preset) -> Option<String> {
    let factory = encoder.factory(Platform::current());
    let line = probe_line(encoder, preset);
    missing_elements(line.factories().filter(|name| *name != factory)).map(|missing| {
        format!(
            "cannot test the {} encoders: {missing}",
            encoder.codec.name()
        )
    })
}

fn run_briefly(description: &str) -> Result<(), String> {
    let pipeline = gst::parse::launch(description).map_err(|err| err.to_string())?;
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let result = match pipeline.set_state(gst::State::Playing) {
        Err(_) => Err("it would not start".to_owned()),
        Ok(_) => {
            let ending = bus.timed_pop_filtered(
                gst::ClockTime::from_seconds(15),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
            match ending.as_ref().map(|m| m.view()) {
                Some(gst::MessageView::Eos(_)) => Ok(()),
                Some(gst::MessageView::Error(err)) => Err(err.error().to_string()),
                _ => Err("it encoded nothing within 15 s".to_owned()),
            }
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// The encoder to use, and a line per candidate passed over, saying why.
pub fn choose(
    requested: Option<EncoderFamily>,
    codec: Codec,
    preset: &Preset,
) -> Result<(Encoder, Vec<String>), String> {
    let platform = Platform::current();
    let first = Encoder {
        family: requested.unwrap_or(EncoderFamily::candidates(platform)[0]),
        codec,
    };
    if let Some(missing) = probe_helpers_missing(first, preset) {
        return Err(missing);
    }
    if let Some(family) = requested {
        let encoder = Encoder { family, codec };
        return match probe(encoder, preset) {
            EncoderStatus::Working => Ok((encoder, Vec::new())),
            EncoderStatus::Missing => Err(missing_message(encoder, platform)),
            EncoderStatus::Broken(reason) => Err(format!(
                "--encoder {}: {} is installed but failed to encode: {reason}. Use --encoder auto to fall back",
                family.name(),
                encoder.factory(platform)
            )),
        };
    }
    let mut passed_over = Vec::new();
    for &family in EncoderFamily::candidates(platform) {
        let encoder = Encoder { family, codec };
        match probe(encoder, preset) {
            EncoderStatus::Working => return Ok((encoder, passed_over)),
            EncoderStatus::Missing => {
                passed_over.push(format!("{}: not available", encoder.factory(platform)))
            }
            EncoderStatus::Broken(reason) => passed_over.push(format!(
                "{}: failed to encode ({reason})",
                encoder.factory(platform)
            )),
        }
    }
    Err(format!(
        "no working {} encoder: {}. Install gstreamer1.0-plugins-ugly (x264) or gstreamer1.0-plugins-bad (x265, va, nvcodec)",
        codec.name(),
        passed_over.join("; ")
    ))
}

pub fn missing_message(encoder: Encoder, platform: Platform) -> String {
    let factory = encoder.factory(platform);
    let how = match encoder.family {
        EncoderFamily::Nvenc => {
            "the nvcodec plugin registers it only with an NVIDIA GPU and driver (and gstreamer1.0-plugins-bad)"
        }
        EncoderFamily::Va => "the va plugin registers it only with a VA-API driver (Intel/AMD) and gstreamer1.0-plugins-bad",
        EncoderFamily::Software => match encoder.codec {
            Codec::H264 => "install gstreamer1.0-plugins-ugly",
            Codec::Hevc => "install gstreamer1.0-plugins-bad",
        },
    };
    format!(
        "--encoder {}: {factory} is not available here ({how}). Use --encoder auto to pick the best working one, or `gst-replay doctor` to see what works",
        encoder.family.name()
    )
}
