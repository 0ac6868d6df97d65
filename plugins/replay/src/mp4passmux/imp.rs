// Lock order: `settings` is only read when the stream starts; `state` is held by the
// streaming thread while it writes. No lock is held while posting a message.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::codec;
use crate::mp4::{StreamingWriter, VideoSampleEntry};
use crate::output_file::PendingFile;
use crate::running_time;
use crate::sample_table::{self, SampleTiming};
use crate::stream_format::{self, StreamFormat};

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
    format: Option<StreamFormat>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    output: Option<Output>,
    dropped_before_keyframe: u64,
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

impl Mp4PassMux {
    fn chain(
        &self,
        _pad: &gst::Pad,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = self.state.lock().unwrap();
        let Some(format) = state.format.clone() else {
            drop(state);
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ("Buffer before caps"));
            return Err(gst::FlowError::NotNegotiated);
        };
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let map = buffer.map_readable().map_err(|_| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ("Buffer is not readable"));
            gst::FlowError::Error
        })?;
        if state.output.is_none() {
            if !keyframe {
                state.dropped_before_keyframe += 1;
                return Ok(gst::FlowSuccess::Ok);
            }
            state.output = Some(self.open_output(format.sample_entry())?);
        }
        let times = running_time::buffer_times(&state.segment, &buffer).ok_or_else(|| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Buffer without timestamps")
            );
            gst::FlowError::Error
        })?;

        let mut ranges = Vec::with_capacity(1);
        let size = codec::sample_ranges(
            format.codec,
            map.as_slice(),
            format.nal_length_size,
            format.strips_parameter_sets(),
            &mut ranges,
        )
        .map_err(|err| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Format,
                ("Invalid access unit"),
                ["{}", err]
            );
            gst::FlowError::Error
        })?;
        let output = state.output.as_mut().expect("opened above");
        let data = map.as_slice();
        let slices: Vec<&[u8]> = ranges.iter().map(|range| &data[range.clone()]).collect();
        output.writer.write_sample(0, &slices).map_err(|err| {
            gst::element_imp_error!(
                self,
                gst::ResourceError::Write,
                ("Cannot write the file"),
                ["{}", err]
            );
            gst::FlowError::Error
        })?;
        output.timings.push(SampleTiming {
            pts: times.pts,
            dts: times.dts,
            duration: times.duration.unwrap_or(0),
            keyframe,
            size,
        });
        Ok(gst::FlowSuccess::Ok)
    }

    fn open_output(&self, entry: VideoSampleEntry) -> Result<Output, gst::FlowError> {
        let location = self
            .settings
            .lock()
            .unwrap()
            .location
            .clone()
            .ok_or_else(|| {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::NotFound,
                    ("No location set"),
                    ["Set the location property to the MP4 file to write"]
                );
                gst::FlowError::Error
            })?;
        let open = || -> std::io::Result<(PendingFile, StreamingWriter<BufWriter<File>>)> {
            let mut pending = PendingFile::create(
                &PathBuf::from(&location),
                &format!("{}", std::process::id()),
            )?;
            let file = pending.file().try_clone()?;
            let writer = StreamingWriter::new(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file))?;
            Ok((pending, writer))
        };
        let (pending, writer) = open().map_err(|err| {
            gst::element_imp_error!(
                self,
                gst::ResourceError::OpenWrite,
                ("Cannot write {}", location),
                ["{}", err]
            );
            gst::FlowError::Error
        })?;
        Ok(Output {
            pending,
            writer,
            entry,
            timings: Vec::new(),
        })
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
        .filter(|&pts| pts >= 0)
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
            if self.settings.lock().unwrap().location.is_none() {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::NotFound,
                    ("No location set"),
                    ["Set the location property to the MP4 file to write"]
                );
                return Err(gst::StateChangeError);
            }
            *self.state.lock().unwrap() = State::default();
        }
        let success = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            // An unfinished file is dropped with its temporary name: no partial file appears.
            *self.state.lock().unwrap() = State::default();
        }
        Ok(success)
    }
}
