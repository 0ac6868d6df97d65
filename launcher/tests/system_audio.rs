//! System audio end to end: a private PulseAudio server, a screen that flashes white as a tick
//! plays, `gst-replay run --source screen --audio system` saving on its hotkey, and the clip's
//! sound checked against its picture.
// End to end on a Linux test machine: PulseAudio, Xvfb, signals and FFmpeg.
#![cfg(unix)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::sound::{Metronome, SoundServer};
use common::*;

const SAVE: Duration = Duration::from_secs(60);
const SCREEN_SIZE: (u32, u32) = (640, 480);
const FPS: u32 = 30;
/// How long to record before the hotkey: five or six ticks.
const RECORDING: Duration = Duration::from_secs(6);
/// One AAC frame at 48 kHz: the audio's granularity in the file.
const AAC_FRAME_SECONDS: f64 = 1024.0 / 48000.0;
/// A tick counts only after this much quiet, so one cut by the clip's start is not taken for
/// where it began.
const QUIET_BEFORE_TICK_SECONDS: f64 = 0.3;
/// The metronome ticks every second by its sample count; a clip whose ticks are further off
/// than this lost or repeated audio on the way.
const TICK_SPACING_TOLERANCE_SECONDS: f64 = 0.005;
/// How far apart two ticks' offsets from their flashes may be and still count as one: AAC
/// coding smears where a tick starts by a millisecond or two.
const DRIFT_TOLERANCE_SECONDS: f64 = 0.005;

#[test]
fn a_hotkey_clip_of_the_screen_and_system_audio_ticks_in_step_with_its_flashes() {
    let dir = TestDir::new("system-audio");
    let sound = SoundServer::start(&dir.join("pulse"));
    let display = VirtualDisplay::start(&format!("{}x{}", SCREEN_SIZE.0, SCREEN_SIZE.1));
    let _metronome = Metronome::start(&display, SCREEN_SIZE, &sound, &dir.join("metronome.log"));
    let mut env_values = vec![("DISPLAY", display.name.clone())];
    env_values.extend(sound.client_env());
    let env: Vec<(&str, &str)> = env_values
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();

    // With a sound server answering, screen capture records it without being asked.
    let default_line = Command::new(BINARY)
        .args(["pipeline", "--source", "screen"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let default_line = String::from_utf8_lossy(&default_line.stdout);
    assert!(
        default_line.contains("pulsesrc device=@DEFAULT_MONITOR@"),
        "{default_line}"
    );

    let mut command = RunCommand::test_pattern(&dir)
        .set("--source", "screen")
        .without("--screen-size")
        .set("--audio", "system")
        .set("--fps", FPS.to_string())
        .set("--hotkey", "alt+F10");
    for (name, value) in &env {
        command = command.env(name, value);
    }
    let mut run = command.start();
    assert!(
        run.stderr_seen.iter().any(|l| l.contains("system audio (")),
        "{:#?}",
        run.stderr_seen
    );
    std::thread::sleep(RECORDING);
    display.press("alt+F10");
    let event = run.next_event(SAVE);
    assert_eq!(
        (event["event"].as_str(), event["trigger"].as_str()),
        (Some("saved"), Some("hotkey")),
        "{event}"
    );
    let (status, stderr) = run.interrupt();
    assert!(status.success(), "{stderr:#?}");

    let clip = std::path::Path::new(event["path"].as_str().unwrap());
    let codecs: Vec<String> = ffprobe::streams(clip)
        .into_iter()
        .map(|s| s.codec_name)
        .collect();
    assert_eq!(codecs, ["h264", "aac"], "{}", clip.display());
    let (frames, _, errors) = decode_summary(clip);
    assert_eq!(errors, "", "{}", clip.display());
    assert_eq!(frames as u64, event["frames"].as_u64().unwrap());
    let peak = audio_peak_db(clip);
    assert!(peak > -20.0, "the clip's sound is silent: peak {peak} dB");

    let ticks = tick_onsets(&decoded_audio(clip));
    assert!(ticks.len() >= 4, "too few ticks heard: {ticks:?}");
    for pair in ticks.windows(2) {
        let spacing = pair[1] - pair[0];
        assert!(
            (spacing - 1.0).abs() <= TICK_SPACING_TOLERANCE_SECONDS,
            "ticks are not one second apart, so audio was lost or repeated: {ticks:?}"
        );
    }

    let flashes = flash_onsets(&frame_luma(clip));
    assert!(flashes.len() >= 4, "too few flashes seen: {flashes:?}");
    // A flash happened after the last dark frame and by the first bright one, so each tick's
    // offset from its flash is known to within that frame interval (the capture's jitter):
    // from tick - bright to tick - dark.
    let offsets: Vec<(f64, f64)> = ticks
        .iter()
        .filter_map(|&tick| {
            let flash = flashes
                .iter()
                .min_by(|a, b| (a.bright - tick).abs().total_cmp(&(b.bright - tick).abs()))?;
            // A flash can be missing (the metronome's video sink drops late frames): a tick
            // then has none within half a second.
            ((flash.bright - tick).abs() < 0.5).then_some((tick - flash.bright, tick - flash.dark))
        })
        .collect();
    let in_ms = |range: &(f64, f64)| format!("{:+.0}..{:+.0}", range.0 * 1e3, range.1 * 1e3);
    let report = format!(
        "ticks at {ticks:.3?} s, flashes by {:.3?} s; tick minus flash, in ms: {}",
        flashes.iter().map(|f| f.bright).collect::<Vec<_>>(),
        offsets.iter().map(in_ms).collect::<Vec<_>>().join(", ")
    );
    eprintln!("{report}");
    assert!(offsets.len() >= 4, "too few ticks with a flash: {report}");
    let tolerance = 2.0 * AAC_FRAME_SECONDS;
    assert!(
        offsets
            .iter()
            .all(|&(earliest, latest)| earliest <= tolerance && latest >= -tolerance),
        "sound and picture are more than two AAC frames ({tolerance:.3} s) apart: {report}"
    );
    // One offset for the whole clip: every tick's range holds it, give or take a few ms.
    let latest_lower_bound = offsets.iter().map(|o| o.0).fold(f64::MIN, f64::max);
    let earliest_upper_bound = offsets.iter().map(|o| o.1).fold(f64::MAX, f64::min);
    assert!(
        latest_lower_bound - earliest_upper_bound <= DRIFT_TOLERANCE_SECONDS,
        "sound drifts against the picture: {report}"
    );
}

/// Where each tick starts, in seconds: the first sample above a quarter of the loudest after
/// at least [`QUIET_BEFORE_TICK_SECONDS`] below it.
fn tick_onsets(samples: &[f32]) -> Vec<f64> {
    let rate = f64::from(DECODED_AUDIO_RATE);
    let threshold = samples
        .iter()
        .fold(0.0f32, |loudest, s| loudest.max(s.abs()))
        / 4.0;
    let quiet_needed = (QUIET_BEFORE_TICK_SECONDS * rate) as usize;
    let mut quiet_for = 0;
    let mut onsets = Vec::new();
    for (index, sample) in samples.iter().enumerate() {
        if sample.abs() > threshold {
            if quiet_for >= quiet_needed {
                onsets.push(index as f64 / rate);
            }
            quiet_for = 0;
        } else {
            quiet_for += 1;
        }
    }
    onsets
}

/// The screen turned bright after `dark` and by `bright`: the presentation times, in seconds,
/// of the frames either side of a flash's start.
#[derive(Debug)]
struct Flash {
    dark: f64,
    bright: f64,
}

/// Each time the average luma crosses the middle of the clip's range upwards.
fn flash_onsets(frames: &[(f64, f64)]) -> Vec<Flash> {
    let darkest = frames.iter().map(|f| f.1).fold(f64::MAX, f64::min);
    let brightest = frames.iter().map(|f| f.1).fold(f64::MIN, f64::max);
    assert!(
        brightest - darkest > 100.0,
        "the screen never flashed: average luma from {darkest} to {brightest}"
    );
    let middle = (darkest + brightest) / 2.0;
    frames
        .windows(2)
        .filter(|pair| pair[0].1 < middle && pair[1].1 >= middle)
        .map(|pair| Flash {
            dark: pair[0].0,
            bright: pair[1].0,
        })
        .collect()
}
