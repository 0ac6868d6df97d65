//! The audio half of a plan: which tracks, which encoder, and the note when the default
//! records none.

use anyhow::bail;

use super::Purpose;
use crate::audio_probe;
use crate::cli::CaptureArgs;
use crate::pipeline::{AudioCapture, AudioCodec, AudioEncoder, AudioRequest, Source};

/// Where a plan is resolved: for a run, or printed for this or another platform.
#[derive(Clone, Copy)]
pub(super) struct Context {
    pub purpose: Purpose,
    /// The plan is for this machine's platform, so its elements and devices can be asked.
    pub here: bool,
}

pub(super) fn resolve(
    args: &CaptureArgs,
    source: &Source,
    context: Context,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<AudioRequest>> {
    let codec = codec(args)?;
    let (capture, explicit) = match args.audio {
        Some(capture) => (capture, true),
        None => (default_capture(source), false),
    };
    if capture == AudioCapture::None {
        return Ok(None);
    }
    match tracks(args, capture, codec, explicit, context, notes) {
        Ok(request) => Ok(Some(request)),
        Err(reason) if explicit => bail!("--audio {capture}: {reason}; or use --audio none"),
        Err(reason) => {
            notes.push(format!(
                "no audio track: {reason}; then --audio {capture} records it, and --audio none silences this note"
            ));
            Ok(None)
        }
    }
}

/// The tracks of `capture`, or why they cannot be recorded.
fn tracks(
    args: &CaptureArgs,
    capture: AudioCapture,
    codec: AudioCodec,
    explicit: bool,
    context: Context,
    notes: &mut Vec<String>,
) -> Result<AudioRequest, String> {
    // A run must be able to record what it asks for; a printed line records what was asked,
    // unless the choice was the default, which is what a run here would choose.
    let run = context.purpose == Purpose::Run;
    if context.here && (run || !explicit) {
        for &input in capture.inputs() {
            audio_probe::check_input(input)?;
        }
    }
    Ok(AudioRequest {
        inputs: capture.inputs().to_vec(),
        encoder: choose_encoder(args, codec, context, notes)?,
        bitrate_kbps: args.audio_bitrate,
    })
}

/// `--audio-codec`, or the forced encoder's codec; the two must agree.
fn codec(args: &CaptureArgs) -> anyhow::Result<AudioCodec> {
    match (args.audio_encoder.0, args.audio_codec) {
        (Some(encoder), Some(codec)) if encoder.codec() != codec => {
            let fitting: Vec<&str> = AudioEncoder::candidates(codec)
                .map(AudioEncoder::factory)
                .collect();
            bail!(
                "--audio-encoder {encoder} encodes {}, not {}; drop --audio-codec, or choose {}",
                encoder.codec().name(),
                codec.name(),
                fitting.join(" or ")
            )
        }
        (Some(encoder), _) => Ok(encoder.codec()),
        (None, codec) => Ok(codec.unwrap_or(AudioCodec::Aac)),
    }
}

/// What the computer plays goes with a capture of its screen, as ShadowPlay records it (on
/// this machine only when it can be recorded: see `resolve`). The test pattern and capture
/// devices get no audio unless asked: tests then choose theirs, and a capture card's sound is
/// not the computer's.
fn default_capture(source: &Source) -> AudioCapture {
    match source {
        Source::Test | Source::V4l2 { .. } => AudioCapture::None,
        Source::Screen { .. } | Source::Window { .. } | Source::Portal { .. } => {
            AudioCapture::System
        }
    }
}

/// The forced encoder, else the best one here, else (for another machine) the assumed one.
fn choose_encoder(
    args: &CaptureArgs,
    codec: AudioCodec,
    context: Context,
    notes: &mut Vec<String>,
) -> Result<AudioEncoder, String> {
    let run = context.purpose == Purpose::Run;
    match args.audio_encoder.0 {
        Some(encoder) if context.here && !audio_probe::is_installed(encoder.factory()) => {
            let missing = format!(
                "{encoder} is not available here (install {})",
                encoder.package()
            );
            if run {
                return Err(format!("{missing}; --audio-encoder auto picks one that is"));
            }
            notes.push(missing);
            Ok(encoder)
        }
        Some(encoder) => Ok(encoder),
        None if context.here => AudioEncoder::best_available(codec, audio_probe::is_installed)
            .ok_or_else(|| {
                let wanted: Vec<String> = AudioEncoder::candidates(codec)
                    .map(|encoder| format!("{encoder} ({})", encoder.package()))
                    .collect();
                format!(
                    "no {} encoder is installed; install one of {}",
                    codec.name(),
                    wanted.join(", ")
                )
            }),
        None => Ok(AudioEncoder::assumed(codec)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::AudioInput;
    use clap::Parser;

    fn capture_args(extra: &[&str]) -> CaptureArgs {
        let mut words = vec!["gst-replay", "pipeline"];
        words.extend(extra);
        match crate::cli::Cli::try_parse_from(words).unwrap().command {
            crate::cli::Command::Pipeline(args) => args.capture,
            _ => unreachable!(),
        }
    }

    fn elsewhere() -> Context {
        Context {
            purpose: Purpose::Print,
            here: false,
        }
    }

    fn resolve_elsewhere(extra: &[&str], source: Source) -> anyhow::Result<Option<AudioRequest>> {
        resolve(&capture_args(extra), &source, elsewhere(), &mut Vec::new())
    }

    #[test]
    fn screen_capture_records_system_audio_by_default_and_test_sources_none() {
        let screen = resolve_elsewhere(&[], Source::Screen { monitor: 0 }).unwrap();
        assert_eq!(
            screen,
            Some(AudioRequest {
                inputs: vec![AudioInput::System],
                encoder: AudioEncoder::LibavAac,
                bitrate_kbps: 160,
            })
        );
        assert_eq!(resolve_elsewhere(&[], Source::Test).unwrap(), None);
        let test = resolve_elsewhere(&["--audio", "test"], Source::Test).unwrap();
        assert_eq!(test.unwrap().inputs, [AudioInput::Test]);
    }

    #[test]
    fn the_codec_follows_a_forced_encoder_and_must_agree_with_it() {
        let opus = resolve_elsewhere(
            &["--audio", "both", "--audio-encoder", "opusenc"],
            Source::Test,
        )
        .unwrap()
        .unwrap();
        assert_eq!(opus.encoder, AudioEncoder::Opus);
        assert_eq!(opus.inputs, [AudioInput::System, AudioInput::Microphone]);
        let err = resolve_elsewhere(
            &[
                "--audio",
                "mic",
                "--audio-encoder",
                "opusenc",
                "--audio-codec",
                "aac",
            ],
            Source::Test,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("opusenc encodes opus, not aac"), "{err}");
        assert!(err.contains("fdkaacenc or avenc_aac or voaacenc"), "{err}");
        let by_codec =
            resolve_elsewhere(&["--audio", "mic", "--audio-codec", "opus"], Source::Test)
                .unwrap()
                .unwrap();
        assert_eq!(by_codec.encoder, AudioEncoder::Opus);
    }

    #[test]
    fn printing_here_picks_an_installed_encoder() {
        gst::init().unwrap();
        let context = Context {
            purpose: Purpose::Print,
            here: true,
        };
        let audio = resolve(
            &capture_args(&["--audio", "test"]),
            &Source::Test,
            context,
            &mut Vec::new(),
        )
        .unwrap()
        .unwrap();
        assert!(audio_probe::is_installed(audio.encoder.factory()));
        assert_eq!(audio.encoder.codec(), AudioCodec::Aac);
    }
}
