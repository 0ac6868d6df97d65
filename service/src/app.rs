//! The running service: what the routes share, start-up (recovering what a killed run left),
//! and a shutdown that finishes the saves in flight.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use crate::config::ServeConfig;
use crate::events::dispatcher::Dispatcher;
use crate::jobs::idempotency;
use crate::jobs::now_millis;
use crate::jobs::store::{Store, StoreError};
use crate::log;
use crate::metrics::Metrics;
use crate::sessions::admission::Limits;
use crate::sessions::registry::{Observer, Sessions};
use crate::storage::LocalStorage;

/// What the routes and the save jobs share.
pub struct App {
    pub config: ServeConfig,
    pub store: Arc<Store>,
    pub sessions: Arc<Sessions>,
    pub storage: LocalStorage,
    pub metrics: Metrics,
    /// Wakes the event dispatcher when the outbox has a new event.
    pub events_ready: Arc<Notify>,
    /// The webhook URLs, as the outbox names its delivery targets.
    pub webhook_targets: Vec<String>,
    /// Save jobs running; shutdown waits for them.
    jobs_running: AtomicUsize,
    jobs_done: Notify,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot start GStreamer or the replay plugin: {0}")]
    GStreamer(String),
    #[error("cannot listen on {address}: {source} (is another service on that port? --listen 127.0.0.1:0 picks a free one)")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Server(std::io::Error),
}

impl App {
    /// A save job starts: shutdown waits until the guard is dropped.
    pub fn job_started(self: &Arc<Self>) -> JobGuard {
        self.jobs_running.fetch_add(1, Ordering::SeqCst);
        JobGuard(Arc::clone(self))
    }

    async fn jobs_finished(&self) {
        loop {
            let done = self.jobs_done.notified();
            if self.jobs_running.load(Ordering::SeqCst) == 0 {
                return;
            }
            done.await;
        }
    }
}

pub struct JobGuard(Arc<App>);

impl Drop for JobGuard {
    fn drop(&mut self) {
        self.0.jobs_running.fetch_sub(1, Ordering::SeqCst);
        self.0.jobs_done.notify_waiters();
    }
}

/// Runs the service until SIGTERM or Ctrl-C, then finishes the saves in flight, stops the
/// sessions and returns.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    Service::open(config)
        .await?
        .run_until(shutdown_signal())
        .await
}

/// The service, ready to take requests: its database recovered, its port bound, its event
/// dispatcher running.
pub struct Service {
    pub app: Arc<App>,
    listener: std::net::TcpListener,
    url: String,
    /// Jobs an earlier run left unfinished, failed at start: reported once listening.
    interrupted: Vec<crate::ids::Id>,
    stop_events: watch::Sender<bool>,
    dispatcher: tokio::task::JoinHandle<()>,
    forgetting: tokio::task::JoinHandle<()>,
}

impl Service {
    /// Recovers what a killed run left (unfinished jobs fail, temporary files go), binds
    /// the port and starts the event dispatcher. Runs on the async runtime.
    pub async fn open(config: ServeConfig) -> Result<Service, ServeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServeError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        gst::init().map_err(|err| ServeError::GStreamer(err.to_string()))?;
        // The launcher links the plugin in and registers it before it calls this.
        if gst::ElementFactory::find("replayring").is_none() {
            gstreplay::plugin_register_static()
                .map_err(|err| ServeError::GStreamer(err.to_string()))?;
        }

        let store = Arc::new(Store::open(&config.data_dir.join("replay.db"))?);
        let interrupted = store.fail_unfinished()?;
        store.forget_keys_before(
            now_millis().saturating_sub(idempotency::RETENTION.as_millis() as u64),
        )?;
        let webhook_targets: Vec<String> =
            config.webhooks.iter().map(|url| url.to_string()).collect();
        store.drop_deliveries_except(&webhook_targets)?;

        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| ServeError::Listen {
                address: config.listen,
                source,
            })?;
        listener.set_nonblocking(true).map_err(ServeError::Server)?;
        let url = public_url(listener.local_addr().map_err(ServeError::Server)?);
        let storage = LocalStorage::new(&config.data_dir, &url);
        storage.remove_partial_files();

        let metrics = Metrics::default();
        metrics.set_storage_bytes("permanent", store.stored_bytes()?);
        let observer: Observer = Arc::new(|id, status| {
            log::event(serde_json::json!({
                "event": "session", "sessionId": id, "state": status.state,
                "error": status.error,
            }))
        });
        let sessions = Arc::new(Sessions::new(
            Limits {
                max_sessions: config.max_sessions,
                memory_budget: config.memory_budget,
            },
            observer,
        ));
        let app = Arc::new(App {
            store: Arc::clone(&store),
            sessions,
            storage,
            metrics,
            events_ready: Arc::new(Notify::new()),
            webhook_targets,
            jobs_running: AtomicUsize::new(0),
            jobs_done: Notify::new(),
            config,
        });
        let (stop_events, events_stopped) = watch::channel(false);
        let dispatcher = Dispatcher {
            store,
            jsonl: app.config.data_dir.join("events.jsonl"),
            key: app.config.token.clone().unwrap_or_default().into_bytes(),
            client: reqwest::Client::new(),
            wake: Arc::clone(&app.events_ready),
        };
        let dispatcher = tokio::spawn(dispatcher.run(events_stopped));
        let forgetting = tokio::spawn(forget_old_keys(Arc::clone(&app)));
        Ok(Service {
            app,
            listener,
            url,
            interrupted,
            stop_events,
            dispatcher,
            forgetting,
        })
    }

    /// Where clients reach it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until `shutdown` completes, then finishes the saves in flight, stops the
    /// sessions and the dispatcher.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let listener =
            tokio::net::TcpListener::from_std(self.listener).map_err(ServeError::Server)?;
        log::event(serde_json::json!({"event": "listening", "url": self.url}));
        for replay_id in &self.interrupted {
            let job = self.app.store.job(replay_id).ok().flatten();
            log::event(serde_json::json!({
                "event": "replay-failed", "replayId": replay_id,
                "error": job.and_then(|job| job.error),
            }));
        }
        let router = crate::api::router(Arc::clone(&self.app));
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServeError::Server)?;
        log::event(serde_json::json!({"event": "stopping"}));
        self.app.jobs_finished().await;
        self.app.sessions.stop_all().await;
        self.forgetting.abort();
        let _ = self.stop_events.send(true);
        let _ = self.dispatcher.await;
        log::event(serde_json::json!({"event": "stopped"}));
        Ok(())
    }
}

/// The URL clients reach the service at: the address it listens on, with a wildcard
/// address shown as the loopback one.
fn public_url(address: SocketAddr) -> String {
    let host = match address.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{host}:{}", address.port())
}

async fn forget_old_keys(app: Arc<App>) {
    // Start-up forgot the old keys already: the first round is an hour from now.
    let hour = std::time::Duration::from_secs(3600);
    let mut hourly = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
    loop {
        hourly.tick().await;
        let store = Arc::clone(&app.store);
        let before = now_millis().saturating_sub(idempotency::RETENTION.as_millis() as u64);
        let _ = tokio::task::spawn_blocking(move || store.forget_keys_before(before)).await;
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_shown_as_loopback() {
        assert_eq!(
            public_url("127.0.0.1:8480".parse().unwrap()),
            "http://127.0.0.1:8480"
        );
        assert_eq!(
            public_url("0.0.0.0:9000".parse().unwrap()),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            public_url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000"
        );
        assert_eq!(public_url("[::1]:1".parse().unwrap()), "http://[::1]:1");
        assert_eq!(
            public_url("10.0.0.5:80".parse().unwrap()),
            "http://10.0.0.5:80"
        );
    }
}
