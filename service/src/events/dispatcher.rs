//! Takes events out of the outbox: appends them to events.jsonl, then posts them to each
//! webhook, retrying failed posts with backoff. Runs as one task on the async runtime; the
//! database and the file are reached through `spawn_blocking`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::{jsonl, webhook};
use crate::jobs::now_millis;
use crate::jobs::store::{Delivery, Store, StoreError};

/// How long to wait after the database or the file failed before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

pub struct Dispatcher {
    pub store: Arc<Store>,
    pub jsonl: PathBuf,
    pub key: Vec<u8>,
    pub client: reqwest::Client,
    /// Notified when an event enters the outbox.
    pub wake: Arc<Notify>,
}

impl Dispatcher {
    /// Until `shutdown` turns true; events left then go out at the next start.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let next_due = match self.pass().await {
                Ok(next_due) => next_due,
                Err(error) => {
                    eprintln!("gst-replay serve: events: {error}; trying again");
                    Some(now_millis() + ERROR_PAUSE.as_millis() as u64)
                }
            };
            let wait = next_due.map(|due| Duration::from_millis(due.saturating_sub(now_millis())));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = sleep_or_forever(wait) => {}
                _ = shutdown.changed() => {
                    // What is in the outbox now still reaches the file before the exit.
                    if let Err(error) = self.write_file().await {
                        eprintln!("gst-replay serve: events: {error}");
                    }
                    return;
                }
            }
        }
    }

    /// One round: the file, then the deliveries that are due. Returns when the next
    /// delivery not yet due is.
    async fn pass(&self) -> Result<Option<u64>, String> {
        self.write_file().await?;
        let store = Arc::clone(&self.store);
        let now = now_millis();
        let (due, next) = blocking(move || store.due_deliveries(now)).await?;
        let mut earliest_retry = next;
        for delivery in due {
            let retry_at = self.deliver(delivery).await?;
            earliest_retry = match (earliest_retry, retry_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(earliest_retry)
    }

    async fn write_file(&self) -> Result<(), String> {
        let store = Arc::clone(&self.store);
        let path = self.jsonl.clone();
        blocking(move || {
            let events = store.unwritten_events()?;
            if events.is_empty() {
                return Ok(());
            }
            let bodies: Vec<&str> = events.iter().map(|event| event.body.as_str()).collect();
            jsonl::append(&path, &bodies).map_err(|err| {
                StoreError::Corrupt(format!("cannot append to {}: {err}", path.display()))
            })?;
            let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
            store.mark_written(&seqs, now_millis())
        })
        .await
    }

    /// Posts one delivery; returns when it is to be tried again, if it failed.
    async fn deliver(&self, delivery: Delivery) -> Result<Option<u64>, String> {
        let outcome =
            webhook::post(&self.client, &delivery.target, &self.key, &delivery.body).await;
        let store = Arc::clone(&self.store);
        match outcome {
            Ok(()) => {
                blocking(move || store.delivered(delivery.seq, &delivery.target, now_millis()))
                    .await?;
                Ok(None)
            }
            Err(error) => {
                let retry_at =
                    now_millis() + webhook::backoff(delivery.attempts).as_millis() as u64;
                eprintln!(
                    "gst-replay serve: webhook: {error}; trying again in {} s",
                    webhook::backoff(delivery.attempts).as_secs()
                );
                blocking(move || {
                    store.delivery_failed(delivery.seq, &delivery.target, &error, retry_at)
                })
                .await?;
                Ok(Some(retry_at))
            }
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| format!("a database task failed: {err}"))?
        .map_err(|err| err.to_string())
}
