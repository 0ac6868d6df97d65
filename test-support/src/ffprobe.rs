//! ffprobe, run with `-of json` and read with serde.
//!
//! [`Ffprobe`] builds one run; the functions below are the runs the suites make most. A run
//! that fails panics with ffprobe's stderr and the file's name.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Deserializer};

use crate::{require_tool, run_ok};

/// What one ffprobe run printed: each section is empty unless the run asked for it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Probe {
    #[serde(default)]
    pub streams: Vec<Stream>,
    #[serde(default)]
    pub packets: Vec<Packet>,
    #[serde(default)]
    pub frames: Vec<Frame>,
    pub format: Option<Format>,
}

/// One decoded frame (`-show_entries frame=...`).
#[derive(Debug, Clone, Deserialize)]
pub struct Frame {
    /// Seconds: the frame's presentation time as FFmpeg shows it.
    #[serde(default, deserialize_with = "number")]
    pub best_effort_timestamp_time: Option<f64>,
}

/// One stream (`-show_streams`). ffprobe leaves out what does not apply (a width for audio,
/// a frame count without `-count_frames`): those are `None`.
#[derive(Debug, Clone, Deserialize)]
pub struct Stream {
    pub index: u32,
    #[serde(default)]
    pub codec_type: String,
    #[serde(default)]
    pub codec_name: String,
    #[serde(default)]
    pub codec_tag_string: String,
    pub profile: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub channels: Option<u32>,
    #[serde(default, deserialize_with = "number")]
    pub sample_rate: Option<u32>,
    /// "1/12800".
    #[serde(default)]
    pub time_base: String,
    /// Seconds.
    #[serde(default, deserialize_with = "number")]
    pub start_time: Option<f64>,
    /// Seconds.
    #[serde(default, deserialize_with = "number")]
    pub duration: Option<f64>,
    /// With `-count_frames`: frames decoded.
    #[serde(default, deserialize_with = "number")]
    pub nb_read_frames: Option<u64>,
    /// With `-count_packets`.
    #[serde(default, deserialize_with = "number")]
    pub nb_read_packets: Option<u64>,
}

/// One packet (`-show_packets`), in file order.
#[derive(Debug, Clone, Deserialize)]
pub struct Packet {
    pub stream_index: u32,
    /// In the stream's time base.
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: Option<i64>,
    /// Seconds.
    #[serde(default, deserialize_with = "number")]
    pub pts_time: Option<f64>,
    #[serde(default, deserialize_with = "number")]
    pub dts_time: Option<f64>,
    #[serde(deserialize_with = "required_number")]
    pub size: u64,
    /// "K__": K keyframe, D discard, C corrupt.
    pub flags: String,
}

/// The container (`-show_format`).
#[derive(Debug, Clone, Deserialize)]
pub struct Format {
    /// Seconds.
    #[serde(default, deserialize_with = "number")]
    pub duration: Option<f64>,
}

impl Stream {
    /// Seconds; panics when ffprobe gave none.
    pub fn duration(&self) -> f64 {
        self.duration
            .unwrap_or_else(|| panic!("ffprobe gave stream {} no duration", self.index))
    }

    /// Frames decoded; panics unless the run counted them.
    pub fn frames(&self) -> u64 {
        self.nb_read_frames.unwrap_or_else(|| {
            panic!(
                "stream {} has no frame count (ffprobe needs -count_frames)",
                self.index
            )
        })
    }
}

impl Packet {
    pub fn keyframe(&self) -> bool {
        self.flags.starts_with('K')
    }

    pub fn discarded(&self) -> bool {
        self.flags.contains('D')
    }

    /// Seconds; panics when the packet has no presentation time.
    pub fn pts_seconds(&self) -> f64 {
        self.pts_time
            .unwrap_or_else(|| panic!("a packet without pts: {self:?}"))
    }

    /// Seconds; panics when the packet has no decode time.
    pub fn dts_seconds(&self) -> f64 {
        self.dts_time
            .unwrap_or_else(|| panic!("a packet without dts: {self:?}"))
    }
}

/// ffprobe writes many numbers as strings ("2.000000", "48000"); this takes both forms.
fn number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
{
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(text)) => text,
        Some(serde_json::Value::Number(number)) => number.to_string(),
        Some(other) => return Err(serde::de::Error::custom(format!("not a number: {other}"))),
    };
    match text.as_str() {
        "N/A" => Ok(None),
        _ => text
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("not a number: {text:?}"))),
    }
}

fn required_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
{
    number(deserializer)?.ok_or_else(|| serde::de::Error::custom("a number is missing"))
}

/// One ffprobe run: `ffprobe -v error -of json`, the sections asked for, the file.
#[derive(Debug, Clone)]
pub struct Ffprobe {
    args: Vec<String>,
}

impl Default for Ffprobe {
    fn default() -> Self {
        Ffprobe::new()
    }
}

impl Ffprobe {
    pub fn new() -> Ffprobe {
        Ffprobe { args: Vec::new() }
    }

    pub fn streams(self) -> Ffprobe {
        self.arg("-show_streams")
    }

    pub fn packets(self) -> Ffprobe {
        self.arg("-show_packets")
    }

    pub fn format(self) -> Ffprobe {
        self.arg("-show_format")
    }

    /// Decode every frame to count them (`nb_read_frames`).
    pub fn count_frames(self) -> Ffprobe {
        self.arg("-count_frames")
    }

    /// Count the packets (`nb_read_packets`).
    pub fn count_packets(self) -> Ffprobe {
        self.arg("-count_packets")
    }

    /// Only the streams `specifier` names, e.g. `v:0`.
    pub fn select_streams(self, specifier: &str) -> Ffprobe {
        self.arg("-select_streams").arg(specifier)
    }

    /// Any other option, e.g. `-fflags +noparse`.
    pub fn arg(mut self, arg: &str) -> Ffprobe {
        self.args.push(arg.to_owned());
        self
    }

    pub fn run(&self, path: &Path) -> Probe {
        require_tool("ffprobe");
        let output = run_ok(
            Command::new("ffprobe")
                .args(["-v", "error"])
                .args(&self.args)
                .args(["-of", "json"])
                .arg(path),
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!(
                "ffprobe {} {}: unexpected JSON ({err}): {}",
                self.args.join(" "),
                path.display(),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

/// Every stream of the file.
pub fn streams(path: &Path) -> Vec<Stream> {
    Ffprobe::new().streams().run(path).streams
}

/// The first video stream, its frames counted (ffprobe decodes the whole stream for that).
pub fn video_stream(path: &Path) -> Stream {
    let mut streams = Ffprobe::new()
        .streams()
        .count_frames()
        .select_streams("v:0")
        .run(path)
        .streams;
    assert_eq!(streams.len(), 1, "{}: no video stream", path.display());
    streams.remove(0)
}

/// The packets of the first video stream, in file order.
pub fn video_packets(path: &Path) -> Vec<Packet> {
    Ffprobe::new()
        .packets()
        .select_streams("v:0")
        .run(path)
        .packets
}

/// Presentation times, in seconds, of the first video stream's decoded frames in the order
/// they are shown.
pub fn frame_times(path: &Path) -> Vec<f64> {
    Ffprobe::new()
        .select_streams("v:0")
        .arg("-show_entries")
        .arg("frame=best_effort_timestamp_time")
        .run(path)
        .frames
        .iter()
        .filter_map(|frame| frame.best_effort_timestamp_time)
        .collect()
}

/// The container's duration in seconds.
pub fn format_duration(path: &Path) -> f64 {
    Ffprobe::new()
        .format()
        .run(path)
        .format
        .and_then(|format| format.duration)
        .unwrap_or_else(|| panic!("ffprobe gave {} no duration", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_ffprobe_writes_as_strings() {
        let probe: Probe = serde_json::from_str(
            r#"{ "packets": [ { "stream_index": 0, "pts": -1024, "dts": -2048,
                   "pts_time": "-0.080000", "size": "17", "flags": "K__" } ],
                 "streams": [ { "index": 0, "codec_name": "h264", "width": 320,
                   "duration": "2.000000", "nb_read_frames": "50", "sample_rate": "N/A" } ],
                 "format": { "duration": "2.040000" } }"#,
        )
        .unwrap();
        let packet = &probe.packets[0];
        assert_eq!(
            (packet.pts, packet.dts, packet.size),
            (Some(-1024), Some(-2048), 17)
        );
        assert_eq!(packet.pts_seconds(), -0.08);
        assert!(packet.keyframe() && !packet.discarded());
        assert_eq!(packet.dts_time, None);
        let stream = &probe.streams[0];
        assert_eq!((stream.duration(), stream.frames()), (2.0, 50));
        assert_eq!(
            (stream.width, stream.height, stream.sample_rate),
            (Some(320), None, None)
        );
        assert_eq!(probe.format.unwrap().duration, Some(2.04));
    }

    #[test]
    fn a_failed_run_names_the_file() {
        let missing = Path::new("/nonexistent/clip.mp4");
        let panic = std::panic::catch_unwind(|| streams(missing)).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("/nonexistent/clip.mp4"), "{message}");
    }
}
