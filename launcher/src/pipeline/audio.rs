//! Audio tracks: what `--audio` records, and the chain from each source to the ring's
//! `audio_%u` pad. Encoders are in [`super::audio_encoders`].

use std::fmt;
use std::str::FromStr;

use super::audio_encoders::AudioEncoder;
use super::{Node, Platform, RING_NAME};

/// Every track is converted to this before encoding: what AAC and Opus encoders take
/// everywhere, and what players expect of a screen recording.
pub const AUDIO_RATE: u32 = 48_000;
pub const AUDIO_CHANNELS: u32 = 2;

/// The default `--audio-bitrate`, in kbit/s: transparent stereo AAC-LC.
pub const DEFAULT_AUDIO_BITRATE_KBPS: u32 = 160;
/// The bitrates every encoder in the table accepts for stereo (voaacenc stops at 320).
pub const AUDIO_BITRATE_RANGE_KBPS: std::ops::RangeInclusive<u32> = 32..=320;

/// What one audio track records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioInput {
    /// What the computer plays (the sound server's monitor of the default output, or the
    /// WASAPI loopback of the default render device).
    System,
    /// The default recording device.
    Microphone,
    /// Ticks, one a second: a clip's audio can be heard and checked.
    Test,
}

impl AudioInput {
    pub fn name(self) -> &'static str {
        match self {
            AudioInput::System => "system audio",
            AudioInput::Microphone => "microphone",
            AudioInput::Test => "test ticks",
        }
    }

    /// The source element, set up for `platform`.
    pub fn source(self, platform: Platform) -> Node {
        // provide-clock=false: the pipeline then runs on the system clock, which also stamps
        // the screen capture, so the video's timing never depends on a sound device (a sound
        // server may stop an idle device's clock); the audio source follows that clock.
        match (self, platform) {
            (AudioInput::Test, _) => Node::element("audiotestsrc")
                .with("is-live", true)
                .with("wave", "ticks"),
            // The monitor of the default output; PulseAudio and PipeWire's pulse server both
            // resolve this name.
            (AudioInput::System, Platform::Linux) => Node::element("pulsesrc")
                .with("device", "@DEFAULT_MONITOR@")
                .with("provide-clock", false),
            (AudioInput::Microphone, Platform::Linux) => {
                Node::element("pulsesrc").with("provide-clock", false)
            }
            (AudioInput::System, Platform::Windows) => Node::element("wasapi2src")
                .with("loopback", true)
                .with("provide-clock", false),
            (AudioInput::Microphone, Platform::Windows) => {
                Node::element("wasapi2src").with("provide-clock", false)
            }
        }
    }
}

/// `--audio`: which tracks to record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCapture {
    None,
    System,
    Microphone,
    /// Two tracks: `audio_0` the system, `audio_1` the microphone.
    Both,
    Test,
}

impl AudioCapture {
    /// The tracks in pad order.
    pub fn inputs(self) -> &'static [AudioInput] {
        match self {
            AudioCapture::None => &[],
            AudioCapture::System => &[AudioInput::System],
            AudioCapture::Microphone => &[AudioInput::Microphone],
            AudioCapture::Both => &[AudioInput::System, AudioInput::Microphone],
            AudioCapture::Test => &[AudioInput::Test],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AudioCapture::None => "none",
            AudioCapture::System => "system",
            AudioCapture::Microphone => "mic",
            AudioCapture::Both => "both",
            AudioCapture::Test => "test",
        }
    }
}

impl FromStr for AudioCapture {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(AudioCapture::None),
            "system" => Ok(AudioCapture::System),
            "mic" | "microphone" => Ok(AudioCapture::Microphone),
            "both" => Ok(AudioCapture::Both),
            "test" => Ok(AudioCapture::Test),
            other => Err(format!(
                "audio \"{other}\" is not system (what the computer plays), mic, both, test or none"
            )),
        }
    }
}

impl fmt::Display for AudioCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--audio-bitrate`: kbit/s, "160" or "160k".
pub fn parse_bitrate_kbps(text: &str) -> Result<u32, String> {
    let number = text.trim().trim_end_matches(['k', 'K']);
    match number.parse::<u32>() {
        Ok(kbps) if AUDIO_BITRATE_RANGE_KBPS.contains(&kbps) => Ok(kbps),
        _ => Err(format!(
            "audio bitrate \"{text}\" is not a whole number of kbit/s from {} to {}, such as 160 or 160k",
            AUDIO_BITRATE_RANGE_KBPS.start(),
            AUDIO_BITRATE_RANGE_KBPS.end()
        )),
    }
}

/// The audio half of a pipeline request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioRequest {
    /// One track each, in pad order (`audio_0`, `audio_1`, ...).
    pub inputs: Vec<AudioInput>,
    pub encoder: AudioEncoder,
    pub bitrate_kbps: u32,
}

impl AudioRequest {
    /// One chain per track, each ending on its own ring pad.
    pub fn chains(&self, platform: Platform) -> Vec<Vec<Node>> {
        self.inputs
            .iter()
            .enumerate()
            .map(|(index, input)| self.chain(*input, index, platform))
            .collect()
    }

    fn chain(&self, input: AudioInput, index: usize, platform: Platform) -> Vec<Node> {
        vec![
            input.source(platform),
            // Right after the source: the sound device's own buffer holds a fraction of a
            // second, so anything downstream that stalls longer (an encoder starved of CPU by
            // the video encoder, the ring lining audio up with video) would lose samples.
            Node::element("queue"),
            Node::element("audioconvert"),
            Node::element("audioresample"),
            Node::caps(format!(
                "audio/x-raw,rate={AUDIO_RATE},channels={AUDIO_CHANNELS}"
            )),
            self.encoder.node(self.bitrate_kbps),
            Node::element(self.encoder.codec().parser()),
            Node::pad(RING_NAME, &format!("audio_{index}")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::LaunchLine;

    #[test]
    fn both_is_system_then_microphone() {
        assert_eq!(
            AudioCapture::Both.inputs(),
            [AudioInput::System, AudioInput::Microphone]
        );
        assert!(AudioCapture::None.inputs().is_empty());
    }

    #[test]
    fn bad_audio_values_list_the_accepted_ones() {
        let err = "speakers".parse::<AudioCapture>().unwrap_err();
        assert!(err.contains("system"), "{err}");
        assert!(err.contains("mic, both, test or none"), "{err}");
        assert_eq!("mic".parse(), Ok(AudioCapture::Microphone));
    }

    #[test]
    fn bitrates_are_kbit_per_second_in_range() {
        assert_eq!(parse_bitrate_kbps("160"), Ok(160));
        assert_eq!(parse_bitrate_kbps("96k"), Ok(96));
        for bad in ["0", "16", "321", "loud", "160000", "-1"] {
            let err = parse_bitrate_kbps(bad).unwrap_err();
            assert!(err.contains("from 32 to 320"), "{bad}: {err}");
        }
    }

    #[test]
    fn each_track_ends_on_its_own_ring_pad() {
        let request = AudioRequest {
            inputs: vec![AudioInput::System, AudioInput::Microphone],
            encoder: AudioEncoder::LibavAac,
            bitrate_kbps: 160,
        };
        let mut line = LaunchLine::default();
        for chain in request.chains(Platform::Linux) {
            line.start_chain();
            for node in chain {
                line.push(node);
            }
        }
        assert_eq!(
            line.description(),
            "pulsesrc device=@DEFAULT_MONITOR@ provide-clock=false ! queue ! audioconvert ! audioresample \
             ! audio/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=160000 ! aacparse ! ring.audio_0 \
             pulsesrc provide-clock=false ! queue ! audioconvert ! audioresample \
             ! audio/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=160000 ! aacparse ! ring.audio_1"
        );
    }

    #[test]
    fn windows_records_the_loopback_of_the_default_output() {
        assert_eq!(
            AudioInput::System.source(Platform::Windows),
            Node::element("wasapi2src")
                .with("loopback", true)
                .with("provide-clock", false)
        );
    }
}
