//! Telling everyone what changed: the event stream, the panes of the documents
//! involved, and the shape of an approval as the surfaces show it.

use serde_json::{Value, json};

use tracker::approvals::{Effects, FlowOutcome, HeldApproval, HeldSubject};
use tracker::{App, UnixMillis, WriteContent, WritePart};

use super::{Gate, lock};
use crate::events::{BridgeEvent, DocumentSummary, FlowSummary, HeldAction};

/// A flow's final outcome as the event stream and the panes carry it.
pub(super) fn outcome_event(o: &FlowOutcome) -> BridgeEvent {
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

/// What an approval holds, as events name it.
pub(super) fn held_action(approval: &HeldApproval) -> HeldAction {
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
        HeldSubject::Deletion { what, decision } => HeldAction::Deletion {
            what: what.clone(),
            why: decision.why.clone(),
            reason: decision.reason.clone(),
        },
        HeldSubject::AfterInstructions { decision } => HeldAction::AfterInstructions {
            why: decision.why.clone(),
            reason: decision.reason.clone(),
        },
    }
}

/// What a held write would do, for the person deciding: in words for a card's headline
/// ("add a table to slide 2"), and the first cells or text it writes. Kept by the gate only
/// while the write is held: the panes' `approval.request` and `GET /v1/approvals` carry it,
/// the event stream and the audit chain never do (they carry no cell value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteSketch {
    /// One action per place written (`location`, words), in the write's order.
    pub actions: Vec<(String, String)>,
    /// Up to [`PREVIEW_ROWS`] rows of up to [`PREVIEW_COLUMNS`] cells, each at most
    /// [`PREVIEW_CHARS`] characters, of the first part written.
    pub preview: Vec<Vec<String>>,
    /// True when the write holds more than the preview shows.
    pub more: bool,
}

pub const PREVIEW_ROWS: usize = 5;
pub const PREVIEW_COLUMNS: usize = 6;
pub const PREVIEW_CHARS: usize = 40;

fn clip(text: &str, max: usize) -> (String, bool) {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() <= max {
        (t, false)
    } else {
        (
            format!("{}…", t.chars().take(max - 1).collect::<String>()),
            true,
        )
    }
}

impl WriteSketch {
    pub fn of(write: &WriteContent) -> Self {
        let deck = write.target.app == App::Powerpoint;
        let mut actions: Vec<(String, String)> = write
            .parts
            .iter()
            .map(|p| {
                let location = p.location().to_string();
                let words = match (p, deck) {
                    (WritePart::Table { .. }, true) => format!("add a table to {location}"),
                    (WritePart::Text { .. }, true) => format!("add text to {location}"),
                    (_, false) => format!("write to {location}"),
                };
                (location, words)
            })
            .collect();
        for s in &write.explicit_sources {
            if !actions.iter().any(|(l, _)| *l == s.location) {
                let words = if deck {
                    format!("insert a chart picture on {}", s.location)
                } else {
                    format!("copy cells into {}", s.location)
                };
                actions.push((s.location.clone(), words));
            }
        }
        let (preview, more) = match write.parts.first() {
            Some(WritePart::Table { rows, .. }) => {
                let mut more = rows.len() > PREVIEW_ROWS;
                let preview = rows
                    .iter()
                    .take(PREVIEW_ROWS)
                    .map(|row| {
                        more |= row.len() > PREVIEW_COLUMNS;
                        row.iter()
                            .take(PREVIEW_COLUMNS)
                            .map(|c| {
                                let (cell, cut) = clip(c, PREVIEW_CHARS);
                                more |= cut;
                                cell
                            })
                            .collect()
                    })
                    .collect();
                (preview, more)
            }
            Some(WritePart::Text { text, .. }) => {
                let (t, cut) = clip(text, PREVIEW_CHARS * 4);
                (vec![vec![t]], cut)
            }
            None => (Vec::new(), false),
        };
        WriteSketch {
            actions,
            preview,
            more: more || write.parts.len() > 1,
        }
    }

    /// The action at `location`, else the write's first.
    fn action_at(&self, location: &str) -> Option<&str> {
        self.actions
            .iter()
            .find(|(l, _)| l == location)
            .or(self.actions.first())
            .map(|(_, w)| w.as_str())
    }

    fn first_action(&self) -> Option<&str> {
        self.actions.first().map(|(_, w)| w.as_str())
    }
}

/// What the held approval asks to do, in words: "add a table to slide 2", "delete slide 2".
pub(super) fn held_action_words(
    approval: &HeldApproval,
    sketch: Option<&WriteSketch>,
) -> Option<String> {
    match &approval.subject {
        HeldSubject::Transfer { flow, .. } => sketch
            .and_then(|s| s.action_at(&flow.location))
            .map(str::to_string),
        HeldSubject::Deletion { what, .. } => Some(format!("delete {what}")),
        HeldSubject::AfterInstructions { .. } => {
            sketch.and_then(|s| s.first_action()).map(str::to_string)
        }
    }
}

/// A write held because it comes after instruction-like text, in one line.
pub(super) fn after_instructions_line(target: &str) -> String {
    format!("write to {target} after the agent read text that looks like instructions aimed at it")
}

/// An approval as the panes, the monitor and `GET /v1/approvals` show it: with what the
/// held write would do (`action`) and a preview of what it writes (`preview`), when the
/// gate still holds the write's sketch.
pub(super) fn approval_request(approval: &HeldApproval, sketch: Option<&WriteSketch>) -> Value {
    let held = held_action(approval);
    let (line, flow) = match &held {
        HeldAction::Flow { flow } => (flow.line.clone(), json!(flow)),
        HeldAction::Deletion { what, why, reason } => (
            format!("delete {what} from {}", approval.target.name),
            json!({"what": what, "target": {"name": approval.target.name}, "location": what, "why": why, "reason": reason}),
        ),
        HeldAction::AfterInstructions { why, reason } => (
            after_instructions_line(&approval.target.name),
            json!({"target": {"name": approval.target.name}, "why": why, "reason": reason}),
        ),
    };
    let mut request = json!({
        "approval_id": approval.id,
        "write_id": approval.write_id,
        "flow_id": approval.flow_id(),
        "target": DocumentSummary::from(&approval.target),
        "held": held,
        "flow": flow,
        "created_at": approval.created_at,
        "expires_at": approval.expires_at,
        "line": line,
    });
    if let Some(action) = held_action_words(approval, sketch) {
        request["action"] = json!(action);
    }
    if let Some(s) = sketch.filter(|s| !s.preview.is_empty())
        && !matches!(approval.subject, HeldSubject::Deletion { .. })
    {
        request["preview"] = json!({"rows": s.preview, "more": s.more});
    }
    request
}

impl Gate {
    /// Tells the event stream, the target's pane and the source's panes of a flow.
    pub(super) async fn announce_flow(&self, flow: &FlowSummary, at: UnixMillis) {
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
    pub(super) async fn notify_documents(&self, documents: &[&str], method: &str, params: &Value) {
        for session in self
            .registry
            .matching(|s| s.connected && documents.contains(&s.document.id.0.as_str()))
        {
            self.registry
                .notify(&session.session_id, method, params)
                .await;
        }
    }

    /// Routes what a step of the tracker changed: the event stream and the panes hear of
    /// every closed approval and settled transfer, and held writes get their settlement.
    pub(super) async fn route(&self, effects: Effects) {
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
    pub(super) async fn route_outcomes(&self, outcomes: &[FlowOutcome]) {
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
