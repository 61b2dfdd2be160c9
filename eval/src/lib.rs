//! The detection evaluation corpus, kept out of `tracker`'s public API (a dev-only crate,
//! never published).
//!
//! - [`Rng`]: splitmix64, the one deterministic generator of the corpus and of the load tool
//!   (`office-bridge-load`'s simulated documents).
//! - [`corpus`] (feature `corpus`, on by default): a deterministic generator of source
//!   workbooks and of target writes with known flows for every transformation class (one
//!   per [`CLASSES`] entry), and negatives built from unrelated workbooks of the same domain.
//! - [`heldout`] (corpus B): a second generator written apart from [`corpus`], with other
//!   domains (HR, pipeline, inventory, subscriptions, regional figures), layouts (offset
//!   and stacked tables) and locales (de-DE, fr-FR, en-IN, de-CH, ja-JP, ...), 8 targets per
//!   [`HELDOUT_CLASSES`] entry (goals in [`HELDOUT_GOALS`]) and 40 negatives, at
//!   [`HELDOUT_SEED`] by default.
//! - [`evaluate`]: the detector and an exact-string [`Baseline`] over a corpus, as the
//!   [`Report`] printed by the `detection_eval` binary
//!   (`cargo run --release -p tracker-eval --bin detection_eval [SEED BOOKS PER_CLASS NEGATIVES]
//!   [--heldout-seed N] [--only-a | --only-b] [--misses]`); [`explain_misses`] prints the
//!   targets it missed with the detector's flows.
//!
//! Without default features the crate is [`Rng`] alone and does not depend on `tracker`:
//! that is how the load tool uses it.
//!
//! `tracker` takes this crate as a dev-dependency, for its benches, its integration tests
//! and the unit tests that draw random values ([`Rng`], [`scaled`], [`group`]); the corpus
//! must stay the same for a given seed, as the figures in docs/detection.md come from it.

#[cfg(feature = "corpus")]
mod corpus;
#[cfg(feature = "corpus")]
mod heldout;
#[cfg(feature = "corpus")]
mod report;
mod rng;

#[cfg(feature = "corpus")]
pub use corpus::{CLASSES, Case, Corpus, Truth, corpus, group, scaled};
#[cfg(feature = "corpus")]
pub use heldout::{HELDOUT_CLASSES, HELDOUT_GOALS, HELDOUT_SEED, heldout};
#[cfg(feature = "corpus")]
pub use report::{Baseline, Report, Row, evaluate, explain_misses, goals_table};
pub use rng::Rng;
