//! A save whose file cannot be written to the end (here: the process's file size limit, as a
//! full disk would) leaves no file behind and loses nothing buffered.
//!
//! Its own test binary, because the limit applies to the whole process.

mod common;

use common::*;
use gst::prelude::*;

/// Makes every write past `bytes` fail with EFBIG instead of killing the process.
fn limit_file_size(bytes: u64) {
    // SAFETY: plain system calls on process-wide settings this test binary owns.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[test]
fn a_write_that_fails_midway_leaves_no_file_and_the_ring_goes_on() {
    require_element("x264enc");
    let dir = TestDir::new("write-failure");
    let big = dir.join_str("big.mp4");
    let small = dir.join_str("small.mp4");
    let pipeline = parse(
        "videotestsrc num-buffers=300 pattern=snow ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! replayring name=ring max-duration=10000000000",
    );
    let ring = pipeline.by_name("ring").unwrap();
    // Random noise compresses badly: 9 s of it is far larger than the limit, 0.2 s is not.
    save_at(
        &ring,
        gst::ClockTime::from_seconds(9),
        vec![
            (9 * SECOND, Some(big.clone())),
            (SECOND / 5, Some(small.clone())),
        ],
    );
    limit_file_size(2 * 1024 * 1024);
    let messages = run_to_eos(&pipeline);

    let failed = replay_messages(&messages, "replay-failed");
    assert_eq!(failed.len(), 1, "{messages:?}");
    assert_eq!(get_str(failed[0], "location"), big);
    let error = get_str(failed[0], "error");
    assert!(error.contains("too large"), "the error says why: {error}");

    let saved = replay_messages(&messages, "replay-saved");
    assert_eq!(saved.len(), 1, "{messages:?}");
    assert_eq!(get_str(saved[0], "location"), small);
    assert_eq!(
        dir.listing(),
        vec!["small.mp4"],
        "no partial or temporary file"
    );
    let stats = ring.property::<gst::Structure>("stats");
    assert_eq!(get_u64(&stats, "failed-saves"), 1);
    assert_eq!(get_u64(&stats, "saves"), 1);
}
