//! Shared helpers for the end-to-end tests: real pipelines, real encoders, and outputs
//! checked by decoding them with FFmpeg and with GStreamer.
#![allow(dead_code)]

pub mod av;
pub mod clips;
pub mod hold;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Once};

use gst::prelude::*;
#[allow(unused_imports)] // Each test binary uses its own part of them.
pub use test_support::{ffprobe, require_tool, run_ok, ProcessUsage, TestDir};

pub const SECOND: u64 = 1_000_000_000;

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer initializes");
        gstreplay::plugin_register_static().expect("the replay plugin registers");
    });
}

pub fn require_element(name: &str) {
    init();
    assert!(
        gst::ElementFactory::find(name).is_some(),
        "GStreamer element {name} is missing; run the README's test command, which installs it"
    );
}

/// Runs a pipeline to EOS and returns the element messages it posted, in order.
/// Panics with the error's text on an ERROR message.
pub fn run_to_eos(pipeline: &gst::Pipeline) -> Vec<gst::Structure> {
    let bus = pipeline.bus().unwrap();
    pipeline
        .set_state(gst::State::Playing)
        .expect("pipeline starts");
    let mut element_messages = Vec::new();
    for message in bus.iter_timed(gst::ClockTime::from_seconds(300)) {
        match message.view() {
            gst::MessageView::Eos(_) => {
                pipeline.set_state(gst::State::Null).unwrap();
                return element_messages;
            }
            gst::MessageView::Error(err) => {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!(
                    "pipeline error from {:?}: {} ({:?})",
                    err.src().map(|s| s.path_string()),
                    err.error(),
                    err.debug()
                );
            }
            gst::MessageView::Element(element) => {
                if let Some(structure) = element.structure() {
                    element_messages.push(structure.to_owned());
                }
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    panic!("pipeline did not reach EOS within 300 s");
}

pub fn parse(description: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(description)
        .unwrap_or_else(|err| panic!("cannot build `{description}`: {err}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

pub fn replay_messages<'a>(messages: &'a [gst::Structure], name: &str) -> Vec<&'a gst::Structure> {
    messages.iter().filter(|m| m.name() == name).collect()
}

/// Runs `action` on `ring` from the video streaming thread just before the first buffer
/// whose running time reaches `at`: a snapshot then holds exactly the frames before it.
pub fn at_running_time(
    ring: &gst::Element,
    at: gst::ClockTime,
    action: impl FnOnce(&gst::Element) + Send + 'static,
) {
    let pad = ring.static_pad("video").unwrap();
    let ring_weak = ring.downgrade();
    let action = Mutex::new(Some(action));
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        // Encoders may offset timestamps (GstVideoEncoder starts at 1000 h): compare running time.
        let segment = pad.sticky_event::<gst::event::Segment>(0).unwrap();
        let segment = segment
            .segment()
            .downcast_ref::<gst::ClockTime>()
            .unwrap()
            .clone();
        let reached = info
            .buffer()
            .and_then(|b| b.pts())
            .and_then(|pts| segment.to_running_time(pts))
            .is_some_and(|running_time| running_time >= at);
        if reached {
            if let (Some(action), Some(ring)) = (action.lock().unwrap().take(), ring_weak.upgrade())
            {
                action(&ring);
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// Emits `save` at running time `at` (see [`at_running_time`]). `requests` are (duration ns,
/// location) pairs, emitted back to back. The returned ids fill in once emitted.
pub fn save_at(
    ring: &gst::Element,
    at: gst::ClockTime,
    requests: Vec<(u64, Option<String>)>,
) -> Arc<Mutex<Vec<String>>> {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let ids_in_probe = Arc::clone(&ids);
    at_running_time(ring, at, move |ring| {
        for (duration, location) in requests {
            let id = ring.emit_by_name::<String>("save", &[&duration, &location]);
            ids_in_probe.lock().unwrap().push(id);
        }
    });
    ids
}

pub fn get_u64(structure: &gst::StructureRef, field: &str) -> u64 {
    structure
        .get::<u64>(field)
        .unwrap_or_else(|_| panic!("{field} in {structure}"))
}

pub fn get_str(structure: &gst::StructureRef, field: &str) -> String {
    structure
        .get::<String>(field)
        .unwrap_or_else(|_| panic!("{field} in {structure}"))
}

/// Decodes with FFmpeg and returns the MD5 of each presented frame, in presentation order,
/// and what FFmpeg printed on stderr at level error (empty for a clean decode).
pub fn decoded_frame_hashes(path: &Path) -> (Vec<String>, String) {
    require_tool("ffmpeg");
    let output = run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            // Every decoded frame once, at its own timestamp (no constant-rate duplication).
            .args([
                "-map",
                "0:v:0",
                "-fps_mode",
                "passthrough",
                "-enc_time_base",
                "-1",
            ])
            .args(["-pix_fmt", "yuv420p", "-f", "framemd5", "-"]),
    );
    let hashes = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit(',').next().map(|h| h.trim().to_owned()))
        .collect();
    (hashes, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Decodes many files with FFmpeg and returns how many frames each presents. One `ffmpeg`
/// decodes a batch of files (its start-up costs more than decoding a short clip); any
/// complaint on its stderr fails, naming the batch.
pub fn decoded_frame_counts(paths: &[PathBuf]) -> Vec<usize> {
    require_tool("ffmpeg");
    static BATCH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut counts = Vec::with_capacity(paths.len());
    for batch in paths.chunks(100) {
        let scratch = std::env::temp_dir().join(format!(
            "replay-decoded-{}-{}",
            std::process::id(),
            BATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&scratch).unwrap();
        let mut command = Command::new("ffmpeg");
        command.args(["-v", "error", "-nostdin", "-y"]);
        for path in batch {
            command.args(["-threads", "1", "-i"]).arg(path);
        }
        // One frame checksum line per presented frame, each file to its own list.
        for index in 0..batch.len() {
            command
                .args(["-map", &format!("{index}:v:0"), "-fps_mode", "passthrough"])
                .args(["-f", "framecrc"])
                .arg(scratch.join(format!("{index}.crc")));
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "ffmpeg could not decode one of {batch:?} cleanly: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        for index in 0..batch.len() {
            let list = std::fs::read_to_string(scratch.join(format!("{index}.crc"))).unwrap();
            counts.push(list.lines().filter(|line| !line.starts_with('#')).count());
        }
        let _ = std::fs::remove_dir_all(&scratch);
    }
    counts
}

/// Where `clip` occurs as a contiguous run inside `reference`.
pub fn position_in(reference: &[String], clip: &[String]) -> Option<usize> {
    if clip.is_empty() {
        return None;
    }
    reference
        .windows(clip.len())
        .position(|window| window == clip)
}

/// Decodes with GStreamer (qtdemux, the stream's parser, the default decoder) and returns
/// the presented frames' timestamps.
pub fn gstreamer_decoded_pts(path: &Path) -> Vec<gst::ClockTime> {
    let pipeline = parse(&format!(
        "filesrc location=\"{}\" ! qtdemux ! decodebin ! videoconvert ! appsink name=frames sync=false",
        path.display()
    ));
    let appsink = pipeline
        .by_name("frames")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let timestamps = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&timestamps);
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().unwrap();
                let segment = sample
                    .segment()
                    .unwrap()
                    .downcast_ref::<gst::ClockTime>()
                    .unwrap()
                    .clone();
                collected
                    .lock()
                    .unwrap()
                    .push(segment.to_stream_time(buffer.pts().unwrap()).unwrap());
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    run_to_eos(&pipeline);
    let result = timestamps.lock().unwrap().clone();
    result
}
