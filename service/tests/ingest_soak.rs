//! Reconnects cost nothing that stays: a session whose UDP sender is killed and started
//! again, cycle after cycle, holds no more threads, descriptors or memory for it. A binary
//! of its own, so no other test's threads are counted.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gst_replay_service::sessions::ingest::SessionState;
use test_support::media::{Audio, Video};
use test_support::ProcessUsage;

#[test]
fn reconnect_cycles_leave_nothing_behind() {
    let dir = TestDir::new("ingest-soak");
    let started = Instant::now();
    let source = media::encode(&dir, "source.mp4", 40, Video::H265, Audio::None);
    let port = free_udp_port();
    let session = Session::start("soak", &format!("udp://127.0.0.1:{port}"), 30);
    let mut feeder = feeders::udp_push_h265(&source, port);
    session.wait_for_buffered(2.0, Duration::from_secs(10));
    let mut after_cycle = Vec::new();
    for _ in 0..4 {
        feeder.kill();
        session.wait_for_state(SessionState::Reconnecting, Duration::from_secs(8));
        // Let the rebuilt source listen before the new sender starts.
        session.wait_until("the source rebuilt", Duration::from_secs(5), |s| {
            s.reconnects as usize > after_cycle.len()
        });
        feeder = feeders::udp_push_h265(&source, port);
        session.wait_for_state(SessionState::Buffering, Duration::from_secs(15));
        std::thread::sleep(Duration::from_millis(500));
        after_cycle.push(ProcessUsage::of_self());
    }
    let (first, last) = (after_cycle[0], after_cycle[after_cycle.len() - 1]);
    eprintln!("after the first reconnect: {first}; after the last: {last}");
    // Three more cycles: a thread or descriptor left per cycle would be three. (The
    // feeder's reader threads and pipes come and go with it.)
    last.assert_within(&first, 4, 2, 2);
    session.assert_no_backward_jump();
    let stopped = session.ingest.stop();
    assert_eq!(stopped.reconnects, 4, "{stopped:?}");
    drop(feeder);
    eprintln!("soak test: {:.1} s", started.elapsed().as_secs_f64());
}
