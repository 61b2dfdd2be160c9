//! office-bridge: the local HTTPS bridge between an AI agent (over MCP) and the Excel and
//! PowerPoint task panes, with every transfer between documents tracked and decided.
//!
//! The binary (`main.rs`) is a thin CLI over this library; integration tests start the
//! same [`server::Bridge`] on an ephemeral port.

pub mod addin;
pub mod audit_forward;
pub mod audit_key;
pub mod cli;
pub mod client;
pub mod datadir;
pub mod events;
pub mod files;
pub mod gate;
pub mod logging;
pub mod mcp;
pub mod policy_file;
pub mod relay;
pub mod server;
pub mod session;
pub mod token;
