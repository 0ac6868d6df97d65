//! One connection to the source: a bin of its own (`urisourcebin`, a `parsebin` per source
//! pad, a branch per parsed stream) linked to the session's ring, started, and torn down
//! when the source drops while the ring stays. Generations are numbered from 1; events from
//! a generation that is gone are ignored.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;

use super::controller::Event;
use super::pads;
use super::reconnect::{DropCause, ErrorKind};
use super::source::{self, SourcePlan};
use super::timeline;

/// The generation bins are named this and their number, as direct children of the pipeline.
pub const BIN_PREFIX: &str = "generation-";

/// What every generation of a session shares with the streaming threads.
pub struct Common {
    pub pipeline: glib::WeakRef<gst::Pipeline>,
    pub ring: gst::Element,
    pub events: Sender<Event>,
    pub plan: SourcePlan,
    /// A file's end is the ring's end; a network source's EOS is a drop the ring never sees.
    pub eos_reaches_ring: bool,
    /// The latest end (offset applied) of anything delivered so far; `i64::MIN`: nothing.
    pub timeline_end: AtomicI64,
    /// Some data reached the ring since the session started.
    pub delivered: AtomicBool,
    started: Instant,
    /// When video last reached the ring, in ms since `started`.
    last_video_ms: AtomicU64,
}

impl Common {
    pub fn new(
        pipeline: &gst::Pipeline,
        ring: &gst::Element,
        events: Sender<Event>,
        plan: SourcePlan,
    ) -> Common {
        Common {
            pipeline: pipeline.downgrade(),
            ring: ring.clone(),
            events,
            eos_reaches_ring: plan.kind == super::reconnect::SourceKind::File,
            plan,
            timeline_end: AtomicI64::new(i64::MIN),
            delivered: AtomicBool::new(false),
            started: Instant::now(),
            last_video_ms: AtomicU64::new(0),
        }
    }

    /// Video reached the ring now.
    pub fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_video_ms.store(ms, Ordering::Release);
    }

    /// How long ago video last reached the ring.
    pub fn since_video(&self) -> Duration {
        let last = Duration::from_millis(self.last_video_ms.load(Ordering::Acquire));
        self.started.elapsed().saturating_sub(last)
    }
}

/// Which streams a generation found and linked.
#[derive(Default)]
pub struct Links {
    pub video: bool,
    /// `audio_%u` pads used so far, from 0.
    pub audio: usize,
    /// Branches into the ring, and how many of them reached EOS.
    pub ring_branches: usize,
    pub ended: usize,
    /// Parsed streams whose caps are not known yet (a parser waiting for a keyframe).
    pub pending: usize,
    /// Media types of every stream, in order found.
    pub found: Vec<String>,
    pub first_stream_at: Option<Instant>,
}

/// One generation as its callbacks see it.
pub struct GenContext {
    pub number: u64,
    pub common: Arc<Common>,
    bin: glib::WeakRef<gst::Bin>,
    alive: AtomicBool,
    /// Video reached the ring in this generation.
    pub video_seen: AtomicBool,
    pub keyframe_seen: AtomicBool,
    drop_reported: AtomicBool,
    /// The generation's timeline offset, set by its first buffer.
    offset: Mutex<Option<i64>>,
    pub links: Mutex<Links>,
}

impl GenContext {
    pub fn alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    pub fn bin(&self) -> Option<gst::Bin> {
        self.bin.upgrade()
    }

    pub fn send(&self, event: Event) {
        // The controller only goes away when the session stops.
        let _ = self.common.events.send(event);
    }

    /// The source part cannot go on; reported once per generation.
    pub fn dropped(&self, cause: DropCause, text: String) {
        if !self.drop_reported.swap(true, Ordering::AcqRel) {
            self.send(Event::Dropped {
                generation: self.number,
                cause,
                text,
            });
        }
    }

    /// One ring branch reached EOS; once all have, the source ended.
    pub fn branch_ended(&self) {
        let all = {
            let mut links = self.links.lock().unwrap();
            links.ended += 1;
            links.ended >= links.ring_branches
        };
        if all {
            self.send(Event::BranchesEnded {
                generation: self.number,
            });
        }
    }

    /// The offset of this generation's streams: fixed by the first buffer of any of them
    /// (`first`: its running time), so they all keep their sync.
    pub fn timeline_offset(&self, first: i64) -> i64 {
        let mut offset = self.offset.lock().unwrap();
        *offset.get_or_insert_with(|| {
            let now = self
                .common
                .pipeline
                .upgrade()
                .and_then(|pipeline| pipeline.current_running_time())
                .map_or(first, |now| now.nseconds() as i64);
            let end = self.common.timeline_end.load(Ordering::Acquire);
            timeline::anchor_offset(now, first, (end != i64::MIN).then_some(end))
        })
    }

    /// A `urisourcebin` pad: parse it.
    fn on_source_pad(self: &Arc<Self>, pad: &gst::Pad) {
        if !self.alive() {
            return;
        }
        let Some(bin) = self.bin() else { return };
        let linked = (|| -> Result<(), glib::BoolError> {
            let parsebin = gst::ElementFactory::make("parsebin").build()?;
            let ctx = Arc::clone(self);
            parsebin.connect_pad_added(move |_, pad| ctx.on_stream_pad(pad));
            bin.add(&parsebin)?;
            parsebin.sync_state_with_parent()?;
            let sink = parsebin
                .static_pad("sink")
                .expect("parsebin has a sink pad");
            pad.link(&sink)
                .map_err(|err| glib::bool_error!("cannot link to parsebin: {err:?}"))?;
            Ok(())
        })();
        if let Err(err) = linked {
            self.dropped(
                DropCause::Error(ErrorKind::Other),
                format!("cannot parse the source's {} pad: {err}", pad.name()),
            );
        }
    }

    /// A parsed stream: route it once its caps are known (parsebin may add the pad before).
    fn on_stream_pad(self: &Arc<Self>, pad: &gst::Pad) {
        if !self.alive() {
            return;
        }
        self.links.lock().unwrap().pending += 1;
        let routed = Arc::new(AtomicBool::new(false));
        // Caps are stored on the pad before they are pushed: linking from the notification
        // sends the peer stream-start, caps and segment in order.
        let ctx = Arc::clone(self);
        let routed_in_notify = Arc::clone(&routed);
        pad.connect_notify(Some("caps"), move |pad, _| {
            if let Some(caps) = pad.current_caps() {
                if !routed_in_notify.swap(true, Ordering::AcqRel) {
                    pads::link_stream(&ctx, pad, &caps);
                }
            }
        });
        if let Some(caps) = pad.current_caps() {
            if !routed.swap(true, Ordering::AcqRel) {
                pads::link_stream(self, pad, &caps);
            }
        }
    }
}

/// A generation as the controller holds it.
pub struct Generation {
    pub ctx: Arc<GenContext>,
    bin: gst::Bin,
}

impl Generation {
    /// Builds generation `number` and starts it. An error the source reports while
    /// starting (a port that cannot be bound) arrives on the bus as usual.
    pub fn start(number: u64, common: &Arc<Common>) -> Result<Generation, String> {
        let pipeline = common
            .pipeline
            .upgrade()
            .ok_or_else(|| "the session's pipeline is gone".to_owned())?;
        let bin = gst::Bin::with_name(&format!("{BIN_PREFIX}{number}"));
        let ctx = Arc::new(GenContext {
            number,
            common: Arc::clone(common),
            bin: bin.downgrade(),
            alive: AtomicBool::new(true),
            video_seen: AtomicBool::new(false),
            keyframe_seen: AtomicBool::new(false),
            drop_reported: AtomicBool::new(false),
            offset: Mutex::new(None),
            links: Mutex::new(Links::default()),
        });
        let live = !common.plan.paced;
        bin.connect_deep_element_added(move |_, _, element| {
            source::configure_element(element, live)
        });
        let uri_source = gst::ElementFactory::make("urisourcebin")
            .property("uri", &common.plan.uri)
            .build()
            .map_err(|err| format!("cannot make urisourcebin: {err}"))?;
        uri_source.connect("source-setup", false, |args| {
            if let Ok(source) = args[1].get::<gst::Element>() {
                source::configure_source(&source);
            }
            None
        });
        let pad_ctx = Arc::clone(&ctx);
        uri_source.connect_pad_added(move |_, pad| pad_ctx.on_source_pad(pad));
        bin.add(&uri_source)
            .map_err(|err| format!("cannot add urisourcebin: {err}"))?;
        pipeline
            .add(&bin)
            .map_err(|err| format!("cannot add the source bin: {err}"))?;
        let generation = Generation { ctx, bin };
        if generation.bin.sync_state_with_parent().is_err() {
            // The source posted why on the bus, before this; this only covers a silent one.
            generation.ctx.dropped(
                DropCause::Error(ErrorKind::Open),
                format!("{} could not be opened", common.plan.uri),
            );
        }
        Ok(generation)
    }

    /// Stops the source part and takes it out of the pipeline; the ring keeps everything.
    pub fn stop(self) {
        self.ctx.alive.store(false, Ordering::Release);
        let _ = self.bin.set_state(gst::State::Null);
        // Again, for elements a streaming thread added while the bin was stopping.
        let _ = self.bin.set_state(gst::State::Null);
        for pad in self.bin.src_pads() {
            if let Some(peer) = pad.peer() {
                let _ = pad.unlink(&peer);
            }
        }
        if let Some(pipeline) = self.ctx.common.pipeline.upgrade() {
            let _ = pipeline.remove(&self.bin);
        }
    }
}
