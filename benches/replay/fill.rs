//! Filling (2. in docs/benchmarks.md): each frame freshly allocated on the streaming thread, as an
//! encoder outputs it; the frames until the ring is full (ring + 2 s) and the frames after are
//! measured apart. One process per run, so every run starts with a fresh heap.

use std::time::Instant;

use crate::feed::{Feed, Sink, HUGE_BYTES};
use crate::input::{Input, InputArgs};
use crate::process::usage;
use crate::record::Record;
use crate::timeline::{frames_in, fresh};
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, value_enum)]
    sink: Sink,
    #[arg(long, default_value_t = 150.0)]
    ring_seconds: f64,
}

pub fn run(args: &Args) -> Result<()> {
    let input = Input::load(&args.input, None)?;
    let count = input.frames.len();
    let feed = Feed::new(args.sink, args.ring_seconds, HUGE_BYTES, &input.caps)?;
    let full_at = frames_in(args.ring_seconds + 2.0).min(count);
    let u0 = usage();
    for n in 0..full_at {
        feed.push(fresh(&input.frames, n))?;
    }
    let (u1, w1) = (usage(), Instant::now());
    for n in full_at..count {
        feed.push(fresh(&input.frames, n))?;
    }
    let (u2, w2) = (usage(), Instant::now());
    drop(feed);
    let per = |a: f64, b: f64, frames: usize| {
        if frames == 0 {
            f64::NAN
        } else {
            (b - a) / frames as f64
        }
    };
    let (filling, full) = (full_at, count - full_at);
    Record::new("fill")
        .s("format", &input.format_name())
        .s("sink", args.sink.name())
        // Rows run with glibc tuned (by hand) are told apart by this.
        .s(
            "malloc",
            &std::env::var("GLIBC_TUNABLES").unwrap_or_default(),
        )
        .n("ring_s", args.ring_seconds)
        .n("frames_filling", filling as f64)
        .n("frames_full", full as f64)
        .n("cpu_ns_filling", per(u0.cpu, u1.cpu, filling) * 1e9)
        .n("minflt_filling", per(u0.minflt, u1.minflt, filling))
        .n("cpu_ns_full", per(u1.cpu, u2.cpu, full) * 1e9)
        .n("minflt_full", per(u1.minflt, u2.minflt, full))
        .n(
            "wall_ns_full",
            per(0.0, (w2 - w1).as_secs_f64(), full) * 1e9,
        )
        .emit();
    Ok(())
}
