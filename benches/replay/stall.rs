//! Stalls (4. in docs/benchmarks.md): a full ring fed live at 60 fps (a thread allocates and pushes
//! each frame at its deadline) while the application thread saves the whole ring. What is recorded
//! is how late and how far apart the frames reached the ring, before and during the save.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::feed::{Feed, Sink, HUGE_BYTES};
use crate::input::{Input, InputArgs};
use crate::record::Record;
use crate::timeline::{frames_in, fresh, looped, FRAME_NS};
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Where the saves are written; each file is deleted after.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// What `--dir` is (tmpfs, disk), for the records.
    #[arg(long, default_value = "")]
    target: String,
    #[arg(long, default_value_t = 120.0)]
    ring_seconds: f64,
}

/// When one live frame was due, pushed and stored, in seconds since the live feed started.
#[derive(Clone, Copy)]
struct Arrival {
    due: f64,
    pushed: f64,
    done: f64,
}

/// The worst of the frames stored within a time window, in seconds.
struct Worst {
    gap: f64,
    push: f64,
    late: f64,
}

fn worst(log: &[Arrival], from: f64, to: f64) -> Worst {
    let mut worst = Worst {
        gap: 0.0,
        push: 0.0,
        late: 0.0,
    };
    for w in log.windows(2) {
        let (previous, frame) = (w[0], w[1]);
        if frame.done >= from && frame.done <= to {
            worst.gap = worst.gap.max(frame.done - previous.done);
            worst.push = worst.push.max(frame.done - frame.pushed);
            worst.late = worst.late.max(frame.done - frame.due);
        }
    }
    worst
}

pub fn run(args: &Args) -> Result<()> {
    let input = Input::load(&args.input, None)?;
    std::fs::create_dir_all(&args.dir).map_err(|e| e.to_string())?;
    let input = Arc::new(input);
    for run in 0..args.runs {
        let prefill = frames_in(args.ring_seconds + 2.0);
        let feed = Arc::new(Feed::new(
            Sink::Replayring,
            args.ring_seconds,
            HUGE_BYTES,
            &input.caps,
        )?);
        for b in looped(&input.frames, prefill) {
            feed.push(b)?;
        }
        // Live: frame n is due at start + (n - prefill) / 60 s; it is allocated and pushed then.
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let start = Instant::now();
        let pusher = {
            let (feed, stop, log, input) = (feed.clone(), stop.clone(), log.clone(), input.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut n = prefill;
                while !stop.load(Ordering::Relaxed) {
                    let due = Duration::from_nanos((n - prefill) as u64 * FRAME_NS);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    let pushed = start.elapsed().as_secs_f64();
                    feed.push(fresh(&input.frames, n))?;
                    let done = start.elapsed().as_secs_f64();
                    log.lock().unwrap().push(Arrival {
                        due: due.as_secs_f64(),
                        pushed,
                        done,
                    });
                    n += 1;
                }
                Ok(())
            })
        };
        std::thread::sleep(Duration::from_secs(2));
        let save_start = start.elapsed().as_secs_f64();
        let (path, bytes) = feed.save(&args.dir.join(format!("bench-stall-{run}.mp4")))?;
        let save_end = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        pusher.join().map_err(|_| "pusher panicked")??;
        let _ = std::fs::remove_file(path);
        let log = log.lock().unwrap();
        // The first 100 ms are the pusher starting up, not the element.
        let before = worst(&log, 0.1, save_start);
        let during = worst(&log, save_start, save_end);
        Record::new("stall")
            .s("target", &args.target)
            .s("format", &input.format_name())
            .n("run", run as f64)
            .n("save_seconds", save_end - save_start)
            .n("bytes", bytes as f64)
            .n("frame_interval_ms", FRAME_NS as f64 / 1e6)
            .n("gap_ms_before", before.gap * 1e3)
            .n("push_ms_before", before.push * 1e3)
            .n("late_ms_before", before.late * 1e3)
            .n("gap_ms_during", during.gap * 1e3)
            .n("push_ms_during", during.push * 1e3)
            .n("late_ms_during", during.late * 1e3)
            .emit();
        if run == 0 {
            // The arrival gaps over time, for the plot.
            let gaps: Vec<String> = log
                .windows(2)
                .map(|w| format!("[{:.4},{:.3}]", w[1].done, (w[1].done - w[0].done) * 1e3))
                .collect();
            Record::new("stall-trace")
                .s("target", &args.target)
                .n("save_start", save_start)
                .n("save_end", save_end)
                .json("gaps", format!("[{}]", gaps.join(",")))
                .emit();
        }
    }
    Ok(())
}
