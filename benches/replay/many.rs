//! Many rings in one pipeline (5. in docs/benchmarks.md), each filled with payloads of its own,
//! then fed in real time from one thread: the whole process's CPU over the live phase, and its
//! memory.

use std::time::{Duration, Instant};

use crate::feed::{Feed, Sink, HUGE_BYTES};
use crate::input::{Input, InputArgs};
use crate::process::{usage, Resident};
use crate::record::Record;
use crate::timeline::{frames_in, fresh, FRAME_NS};
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, value_enum)]
    sink: Sink,
    #[arg(long, default_value_t = 50)]
    rings: usize,
    #[arg(long, default_value_t = 120.0)]
    ring_seconds: f64,
    /// How long the real-time phase lasts.
    #[arg(long, default_value_t = 20.0)]
    live_seconds: f64,
}

pub fn run(args: &Args) -> Result<()> {
    let input = Input::load(&args.input, None)?;
    let pipeline = gst::Pipeline::new();
    let (sink, seconds) = (args.sink, args.ring_seconds);
    let feeds = (0..args.rings)
        .map(|n| Feed::in_pipeline(&pipeline, sink, seconds, HUGE_BYTES, &input.caps, n))
        .collect::<Result<Vec<_>>>()?;
    let before = Resident::now();
    // Fill every ring as fast as possible.
    let prefill = frames_in(args.ring_seconds + 2.0);
    for n in 0..prefill {
        for feed in &feeds {
            feed.push(fresh(&input.frames, n))?;
        }
    }
    let full = Resident::now();
    // Then in real time: every 1/60 s one new frame to each ring.
    let frames = frames_in(args.live_seconds);
    let (u0, w0) = (usage(), Instant::now());
    for k in 0..frames {
        let due = Duration::from_nanos(k as u64 * FRAME_NS);
        if let Some(wait) = due.checked_sub(w0.elapsed()) {
            std::thread::sleep(wait);
        }
        for feed in &feeds {
            feed.push(fresh(&input.frames, prefill + k))?;
        }
    }
    let (u1, wall) = (usage(), w0.elapsed().as_secs_f64());
    let end = Resident::now();
    let payload: u64 = feeds.iter().map(|f| f.stat("bytes")).sum();
    let cpu = u1.cpu - u0.cpu;
    Record::new("many")
        .s("format", &input.format_name())
        .s("sink", args.sink.name())
        .n("rings", args.rings as f64)
        .n("ring_s", args.ring_seconds)
        .n("live_s", wall)
        .n("cpu_s", cpu)
        .n("core_pct_per_ring", cpu / wall / args.rings as f64 * 100.0)
        .n("rss_before", before.rss)
        .n("rss_full", full.rss)
        .n("rss_end", end.rss)
        .n("payload", payload as f64)
        .emit();
    Ok(())
}
