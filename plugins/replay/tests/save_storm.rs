//! A save storm while capturing: 300 saves in bursts of 50 at the same instant, from five
//! application threads and from the streaming thread. Every save reports once, no two share
//! a file, every file decodes, capture loses no frame, and the process gives back its
//! memory, file descriptors and threads afterwards.
//!
//! Its own test binary: it measures the whole process.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::hold::*;
use common::ProcessUsage;
use common::*;
use gst::prelude::*;

const THREADS: usize = 5;
const BURST: usize = 50;
const SAVES: usize = (THREADS + 1) * BURST;

/// Counts the buffers that pass `pad`.
fn count_buffers(pad: &gst::Pad) -> Arc<AtomicU64> {
    let count = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&count);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        counter.fetch_add(1, Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
    count
}

/// Half the saves go to the ring's time-stamped name template, half to one explicit name:
/// both must be made unique.
fn burst(ring: &gst::Element, explicit: &str) -> Vec<String> {
    (0..BURST)
        .map(|index| {
            let location = (index % 2 == 0).then(|| explicit.to_owned());
            ring.emit_by_name::<String>("save", &[&SECOND, &location])
        })
        .collect()
}

#[test]
fn three_hundred_saves_at_once_each_report_once_and_lose_nothing() {
    require_element("x264enc");
    let dir = TestDir::new("save-storm");
    let explicit = dir.join_str("same.mp4");
    // A live source, and a leaky queue before the ring: if a burst of saves held up the
    // ring's streaming thread for more than a few frames, the queue would drop frames.
    let pipeline = parse(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! h264parse \
         ! queue name=leaky leaky=downstream max-size-buffers=10 max-size-bytes=0 max-size-time=0 \
         ! replayring name=ring max-duration={} location=\"{}\"",
        2 * SECOND,
        dir.join("storm-%Y%m%d-%H%M%S.mp4").display()
    ));
    let ring = pipeline.by_name("ring").unwrap();
    let produced = count_buffers(
        &pipeline
            .by_name("leaky")
            .unwrap()
            .static_pad("sink")
            .unwrap(),
    );
    let reached = count_buffers(&ring.static_pad("video").unwrap());
    let mut log = BusLog::new(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    while stat(&ring, "frames") < 75 {
        std::thread::sleep(Duration::from_millis(20));
    }
    // One storm before measuring, so that what the first one sets up for good (thread
    // pools, allocator arenas, GStreamer's lazily created objects) is not counted.
    let warm_up = burst(&ring, &dir.join_str("warm-up.mp4"));
    for id in &warm_up {
        log.outcome(id);
    }
    for entry in std::fs::read_dir(&dir.path).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = ProcessUsage::of_self();

    let start = Arc::new(Barrier::new(THREADS + 1));
    let ids = Arc::new(Mutex::new(Vec::new()));
    {
        let start = Arc::clone(&start);
        let ids = Arc::clone(&ids);
        let explicit = explicit.clone();
        let now = pipeline.current_running_time().unwrap();
        at_running_time(
            &ring,
            now + gst::ClockTime::from_mseconds(200),
            move |ring| {
                start.wait();
                ids.lock().unwrap().extend(burst(ring, &explicit));
            },
        );
    }
    let threads: Vec<_> = (0..THREADS - 1)
        .map(|_| {
            let ring = ring.clone();
            let start = Arc::clone(&start);
            let explicit = explicit.clone();
            std::thread::spawn(move || {
                start.wait();
                burst(&ring, &explicit)
            })
        })
        .collect();
    // The test thread is the fifth.
    start.wait();
    let mut requested = burst(&ring, &explicit);
    for thread in threads {
        requested.extend(thread.join().unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while ids.lock().unwrap().len() < BURST {
        assert!(
            Instant::now() < deadline,
            "the streaming thread's burst never ran"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    requested.extend(ids.lock().unwrap().iter().cloned());
    assert_eq!(requested.len(), SAVES);
    let unique_ids: HashSet<&String> = requested.iter().collect();
    assert_eq!(unique_ids.len(), SAVES, "every save has its own id");

    let outcomes: HashMap<String, gst::Structure> = requested
        .iter()
        .map(|id| (id.clone(), log.outcome(id)))
        .collect();
    // Every save thread has ended once its outcome is posted; give them a moment to exit.
    std::thread::sleep(Duration::from_secs(1));
    let after = ProcessUsage::of_self();
    let stats = ring.property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null).unwrap();

    let failed: Vec<&gst::Structure> = outcomes
        .values()
        .filter(|o| o.name() != "replay-saved")
        .collect();
    assert!(failed.is_empty(), "failed saves: {failed:#?}");
    let storm_outcomes = log
        .outcomes()
        .into_iter()
        .filter(|o| unique_ids.contains(&get_str(o, "id")))
        .count();
    assert_eq!(storm_outcomes, SAVES, "exactly one outcome per save");

    let mut locations: Vec<String> = outcomes.values().map(|o| get_str(o, "location")).collect();
    locations.sort();
    locations.dedup();
    assert_eq!(locations.len(), SAVES, "every file name is unique");
    let mut listing: Vec<String> = dir
        .listing()
        .iter()
        .map(|name| dir.join_str(name))
        .collect();
    listing.sort();
    assert_eq!(
        listing, locations,
        "the files are the saved ones, no temporary file"
    );

    assert_eq!(get_u64(&stats, "dropped"), 0, "{stats}");
    assert_eq!(
        reached.load(Ordering::Relaxed),
        produced.load(Ordering::Relaxed),
        "the leaky queue before the ring dropped frames: the storm held up capture"
    );
    after.assert_within(&before, 20, 0, 0);

    let (paths, reported): (Vec<PathBuf>, Vec<usize>) = outcomes
        .values()
        .map(|o| {
            let path = PathBuf::from(get_str(o, "location"));
            (path, get_u64(o, "frames") as usize)
        })
        .unzip();
    assert_eq!(
        decoded_frame_counts(&paths),
        reported,
        "every file presents the frames its replay-saved reports"
    );
    eprintln!("save storm: {before} before, {after} after");
}
