// Lock order: `settings` is read when the stream starts and copied into `state`, which the
// streaming thread holds while it writes; the two are never held together. No lock is held
// while posting a message: errors are collected under the lock and posted after it.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::codec::{self, CodecError};
use crate::mp4::{StreamingWriter, VideoSampleEntry};
use crate::running_time;
use crate::save::output_file::PendingFile;
use crate::save::sample_table::{self, SampleTiming};
use crate::stream_format::{self, StreamFormat};
use crate::time::Nanos;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "mp4passmux",
        gst::DebugColorFlags::empty(),
        Some("Passthrough MP4 muxer"),
    )
});

const WRITE_BUFFER_BYTES: usize = 1 << 20;

#[derive(Clone, Debug, Default)]
struct Settings {
    location: Option<String>,
}

/// The file being written, from the first keyframe on.
struct Output {
    pending: PendingFile,
    writer: StreamingWriter<BufWriter<File>>,
    entry: VideoSampleEntry,
    timings: Vec<SampleTiming>,
}

#[derive(Default)]
struct State {
    /// The `location` property when the stream started (it cannot change while it runs).
    location: String,
    format: Option<StreamFormat>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    output: Option<Output>,
    dropped_before_keyframe: u64,
}

/// Why a buffer could not be written: posted as an element error once the lock is gone.
#[derive(Debug)]
enum ChainError {
    NoCaps,
    Unreadable,
    Open {
        location: String,
        source: std::io::Error,
    },
    NoTimestamps,
    AccessUnit(CodecError),
    Write(std::io::Error),
}

impl ChainError {
    fn flow(&self) -> gst::FlowError {
        match self {
            ChainError::NoCaps => gst::FlowError::NotNegotiated,
            _ => gst::FlowError::Error,
        }
    }
}

pub struct Mp4PassMux {
    video_pad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

#[glib::object_subclass]
impl ObjectSubclass for Mp4PassMux {
    const NAME: &'static str = "GstMp4PassMux";
    type Type = super::Mp4PassMux;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let template = klass.pad_template("video").expect("video pad template");
        let video_pad = gst::Pad::builder_from_template(&template)
            .chain_function(|pad, parent, buffer| {
                Mp4PassMux::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.chain(pad, buffer),
                )
            })
            .event_function(|pad, parent, event| {
                Mp4PassMux::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| imp.sink_event(pad, event),
                )
            })
            .build();
        Mp4PassMux {
            video_pad,
            settings: Mutex::default(),
            state: Mutex::default(),
        }
    }
}

impl State {
    /// Appends one access unit to the file, opening it at the first keyframe.
    fn write(&mut self, buffer: &gst::Buffer) -> Result<(), ChainError> {
        let format = self.format.as_ref().ok_or(ChainError::NoCaps)?;
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let map = buffer.map_readable().map_err(|_| ChainError::Unreadable)?;
        if self.output.is_none() {
            if !keyframe {
                self.dropped_before_keyframe += 1;
                return Ok(());
            }
            self.output = Some(open_output(&self.location, format.sample_entry())?);
        }
        let times =
            running_time::buffer_times(&self.segment, buffer).ok_or(ChainError::NoTimestamps)?;
        let data = map.as_slice();
        let mut ranges = Vec::with_capacity(1);
        let size = codec::sample_ranges(
            format.codec,
            data,
            format.nal_length_size,
            format.strips_parameter_sets(),
            &mut ranges,
        )
        .map_err(ChainError::AccessUnit)?;
        let slices: Vec<&[u8]> = ranges.iter().map(|range| &data[range.clone()]).collect();
        let output = self.output.as_mut().expect("opened above");
        output
            .writer
            .write_sample(0, &slices)
            .map_err(ChainError::Write)?;
        output.timings.push(SampleTiming {
            pts: times.pts,
            dts: times.dts,
            duration: times.duration.unwrap_or(Nanos::ZERO),
            keyframe,
            size,
        });
        Ok(())
    }
}

fn open_output(location: &str, entry: VideoSampleEntry) -> Result<Output, ChainError> {
    let open = || -> std::io::Result<(PendingFile, StreamingWriter<BufWriter<File>>)> {
        let mut pending =
            PendingFile::create(&PathBuf::from(location), &format!("{}", std::process::id()))?;
        let file = pending.file().try_clone()?;
        let writer = StreamingWriter::new(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file))?;
        Ok((pending, writer))
    };
    let (pending, writer) = open().map_err(|source| ChainError::Open {
        location: location.to_owned(),
        source,
    })?;
    Ok(Output {
        pending,
        writer,
        entry,
        timings: Vec::new(),
    })
}

impl Mp4PassMux {
    fn chain(
        &self,
        _pad: &gst::Pad,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let written = self.state.lock().unwrap().write(&buffer);
        written.map_err(|error| {
            let flow = error.flow();
            self.post_chain_error(error);
            flow
        })?;
        Ok(gst::FlowSuccess::Ok)
    }

    fn post_chain_error(&self, error: ChainError) {
        match error {
            ChainError::NoCaps => {
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("Buffer before caps"))
            }
            ChainError::Unreadable => {
                gst::element_imp_error!(self, gst::StreamError::Failed, ("Buffer is not readable"))
            }
            ChainError::Open { location, source } => gst::element_imp_error!(
                self,
                gst::ResourceError::OpenWrite,
                ("Cannot write {}", location),
                ["{}", source]
            ),
            ChainError::NoTimestamps => gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Buffer without timestamps")
            ),
            ChainError::AccessUnit(source) => gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Invalid access unit"),
                ["{}", source]
            ),
            ChainError::Write(source) => gst::element_imp_error!(
                self,
                gst::ResourceError::Write,
                ("Cannot write the file"),
                ["{}", source]
            ),
        }
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        gst::log!(CAT, obj = pad, "event {:?}", event.type_());
        match event.view() {
            EventView::Caps(caps) => self.set_caps(caps.caps()),
            EventView::Segment(segment) => match segment.segment().downcast_ref::<gst::ClockTime>()
            {
                Some(segment) => {
                    self.state.lock().unwrap().segment = segment.clone();
                    true
                }
                None => {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Format,
                        ("Only TIME segments are supported")
                    );
                    false
                }
            },
            EventView::Eos(_) => {
                if self.finish() {
                    let element = self.obj();
                    let _ =
                        element.post_message(gst::message::Eos::builder().src(&*element).build());
                }
                true
            }
            _ => true,
        }
    }

    fn set_caps(&self, caps: &gst::CapsRef) -> bool {
        let format = match StreamFormat::from_caps(caps) {
            Ok(format) => format,
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Format,
                    ("Unsupported caps"),
                    ["{}", err]
                );
                return false;
            }
        };
        let mut state = self.state.lock().unwrap();
        let changed_mid_stream = state.output.is_some() && state.format.as_ref() != Some(&format);
        if changed_mid_stream {
            drop(state);
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Caps changed mid-stream"),
                [
                    "mp4passmux writes one sample description per track; the new caps are {}",
                    caps
                ]
            );
            return false;
        }
        state.format = Some(format);
        true
    }

    /// Writes the `moov` and renames the file into place. False when that failed (the error
    /// is posted and no file appears at the location).
    fn finish(&self) -> bool {
        let (output, format) = {
            let mut state = self.state.lock().unwrap();
            (state.output.take(), state.format.clone())
        };
        let (Some(output), Some(format)) = (output, format) else {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("No keyframe received"),
                ["Nothing to write: the stream ended before its first keyframe"]
            );
            return false;
        };
        match finish_output(output, &format) {
            Ok(path) => {
                gst::info!(CAT, imp = self, "wrote {}", path.display());
                true
            }
            Err(err) => {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::Write,
                    ("Cannot finish the file"),
                    ["{}", err]
                );
                false
            }
        }
    }
}

fn finish_output(output: Output, format: &StreamFormat) -> std::io::Result<PathBuf> {
    let Output {
        pending,
        writer,
        entry,
        timings,
    } = output;
    // Frames before the segment start (negative running time, e.g. the lead-in of a source
    // file's edit list) are decoded but not presented.
    let all_pts = || timings.iter().map(|t| t.pts);
    let first_pts = all_pts()
        .filter(|&pts| pts >= Nanos::ZERO)
        .min()
        .or_else(|| all_pts().min())
        .expect("at least the keyframe");
    let end = timings
        .iter()
        .map(|t| t.pts + t.duration)
        .max()
        .expect("at least the keyframe");
    let movie = sample_table::video_movie(entry, &timings, format.framerate, first_pts..end);
    let mut buffered = writer.finish(&movie)?;
    buffered.flush()?;
    drop(buffered);
    pending.publish_replacing()
}

impl ObjectImpl for Mp4PassMux {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![glib::ParamSpecString::builder("location")
                .nick("Location")
                .blurb(
                    "MP4 file to write. It is written under a temporary name in the same directory and \
                     renamed to this name at EOS, so it never holds a partial file",
                )
                .mutable_ready()
                .build()]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "location" => {
                self.settings.lock().unwrap().location = value.get().expect("type checked upstream")
            }
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "location" => self.settings.lock().unwrap().location.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let element = self.obj();
        element.add_pad(&self.video_pad).expect("add video pad");
        element.set_element_flags(gst::ElementFlags::SINK);
    }
}

impl GstObjectImpl for Mp4PassMux {}

impl ElementImpl for Mp4PassMux {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Passthrough MP4 muxer",
                "Sink/Muxer/Video",
                "Writes encoded H.264/H.265 to an MP4 file without re-encoding, in one sequential pass",
                "gst-replay developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![gst::PadTemplate::new(
                "video",
                gst::PadDirection::Sink,
                gst::PadPresence::Always,
                &stream_format::video_sink_caps(),
            )
            .expect("video pad template")]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            let Some(location) = self.settings.lock().unwrap().location.clone() else {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::NotFound,
                    ("No location set"),
                    ["Set the location property to the MP4 file to write"]
                );
                return Err(gst::StateChangeError);
            };
            *self.state.lock().unwrap() = State {
                location,
                ..State::default()
            };
        }
        let success = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            // An unfinished file is dropped with its temporary name: no partial file appears.
            *self.state.lock().unwrap() = State::default();
        }
        Ok(success)
    }
}
