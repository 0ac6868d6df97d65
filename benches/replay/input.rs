//! The benchmark input, the GStreamer way: an Annex B file from `benches/gen-input.sh` parsed
//! by `filesrc ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! appsink` (h265parse
//! and `hvc1` for .h265), so the element gets the access units and caps (with `codec_data`)
//! that it gets behind a parser in a real pipeline.

use std::path::{Path, PathBuf};

use gst::prelude::*;

use crate::timeline::FPS;
use crate::Result;

/// Which file to read.
#[derive(clap::Args)]
pub struct InputArgs {
    /// Annex B H.264 (.h264) or H.265 (.h265 or .hevc), from benches/gen-input.sh.
    #[arg(long)]
    pub input: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

impl Codec {
    fn of(path: &Path) -> Codec {
        match path.extension().and_then(|e| e.to_str()) {
            Some("h265" | "hevc") => Codec::H265,
            _ => Codec::H264,
        }
    }

    pub fn parser(self) -> &'static str {
        match self {
            Codec::H264 => "h264parse",
            Codec::H265 => "h265parse",
        }
    }

    /// What the parser is asked for: length-prefixed access units with codec_data.
    fn parsed_caps(self) -> gst::Caps {
        let (media_type, stream_format) = match self {
            Codec::H264 => ("video/x-h264", "avc"),
            Codec::H265 => ("video/x-h265", "hvc1"),
        };
        gst::Caps::builder(media_type)
            .field("stream-format", stream_format)
            .field("alignment", "au")
            .build()
    }
}

/// The parsing pipeline, handing out one access unit at a time: the parser waits while the
/// appsink holds one, so no more than a frame or two of payload exists outside the caller's.
pub struct AccessUnits {
    pipeline: gst::Pipeline,
    appsink: gst_app::AppSink,
    path: PathBuf,
}

impl AccessUnits {
    pub fn open(path: &Path) -> Result<AccessUnits> {
        if !path.is_file() {
            return Err(format!(
                "cannot read {} (run benches/gen-input.sh)",
                path.display()
            ));
        }
        let codec = Codec::of(path);
        let make = |factory: &str| {
            gst::ElementFactory::make(factory)
                .build()
                .map_err(|e| format!("{factory}: {e}"))
        };
        let filesrc = make("filesrc")?;
        filesrc.set_property("location", path.to_str().ok_or("path is not UTF-8")?);
        let parser = make(codec.parser())?;
        let appsink = gst_app::AppSink::builder()
            .caps(&codec.parsed_caps())
            .max_buffers(1)
            .sync(false)
            // Else the sink keeps a reference to the frame it handed out last.
            .enable_last_sample(false)
            .build();
        let pipeline = gst::Pipeline::new();
        pipeline
            .add_many([&filesrc, &parser, appsink.upcast_ref()])
            .map_err(|e| e.to_string())?;
        gst::Element::link_many([&filesrc, &parser, appsink.upcast_ref()])
            .map_err(|e| e.to_string())?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| format!("{} ! {}: {e}", path.display(), codec.parser()))?;
        Ok(AccessUnits {
            pipeline,
            appsink,
            path: path.to_owned(),
        })
    }

    /// The next access unit with its caps, or None at the end of the file.
    pub fn next_sample(&mut self) -> Result<Option<gst::Sample>> {
        match self.appsink.pull_sample() {
            Ok(sample) => Ok(Some(sample)),
            Err(_) if self.appsink.is_eos() => Ok(None),
            Err(_) => {
                let bus = self.pipeline.bus().expect("a pipeline has a bus");
                let error = bus
                    .pop_filtered(&[gst::MessageType::Error])
                    .map(|msg| match msg.view() {
                        gst::MessageView::Error(e) => format!("{} ({:?})", e.error(), e.debug()),
                        _ => unreachable!(),
                    })
                    .unwrap_or_else(|| "the pipeline stopped".into());
                Err(format!("parsing {}: {error}", self.path.display()))
            }
        }
    }
}

impl Drop for AccessUnits {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The whole input in RAM, one buffer per access unit.
pub struct Input {
    pub codec: Codec,
    /// As the parser negotiated them: size, framerate and codec_data from the stream itself.
    pub caps: gst::Caps,
    pub frames: Vec<gst::Buffer>,
}

impl Input {
    pub fn load(args: &InputArgs, max_frames: Option<usize>) -> Result<Input> {
        let mut units = AccessUnits::open(&args.input)?;
        let mut caps = None;
        let mut frames = Vec::new();
        while max_frames.is_none_or(|max| frames.len() < max) {
            let Some(sample) = units.next_sample()? else {
                break;
            };
            caps = caps.or_else(|| sample.caps_owned());
            frames.push(sample.buffer_owned().ok_or("a sample without a buffer")?);
        }
        let caps = caps.ok_or_else(|| format!("{}: no access units", args.input.display()))?;
        if !is_keyframe(&frames[0]) {
            return Err(format!("{}: no leading keyframe", args.input.display()));
        }
        Ok(Input {
            codec: Codec::of(&args.input),
            caps,
            frames,
        })
    }

    /// `avc` or `hvc1`, for the records.
    pub fn format_name(&self) -> String {
        stream_format(&self.caps)
    }

    /// Payload bytes of the input once.
    pub fn bytes(&self) -> u64 {
        self.frames.iter().map(|f| f.size() as u64).sum()
    }

    pub fn seconds(&self) -> f64 {
        self.frames.len() as f64 / FPS as f64
    }
}

pub fn stream_format(caps: &gst::CapsRef) -> String {
    caps.structure(0)
        .and_then(|s| s.get::<String>("stream-format").ok())
        .unwrap_or_default()
}

pub fn is_keyframe(buffer: &gst::BufferRef) -> bool {
    !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)
}
