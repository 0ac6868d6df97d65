//! The benchmark input: an Annex B file from `benches/gen-input.sh`, split into access units,
//! in the stream format the caps say.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::timeline::FPS;
use crate::Result;

/// Which file to read and how to hand it to the element.
#[derive(clap::Args)]
pub struct InputArgs {
    /// Annex B H.264 (.h264) or H.265 (.h265) with access-unit delimiters.
    #[arg(long)]
    pub input: PathBuf,
    /// `byte-stream` as the file is, or `avc` (`hvc1` for H.265) as h264parse/h265parse
    /// negotiate with replayring.
    #[arg(long, default_value = "byte-stream")]
    pub format: String,
    /// Width and height in the caps, WxH.
    #[arg(long, default_value = "1920x1080")]
    pub size: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

pub struct FrameIndex {
    pub offset: u64,
    pub len: usize,
    pub keyframe: bool,
}

pub struct Input {
    pub path: PathBuf,
    pub codec: Codec,
    pub frames: Vec<FrameIndex>,
    /// `avc`/`hvc1` (4-byte lengths, codec_data in the caps: what h264parse/h265parse
    /// negotiate with replayring) instead of the file's Annex B byte-stream.
    pub codec_data: Option<gst::Buffer>,
    /// Width and height in the caps (`--size WxH`).
    pub size: (i32, i32),
}

impl Input {
    pub fn from_args(args: &InputArgs, max_frames: Option<usize>) -> Result<Input> {
        let mut input = Input::open(&args.input, max_frames)?;
        let (w, h) = args.size.split_once('x').ok_or("--size WxH")?;
        input.size = (
            w.parse().map_err(|_| "--size WxH")?,
            h.parse().map_err(|_| "--size WxH")?,
        );
        match args.format.as_str() {
            "byte-stream" => {}
            "avc" => input.codec_data = Some(input.decoder_config()?),
            other => return Err(format!("unknown --format {other}")),
        }
        Ok(input)
    }

    pub fn format_name(&self) -> &'static str {
        match (self.codec_data.is_some(), self.codec) {
            (false, _) => "byte-stream",
            (true, Codec::H264) => "avc",
            (true, Codec::H265) => "hvc1",
        }
    }

    fn lib_codec(&self) -> gstreplay::codec::VideoCodec {
        match self.codec {
            Codec::H264 => gstreplay::codec::VideoCodec::H264,
            Codec::H265 => gstreplay::codec::VideoCodec::H265,
        }
    }

    /// avcC/hvcC from the parameter sets of the first keyframe.
    pub fn decoder_config(&self) -> Result<gst::Buffer> {
        use gstreplay::codec::{self, NalFraming};
        let first = read_frame(
            &File::open(&self.path).map_err(|e| e.to_string())?,
            &self.frames[0],
        )?;
        let map = first.map_readable().map_err(|e| e.to_string())?;
        let data = map.as_slice();
        let nals: Vec<&[u8]> = codec::nal_units(data, NalFraming::ByteStream)
            .filter_map(|unit| unit.ok())
            .map(|unit| &data[unit.nal])
            .collect();
        let record = codec::decoder_config_from_parameter_sets(self.lib_codec(), &nals)
            .map_err(|e| e.to_string())?;
        Ok(gst::Buffer::from_mut_slice(record))
    }

    /// A frame as this input's format carries it.
    pub fn convert(&self, annex_b: gst::Buffer) -> Result<gst::Buffer> {
        use gstreplay::codec::{self, NalFraming};
        if self.codec_data.is_none() {
            return Ok(annex_b);
        }
        let map = annex_b.map_readable().map_err(|e| e.to_string())?;
        let mut pieces = Vec::new();
        codec::plan_sample(
            self.lib_codec(),
            map.as_slice(),
            NalFraming::ByteStream,
            false,
            &mut pieces,
        )
        .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(map.len());
        gstreplay::clip_writer::write_pieces(&mut out, map.as_slice(), &pieces)
            .map_err(|e| e.to_string())?;
        // avc can be a few bytes longer than Annex B: no doubled capacity left in the buffer.
        out.shrink_to_fit();
        Ok(gst::Buffer::from_mut_slice(out))
    }

    /// Splits the file into access units at the access-unit delimiters.
    pub fn open(path: &Path, max_frames: Option<usize>) -> Result<Input> {
        let extension = path.extension().and_then(|e| e.to_str());
        let codec = if matches!(extension, Some("h265" | "hevc")) {
            Codec::H265
        } else {
            Codec::H264
        };
        let mut data = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| {
                format!(
                    "cannot read {}: {e} (run benches/gen-input.sh)",
                    path.display()
                )
            })?;
        let mut starts: Vec<(usize, bool)> = Vec::new(); // (AU start, keyframe)
        let mut i = 0;
        while i + 3 < data.len() {
            if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                let header = data[i + 3];
                let (is_aud, is_key) = match codec {
                    Codec::H264 => (header & 0x1f == 9, header & 0x1f == 5),
                    Codec::H265 => {
                        let t = (header >> 1) & 0x3f;
                        (t == 35, (16..=21).contains(&t))
                    }
                };
                if is_aud {
                    if max_frames.is_some_and(|m| starts.len() == m) {
                        break;
                    }
                    let start = if i > 0 && data[i - 1] == 0 { i - 1 } else { i };
                    starts.push((start, false));
                } else if is_key {
                    if let Some(last) = starts.last_mut() {
                        last.1 = true;
                    }
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        let end_of_last = if max_frames.is_some_and(|m| starts.len() == m) {
            i - usize::from(i > 0 && data[i - 1] == 0)
        } else {
            data.len()
        };
        let frames = starts
            .iter()
            .enumerate()
            .map(|(n, &(start, keyframe))| {
                let end = starts.get(n + 1).map_or(end_of_last, |next| next.0);
                FrameIndex {
                    offset: start as u64,
                    len: end - start,
                    keyframe,
                }
            })
            .collect::<Vec<_>>();
        if frames.is_empty() || !frames[0].keyframe {
            return Err(format!(
                "{}: no access-unit delimiters or no leading keyframe",
                path.display()
            ));
        }
        Ok(Input {
            path: path.to_owned(),
            codec,
            frames,
            codec_data: None,
            size: (1920, 1080),
        })
    }

    pub fn caps(&self) -> gst::Caps {
        let name = match self.codec {
            Codec::H264 => "video/x-h264",
            Codec::H265 => "video/x-h265",
        };
        let mut caps = gst::Caps::builder(name)
            .field("stream-format", self.format_name())
            .field("alignment", "au")
            .field("width", self.size.0)
            .field("height", self.size.1)
            .field("framerate", gst::Fraction::new(FPS as i32, 1))
            .build();
        if let Some(record) = &self.codec_data {
            caps.make_mut().set("codec_data", record);
        }
        caps
    }

    /// Annex B bytes of the input file (the payload is 4 bytes a NAL shorter or longer in avc).
    pub fn bytes(&self) -> u64 {
        self.frames.iter().map(|f| f.len as u64).sum()
    }

    /// One buffer per frame, each with memory of its own (as encoder output is).
    pub fn load_payloads(&self) -> Result<Vec<gst::Buffer>> {
        let file = File::open(&self.path).map_err(|e| e.to_string())?;
        self.frames
            .iter()
            .map(|f| read_frame(&file, f).and_then(|b| self.convert(b)))
            .collect()
    }
}

pub fn read_frame(file: &File, frame: &FrameIndex) -> Result<gst::Buffer> {
    let mut buffer = gst::Buffer::with_size(frame.len).map_err(|e| e.to_string())?;
    {
        let b = buffer.get_mut().expect("new buffer is writable");
        let mut map = b.map_writable().map_err(|e| e.to_string())?;
        file.read_exact_at(map.as_mut_slice(), frame.offset)
            .map_err(|e| e.to_string())?;
    }
    Ok(buffer)
}
