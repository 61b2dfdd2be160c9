//! The tracker: office-bridge's pure core.
//!
//! It takes plain values in (cells that were read, content about to be written, the
//! administrator's policy, the person's standing choices) and gives labels, flows and
//! decisions out. It has no network and no async runtime, so it can be tested and
//! benchmarked without a server; the bridge calls it at exactly one place per read and
//! per write.
//!
//! Modules:
//! - [`model`]: the shared vocabulary (documents, cells, reads, writes, flows, decisions).
//! - [`detect`]: the value index and flow detection (`Detector::add_read`, `Detector::check`).
//! - [`policy`]: administrator policy, the person's standing choices, decisions.
//! - [`store`] and [`audit`]: the durable SQLite store and the tamper-evident audit chain;
//!   [`audit_key`]: the per-install key that hashes values in it.
//! - [`approvals`]: the life of a checked write: held transfers, answers, expiry, outcomes.
//! - [`engine`]: [`Tracker`], the one place the bridge asks (index + store + policy +
//!   approvals).
//! - [`files`] and [`scan`]: reading workbooks and target documents from disk, offline scans.
//! - [`trail`]: the recent writes into each target, so evidence accumulates across writes.
//! - [`injection`]: flagging document text that looks like instructions to an AI agent;
//!   [`flagged`]: deciding the writes after a read that flagged.

// Public items say what they are: other crates (the bridge, tools) build on them.
#![warn(missing_docs)]

pub mod approvals;
pub mod audit;
pub mod audit_export;
pub mod audit_key;
pub mod detect;
pub mod engine;
pub mod excel_date;
pub mod files;
pub mod flagged;
pub mod injection;
pub mod model;
pub mod office_json;
pub mod policy;
pub mod scan;
pub mod store;
pub mod trail;

pub use engine::{AnswerError, CheckedFlow, DeletionCheck, Tracker, WriteCheck};
pub use model::*;
