//! Checking a write or a deletion and carrying out the decision: the verdict, the
//! passage a write goes through once allowed, and the words an agent gets when refused.

use std::sync::Arc;

use tracker::approvals::{FlowOutcome, Outcome, Settlement, WriteId, who_words};
use tracker::{Action, Decision, DocumentRef, Sensitivity, UnixMillis, WriteContent};

use super::holds::Caller;
use super::{Gate, GateError};
use crate::events::FlowSummary;

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
    /// The write's own decision when it comes after a read that returned instruction-like
    /// text (`flows.after_flagged_instructions`), for the result to say so.
    pub after_instructions: Option<Box<Decision>>,
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

/// Why a held write was refused, in the words the agent relays.
pub(super) fn refusal_words(outcome: Outcome, decided_by: &str, reason: &str) -> String {
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

/// The words for a blocked write: every blocked flow, where from, and why, and the
/// write's own decision when it blocked too.
pub(super) fn blocked_message(flows: &[FlowSummary], own: Option<&Decision>) -> String {
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
        .chain(
            own.filter(|d| d.action == Action::Block)
                .map(|d| d.reason.clone()),
        )
        .collect();
    format!(
        "Blocked, nothing was written. {}. Tell the person what was blocked and why; they or their administrator decide whether such transfers are allowed.",
        blocked.join("; ")
    )
}

impl Gate {
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
        let sketch = super::routing::WriteSketch::of(&write);
        let check = self
            .with_tracker(move |t| t.check_write(&write, at, expires_at))
            .await??;
        let action = check.action();
        let own = check.after_instructions.clone();
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
                after_instructions: own.clone().map(Box::new),
                finished: false,
            })),
            Action::Block => {
                self.route_outcomes(&check.outcomes).await;
                Ok(Verdict::Refused {
                    message: blocked_message(&summaries, own.as_ref()),
                    flows: summaries,
                })
            }
            Action::Ask => {
                let settlement = self
                    .hold(
                        &check.write_id,
                        &target,
                        check.held,
                        expires_at,
                        caller,
                        Some(sketch),
                    )
                    .await?;
                match settlement {
                    Settlement::Proceed { approvals } => Ok(Verdict::Proceed(Passage {
                        gate: self.clone(),
                        write_id: check.write_id,
                        target,
                        flows: summaries,
                        approvals,
                        after_instructions: own.clone().map(Box::new),
                        finished: false,
                    })),
                    Settlement::Refused {
                        outcome,
                        decided_by,
                        reason,
                    } => {
                        Ok(Verdict::Refused {
                            message: format!(
                                "Not written: {}. Held: {}.",
                                refusal_words(outcome, &decided_by, &reason),
                                summaries
                                    .iter()
                                    .filter(|s| s.decision == Action::Ask)
                                    .map(|s| s.line.clone())
                                    .chain(own.as_ref().filter(|d| d.action == Action::Ask).map(
                                        |_| super::routing::after_instructions_line(&target.name)
                                    ),)
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            ),
                            flows: summaries,
                        })
                    }
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
                after_instructions: None,
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
                    .hold(
                        &check.write_id,
                        target,
                        vec![held],
                        expires_at,
                        caller,
                        None,
                    )
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

    pub(super) async fn finish(
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
}
