//! Save latency (1. in docs/benchmarks.md): a full ring saved with the `save` signal, from the
//! emission to the `replay-saved` message, with and without its SHA-256, against the limit
//! (writing the same bytes from one RAM buffer) and other ways of getting them into a file
//! (`baselines`), run back to back in rotating order.

use std::path::PathBuf;
use std::time::Instant;

use gst::prelude::*;

use crate::baselines::{self, Method};
use crate::feed::{Feed, Sink, HUGE_BYTES};
use crate::input::{Input, InputArgs};
use crate::record::Record;
use crate::timeline::{frames_in, looped};
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Where the files are written (tmpfs or disk); each is deleted after it is timed.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 120.0)]
    ring_seconds: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Which series of report.py the records belong to (main, hevc, size, rate).
    #[arg(long, default_value = "")]
    label: String,
    /// What `--dir` is (tmpfs, disk), for the records.
    #[arg(long, default_value = "")]
    target: String,
    /// The same stream as MP4: also time an FFmpeg remux of it with faststart.
    #[arg(long)]
    mp4: Option<PathBuf>,
    /// An FFmpeg concat list of MP4 segments: also time their concatenation with faststart.
    #[arg(long)]
    concat: Option<PathBuf>,
    /// Also time GStreamer's `mp4mux faststart=true` fed the ring's buffers from RAM.
    #[arg(long)]
    mp4mux: bool,
}

pub fn run(args: &Args) -> Result<()> {
    let input = Input::load(&args.input, None)?;
    std::fs::create_dir_all(&args.dir).map_err(|e| e.to_string())?;
    let buffers = looped(&input.frames, frames_in(args.ring_seconds + 2.0));
    let feed = Feed::new(Sink::Replayring, args.ring_seconds, HUGE_BYTES, &input.caps)?;
    for b in &buffers {
        feed.push(b.clone())?;
    }
    let ring_bytes = feed.stat("bytes");
    let mbps = input.bytes() as f64 * 8.0 / input.seconds() / 1e6;
    let contiguous = baselines::contiguous_payload(&input.frames, ring_bytes + (32 << 20));

    let cp_source =
        baselines::cp_source(&contiguous[..(ring_bytes + 100_000) as usize], &args.dir)?;
    let mut methods = vec![Method::Ring, Method::Limit, Method::Cp];
    // Builds from before the writer hashed (the before/after runs of docs/benchmarks.md).
    if feed.sink.has_property("sha256") {
        methods.insert(1, Method::RingSha256);
        methods.push(Method::Sha256);
    }
    if let Some(mp4) = &args.mp4 {
        methods.push(Method::FfmpegFaststart(mp4));
    }
    if let Some(list) = &args.concat {
        methods.push(Method::FfmpegConcat(list));
    }
    if args.mp4mux {
        methods.push(Method::Mp4muxFaststart);
    }
    let mut file_bytes = 0u64;
    for run in 0..args.runs {
        // Rotate the order so no method always runs right after another one's writeback.
        let order: Vec<Method> = (0..methods.len())
            .map(|k| methods[(k + run) % methods.len()])
            .collect();
        let mut results: Vec<(Method, f64)> = Vec::new();
        for method in order {
            let out = args.dir.join(format!("bench-{}-{run}.mp4", method.name()));
            let _ = std::fs::remove_file(&out);
            let t0 = Instant::now();
            // As many bytes as the ring's file (before the first save: the payload plus about
            // what the MP4 boxes add).
            let n = if file_bytes > 0 {
                file_bytes
            } else {
                ring_bytes + 100_000
            };
            let written = match method {
                Method::Ring | Method::RingSha256 => {
                    if feed.sink.has_property("sha256") {
                        feed.sink
                            .set_property("sha256", method == Method::RingSha256);
                    }
                    let (path, bytes) = feed.save(&out)?;
                    file_bytes = bytes;
                    path
                }
                Method::Limit => {
                    baselines::limit(&contiguous[..n as usize], &out)?;
                    out
                }
                Method::Cp => {
                    baselines::cp(&cp_source, &out)?;
                    out
                }
                Method::Sha256 => {
                    std::hint::black_box(baselines::sha256(&contiguous[..n as usize]));
                    out
                }
                Method::FfmpegFaststart(mp4) => {
                    baselines::ffmpeg_faststart(mp4, &out)?;
                    out
                }
                Method::FfmpegConcat(list) => {
                    baselines::ffmpeg_concat(list, &out)?;
                    out
                }
                Method::Mp4muxFaststart => {
                    baselines::mp4mux_faststart(&input, &buffers, &args.dir, &out)?;
                    out
                }
            };
            results.push((method, t0.elapsed().as_secs_f64()));
            let _ = std::fs::remove_file(written);
        }
        let seconds_of = |wanted: Method| {
            results
                .iter()
                .find(|r| r.0 == wanted)
                .map_or(f64::NAN, |r| r.1)
        };
        let (limit, cp) = (seconds_of(Method::Limit), seconds_of(Method::Cp));
        // With hashing, a save cannot beat the slower of writing and hashing the bytes.
        let hash_floor = limit.max(seconds_of(Method::Sha256));
        for (method, seconds) in results {
            Record::new("save")
                .s("label", &args.label)
                .s("format", &input.format_name())
                .s("target", &args.target)
                .s("method", method.name())
                .n("ring_s", args.ring_seconds)
                .n("mbps", mbps)
                .n("run", run as f64)
                .n("seconds", seconds)
                .n("ratio_to_limit", seconds / limit)
                .n("ratio_to_cp", seconds / cp)
                .n("ratio_to_hash_floor", seconds / hash_floor)
                .n("bytes", file_bytes as f64)
                .emit();
        }
    }
    let _ = std::fs::remove_file(cp_source);
    Ok(())
}
