//! The gate: where the agent's reads and writes meet the tracker, and where the tracker's
//! answers are carried out. A read is labelled before the agent sees it; a write is
//! checked before anything is written, and then allowed, announced, held for the person's
//! approval, or refused. The approvals themselves (who may answer, the first answer wins,
//! expiry, one denial refuses the write, standing choices) are tracker state
//! (`tracker::approvals`); the gate only waits for them, routes what each step changed to
//! the event stream and the panes, and tells the agent.
//!
//! The tracker is synchronous (SQLite, a flush per decision), so every call into it runs on
//! the blocking pool behind one mutex; nothing here holds a lock across an await.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tracker::approvals::{ApprovalError, Settlement, WriteId};
use tracker::injection::InjectionFinding;
use tracker::store::{StoreError, StoredFlow};
use tracker::{
    AnswerError, CellRange, DocumentId, DocumentLabel, DocumentRef, ProvenanceId, ReadEvent,
    Sensitivity, Tracker, WriteContent,
};

use crate::addin::registry::Registry;
use crate::events::{BridgeEvent, DocumentSummary, EventBus};
use crate::session::SessionInfo;

mod holds;
mod routing;
mod writes;

pub use holds::{Caller, Elicit, HoldProgress, Progress};
pub use routing::WriteSketch;
pub use writes::{Passage, Verdict};

/// How long a held transfer waits for the person before it is denied.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(120);

/// A failure of the gate itself (the store), never of the person's choices.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("the tracker's store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the tracker task failed: {0}")]
    Task(String),
    /// The install's audit key could not be loaded at start: no read is recorded.
    #[error("reads are refused: {0}")]
    NoAuditKey(String),
}

/// Why an answer to an approval was not taken.
#[derive(Debug, thiserror::Error)]
pub enum AnswerRefused {
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error(transparent)]
    Gate(#[from] GateError),
}

impl From<AnswerError> for AnswerRefused {
    fn from(e: AnswerError) -> Self {
        match e {
            AnswerError::Approval(a) => AnswerRefused::Approval(a),
            AnswerError::Store(s) => AnswerRefused::Gate(GateError::Store(s)),
        }
    }
}

pub struct Gate {
    tracker: Arc<Mutex<Tracker>>,
    /// Held writes waiting for their settlement, by write id.
    waiters: Mutex<HashMap<WriteId, oneshot::Sender<Settlement>>>,
    /// What each held write would do, for the approvals' cards (never stored).
    sketches: Mutex<HashMap<WriteId, routing::WriteSketch>>,
    /// Calls inside `hold` (for a shutdown that lets them answer before closing).
    holding: AtomicUsize,
    /// One question per pane session for its document's label, shared by every caller
    /// that needs the answer (see [`Gate::ensure_document_label`]).
    label_questions: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<()>>>>,
    events: EventBus,
    registry: Arc<Registry>,
    /// Milliseconds; the administrator's policy may change it while running.
    approval_timeout_ms: AtomicU64,
    /// Why the audit key could not be given to the tracker at start, if it could not.
    audit_key_error: Option<String>,
    /// Counts durable changes: what the audit forwarders wait on (a watch, so none misses
    /// a change that came while it was busy).
    committed: tokio::sync::watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated in a way that
    // matters more than stopping the bridge would.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gate {
    /// Takes the tracker, and gives it the install's audit key first (created beside its
    /// database on first use). Without a usable key the tracker refuses every read, each
    /// with an error that says so; the reason is logged here at start.
    pub fn new(
        mut tracker: Tracker,
        events: EventBus,
        registry: Arc<Registry>,
        approval_timeout: Duration,
    ) -> Self {
        let audit_key_error = crate::audit_key::install(&mut tracker)
            .err()
            .map(|e| format!("{e:#}"));
        if let Some(e) = &audit_key_error {
            tracing::error!("reads are refused until the audit key is fixed: {e}");
        }
        Gate {
            audit_key_error,
            tracker: Arc::new(Mutex::new(tracker)),
            waiters: Mutex::new(HashMap::new()),
            sketches: Mutex::new(HashMap::new()),
            holding: AtomicUsize::new(0),
            label_questions: Mutex::new(HashMap::new()),
            events,
            registry,
            approval_timeout_ms: AtomicU64::new(approval_timeout.as_millis() as u64),
            committed: tokio::sync::watch::Sender::new(0),
        }
    }

    pub fn approval_timeout(&self) -> Duration {
        Duration::from_millis(self.approval_timeout_ms.load(Ordering::Relaxed))
    }

    /// Applies to approvals opened from now on.
    pub fn set_approval_timeout(&self, timeout: Duration) {
        self.approval_timeout_ms
            .store(timeout.as_millis() as u64, Ordering::Relaxed);
    }

    /// Changes each time something the tracker recorded became durable (the audit chain
    /// may have grown).
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Runs `f` on the tracker on the blocking pool, and returns once everything it
    /// recorded is durable. The store commits in groups: the flush happens after the
    /// tracker's lock is released, so callers arriving meanwhile share it instead of each
    /// waiting in line behind everyone else's (tracker::store::group_commit).
    async fn with_tracker<R, F>(&self, f: F) -> Result<R, GateError>
    where
        F: FnOnce(&mut Tracker) -> R + Send + 'static,
        R: Send + 'static,
    {
        let tracker = self.tracker.clone();
        tokio::task::spawn_blocking(move || {
            let (result, ticket) = {
                let mut t = lock(&tracker);
                let result = f(&mut t);
                (result, t.commit_ticket())
            };
            ticket.wait().map(|()| result)
        })
        .await
        .inspect(|_| self.committed.send_modify(|n| *n = n.wrapping_add(1)))
        .map_err(|e| GateError::Task(e.to_string()))?
        .map_err(GateError::Store)
    }

    /// Reads from the tracker on the blocking pool (nothing recorded, nothing to flush).
    async fn read_tracker<R, F>(&self, f: F) -> Result<R, GateError>
    where
        F: FnOnce(&Tracker) -> R + Send + 'static,
        R: Send + 'static,
    {
        let tracker = self.tracker.clone();
        tokio::task::spawn_blocking(move || f(&lock(&tracker)))
            .await
            .map_err(|e| GateError::Task(e.to_string()))
    }

    /// Announces what the tracker closed when it opened the store (approvals and writes a
    /// previous run left open), so the event stream and its log say so.
    pub async fn announce_restart(&self) -> Result<usize, GateError> {
        let effects = self.with_tracker(|t| t.take_restart_effects()).await?;
        let closed = effects.resolved.len();
        if closed > 0 {
            tracing::info!(
                approvals = closed,
                "closed approvals the previous run left open (the bridge restarted)"
            );
        }
        self.route(effects).await;
        Ok(closed)
    }

    /// Labels a read (durably) and announces it, with what in it was flagged as
    /// instructions aimed at the agent: writes for the next hour are then decided by
    /// `flows.after_flagged_instructions` too (`tracker::flagged`).
    pub async fn record_read(
        &self,
        read: ReadEvent,
        address: String,
        findings: Vec<InjectionFinding>,
    ) -> Result<ProvenanceId, GateError> {
        let flagged = findings.len();
        // The read document's pane shows which of its cells look like instructions aimed at
        // the agent (their text is the person's own document's; it goes to that pane only).
        let flagged_cells: Vec<Value> = findings
            .iter()
            .map(|f| json!({"location": f.location, "reason": f.reason, "excerpt": f.excerpt}))
            .collect();
        let summary = DocumentSummary::from(&read.document);
        let sheet = read
            .sheets
            .first()
            .map(|s| s.sheet.clone())
            .unwrap_or_default();
        let cells = read.sheets.iter().map(|s| s.cells.len()).sum();
        let at = read.at;
        if let Some(e) = &self.audit_key_error {
            // The tracker would refuse too; this says why.
            return Err(GateError::NoAuditKey(e.clone()));
        }
        let id = self
            .with_tracker(move |t| {
                let id = t.record_read(&read)?;
                t.record_flagged_read(&read.document, &findings, read.at)?;
                Ok::<_, tracker::store::StoreError>(id)
            })
            .await??;
        let notice = json!({
            "provenance_id": id.to_string(),
            "sheet": sheet,
            "address": address,
            "cells": cells,
            "flagged": flagged_cells,
            "at": at,
        });
        let document_id = summary.id.clone();
        self.events.publish(BridgeEvent::Read {
            provenance_id: id.to_string(),
            document: summary,
            sheet,
            address,
            cells,
            flagged,
            at,
        });
        self.notify_documents(&[&document_id], "read.notice", &notice)
            .await;
        Ok(id)
    }

    /// Records what was learned of a document's sensitivity label (`source`: `pane`,
    /// `file`). A host that cannot say never erases a label learned before.
    pub async fn learn_document_label(
        &self,
        document: DocumentRef,
        label: DocumentLabel,
        source: &'static str,
    ) -> Result<(), GateError> {
        let changed = self
            .with_tracker(move |t| {
                t.learn_document_label(&document, label, source, tracker::unix_millis_now())
            })
            .await??;
        if changed {
            tracing::debug!(source, "a document's sensitivity label was learned");
        }
        Ok(())
    }

    /// Makes sure the tracker knows the label of a pane's document before its data is
    /// labelled: asks the pane once per registration (`excel.getProperties`,
    /// `powerpoint.getProperties`), and every caller waits for that one answer. A pane
    /// that cannot say is recorded as "unknown", which decisions treat as confidential.
    pub async fn ensure_document_label(&self, session: &SessionInfo) {
        let cell = lock(&self.label_questions)
            .entry(session.session_id.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| self.ask_document_label(session)).await;
    }

    /// A pane (re)registered: its document's label is asked again, since it may have
    /// changed while the pane was away.
    pub async fn pane_registered(&self, session: &SessionInfo) {
        let cell = Arc::new(tokio::sync::OnceCell::new());
        lock(&self.label_questions).insert(session.session_id.clone(), cell.clone());
        cell.get_or_init(|| self.ask_document_label(session)).await;
    }

    async fn ask_document_label(&self, session: &SessionInfo) {
        let method = match session.app {
            tracker::App::Excel => "excel.getProperties",
            tracker::App::Powerpoint => "powerpoint.getProperties",
            tracker::App::File => return,
        };
        let label = match self
            .registry
            .request(&session.session_id, method, json!({}), None)
            .await
        {
            Ok(props) => {
                let custom: Vec<(String, String)> = props
                    .get("custom")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let v = match v {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                (k.clone(), v)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let found = tracker::files::purview_from_properties(
                    custom.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                );
                tracker::files::PurviewLabel::document_label(found.as_ref())
            }
            Err(e) => DocumentLabel::Unknown {
                why: format!("its pane could not read the document's properties: {e}"),
            },
        };
        if let Err(e) = self
            .learn_document_label(session.document.clone(), label, "pane")
            .await
        {
            tracing::warn!("cannot record a document's sensitivity label: {e}");
        }
    }

    /// What is known of a document's sensitivity label.
    pub async fn document_label(
        &self,
        document: DocumentId,
    ) -> Result<Option<DocumentLabel>, GateError> {
        self.read_tracker(move |t| t.document_label(&document).cloned())
            .await
    }

    /// The person marked (or unmarked) a range in their workbook's pane.
    pub async fn set_label(
        &self,
        document: DocumentRef,
        sheet: String,
        range: CellRange,
        sensitivity: Sensitivity,
    ) -> Result<(), GateError> {
        self.with_tracker(move |t| {
            t.set_label(
                &document,
                &sheet,
                range,
                sensitivity,
                "pane",
                tracker::unix_millis_now(),
            )
        })
        .await??;
        Ok(())
    }

    /// The person's confidential marks on a document: (sheet, range).
    pub async fn marks(&self, document: DocumentId) -> Result<Vec<(String, CellRange)>, GateError> {
        self.read_tracker(move |t| t.marks_of(&document)).await
    }

    /// How these transfers stand, for a pane of `document` that was away while they ended:
    /// only transfers from or into that document are told.
    pub async fn flows_of(
        &self,
        document: DocumentId,
        ids: Vec<i64>,
    ) -> Result<Vec<StoredFlow>, GateError> {
        let flows = self.read_tracker(move |t| t.flows_by_id(&ids)).await??;
        Ok(flows
            .into_iter()
            .filter(|f| f.flow.source.id == document || f.flow.target.id == document)
            .collect())
    }

    /// The most recent transfers from or into `document`, newest first (at most `limit`,
    /// among the bridge's latest 500): what a pane that was reloaded shows again, each
    /// with how it ended.
    pub async fn recent_flows_of(
        &self,
        document: DocumentId,
        limit: usize,
    ) -> Result<Vec<StoredFlow>, GateError> {
        let flows = self.read_tracker(|t| t.recent_flows(500)).await??;
        Ok(flows
            .into_iter()
            .filter(|f| f.flow.source.id == document || f.flow.target.id == document)
            .take(limit)
            .collect())
    }

    /// Puts the administrator's policy in force and keeps it as the last good one (with
    /// its audit record).
    pub async fn apply_admin_policy(
        &self,
        policy: tracker::policy::AdminPolicy,
        path: String,
    ) -> Result<(), GateError> {
        self.with_tracker(move |t| t.put_admin_policy(policy, &path, tracker::unix_millis_now()))
            .await??;
        Ok(())
    }

    /// How many cells are labelled.
    pub async fn indexed_cells(&self) -> Result<usize, GateError> {
        self.read_tracker(|t| t.indexed_cells()).await
    }

    /// The flows of tracked data in `content`, decided nothing and recorded nothing (for
    /// `scan_file`).
    pub async fn find_flows(&self, content: WriteContent) -> Result<Vec<tracker::Flow>, GateError> {
        self.read_tracker(move |t| t.find_flows(&content)).await
    }

    /// The store's commit and flush counts.
    pub async fn commit_stats(&self) -> Result<tracker::store::CommitStats, GateError> {
        self.read_tracker(|t| t.commit_stats()).await
    }

    /// One approval as stored, whatever its state.
    pub async fn approval_record(
        &self,
        id: String,
    ) -> Result<Option<tracker::store::ApprovalRow>, GateError> {
        Ok(self.read_tracker(move |t| t.approval(&id)).await??)
    }

    /// `audit verify` on the bridge's own store.
    pub async fn verify_audit(&self) -> Result<tracker::audit::VerifyReport, GateError> {
        Ok(self.read_tracker(|t| t.verify_audit()).await??)
    }

    pub async fn recent_flows(&self, limit: usize) -> Result<Vec<StoredFlow>, GateError> {
        Ok(self.read_tracker(move |t| t.recent_flows(limit)).await??)
    }
}
