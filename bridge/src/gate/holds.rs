//! Holding a write for the person: announcing each approval, waiting for the tracker to
//! settle it (or the call to go away), answers from panes and the desktop, and the
//! shutdown that refuses what is still held.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::oneshot;

use tracker::approvals::{Answer, HeldApproval, Outcome, Scope, Settlement, Who, WriteId};
use tracker::{DocumentId, DocumentRef, UnixMillis};

use super::routing::{WriteSketch, approval_request, held_action, held_action_words};
use super::{AnswerRefused, Gate, GateError, lock};
use crate::events::BridgeEvent;

/// Asks the agent's client to let its user decide (MCP elicitation). Resolves to the
/// user's answer, or `None` when the client cannot or did not answer.
pub type Elicit = Box<dyn FnOnce(String) -> BoxFuture<'static, Option<bool>> + Send>;

/// Tells the agent's client how its call stands while it waits (MCP progress).
pub type Progress = Arc<dyn Fn(HoldProgress) -> BoxFuture<'static, ()> + Send + Sync>;

/// Where a held call stands, for the agent's client. Times are milliseconds: `waited` since
/// the call was held, `total` from then to the deadline.
#[derive(Clone, Debug, PartialEq)]
pub enum HoldProgress {
    /// Held for the person: what, in which document, and until when (unix ms).
    Held {
        target: String,
        line: String,
        expires_at: UnixMillis,
        total: u64,
    },
    /// Still waiting for the person (sent every [`waiting_every`] while held).
    Waiting {
        target: String,
        waited: u64,
        total: u64,
    },
    /// Allowed: it is being written now.
    Released { waited: u64, total: u64 },
}

/// How often a held call tells its client it is still waiting: every 10 s, more often for
/// short holds (a sixth of the wait, at least a second), so a client shows a live countdown.
pub fn waiting_every(total: Duration) -> Duration {
    (total / 6).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// How a held call reaches the agent's client.
#[derive(Default)]
pub struct Caller {
    pub elicit: Option<Elicit>,
    pub progress: Option<Progress>,
}

/// Counts a call inside `hold` for as long as it is there.
pub(super) struct HoldingCount<'a>(&'a AtomicUsize);

impl Drop for HoldingCount<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Forgets a held write's sketch once it is no longer held, however `hold` ends.
pub(super) struct SketchGuard<'a> {
    gate: &'a Gate,
    write_id: WriteId,
}

impl Drop for SketchGuard<'_> {
    fn drop(&mut self) {
        lock(&self.gate.sketches).remove(&self.write_id);
    }
}

/// Withdraws a held write whose call went away before it was settled (the agent's request
/// was cancelled or its connection dropped): its approvals close, so a late answer finds
/// nothing to approve.
pub(super) struct HoldGuard {
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

impl Gate {
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
        let sketches = lock(&self.sketches);
        Ok(open
            .iter()
            .map(|a| approval_request(a, sketches.get(&a.write_id)))
            .collect())
    }

    /// The approvals waiting for an answer in one document (what its pane reconciles its
    /// cards with when it reconnects).
    pub async fn pending_for(&self, document: DocumentId) -> Result<Vec<Value>, GateError> {
        let open = self.read_tracker(|t| t.open_approvals()).await?;
        let sketches = lock(&self.sketches);
        Ok(open
            .iter()
            .filter(|a| a.target.id == document)
            .map(|a| approval_request(a, sketches.get(&a.write_id)))
            .collect())
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

    /// Holds a write for the person: announces each approval (the target's pane, the event
    /// stream, the agent's client when it can ask), and waits until the tracker settles
    /// the write: every approval allowed, one denied, the deadline passed, or the bridge
    /// stopping. If the agent's call goes away first, the write is withdrawn.
    pub(super) async fn hold(
        self: &Arc<Self>,
        write_id: &WriteId,
        target: &DocumentRef,
        held: Vec<HeldApproval>,
        expires_at: UnixMillis,
        caller: Caller,
        sketch: Option<WriteSketch>,
    ) -> Result<Settlement, GateError> {
        let (tx, mut rx) = oneshot::channel();
        // Registered before anyone learns the approval ids, so no answer can come first.
        lock(&self.waiters).insert(write_id.clone(), tx);
        if let Some(s) = &sketch {
            lock(&self.sketches).insert(write_id.clone(), s.clone());
        }
        let _sketch = SketchGuard {
            gate: self,
            write_id: write_id.clone(),
        };
        let _guard = HoldGuard {
            gate: self.clone(),
            write_id: write_id.clone(),
        };
        let mut lines = Vec::new();
        for approval in &held {
            let request = approval_request(approval, sketch.as_ref());
            let line = request["line"].as_str().unwrap_or_default().to_string();
            self.events.publish(BridgeEvent::ApprovalRequested {
                approval_id: approval.id.clone(),
                write_id: approval.write_id.to_string(),
                flow_id: approval.flow_id(),
                target: target.into(),
                held: held_action(approval),
                action: held_action_words(approval, sketch.as_ref()),
                expires_at,
                line: line.clone(),
            });
            self.notify_documents(&[&target.id.0], "approval.request", &request)
                .await;
            lines.push(line);
        }
        let held_at = tokio::time::Instant::now();
        let total = Duration::from_millis((expires_at - tracker::unix_millis_now()).max(0) as u64);
        let ms = |d: Duration| d.as_millis() as u64;
        if let Some(progress) = &caller.progress {
            progress(HoldProgress::Held {
                target: target.name.clone(),
                line: lines.join("; "),
                expires_at,
                total: ms(total),
            })
            .await;
        }
        let mut ticks =
            tokio::time::interval_at(held_at + waiting_every(total), waiting_every(total));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
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
        let deadline = held_at + total;
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
                _ = ticks.tick(), if caller.progress.is_some() => {
                    if let Some(progress) = &caller.progress {
                        progress(HoldProgress::Waiting {
                            target: target.name.clone(),
                            waited: ms(held_at.elapsed()),
                            total: ms(total),
                        })
                        .await;
                    }
                }
            }
        };
        if matches!(settlement, Settlement::Proceed { .. })
            && let Some(progress) = &caller.progress
        {
            progress(HoldProgress::Released {
                waited: ms(held_at.elapsed()),
                total: ms(total),
            })
            .await;
        }
        Ok(settlement)
    }
}
