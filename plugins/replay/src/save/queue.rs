//! Saves: starting them, writing them on a bounded number of save threads, reporting them,
//! and waiting for them when the stream ends.

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::imp::{ReplayRing, Settings, CAT};
use super::job::{SaveJob, SaveOutcome};
use super::pending::{self, PendingSave};
use super::request::SaveRequest;
use crate::ring::SelectError;

/// Clips are written by at most this many threads; more requests wait their turn, so a save
/// storm costs memory for the queued snapshots (shared with the ring) but never hundreds of
/// threads. Two keep a slow disk busy while a second file is prepared.
const SAVE_THREADS: usize = 2;
/// How often the watchdog looks for saves whose post-roll stalled.
const WATCHDOG_INTERVAL: Duration = Duration::from_millis(100);

thread_local! {
    /// Set on save threads: a message handler that stops the pipeline from there must not
    /// wait for the saves (its own among them).
    static ON_SAVE_THREAD: Cell<bool> = const { Cell::new(false) };
}

#[derive(Default)]
pub(super) struct SaveCounters {
    pub(super) saves: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) next_id: AtomicU64,
}

/// Saves waiting for a save thread, and how many threads are writing.
#[derive(Default)]
pub(super) struct SaveQueue {
    pub(super) waiting: VecDeque<SaveJob>,
    pub(super) threads: usize,
}

impl ReplayRing {
    /// Every sink pad is at EOS: saves waiting for post-roll, saves in flight and the
    /// optional final save complete before EOS reaches the bus, so an application that stops
    /// at EOS loses none of them.
    pub(super) fn finish_stream(&self) {
        let settings = self.settings.lock().unwrap().clone();
        let completed = self
            .state
            .lock()
            .unwrap()
            .take_completed_saves(true, settings.limits().max_duration);
        completed.into_iter().for_each(|job| self.spawn_save(job));
        self.wait_for_saves();
        if settings.save_on_eos {
            let request = SaveRequest {
                post_roll: 0,
                ..SaveRequest::last(0, None, settings.request_defaults())
            };
            self.start_save(request);
            self.wait_for_saves();
        }
        let element = self.obj();
        let _ = element.post_message(gst::message::Eos::builder().src(&*element).build());
    }

    /// Starts a save and returns its id. The clip is written on its own thread once the end
    /// of its window has been captured on every track (at once, unless it has a post-roll or
    /// the audio trails the video).
    pub(super) fn start_save(&self, request: SaveRequest) -> String {
        let requested_at = Instant::now();
        let settings = self.settings.lock().unwrap().clone();
        let sequence = self.counters.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("{}-{}", self.obj().name(), sequence);
        let location_template = request
            .location
            .clone()
            .unwrap_or_else(|| settings.location.clone());

        let mut state = self.state.lock().unwrap();
        let snapshot = state.recording.snapshot();
        let now = snapshot.complete_end();
        let window = now
            .ok_or_else(|| SelectError::NoKeyframe.to_string())
            .and_then(|now| request.window(now, settings.max_duration, state.cleared_until));
        let window = match window {
            Ok(window) => window,
            Err(error) => {
                drop(state);
                self.report(SaveOutcome::failed(&id, &location_template, error));
                return id;
            }
        };
        gst::debug!(
            CAT,
            imp = self,
            "save {} of {:?} ({:?})",
            id,
            window,
            request
        );
        if request.clear {
            state.cleared_until = Some(state.cleared_until.unwrap_or(i64::MIN).max(window.end));
        }
        let job = SaveJob {
            id: id.clone(),
            location_template,
            window,
            snapshot,
            requested_at,
        };
        state.pending.push(PendingSave {
            job,
            clear: request.clear,
            requested_at_stream_time: now.unwrap_or(i64::MIN),
            deadline: pending::deadline(requested_at, Duration::from_nanos(request.post_roll)),
        });
        let completed = state.take_completed_saves(false, settings.limits().max_duration);
        let start_watchdog = !state.pending.is_empty() && !state.watchdog_running;
        state.watchdog_running |= start_watchdog;
        drop(state);
        completed.into_iter().for_each(|job| self.spawn_save(job));
        if start_watchdog {
            self.start_watchdog();
        }
        id
    }

    /// Writes pending saves whose deadline passed while nothing arrived to complete them;
    /// exits once none is pending.
    pub(super) fn start_watchdog(&self) {
        let element = self.obj().downgrade();
        let spawned = std::thread::Builder::new()
            .name("replayring-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(WATCHDOG_INTERVAL);
                let Some(element) = element.upgrade() else {
                    return;
                };
                let imp = element.imp();
                let max_duration = imp.settings.lock().unwrap().limits().max_duration;
                let mut state = imp.state.lock().unwrap();
                let completed = state.take_completed_saves(false, max_duration);
                let done = state.pending.is_empty();
                state.watchdog_running = !done;
                drop(state);
                completed.into_iter().for_each(|job| imp.spawn_save(job));
                if done {
                    return;
                }
            });
        if let Err(err) = spawned {
            // Saves still complete as frames arrive, at EOS or on stop.
            gst::warning!(CAT, imp = self, "cannot start the save watchdog: {err}");
            self.state.lock().unwrap().watchdog_running = false;
        }
    }

    /// Queues a save for a save thread, starting one when fewer than [`SAVE_THREADS`] run.
    pub(super) fn spawn_save(&self, job: SaveJob) {
        let mut queue = self.saves.lock().unwrap();
        queue.waiting.push_back(job);
        if queue.threads >= SAVE_THREADS {
            return;
        }
        queue.threads += 1;
        drop(queue);
        let element = self.obj().clone();
        let spawned = std::thread::Builder::new()
            .name("replayring-save".into())
            .spawn(move || element.imp().write_queued_saves());
        if let Err(err) = spawned {
            let mut queue = self.saves.lock().unwrap();
            queue.threads -= 1;
            // Another thread will write the queue; with none, nothing would.
            let stranded: Vec<SaveJob> = if queue.threads == 0 {
                queue.waiting.drain(..).collect()
            } else {
                Vec::new()
            };
            drop(queue);
            self.saves_idle.notify_all();
            for job in stranded {
                self.report(SaveOutcome::failed(
                    &job.id,
                    &job.location_template,
                    format!("cannot start a save thread: {err}"),
                ));
            }
        }
    }

    /// A save thread: writes queued saves until none is left.
    pub(super) fn write_queued_saves(&self) {
        ON_SAVE_THREAD.with(|flag| flag.set(true));
        loop {
            let mut queue = self.saves.lock().unwrap();
            let Some(job) = queue.waiting.pop_front() else {
                queue.threads -= 1;
                drop(queue);
                self.saves_idle.notify_all();
                return;
            };
            drop(queue);
            let outcome = job.run();
            self.report(outcome);
        }
    }

    pub(super) fn report(&self, outcome: SaveOutcome) {
        let counter = match outcome {
            SaveOutcome::Saved(_) => &self.counters.saves,
            SaveOutcome::Failed(_) => &self.counters.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match &outcome {
            SaveOutcome::Saved(saved) => {
                gst::info!(CAT, imp = self, "saved {} to {}", saved.id, saved.location)
            }
            SaveOutcome::Failed(failed) => gst::warning!(
                CAT,
                imp = self,
                "save {} failed: {}",
                failed.id,
                failed.error
            ),
        }
        let element = self.obj();
        let _ = element.post_message(
            gst::message::Element::builder(outcome.into_structure())
                .src(&*element)
                .build(),
        );
    }

    /// Waits until every queued save is written (not from a save thread: it would wait for
    /// itself).
    pub(super) fn wait_for_saves(&self) {
        if ON_SAVE_THREAD.with(Cell::get) {
            return;
        }
        let mut queue = self.saves.lock().unwrap();
        while !queue.waiting.is_empty() || queue.threads > 0 {
            queue = self.saves_idle.wait(queue).unwrap();
        }
    }

    pub(super) fn emit_save(
        args: &[glib::Value],
        request: impl FnOnce(&Settings) -> Result<SaveRequest, String>,
    ) -> Option<glib::Value> {
        let element = args[0].get::<super::ReplayRing>().expect("signal arg");
        let imp = element.imp();
        let settings = imp.settings.lock().unwrap().clone();
        let id = match request(&settings) {
            Ok(request) => imp.start_save(request),
            Err(error) => {
                let sequence = imp.counters.next_id.fetch_add(1, Ordering::Relaxed) + 1;
                let id = format!("{}-{}", element.name(), sequence);
                imp.report(SaveOutcome::failed(&id, "", error));
                id
            }
        };
        Some(id.to_value())
    }
}
