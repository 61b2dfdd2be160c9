//! The bridge's internal event bus. Every surface that shows what happens (the event
//! stream, the monitor page, the panes, notifications) subscribes here, so each event is
//! produced at one place and seen the same way everywhere. No event carries a cell value:
//! events say where data came from and went, never what it was.

use serde::Serialize;
use tokio::sync::broadcast;
use tracker::{App, CellAddr, CellRange, Decision, DocumentRef, Flow, UnixMillis};

use crate::session::SessionInfo;

/// A document as events name it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DocumentSummary {
    pub app: App,
    pub name: String,
    pub id: String,
}

impl From<&DocumentRef> for DocumentSummary {
    fn from(d: &DocumentRef) -> Self {
        DocumentSummary {
            app: d.app,
            name: d.name.clone(),
            id: d.id.0.clone(),
        }
    }
}

/// One flow with its decision, as every surface shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowSummary {
    pub flow_id: i64,
    pub source: DocumentSummary,
    pub sheet: String,
    /// Bounding range of the matched cells ("B2:D5"), or "" when none.
    pub cells: String,
    pub cell_count: usize,
    pub target: DocumentSummary,
    pub location: String,
    pub matched: usize,
    pub confidence: f64,
    pub strength: tracker::FlowStrength,
    pub sensitivity: tracker::Sensitivity,
    /// Copied by reference (`from_range`, a chart), not found by detection.
    pub explicit: bool,
    pub decision: tracker::Action,
    /// Why, as data: which rule, which sensitivity and from whom, which standing choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<tracker::DecisionWhy>,
    /// The decision's reason, in words (rendered by the tracker from `why`).
    pub reason: String,
    /// The one line a notification shows.
    pub line: String,
    /// The write this transfer is part of (its flows share it).
    pub write_id: Option<String>,
    /// How it ended: `pending` until the write is settled (see docs/events.md).
    pub outcome: tracker::approvals::Outcome,
    /// Whether the write landed: null while pending, or when it cannot be known.
    pub written: Option<bool>,
    /// The earlier writes into the target joined with this one to find the flow (a
    /// trickle of writes, see tracker::trail); absent when this write alone carried it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joined_writes: Vec<String>,
}

impl FlowSummary {
    pub fn new(flow_id: i64, flow: &Flow, decision: &Decision) -> Self {
        let cells = bounding(&flow.cells);
        let line = format!(
            "{} value{} from {} > {}{} {} {} {}{}",
            flow.matched,
            if flow.matched == 1 { "" } else { "s" },
            flow.source.name,
            flow.sheet,
            if cells.is_empty() {
                String::new()
            } else {
                format!("!{cells}")
            },
            // Nothing moved when the write was blocked.
            if decision.action == tracker::Action::Block {
                "kept out of"
            } else {
                "moved into"
            },
            flow.target.name,
            flow.location,
            match flow.joined_writes.len() {
                0 => String::new(),
                1 => " (with the write before it)".to_string(),
                n => format!(" (with the {n} writes before it)"),
            }
        );
        FlowSummary {
            flow_id,
            source: (&flow.source).into(),
            sheet: flow.sheet.clone(),
            cells,
            cell_count: flow.cells.len(),
            target: (&flow.target).into(),
            location: flow.location.clone(),
            matched: flow.matched,
            confidence: flow.confidence,
            strength: flow.strength,
            sensitivity: flow.sensitivity.level,
            explicit: flow.explicit,
            decision: decision.action,
            why: decision.why.clone(),
            reason: decision.reason.clone(),
            line,
            write_id: None,
            outcome: tracker::approvals::Outcome::Pending,
            written: None,
            joined_writes: flow.joined_writes.clone(),
        }
    }
}

/// A stored flow as the surfaces show it: the summary plus when it happened, and how it
/// ended.
pub fn stored_flow_json(f: &tracker::store::StoredFlow) -> serde_json::Value {
    // A flow stored without its decision (a crash between the two is impossible: they
    // share a transaction) would read as allowed; keep the shape total anyway.
    let decision = f.decision.clone().unwrap_or(Decision {
        why: None,
        action: tracker::Action::Allow,
        reason: String::new(),
    });
    let mut summary = FlowSummary::new(f.id, &f.flow, &decision);
    summary.write_id = f.write_id.clone();
    summary.outcome = f.outcome;
    summary.written = f.written;
    let mut s = serde_json::json!(summary);
    s["at"] = serde_json::json!(f.at);
    s["decided_by"] = serde_json::json!(f.decided_by);
    s
}

fn bounding(cells: &[CellAddr]) -> String {
    CellRange::bounding(cells)
        .map(|r| r.to_string())
        .unwrap_or_default()
}

/// What an approval holds: a transfer, a deletion, or a whole write held because it comes
/// after a read that returned instruction-like text.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeldAction {
    Flow {
        flow: Box<FlowSummary>,
    },
    Deletion {
        what: String,
        /// Why it is held, as data.
        #[serde(skip_serializing_if = "Option::is_none")]
        why: Option<tracker::DecisionWhy>,
        /// The same, in words.
        reason: String,
    },
    AfterInstructions {
        /// Why it is held, as data (`rule`: `after_flagged_instructions`).
        #[serde(skip_serializing_if = "Option::is_none")]
        why: Option<tracker::DecisionWhy>,
        /// The same, in words: what was read, where, and the administrator's rule.
        reason: String,
    },
}

/// Something the person or an administrator may want to see.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BridgeEvent {
    AddinConnected {
        session: SessionInfo,
        resumed: bool,
    },
    AddinDisconnected {
        session: SessionInfo,
        reason: String,
    },
    /// The agent read cells; they are labelled now.
    Read {
        provenance_id: String,
        document: DocumentSummary,
        sheet: String,
        address: String,
        cells: usize,
        /// Cells whose text looks like instructions aimed at the agent.
        flagged: usize,
        at: UnixMillis,
    },
    /// A write carried data from another document; `decision` says what happened to it.
    Flow {
        flow: FlowSummary,
        at: UnixMillis,
    },
    ApprovalRequested {
        approval_id: String,
        write_id: String,
        /// The held transfer (none for a deletion).
        flow_id: Option<i64>,
        target: DocumentSummary,
        #[serde(flatten)]
        held: HeldAction,
        /// What the held write would do, in words ("add a table to slide 2", "delete
        /// slide 2"); absent when not known. Never the values (see `GET /v1/approvals`).
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<String>,
        expires_at: UnixMillis,
        line: String,
    },
    ApprovalResolved {
        approval_id: String,
        write_id: String,
        flow_id: Option<i64>,
        /// allowed, denied or expired.
        state: String,
        /// pane, desktop, elicitation, timeout, standing choice, or bridge.
        decided_by: String,
        /// once or document ("always for this deck").
        scope: String,
        /// In words, when the bridge (not a person) closed it.
        reason: String,
        at: UnixMillis,
    },
    /// A transfer's final outcome (one per flow, once).
    FlowOutcome {
        flow_id: i64,
        write_id: String,
        outcome: tracker::approvals::Outcome,
        written: Option<bool>,
        decided_by: Option<String>,
        reason: String,
        at: UnixMillis,
    },
    PolicyChanged {
        policy: serde_json::Value,
        /// Set when the policy file could not be used (the last good policy stays).
        error: Option<String>,
        at: UnixMillis,
    },
}

impl BridgeEvent {
    /// The event's name on the event stream (`event:` line of SSE).
    pub fn name(&self) -> &'static str {
        match self {
            BridgeEvent::AddinConnected { .. } => "addin_connected",
            BridgeEvent::AddinDisconnected { .. } => "addin_disconnected",
            BridgeEvent::Read { .. } => "read",
            BridgeEvent::Flow { .. } => "flow",
            BridgeEvent::ApprovalRequested { .. } => "approval_requested",
            BridgeEvent::ApprovalResolved { .. } => "approval_resolved",
            BridgeEvent::FlowOutcome { .. } => "flow_outcome",
            BridgeEvent::PolicyChanged { .. } => "policy_changed",
        }
    }
}

/// A broadcast bus. Slow subscribers lose the oldest events (and are told how many)
/// rather than slowing the bridge down.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<BridgeEvent>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        EventBus { tx }
    }

    pub fn publish(&self, event: BridgeEvent) {
        tracing::debug!(event = event.name(), "event");
        // No subscribers is fine: events are for whoever is watching.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<BridgeEvent> {
        self.tx.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}
