//! Subcommands beyond `serve`, each a thin layer over a library.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod manifests;
pub mod monitor;
pub mod notify;
pub mod package;
pub mod scan;
pub mod service;
pub mod toast_id;
