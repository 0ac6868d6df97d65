//! From parsed streams to the ring: which stream goes where (video to `video`, AAC and Opus
//! to `audio_%u`, everything else to a fakesink with a warning), the parser and caps each
//! ring pad needs, and the probe that puts each buffer on the session's forward timeline.
//!
//! Every branch runs `parser ! capsfilter [! clocksync] ! ring pad` inside its generation's
//! bin; no decoder anywhere.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;

use super::controller::Event;
use super::generation::GenContext;
use super::reconnect::{DropCause, ErrorKind};
use super::timeline;

/// Which ring pad a stream feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    Video,
    Audio(usize),
}

/// Where a parsed stream goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Into `video` through `parser` and a capsfilter of `caps`.
    Video {
        parser: &'static str,
        caps: &'static str,
    },
    /// Into the next `audio_%u` pad.
    Audio {
        parser: &'static str,
        caps: &'static str,
    },
    /// Into a fakesink; the warning says why.
    LeftOut { warning: String },
}

/// The route for a stream of `caps`; `video_taken`: this generation already feeds `video`.
pub fn classify(caps: &gst::CapsRef, video_taken: bool) -> Route {
    let Some(structure) = caps.structure(0) else {
        return Route::LeftOut {
            warning: "a stream without caps is left out".to_owned(),
        };
    };
    let name = structure.name().as_str();
    let video = match name {
        "video/x-h264" => Some(Route::Video {
            parser: "h264parse",
            caps: "video/x-h264,stream-format=avc,alignment=au",
        }),
        "video/x-h265" => Some(Route::Video {
            parser: "h265parse",
            caps: "video/x-h265,stream-format=hvc1,alignment=au",
        }),
        _ => None,
    };
    if let Some(route) = video {
        if video_taken {
            return Route::LeftOut {
                warning: format!(
                    "a second video stream ({name}) is left out: the ring keeps one video track"
                ),
            };
        }
        return route;
    }
    match (name, structure.get::<i32>("mpegversion").ok()) {
        ("audio/mpeg", Some(4)) => Route::Audio {
            parser: "aacparse",
            caps: "audio/mpeg,mpegversion=4,stream-format=raw",
        },
        ("audio/mpeg", Some(2)) => Route::LeftOut {
            warning: "audio/mpeg (MPEG-2 AAC) is left out: the ring keeps MPEG-4 AAC and Opus"
                .to_owned(),
        },
        ("audio/mpeg", _) => Route::LeftOut {
            warning: "audio/mpeg (MPEG-1 audio, MP3) is left out: the ring keeps AAC and Opus"
                .to_owned(),
        },
        ("audio/x-opus", _) => Route::Audio {
            parser: "opusparse",
            caps: "audio/x-opus",
        },
        _ if name.starts_with("audio/") => Route::LeftOut {
            warning: format!("{name} is left out: the ring keeps AAC and Opus"),
        },
        _ if name.starts_with("video/") || name.starts_with("image/") => Route::LeftOut {
            warning: format!("{name} is left out: the ring keeps H.264 and H.265 video"),
        },
        _ => Route::LeftOut {
            warning: format!(
                "{name} is left out: the ring keeps H.264/H.265 video and AAC/Opus audio"
            ),
        },
    }
}

/// The elements of one ring branch, linked, not yet in a bin.
pub struct Branch {
    pub elements: Vec<gst::Element>,
    /// Sees every buffer and event before the offset is applied: the parser's source pad.
    pub probe_pad: gst::Pad,
    /// Carries the generation's offset: the capsfilter's source pad.
    pub offset_pad: gst::Pad,
}

impl Branch {
    pub fn new(parser: &str, caps: &str, paced: bool) -> Result<Branch, glib::BoolError> {
        let parser = gst::ElementFactory::make(parser).build()?;
        let caps: gst::Caps = caps
            .parse()
            .map_err(|_| glib::bool_error!("bad caps {}", caps))?;
        let capsfilter = gst::ElementFactory::make("capsfilter")
            .property("caps", caps)
            .build()?;
        let mut elements = vec![parser.clone(), capsfilter.clone()];
        if paced {
            // On the offset timeline, which starts at the clock's running time: real time.
            elements.push(gst::ElementFactory::make("clocksync").build()?);
        }
        Ok(Branch {
            probe_pad: parser.static_pad("src").expect("parsers have a src pad"),
            offset_pad: capsfilter
                .static_pad("src")
                .expect("capsfilter has a src pad"),
            elements,
        })
    }

    pub fn sink_pad(&self) -> gst::Pad {
        self.elements[0]
            .static_pad("sink")
            .expect("parsers have a sink pad")
    }

    pub fn src_pad(&self) -> gst::Pad {
        self.elements
            .last()
            .and_then(|last| last.static_pad("src"))
            .expect("the last element has a src pad")
    }
}

/// Links a parsed stream of `caps` to the ring, or to a fakesink with a warning. Runs on a
/// streaming thread; takes only the generation's links lock, and not while it links.
pub fn link_stream(ctx: &Arc<GenContext>, pad: &gst::Pad, caps: &gst::Caps) {
    if !ctx.alive() {
        return;
    }
    let Some(bin) = ctx.bin() else { return };
    let name = caps
        .structure(0)
        .map_or_else(|| "?".to_owned(), |s| s.name().to_string());
    // The ring pad this stream takes, or the warning that leaves it out.
    let claimed = {
        let mut links = ctx.links.lock().unwrap();
        links.pending = links.pending.saturating_sub(1);
        links.found.push(name.clone());
        links.first_stream_at.get_or_insert_with(Instant::now);
        match classify(caps, links.video) {
            Route::Video { parser, caps } => {
                links.video = true;
                links.ring_branches += 1;
                Ok((parser, caps, Track::Video))
            }
            Route::Audio { parser, caps } => {
                let number = links.audio;
                links.audio += 1;
                links.ring_branches += 1;
                Ok((parser, caps, Track::Audio(number)))
            }
            Route::LeftOut { warning } => Err(warning),
        }
    };
    let linked = match claimed {
        Ok((parser, caps, track)) => link_to_ring(ctx, &bin, pad, parser, caps, track),
        Err(warning) => {
            ctx.send(Event::Warning(warning));
            link_to_fakesink(&bin, pad)
        }
    };
    if let Err(err) = linked {
        ctx.dropped(
            DropCause::Error(ErrorKind::Other),
            format!("cannot link the {name} stream: {err}"),
        );
    }
}

fn link_to_ring(
    ctx: &Arc<GenContext>,
    bin: &gst::Bin,
    pad: &gst::Pad,
    parser: &str,
    caps: &str,
    track: Track,
) -> Result<(), glib::BoolError> {
    let ring = &ctx.common.ring;
    let pad_name = match track {
        Track::Video => "video".to_owned(),
        Track::Audio(n) => format!("audio_{n}"),
    };
    // Audio pads stay across generations: the ring keeps a track per pad.
    let ring_pad = ring
        .static_pad(&pad_name)
        .or_else(|| ring.request_pad_simple(&pad_name))
        .ok_or_else(|| glib::bool_error!("the ring has no {} pad", pad_name))?;
    let branch = Branch::new(parser, caps, ctx.common.plan.paced)?;
    bin.add_many(&branch.elements)?;
    gst::Element::link_many(&branch.elements)?;
    install_probe(ctx, &branch, track);
    let ghost = gst::GhostPad::builder_with_target(&branch.src_pad())?
        .name(pad_name.as_str())
        .build();
    ghost.set_active(true)?;
    bin.add_pad(&ghost)?;
    ghost
        .link(&ring_pad)
        .map_err(|err| glib::bool_error!("cannot link to the ring's {}: {:?}", pad_name, err))?;
    for element in branch.elements.iter().rev() {
        element.sync_state_with_parent()?;
    }
    pad.link(&branch.sink_pad())
        .map_err(|err| glib::bool_error!("cannot link to {}: {:?}", parser, err))?;
    Ok(())
}

fn link_to_fakesink(bin: &gst::Bin, pad: &gst::Pad) -> Result<(), glib::BoolError> {
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .property("async", false)
        .build()?;
    bin.add(&sink)?;
    sink.sync_state_with_parent()?;
    pad.link(&sink.static_pad("sink").expect("fakesink has a sink pad"))
        .map_err(|err| glib::bool_error!("cannot link to fakesink: {:?}", err))?;
    Ok(())
}

/// What the probe returns for data that must go no further. gstreamer-rs takes the data out
/// of the probe info and releases it itself; with `Drop`, GStreamer 1.22 then unrefs the
/// emptied info's event (a NULL: a CRITICAL). `Handled` tells it the data is gone.
const DISCARD: gst::PadProbeReturn = gst::PadProbeReturn::Handled;

/// What one branch's probe remembers.
#[derive(Default)]
struct ProbeState {
    segment: Option<gst::FormattedSegment<gst::ClockTime>>,
    /// The generation's offset, once this branch applied it.
    offset: Option<i64>,
    /// Running time (before the offset) of the last buffer's decode time.
    last: Option<i64>,
    ended: bool,
}

fn signed_running_time(
    segment: &gst::FormattedSegment<gst::ClockTime>,
    time: gst::ClockTime,
) -> i64 {
    match segment.to_running_time_full(time) {
        Some(gst::Signed::Positive(t)) => t.nseconds() as i64,
        Some(gst::Signed::Negative(t)) => -(t.nseconds() as i64),
        None => time.nseconds() as i64,
    }
}

/// Installs the probe that, on `branch.probe_pad`: applies the generation's timeline offset
/// at the first buffer, notices the first keyframe, new data and timestamp jumps, keeps
/// flushes away from the ring, and counts EOS (which reaches the ring only from a file).
pub fn install_probe(ctx: &Arc<GenContext>, branch: &Branch, track: Track) {
    let ctx = Arc::clone(ctx);
    let offset_pad = branch.offset_pad.clone();
    let state = Mutex::new(ProbeState::default());
    branch.probe_pad.add_probe(
        gst::PadProbeType::BUFFER
            | gst::PadProbeType::BUFFER_LIST
            | gst::PadProbeType::EVENT_DOWNSTREAM
            | gst::PadProbeType::EVENT_FLUSH,
        move |_pad, info| {
            if !ctx.alive() {
                return DISCARD;
            }
            let mut state = state.lock().unwrap();
            match &info.data {
                Some(gst::PadProbeData::Buffer(buffer)) => {
                    on_buffer(&ctx, &offset_pad, track, &mut state, buffer)
                }
                Some(gst::PadProbeData::BufferList(list)) => {
                    for buffer in list.iter_owned() {
                        if on_buffer(&ctx, &offset_pad, track, &mut state, &buffer) == DISCARD {
                            return DISCARD;
                        }
                    }
                    gst::PadProbeReturn::Ok
                }
                Some(gst::PadProbeData::Event(event)) => match event.view() {
                    gst::EventView::Segment(segment) => {
                        state.segment = segment.segment().downcast_ref().cloned();
                        gst::PadProbeReturn::Ok
                    }
                    // A flush would empty the ring: nothing upstream may do that.
                    gst::EventView::FlushStart(_) | gst::EventView::FlushStop(_) => DISCARD,
                    gst::EventView::Eos(_) => {
                        if !std::mem::replace(&mut state.ended, true) {
                            drop(state);
                            ctx.branch_ended();
                        }
                        if ctx.common.eos_reaches_ring {
                            gst::PadProbeReturn::Ok
                        } else {
                            DISCARD
                        }
                    }
                    _ => gst::PadProbeReturn::Ok,
                },
                _ => gst::PadProbeReturn::Ok,
            }
        },
    );
}

fn on_buffer(
    ctx: &Arc<GenContext>,
    offset_pad: &gst::Pad,
    track: Track,
    state: &mut ProbeState,
    buffer: &gst::BufferRef,
) -> gst::PadProbeReturn {
    let Some(segment) = state.segment.as_ref() else {
        return gst::PadProbeReturn::Ok;
    };
    let Some(pts) = buffer.pts().or(buffer.dts()) else {
        // The ring reports buffers without timestamps itself.
        return gst::PadProbeReturn::Ok;
    };
    let start = signed_running_time(segment, buffer.dts().unwrap_or(pts));
    if let Some(step) = timeline::jump(state.last, start) {
        ctx.dropped(
            DropCause::Restarted,
            format!(
                "timestamps on {} jumped by {:.3} s: the sender restarted",
                match track {
                    Track::Video => "video".to_owned(),
                    Track::Audio(n) => format!("audio_{n}"),
                },
                step as f64 / 1e9
            ),
        );
        return DISCARD;
    }
    state.last = Some(start);
    let offset = match state.offset {
        Some(offset) => offset,
        None => {
            let offset = ctx.timeline_offset(start);
            // The capsfilter re-sends its segment with the offset before this buffer.
            offset_pad.set_offset(offset);
            state.offset = Some(offset);
            offset
        }
    };
    let presented = signed_running_time(segment, pts);
    let end = presented + buffer.duration().map_or(0, |d| d.nseconds() as i64) + offset;
    ctx.common.timeline_end.fetch_max(end, Ordering::AcqRel);
    ctx.common.delivered.store(true, Ordering::Release);
    if track == Track::Video {
        ctx.common.touch();
        ctx.video_seen.store(true, Ordering::Release);
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        if keyframe && !ctx.keyframe_seen.swap(true, Ordering::AcqRel) {
            ctx.send(Event::Keyframe {
                generation: ctx.number,
            });
        }
    }
    gst::PadProbeReturn::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(caps: &str, video_taken: bool) -> Route {
        gst::init().unwrap();
        classify(&caps.parse::<gst::Caps>().unwrap(), video_taken)
    }

    fn warning(route: Route) -> String {
        match route {
            Route::LeftOut { warning } => warning,
            other => panic!("{other:?} is not left out"),
        }
    }

    #[test]
    fn video_goes_to_the_video_pad_once() {
        assert_eq!(
            route("video/x-h264, stream-format=byte-stream", false),
            Route::Video {
                parser: "h264parse",
                caps: "video/x-h264,stream-format=avc,alignment=au"
            }
        );
        assert!(matches!(
            route("video/x-h265", false),
            Route::Video {
                parser: "h265parse",
                ..
            }
        ));
        assert_eq!(
            warning(route("video/x-h265", true)),
            "a second video stream (video/x-h265) is left out: the ring keeps one video track"
        );
        assert_eq!(
            warning(route("video/x-vp9", false)),
            "video/x-vp9 is left out: the ring keeps H.264 and H.265 video"
        );
    }

    #[test]
    fn aac_and_opus_go_to_audio_pads() {
        assert!(matches!(
            route("audio/mpeg, mpegversion=4, stream-format=adts", false),
            Route::Audio {
                parser: "aacparse",
                ..
            }
        ));
        assert!(matches!(
            route("audio/x-opus, channel-mapping-family=0", true),
            Route::Audio {
                parser: "opusparse",
                ..
            }
        ));
    }

    #[test]
    fn other_streams_are_left_out_with_a_reason() {
        assert_eq!(
            warning(route("audio/x-ac3, rate=48000", false)),
            "audio/x-ac3 is left out: the ring keeps AAC and Opus"
        );
        assert!(warning(route("audio/mpeg, mpegversion=1, layer=3", false)).contains("MP3"));
        assert!(warning(route("audio/mpeg, mpegversion=2", false)).contains("MPEG-2 AAC"));
        assert_eq!(
            warning(route("subpicture/x-dvb", false)),
            "subpicture/x-dvb is left out: the ring keeps H.264/H.265 video and AAC/Opus audio"
        );
    }
}
