//! The save threads: a queue of saves ready to be written, at most [`SAVE_THREADS`] threads
//! writing them, the counters of what they wrote, and the report of each outcome.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::job::{SaveJob, SaveOutcome, Writing};

/// Clips are written by at most this many threads; more saves wait their turn, so a save
/// storm costs memory for the queued snapshots (shared with the ring) but never hundreds of
/// threads. Two keep a slow disk busy while a second file is prepared.
const SAVE_THREADS: usize = 2;

thread_local! {
    /// Set on save threads: a message handler that stops the pipeline from there must not
    /// wait for the saves (its own among them).
    static ON_SAVE_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// What a save reports as it goes.
pub enum SaveEvent {
    /// Its file is about to be written.
    Writing(Writing),
    /// Written or failed: the last event of a save.
    Done(SaveOutcome),
}

/// Where events go: the element posts them on the bus.
pub type Reporter = Box<dyn Fn(SaveEvent) + Send + Sync>;

/// Saves written and failed since the element was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SaveCounts {
    pub saved: u64,
    pub failed: u64,
}

pub struct SaveQueue {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Waiting>,
    /// Signalled when a save thread exits.
    idle: Condvar,
    saved: AtomicU64,
    failed: AtomicU64,
    next_id: AtomicU64,
    report: Reporter,
}

#[derive(Default)]
struct Waiting {
    jobs: VecDeque<SaveJob>,
    threads: usize,
}

impl SaveQueue {
    pub fn new(report: Reporter) -> Self {
        SaveQueue {
            shared: Arc::new(Shared {
                queue: Mutex::default(),
                idle: Condvar::new(),
                saved: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                next_id: AtomicU64::new(0),
                report,
            }),
        }
    }

    /// A new save id: `prefix-1`, `prefix-2`, ...
    pub fn next_id(&self, prefix: &str) -> String {
        let sequence = self.shared.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}-{sequence}")
    }

    /// Queues a save for a save thread, starting one when fewer than [`SAVE_THREADS`] run.
    pub fn submit(&self, job: SaveJob) {
        let mut waiting = self.shared.queue.lock().unwrap();
        waiting.jobs.push_back(job);
        if waiting.threads >= SAVE_THREADS {
            return;
        }
        waiting.threads += 1;
        drop(waiting);
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("replayring-save".into())
            .spawn(move || shared.write_queued_saves());
        if let Err(err) = spawned {
            let mut waiting = self.shared.queue.lock().unwrap();
            waiting.threads -= 1;
            // Another thread will write the queue; with none, nothing would.
            let stranded: Vec<SaveJob> = if waiting.threads == 0 {
                waiting.jobs.drain(..).collect()
            } else {
                Vec::new()
            };
            drop(waiting);
            self.shared.idle.notify_all();
            for job in stranded {
                self.report(SaveOutcome::failed(
                    &job.id,
                    &job.location_template,
                    format!("cannot start a save thread: {err}"),
                ));
            }
        }
    }

    /// Counts and reports an outcome: also for saves that fail before they are queued.
    pub fn report(&self, outcome: SaveOutcome) {
        self.shared.report(outcome);
    }

    /// Saves waiting for a save thread.
    pub fn waiting(&self) -> usize {
        self.shared.queue.lock().unwrap().jobs.len()
    }

    pub fn counts(&self) -> SaveCounts {
        SaveCounts {
            saved: self.shared.saved.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits until every queued save is written. From a save thread it returns at once: it
    /// would wait for itself.
    pub fn wait_idle(&self) {
        if ON_SAVE_THREAD.with(Cell::get) {
            return;
        }
        let mut waiting = self.shared.queue.lock().unwrap();
        while !waiting.jobs.is_empty() || waiting.threads > 0 {
            waiting = self.shared.idle.wait(waiting).unwrap();
        }
    }
}

impl Shared {
    /// A save thread: writes queued saves until none is left.
    fn write_queued_saves(&self) {
        ON_SAVE_THREAD.with(|flag| flag.set(true));
        loop {
            let mut waiting = self.queue.lock().unwrap();
            let Some(job) = waiting.jobs.pop_front() else {
                waiting.threads -= 1;
                drop(waiting);
                self.idle.notify_all();
                return;
            };
            drop(waiting);
            let outcome = job.run(&|writing| (self.report)(SaveEvent::Writing(writing)));
            self.report(outcome);
        }
    }

    fn report(&self, outcome: SaveOutcome) {
        let counter = match outcome {
            SaveOutcome::Saved(_) => &self.saved,
            SaveOutcome::Failed(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        (self.report)(SaveEvent::Done(outcome));
    }
}
