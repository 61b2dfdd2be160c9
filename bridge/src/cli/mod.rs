//! Subcommands beyond `serve`, each a thin layer over a library.

pub mod audit;
pub mod manifests;
pub mod scan;
