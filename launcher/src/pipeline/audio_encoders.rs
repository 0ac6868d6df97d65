//! The audio encoders, best first per codec, and how each is set to a bitrate. The table is
//! data: one row per element, read by the automatic choice, the printers and `doctor`.

use std::fmt;
use std::str::FromStr;

use super::Node;

/// `--audio-codec`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// AAC-LC: plays everywhere MP4 does.
    Aac,
    /// Opus: better at low bitrates; some players and editors do not take it in MP4.
    Opus,
}

impl AudioCodec {
    pub fn name(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aac",
            AudioCodec::Opus => "opus",
        }
    }

    /// The parser that hands the ring framed packets with their codec data.
    pub fn parser(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aacparse",
            AudioCodec::Opus => "opusparse",
        }
    }

    /// FFmpeg's encoder for the same codec.
    pub fn ffmpeg_encoder(self) -> &'static str {
        match self {
            AudioCodec::Aac => "aac",
            AudioCodec::Opus => "libopus",
        }
    }
}

impl FromStr for AudioCodec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "aac" => Ok(AudioCodec::Aac),
            "opus" => Ok(AudioCodec::Opus),
            other => Err(format!("audio codec \"{other}\" is not aac or opus")),
        }
    }
}

/// One audio encoder element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioEncoder {
    FdkAac,
    LibavAac,
    VoAac,
    Opus,
}

struct Row {
    encoder: AudioEncoder,
    factory: &'static str,
    codec: AudioCodec,
    /// Where the element comes from, for the message when it is missing.
    package: &'static str,
}

/// Best first within a codec: FDK is the best AAC encoder GStreamer has, but distributions
/// often leave it out for licensing reasons; FFmpeg's native encoder comes next; VisualOn's is
/// the last resort (lowest quality at a given bitrate).
const TABLE: [Row; 4] = [
    Row {
        encoder: AudioEncoder::FdkAac,
        factory: "fdkaacenc",
        codec: AudioCodec::Aac,
        package: "the fdkaac plugin of gst-plugins-bad, built with fdk-aac",
    },
    Row {
        encoder: AudioEncoder::LibavAac,
        factory: "avenc_aac",
        codec: AudioCodec::Aac,
        package: "gstreamer1.0-libav",
    },
    Row {
        encoder: AudioEncoder::VoAac,
        factory: "voaacenc",
        codec: AudioCodec::Aac,
        package: "gstreamer1.0-plugins-bad",
    },
    Row {
        encoder: AudioEncoder::Opus,
        factory: "opusenc",
        codec: AudioCodec::Opus,
        package: "gstreamer1.0-plugins-base",
    },
];

impl AudioEncoder {
    fn row(self) -> &'static Row {
        TABLE
            .iter()
            .find(|row| row.encoder == self)
            .expect("every encoder has a row")
    }

    pub fn factory(self) -> &'static str {
        self.row().factory
    }

    pub fn codec(self) -> AudioCodec {
        self.row().codec
    }

    pub fn package(self) -> &'static str {
        self.row().package
    }

    /// The encoders of `codec`, best first.
    pub fn candidates(codec: AudioCodec) -> impl Iterator<Item = AudioEncoder> {
        TABLE
            .iter()
            .filter(move |row| row.codec == codec)
            .map(|row| row.encoder)
    }

    /// What to print for a machine that cannot be asked: FFmpeg's AAC encoder ships with
    /// gst-libav in the official Windows installer and in every major distribution.
    pub fn assumed(codec: AudioCodec) -> AudioEncoder {
        match codec {
            AudioCodec::Aac => AudioEncoder::LibavAac,
            AudioCodec::Opus => AudioEncoder::Opus,
        }
    }

    /// The best of `codec` that `is_available` accepts.
    pub fn best_available(
        codec: AudioCodec,
        is_available: impl Fn(&str) -> bool,
    ) -> Option<AudioEncoder> {
        Self::candidates(codec).find(|encoder| is_available(encoder.factory()))
    }

    /// The element at `kbps`. Every encoder in the table takes `bitrate` in bit/s.
    pub fn node(self, kbps: u32) -> Node {
        Node::element(self.factory()).with("bitrate", kbps * 1000)
    }

    fn names() -> String {
        let names: Vec<&str> = TABLE.iter().map(|row| row.factory).collect();
        names.join(", ")
    }
}

impl fmt::Display for AudioEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.factory())
    }
}

impl FromStr for AudioEncoder {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TABLE
            .iter()
            .find(|row| row.factory == text)
            .map(|row| row.encoder)
            .ok_or_else(|| {
                format!(
                    "audio encoder \"{text}\" is not auto or one of {}",
                    Self::names()
                )
            })
    }
}

/// `--audio-encoder`: auto, or one element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioEncoderChoice(pub Option<AudioEncoder>);

impl FromStr for AudioEncoderChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" {
            Ok(AudioEncoderChoice(None))
        } else {
            text.parse()
                .map(|encoder| AudioEncoderChoice(Some(encoder)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::prelude::*;

    #[test]
    fn aac_prefers_fdk_then_libav_then_visualon() {
        let aac: Vec<_> = AudioEncoder::candidates(AudioCodec::Aac).collect();
        assert_eq!(
            aac,
            [
                AudioEncoder::FdkAac,
                AudioEncoder::LibavAac,
                AudioEncoder::VoAac
            ]
        );
        let opus: Vec<_> = AudioEncoder::candidates(AudioCodec::Opus).collect();
        assert_eq!(opus, [AudioEncoder::Opus]);
    }

    #[test]
    fn the_best_installed_encoder_is_chosen() {
        let installed =
            |present: &'static [&'static str]| move |name: &str| present.contains(&name);
        let choose = |present| AudioEncoder::best_available(AudioCodec::Aac, installed(present));
        assert_eq!(
            choose(&["fdkaacenc", "avenc_aac", "voaacenc"]),
            Some(AudioEncoder::FdkAac)
        );
        assert_eq!(
            choose(&["avenc_aac", "voaacenc"]),
            Some(AudioEncoder::LibavAac)
        );
        assert_eq!(choose(&["voaacenc", "opusenc"]), Some(AudioEncoder::VoAac));
        assert_eq!(choose(&["opusenc"]), None);
        assert_eq!(
            AudioEncoder::best_available(AudioCodec::Opus, installed(&["opusenc"])),
            Some(AudioEncoder::Opus)
        );
    }

    #[test]
    fn every_row_names_its_codec_and_package() {
        for row in &TABLE {
            assert_eq!(row.encoder.factory(), row.factory);
            assert_eq!(row.factory.parse(), Ok(row.encoder));
            assert!(!row.package.is_empty());
        }
        assert_eq!(
            AudioEncoder::assumed(AudioCodec::Aac).codec(),
            AudioCodec::Aac
        );
        assert_eq!(
            AudioEncoder::assumed(AudioCodec::Opus).codec(),
            AudioCodec::Opus
        );
    }

    #[test]
    fn bitrates_are_set_in_bits_per_second() {
        assert_eq!(
            AudioEncoder::Opus.node(96),
            Node::element("opusenc").with("bitrate", 96000)
        );
    }

    #[test]
    fn unknown_encoders_list_the_table() {
        let err = "lame".parse::<AudioEncoderChoice>().unwrap_err();
        assert!(
            err.contains("auto or one of fdkaacenc, avenc_aac, voaacenc, opusenc"),
            "{err}"
        );
        assert_eq!("auto".parse(), Ok(AudioEncoderChoice(None)));
        assert!("aac".parse::<AudioCodec>().is_ok());
        assert!("mp3"
            .parse::<AudioCodec>()
            .unwrap_err()
            .contains("aac or opus"));
    }

    /// The elements and properties the table names exist in this GStreamer (those installed).
    #[test]
    fn installed_encoders_take_a_bitrate() {
        gst::init().unwrap();
        for row in &TABLE {
            let Some(factory) = gst::ElementFactory::find(row.factory) else {
                eprintln!("{} is not installed here; not checked", row.factory);
                continue;
            };
            let element = factory.create().build().unwrap();
            assert!(element.has_property("bitrate"), "{}", row.factory);
            assert!(
                gst::ElementFactory::find(row.codec.parser()).is_some(),
                "{}",
                row.codec.parser()
            );
        }
    }
}
