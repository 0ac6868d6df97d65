//! Streaming-thread cost per frame in steady state (2. in docs/benchmarks.md): the ring is full and
//! every measured frame also evicts. Frames already in RAM are pushed as fast as possible into each
//! sink in turn (order rotating per run), so the ratio to `fakesink` is the sink's own cost.

use std::time::Instant;

use crate::feed::{Feed, Sink, HUGE_BYTES};
use crate::input::{Input, InputArgs};
use crate::process::{thread_cpu, usage};
use crate::record::Record;
use crate::timeline::{frames_in, looped};
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[arg(long, default_value_t = 10.0)]
    ring_seconds: f64,
    /// Frames pushed before measuring, to fill the ring: more than `--ring-seconds`.
    #[arg(long, default_value_t = 20.0)]
    warm_seconds: f64,
    /// How many times the input is pushed in each run (warm-up included).
    #[arg(long, default_value_t = 1)]
    loops: usize,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only the first frames of the input (under callgrind, which is slow).
    #[arg(long)]
    max_frames: Option<usize>,
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["fakesink", "replayring"])]
    sinks: Vec<Sink>,
}

pub fn run(args: &Args) -> Result<()> {
    let input = Input::load(&args.input, args.max_frames)?;
    let warm = frames_in(args.warm_seconds);
    let buffers = looped(&input.frames, input.frames.len() * args.loops);
    if warm >= buffers.len() {
        return Err("warm-up longer than the input".into());
    }
    let measured = (buffers.len() - warm) as f64;
    for run in 0..args.runs {
        let mut per_run: Vec<(Sink, f64)> = Vec::new();
        for k in 0..args.sinks.len() {
            let sink = args.sinks[(k + run) % args.sinks.len()];
            let feed = Feed::new(sink, args.ring_seconds, HUGE_BYTES, &input.caps)?;
            for b in &buffers[..warm] {
                feed.push(b.clone())?;
            }
            let (u0, t0, w0) = (usage(), thread_cpu(), Instant::now());
            measured_pushes(&feed, &buffers[warm..])?;
            let (u1, t1, wall) = (usage(), thread_cpu(), w0.elapsed().as_secs_f64());
            let evicted = feed.stat("evicted") as f64;
            drop(feed);
            let cpu = u1.cpu - u0.cpu;
            per_run.push((sink, cpu));
            Record::new("steady")
                .s("format", &input.format_name())
                .s("sink", sink.name())
                .n("run", run as f64)
                .n("frames", measured)
                .n("cpu_ns_per_frame", cpu / measured * 1e9)
                .n("thread_ns_per_frame", (t1 - t0) / measured * 1e9)
                .n("wall_ns_per_frame", wall / measured * 1e9)
                .n("minflt_per_frame", (u1.minflt - u0.minflt) / measured)
                .n("evicted", evicted)
                .emit();
        }
        let fake = per_run.iter().find(|p| p.0 == Sink::Fakesink).map(|p| p.1);
        let Some(fake) = fake else { continue };
        for (sink, cpu) in per_run.iter().filter(|p| p.0 != Sink::Fakesink) {
            Record::new("steady-ratio")
                .s("format", &input.format_name())
                .s("sink", sink.name())
                .n("run", run as f64)
                .n("ratio", cpu / fake)
                .emit();
        }
    }
    Ok(())
}

/// The measured loop, kept out of line so that `valgrind --tool=callgrind
/// --toggle-collect='*measured_pushes*'` counts exactly these pushes.
#[inline(never)]
fn measured_pushes(feed: &Feed, buffers: &[gst::Buffer]) -> Result<()> {
    for b in buffers {
        feed.push(b.clone())?;
    }
    Ok(())
}
