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

use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tracker::approvals::{
    Answer, ApprovalError, Effects, FlowOutcome, HeldApproval, HeldSubject, Outcome, Scope,
    Settlement, Who, WriteId, who_words,
};
use tracker::store::{StoreError, StoredFlow};
use tracker::{
    Action, AnswerError, CellRange, DocumentId, DocumentLabel, DocumentRef, ProvenanceId,
    ReadEvent, Sensitivity, Tracker, UnixMillis, WriteContent,
};

use crate::addin::registry::Registry;
use crate::events::{BridgeEvent, DocumentSummary, EventBus, FlowSummary, HeldAction};
use crate::session::SessionInfo;

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

/// Asks the agent's client to let its user decide (MCP elicitation). Resolves to the
/// user's answer, or `None` when the client cannot or did not answer.
pub type Elicit = Box<dyn FnOnce(String) -> BoxFuture<'static, Option<bool>> + Send>;

/// Tells the agent's client how its call stands while it waits (MCP progress).
pub type Progress = Arc<dyn Fn(HoldProgress) -> BoxFuture<'static, ()> + Send + Sync>;

/// Where a held call stands, for the agent's client.
#[derive(Clone, Debug, PartialEq)]
pub enum HoldProgress {
    /// Held for the person: what, and until when (unix ms).
    Held {
        line: String,
        expires_at: UnixMillis,
    },
    /// Allowed: it is being written now.
    Released,
}

/// How a held call reaches the agent's client.
#[derive(Default)]
pub struct Caller {
    pub elicit: Option<Elicit>,
    pub progress: Option<Progress>,
}

/// What the gate says of a write or a deletion.
#[derive(Debug)]
pub enum Verdict {
    /// Write it, then [`Passage::finish`].
    Proceed(Passage),
    /// Nothing may be written. The message says what, from where, and why, for the agent
    /// to tell the person.
    Refused {
        message: String,
        flows: Vec<FlowSummary>,
    },
}

/// Leave to write, with what the write carries. Finish it with whether it landed; a
/// passage dropped unfinished (the agent's call ended meanwhile) is finished as "not
/// known".
pub struct Passage {
    gate: Arc<Gate>,
    pub write_id: WriteId,
    pub target: DocumentRef,
    pub flows: Vec<FlowSummary>,
    /// Approvals this write needed, with who allowed them.
    pub approvals: Vec<(String, String)>,
    finished: bool,
}

impl std::fmt::Debug for Passage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passage")
            .field("write_id", &self.write_id)
            .field("target", &self.target.name)
            .field("flows", &self.flows.len())
            .finish()
    }
}

impl Passage {
    /// Records whether the write landed (`tool` and `location` name it in the audit
    /// chain), and tells every surface each transfer's outcome. Returns the flows with
    /// their outcomes, as the tool result shows them.
    pub async fn finish(
        mut self,
        written: bool,
        tool: &str,
        location: &str,
    ) -> Result<Vec<FlowSummary>, GateError> {
        self.finished = true;
        let outcomes = self
            .gate
            .finish(
                self.write_id.clone(),
                self.target.clone(),
                Some(written),
                tool.to_string(),
                location.to_string(),
            )
            .await?;
        let mut flows = std::mem::take(&mut self.flows);
        for flow in &mut flows {
            if let Some(o) = outcomes.iter().find(|o| o.flow_id == flow.flow_id) {
                flow.outcome = o.outcome;
                flow.written = o.written;
            }
        }
        Ok(flows)
    }
}

impl Drop for Passage {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let (gate, write_id, target) = (
            self.gate.clone(),
            self.write_id.clone(),
            self.target.clone(),
        );
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = gate
                    .finish(write_id, target, None, String::new(), String::new())
                    .await
                    .map(drop)
                {
                    tracing::warn!("recording an unfinished write: {e}");
                }
            });
        }
    }
}

pub struct Gate {
    tracker: Arc<Mutex<Tracker>>,
    /// Held writes waiting for their settlement, by write id.
    waiters: Mutex<HashMap<WriteId, oneshot::Sender<Settlement>>>,
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
            holding: AtomicUsize::new(0),
            label_questions: Mutex::new(HashMap::new()),
            events,
            registry,
            approval_timeout_ms: AtomicU64::new(approval_timeout.as_millis() as u64),
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

    /// Labels a read (durably) and announces it. `flagged` counts cells whose text looks
    /// like instructions aimed at the agent.
    pub async fn record_read(
        &self,
        read: ReadEvent,
        address: String,
        flagged: usize,
    ) -> Result<ProvenanceId, GateError> {
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
        let id = self.with_tracker(move |t| t.record_read(&read)).await??;
        self.events.publish(BridgeEvent::Read {
            provenance_id: id.to_string(),
            document: summary,
            sheet,
            address,
            cells,
            flagged,
            at,
        });
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

    /// Checks a write before anything is written and carries out the decision: allow and
    /// notify proceed (the panes and the event stream are told of every flow), ask waits
    /// for the person, block refuses. The flows and decisions are durable before this
    /// returns, and so is every approval's answer.
    pub async fn check_write(
        self: &Arc<Self>,
        write: WriteContent,
        caller: Caller,
    ) -> Result<Verdict, GateError> {
        let at = tracker::unix_millis_now();
        let expires_at = at + self.approval_timeout().as_millis() as UnixMillis;
        let target = write.target.clone();
        let check = self
            .with_tracker(move |t| t.check_write(&write, at, expires_at))
            .await??;
        let action = check.action();
        let summaries: Vec<FlowSummary> = check
            .flows
            .iter()
            .map(|c| {
                let mut s = FlowSummary::new(c.flow_id, &c.flow, &c.decision);
                s.write_id = Some(check.write_id.to_string());
                if action == Action::Block {
                    s.outcome = Outcome::Blocked;
                    s.written = Some(false);
                }
                s
            })
            .collect();
        for s in &summaries {
            self.announce_flow(s, at).await;
        }
        match action {
            Action::Allow | Action::Notify => Ok(Verdict::Proceed(Passage {
                gate: self.clone(),
                write_id: check.write_id,
                target,
                flows: summaries,
                approvals: Vec::new(),
                finished: false,
            })),
            Action::Block => {
                self.route_outcomes(&check.outcomes).await;
                Ok(Verdict::Refused {
                    message: blocked_message(&summaries),
                    flows: summaries,
                })
            }
            Action::Ask => {
                let settlement = self
                    .hold(&check.write_id, &target, check.held, expires_at, caller)
                    .await?;
                match settlement {
                    Settlement::Proceed { approvals } => Ok(Verdict::Proceed(Passage {
                        gate: self.clone(),
                        write_id: check.write_id,
                        target,
                        flows: summaries,
                        approvals,
                        finished: false,
                    })),
                    Settlement::Refused {
                        outcome,
                        decided_by,
                        reason,
                    } => Ok(Verdict::Refused {
                        message: format!(
                            "Not written: {}. Held: {}.",
                            refusal_words(outcome, &decided_by, &reason),
                            summaries
                                .iter()
                                .filter(|s| s.decision == Action::Ask)
                                .map(|s| s.line.as_str())
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                        flows: summaries,
                    }),
                }
            }
        }
    }

    /// Decides a deletion (sheet, slide) and carries it out like a write: allow proceeds,
    /// ask waits for the person, block refuses.
    pub async fn check_deletion(
        self: &Arc<Self>,
        target: &DocumentRef,
        what: &str,
        caller: Caller,
    ) -> Result<Verdict, GateError> {
        let at = tracker::unix_millis_now();
        let expires_at = at + self.approval_timeout().as_millis() as UnixMillis;
        let (doc, what_owned) = (target.clone(), what.to_string());
        let check = self
            .with_tracker(move |t| t.check_deletion(&doc, &what_owned, at, expires_at))
            .await??;
        let passage = |approvals| {
            Verdict::Proceed(Passage {
                gate: self.clone(),
                write_id: check.write_id.clone(),
                target: target.clone(),
                flows: Vec::new(),
                approvals,
                finished: false,
            })
        };
        match (check.decision.action, check.held.clone()) {
            (Action::Allow | Action::Notify, _) => Ok(passage(Vec::new())),
            (Action::Block, _) | (Action::Ask, None) => Ok(Verdict::Refused {
                message: format!(
                    "Not deleted: deleting {what} from {} is blocked: {}",
                    target.name, check.decision.reason
                ),
                flows: Vec::new(),
            }),
            (Action::Ask, Some(held)) => {
                match self
                    .hold(&check.write_id, target, vec![held], expires_at, caller)
                    .await?
                {
                    Settlement::Proceed { approvals } => Ok(passage(approvals)),
                    Settlement::Refused {
                        outcome,
                        decided_by,
                        reason,
                    } => Ok(Verdict::Refused {
                        message: format!(
                            "Not deleted: {} (deleting {what} from {})",
                            refusal_words(outcome, &decided_by, &reason),
                            target.name
                        ),
                        flows: Vec::new(),
                    }),
                }
            }
        }
    }

    async fn finish(
        &self,
        write_id: WriteId,
        target: DocumentRef,
        written: Option<bool>,
        tool: String,
        location: String,
    ) -> Result<Vec<FlowOutcome>, GateError> {
        let outcomes = self
            .with_tracker(move |t| {
                t.finish_write(
                    &write_id,
                    &target,
                    written,
                    &tool,
                    &location,
                    tracker::unix_millis_now(),
                )
            })
            .await??;
        self.route_outcomes(&outcomes).await;
        Ok(outcomes)
    }

    /// Answers a pending approval: a pane's (for its own document only), the desktop's,
    /// or the agent's client's (where the policy allows). Recorded before it is acted on;
    /// the held write then proceeds or is refused.
    pub async fn answer(&self, approval_id: &str, answer: Answer) -> Result<(), AnswerRefused> {
        let id = approval_id.to_string();
        let effects = self
            .with_tracker(move |t| t.answer(&id, answer, tracker::unix_millis_now()))
            .await??;
        self.route(effects).await;
        Ok(())
    }

    /// The approvals waiting for an answer, as their requests were announced.
    pub async fn pending(&self) -> Result<Vec<Value>, GateError> {
        let open = self.read_tracker(|t| t.open_approvals()).await?;
        Ok(open.iter().map(approval_request).collect())
    }

    /// The approvals waiting for an answer in one document (what its pane reconciles its
    /// cards with when it reconnects).
    pub async fn pending_for(&self, document: DocumentId) -> Result<Vec<Value>, GateError> {
        let open = self.read_tracker(|t| t.open_approvals()).await?;
        Ok(open
            .iter()
            .filter(|a| a.target.id == document)
            .map(approval_request)
            .collect())
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

    /// The bridge is stopping: every held write is refused now (recorded as expired, "the
    /// bridge stopped"), and the calls waiting on them get to answer their agents before
    /// the connections close (at most `grace`).
    pub async fn shutdown(&self, grace: Duration) {
        let closed = match self
            .with_tracker(|t| t.close_all_holds(tracker::unix_millis_now()))
            .await
        {
            Ok(Ok(effects)) => {
                let closed = effects.settled.len();
                self.route(effects).await;
                closed
            }
            Ok(Err(e)) => {
                tracing::error!("cannot record the held writes closed at shutdown: {e}");
                0
            }
            Err(e) => {
                tracing::error!("cannot close the held writes at shutdown: {e}");
                0
            }
        };
        if closed == 0 {
            return;
        }
        tracing::info!(
            writes = closed,
            "refused the writes held for approval: the bridge is stopping"
        );
        let deadline = tokio::time::Instant::now() + grace;
        while self.holding.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The calls are out of `hold`; give their answers a moment to be written out before
        // the MCP sessions are cancelled.
        tokio::time::sleep(Duration::from_millis(200).min(grace)).await;
    }

    /// Tells the event stream, the target's pane and the source's panes of a flow.
    async fn announce_flow(&self, flow: &FlowSummary, at: UnixMillis) {
        self.events.publish(BridgeEvent::Flow {
            flow: flow.clone(),
            at,
        });
        self.notify_documents(
            &[&flow.source.id, &flow.target.id],
            "flow.notice",
            &json!(flow),
        )
        .await;
    }

    /// Sends a notification to the connected panes of these documents.
    async fn notify_documents(&self, documents: &[&str], method: &str, params: &Value) {
        for session in self
            .registry
            .matching(|s| s.connected && documents.contains(&s.document.id.0.as_str()))
        {
            self.registry
                .notify(&session.session_id, method, params)
                .await;
        }
    }

    /// Holds a write for the person: announces each approval (the target's pane, the event
    /// stream, the agent's client when it can ask), and waits until the tracker settles
    /// the write: every approval allowed, one denied, the deadline passed, or the bridge
    /// stopping. If the agent's call goes away first, the write is withdrawn.
    async fn hold(
        self: &Arc<Self>,
        write_id: &WriteId,
        target: &DocumentRef,
        held: Vec<HeldApproval>,
        expires_at: UnixMillis,
        caller: Caller,
    ) -> Result<Settlement, GateError> {
        let (tx, mut rx) = oneshot::channel();
        // Registered before anyone learns the approval ids, so no answer can come first.
        lock(&self.waiters).insert(write_id.clone(), tx);
        let _guard = HoldGuard {
            gate: self.clone(),
            write_id: write_id.clone(),
        };
        let mut lines = Vec::new();
        for approval in &held {
            let request = approval_request(approval);
            let line = request["line"].as_str().unwrap_or_default().to_string();
            self.events.publish(BridgeEvent::ApprovalRequested {
                approval_id: approval.id.clone(),
                write_id: approval.write_id.to_string(),
                flow_id: approval.flow_id(),
                target: target.into(),
                held: held_action(approval),
                expires_at,
                line: line.clone(),
            });
            self.notify_documents(&[&target.id.0], "approval.request", &request)
                .await;
            lines.push(line);
        }
        if let Some(progress) = &caller.progress {
            progress(HoldProgress::Held {
                line: lines.join("; "),
                expires_at,
            })
            .await;
        }
        let mut elicitation: BoxFuture<'_, ()> = match caller.elicit {
            Some(elicit) => {
                let question = format!(
                    "office-bridge holds a transfer for your approval: {}. Allow it?",
                    lines.join("; ")
                );
                let ids: Vec<String> = held.iter().map(|a| a.id.clone()).collect();
                let future = elicit(question);
                // The elicitation races the panes and the desktop; whoever answers first
                // wins, later answers find the approval closed.
                Box::pin(async move {
                    if let Some(allow) = future.await {
                        for id in &ids {
                            let answer = Answer {
                                allow,
                                scope: Scope::Once,
                                by: Who::Elicitation,
                            };
                            if let Err(e) = self.answer(id, answer).await {
                                tracing::debug!("the client's answer was not taken: {e}");
                            }
                        }
                    }
                    std::future::pending::<()>().await
                })
            }
            None => Box::pin(std::future::pending()),
        };
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis((expires_at - tracker::unix_millis_now()).max(0) as u64);
        self.holding.fetch_add(1, Ordering::SeqCst);
        let _holding = HoldingCount(&self.holding);
        let settlement = loop {
            tokio::select! {
                settled = &mut rx => match settled {
                    Ok(s) => break s,
                    // The sender is only dropped once the write was settled elsewhere.
                    Err(_) => break Settlement::Refused {
                        outcome: Outcome::Expired,
                        decided_by: "bridge".into(),
                        reason: "the bridge stopped while this was held".into(),
                    },
                },
                () = tokio::time::sleep_until(deadline) => {
                    // The timer fired for this deadline: expire what is due by it (a clock
                    // a millisecond behind must not postpone the expiry).
                    let now = tracker::unix_millis_now().max(expires_at);
                    let effects = self.with_tracker(move |t| t.expire_due(now)).await??;
                    self.route(effects).await;
                    // Our settlement is in `rx` now (or comes from whoever settled first).
                    let settled = (&mut rx).await;
                    break settled.unwrap_or(Settlement::Refused {
                        outcome: Outcome::Expired,
                        decided_by: "timeout".into(),
                        reason: "nobody answered in time".into(),
                    });
                }
                () = &mut elicitation => {}
            }
        };
        if matches!(settlement, Settlement::Proceed { .. })
            && let Some(progress) = &caller.progress
        {
            progress(HoldProgress::Released).await;
        }
        Ok(settlement)
    }

    /// Routes what a step of the tracker changed: the event stream and the panes hear of
    /// every closed approval and settled transfer, and held writes get their settlement.
    async fn route(&self, effects: Effects) {
        for r in &effects.resolved {
            self.events.publish(BridgeEvent::ApprovalResolved {
                approval_id: r.id.clone(),
                write_id: r.write_id.to_string(),
                flow_id: r.flow_id,
                state: r.state.as_str().to_string(),
                decided_by: r.decided_by.clone(),
                scope: r.scope.as_str().to_string(),
                reason: r.reason.clone(),
                at: r.at,
            });
            let settled = json!({
                "approval_id": r.id,
                "write_id": r.write_id,
                "flow_id": r.flow_id,
                "state": r.state.as_str(),
                "decided_by": r.decided_by,
                "scope": r.scope.as_str(),
                "reason": r.reason,
            });
            // The target's panes drop the card (it may have been answered elsewhere).
            self.notify_documents(&[&r.target.0], "approval.resolved", &settled)
                .await;
        }
        self.route_outcomes(&effects.outcomes).await;
        for s in effects.settled {
            if let Some(tx) = lock(&self.waiters).remove(&s.write_id) {
                let _ = tx.send(s.settlement);
            }
        }
    }

    /// Tells every surface how transfers ended: the event stream, and the panes of both
    /// the source and the target document.
    async fn route_outcomes(&self, outcomes: &[FlowOutcome]) {
        for o in outcomes {
            let event = outcome_event(o);
            let mut params = json!(event);
            if let Some(m) = params.as_object_mut() {
                m.remove("type");
            }
            self.events.publish(event);
            self.notify_documents(&[&o.source.0, &o.target.0], "flow.outcome", &params)
                .await;
        }
    }
}

/// A flow's final outcome as the event stream and the panes carry it.
fn outcome_event(o: &FlowOutcome) -> BridgeEvent {
    BridgeEvent::FlowOutcome {
        flow_id: o.flow_id,
        write_id: o.write_id.to_string(),
        outcome: o.outcome,
        written: o.written,
        decided_by: o.decided_by.clone(),
        reason: o.reason.clone(),
        at: o.at,
    }
}

/// Counts a call inside `hold` for as long as it is there.
struct HoldingCount<'a>(&'a AtomicUsize);

impl Drop for HoldingCount<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Withdraws a held write whose call went away before it was settled (the agent's request
/// was cancelled or its connection dropped): its approvals close, so a late answer finds
/// nothing to approve.
struct HoldGuard {
    gate: Arc<Gate>,
    write_id: WriteId,
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        if lock(&self.gate.waiters).remove(&self.write_id).is_none() {
            return; // settled
        }
        let (gate, write_id) = (self.gate.clone(), self.write_id.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                match gate
                    .with_tracker(move |t| t.withdraw(&write_id, tracker::unix_millis_now()))
                    .await
                {
                    Ok(Ok(effects)) => gate.route(effects).await,
                    Ok(Err(e)) => tracing::warn!("recording a withdrawn write: {e}"),
                    Err(e) => tracing::warn!("withdrawing a write: {e}"),
                }
            });
        }
    }
}

/// What an approval holds, as events name it.
fn held_action(approval: &HeldApproval) -> HeldAction {
    match &approval.subject {
        HeldSubject::Transfer {
            flow_id,
            flow,
            decision,
        } => {
            let mut summary = FlowSummary::new(*flow_id, flow, decision);
            summary.write_id = Some(approval.write_id.to_string());
            HeldAction::Flow {
                flow: Box::new(summary),
            }
        }
        HeldSubject::Deletion { what, .. } => HeldAction::Deletion { what: what.clone() },
    }
}

/// An approval as the panes, the monitor and `GET /v1/approvals` show it.
fn approval_request(approval: &HeldApproval) -> Value {
    let held = held_action(approval);
    let (line, flow) = match (&held, &approval.subject) {
        (HeldAction::Flow { flow }, _) => (flow.line.clone(), json!(flow)),
        (HeldAction::Deletion { what }, HeldSubject::Deletion { decision, .. }) => (
            format!("delete {what} from {}", approval.target.name),
            json!({"what": what, "target": {"name": approval.target.name}, "location": what, "why": decision.why, "reason": decision.reason}),
        ),
        (HeldAction::Deletion { what }, _) => (what.clone(), json!({"what": what})),
    };
    json!({
        "approval_id": approval.id,
        "write_id": approval.write_id,
        "flow_id": approval.flow_id(),
        "target": DocumentSummary::from(&approval.target),
        "held": held,
        "flow": flow,
        "created_at": approval.created_at,
        "expires_at": approval.expires_at,
        "line": line,
    })
}

/// Why a held write was refused, in the words the agent relays.
fn refusal_words(outcome: Outcome, decided_by: &str, reason: &str) -> String {
    match (outcome, decided_by) {
        (Outcome::Denied, "pane" | "desktop" | "elicitation") => {
            format!("the person denied it (answered {})", who_words(decided_by))
        }
        (Outcome::Denied, "standing choice") => {
            format!("the person chose to always block this ({reason})")
        }
        (Outcome::Expired, "bridge") => "office-bridge stopped while it was held for approval, so nothing was written; ask again once the bridge is back".to_string(),
        _ => reason.to_string(),
    }
}

/// The words for a blocked write: every blocked flow, where from, and why.
fn blocked_message(flows: &[FlowSummary]) -> String {
    let blocked: Vec<String> = flows
        .iter()
        .filter(|f| f.decision == Action::Block)
        .map(|f| {
            format!(
                "{} ({}, {}): {}",
                f.line,
                match f.sensitivity {
                    Sensitivity::Confidential => "confidential",
                    Sensitivity::Normal => "not marked sensitive",
                },
                if f.explicit {
                    "copied by reference"
                } else {
                    "found in the content"
                },
                f.reason
            )
        })
        .collect();
    format!(
        "Blocked, nothing was written. {}. Tell the person what was blocked and why; they or their administrator decide whether such transfers are allowed.",
        blocked.join("; ")
    )
}
