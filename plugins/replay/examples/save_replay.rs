//! Records a live test pattern into `replayring`, then saves the last few seconds to MP4
//! with the `save` action signal and waits for the `replay-saved` message.
//!
//! ```text
//! cargo run --release -p gst-plugin-replay --example save_replay -- [--record SECONDS] [--clip SECONDS] [--output-dir DIR]
//! ```
//!
//! This is the whole application side of an instant replay: build the pipeline, emit
//! `save`, read the answer from the bus.

use std::path::PathBuf;
use std::time::Duration;

use gst::prelude::*;

struct Options {
    record: f64,
    clip: f64,
    output_dir: PathBuf,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        record: 8.0,
        clip: 5.0,
        output_dir: PathBuf::from("replays"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--record" => options.record = seconds(&flag, &value()?)?,
            "--clip" => options.clip = seconds(&flag, &value()?)?,
            "--output-dir" => options.output_dir = PathBuf::from(value()?),
            "--help" | "-h" => {
                return Err(
                    "usage: save_replay [--record SECONDS] [--clip SECONDS] [--output-dir DIR]"
                        .into(),
                )
            }
            other => return Err(format!("unknown option {other}; see --help")),
        }
    }
    Ok(options)
}

fn seconds(flag: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 3600.0 => Ok(seconds),
        _ => Err(format!(
            "{flag} takes a number of seconds between 0 and 3600, not {value:?}"
        )),
    }
}

fn main() {
    let options = parse_options().unwrap_or_else(|message| {
        eprintln!("{message}");
        std::process::exit(2);
    });
    if let Err(message) = run(&options) {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> Result<(), String> {
    gst::init().map_err(|err| err.to_string())?;
    gstreplay::plugin_register_static().map_err(|err| err.to_string())?;
    std::fs::create_dir_all(&options.output_dir)
        .map_err(|err| format!("cannot create {}: {err}", options.output_dir.display()))?;

    let pipeline = gst::parse::launch(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=1280,height=720,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate=8000 \
         ! h264parse ! replayring name=ring max-duration=30000000000",
    )
    .map_err(|err| format!("cannot build the pipeline (are GStreamer's x264 and parsers installed?): {err}"))?
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let ring = pipeline.by_name("ring").expect("ring element");
    let bus = pipeline.bus().expect("pipeline bus");

    pipeline
        .set_state(gst::State::Playing)
        .map_err(|err| err.to_string())?;
    eprintln!(
        "Recording a live test pattern (1280x720, 30 fps, x264) for {} s ...",
        options.record
    );
    let record_until = std::time::Instant::now() + Duration::from_secs_f64(options.record);
    while std::time::Instant::now() < record_until {
        if let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
            fail_on_error(&message)?;
        }
    }

    let template = options.output_dir.join("replay-%Y%m%d-%H%M%S.mp4");
    let duration_ns = (options.clip * 1e9) as u64;
    let id = ring.emit_by_name::<String>(
        "save",
        &[&duration_ns, &template.to_string_lossy().to_string()],
    );
    eprintln!(
        "Saving the last {} s (save id {id}) while capture goes on ...",
        options.clip
    );

    let result = loop {
        let Some(message) = bus.timed_pop(gst::ClockTime::from_seconds(30)) else {
            break Err("no answer to the save within 30 s".to_owned());
        };
        fail_on_error(&message)?;
        let Some(structure) = message.structure() else {
            continue;
        };
        if structure.get::<String>("id").ok().as_deref() != Some(id.as_str()) {
            continue;
        }
        match structure.name().as_str() {
            "replay-saved" => {
                let field = |name| structure.get::<u64>(name).unwrap_or(0);
                let location = structure.get::<String>("location").unwrap_or_default();
                println!("{location}");
                eprintln!(
                    "Saved {:.3} s ({} frames, {:.1} MB) to {location} in {:.1} ms",
                    field("duration") as f64 / 1e9,
                    field("frames"),
                    field("bytes") as f64 / 1e6,
                    field("latency") as f64 / 1e6,
                );
                break Ok(());
            }
            "replay-failed" => break Err(structure.get::<String>("error").unwrap_or_default()),
            _ => {}
        }
    };
    let stats = ring.property::<gst::Structure>("stats");
    eprintln!("Ring now: {stats}");
    pipeline
        .set_state(gst::State::Null)
        .map_err(|err| err.to_string())?;
    result
}

fn fail_on_error(message: &gst::Message) -> Result<(), String> {
    if let gst::MessageView::Error(err) = message.view() {
        return Err(format!("{} ({:?})", err.error(), err.debug()));
    }
    Ok(())
}
