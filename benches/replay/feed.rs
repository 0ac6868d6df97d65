//! One sink element in a pipeline of its own, fed from the calling thread through a pad of
//! ours: a push is the element's chain function and nothing else.

use std::path::{Path, PathBuf};

use gst::prelude::*;

use crate::Result;

/// More bytes than any ring here holds: `max-bytes` that never evicts.
pub const HUGE_BYTES: u64 = 1 << 40;

/// The element under test and the two it is compared with.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sink {
    /// `replayring max-duration=<ring> max-bytes=<max-bytes>`.
    Replayring,
    /// `fakesink sync=false`: the cost of a push into an element that does nothing.
    Fakesink,
    /// gst-plugins-rs `gopbuffer minimum-duration=<ring> max-size-time=<ring> ! fakesink`.
    Gopbuffer,
}

impl Sink {
    /// As in the records and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Sink::Replayring => "replayring",
            Sink::Fakesink => "fakesink",
            Sink::Gopbuffer => "gopbuffer",
        }
    }
}

pub struct Feed {
    pipeline: gst::Pipeline,
    src: gst::Pad,
    pub sink: gst::Element,
}

impl Feed {
    pub fn new(kind: Sink, ring_seconds: f64, max_bytes: u64, caps: &gst::Caps) -> Result<Feed> {
        let pipeline = gst::Pipeline::new();
        Feed::in_pipeline(&pipeline, kind, ring_seconds, max_bytes, caps, 0)
    }

    /// Sink number `n` of several in one pipeline.
    pub fn in_pipeline(
        pipeline: &gst::Pipeline,
        kind: Sink,
        ring_seconds: f64,
        max_bytes: u64,
        caps: &gst::Caps,
        n: usize,
    ) -> Result<Feed> {
        let fakesink = || {
            gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .property("async", false)
                .build()
        };
        let ring_ns = (ring_seconds * 1e9) as u64;
        let sink = match kind {
            Sink::Replayring => gst::ElementFactory::make("replayring")
                .property("max-duration", ring_ns)
                .property("max-bytes", max_bytes)
                .build(),
            Sink::Fakesink => fakesink(),
            // gopbuffer keeps only `minimum-duration` (default 1 s) and caps at
            // `max-size-time`; both at the ring's duration make it hold a full ring.
            Sink::Gopbuffer => gst::ElementFactory::make("gopbuffer")
                .property("minimum-duration", ring_ns)
                .property("max-size-time", ring_ns)
                .build(),
        }
        .map_err(|e| e.to_string())?;
        pipeline.add(&sink).map_err(|e| e.to_string())?;
        if kind == Sink::Gopbuffer {
            let downstream = fakesink().map_err(|e| e.to_string())?;
            pipeline.add(&downstream).map_err(|e| e.to_string())?;
            sink.link(&downstream).map_err(|e| e.to_string())?;
        }
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        let src = gst::Pad::builder(gst::PadDirection::Src)
            .name(format!("bench_src_{n}"))
            .build();
        src.set_active(true).map_err(|e| e.to_string())?;
        let sinkpad = sink
            .static_pad("video")
            .or_else(|| sink.static_pad("video_sink"))
            .or_else(|| sink.static_pad("sink"))
            .ok_or("no sink pad")?;
        src.link(&sinkpad).map_err(|e| e.to_string())?;
        src.push_event(gst::event::StreamStart::new(&format!("bench-{n}")));
        src.push_event(gst::event::Caps::new(caps));
        src.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
            gst::ClockTime,
        >::new()));
        Ok(Feed {
            pipeline: pipeline.clone(),
            src,
            sink,
        })
    }

    pub fn push(&self, buffer: gst::Buffer) -> Result<()> {
        self.src
            .push(buffer)
            .map(|_| ())
            .map_err(|e| format!("push: {e:?}"))
    }

    /// A field of replayring's `stats` structure (0 for the other sinks).
    pub fn stat(&self, field: &str) -> u64 {
        if self.sink.find_property("stats").is_none() {
            return 0;
        }
        let s: gst::Structure = self.sink.property("stats");
        s.get::<u64>(field).unwrap_or(0)
    }

    /// Emits `save` of everything and waits for the answer; returns the file and its size.
    pub fn save(&self, location: &Path) -> Result<(PathBuf, u64)> {
        let bus = self.pipeline.bus().unwrap();
        let id: String = self.sink.emit_by_name(
            "save",
            &[&0u64, &Some(location.to_string_lossy().into_owned())],
        );
        loop {
            let msg = bus
                .timed_pop_filtered(
                    gst::ClockTime::from_seconds(600),
                    &[gst::MessageType::Element, gst::MessageType::Error],
                )
                .ok_or("no answer to save within 600 s")?;
            if let gst::MessageView::Error(e) = msg.view() {
                return Err(format!("pipeline error: {}", e.error()));
            }
            let Some(s) = msg.structure() else { continue };
            if s.get::<String>("id").ok().as_deref() != Some(&id) {
                continue;
            }
            match s.name().as_str() {
                "replay-saved" => {
                    let path = PathBuf::from(s.get::<String>("location").unwrap());
                    return Ok((path, s.get::<u64>("bytes").unwrap_or(0)));
                }
                "replay-failed" => {
                    return Err(format!("save failed: {:?}", s.get::<String>("error")))
                }
                // replay-writing: the file is on its way.
                _ => {}
            }
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
