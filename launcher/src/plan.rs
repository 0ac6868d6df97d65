//! Turns command-line choices into a pipeline request, filling in the defaults that make
//! `gst-replay run` work anywhere.

mod audio;

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::cli::{CaptureArgs, SourceKind};
use crate::display::{self, DisplayKind};
use crate::pipeline::{Encoder, EncoderFamily, PipelineRequest, Platform, Source};
use crate::presets::{PresetTable, RateControl};
use crate::probe;

pub const DEFAULT_PRESET: &str = "high";
pub const DEFAULT_SCREEN: (u32, u32) = (1920, 1080);
/// The ring's default byte cap, unless a CBR preset needs more for --duration.
pub const DEFAULT_MAX_BYTES: u64 = 500 * 1024 * 1024;

/// How the encoder is picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EncoderSelection {
    /// Probe this machine: what `run` does, and `pipeline` on this platform in auto mode.
    ProbeHere,
    /// Take the forced family, or the platform's best, without probing.
    Assume,
}

/// A resolved request plus notes to tell the user (defaults taken, fallbacks).
pub struct Plan {
    pub request: PipelineRequest,
    pub notes: Vec<String>,
}

/// What the plan is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `run`: capture here with an encoder that works here.
    Run,
    /// `pipeline`/`ffmpeg-args`: print; a forced encoder is printed even if missing here, and
    /// the gst-launch-1.0 line saves the ring when Ctrl-C sends EOS.
    Print,
}

pub fn resolve(args: &CaptureArgs, platform: Platform, purpose: Purpose) -> anyhow::Result<Plan> {
    let mut notes = Vec::new();
    let table = PresetTable::load(args.presets_file.as_deref())?;
    let preset_name = match (&args.quality, &args.preset) {
        (Some(level), _) => format!("quality-{level}"),
        (None, Some(name)) => name.clone(),
        (None, None) => DEFAULT_PRESET.to_owned(),
    };
    let preset = table.get(&preset_name)?.clone();

    let here = platform == Platform::current();
    let source = choose_source(args, platform, here, &mut notes)?;
    if matches!(source, Source::Portal { .. }) {
        notes.extend(portal_notes(args, purpose));
    }
    let (screen, screen_origin) = screen_geometry(args, &source, platform, here, &mut notes)?;

    let selection = match (purpose, args.encoder.0) {
        (Purpose::Run, _) | (Purpose::Print, None) if here => EncoderSelection::ProbeHere,
        _ => EncoderSelection::Assume,
    };
    let encoder = match selection {
        EncoderSelection::ProbeHere => {
            let (encoder, passed_over) =
                probe::choose(args.encoder.0, args.codec, &preset).map_err(anyhow::Error::msg)?;
            notes.extend(
                passed_over
                    .into_iter()
                    .map(|line| format!("encoder fallback: {line}")),
            );
            encoder
        }
        EncoderSelection::Assume => {
            let encoder = Encoder {
                family: args
                    .encoder
                    .0
                    .unwrap_or(EncoderFamily::candidates(platform)[0]),
                codec: args.codec,
            };
            if here && gst::ElementFactory::find(encoder.factory(platform)).is_none() {
                notes.push(format!(
                    "{} is not available on this machine",
                    encoder.factory(platform)
                ));
            }
            encoder
        }
    };

    let max_bytes = match args.max_bytes {
        Some(bytes) => bytes,
        None => default_max_bytes(&preset, args.duration),
    };
    if preset.rate_control == RateControl::Cbr {
        let needed = preset
            .ring_bytes_estimate(args.duration, screen.0, screen.1, args.fps)
            .bytes();
        if (max_bytes as f64) < needed {
            notes.push(format!(
                "--max-bytes {max_bytes} holds less than {} s at {} kbit/s ({} bytes): the ring will keep less; raise --max-bytes",
                args.duration,
                preset.bitrate_kbps.unwrap_or_default(),
                needed.round()
            ));
        }
    }

    let audio = audio::resolve(args, &source, audio::Context { purpose, here }, &mut notes)?;

    let output_dir = match &args.output_dir {
        Some(dir) => dir.clone(),
        None => default_output_dir(),
    };
    Ok(Plan {
        request: PipelineRequest {
            platform,
            source,
            screen,
            screen_origin,
            aspect: args.aspect,
            fps: args.fps,
            encoder,
            preset,
            audio,
            duration: args.duration,
            max_bytes,
            output_dir,
            save_on_eos: purpose == Purpose::Print,
        },
        notes,
    })
}

fn default_max_bytes(preset: &crate::presets::Preset, duration: f64) -> u64 {
    let needed = match preset.rate_control {
        RateControl::Cbr => preset.ring_bytes_estimate(duration, 0, 0, 0).bytes() * 1.25,
        RateControl::Constqp => 0.0,
    };
    DEFAULT_MAX_BYTES.max(needed.round() as u64)
}

/// `~/Videos/Replays` (`%USERPROFILE%\Videos\Replays` on Windows), or the current directory
/// without a home.
pub fn default_output_dir() -> PathBuf {
    // Windows keeps the home in USERPROFILE; HOME there is set only by some shells (MSYS2,
    // Git Bash), which would put clips somewhere else depending on where `run` was started.
    let home_variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    match std::env::var_os(home_variable) {
        Some(home) if !home.is_empty() => PathBuf::from(home).join("Videos").join("Replays"),
        _ => PathBuf::from("."),
    }
}

fn choose_source(
    args: &CaptureArgs,
    platform: Platform,
    here: bool,
    notes: &mut Vec<String>,
) -> anyhow::Result<Source> {
    let linux_here = here && platform == Platform::Linux;
    let kind = match args.source {
        // ximagesrc needs an X display: Wayland shares its screens through the portal.
        Some(SourceKind::Screen)
            if linux_here && display::display_kind() == DisplayKind::Wayland =>
        {
            SourceKind::Portal
        }
        Some(kind) => kind,
        None if !linux_here => SourceKind::Screen,
        None => match display::display_kind() {
            DisplayKind::X11 => SourceKind::Screen,
            DisplayKind::Wayland => SourceKind::Portal,
            DisplayKind::None => {
                notes.push("no display: capturing the test pattern".to_owned());
                SourceKind::Test
            }
        },
    };
    if kind == SourceKind::Screen && linux_here && display::is_xwayland() {
        notes.push(
            "capturing the X11 display of a Wayland session (XWayland), which shows X11 windows \
             only; --source portal captures the whole screen through the desktop's sharing dialog"
                .to_owned(),
        );
    }
    Ok(match kind {
        SourceKind::Screen => Source::Screen {
            monitor: args.monitor,
        },
        SourceKind::Portal => {
            if platform == Platform::Windows {
                bail!(
                    "--source portal is the Linux desktop portal; on Windows use --source screen"
                );
            }
            Source::Portal { stream: None }
        }
        SourceKind::Test => Source::Test,
        SourceKind::V4l2 => {
            if platform == Platform::Windows {
                bail!("--source v4l2 is a Linux source; on Windows use --source screen or test");
            }
            Source::V4l2 {
                device: args.device.clone(),
            }
        }
        SourceKind::Window => {
            if platform == Platform::Windows {
                bail!("--source window is not available on Windows with GStreamer 1.22; use --source screen with --monitor");
            }
            let window = args
                .window
                .clone()
                .context("--source window needs --window NAME or --window 0xID (see `xwininfo`)")?;
            Source::Window { window }
        }
    })
}

/// What the portal changes about the options: the dialog picks the monitor, and the size
/// is known once it answers.
fn portal_notes(args: &CaptureArgs, purpose: Purpose) -> Vec<String> {
    let mut notes = Vec::new();
    if args.monitor != 0 {
        notes.push(
            "--monitor is ignored with the desktop portal: its dialog asks which screen to share"
                .to_owned(),
        );
    }
    let guessed_size = args.aspect != crate::pipeline::Aspect::Native && args.screen_size.is_none();
    if purpose == Purpose::Print && guessed_size {
        notes.push(format!(
            "cropping for a {}x{} screen; pass --screen-size for another (`gst-replay run` crops \
             the size the portal sends)",
            DEFAULT_SCREEN.0, DEFAULT_SCREEN.1
        ));
    }
    notes
}

type Geometry = ((u32, u32), (u32, u32));

fn screen_geometry(
    args: &CaptureArgs,
    source: &Source,
    platform: Platform,
    here: bool,
    notes: &mut Vec<String>,
) -> anyhow::Result<Geometry> {
    if let Some(size) = args.screen_size {
        return Ok((size, (0, 0)));
    }
    // The portal's screen is known once it answers: `run` then takes the stream's size.
    let Source::Screen { monitor } = source else {
        return Ok((DEFAULT_SCREEN, (0, 0)));
    };
    if !(here && platform == Platform::Linux) {
        if args.aspect != crate::pipeline::Aspect::Native {
            notes.push(format!(
                "cropping for a {}x{} screen; pass --screen-size for another",
                DEFAULT_SCREEN.0, DEFAULT_SCREEN.1
            ));
        }
        return Ok((DEFAULT_SCREEN, (0, 0)));
    }
    let monitors = display::x11_monitors().map_err(anyhow::Error::msg)?;
    let Some(chosen) = monitors.get(*monitor as usize) else {
        bail!(
            "--monitor {monitor} does not exist: this display has {} monitor(s), numbered from 0",
            monitors.len()
        );
    };
    Ok(((chosen.width, chosen.height), (chosen.x, chosen.y)))
}
