//! Resident memory with a full ring (3. in docs/benchmarks.md). One process per run; each access
//! unit is copied into a buffer of its own and pushed on as the parser hands it out, so the
//! ring's buffers are the only copy of the payload in this process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use gst::prelude::*;

use crate::feed::{Feed, Sink, HUGE_BYTES};
use crate::input::{stream_format, AccessUnits, InputArgs};
use crate::process::Resident;
use crate::record::Record;
use crate::timeline::{frames_in, stamp, FPS};
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, value_enum, default_value = "replayring")]
    sink: Sink,
    #[arg(long, default_value_t = 120.0)]
    ring_seconds: f64,
    /// replayring's `max-bytes` (default: no limit).
    #[arg(long, default_value_t = HUGE_BYTES)]
    max_bytes: u64,
    /// How much of the stream to feed, looping the input (default: the input once).
    #[arg(long)]
    feed_seconds: Option<f64>,
}

/// What a sink holds, in bytes and frames.
#[derive(Default)]
struct Held {
    bytes: AtomicU64,
    frames: AtomicU64,
}

impl Held {
    fn add(&self, buffer: &gst::BufferRef) {
        self.bytes
            .fetch_add(buffer.size() as u64, Ordering::Relaxed);
        self.frames.fetch_add(1, Ordering::Relaxed);
    }
}

fn fresh_copy(parsed: &gst::BufferRef) -> Result<gst::Buffer> {
    let map = parsed.map_readable().map_err(|e| e.to_string())?;
    let mut copy = gst::Buffer::from_mut_slice(map.as_slice().to_vec());
    copy.make_mut().set_flags(parsed.flags());
    Ok(copy)
}

pub fn run(args: &Args) -> Result<()> {
    let mut units = AccessUnits::open(&args.input.input)?;
    let first = units.next_sample()?.ok_or("no access units")?;
    let caps = first.caps_owned().ok_or("a sample without caps")?;
    let feed = Feed::new(args.sink, args.ring_seconds, args.max_bytes, &caps)?;
    // gopbuffer has no stats: what it holds is what went in minus what came out of its src pad.
    let (fed, forwarded) = (Held::default(), Arc::new(Held::default()));
    if args.sink == Sink::Gopbuffer {
        let forwarded = forwarded.clone();
        feed.sink
            .static_pad("video_src")
            .ok_or("gopbuffer without video_src")?
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    forwarded.add(buffer);
                }
                gst::PadProbeReturn::Ok
            });
    }
    let held = |field: &str| -> u64 {
        if args.sink != Sink::Gopbuffer {
            return feed.stat(field);
        }
        let (i, o) = match field {
            "bytes" => (&fed.bytes, &forwarded.bytes),
            _ => (&fed.frames, &forwarded.frames),
        };
        i.load(Ordering::Relaxed) - o.load(Ordering::Relaxed)
    };
    let before = Resident::now();
    let mut max_seen = 0u64;
    // With a byte limit, check it at every frame; without one, the maximum is only reported.
    let check_every = if args.max_bytes < HUGE_BYTES { 1 } else { 600 };
    let limit = args.feed_seconds.map(frames_in);
    let mut n = 0usize;
    let mut next = Some(first);
    while let Some(sample) = next.take() {
        let parsed = sample.buffer_owned().ok_or("a sample without a buffer")?;
        drop(sample);
        // A copy made on this thread, as an encoder allocates each frame it outputs: the
        // parser's buffers come from its own thread's malloc arena, which grows 1.5 % more
        // per byte held than this one, a cost of the harness that no real pipeline has twice.
        let mut b = fresh_copy(&parsed)?;
        drop(parsed);
        stamp(b.make_mut(), n as u64);
        fed.add(&b);
        feed.push(b)?;
        if n.is_multiple_of(check_every) {
            max_seen = max_seen.max(held("bytes"));
        }
        n += 1;
        if limit.is_some_and(|limit| n >= limit) {
            break;
        }
        next = match units.next_sample()? {
            // A feed longer than the file starts it over (a new parser, so on a keyframe).
            None if limit.is_some() => {
                units = AccessUnits::open(&args.input.input)?;
                units.next_sample()?
            }
            next => next,
        };
    }
    let seconds = n as f64 / FPS as f64;
    let payload = held("bytes");
    max_seen = max_seen.max(payload);
    let after = Resident::now();
    let frames = held("frames");
    Record::new("memory")
        .s("sink", args.sink.name())
        .s("format", &stream_format(&caps))
        .n("ring_s", args.ring_seconds)
        .n("fed_s", seconds)
        .n("max_bytes", args.max_bytes as f64)
        .n("payload", payload as f64)
        .n("frames", frames as f64)
        .n("max_payload_seen", max_seen as f64)
        .n("rss_before", before.rss)
        .n("rss", after.rss)
        .n("anon_before", before.anon)
        .n("anon", after.anon)
        .n("rss_ratio", (after.rss - 16.0 * 1048576.0) / payload as f64)
        .n(
            "anon_growth_ratio",
            (after.anon - before.anon) / payload as f64,
        )
        .emit();
    Ok(())
}
