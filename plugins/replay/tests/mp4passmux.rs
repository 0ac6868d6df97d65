//! `mp4passmux` end to end: remuxed and freshly encoded streams decode to the same pictures.

mod common;

use std::path::Path;

use common::*;
use gst::prelude::*;

const SOURCE: &str =
    "videotestsrc num-buffers=300 pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1";

#[test]
fn remuxing_an_mp4_keeps_every_picture_and_the_timing() {
    require_element("x264enc");
    let dir = TestDir::new("passmux-remux");
    let source = dir.join("source.mp4");
    let output = dir.join("out.mp4");
    run_to_eos(&parse(&format!(
        "{SOURCE} ! x264enc key-int-max=30 bframes=2 ! h264parse ! mp4mux ! filesink location=\"{}\"",
        source.display()
    )));
    run_to_eos(&parse(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! mp4passmux location=\"{}\"",
        source.display(),
        output.display()
    )));

    let video = ffprobe::video_stream(&output);
    assert_eq!(video.codec_tag_string, "avc1");
    assert_eq!(video.frames(), 300);
    assert_eq!(video.duration(), 10.0);
    let (source_hashes, _) = decoded_frame_hashes(&source);
    let (output_hashes, errors) = decoded_frame_hashes(&output);
    assert_eq!(errors, "");
    assert_eq!(output_hashes, source_hashes);
    assert!(
        ffprobe::video_packets(&output)[0].keyframe(),
        "starts with a keyframe"
    );
    assert_eq!(gstreamer_decoded_pts(&output).len(), 300);
}

#[test]
fn hevc_through_h265parse_is_written_as_hvc1() {
    require_element("x265enc");
    let dir = TestDir::new("passmux-hevc");
    let output = dir.join("out.mp4");
    let reference = dir.join("reference.mkv");
    run_to_eos(&parse(&format!(
        "{SOURCE} ! x265enc key-int-max=30 speed-preset=ultrafast ! h265parse ! tee name=t \
         t. ! queue ! mp4passmux location=\"{}\" t. ! queue ! matroskamux ! filesink location=\"{}\"",
        output.display(),
        reference.display()
    )));
    let video = ffprobe::video_stream(&output);
    assert_eq!(video.codec_tag_string, "hvc1");
    assert_eq!(video.frames(), 300);
    let (reference_hashes, _) = decoded_frame_hashes(&reference);
    let (output_hashes, errors) = decoded_frame_hashes(&output);
    assert_eq!(errors, "");
    assert_eq!(output_hashes, reference_hashes);
}

#[test]
fn a_stream_stopped_before_eos_leaves_no_file() {
    require_element("x264enc");
    let dir = TestDir::new("passmux-stopped");
    let output = dir.join("out.mp4");
    let pipeline = parse(&format!(
        "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 ! \
         x264enc tune=zerolatency ! h264parse ! mp4passmux location=\"{}\"",
        output.display()
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(!Path::new(&output).exists());
    assert!(
        dir.listing().is_empty(),
        "temporary file removed: {:?}",
        dir.listing()
    );
}

#[test]
fn a_missing_location_is_reported_when_starting() {
    init();
    let mux = gst::ElementFactory::make("mp4passmux").build().unwrap();
    assert!(mux.set_state(gst::State::Paused).is_err());
    let _ = mux.set_state(gst::State::Null);
}
