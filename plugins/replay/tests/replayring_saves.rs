//! `replayring` end to end: real encoders, saves checked by decoding the files.

mod common;

use common::clips::*;
use common::*;
use gst::prelude::*;
use std::path::Path;
use test_support::sha256sum;

#[test]
fn a_hashed_save_reports_the_sha256_of_its_file_and_announces_its_writing() {
    require_element("x264enc");
    let dir = TestDir::new("sha256");
    let clip = dir.join("clip.mp4");
    let pipeline = parse(&format!(
        "videotestsrc num-buffers=150 pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse \
         ! replayring name=ring sha256=true save-on-eos=true location=\"{}\" \
         audiotestsrc num-buffers=235 ! audio/x-raw,rate=48000,channels=2 ! avenc_aac ! aacparse \
         ! ring.audio_0",
        clip.display()
    ));
    let messages = run_to_eos(&pipeline);
    let names: Vec<&str> = messages
        .iter()
        .map(|m| m.name().as_str())
        .filter(|name| name.starts_with("replay-"))
        .collect();
    assert_eq!(names, ["replay-writing", "replay-saved"]);
    let (writing, saved) = (&messages[0], replay_messages(&messages, "replay-saved")[0]);
    assert_eq!(get_str(writing, "id"), get_str(saved, "id"));
    assert_eq!(get_str(writing, "location"), clip.to_string_lossy());
    let size = std::fs::metadata(&clip).unwrap().len();
    assert_eq!(get_u64(writing, "bytes"), size);
    assert_eq!(get_u64(saved, "bytes"), size);
    assert_eq!(saved.get::<u32>("audio-tracks").unwrap(), 1);
    assert_eq!(get_str(saved, "sha256"), sha256sum(&clip));
}

#[test]
fn h264_save_on_eos_keeps_the_last_max_duration_exactly() {
    require_element("x264enc");
    let dir = TestDir::new("h264-eos");
    let clip = dir.join("clip.mp4");
    let reference = dir.join("reference.mkv");
    let pipeline = ring_pipeline(
        1200,
        "x264enc key-int-max=60 speed-preset=ultrafast",
        "h264parse",
        &format!(
            "max-duration={} save-on-eos=true location=\"{}\"",
            15 * SECOND,
            clip.display()
        ),
        &reference,
    );
    let messages = run_to_eos(&pipeline);

    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 1, "{messages:?}");
    let saved = saved[0];
    assert_eq!(get_str(saved, "location"), clip.to_string_lossy());
    assert_eq!(get_u64(saved, "duration"), 15 * SECOND);
    assert_eq!(get_u64(saved, "frames"), 450);
    assert_eq!(
        get_u64(saved, "bytes"),
        std::fs::metadata(&clip).unwrap().len()
    );
    assert!(get_u64(saved, "latency") > 0);
    assert!(get_str(saved, "id").starts_with("ring-"));
    assert!(!saved.has_field("sha256"), "hashing is off by default");

    let (reference_hashes, _) = decoded_frame_hashes(&reference);
    assert_eq!(reference_hashes.len(), 1200);
    assert_eq!(check_clip(&clip, &reference_hashes, 450), 1200 - 450);

    let shown = gstreamer_decoded_pts(&clip);
    assert_eq!(
        shown.len(),
        450,
        "GStreamer presents the edit list's frames only"
    );
    assert_eq!(shown[0], gst::ClockTime::ZERO);
    assert_eq!(
        shown[449],
        gst::ClockTime::from_nseconds(449 * SECOND / FPS)
    );
    assert_eq!(
        dir.listing(),
        vec!["clip.mp4", "reference.mkv"],
        "no temporary file is left"
    );
    let stats = ring_of(&pipeline).property::<gst::Structure>("stats");
    assert_eq!(
        get_u64(&stats, "copied"),
        0,
        "x264enc's buffers are kept by reference"
    );
    assert_eq!(get_u64(&stats, "saves"), 1);
}

#[test]
fn h264_with_b_frames_saves_concurrently_while_playing() {
    require_element("x264enc");
    let dir = TestDir::new("h264-bframes");
    let reference = dir.join("reference.mkv");
    let pipeline = ring_pipeline(
        900,
        "x264enc key-int-max=45 bframes=2 b-adapt=false",
        "h264parse",
        &format!("max-duration={}", 30 * SECOND),
        &reference,
    );
    let long = dir.join_str("long.mp4");
    let short = dir.join_str("short.mp4");
    let ids = save_at(
        &ring_of(&pipeline),
        gst::ClockTime::from_seconds(20),
        vec![
            (10 * SECOND, Some(long.clone())),
            (4 * SECOND, Some(short.clone())),
        ],
    );
    let messages = run_to_eos(&pipeline);

    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 2, "{messages:?}");
    let ids = ids.lock().unwrap().clone();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    for message in &saved {
        assert!(ids.contains(&get_str(message, "id")));
    }
    let packets = ffprobe::video_packets(Path::new(&long));
    assert!(
        packets.iter().any(|p| p.pts_seconds() != p.dts_seconds()),
        "the stream really has reordered frames"
    );

    let (reference_hashes, _) = decoded_frame_hashes(&reference);
    let long_at = check_clip(Path::new(&long), &reference_hashes, 300);
    let short_at = check_clip(Path::new(&short), &reference_hashes, 120);
    // Both end at the same frame: the last one before frame 600 whose earlier-presented
    // neighbours had all arrived (the probe fires when P-frame 600 arrives, before B 598, 599).
    assert_eq!(long_at + 300, short_at + 120);
    assert_eq!(long_at + 300, 598);
}

#[test]
fn hevc_open_gop_clips_decode_cleanly() {
    require_element("x265enc");
    let dir = TestDir::new("hevc");
    let clip = dir.join("clip.mp4");
    let middle = dir.join_str("middle.mp4");
    let reference = dir.join("reference.mkv");
    let pipeline = ring_pipeline(
        240,
        "x265enc key-int-max=30 speed-preset=ultrafast option-string=open-gop=1:bframes=3",
        "h265parse",
        &format!(
            "max-duration={} save-on-eos=true location=\"{}\"",
            3 * SECOND,
            clip.display()
        ),
        &reference,
    );
    save_at(
        &ring_of(&pipeline),
        gst::ClockTime::from_seconds(5),
        vec![(2 * SECOND, Some(middle.clone()))],
    );
    let messages = run_to_eos(&pipeline);
    assert_eq!(
        replay_messages(&messages, "replay-saved").len(),
        2,
        "{messages:?}"
    );

    let video = ffprobe::video_stream(&clip);
    assert_eq!(video.codec_name, "hevc");
    assert_eq!(video.codec_tag_string, "hvc1");
    let (reference_hashes, _) = decoded_frame_hashes(&reference);
    assert_eq!(reference_hashes.len(), 240);
    assert_eq!(check_clip(&clip, &reference_hashes, 90), 150);
    let middle_at = check_clip(Path::new(&middle), &reference_hashes, 60);
    assert!(
        (146..=150).contains(&(middle_at + 60)),
        "clip ends at frame {}",
        middle_at + 60
    );
}

#[test]
fn a_failed_save_loses_nothing_and_the_next_save_works() {
    require_element("x264enc");
    let dir = TestDir::new("failed-save");
    std::fs::write(dir.join("not-a-directory"), b"").unwrap();
    let unwritable = dir.join_str("not-a-directory/clip.mp4");
    let clip = dir.join("after.mp4");
    let pipeline = parse(&format!(
        "{} ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! replayring name=ring \
         max-duration={} save-on-eos=true location=\"{}\"",
        source(300),
        5 * SECOND,
        clip.display()
    ));
    let ring = ring_of(&pipeline);
    save_at(
        &ring,
        gst::ClockTime::from_seconds(6),
        vec![(2 * SECOND, Some(unwritable.clone()))],
    );
    let messages = run_to_eos(&pipeline);

    let failed = replay_messages(&messages, "replay-failed");
    assert_eq!(failed.len(), 1, "{messages:?}");
    assert_eq!(get_str(failed[0], "location"), unwritable);
    let error = get_str(failed[0], "error");
    assert!(
        error.contains("does not exist"),
        "the error says why: {error}"
    );
    assert!(!Path::new(&unwritable).exists());

    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 1);
    assert_eq!(
        get_u64(saved[0], "frames"),
        150,
        "the whole ring is still there"
    );
    let stats = ring.property::<gst::Structure>("stats");
    assert_eq!(get_u64(&stats, "saves"), 1);
    assert_eq!(get_u64(&stats, "failed-saves"), 1);
    let (hashes, errors) = decoded_frame_hashes(&clip);
    assert_eq!((hashes.len(), errors.as_str()), (150, ""));
}

#[test]
fn a_save_before_any_keyframe_fails_with_a_reason() {
    init();
    let pipeline = gst::Pipeline::new();
    let ring = gst::ElementFactory::make("replayring").build().unwrap();
    pipeline.add(&ring).unwrap();
    pipeline.set_state(gst::State::Ready).unwrap();
    let dir = TestDir::new("no-keyframe");
    let id = ring.emit_by_name::<String>("save", &[&0u64, &Some(dir.join_str("x.mp4"))]);
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Element],
        )
        .expect("a message");
    let structure = message.structure().unwrap();
    assert_eq!(structure.name(), "replay-failed");
    assert_eq!(get_str(structure, "id"), id);
    assert_eq!(get_str(structure, "error"), "no keyframe buffered yet");
    assert!(dir.listing().is_empty());
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn simultaneous_saves_never_share_a_file_name() {
    require_element("x264enc");
    let dir = TestDir::new("names");
    let explicit = dir.join_str("same.mp4");
    let pipeline = parse(&format!(
        "{} ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! replayring name=ring location=\"{}\"",
        source(120),
        dir.join("replay-%Y%m%d-%H%M%S.mp4").display()
    ));
    save_at(
        &ring_of(&pipeline),
        gst::ClockTime::from_seconds(3),
        vec![
            (SECOND, Some(explicit.clone())),
            (SECOND, Some(explicit.clone())),
            (SECOND, Some(explicit.clone())),
            (SECOND, None),
            (SECOND, Some(String::new())),
        ],
    );
    let messages = run_to_eos(&pipeline);
    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 5, "{messages:?}");
    let mut locations: Vec<String> = saved.iter().map(|m| get_str(m, "location")).collect();
    locations.sort();
    locations.dedup();
    assert_eq!(locations.len(), 5, "{locations:?}");
    let listing = dir.listing();
    assert_eq!(listing.len(), 5, "{listing:?}");
    for name in ["same.mp4", "same-2.mp4", "same-3.mp4"] {
        assert!(listing.contains(&name.to_owned()), "{listing:?}");
    }
    let templated: Vec<&String> = listing
        .iter()
        .filter(|n| n.starts_with("replay-"))
        .collect();
    assert_eq!(templated.len(), 2, "{listing:?}");
    for name in templated {
        let stamp = &name["replay-".len()..name.len() - ".mp4".len()];
        let (date, rest) = stamp.split_at(8);
        assert!(date.chars().all(|c| c.is_ascii_digit()), "{name}");
        let time = &rest[1..7];
        assert!(time.chars().all(|c| c.is_ascii_digit()), "{name}");
        assert!(rest.len() == 7 || rest[7..].starts_with('-'), "{name}");
    }
    for name in &listing {
        let (hashes, errors) = decoded_frame_hashes(&dir.join(name));
        assert_eq!((hashes.len(), errors.as_str()), (30, ""), "{name}");
    }
}

#[test]
fn a_request_longer_than_the_ring_saves_everything_buffered() {
    require_element("x264enc");
    let dir = TestDir::new("longer-than-ring");
    let clip = dir.join_str("all.mp4");
    // 100 frames with a keyframe every 30: the first GOP starts at frame 0.
    let pipeline = parse(&format!(
        "{} ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! replayring name=ring",
        source(100)
    ));
    save_at(
        &ring_of(&pipeline),
        gst::ClockTime::from_nseconds(99 * SECOND / FPS),
        vec![(60 * SECOND, Some(clip.clone()))],
    );
    let messages = run_to_eos(&pipeline);
    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 1, "{messages:?}");
    assert_eq!(get_u64(saved[0], "frames"), 99);
    let (hashes, errors) = decoded_frame_hashes(Path::new(&clip));
    assert_eq!((hashes.len(), errors.as_str()), (99, ""));
    assert_eq!(ffprobe::video_stream(Path::new(&clip)).duration(), 3.3);
}

#[test]
fn stopping_the_pipeline_during_a_save_still_completes_the_file() {
    require_element("x264enc");
    let dir = TestDir::new("stop-mid-save");
    let pipeline = parse(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! h264parse ! replayring name=ring",
    );
    let ring = ring_of(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    while get_u64(&ring.property::<gst::Structure>("stats"), "frames") < 45 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let clip = dir.join_str("clip.mp4");
    ring.emit_by_name::<String>("save", &[&0u64, &Some(clip.clone())]);
    pipeline.set_state(gst::State::Null).unwrap();

    assert_eq!(
        dir.listing(),
        vec!["clip.mp4"],
        "the requested clip is complete, no temporary file"
    );
    let (hashes, errors) = decoded_frame_hashes(Path::new(&clip));
    assert!(hashes.len() >= 45, "{} frames", hashes.len());
    assert_eq!(errors, "");
}

/// The NAL unit types of every sample as stored in the file (qtdemux hands out the samples
/// as they are, length-prefixed).
fn stored_nal_types(clip: &Path, codec: gstreplay::codec::VideoCodec) -> Vec<Vec<u8>> {
    use std::sync::{Arc, Mutex};
    let pipeline = parse(&format!(
        "filesrc location=\"{}\" ! qtdemux ! appsink name=samples sync=false",
        clip.display()
    ));
    let appsink = pipeline
        .by_name("samples")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&samples);
    appsink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let map = sample.buffer().unwrap().map_readable().unwrap();
                let types = gstreplay::codec::nal_units(map.as_slice(), 4)
                    .map(|unit| codec.nal_type(&map.as_slice()[unit.unwrap().nal]).unwrap())
                    .collect::<Vec<u8>>();
                collected.lock().unwrap().push(types);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    run_to_eos(&pipeline);
    let result = samples.lock().unwrap().clone();
    result
}

#[test]
fn avc1_and_hvc1_samples_carry_no_parameter_sets() {
    use gstreplay::codec::VideoCodec;
    require_element("x264enc");
    require_element("x265enc");
    let dir = TestDir::new("sample-entries");
    for (name, encoder, parser, codec, tag) in [
        // config-interval=-1 puts SPS/PPS in-band before every IDR: they must not reach avc1 samples.
        (
            "h264.mp4",
            "x264enc key-int-max=30 speed-preset=ultrafast",
            "h264parse config-interval=-1",
            VideoCodec::H264,
            "avc1",
        ),
        // x265 emits VPS/SPS/PPS in-band, kept by h265parse in hvc1 too: the record carries
        // them, the samples do not.
        (
            "hevc.mp4",
            "x265enc key-int-max=30 speed-preset=ultrafast",
            "h265parse config-interval=-1",
            VideoCodec::H265,
            "hvc1",
        ),
    ] {
        let clip = dir.join(name);
        run_to_eos(&parse(&format!(
            "{} ! {encoder} ! {parser} ! replayring max-duration={} save-on-eos=true location=\"{}\"",
            source(90),
            2 * SECOND,
            clip.display()
        )));
        assert_eq!(ffprobe::video_stream(&clip).codec_tag_string, tag);
        let samples = stored_nal_types(&clip, codec);
        assert!(samples.len() >= 60, "{name}: {} samples", samples.len());
        for (index, types) in samples.iter().enumerate() {
            assert!(
                !types.iter().any(|t| codec.is_parameter_set(*t)),
                "{name}: sample {index} has parameter-set NAL units {types:?}"
            );
        }
        let (hashes, errors) = decoded_frame_hashes(&clip);
        assert_eq!((hashes.len(), errors.as_str()), (60, ""), "{name}");
    }
}

#[test]
fn a_resolution_change_never_mixes_streams_in_one_file() {
    require_element("x264enc");
    let dir = TestDir::new("caps-change");
    let clip = dir.join("clip.mp4");
    let pipeline = parse(&format!(
        "videotestsrc name=source num-buffers=120 pattern=ball ! video/x-raw,framerate={FPS}/1 ! videoscale \
         ! capsfilter name=size caps=video/x-raw,width=160,height=120 \
         ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse \
         ! replayring max-duration={} save-on-eos=true location=\"{}\"",
        60 * SECOND,
        clip.display()
    ));
    // Halfway through, the encoder gets a new size (and so new codec data).
    let size = pipeline.by_name("size").unwrap();
    let source_pad = pipeline
        .by_name("source")
        .unwrap()
        .static_pad("src")
        .unwrap();
    source_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if info.buffer().is_some_and(|b| b.offset() == 60) {
            size.set_property(
                "caps",
                gst::Caps::builder("video/x-raw")
                    .field("width", 320)
                    .field("height", 240)
                    .build(),
            );
        }
        gst::PadProbeReturn::Ok
    });
    let messages = run_to_eos(&pipeline);
    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 1, "{messages:?}");

    // The 60 s request gets only the newest format: the frames after the change.
    let video = ffprobe::video_stream(&clip);
    assert_eq!((video.width, video.height), (Some(320), Some(240)));
    assert_eq!(video.frames(), 60);
    assert_eq!(get_u64(saved[0], "frames"), 60);
    let (hashes, errors) = decoded_frame_hashes(&clip);
    assert_eq!((hashes.len(), errors.as_str()), (60, ""));
}
