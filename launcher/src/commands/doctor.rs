//! `gst-replay doctor`: what this machine can capture and encode.

use crate::audio_probe;
use crate::display::{self, DisplayKind};
use crate::pipeline::{
    AudioCodec, AudioEncoder, AudioInput, Codec, Encoder, EncoderFamily, Platform,
};
use crate::presets::PresetTable;
use crate::probe::{self, EncoderStatus};

pub fn run() -> anyhow::Result<()> {
    let (major, minor, micro, _) = gst::version();
    println!("GStreamer {major}.{minor}.{micro}");
    let plugin = gst::Registry::get().find_plugin("replay");
    println!(
        "replay plugin: {}",
        match plugin {
            Some(plugin) => format!("built in (version {})", plugin.version()),
            None => "missing (this build of gst-replay is broken)".to_owned(),
        }
    );

    println!("\nSources:");
    let platform = Platform::current();
    match (platform, display::display_kind()) {
        (Platform::Windows, _) => element_line(
            "d3d11screencapturesrc",
            "screen capture (gstreamer1.0-plugins-bad d3d11)",
        ),
        (_, DisplayKind::X11) => {
            element_line("ximagesrc", "screen capture (gstreamer1.0-plugins-good)");
            match display::x11_monitors() {
                Ok(monitors) => {
                    for (index, m) in monitors.iter().enumerate() {
                        println!(
                            "    monitor {index}: {} {}x{} at {},{}",
                            m.name, m.width, m.height, m.x, m.y
                        );
                    }
                }
                Err(err) => println!("    {err}"),
            }
        }
        (_, DisplayKind::Wayland) => {
            println!(
                "  screen: Wayland session without DISPLAY; captured through the desktop portal"
            );
        }
        (_, DisplayKind::None) => {
            println!("  screen: no display (DISPLAY is not set); --source test still works")
        }
    }
    if platform == Platform::Linux {
        portal();
    }
    element_line("videotestsrc", "test pattern (gstreamer1.0-plugins-base)");
    if platform == Platform::Linux {
        element_line(
            "v4l2src",
            "V4L2 capture devices (gstreamer1.0-plugins-good)",
        );
    }

    audio(platform);

    println!("\nEncoders (each encodes a few test frames with the default preset):");
    let preset = PresetTable::built_in()
        .get(crate::plan::DEFAULT_PRESET)?
        .clone();
    for &family in EncoderFamily::candidates(platform) {
        for codec in [Codec::H264, Codec::Hevc] {
            let encoder = Encoder { family, codec };
            let factory = encoder.factory(platform);
            let status = match probe::probe(encoder, &preset) {
                EncoderStatus::Working => "works".to_owned(),
                EncoderStatus::Missing => {
                    format!("missing: {}", probe::missing_message(encoder, platform))
                }
                EncoderStatus::Broken(reason) => format!("installed but failed: {reason}"),
            };
            println!("  {factory:<16} {status}");
        }
    }
    let best = probe::choose(None, Codec::H264, &preset);
    println!(
        "\nAutomatic choice for H.264: {}",
        match best {
            Ok((encoder, _)) => encoder.factory(platform).to_owned(),
            Err(err) => err,
        }
    );
    Ok(())
}

/// The desktop portal, which shares Wayland screens (`--source portal`): read without a dialog.
fn portal() {
    element_line(
        "pipewiresrc",
        "screen shared through the desktop portal (gstreamer1.0-pipewire)",
    );
    #[cfg(unix)]
    {
        use crate::portal::{screencast::Capabilities, Portal};
        let status = Portal::connect()
            .and_then(|portal| Capabilities::read(&portal))
            .map(|capabilities| capabilities.describe())
            .unwrap_or_else(|err| err.to_string());
        println!("    desktop portal: {status}");
    }
}

fn audio(platform: Platform) {
    println!("\nAudio:");
    match platform {
        Platform::Windows => element_line(
            "wasapi2src",
            "system audio and microphone (gstreamer1.0-plugins-bad wasapi2)",
        ),
        Platform::Linux => element_line(
            "pulsesrc",
            "system audio and microphone through PulseAudio or PipeWire (gstreamer1.0-plugins-good)",
        ),
    }
    for input in [AudioInput::System, AudioInput::Microphone] {
        let status = match audio_probe::check_input(input) {
            Ok(()) => "can be recorded".to_owned(),
            Err(reason) => format!("cannot be recorded: {reason}"),
        };
        println!("    {}: {status}", input.name());
    }
    for codec in [AudioCodec::Aac, AudioCodec::Opus] {
        for encoder in AudioEncoder::candidates(codec) {
            element_line(
                encoder.factory(),
                &format!("{} encoder ({})", codec.name(), encoder.package()),
            );
        }
    }
}

fn element_line(factory: &str, what: &str) {
    let found = gst::ElementFactory::find(factory).is_some();
    println!(
        "  {factory:<22} {}  {what}",
        if found { "found  " } else { "MISSING" }
    );
}
