//! The add-in channel: JSON-RPC 2.0 over WebSocket between the bridge and the task panes.
//! See docs/addin-protocol.md for the wire contract.

pub mod pane_methods;
pub mod protocol;
pub mod registry;
pub mod socket;

use serde::Serialize;
use serde_json::{Value, json};
use tracker::App;

/// What the panes and the MCP side follow of the administrator's policy, live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PanePolicy {
    pub excel_enabled: bool,
    pub powerpoint_enabled: bool,
    /// Cross-app transfers allowed at all.
    pub flows_enabled: bool,
    /// The agent's client may answer held transfers (elicitation). Read by the MCP side;
    /// not sent to panes.
    pub agent_client_may_approve: bool,
}

impl Default for PanePolicy {
    fn default() -> Self {
        PanePolicy {
            excel_enabled: true,
            powerpoint_enabled: true,
            flows_enabled: true,
            agent_client_may_approve: true,
        }
    }
}

impl PanePolicy {
    pub fn addin_enabled(&self, app: App) -> bool {
        match app {
            App::Excel => self.excel_enabled,
            App::Powerpoint => self.powerpoint_enabled,
            App::File => true,
        }
    }

    /// The policy as one pane sees it (the `policy` of `register` and `policy.changed`).
    pub fn for_app(&self, app: App) -> Value {
        json!({
            "addin_enabled": self.addin_enabled(app),
            "flows_enabled": self.flows_enabled,
        })
    }
}
