//! Audio tracks in the ring: AAC and Opus beside H.264, cut to the video and in sync with
//! it, checked by decoding a source that flashes and ticks on every whole second.

mod common;

use common::av::*;
use common::*;
use gst::prelude::*;

/// One AAC packet at 48 kHz.
const AAC_PACKET: f64 = 1024.0 / 48_000.0;
/// One Opus packet as opusenc makes them.
const OPUS_PACKET: f64 = 0.020;
/// A tick right at a clip's start may begin before the cut: flashes closer than this to
/// the start are not paired.
const EDGE: f64 = 0.03;

/// Live video and two audio tracks (AAC on audio_0, Opus on audio_1) into `ring`.
fn av_pipeline(seconds: u64, ring: &str) -> (gst::Pipeline, CaptureLog) {
    let pipeline = parse(&format!(
        "{video} ! x264enc key-int-max=30 speed-preset=ultrafast tune=zerolatency ! h264parse \
         ! replayring name=ring {ring} \
         {audio} ! tee name=sound \
         sound. ! queue ! audioconvert ! avenc_aac ! aacparse ! ring.audio_0 \
         sound. ! queue ! audioconvert ! opusenc ! ring.audio_1",
        video = flashing_video(seconds, true),
        audio = ticking_audio(seconds, true),
    ));
    let log = flash_every_second(&pipeline);
    (pipeline, log)
}

/// The offset of sound to picture at capture, the same for every second.
fn captured_offset(log: &CaptureLog) -> f64 {
    let offsets = log.offsets();
    assert!(offsets.len() >= 5, "{offsets:?}");
    assert!(
        offsets.iter().all(|o| (o - offsets[0]).abs() < 1e-3),
        "the sources drift: {offsets:?}"
    );
    offsets[0]
}

/// Every flash has its tick where it was at capture, within one audio packet, on every
/// audio track.
fn assert_in_sync(
    clip: &std::path::Path,
    flashes_expected: usize,
    tracks: usize,
    log: &CaptureLog,
) -> Decoded {
    let expected = captured_offset(log);
    let decoded = decode(clip, tracks);
    let flashes = decoded.flashes();
    assert_eq!(
        flashes.len(),
        flashes_expected,
        "{}: flashes at {flashes:?}",
        clip.display()
    );
    let away_from_the_cut: Vec<f64> = flashes.iter().copied().filter(|f| *f >= EDGE).collect();
    for (track, packet) in [AAC_PACKET, OPUS_PACKET]
        .into_iter()
        .enumerate()
        .take(tracks)
    {
        let onsets = decoded.tick_onsets(track);
        let offsets = av_offsets(&away_from_the_cut, &onsets);
        assert!(
            offsets
                .iter()
                .all(|offset| (offset - expected).abs() <= packet),
            "{} track {track}: sound minus picture {offsets:?}, {expected} at capture \
             (flashes {flashes:?}, ticks {onsets:?})",
            clip.display()
        );
    }
    decoded
}

#[test]
fn aac_and_opus_tracks_stay_in_sync_with_the_picture() {
    for element in ["x264enc", "avenc_aac", "opusenc"] {
        require_element(element);
    }
    let dir = TestDir::new("av-sync");
    let last = dir.join("last.mp4");
    let range = dir.join("range.mp4");
    let (pipeline, log) = av_pipeline(
        8,
        &format!(
            "max-duration={} save-on-eos=true location=\"{}\"",
            5 * SECOND,
            last.display()
        ),
    );
    // Mid-GOP on both ends: from 2.5 s to 5.9 s of running time. (GStreamer 1.22's qtdemux
    // stops a track early when a keyframe lies within its edit's media offset of the end,
    // docs/replayring.md: this range keeps the keyframe at 6 s out of that stretch.)
    let range_location = range.to_string_lossy().into_owned();
    at_running_time(
        &pipeline.by_name("ring").unwrap(),
        gst::ClockTime::from_seconds(7),
        move |ring| {
            ring.emit_by_name::<String>(
                "save-range",
                &[
                    &(4 * SECOND + SECOND / 2),
                    &(SECOND + SECOND / 10),
                    &range_location,
                ],
            );
        },
    );
    let messages = run_to_eos(&pipeline);
    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 2, "{messages:?}");
    for message in &saved {
        assert_eq!(message.get::<u32>("audio-tracks").unwrap(), 2, "{message}");
    }

    for clip in [&last, &range] {
        let streams = stream_codecs(clip);
        assert_eq!(
            streams,
            [("video", "h264"), ("audio", "aac"), ("audio", "opus")]
                .map(|(kind, name)| (kind.to_owned(), name.to_owned())),
            "{}",
            clip.display()
        );
    }

    // The last 5 s of 8: flashes at 3..7 s of the stream, 0..4 s in the clip.
    let decoded = assert_in_sync(&last, 5, 2, &log);
    assert!(decoded.flashes()[0].abs() < 1e-3, "{:?}", decoded.flashes());
    // The file's timeline: each audio track lasts as long as the video, to one packet.
    for (index, duration) in stream_durations(&last).into_iter().enumerate() {
        assert!(
            (duration - 5.0).abs() <= AAC_PACKET,
            "stream {index} lasts {duration} s beside 5 s of video"
        );
    }

    // 2.5 s to 5.9 s: flashes at 3, 4, 5 s of the stream, 0.5 s later than the cut.
    let decoded = assert_in_sync(&range, 3, 2, &log);
    assert_eq!(decoded.frames.len(), 102);
    assert!(
        (decoded.flashes()[0] - 0.5).abs() < 0.04,
        "{:?}",
        decoded.flashes()
    );
    // The decoder pre-roll before 2.5 s is trimmed by the edit list: audio starts with the
    // picture, to the sample.
    for track in 0..2 {
        let first = decoded.audio[track].first().unwrap().0;
        assert!(
            first.abs() < 1.0 / 48_000.0,
            "track {track} starts at {first} s"
        );
    }
}

#[test]
fn an_audio_source_that_stops_shows_as_a_gap_and_sync_holds_after_it() {
    for element in ["x264enc", "avenc_aac"] {
        require_element(element);
    }
    let dir = TestDir::new("av-gap");
    let clip = dir.join("clip.mp4");
    let pipeline = parse(&format!(
        "{video} ! x264enc key-int-max=30 speed-preset=ultrafast tune=zerolatency ! h264parse \
         ! replayring name=ring save-on-eos=true location=\"{}\" \
         {audio} ! identity name=dropout ! audioconvert ! avenc_aac ! aacparse ! ring.audio_0",
        clip.display(),
        video = flashing_video(8, true),
        audio = ticking_audio(8, true),
    ));
    let log = flash_every_second(&pipeline);
    // The microphone goes silent (no buffers at all) from 3.2 s to 5.2 s.
    let dropout = pipeline
        .by_name("dropout")
        .unwrap()
        .static_pad("src")
        .unwrap();
    dropout.add_probe(gst::PadProbeType::BUFFER, |_, info| {
        let pts = info.buffer().and_then(|b| b.pts()).unwrap();
        if (3_200_000_000..5_200_000_000).contains(&pts.nseconds()) {
            gst::PadProbeReturn::Drop
        } else {
            gst::PadProbeReturn::Ok
        }
    });
    let ring = pipeline.by_name("ring").unwrap();
    let during = std::sync::Arc::new(std::sync::Mutex::new(None));
    let during_in_probe = std::sync::Arc::clone(&during);
    at_running_time(&ring, gst::ClockTime::from_mseconds(5_000), move |ring| {
        *during_in_probe.lock().unwrap() = Some(ring.property::<gst::Structure>("stats"));
    });
    let after = std::sync::Arc::new(std::sync::Mutex::new(None));
    let after_in_probe = std::sync::Arc::clone(&after);
    at_running_time(&ring, gst::ClockTime::from_mseconds(7_500), move |ring| {
        *after_in_probe.lock().unwrap() = Some(ring.property::<gst::Structure>("stats"));
    });
    run_to_eos(&pipeline);

    let audio_stats = |stats: &gst::Structure| -> gst::Structure {
        let tracks = stats.get::<gst::Array>("tracks").unwrap();
        let audio = tracks
            .iter()
            .map(|track| track.get::<gst::Structure>().unwrap())
            .find(|track| track.get::<String>("pad").unwrap() == "audio_0")
            .unwrap();
        audio
    };
    let during = during.lock().unwrap().take().unwrap();
    let behind = get_u64(&audio_stats(&during), "behind-video");
    assert!(
        (1_500_000_000..2_000_000_000).contains(&behind),
        "1.8 s into the dropout the track should trail the video by about that: {during}"
    );
    let after = audio_stats(&after.lock().unwrap().take().unwrap());
    assert_eq!(get_u64(&after, "gaps"), 1, "{after}");
    let missing = get_u64(&after, "gap-duration") as f64 / 1e9;
    assert!((missing - 2.0).abs() < 0.05, "{after}");

    // The clip keeps its sound where it was captured: ticks before and after the gap are
    // on their flashes, and none is heard during it.
    let expected = captured_offset(&log);
    let decoded = decode(&clip, 1);
    let flashes = decoded.flashes();
    let onsets = decoded.tick_onsets(0);
    assert_eq!(flashes.len(), 8, "{flashes:?}");
    let heard: Vec<f64> = flashes
        .iter()
        .filter(|flash| **flash >= EDGE && !(3.2..5.2).contains(*flash))
        .copied()
        .collect();
    let offsets = av_offsets(&heard, &onsets);
    assert!(
        offsets
            .iter()
            .all(|offset| (offset - expected).abs() <= AAC_PACKET),
        "sound minus picture {offsets:?}, {expected} at capture (ticks {onsets:?})"
    );
    assert!(
        onsets.iter().all(|onset| !(3.3..5.2).contains(onset)),
        "ticks in the gap: {onsets:?}"
    );
}

#[test]
fn max_bytes_counts_every_track() {
    for element in ["x264enc", "avenc_aac"] {
        require_element(element);
    }
    let max_bytes: u64 = 60_000;
    // Black video is tiny; noise makes the audio the larger part.
    let pipeline = parse(&format!(
        "{video} ! x264enc key-int-max=30 speed-preset=ultrafast bitrate=64 ! h264parse \
         ! replayring name=ring max-bytes={max_bytes} \
         audiotestsrc is-live=true wave=white-noise samplesperbuffer=480 num-buffers=600 \
         ! audio/x-raw,rate=48000,channels=2 ! avenc_aac bitrate=128000 ! aacparse ! ring.audio_0",
        video = flashing_video(6, true),
    ));
    let ring = pipeline.by_name("ring").unwrap();
    let stats = std::sync::Arc::new(std::sync::Mutex::new(None));
    let stats_in_probe = std::sync::Arc::clone(&stats);
    at_running_time(&ring, gst::ClockTime::from_seconds(5), move |ring| {
        *stats_in_probe.lock().unwrap() = Some(ring.property::<gst::Structure>("stats"));
    });
    run_to_eos(&pipeline);
    let stats = stats.lock().unwrap().take().unwrap();
    let tracks: Vec<gst::Structure> = stats
        .get::<gst::Array>("tracks")
        .unwrap()
        .iter()
        .map(|track| track.get::<gst::Structure>().unwrap())
        .collect();
    let per_track: u64 = tracks.iter().map(|track| get_u64(track, "bytes")).sum();
    assert_eq!(per_track, get_u64(&stats, "bytes"), "{stats}");
    assert!(per_track <= max_bytes, "{stats}");
    assert!(
        get_u64(&tracks[1], "bytes") > 10_000,
        "audio is held: {stats}"
    );
    assert!(
        get_u64(&tracks[1], "evicted") > 0,
        "audio was evicted: {stats}"
    );
    assert!(get_u64(&stats, "evicted") > 0, "video was evicted: {stats}");
}

#[test]
fn audio_pads_are_requested_and_released_by_name() {
    init();
    let ring = gst::ElementFactory::make("replayring").build().unwrap();
    let first = ring.request_pad_simple("audio_%u").unwrap();
    let named = ring.request_pad_simple("audio_5").unwrap();
    let next = ring.request_pad_simple("audio_%u").unwrap();
    assert_eq!(
        [first.name(), named.name(), next.name()].map(|n| n.to_string()),
        ["audio_0", "audio_5", "audio_1"]
    );
    ring.release_request_pad(&named);
    assert!(ring.static_pad("audio_5").is_none());
    assert_eq!(
        ring.request_pad_simple("audio_5").unwrap().name(),
        "audio_5"
    );
}

#[test]
fn a_save_that_does_not_wait_for_audio_ends_where_every_track_is_complete() {
    for element in ["x264enc", "avenc_aac"] {
        require_element(element);
    }
    let dir = TestDir::new("audio-no-wait");
    // The sound reaches the ring 0.6 s after the picture, as an MPEG-TS feed's often does.
    let pipeline = parse(&format!(
        "{video} ! x264enc key-int-max=30 speed-preset=ultrafast tune=zerolatency ! h264parse \
         ! replayring name=ring \
         {audio} ! queue min-threshold-time=600000000 max-size-time=0 max-size-buffers=0 \
         max-size-bytes=0 ! audioconvert ! avenc_aac ! aacparse ! ring.audio_0",
        video = flashing_video(8, true),
        audio = ticking_audio(8, true),
    ));
    let ring = pipeline.by_name("ring").unwrap();
    let (waiting, eager) = (dir.join_str("waiting.mp4"), dir.join_str("eager.mp4"));
    at_running_time(&ring, gst::ClockTime::from_seconds(5), move |ring| {
        for (location, wait) in [(waiting, true), (eager, false)] {
            let request = gst::Structure::builder("replay-request")
                .field("start-ago", 3 * SECOND)
                .field("wait-for-audio", wait)
                .field("location", location)
                .build();
            ring.emit_by_name::<String>("save-clip", &[&request]);
        }
    });
    let messages = run_to_eos(&pipeline);
    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 2, "{messages:?}");
    let of = |name: &str| {
        *saved
            .iter()
            .find(|m| get_str(m, "location").ends_with(name))
            .unwrap()
    };
    let (waiting, eager) = (of("waiting.mp4"), of("eager.mp4"));
    // The waiting save held on until the sound caught up; the eager one did not.
    let lag = (get_u64(waiting, "latency") as f64 - get_u64(eager, "latency") as f64) / 1e9;
    assert!(lag > 0.3, "waited {lag:.3} s longer for the sound");
    // Its "now" is where the sound had got to: its clip sits earlier in the capture.
    let earlier =
        (get_u64(waiting, "running-time") as f64 - get_u64(eager, "running-time") as f64) / 1e9;
    assert!((0.4..0.9).contains(&earlier), "{earlier:.3} s earlier");
    for clip in [waiting, eager] {
        assert_eq!(get_u64(clip, "frames"), 90, "{clip}");
        let durations = stream_durations(std::path::Path::new(&get_str(clip, "location")));
        assert!(
            (durations[0] - durations[1]).abs() <= AAC_PACKET + 1e-3,
            "sound as long as the picture: {durations:?}"
        );
    }
}
