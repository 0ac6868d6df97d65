//! Clip ranges, post-roll and clear-on-save, end to end: every clip is checked frame by
//! frame against a decode of the whole stream.

mod common;

use std::sync::{Arc, Mutex};

use common::clips::*;
use common::*;
use gst::prelude::*;

const X264: &str = "x264enc key-int-max=60 speed-preset=ultrafast";

/// 20 s at 30 fps, a keyframe every 2 s, into a ring set up with `ring`; returns the
/// pipeline and the Matroska reference of the whole stream.
fn stream(dir: &TestDir, ring: &str) -> (gst::Pipeline, std::path::PathBuf) {
    require_element("x264enc");
    let reference = dir.join("reference.mkv");
    let pipeline = ring_pipeline(600, X264, "h264parse", ring, &reference);
    (pipeline, reference)
}

fn reference_hashes(reference: &std::path::Path) -> Vec<String> {
    let (hashes, errors) = decoded_frame_hashes(reference);
    assert_eq!(errors, "");
    assert_eq!(hashes.len(), 600);
    hashes
}

fn saved<'a>(messages: &'a [gst::Structure], location: &std::path::Path) -> &'a gst::Structure {
    replay_messages(messages, "replay-saved")
        .into_iter()
        .find(|m| get_str(m, "location") == location.to_string_lossy())
        .unwrap_or_else(|| panic!("no replay-saved for {}: {messages:?}", location.display()))
}

#[test]
fn save_range_presents_exactly_the_frames_of_the_range() {
    let dir = TestDir::new("range");
    let (pipeline, reference) = stream(&dir, "");
    let clip = dir.join("range.mp4");
    let location = clip.to_string_lossy().into_owned();
    // At 15 s: from 10 s ago to 4 s ago, i.e. 5 s to 11 s, both mid-GOP.
    at_running_time(
        &ring_of(&pipeline),
        gst::ClockTime::from_seconds(15),
        move |ring| {
            ring.emit_by_name::<String>("save-range", &[&(10 * SECOND), &(4 * SECOND), &location]);
        },
    );
    let messages = run_to_eos(&pipeline);

    let message = saved(&messages, &clip);
    assert_eq!(get_u64(message, "frames"), 180);
    assert_eq!(get_u64(message, "duration"), 6 * SECOND);
    assert_eq!(get_u64(message, "running-time"), 5 * SECOND);
    assert_eq!(check_clip(&clip, &reference_hashes(&reference), 180), 150);
}

#[test]
fn post_roll_takes_in_what_is_captured_after_the_request() {
    let dir = TestDir::new("post-roll");
    let (pipeline, reference) = stream(&dir, &format!("post-roll={}", 3 * SECOND));
    let clip = dir.join("post.mp4");
    let location = clip.to_string_lossy().into_owned();
    let pending = Arc::new(Mutex::new(None));
    let pending_in_probe = Arc::clone(&pending);
    // At 10 s: the last 4 s and the next 3 s, i.e. 6 s to 13 s.
    at_running_time(
        &ring_of(&pipeline),
        gst::ClockTime::from_seconds(10),
        move |ring| {
            ring.emit_by_name::<String>("save", &[&(4 * SECOND), &location]);
            let stats = ring.property::<gst::Structure>("stats");
            *pending_in_probe.lock().unwrap() = Some(get_u64(&stats, "pending-saves"));
        },
    );
    let messages = run_to_eos(&pipeline);

    assert_eq!(
        *pending.lock().unwrap(),
        Some(1),
        "the save waits for its post-roll"
    );
    let message = saved(&messages, &clip);
    assert_eq!(get_u64(message, "frames"), 210);
    assert_eq!(get_u64(message, "running-time"), 6 * SECOND);
    // Frames 300..390 were captured after the request: the clip is frames 180..390.
    assert_eq!(check_clip(&clip, &reference_hashes(&reference), 210), 180);
}

#[test]
fn clear_on_save_gives_back_to_back_clips_that_share_no_frame() {
    let dir = TestDir::new("clear");
    let (pipeline, reference) = stream(&dir, "clear-on-save=true");
    let ring = ring_of(&pipeline);
    let (first, second) = (dir.join("first.mp4"), dir.join("second.mp4"));
    let evicted = Arc::new(Mutex::new(Vec::new()));
    let evicted_in_probe = Arc::clone(&evicted);
    let first_location = first.to_string_lossy().into_owned();
    at_running_time(&ring, gst::ClockTime::from_seconds(8), move |ring| {
        let before = get_u64(&ring.property::<gst::Structure>("stats"), "evicted");
        ring.emit_by_name::<String>("save", &[&(5 * SECOND), &first_location]);
        let after = get_u64(&ring.property::<gst::Structure>("stats"), "evicted");
        evicted_in_probe.lock().unwrap().extend([before, after]);
    });
    // The second asks for 10 s but gets only what came after the first.
    let second_location = second.to_string_lossy().into_owned();
    at_running_time(&ring, gst::ClockTime::from_seconds(12), move |ring| {
        ring.emit_by_name::<String>("save", &[&(10 * SECOND), &second_location]);
    });
    let messages = run_to_eos(&pipeline);

    let reference = reference_hashes(&reference);
    assert_eq!(get_u64(saved(&messages, &first), "frames"), 150);
    assert_eq!(get_u64(saved(&messages, &second), "frames"), 120);
    let first_at = check_clip(&first, &reference, 150);
    let second_at = check_clip(&second, &reference, 120);
    assert_eq!((first_at, second_at), (90, 240), "3-8 s, then 8-12 s");
    let evicted = evicted.lock().unwrap();
    // The saved range is released down to the GOP that the next clip decodes from (6 s).
    assert_eq!(evicted[1] - evicted[0], 180, "{evicted:?}");
}

#[test]
fn save_clip_sets_post_roll_and_clear_for_one_save() {
    let dir = TestDir::new("save-clip");
    let (pipeline, reference) = stream(&dir, "");
    let ring = ring_of(&pipeline);
    let (first, second) = (dir.join("first.mp4"), dir.join("second.mp4"));
    let first_location = first.to_string_lossy().into_owned();
    at_running_time(&ring, gst::ClockTime::from_seconds(6), move |ring| {
        let request = gst::Structure::builder("replay-request")
            .field("start-ago", 2 * SECOND)
            .field("post-roll", SECOND)
            .field("clear", true)
            .field("location", first_location.as_str())
            .build();
        ring.emit_by_name::<String>("save-clip", &[&request]);
    });
    let second_location = second.to_string_lossy().into_owned();
    at_running_time(&ring, gst::ClockTime::from_seconds(10), move |ring| {
        ring.emit_by_name::<String>("save", &[&(6 * SECOND), &second_location]);
    });
    run_to_eos(&pipeline);

    let reference = reference_hashes(&reference);
    // 4-7 s, then 7-10 s: the ring's own post-roll (0) and clear-on-save (off) were not used.
    assert_eq!(check_clip(&first, &reference, 90), 120);
    assert_eq!(check_clip(&second, &reference, 90), 210);
}

#[test]
fn ranges_that_cannot_be_saved_fail_with_a_reason_and_lose_nothing() {
    let dir = TestDir::new("bad-ranges");
    let (pipeline, reference) = stream(&dir, &format!("max-duration={}", 5 * SECOND));
    let ring = ring_of(&pipeline);
    let ids = Arc::new(Mutex::new(Vec::new()));
    let ids_in_probe = Arc::clone(&ids);
    let good = dir.join("good.mp4");
    let good_location = good.to_string_lossy().into_owned();
    at_running_time(&ring, gst::ClockTime::from_seconds(15), move |ring| {
        let mut ids = ids_in_probe.lock().unwrap();
        let none: Option<String> = None;
        ids.push(ring.emit_by_name::<String>("save-range", &[&(2 * SECOND), &(5 * SECOND), &none]));
        ids.push(
            ring.emit_by_name::<String>("save-range", &[&(14 * SECOND), &(12 * SECOND), &none]),
        );
        let typo = gst::Structure::builder("replay-request")
            .field("postroll", SECOND)
            .build();
        ids.push(ring.emit_by_name::<String>("save-clip", &[&typo]));
        ring.emit_by_name::<String>("save", &[&(2 * SECOND), &good_location]);
    });
    let messages = run_to_eos(&pipeline);

    let failed = replay_messages(&messages, "replay-failed");
    let error_of = |id: &str| {
        failed
            .iter()
            .find(|m| get_str(m, "id") == id)
            .map(|m| get_str(m, "error"))
            .unwrap_or_else(|| panic!("no replay-failed for {id}: {messages:?}"))
    };
    let ids = ids.lock().unwrap();
    assert!(error_of(&ids[0]).contains("start-ago must be more than end-ago"));
    assert!(error_of(&ids[1]).contains("ended before the oldest buffered keyframe"));
    assert!(error_of(&ids[2]).contains("no field postroll"));
    assert_eq!(failed.len(), 3);
    assert_eq!(check_clip(&good, &reference_hashes(&reference), 60), 390);
    assert_eq!(
        dir.listing(),
        ["good.mp4", "reference.mkv"],
        "failed saves leave no file"
    );
}

#[test]
fn a_save_during_a_stall_is_written_with_what_arrived() {
    require_element("x264enc");
    require_element("avenc_aac");
    let dir = TestDir::new("stall");
    let clip = dir.join("stall.mp4");
    // Live capture whose video and audio both stop delivering (no EOS) after 2 s.
    let pipeline = parse(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! identity name=video_stall ! x264enc key-int-max=30 speed-preset=ultrafast tune=zerolatency \
         ! h264parse ! replayring name=ring location=\"{}\" \
         audiotestsrc is-live=true ! identity name=audio_stall ! audioconvert ! avenc_aac \
         ! aacparse ! ring.audio_0",
        clip.display()
    ));
    for name in ["video_stall", "audio_stall"] {
        let pad = pipeline.by_name(name).unwrap().static_pad("src").unwrap();
        pad.add_probe(gst::PadProbeType::BUFFER, |_, info| {
            match info.buffer().and_then(|b| b.pts()) {
                Some(pts) if pts >= gst::ClockTime::from_seconds(2) => gst::PadProbeReturn::Drop,
                _ => gst::PadProbeReturn::Ok,
            }
        });
    }
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let requested = std::time::Instant::now();
    let ring = ring_of(&pipeline);
    // Post-roll of 1 s that never arrives: written at the deadline with what was captured.
    let request = gst::Structure::builder("replay-request")
        .field("post-roll", SECOND)
        .build();
    let id = ring.emit_by_name::<String>("save-clip", &[&request]);
    let message = bus
        .iter_timed(gst::ClockTime::from_seconds(10))
        .find_map(|message| match message.view() {
            gst::MessageView::Element(element) => element
                .structure()
                .filter(|s| s.name() == "replay-saved" || s.name() == "replay-failed")
                .map(|s| s.to_owned()),
            gst::MessageView::Error(err) => panic!("{}", err.error()),
            _ => None,
        })
        .expect("the save is written although nothing arrives any more");
    let waited = requested.elapsed();
    pipeline.set_state(gst::State::Null).unwrap();

    assert_eq!(message.name(), "replay-saved", "{message}");
    assert_eq!(get_str(&message, "id"), id);
    assert!(
        waited < std::time::Duration::from_secs(6),
        "written {waited:?} after the request"
    );
    let frames = get_u64(&message, "frames");
    assert!((55..=60).contains(&frames), "{message}");
    assert_eq!(message.get::<u32>("audio-tracks"), Ok(1));
    let (hashes, errors) = decoded_frame_hashes(&clip);
    assert_eq!(errors, "");
    assert_eq!(hashes.len() as u64, frames);
}
