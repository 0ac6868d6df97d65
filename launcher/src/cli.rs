//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::pipeline::audio::{self, DEFAULT_AUDIO_BITRATE_KBPS};
use crate::pipeline::{
    Aspect, AudioCapture, AudioCodec, AudioEncoderChoice, Codec, EncoderFamily, Platform,
};
use crate::units;

#[derive(Parser, Debug)]
#[command(
    name = "gst-replay",
    version,
    about = "Instant replay: capture the screen, keep the last N seconds of encoded video in RAM, \
             save them to MP4 on a hotkey, a signal or a command",
    after_help = "Examples:\n  gst-replay run                      capture, Alt+F10 saves the last 2 minutes\n  \
                  gst-replay save --last 30s          from another shell: save the last 30 s\n  \
                  gst-replay save --last 30s --post 10s --clear\n                                      the last 30 s and the next 10 s; the next clip starts after it\n  \
                  gst-replay status                   what the running replay ring holds\n  \
                  gst-replay pipeline --platform windows --codec hevc --preset high\n  \
                  gst-replay presets --duration 5m    the presets and the RAM they need"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Capture, encode and keep the replay ring; save on hotkey, signal, key press or `gst-replay save`
    Run(RunArgs),
    /// Ask a running `gst-replay run` (or, with --service, a replay service) to save a clip now
    Save(SaveArgs),
    /// Ask a running `gst-replay run` what its replay ring holds and how its saves went
    Status(StatusArgs),
    /// Print the equivalent gst-launch-1.0 command, for this or another platform
    Pipeline(PrintArgs),
    /// Print the equivalent FFmpeg encoder arguments
    FfmpegArgs(FfmpegArgs),
    /// List the encoder presets and the RAM the ring takes with each
    Presets(PresetsArgs),
    /// Check what this machine can capture and encode, and what to install for the rest
    Doctor,
    /// Run the replay service: a replay ring per session fed by network streams, saves on
    /// REST calls (docs/service.md)
    #[cfg(all(unix, feature = "service"))]
    Serve(gst_replay_service::ServeArgs),
}

fn duration_arg(text: &str) -> Result<f64, String> {
    let seconds = units::parse_duration(text)?;
    if (1.0..=3600.0).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "{seconds} s is outside the accepted range of 1 s to 1 h"
        ))
    }
}

/// The longest post-roll: a save stays open, and its clip unwritten, for this long.
pub const MAX_POST_ROLL_SECONDS: f64 = 600.0;

fn post_roll_arg(text: &str) -> Result<f64, String> {
    let seconds = units::parse_duration(text)?;
    if (0.0..=MAX_POST_ROLL_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "a post-roll of {seconds} s is outside the accepted range of 0 s to 10 min"
        ))
    }
}

fn bytes_arg(text: &str) -> Result<u64, String> {
    let bytes = units::parse_bytes(text)?;
    if bytes >= 1024 * 1024 {
        Ok(bytes)
    } else {
        Err("max-bytes must be at least 1M".to_owned())
    }
}

fn fps_arg(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(fps @ 1..=240) => Ok(fps),
        _ => Err(format!(
            "fps \"{text}\" is not a whole number from 1 to 240"
        )),
    }
}

fn quality_arg(text: &str) -> Result<String, String> {
    match text {
        "low" | "medium" | "high" | "lossless" => Ok(text.to_owned()),
        other => Err(format!(
            "quality \"{other}\" is not low, medium, high or lossless"
        )),
    }
}

fn source_arg(text: &str) -> Result<SourceKind, String> {
    match text {
        "screen" => Ok(SourceKind::Screen),
        "window" => Ok(SourceKind::Window),
        "test" => Ok(SourceKind::Test),
        "v4l2" => Ok(SourceKind::V4l2),
        "portal" | "wayland" => Ok(SourceKind::Portal),
        other => Err(format!(
            "source \"{other}\" is not screen, portal, window, test or v4l2"
        )),
    }
}

/// `--encoder`: auto, or one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderChoice(pub Option<EncoderFamily>);

fn encoder_arg(text: &str) -> Result<EncoderChoice, String> {
    if text == "auto" {
        Ok(EncoderChoice(None))
    } else {
        text.parse().map(|family| EncoderChoice(Some(family)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Screen,
    Window,
    Test,
    V4l2,
    /// The screen through the desktop portal (Wayland).
    Portal,
}

/// What to capture and how to encode it: shared by `run`, `pipeline` and `ffmpeg-args`.
#[derive(Args, Debug, Clone)]
pub struct CaptureArgs {
    /// What to capture: screen (X11, or the desktop portal under Wayland), portal (also called
    /// wayland: the desktop portal's screen-sharing dialog), window, test or v4l2 [default:
    /// screen where a display exists, else test]
    #[arg(long, value_parser = source_arg, value_name = "SOURCE")]
    pub source: Option<SourceKind>,
    /// Monitor to capture (0 = the first)
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub monitor: u32,
    /// Window to capture with --source window: its X11 name or id (0x...)
    #[arg(long, value_name = "NAME|ID")]
    pub window: Option<String>,
    /// V4L2 device with --source v4l2
    #[arg(long, default_value = "/dev/video0", value_name = "PATH")]
    pub device: String,
    /// Centred crop to an aspect ratio: native, 16:9, 21:9, 4:3, 1:1 or W:H
    #[arg(long, default_value = "native", value_name = "W:H")]
    pub aspect: Aspect,
    /// Size of the screen (or test pattern) before cropping [default: the monitor's, else 1920x1080]
    #[arg(long, value_parser = units::parse_size, value_name = "WxH")]
    pub screen_size: Option<(u32, u32)>,
    /// Frames per second, 1 to 240
    #[arg(long, default_value = "60", value_parser = fps_arg)]
    pub fps: u32,
    /// h264 or hevc
    #[arg(long, default_value = "h264", value_name = "CODEC")]
    pub codec: Codec,
    /// auto, nvenc, va or software (x264/x265)
    #[arg(long, default_value = "auto", value_parser = encoder_arg, value_name = "ENCODER")]
    pub encoder: EncoderChoice,
    /// Encoder preset (see `gst-replay presets`) [default: high]
    #[arg(long, value_name = "NAME", conflicts_with = "quality")]
    pub preset: Option<String>,
    /// Constant-QP quality instead of a bitrate: low, medium, high or lossless
    #[arg(long, value_parser = quality_arg, value_name = "LEVEL")]
    pub quality: Option<String>,
    /// How much the ring keeps, and what a save writes: 30, 30s, 2m, 1h (1 s to 1 h)
    #[arg(long, default_value = "2m", value_parser = duration_arg, value_name = "DURATION")]
    pub duration: f64,
    /// Hard cap on the ring's memory: 500M, 2G [default: 500M, or what a CBR preset needs if more]
    #[arg(long, value_parser = bytes_arg, value_name = "SIZE")]
    pub max_bytes: Option<u64>,
    /// Where clips go [default: ~/Videos/Replays (Windows: %USERPROFILE%\Videos\Replays), else
    /// the current directory]
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// A TOML file of presets that extends or overrides the built-in table
    #[arg(long, value_name = "FILE")]
    pub presets_file: Option<PathBuf>,
    /// Audio tracks: system (what the computer plays), mic, both (two tracks), test (ticks) or
    /// none [default: system for screen and window capture when a sound server answers, else none]
    #[arg(long, value_name = "TRACKS")]
    pub audio: Option<AudioCapture>,
    /// Audio codec: aac or opus [default: aac, or the --audio-encoder's codec]
    #[arg(long, value_name = "CODEC")]
    pub audio_codec: Option<AudioCodec>,
    /// Audio encoder element: auto, fdkaacenc, avenc_aac, voaacenc or opusenc
    #[arg(long, default_value = "auto", value_name = "ELEMENT")]
    pub audio_encoder: AudioEncoderChoice,
    /// Bitrate of each audio track in kbit/s, 32 to 320
    #[arg(
        long,
        default_value_t = DEFAULT_AUDIO_BITRATE_KBPS,
        value_parser = audio::parse_bitrate_kbps,
        value_name = "KBPS"
    )]
    pub audio_bitrate: u32,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Global hotkey that saves the last --duration (X11 or Windows; "none" to disable)
    #[arg(long, default_value = "Alt+F10", value_name = "KEYS")]
    pub hotkey: String,
    /// Control socket that `gst-replay save` and `gst-replay status` talk to (on Windows a
    /// pipe name: NAME or \\.\pipe\NAME)
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// No desktop notifications
    #[arg(long)]
    pub quiet: bool,
    /// On Ctrl-C or SIGTERM (on Windows also Ctrl-Break or closing the console), save the last
    /// --duration before stopping
    #[arg(long)]
    pub save_on_exit: bool,
    /// Post-roll of saves that do not set their own: each clip also takes the next DURATION
    /// (0 to 10 min), and is written once that has been captured
    #[arg(long, default_value = "0", value_parser = post_roll_arg, value_name = "DURATION")]
    pub post_roll: f64,
    /// After a save, later saves start after the saved range, so clips never overlap
    /// (`gst-replay save --clear` and the `c` key ask for it one save at a time, `gst-replay
    /// save --no-clear` opts one save out)
    #[arg(long)]
    pub clear_on_save: bool,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// How much to save: 30s, 2m (1 s to 1 h) [default: the run's --duration]
    #[arg(long, value_parser = duration_arg, value_name = "DURATION")]
    pub last: Option<f64>,
    /// Also take what comes next: 10s (0 to 10 min); the clip is written once it has been
    /// captured [default: the run's --post-roll]
    #[arg(long, value_parser = post_roll_arg, value_name = "DURATION")]
    pub post: Option<f64>,
    /// Later saves start after this clip, so clips never overlap [default: the run's
    /// --clear-on-save]
    #[arg(long, conflicts_with = "no_clear")]
    pub clear: bool,
    /// Later saves may take this clip's frames again, even in a run started with
    /// --clear-on-save
    #[arg(long)]
    pub no_clear: bool,
    /// File to write instead of the run's output directory and name template
    #[arg(long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Control socket of the running `gst-replay run` (on Windows a pipe name: NAME or
    /// \\.\pipe\NAME)
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// How long to wait for the clip to be written, in seconds, on top of --post
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Save from a running `gst-replay serve` at this URL instead (http://127.0.0.1:8480),
    /// from the session --session
    #[arg(long, value_name = "URL", requires = "session", conflicts_with_all = ["socket", "path", "no_clear"])]
    pub service: Option<String>,
    /// The service's session to save from (with --service)
    #[arg(long, value_name = "ID", requires = "service")]
    pub session: Option<String>,
    /// The service's token (with --service)
    #[arg(
        long,
        env = "GST_REPLAY_TOKEN",
        hide_env_values = true,
        requires = "service"
    )]
    pub token: Option<String>,
}

impl SaveArgs {
    /// What the save asks about clearing: `--clear`, `--no-clear`, or neither (None: the
    /// run's `--clear-on-save` decides).
    pub fn clear_choice(&self) -> Option<bool> {
        match (self.clear, self.no_clear) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            (false, false) => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Control socket of the running `gst-replay run` (on Windows a pipe name: NAME or
    /// \\.\pipe\NAME)
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Print the run's answer as it came: one JSON line
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PrintArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Platform to print for: linux or windows [default: this one]
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<Platform>,
}

#[derive(Args, Debug)]
pub struct FfmpegArgs {
    #[command(flatten)]
    pub print: PrintArgs,
    /// Print a whole ffmpeg command (capture input and output file), not only the encoder arguments
    #[arg(long)]
    pub full: bool,
}

#[derive(Args, Debug)]
pub struct PresetsArgs {
    /// Ring length to size the RAM column for
    #[arg(long, default_value = "2m", value_parser = duration_arg, value_name = "DURATION")]
    pub duration: f64,
    /// Capture size for the constant-QP estimates
    #[arg(long, default_value = "1920x1080", value_parser = units::parse_size, value_name = "WxH")]
    pub size: (u32, u32),
    #[arg(long, default_value = "60", value_parser = fps_arg)]
    pub fps: u32,
    /// A TOML file of presets that extends or overrides the built-in table
    #[arg(long, value_name = "FILE")]
    pub presets_file: Option<PathBuf>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}
