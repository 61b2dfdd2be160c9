//! The gate: the one place where the agent's reads and writes meet the tracker, and where
//! its decisions are carried out. A read is labelled before the agent sees it; a write is
//! checked before anything is written, and then allowed, announced, held for the person's
//! approval, or refused. Approvals are single-use random ids that expire (fail closed) and
//! are accepted only from a pane of the target document, the authenticated event API, or
//! the agent's client (elicitation); the first answer wins.
//!
//! The tracker is synchronous (SQLite, fsync per decision), so every call into it runs on
//! the blocking pool; the map of pending approvals is a plain mutex never held across an
//! await.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tracker::store::{ApprovalState, NewApproval, StoreError, StoredFlow};
use tracker::{
    Action, CellRange, DocumentId, DocumentRef, Flow, ProvenanceId, ReadEvent, Sensitivity,
    Tracker, UnixMillis, WriteContent,
};

use crate::addin::registry::Registry;
use crate::events::{BridgeEvent, DocumentSummary, EventBus, FlowSummary, HeldAction};

/// How long a held transfer waits for the person before it is denied.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(120);

/// Who may answer, and how an answer is recorded in the audit chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decider {
    /// A pane of the target document.
    Pane,
    /// `POST /v1/approvals/{id}` (monitor page, notifications, scripts).
    Events,
    /// The agent's MCP client asked its user (elicitation).
    Elicitation,
}

impl Decider {
    pub fn as_str(self) -> &'static str {
        match self {
            Decider::Pane => "pane",
            Decider::Events => "events",
            Decider::Elicitation => "elicitation",
        }
    }
}

/// How far an answer reaches: this transfer, or every later one from the same source
/// into the same document ("Always for this deck").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Once,
    Document,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Once => "once",
            Scope::Document => "document",
        }
    }
}

/// The person's answer to an approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub allow: bool,
    pub scope: Scope,
    pub by: Decider,
}

/// Why an answer was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    #[error("no pending approval {0:?}: it was already answered, it expired, or it never existed")]
    Unknown(String),
    #[error(
        "approval {id:?} is for {target}; only a pane of that document, the event API or the agent's client may answer it"
    )]
    WrongDocument { id: String, target: String },
}

/// A failure of the gate itself (the store), never of the person's choices.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("the tracker's store failed: {0}")]
    Store(#[from] StoreError),
    #[error("the tracker task failed: {0}")]
    Task(String),
}

/// Asks the agent's client to let its user decide (MCP elicitation). Resolves to the
/// user's answer, or `None` when the client cannot or did not answer.
pub type Elicit = Box<dyn FnOnce(String) -> BoxFuture<'static, Option<bool>> + Send>;

/// What the gate says of a write or a deletion.
#[derive(Debug)]
pub enum Verdict {
    /// Write it, then call [`Gate::landed`].
    Proceed(Passage),
    /// Nothing may be written. The message says what, from where, and why, for the agent
    /// to tell the person.
    Refused {
        message: String,
        flows: Vec<FlowSummary>,
    },
}

/// Leave to write, with what the write carries.
#[derive(Debug)]
pub struct Passage {
    pub target: DocumentRef,
    pub flows: Vec<FlowSummary>,
    /// Approvals this write needed, with who allowed them.
    pub approvals: Vec<(String, Decider)>,
}

impl Passage {
    /// The flows as the tool result shows them.
    pub fn flows_json(&self) -> Value {
        json!(self.flows)
    }
}

struct Pending {
    target: DocumentRef,
    reply: oneshot::Sender<Answer>,
    /// Shown by `pending()` (monitor page) so an approval can be answered there.
    request: Value,
}

pub struct Gate {
    tracker: Arc<Mutex<Tracker>>,
    pending: Mutex<HashMap<String, Pending>>,
    events: EventBus,
    registry: Arc<Registry>,
    /// Milliseconds; the administrator's policy may change it while running.
    approval_timeout_ms: AtomicU64,
}

fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as UnixMillis)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated in a way that
    // matters more than stopping the bridge would.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn new_approval_id() -> String {
    format!("apr_{}", uuid::Uuid::new_v4().simple())
}

impl Gate {
    pub fn new(
        tracker: Tracker,
        events: EventBus,
        registry: Arc<Registry>,
        approval_timeout: Duration,
    ) -> Self {
        Gate {
            tracker: Arc::new(Mutex::new(tracker)),
            pending: Mutex::new(HashMap::new()),
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
    pub async fn with_tracker<R, F>(&self, f: F) -> Result<R, GateError>
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

    /// Checks a write before anything is written and carries out the decision: allow and
    /// notify proceed (the panes and the event stream are told of every flow), ask waits
    /// for the person, block refuses. The flows and decisions are durable before this
    /// returns, and so is every approval's answer.
    pub async fn check_write(
        &self,
        write: WriteContent,
        elicit: Option<Elicit>,
    ) -> Result<Verdict, GateError> {
        let at = now_millis();
        let expires_at = at + self.approval_timeout().as_millis() as UnixMillis;
        let target = write.target.clone();
        // The tracker opens one approval per held flow, in flow order; the ids are kept
        // here in the same order.
        let (check, approval_ids) = self
            .with_tracker(move |t| {
                let mut ids = Vec::new();
                let check = t.check_write(&write, at, &mut |_flow: &Flow| {
                    let id = new_approval_id();
                    ids.push(id.clone());
                    NewApproval { id, expires_at }
                });
                check.map(|c| (c, ids))
            })
            .await??;
        let action = check.action();
        let summaries: Vec<FlowSummary> = check
            .flows
            .iter()
            .map(|c| FlowSummary::new(c.flow_id, &c.flow, &c.decision))
            .collect();
        for s in &summaries {
            self.announce_flow(s, at).await;
        }
        match action {
            Action::Allow | Action::Notify => Ok(Verdict::Proceed(Passage {
                target,
                flows: summaries,
                approvals: Vec::new(),
            })),
            Action::Block => Ok(Verdict::Refused {
                message: blocked_message(&summaries),
                flows: summaries,
            }),
            Action::Ask => {
                let held: Vec<(String, HeldAction, Option<DocumentId>)> = summaries
                    .iter()
                    .filter(|s| s.decision == Action::Ask)
                    .zip(approval_ids)
                    .map(|(s, id)| {
                        (
                            id,
                            HeldAction::Flow {
                                flow: Box::new(s.clone()),
                            },
                            Some(DocumentId(s.source.id.clone())),
                        )
                    })
                    .collect();
                let outcome = self.hold(&target, held, expires_at, elicit).await?;
                match outcome {
                    Held::Allowed(approvals) => Ok(Verdict::Proceed(Passage {
                        target,
                        flows: summaries,
                        approvals,
                    })),
                    Held::Refused(why) => Ok(Verdict::Refused {
                        message: format!(
                            "Not written: {why}. Held: {}.",
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
        &self,
        target: &DocumentRef,
        what: &str,
        elicit: Option<Elicit>,
    ) -> Result<Verdict, GateError> {
        let at = now_millis();
        let expires_at = at + self.approval_timeout().as_millis() as UnixMillis;
        let (doc, what_owned) = (target.clone(), what.to_string());
        let (decision, approval) = self
            .with_tracker(move |t| {
                t.check_deletion(&doc, &what_owned, at, &mut || NewApproval {
                    id: new_approval_id(),
                    expires_at,
                })
            })
            .await??;
        let passage = || Passage {
            target: target.clone(),
            flows: Vec::new(),
            approvals: Vec::new(),
        };
        match (decision.action, approval) {
            (Action::Allow | Action::Notify, _) => Ok(Verdict::Proceed(passage())),
            (Action::Block, _) | (Action::Ask, None) => Ok(Verdict::Refused {
                message: format!(
                    "Not deleted: deleting {what} from {} is blocked: {}",
                    target.name, decision.reason
                ),
                flows: Vec::new(),
            }),
            (Action::Ask, Some(approval)) => {
                let held = vec![(
                    approval.id,
                    HeldAction::Deletion {
                        what: what.to_string(),
                    },
                    None,
                )];
                match self.hold(target, held, expires_at, elicit).await? {
                    Held::Allowed(approvals) => Ok(Verdict::Proceed(Passage {
                        approvals,
                        ..passage()
                    })),
                    Held::Refused(why) => Ok(Verdict::Refused {
                        message: format!(
                            "Not deleted: {why} (deleting {what} from {})",
                            target.name
                        ),
                        flows: Vec::new(),
                    }),
                }
            }
        }
    }

    /// Records in the audit chain that a write (or deletion) the gate let through has
    /// landed, so the chain shows every change made, not only every decision.
    pub async fn landed(
        &self,
        passage: &Passage,
        tool: &str,
        location: &str,
    ) -> Result<(), GateError> {
        let body = json!({
            "tool": tool,
            "document": passage.target.name,
            "document_id": passage.target.id.0,
            "location": location,
            "flow_ids": passage.flows.iter().map(|f| f.flow_id).collect::<Vec<_>>(),
            "approvals": passage.approvals.iter().map(|(id, by)| json!({"id": id, "by": by.as_str()})).collect::<Vec<_>>(),
        });
        self.with_tracker(move |t| t.audit(now_millis(), tracker::audit::kinds::WRITE, &body))
            .await??;
        Ok(())
    }

    /// Answers a pending approval. `from_document` is the document of the pane that
    /// answers (None for the event API and elicitation, which are authenticated by the
    /// token and by the agent's own session). The answer is recorded by the waiting write.
    pub fn answer(
        &self,
        approval_id: &str,
        answer: Answer,
        from_document: Option<&DocumentId>,
    ) -> Result<(), ApprovalError> {
        let mut pending = lock(&self.pending);
        let entry = pending
            .get(approval_id)
            .ok_or_else(|| ApprovalError::Unknown(approval_id.chars().take(80).collect()))?;
        if let Some(doc) = from_document
            && *doc != entry.target.id
        {
            return Err(ApprovalError::WrongDocument {
                id: approval_id.to_string(),
                target: entry.target.name.clone(),
            });
        }
        let entry = pending
            .remove(approval_id)
            .expect("checked above under the same lock");
        // Sent under the lock: a waiter that finds the entry gone knows the answer is
        // already in its channel.
        let _ = entry.reply.send(answer);
        Ok(())
    }

    /// The approvals waiting for an answer, as their requests were announced.
    pub fn pending(&self) -> Vec<Value> {
        lock(&self.pending)
            .values()
            .map(|p| p.request.clone())
            .collect()
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
            t.set_label(&document, &sheet, range, sensitivity, "pane", now_millis())
        })
        .await??;
        Ok(())
    }

    pub async fn recent_flows(&self, limit: usize) -> Result<Vec<StoredFlow>, GateError> {
        Ok(self
            .with_tracker(move |t| t.store().recent_flows(limit))
            .await??)
    }

    /// Tells the event stream, the target's pane and the source's panes of a flow.
    async fn announce_flow(&self, flow: &FlowSummary, at: UnixMillis) {
        self.events.publish(BridgeEvent::Flow {
            flow: flow.clone(),
            at,
        });
        let params = json!(flow);
        for session in self.registry.list() {
            if session.connected
                && (session.document.id.0 == flow.target.id
                    || session.document.id.0 == flow.source.id)
            {
                self.registry
                    .notify(&session.session_id, "flow.notice", &params)
                    .await;
            }
        }
    }

    /// Holds a write for the person: opens each approval (pane of the target, event
    /// stream, and the agent's client when it can ask), waits for the first answer to
    /// each, and records every outcome before returning. One denial refuses the write;
    /// the write's other approvals are then closed as denied too.
    async fn hold(
        &self,
        target: &DocumentRef,
        held: Vec<(String, HeldAction, Option<DocumentId>)>,
        expires_at: UnixMillis,
        elicit: Option<Elicit>,
    ) -> Result<Held, GateError> {
        let mut waiting = Vec::new();
        let mut lines = Vec::new();
        {
            let mut pending = lock(&self.pending);
            for (id, action, source) in &held {
                let (tx, rx) = oneshot::channel();
                let line = match action {
                    HeldAction::Flow { flow } => flow.line.clone(),
                    HeldAction::Deletion { what } => format!("delete {what} from {}", target.name),
                };
                let request = json!({
                    "approval_id": id,
                    "target": DocumentSummary::from(target),
                    "held": action,
                    "flow": match action { HeldAction::Flow { flow } => json!(flow), HeldAction::Deletion { what } => json!({"what": what, "target": {"name": target.name}, "location": what, "reason": "deletions need your permission"}) },
                    "expires_at": expires_at,
                    "line": line,
                });
                pending.insert(
                    id.clone(),
                    Pending {
                        target: target.clone(),
                        reply: tx,
                        request,
                    },
                );
                waiting.push((id.clone(), rx, source.clone()));
                lines.push(line);
            }
        }
        let guard = PendingGuard {
            gate: self,
            ids: held.iter().map(|(id, ..)| id.clone()).collect(),
        };
        // `lines` was filled in `held`'s order above.
        for ((id, action, _), line) in held.iter().zip(&lines) {
            self.events.publish(BridgeEvent::ApprovalRequested {
                approval_id: id.clone(),
                target: target.into(),
                held: action.clone(),
                expires_at,
                line: line.clone(),
            });
            let request = lock(&self.pending).get(id).map(|p| p.request.clone());
            if let Some(request) = request {
                for session in self.registry.list() {
                    if session.connected && session.document.id == target.id {
                        self.registry
                            .notify(&session.session_id, "approval.request", &request)
                            .await;
                    }
                }
            }
        }
        if let Some(elicit) = elicit {
            let question = format!(
                "office-bridge holds a transfer for your approval: {}. Allow it?",
                lines.join("; ")
            );
            let ids: Vec<String> = held.iter().map(|(id, ..)| id.clone()).collect();
            let future = elicit(question);
            // The elicitation races the panes and the event API; whoever answers first
            // wins, later answers find the approval gone.
            let elicitation = async move {
                if let Some(allow) = future.await {
                    for id in &ids {
                        let _ = self.answer(
                            id,
                            Answer {
                                allow,
                                scope: Scope::Once,
                                by: Decider::Elicitation,
                            },
                            None,
                        );
                    }
                }
                std::future::pending::<()>().await
            };
            return self
                .wait_all(
                    target,
                    waiting,
                    expires_at,
                    guard,
                    Some(Box::pin(elicitation)),
                )
                .await;
        }
        self.wait_all(target, waiting, expires_at, guard, None)
            .await
    }

    async fn wait_all(
        &self,
        target: &DocumentRef,
        waiting: Vec<(String, oneshot::Receiver<Answer>, Option<DocumentId>)>,
        expires_at: UnixMillis,
        guard: PendingGuard<'_>,
        elicitation: Option<BoxFuture<'_, ()>>,
    ) -> Result<Held, GateError> {
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis((expires_at - now_millis()).max(0) as u64);
        let mut elicitation = elicitation.unwrap_or_else(|| Box::pin(std::future::pending()));
        let mut allowed = Vec::new();
        let mut refusal: Option<String> = None;
        for (id, mut rx, source) in waiting {
            let answer = if refusal.is_some() {
                None
            } else {
                tokio::select! {
                    a = &mut rx => a.ok(),
                    () = tokio::time::sleep_until(deadline) => None,
                    () = &mut elicitation => None,
                }
            };
            // The entry may have been answered just as the wait ended: the answer is then
            // already in the channel (it is sent under the map's lock).
            let answer = match answer {
                Some(a) => Some(a),
                None => {
                    let still_pending = lock(&self.pending).remove(&id).is_some();
                    if still_pending {
                        None
                    } else {
                        rx.try_recv().ok()
                    }
                }
            };
            let at = now_millis();
            let (state, by, scope) = match (answer, &refusal) {
                (Some(a), _) if a.allow => (ApprovalState::Allowed, a.by.as_str(), a.scope),
                (Some(a), _) => (ApprovalState::Denied, a.by.as_str(), a.scope),
                (None, Some(_)) => (ApprovalState::Denied, "bridge", Scope::Once),
                (None, None) => (ApprovalState::Expired, "timeout", Scope::Once),
            };
            let (rid, by_owned, src) = (id.clone(), by.to_string(), source.clone());
            let target_id = target.id.clone();
            self.with_tracker(move |t| -> Result<(), StoreError> {
                t.store_mut().resolve_approval(&rid, state, &by_owned, at)?;
                if scope == Scope::Document
                    && let Some(src) = src
                {
                    t.remember_choice(&src, &target_id, state == ApprovalState::Allowed, at)?;
                }
                Ok(())
            })
            .await??;
            self.events.publish(BridgeEvent::ApprovalResolved {
                approval_id: id.clone(),
                state: state.as_str().to_string(),
                decided_by: by.to_string(),
                scope: scope.as_str().to_string(),
                at,
            });
            // The target's panes drop the card (it may have been answered elsewhere).
            let settled = json!({
                "approval_id": id,
                "state": state.as_str(),
                "decided_by": by,
                "scope": scope.as_str(),
            });
            for session in self.registry.list() {
                if session.connected && session.document.id == target.id {
                    self.registry
                        .notify(&session.session_id, "approval.resolved", &settled)
                        .await;
                }
            }
            match state {
                ApprovalState::Allowed => {
                    let decider = answer.map(|a| a.by).unwrap_or(Decider::Events);
                    allowed.push((id, decider));
                }
                ApprovalState::Denied if refusal.is_none() => {
                    refusal = Some(format!(
                        "the person denied it (answered {})",
                        match answer.map(|a| a.by) {
                            Some(Decider::Pane) => "in the document's pane",
                            Some(Decider::Events) => "on the desktop",
                            Some(Decider::Elicitation) => "in your client",
                            None => "",
                        }
                    ));
                }
                ApprovalState::Expired if refusal.is_none() => {
                    refusal = Some(format!(
                        "nobody answered the approval within {} s, so it was denied",
                        self.approval_timeout().as_secs()
                    ));
                }
                _ => {}
            }
        }
        drop(guard);
        Ok(match refusal {
            Some(why) => Held::Refused(why),
            None => Held::Allowed(allowed),
        })
    }
}

enum Held {
    Allowed(Vec<(String, Decider)>),
    Refused(String),
}

/// Closes a write's approvals if the write is abandoned (the agent's request was
/// cancelled): a late answer then finds nothing to approve, and the store records the
/// approval as denied by the bridge.
struct PendingGuard<'a> {
    gate: &'a Gate,
    ids: Vec<String>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut abandoned = Vec::new();
        {
            let mut pending = lock(&self.gate.pending);
            for id in &self.ids {
                if pending.remove(id).is_some() {
                    abandoned.push(id.clone());
                }
            }
        }
        if abandoned.is_empty() {
            return;
        }
        let tracker = self.gate.tracker.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn_blocking(move || {
                let ticket = {
                    let mut t = lock(&tracker);
                    for id in abandoned {
                        let _ = t.store_mut().resolve_approval(
                            &id,
                            ApprovalState::Denied,
                            "bridge: the request was cancelled",
                            now_millis(),
                        );
                    }
                    t.commit_ticket()
                };
                if let Err(e) = ticket.wait() {
                    tracing::warn!("recording cancelled approvals: {e}");
                }
            });
        }
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
