//! What the bridge knows about one open document and its pane: the registry keeps these,
//! the event stream and the agent's tools report them. Its own module so that the event
//! types (`events`) and the pane channel (`addin`) need not import each other.

use serde::Serialize;
use tracker::{App, DocumentRef, UnixMillis};

/// What the bridge knows about one open document and its pane.
#[derive(Clone, Debug, Serialize)]
pub struct SessionInfo {
    pub session_id: String,
    pub app: App,
    pub document: DocumentRef,
    pub addin_version: String,
    pub capabilities: Vec<String>,
    /// When the current (or last) connection of this session was made.
    pub connected_since: UnixMillis,
    pub connected: bool,
    /// The pane runs on the Office.js stand-in (the playground): its document is simulated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}
