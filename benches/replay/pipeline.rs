//! CPU per frame of a whole pipeline (2d. in docs/benchmarks.md): `filesrc ! qtdemux !
//! h264parse ! <sink>` run to EOS as fast as it goes, the sink being replayring (full and
//! evicting after the first `--ring-seconds`), gst-plugins-rs gopbuffer, or fakesink. The
//! process's CPU time over the run, per frame: what a sink adds to a real demux-and-parse
//! pipeline, where `steady` measures the sink alone.

use gst::prelude::*;

use crate::feed::Sink;
use crate::process::usage;
use crate::record::Record;
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    /// An MP4 of H.264 (benches/gen-input.sh makes target/bench-input/h264_15M_120s.mp4).
    #[arg(long)]
    mp4: std::path::PathBuf,
    #[arg(long, default_value_t = 10.0)]
    ring_seconds: f64,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["fakesink", "replayring", "gopbuffer"])]
    sinks: Vec<Sink>,
}

fn description(sink: Sink, mp4: &std::path::Path, ring_seconds: f64) -> String {
    let ring_ns = (ring_seconds * 1e9) as u64;
    let sink = match sink {
        Sink::Replayring => format!("replayring name=sink max-duration={ring_ns}"),
        Sink::Fakesink => "fakesink name=sink sync=false".to_owned(),
        Sink::Gopbuffer => format!(
            "gopbuffer minimum-duration={ring_ns} max-size-time={ring_ns} ! fakesink name=sink sync=false"
        ),
    };
    format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! {sink}",
        mp4.display()
    )
}

/// Runs one pipeline to EOS; returns (CPU seconds, frames through the parser).
fn run_once(sink: Sink, args: &Args) -> Result<(f64, u64)> {
    let pipeline = gst::parse::launch(&description(sink, &args.mp4, args.ring_seconds))
        .map_err(|e| e.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let frames = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let parser = pipeline
        .iterate_elements()
        .into_iter()
        .flatten()
        .find(|e| e.factory().is_some_and(|f| f.name() == "h264parse"))
        .ok_or("no h264parse")?;
    let counted = frames.clone();
    parser
        .static_pad("src")
        .ok_or("h264parse without src")?
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    let before = usage();
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(600),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .ok_or("no EOS within 600 s")?;
    let after = usage();
    let _ = pipeline.set_state(gst::State::Null);
    if let gst::MessageView::Error(err) = message.view() {
        return Err(format!("{}: {}", sink.name(), err.error()));
    }
    Ok((
        after.cpu - before.cpu,
        frames.load(std::sync::atomic::Ordering::Relaxed),
    ))
}

pub fn run(args: &Args) -> Result<()> {
    for run in 0..args.runs {
        for k in 0..args.sinks.len() {
            // Rotate so no sink always runs first (a cold page cache, a cold CPU).
            let sink = args.sinks[(k + run) % args.sinks.len()];
            let (cpu, frames) = run_once(sink, args)?;
            Record::new("pipeline")
                .s("sink", sink.name())
                .n("run", run as f64)
                .n("ring_s", args.ring_seconds)
                .n("frames", frames as f64)
                .n("cpu_s", cpu)
                .n("ns_per_frame", cpu * 1e9 / frames as f64)
                .emit();
        }
    }
    Ok(())
}
