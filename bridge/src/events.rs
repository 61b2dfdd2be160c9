//! The bridge's internal event bus. Every surface that shows what happens (the event
//! stream, the monitor page, the panes, notifications) subscribes here, so each event is
//! produced at one place and seen the same way everywhere.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::addin::registry::SessionInfo;

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
}

impl BridgeEvent {
    /// The event's name on the event stream (`event:` line of SSE).
    pub fn name(&self) -> &'static str {
        match self {
            BridgeEvent::AddinConnected { .. } => "addin_connected",
            BridgeEvent::AddinDisconnected { .. } => "addin_disconnected",
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
