//! Faults around a save: a full disk, an unwritable or vanished directory, the pipeline
//! stopped or ended mid-save, the process killed mid-write, the encoder stalling. A save
//! either completes or leaves nothing at its final path, a failed save changes nothing in
//! the ring, and the next save works and decodes.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::clips::*;
use common::hold::*;
use common::*;
use gst::prelude::*;
use test_support::mounts::*;

/// A non-live ring of 320x240 noise (noise compresses badly: files are large), with its
/// stream held still at `hold_at` so that saves see a ring that does not change.
struct HeldRing {
    pipeline: gst::Pipeline,
    ring: gst::Element,
    hold: Option<Hold>,
    log: BusLog,
}

impl HeldRing {
    fn start(frames: u64, key_interval: u64, hold_at: gst::ClockTime) -> HeldRing {
        require_element("x264enc");
        let pipeline = parse(&format!(
            "videotestsrc num-buffers={frames} pattern=snow \
             ! video/x-raw,width=320,height=240,framerate={FPS}/1 \
             ! x264enc speed-preset=ultrafast key-int-max={key_interval} ! h264parse \
             ! replayring name=ring max-duration={}",
            60 * SECOND
        ));
        let ring = ring_of(&pipeline);
        let hold = Hold::at(&ring, hold_at);
        let log = BusLog::new(&pipeline);
        pipeline.set_state(gst::State::Playing).unwrap();
        hold.wait();
        HeldRing {
            pipeline,
            ring,
            hold: Some(hold),
            log,
        }
    }

    /// Saves the last `duration` and waits for the outcome.
    fn save(&mut self, duration: u64, location: &Path) -> gst::Structure {
        let location = Some(location.to_string_lossy().into_owned());
        let id = self
            .ring
            .emit_by_name::<String>("save", &[&duration, &location]);
        self.log.outcome(&id)
    }

    /// A save that must fail with `reason` and leave the ring exactly as it was.
    fn assert_save_fails_and_changes_nothing(
        &mut self,
        duration: u64,
        location: &Path,
        reason: &str,
    ) {
        let before = ring_contents(&self.ring);
        let failed_before = stat(&self.ring, "failed-saves");
        let outcome = self.save(duration, location);
        assert_eq!(outcome.name(), "replay-failed", "{outcome:?}");
        let error = get_str(&outcome, "error");
        assert!(error.contains(reason), "the error says why: {error}");
        assert_eq!(
            ring_contents(&self.ring),
            before,
            "a failed save changes nothing"
        );
        assert_eq!(stat(&self.ring, "failed-saves"), failed_before + 1);
        assert!(!location.exists(), "nothing at {}", location.display());
    }

    /// A save of everything buffered to `location` that must work and decode.
    fn assert_next_save_works(&mut self, location: &Path) {
        let buffered = stat(&self.ring, "frames");
        let outcome = self.save(u64::MAX, location);
        assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
        assert_eq!(
            get_u64(&outcome, "frames"),
            buffered,
            "the whole ring is still there"
        );
        assert_eq!(decodes_cleanly(location), buffered as usize);
    }

    /// Lets the stream run to its end.
    fn finish(&mut self) {
        if let Some(hold) = self.hold.take() {
            hold.release();
        }
        self.log.read_to_end();
        self.pipeline.set_state(gst::State::Null).unwrap();
        assert!(self.log.saw_eos(), "{:?}", self.log.errors());
    }
}

impl Drop for HeldRing {
    fn drop(&mut self) {
        // A failed assertion must not leave the streaming thread blocked on the hold.
        self.hold.take();
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect()
}

#[test]
fn a_full_disk_fails_the_save_frees_its_space_and_the_ring_goes_on() {
    if !may_mount_or_rerun("a_full_disk_fails_the_save_frees_its_space_and_the_ring_goes_on") {
        return;
    }
    let dir = TestDir::new("fault-disk-full");
    let disk = dir.join("disk");
    std::fs::create_dir(&disk).unwrap();
    let _mount = Mount::tmpfs(&disk, "512k", false).unwrap();
    // 3 s of noise is several MiB; a keyframe every 5 frames keeps a short save small.
    let mut held = HeldRing::start(150, 5, gst::ClockTime::from_seconds(3));

    held.assert_save_fails_and_changes_nothing(
        3 * SECOND,
        &disk.join("big.mp4"),
        "No space left on device",
    );
    assert_eq!(
        part_files(&disk),
        Vec::<String>::new(),
        "the temporary file is removed"
    );
    // The space came back: a short clip fits on the same small disk.
    let small = disk.join("small.mp4");
    let outcome = held.save(SECOND / FPS, &small);
    assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
    assert!(decodes_cleanly(&small) >= 1);
    held.assert_next_save_works(&dir.join("everything.mp4"));
    held.finish();
}

#[test]
fn a_read_only_directory_fails_the_save_with_the_reason() {
    if !may_mount_or_rerun("a_read_only_directory_fails_the_save_with_the_reason") {
        return;
    }
    let dir = TestDir::new("fault-read-only");
    let read_only = dir.join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    // Root writes through permission bits: a read-only mount is unwritable for everyone.
    let _mount = Mount::tmpfs(&read_only, "64k", true).unwrap();
    let mut held = HeldRing::start(60, 30, gst::ClockTime::from_seconds(1));
    held.assert_save_fails_and_changes_nothing(
        SECOND,
        &read_only.join("clip.mp4"),
        "Read-only file system",
    );
    held.assert_next_save_works(&dir.join("after.mp4"));
    held.finish();
}

#[test]
fn a_directory_removed_before_the_write_fails_that_save_only() {
    require_element("x264enc");
    let dir = TestDir::new("fault-vanished-dir");
    let vanishing = dir.join("vanishing");
    std::fs::create_dir(&vanishing).unwrap();
    let pipeline = parse(&format!(
        "{} ! x264enc speed-preset=ultrafast key-int-max=30 ! h264parse \
         ! replayring name=ring max-duration={}",
        source(150),
        60 * SECOND
    ));
    let ring = ring_of(&pipeline);
    let at_request = Hold::at(&ring, gst::ClockTime::from_seconds(2));
    let after_post_roll = Hold::at(&ring, gst::ClockTime::from_seconds(3));
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    at_request.wait();
    // The post-roll keeps the save open while its directory goes away.
    let request = gst::Structure::builder("replay-request")
        .field("start-ago", SECOND)
        .field("post-roll", SECOND / 2)
        .field("location", vanishing.join("clip.mp4").to_str().unwrap())
        .build();
    let id = ring.emit_by_name::<String>("save-clip", &[&request]);
    std::fs::remove_dir(&vanishing).unwrap();
    at_request.release();
    after_post_roll.wait();

    let outcome = log.outcome(&id);
    assert_eq!(outcome.name(), "replay-failed", "{outcome:?}");
    let error = get_str(&outcome, "error");
    assert!(error.contains("does not exist"), "{error}");
    assert_eq!(
        (stat(&ring, "frames"), stat(&ring, "evicted")),
        (90, 0),
        "every frame is still in the ring"
    );
    let next = dir.join_str("next.mp4");
    let next_id = ring.emit_by_name::<String>("save", &[&u64::MAX, &Some(next.clone())]);
    let next_outcome = log.outcome(&next_id);
    assert_eq!(next_outcome.name(), "replay-saved", "{next_outcome:?}");
    assert_eq!(decodes_cleanly(Path::new(&next)), 90);
    after_post_roll.release();
    log.read_to_end();
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(dir.listing(), vec!["next.mp4"]);
}

#[test]
fn eos_during_saves_waits_for_them() {
    require_element("x264enc");
    let dir = TestDir::new("fault-eos-mid-save");
    let mut held = HeldRing::start(90, 30, gst::ClockTime::from_seconds(2));
    let plain = dir.join_str("plain.mp4");
    let plain_id = held
        .ring
        .emit_by_name::<String>("save", &[&u64::MAX, &Some(plain.clone())]);
    // Its post-roll (10 s) reaches past the end of the stream (1 s away).
    let request = gst::Structure::builder("replay-request")
        .field("start-ago", SECOND)
        .field("post-roll", 10 * SECOND)
        .field("location", dir.join_str("post-roll.mp4"))
        .build();
    let post_roll_id = held.ring.emit_by_name::<String>("save-clip", &[&request]);
    held.finish();
    let log = &held.log;

    let eos_at = log
        .messages
        .iter()
        .position(|m| matches!(m.view(), gst::MessageView::Eos(_)))
        .unwrap();
    let outcomes = log.outcomes();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    for id in [&plain_id, &post_roll_id] {
        let at = log
            .messages
            .iter()
            .position(|m| {
                m.structure()
                    .is_some_and(|s| s.get::<String>("id").ok().as_ref() == Some(id))
            })
            .unwrap();
        assert!(at < eos_at, "{id} is reported before EOS");
    }
    for outcome in &outcomes {
        assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
        let frames = decodes_cleanly(Path::new(&get_str(outcome, "location")));
        assert_eq!(frames as u64, get_u64(outcome, "frames"));
    }
    // Frames 30 to 89: the second before the request and what the stream still had.
    let post_roll = outcomes
        .iter()
        .find(|o| get_str(o, "id") == post_roll_id)
        .unwrap();
    assert_eq!(get_u64(post_roll, "frames"), 60);
    assert_eq!(dir.listing(), vec!["plain.mp4", "post-roll.mp4"]);
}

#[test]
fn stopping_during_a_post_roll_save_writes_what_was_captured() {
    require_element("x264enc");
    let dir = TestDir::new("fault-stop-mid-post-roll");
    let pipeline = parse(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! h264parse \
         ! replayring name=ring",
    );
    let ring = ring_of(&pipeline);
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    while stat(&ring, "frames") < 45 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let clip = dir.join_str("clip.mp4");
    let request = gst::Structure::builder("replay-request")
        .field("start-ago", SECOND)
        .field("post-roll", 30 * SECOND)
        .field("location", &clip)
        .build();
    let id = ring.emit_by_name::<String>("save-clip", &[&request]);
    // READY, not NULL, first: the bus keeps its messages until NULL.
    pipeline.set_state(gst::State::Ready).unwrap();
    let outcome = log.outcome(&id);
    pipeline.set_state(gst::State::Null).unwrap();

    assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
    assert_eq!(dir.listing(), vec!["clip.mp4"], "no temporary file");
    let frames = decodes_cleanly(Path::new(&clip));
    assert_eq!(frames as u64, get_u64(&outcome, "frames"));
    assert!(
        frames >= 30,
        "the second before the request: {frames} frames"
    );
}

#[test]
fn a_stalled_encoder_does_not_stop_saves_and_capture_resumes() {
    require_element("x264enc");
    let dir = TestDir::new("fault-stall");
    let pipeline = parse(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! valve name=stall ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 \
         ! h264parse ! replayring name=ring max-duration=30000000000",
    );
    let ring = ring_of(&pipeline);
    let stall = pipeline.by_name("stall").unwrap();
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    let wait_for_frames = |count: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while stat(&ring, "frames") < count {
            assert!(
                Instant::now() < deadline,
                "capture stopped at {count} frames"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for_frames(45);

    stall.set_property("drop", true);
    // Frames already inside the encoder still arrive; then nothing does.
    std::thread::sleep(Duration::from_millis(300));
    let captured = stat(&ring, "frames");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(stat(&ring, "frames"), captured, "the stream is stalled");

    let during = dir.join_str("during.mp4");
    let during_id = ring.emit_by_name::<String>("save", &[&0u64, &Some(during.clone())]);
    let outcome = log.outcome(&during_id);
    assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
    assert_eq!(get_u64(&outcome, "frames"), captured);
    assert_eq!(decodes_cleanly(Path::new(&during)), captured as usize);
    // A post-roll save asked during the stall ends once the stream is back, or earlier
    // should a wall-clock limit end it: either way one outcome, and a clean file or none.
    let post_roll_clip = dir.join_str("post-roll.mp4");
    let request = gst::Structure::builder("replay-request")
        .field("start-ago", SECOND)
        .field("post-roll", SECOND / 2)
        .field("location", &post_roll_clip)
        .build();
    let post_roll_id = ring.emit_by_name::<String>("save-clip", &[&request]);

    stall.set_property("drop", false);
    wait_for_frames(captured + 30);
    let post_roll = log.outcome(&post_roll_id);
    if post_roll.name() == "replay-saved" {
        let frames = decodes_cleanly(Path::new(&post_roll_clip));
        assert_eq!(frames as u64, get_u64(&post_roll, "frames"));
    } else {
        assert!(!get_str(&post_roll, "error").is_empty(), "{post_roll:?}");
        assert!(!Path::new(&post_roll_clip).exists());
    }

    let after = dir.join_str("after.mp4");
    let after_id = ring.emit_by_name::<String>("save", &[&0u64, &Some(after.clone())]);
    let outcome = log.outcome(&after_id);
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(outcome.name(), "replay-saved", "{outcome:?}");
    let frames = decodes_cleanly(Path::new(&after));
    assert_eq!(frames as u64, get_u64(&outcome, "frames"));
    assert!(
        frames as u64 >= captured + 30,
        "the clip goes on after the stall"
    );
    assert_eq!(stat(&ring, "dropped"), 0);
}

/// Set for the child process of the kill test: the directory it saves into.
const KILLED_SAVE_DIR: &str = "REPLAY_TESTS_KILLED_SAVE_DIR";
/// The child's clip: 40 frames of 8 MiB (320 MiB), sharing two blocks of memory.
const KILLED_SAVE_FRAMES: u64 = 40;
const KILLED_SAVE_FRAME_BYTES: usize = 8 << 20;

/// One H.264 access unit in avc framing: a single NAL unit of `bytes` in all, its payload
/// zero. Never decoded; the writer only reads the NAL lengths and types.
fn synthetic_access_unit(bytes: usize, keyframe: bool) -> gst::Memory {
    let mut data = vec![0u8; bytes];
    data[..4].copy_from_slice(&(bytes as u32 - 4).to_be_bytes());
    data[4] = if keyframe { 0x65 } else { 0x41 };
    gst::Memory::from_slice(data)
}

/// The child of [`a_process_killed_mid_save_leaves_only_a_part_file`]: fills a ring with a
/// large clip, asks for it to be saved and waits to be killed. Does nothing in a normal
/// test run.
#[test]
fn helper_process_that_saves_a_large_clip() {
    let Some(dir) = std::env::var_os(KILLED_SAVE_DIR) else {
        return;
    };
    init();
    let pipeline = gst::Pipeline::new();
    let source = gst_app::AppSrc::builder()
        .caps(
            &gst::Caps::builder("video/x-h264")
                .field("stream-format", "avc")
                .field("alignment", "au")
                .field("width", 1920)
                .field("height", 1080)
                .field("framerate", gst::Fraction::new(30, 1))
                .field(
                    "codec_data",
                    gst::Buffer::from_slice([0x01u8, 0x64, 0x00, 0x28, 0xff, 0xe0, 0x00]),
                )
                .build(),
        )
        .format(gst::Format::Time)
        .build();
    let ring = gst::ElementFactory::make("replayring")
        .property("max-bytes", u64::MAX)
        .build()
        .unwrap();
    pipeline.add_many([source.upcast_ref(), &ring]).unwrap();
    source.link(&ring).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let keyframe = synthetic_access_unit(KILLED_SAVE_FRAME_BYTES, true);
    let delta = synthetic_access_unit(KILLED_SAVE_FRAME_BYTES, false);
    for index in 0..KILLED_SAVE_FRAMES {
        let mut buffer = gst::Buffer::new();
        {
            let buffer = buffer.get_mut().unwrap();
            let memory = if index % 10 == 0 { &keyframe } else { &delta };
            buffer.append_memory(memory.clone());
            buffer.set_pts(gst::ClockTime::from_nseconds(index * SECOND / FPS));
            buffer.set_duration(gst::ClockTime::from_nseconds(SECOND / FPS));
            if index % 10 != 0 {
                buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        source.push_buffer(buffer).unwrap();
    }
    while stat(&ring, "frames") < KILLED_SAVE_FRAMES {
        std::thread::sleep(Duration::from_millis(10));
    }
    let clip = PathBuf::from(dir).join("clip.mp4");
    ring.emit_by_name::<String>("save", &[&u64::MAX, &Some(clip.to_str().unwrap())]);
    std::thread::sleep(Duration::from_secs(120));
    panic!("the parent test should have killed this process");
}

#[test]
fn a_process_killed_mid_save_leaves_only_a_part_file() {
    let dir = TestDir::new("fault-killed");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["helper_process_that_saves_a_large_clip", "--exact"])
        .env(KILLED_SAVE_DIR, &dir.path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once a good part of the clip is written: mid-write, not before or after it.
    let mid_write = 32 << 20;
    let deadline = Instant::now() + Duration::from_secs(120);
    let part = loop {
        let written = part_files(&dir.path).pop().and_then(|part| {
            let size = std::fs::metadata(dir.path.join(&part)).ok()?.len();
            (size >= mid_write).then_some(part)
        });
        if let Some(part) = written {
            break part;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the saving process ended ({status}) before its save was under way");
        }
        assert!(
            Instant::now() < deadline,
            "the save never got under way: {:?}",
            dir.listing()
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    // SIGKILL: no destructor, no cleanup; only what is on disk counts.
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(
        !dir.join("clip.mp4").exists(),
        "nothing at the final path: the file was still being written"
    );
    assert_eq!(
        dir.listing(),
        vec![part.clone()],
        "the only leftover is the temporary file"
    );
    assert!(
        part.starts_with(".clip.mp4.") && part.ends_with(".part"),
        "the leftover is clearly named after its clip: {part}"
    );
}
