//! Bad input: every malformed or unusual stream gets a warning or an error that says what
//! is wrong (and what to do), and any file the ring still writes decodes cleanly.
//!
//! Real encoders; the damage is done by a probe between the parser and the ring.

mod common;

use std::path::{Path, PathBuf};

use common::clips::*;
use common::hold::*;
use common::*;
use gst::prelude::*;

/// `frames` of the test source, encoded by x264enc with `encoder` options, parsed, and fed
/// to a ring named `ring` with `ring_options`.
fn h264_ring(frames: u64, encoder: &str, ring_options: &str) -> gst::Pipeline {
    parse(&format!(
        "{} ! x264enc speed-preset=ultrafast {encoder} ! h264parse \
         ! replayring name=ring {ring_options}",
        source(frames)
    ))
}

/// Calls `change(index, buffer)` on every buffer that reaches the ring, in order.
fn damage_stream(
    pipeline: &gst::Pipeline,
    change: impl FnMut(u64, &mut gst::BufferRef) + Send + 'static,
) {
    // Probes must be Sync: the counter and the closure live behind a lock.
    let damage = std::sync::Mutex::new((0u64, change));
    ring_of(pipeline).static_pad("video").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if let Some(buffer) = info.buffer_mut() {
                let mut damage = damage.lock().unwrap();
                let (index, change) = &mut *damage;
                change(*index, buffer.make_mut());
                *index += 1;
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// Drops the buffers before the ring whose index (from 0, in order) `keep` refuses.
fn drop_buffers(pipeline: &gst::Pipeline, keep: impl Fn(u64) -> bool + Send + Sync + 'static) {
    let index = std::sync::atomic::AtomicU64::new(0);
    ring_of(pipeline).static_pad("video").unwrap().add_probe(
        gst::PadProbeType::BUFFER,
        move |_, info| {
            if keep(index.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                gst::PadProbeReturn::Ok
            } else {
                // Not PadProbeReturn::Drop: with GStreamer 1.22 core unrefs the buffer that
                // gstreamer-rs already released (a CRITICAL per buffer). Taking it and saying
                // "handled" drops it once.
                info.data.take();
                gst::PadProbeReturn::Handled
            }
        },
    );
}

/// Runs to EOS or an error and returns what the bus said. After EOS the pipeline is
/// stopped; after an error it is left as it is, with the ring's contents.
fn run_logged(pipeline: &gst::Pipeline) -> BusLog {
    let mut log = BusLog::new(pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    log.read_to_end();
    if log.saw_eos() {
        pipeline.set_state(gst::State::Null).unwrap();
    }
    log
}

fn frame_time(index: u64) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(index * SECOND / FPS)
}

fn assert_one_warning_containing(log: &BusLog, needles: &[&str]) {
    let warnings = log.warnings();
    let matching: Vec<&String> = warnings
        .iter()
        .filter(|w| needles.iter().all(|needle| w.contains(needle)))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "one warning with {needles:?} (not one per frame); warnings: {warnings:#?}"
    );
}

#[test]
fn delta_frames_before_the_first_keyframe_are_dropped_with_a_warning() {
    require_element("x264enc");
    let dir = TestDir::new("bad-no-keyframe");
    let clip = dir.join("clip.mp4");
    let pipeline = h264_ring(
        120,
        "key-int-max=30",
        &format!("save-on-eos=true location=\"{}\"", clip.display()),
    );
    // The stream reaches the ring in the middle of a GOP: its keyframe never arrives.
    drop_buffers(&pipeline, |index| index >= 10);
    let early = save_at(
        &ring_of(&pipeline),
        frame_time(25),
        vec![(SECOND, Some(dir.join_str("early.mp4")))],
    );
    let log = run_logged(&pipeline);

    assert!(log.saw_eos(), "{:?}", log.errors());
    assert_one_warning_containing(&log, &["until the first keyframe"]);
    let outcomes = log.outcomes();
    let early_id = early.lock().unwrap()[0].clone();
    let early = outcomes
        .iter()
        .find(|o| get_str(o, "id") == early_id)
        .unwrap();
    assert_eq!(early.name(), "replay-failed", "{early:?}");
    assert_eq!(get_str(early, "error"), "no keyframe buffered yet");
    let ring = ring_of(&pipeline);
    assert_eq!(stat(&ring, "dropped"), 20, "frames 10 to 29");
    // The 90 frames from the keyframe at 30 on.
    assert_eq!(decodes_cleanly(&clip), 90);
    assert_eq!(dir.listing(), vec!["clip.mp4"]);
}

/// One keyframe in 300 frames (10 s) and a 1 s ring: the ring cannot evict anything and
/// holds ten times what it was asked to. Returns the ring's stats at EOS and the bus.
fn rare_keyframes(dir: &TestDir) -> (gst::Structure, BusLog) {
    let pipeline = h264_ring(
        300,
        "key-int-max=100000 option-string=scenecut=0",
        &format!(
            "max-duration={SECOND} save-on-eos=true location=\"{}\"",
            dir.join("clip.mp4").display()
        ),
    );
    let ring = ring_of(&pipeline);
    let hold = Hold::at(&ring, frame_time(299));
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    hold.wait();
    let stats = ring.property::<gst::Structure>("stats");
    hold.release();
    log.read_to_end();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(log.saw_eos(), "{:?}", log.errors());
    (stats, log)
}

#[test]
fn keyframes_further_apart_than_max_duration_still_give_exact_clips() {
    require_element("x264enc");
    let dir = TestDir::new("bad-rare-keyframes");
    let (stats, _) = rare_keyframes(&dir);
    assert_eq!(get_u64(&stats, "keyframes"), 1, "{stats}");
    // The clip shows max-duration (decoding from the only keyframe) and decodes.
    assert_eq!(decodes_cleanly(&dir.join("clip.mp4")), 30);
}

#[test]
fn keyframes_further_apart_than_max_duration_are_reported() {
    require_element("x264enc");
    let dir = TestDir::new("bad-rare-keyframes-reported");
    let (stats, log) = rare_keyframes(&dir);
    let warnings = log.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("keyframe") && w.contains("max-duration")),
        "a warning that keyframes are further apart than max-duration (the ring holds {} ns \
         for a max-duration of 1 s); warnings: {warnings:#?}",
        get_u64(&stats, "duration")
    );
}

#[test]
fn a_gop_larger_than_max_bytes_keeps_a_decodable_start_and_the_cap() {
    require_element("x264enc");
    let dir = TestDir::new("bad-huge-gop");
    let clip = dir.join("clip.mp4");
    let max_bytes = 60_000u64;
    let pipeline = parse(&format!(
        "videotestsrc num-buffers=120 pattern=snow ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc speed-preset=ultrafast key-int-max=60 ! h264parse \
         ! replayring name=ring max-bytes={max_bytes} save-on-eos=true location=\"{}\"",
        clip.display()
    ));
    let log = run_logged(&pipeline);
    assert!(log.saw_eos(), "{:?}", log.errors());
    let ring = ring_of(&pipeline);
    assert!(stat(&ring, "bytes") <= max_bytes);
    assert!(stat(&ring, "dropped") > 0);
    assert_one_warning_containing(&log, &["larger than max-bytes", "keyframe"]);
    let saved = log.outcomes();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(saved[0].name(), "replay-saved", "{saved:?}");
    let frames = decodes_cleanly(&clip);
    assert_eq!(frames as u64, get_u64(&saved[0], "frames"));
}

#[test]
fn buffers_without_timestamps_stop_with_an_error_and_what_was_captured_still_saves() {
    require_element("x264enc");
    let dir = TestDir::new("bad-no-timestamps");
    let pipeline = h264_ring(120, "key-int-max=30", "");
    damage_stream(&pipeline, |index, buffer| {
        if index >= 60 {
            buffer.set_pts(gst::ClockTime::NONE);
            buffer.set_dts(gst::ClockTime::NONE);
        }
    });
    let mut log = run_logged(&pipeline);
    let errors = log.errors();
    assert!(
        errors.iter().any(|e| e.contains("without timestamps")
            && e.contains("PTS")
            && e.contains("replayring")),
        "{errors:#?}"
    );
    // The error stops the stream, not the ring: the 60 frames before it are still there.
    let ring = ring_of(&pipeline);
    let clip = dir.join_str("after-error.mp4");
    let id = ring.emit_by_name::<String>("save", &[&(60 * SECOND), &Some(clip.clone())]);
    let outcome = log.outcome(&id);
    assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
    assert_eq!(get_u64(&outcome, "frames"), 60);
    assert_eq!(decodes_cleanly(Path::new(&clip)), 60);
    pipeline.set_state(gst::State::Null).unwrap();
}

/// Asserts the pictures `clip` shows are a contiguous run of the reference's, in order.
fn assert_shows_a_run_of(clip: &Path, reference: &Path) {
    let (reference_hashes, _) = decoded_frame_hashes(reference);
    let (hashes, errors) = decoded_frame_hashes(clip);
    assert_eq!(errors, "", "{}: decode errors", clip.display());
    assert!(
        position_in(&reference_hashes, &hashes).is_some(),
        "{}: its {} pictures are not the source's, in the source's order",
        clip.display(),
        hashes.len()
    );
}

#[test]
fn decode_timestamps_without_presentation_timestamps_are_used_as_both() {
    require_element("x264enc");
    let dir = TestDir::new("bad-dts-only");
    // With B-frames the file then has no composition offsets: the decoder still puts the
    // pictures in order, and FFmpeg shows them so.
    for bframes in [0, 2] {
        let clip = dir.join(&format!("bframes-{bframes}.mp4"));
        let reference = dir.join(&format!("bframes-{bframes}.mkv"));
        let pipeline = ring_pipeline(
            90,
            &format!(
                "x264enc speed-preset=ultrafast key-int-max=30 bframes={bframes} b-adapt=false"
            ),
            "h264parse",
            &format!(
                "max-duration={} save-on-eos=true location=\"{}\"",
                2 * SECOND,
                clip.display()
            ),
            &reference,
        );
        damage_stream(&pipeline, |_, buffer| {
            buffer.set_pts(gst::ClockTime::NONE);
        });
        let log = run_logged(&pipeline);
        assert!(log.saw_eos(), "bframes={bframes}: {:?}", log.errors());
        assert_eq!(decodes_cleanly(&clip), 60, "bframes={bframes}");
        assert_eq!(
            ffprobe::video_stream(&clip).duration(),
            2.0,
            "bframes={bframes}"
        );
        assert_shows_a_run_of(&clip, &reference);
    }
}

/// 180 frames whose timestamps jump 2 s back at frame 90 (a source that restarted its
/// clock without a new segment), saved at EOS (10 s) and at frame 130 (4 s, across the
/// jump), beside a reference of the undamaged stream. Returns what the bus said.
fn backwards_jump(dir: &TestDir) -> BusLog {
    let pipeline = ring_pipeline(
        180,
        "x264enc speed-preset=ultrafast key-int-max=30 bframes=0",
        "h264parse",
        &format!(
            "max-duration={} save-on-eos=true location=\"{}\"",
            10 * SECOND,
            dir.join("at-eos.mp4").display()
        ),
        &dir.join("reference.mkv"),
    );
    let ring = ring_of(&pipeline).downgrade();
    let across = dir.join_str("across.mp4");
    damage_stream(&pipeline, move |index, buffer| {
        if index >= 90 {
            let back = gst::ClockTime::from_seconds(2);
            buffer.set_pts(buffer.pts().map(|t| t - back));
            buffer.set_dts(buffer.dts().map(|t| t - back));
        }
        if let (130, Some(ring)) = (index, ring.upgrade()) {
            ring.emit_by_name::<String>("save", &[&(4 * SECOND), &Some(across.clone())]);
        }
    });
    let log = run_logged(&pipeline);
    assert!(log.saw_eos(), "{:?}", log.errors());
    log
}

/// The saved clips of a [`backwards_jump`], with their outcomes.
fn saved_clips(log: &BusLog) -> Vec<(gst::Structure, PathBuf)> {
    let outcomes = log.outcomes();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    outcomes
        .into_iter()
        .filter(|outcome| {
            let saved = outcome.name() == "replay-saved";
            assert!(
                saved || !get_str(outcome, "error").is_empty(),
                "{outcome:?}"
            );
            saved
        })
        .map(|outcome| {
            let path = PathBuf::from(get_str(&outcome, "location"));
            (outcome, path)
        })
        .collect()
}

#[test]
fn timestamps_that_go_backwards_still_give_files_that_decode() {
    require_element("x264enc");
    let dir = TestDir::new("bad-backwards");
    let log = backwards_jump(&dir);
    for (outcome, path) in saved_clips(&log) {
        let frames = decodes_cleanly(&path);
        assert_eq!(frames as u64, get_u64(&outcome, "frames"), "{path:?}");
        let packets = ffprobe::video_packets(&path);
        assert!(
            packets
                .windows(2)
                .all(|p| p[0].dts_seconds() < p[1].dts_seconds()),
            "{path:?}: decode times increase"
        );
    }
    assert!(
        dir.listing().iter().all(|name| !name.ends_with(".part")),
        "{:?}",
        dir.listing()
    );
}

#[test]
fn timestamps_that_go_backwards_never_mix_two_timelines_in_one_file() {
    require_element("x264enc");
    let dir = TestDir::new("bad-backwards-timelines");
    let log = backwards_jump(&dir);
    for (outcome, path) in saved_clips(&log) {
        let frames = decodes_cleanly(&path);
        // Without B-frames, presentation follows decode order.
        let packets = ffprobe::video_packets(&path);
        assert!(
            packets
                .windows(2)
                .all(|p| p[0].pts_seconds() < p[1].pts_seconds()),
            "{path:?}: presentation times go back inside the file"
        );
        let seconds = get_u64(&outcome, "duration") as f64 / 1e9;
        assert!(
            (seconds - frames as f64 / FPS as f64).abs() < 0.05,
            "{path:?}: replay-saved says {seconds} s, the file shows {frames} frames"
        );
        assert_shows_a_run_of(&path, &dir.join("reference.mkv"));
    }
}

#[test]
fn timestamps_that_go_backwards_are_reported() {
    require_element("x264enc");
    let dir = TestDir::new("bad-backwards-reported");
    let warnings = backwards_jump(&dir).warnings();
    assert!(
        warnings.iter().any(|w| w.contains("backwards")),
        "a warning that timestamps went backwards: {warnings:#?}"
    );
}

/// Two encodings one after the other (an encoder restarted with other settings): same size
/// and frame rate, continuous running time, other parameter sets (profile), so only the
/// codec data changes, at frame 60.
fn codec_data_change(stream_format: &str, clip: &Path) -> gst::Pipeline {
    // x264's ultrafast preset is Constrained Baseline whatever profile is asked for.
    let encoding = |settings: &str| {
        format!(
            "{} ! x264enc key-int-max=30 bframes=0 {settings} ! h264parse",
            source(60)
        )
    };
    parse(&format!(
        "{} ! concat.sink_0 {} ! concat.sink_1 \
         concat name=concat ! h264parse ! video/x-h264,stream-format={stream_format} \
         ! replayring name=ring max-duration={} save-on-eos=true location=\"{}\"",
        encoding("speed-preset=ultrafast"),
        encoding("speed-preset=veryfast ! video/x-h264,profile=high"),
        60 * SECOND,
        clip.display()
    ))
}

#[test]
fn a_codec_data_change_never_mixes_parameter_sets_in_one_file() {
    require_element("x264enc");
    require_element("concat");
    let dir = TestDir::new("bad-codec-data");
    for stream_format in ["avc", "avc3"] {
        let clip = dir.join(&format!("{stream_format}.mp4"));
        let pipeline = codec_data_change(stream_format, &clip);
        let log = run_logged(&pipeline);
        assert!(log.saw_eos(), "{stream_format}: {:?}", log.errors());
        let video = ffprobe::video_stream(&clip);
        assert_eq!(
            video.profile.as_deref(),
            Some("High"),
            "{stream_format}: the newest format only"
        );
        assert_eq!(video.frames(), 60, "{stream_format}");
        assert_eq!(decodes_cleanly(&clip), 60, "{stream_format}");
    }
}

#[test]
fn x264enc_straight_into_the_ring_needs_no_parser() {
    require_element("x264enc");
    let dir = TestDir::new("bad-no-parser");
    let clip = dir.join("clip.mp4");
    let pipeline = parse(&format!(
        "{} ! x264enc speed-preset=ultrafast key-int-max=30 \
         ! replayring name=ring max-duration={} save-on-eos=true location=\"{}\"",
        source(90),
        2 * SECOND,
        clip.display()
    ));
    let log = run_logged(&pipeline);
    assert!(log.saw_eos(), "{:?}", log.errors());
    assert_eq!(decodes_cleanly(&clip), 60);
}

/// An Annex B H.264 file with no container: what a camera or `x264 -o clip.264` leaves.
fn raw_h264_file(dir: &TestDir) -> PathBuf {
    let path = dir.join("raw.h264");
    run_to_eos(&parse(&format!(
        "{} ! x264enc speed-preset=ultrafast key-int-max=30 ! h264parse \
         ! video/x-h264,stream-format=byte-stream ! filesink location=\"{}\"",
        source(60),
        path.display()
    )));
    path
}

#[test]
fn unparsed_input_with_incomplete_caps_is_refused_with_advice() {
    require_element("x264enc");
    let dir = TestDir::new("bad-incomplete-caps");
    let raw = raw_h264_file(&dir);
    // Caps that claim access units but leave out what only a parser knows.
    let pipeline = parse(&format!(
        "filesrc location=\"{}\" ! video/x-h264,stream-format=byte-stream,alignment=au \
         ! replayring name=ring save-on-eos=true location=\"{}\"",
        raw.display(),
        dir.join("clip.mp4").display()
    ));
    let log = run_logged(&pipeline);
    let errors = log.errors();
    assert!(
        errors.iter().any(|e| e.contains("h264parse")),
        "the error says to add h264parse: {errors:#?}"
    );
    assert_eq!(dir.listing(), vec!["raw.h264"], "no file");
}

#[test]
fn unparsed_byte_stream_is_refused_with_advice_to_add_a_parser() {
    require_element("x264enc");
    let dir = TestDir::new("bad-unparsed");
    let raw = raw_h264_file(&dir);
    for (name, front) in [
        ("typefind", "typefind".to_owned()),
        (
            "nal alignment",
            "h264parse ! video/x-h264,alignment=nal".to_owned(),
        ),
        ("no caps at all", "identity".to_owned()),
    ] {
        let pipeline = parse(&format!(
            "filesrc location=\"{}\" ! {front} ! replayring name=ring save-on-eos=true location=\"{}\"",
            raw.display(),
            dir.join("clip.mp4").display()
        ));
        let log = run_logged(&pipeline);
        pipeline.set_state(gst::State::Null).unwrap();
        let errors = log.errors();
        assert!(
            errors.iter().any(|e| e.contains("h264parse")),
            "{name}: the error says to add h264parse: {errors:#?}"
        );
    }
    assert_eq!(dir.listing(), vec!["raw.h264"], "no file");
}

#[test]
fn extreme_max_duration_values_save_decodable_clips() {
    require_element("x264enc");
    let dir = TestDir::new("bad-max-duration");
    // 1 ns: the ring keeps only the newest GOP. A save of "max-duration" asks for less than
    // a frame and fails with a reason; a longer one gets what the ring holds.
    let shortest = dir.join_str("shortest.mp4");
    let one_second = dir.join_str("one-second.mp4");
    let pipeline = h264_ring(90, "key-int-max=30", "max-duration=1");
    let ring = ring_of(&pipeline);
    let hold = Hold::at(&ring, frame_time(80));
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    hold.wait();
    assert_eq!(
        stat(&ring, "frames"),
        20,
        "frames 60 to 79: the open GOP only"
    );
    let too_short = ring.emit_by_name::<String>("save", &[&0u64, &Some(shortest.clone())]);
    let held = ring.emit_by_name::<String>("save", &[&SECOND, &Some(one_second.clone())]);
    let too_short = log.outcome(&too_short);
    let held = log.outcome(&held);
    hold.release();
    log.read_to_end();
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(too_short.name(), "replay-failed", "{too_short:?}");
    assert!(
        get_str(&too_short, "error").contains("no frame"),
        "{too_short:?}"
    );
    assert!(!Path::new(&shortest).exists());
    assert_eq!(held.name(), "replay-saved", "{held:?}");
    assert_eq!(decodes_cleanly(Path::new(&one_second)), 20);

    // u64::MAX: nothing is evicted by time, and absurd requests get everything or a reason.
    let pipeline = h264_ring(90, "key-int-max=30", &format!("max-duration={}", u64::MAX));
    let ring = ring_of(&pipeline);
    let everything = dir.join_str("everything.mp4");
    let at_most = dir.join_str("u64-max.mp4");
    let nothing = dir.join_str("empty-range.mp4");
    let hold = Hold::at(&ring, frame_time(80));
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    hold.wait();
    assert_eq!(stat(&ring, "evicted"), 0);
    let saves = [
        ring.emit_by_name::<String>("save", &[&0u64, &Some(everything.clone())]),
        ring.emit_by_name::<String>("save", &[&u64::MAX, &Some(at_most.clone())]),
        ring.emit_by_name::<String>(
            "save-range",
            &[&u64::MAX, &(u64::MAX - 1), &Some(nothing.clone())],
        ),
    ];
    let outcomes: Vec<gst::Structure> = saves.iter().map(|id| log.outcome(id)).collect();
    hold.release();
    log.read_to_end();
    pipeline.set_state(gst::State::Null).unwrap();
    for (outcome, path) in outcomes[..2].iter().zip([&everything, &at_most]) {
        assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
        assert_eq!(get_u64(outcome, "frames"), 80);
        assert_eq!(decodes_cleanly(Path::new(path)), 80);
    }
    // 2^64 - 2 ns to 2^64 - 1 ns ago is before the stream began: nothing to save.
    assert_eq!(outcomes[2].name(), "replay-failed", "{:?}", outcomes[2]);
    assert!(!Path::new(&nothing).exists());
}

#[test]
fn max_duration_zero_is_refused_by_the_property() {
    init();
    let ring = gst::ElementFactory::make("replayring").build().unwrap();
    let spec = ring.find_property("max-duration").unwrap();
    let spec = spec.downcast_ref::<gst::glib::ParamSpecUInt64>().unwrap();
    assert_eq!(spec.minimum(), 1, "0 is not a duration the ring can keep");
}
