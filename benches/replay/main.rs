//! Benchmark driver for `replayring`; `benches/run.sh` runs it and `benches/report.py` turns
//! its output (one JSON object a line on stdout) into `docs/benchmarks.md` and plots.
//!
//! The input is parsed once by GStreamer (`input`); its access units are then pushed straight
//! into the element's sink pad from this process (no parser or queue in between), so what is
//! timed is the element itself. One module per measurement; `replay help <measurement>` lists
//! its flags.

mod baselines;
mod feed;
mod fill;
mod input;
mod many;
mod memory;
mod pipeline;
mod process;
mod record;
mod save;
mod stall;
mod steady;
mod timeline;

use clap::{Parser, Subcommand};

type Result<T> = std::result::Result<T, String>;

#[derive(Parser)]
#[command(
    name = "replay",
    about = "Benchmarks of the replayring element (see benches/run.sh)"
)]
struct Cli {
    #[command(subcommand)]
    measurement: Measurement,
}

#[derive(Subcommand)]
enum Measurement {
    /// Save latency of a full ring, against a plain copy, FFmpeg and mp4mux.
    Save(save::Args),
    /// Streaming-thread cost per frame with the ring full and evicting.
    Steady(steady::Args),
    /// CPU per frame of `filesrc ! qtdemux ! h264parse ! <sink>`, the sink included.
    Pipeline(pipeline::Args),
    /// Cost per frame of freshly allocated frames, while the ring fills and once it is full.
    Fill(fill::Args),
    /// Resident memory with a full ring.
    Memory(memory::Args),
    /// Frame gaps on a live 60 fps feed while a full-ring save runs.
    Stall(stall::Args),
    /// Many rings in one process, fed in real time.
    Many(many::Args),
}

fn main() {
    // `cargo bench` appends `--bench`, which no measurement takes.
    let cli = Cli::parse_from(std::env::args().filter(|arg| arg != "--bench"));
    if let Err(err) = register_elements().and_then(|()| run(cli.measurement)) {
        eprintln!("replay bench: {err}");
        std::process::exit(1);
    }
}

fn register_elements() -> Result<()> {
    gst::init().map_err(|e| e.to_string())?;
    gstreplay::plugin_register_static().map_err(|e| e.to_string())?;
    // gst-plugins-rs `gopbuffer`, the reference measured beside replayring (`--sinks gopbuffer`).
    gstgopbuffer::plugin_register_static().map_err(|e| e.to_string())
}

fn run(measurement: Measurement) -> Result<()> {
    match measurement {
        Measurement::Save(args) => save::run(&args),
        Measurement::Steady(args) => steady::run(&args),
        Measurement::Pipeline(args) => pipeline::run(&args),
        Measurement::Fill(args) => fill::run(&args),
        Measurement::Memory(args) => memory::run(&args),
        Measurement::Stall(args) => stall::run(&args),
        Measurement::Many(args) => many::run(&args),
    }
}
