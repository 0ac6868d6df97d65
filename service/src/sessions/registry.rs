//! The sessions the service holds, by id: starting, running, and the final document of
//! those that stopped. Pipelines are built and stopped on blocking threads, never on the
//! async runtime's; the registry's lock is never held while they are.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::admission::{self, Limits, Refusal};
use super::document::{SessionConfig, SessionDocument};
use super::ingest::{ClipEvent, ClipRequest, Ingest, SessionSpec, SessionState, SessionStatus};
use crate::ids::Id;
use crate::jobs::{now_millis, rfc3339};

/// What a session's state changes are told to (the service logs them on stdout).
pub type Observer = Arc<dyn Fn(&Id, &SessionStatus) + Send + Sync>;

pub struct Sessions {
    entries: Mutex<BTreeMap<Id, Entry>>,
    limits: Limits,
    observer: Observer,
}

enum Entry {
    /// Its pipeline is being built.
    Starting {
        config: SessionConfig,
        started_at: String,
    },
    Running(Arc<Session>),
    /// Being stopped: saves already asked for finish first.
    Stopping(Arc<Session>),
    /// Stopped, or could not start: its last document. Its ring is gone.
    Over(SessionDocument),
}

/// A session with its pipeline.
pub struct Session {
    pub id: Id,
    pub config: SessionConfig,
    started_at: String,
    /// None once stopped.
    ingest: Mutex<Option<Ingest>>,
}

impl Session {
    pub fn document(&self) -> Option<SessionDocument> {
        let status = self.ingest.lock().unwrap().as_ref()?.status();
        Some(SessionDocument::new(
            &self.id,
            &self.config,
            &self.started_at,
            status,
        ))
    }

    /// Asks the ring for a clip; None when the session has stopped.
    pub fn save(&self, request: ClipRequest) -> Option<UnboundedReceiver<ClipEvent>> {
        Some(self.ingest.lock().unwrap().as_ref()?.save(request))
    }
}

/// What `start-buffer` came to.
pub enum Started {
    /// A new session (201).
    New(SessionDocument),
    /// The same session asked for again (200).
    Same(SessionDocument),
    /// The id is taken by a session with other settings (409).
    Conflict(SessionDocument),
    /// No room (507).
    Refused(Refusal),
    /// The source cannot be used at all (422).
    Unusable(String),
}

/// Why a save cannot go to a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Unavailable {
    NoSuchSession,
    /// Stopped, stopping or never started: no ring to save from.
    Over,
}

impl Sessions {
    pub fn new(limits: Limits, observer: Observer) -> Sessions {
        Sessions {
            entries: Mutex::default(),
            limits,
            observer,
        }
    }

    pub async fn start(self: &Arc<Self>, id: Id, config: SessionConfig) -> Started {
        let started_at = rfc3339(now_millis());
        {
            let mut entries = self.entries.lock().unwrap();
            if let Some(existing) = entries.get(&id) {
                if let Some((existing_config, document)) = existing.live(&id) {
                    return if *existing_config == config {
                        Started::Same(document)
                    } else {
                        Started::Conflict(document)
                    };
                }
            }
            let held: Vec<u64> = entries
                .values()
                .filter_map(|entry| entry.held_bytes())
                .collect();
            if let Err(refusal) = admission::admit(self.limits, &held, config.max_bytes) {
                return Started::Refused(refusal);
            }
            entries.insert(
                id.clone(),
                Entry::Starting {
                    config: config.clone(),
                    started_at: started_at.clone(),
                },
            );
        }
        let spec = SessionSpec {
            id: id.to_string(),
            source: config.source.clone(),
            max_duration: Duration::from_secs_f64(config.max_duration_seconds),
            max_bytes: config.max_bytes,
        };
        let observer = Arc::clone(&self.observer);
        let observed_id = id.clone();
        let built = tokio::task::spawn_blocking(move || {
            Ingest::start(spec, move |status: &SessionStatus| {
                observer(&observed_id, status)
            })
        })
        .await;
        let mut entries = self.entries.lock().unwrap();
        match built {
            Ok(Ok(ingest)) => {
                let session = Arc::new(Session {
                    id: id.clone(),
                    config,
                    started_at,
                    ingest: Mutex::new(Some(ingest)),
                });
                let document = session.document().expect("running");
                entries.insert(id, Entry::Running(session));
                Started::New(document)
            }
            Ok(Err(error)) => {
                let error = error.to_string();
                entries.insert(
                    id.clone(),
                    Entry::Over(SessionDocument::failed(
                        &id,
                        &config,
                        &started_at,
                        error.clone(),
                    )),
                );
                Started::Unusable(error)
            }
            Err(join) => {
                entries.remove(&id);
                Started::Unusable(format!("building the pipeline failed: {join}"))
            }
        }
    }

    pub fn document(&self, id: &Id) -> Option<SessionDocument> {
        let entry = self.entry(id)?;
        Some(entry.document(id))
    }

    pub fn documents(&self) -> Vec<SessionDocument> {
        let entries: Vec<(Id, EntryView)> = self
            .entries
            .lock()
            .unwrap()
            .iter()
            .map(|(id, entry)| (id.clone(), entry.view()))
            .collect();
        entries
            .into_iter()
            .map(|(id, entry)| entry.document(&id))
            .collect()
    }

    /// The session to save from.
    pub fn for_save(&self, id: &Id) -> Result<Arc<Session>, Unavailable> {
        match self.entries.lock().unwrap().get(id) {
            None => Err(Unavailable::NoSuchSession),
            Some(Entry::Running(session)) => Ok(Arc::clone(session)),
            Some(_) => Err(Unavailable::Over),
        }
    }

    /// Stops a session: its saves already asked for finish first, then its ring is freed.
    /// None when there is no such session; a session already over answers its document.
    pub async fn stop(&self, id: &Id) -> Option<SessionDocument> {
        let session = {
            let mut entries = self.entries.lock().unwrap();
            match entries.remove(id)? {
                Entry::Running(session) => {
                    entries.insert(id.clone(), Entry::Stopping(Arc::clone(&session)));
                    session
                }
                other => {
                    let document = other.document(id);
                    entries.insert(id.clone(), other);
                    return Some(document);
                }
            }
        };
        let ingest = session.ingest.lock().unwrap().take();
        let document = match ingest {
            Some(ingest) => {
                let status = tokio::task::spawn_blocking(move || ingest.stop()).await;
                let status = status.unwrap_or_else(|join| SessionStatus {
                    error: Some(format!("stopping the pipeline failed: {join}")),
                    ..SessionStatus::empty(SessionState::Stopped, None)
                });
                SessionDocument::new(&session.id, &session.config, &session.started_at, status)
            }
            None => SessionDocument::new(
                &session.id,
                &session.config,
                &session.started_at,
                SessionStatus::empty(SessionState::Stopped, None),
            ),
        };
        self.entries
            .lock()
            .unwrap()
            .insert(id.clone(), Entry::Over(document.clone()));
        Some(document)
    }

    /// Stops every session (at shutdown).
    pub async fn stop_all(&self) {
        let running: Vec<Id> = self
            .entries
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, entry)| matches!(entry, Entry::Running(_)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in running {
            self.stop(&id).await;
        }
    }

    /// Sessions holding (or building) a ring.
    pub fn active(&self) -> usize {
        self.entries
            .lock()
            .unwrap()
            .values()
            .filter(|entry| entry.held_bytes().is_some())
            .count()
    }

    /// Bytes the rings hold now.
    pub fn buffered_bytes(&self) -> u64 {
        let sessions: Vec<Arc<Session>> = self
            .entries
            .lock()
            .unwrap()
            .values()
            .filter_map(|entry| match entry {
                Entry::Running(session) | Entry::Stopping(session) => Some(Arc::clone(session)),
                _ => None,
            })
            .collect();
        sessions
            .iter()
            .filter_map(|session| session.document())
            .map(|document| document.buffered_bytes)
            .sum()
    }

    fn entry(&self, id: &Id) -> Option<EntryView> {
        self.entries.lock().unwrap().get(id).map(Entry::view)
    }
}

/// An entry taken out from under the lock, so documents are made without holding it.
enum EntryView {
    Starting(SessionConfig, String),
    Live(Arc<Session>),
    Over(SessionDocument),
}

impl EntryView {
    fn document(self, id: &Id) -> SessionDocument {
        match self {
            EntryView::Starting(config, started_at) => {
                SessionDocument::starting(id, &config, &started_at)
            }
            EntryView::Live(session) => session.document().unwrap_or_else(|| {
                SessionDocument::new(
                    id,
                    &session.config,
                    &session.started_at,
                    SessionStatus::empty(SessionState::Stopped, None),
                )
            }),
            EntryView::Over(document) => document,
        }
    }
}

impl Entry {
    fn view(&self) -> EntryView {
        match self {
            Entry::Starting { config, started_at } => {
                EntryView::Starting(config.clone(), started_at.clone())
            }
            Entry::Running(session) | Entry::Stopping(session) => {
                EntryView::Live(Arc::clone(session))
            }
            Entry::Over(document) => EntryView::Over(document.clone()),
        }
    }

    fn document(&self, id: &Id) -> SessionDocument {
        self.view().document(id)
    }

    /// The settings and document of a session that holds (or builds) a ring.
    fn live(&self, id: &Id) -> Option<(&SessionConfig, SessionDocument)> {
        match self {
            Entry::Starting { config, .. } => Some((config, self.document(id))),
            Entry::Running(session) | Entry::Stopping(session) => {
                Some((&session.config, self.document(id)))
            }
            Entry::Over(_) => None,
        }
    }

    /// What this entry's ring may hold, when it has one.
    fn held_bytes(&self) -> Option<u64> {
        match self {
            Entry::Starting { config, .. } => Some(config.max_bytes),
            Entry::Running(session) | Entry::Stopping(session) => Some(session.config.max_bytes),
            Entry::Over(_) => None,
        }
    }
}
