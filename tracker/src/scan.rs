//! The offline face of the tracker: which data of some source workbooks appears in some
//! target documents. `office-bridge scan` is a thin CLI over [`scan`].
//!
//! Each file is read on its own: a broken or hostile file gets an error in the report and
//! the scan goes on with the rest.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::detect::Detector;
use crate::files::{self, Limits};
use crate::model::{Flow, FlowStrength, ProvenanceId, ReadEvent, UnixMillis, WriteContent};

/// What the scan is doing now, for a progress bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Reading source workbook `index` of `total` into the index.
    ReadingSource {
        /// Which source, from 0.
        index: usize,
        /// How many sources there are.
        total: usize,
        /// The source's path.
        path: &'a Path,
    },
    /// Checking target document `index` of `total` against the sources.
    CheckingTarget {
        /// Which target, from 0.
        index: usize,
        /// How many targets there are.
        total: usize,
        /// The target's path.
        path: &'a Path,
    },
}

/// The report, in the JSON shape scripts rely on (docs/scan.md).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScanReport {
    /// One entry per target, in the order given.
    pub targets: Vec<TargetReport>,
    /// Sources that could not be read; their data is not in the comparison.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_errors: Vec<FileFailure>,
    /// How many source cells were compared against.
    pub source_cells: usize,
}

/// What was found in one target document.
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    /// The target's path, as given.
    pub path: String,
    /// The source data found in it, strongest first.
    pub flows: Vec<ScanFlow>,
    /// Why it could not be read; it then has no flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What was found in it and not read, and why (an embedded object that is damaged,
    /// of a kind not read, or nested too deep); the rest of it was checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// A file that could not be read, and why.
#[derive(Clone, Debug, Serialize)]
pub struct FileFailure {
    /// Its path, as given.
    pub path: String,
    /// The error, in words.
    pub error: String,
}

/// Data of one source sheet found in a target.
#[derive(Clone, Debug, Serialize)]
pub struct ScanFlow {
    /// Where the data came from.
    pub source: ScanSource,
    /// Where in the target it was found (`slide 3`, `paragraph 12`).
    pub location: String,
    /// How many values matched source cells.
    pub matched: usize,
    /// 0.0 ..= 1.0, rounded to three decimals.
    pub confidence: f64,
    /// `possible` or `confirmed`: only confirmed flows set the exit status.
    pub strength: FlowStrength,
}

/// The source sheet and cells of a flow.
#[derive(Clone, Debug, Serialize)]
pub struct ScanSource {
    /// The source workbook's path.
    pub path: String,
    /// The sheet.
    pub sheet: String,
    /// The cells matched, in A1 notation, row by row.
    pub cells: Vec<String>,
}

/// Exit status of `office-bridge scan`: scripts and CI branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// No confirmed flow, and every file was read.
    Clean = 0,
    /// At least one confirmed flow (reported even when some other file failed).
    ConfirmedFlows = 1,
    /// No confirmed flow, but some file could not be read: the answer is incomplete.
    Error = 2,
}

impl ScanReport {
    /// How many confirmed flows there are, over all targets.
    pub fn confirmed_flows(&self) -> usize {
        self.targets
            .iter()
            .flat_map(|t| &t.flows)
            .filter(|f| f.strength == FlowStrength::Confirmed)
            .count()
    }

    /// Whether any source or target could not be read.
    pub fn has_errors(&self) -> bool {
        !self.source_errors.is_empty() || self.targets.iter().any(|t| t.error.is_some())
    }

    /// The exit status this report calls for.
    pub fn outcome(&self) -> ScanOutcome {
        if self.confirmed_flows() > 0 {
            ScanOutcome::ConfirmedFlows
        } else if self.has_errors() {
            ScanOutcome::Error
        } else {
            ScanOutcome::Clean
        }
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

impl ScanFlow {
    fn from_flow(flow: &Flow) -> Self {
        ScanFlow {
            source: ScanSource {
                path: flow.source.location.clone(),
                sheet: flow.sheet.clone(),
                cells: flow.cells.iter().map(|c| c.to_a1()).collect(),
            },
            location: flow.location.clone(),
            matched: flow.matched,
            // Three decimals are plenty for a person and keep the JSON stable to diff.
            confidence: (flow.confidence * 1000.0).round() / 1000.0,
            strength: flow.strength,
        }
    }
}

/// Reads every source into one index, then checks every target against it.
pub fn scan(
    targets: &[PathBuf],
    sources: &[PathBuf],
    limits: &Limits,
    now: UnixMillis,
    progress: &mut dyn FnMut(Progress<'_>),
) -> ScanReport {
    let mut detector = Detector::new();
    let mut report = ScanReport::default();
    for (index, path) in sources.iter().enumerate() {
        progress(Progress::ReadingSource {
            index,
            total: sources.len(),
            path,
        });
        match files::read_workbook(path, limits) {
            Ok(workbook) => {
                let read = ReadEvent {
                    id: ProvenanceId::new(),
                    document: workbook.document,
                    sheets: workbook.sheets,
                    at: now,
                    request: "scan".to_string(),
                };
                detector.add_read(&read);
            }
            Err(e) => report.source_errors.push(FileFailure {
                path: display(path),
                error: e.to_string(),
            }),
        }
    }
    report.source_cells = detector.len();
    for (index, path) in targets.iter().enumerate() {
        progress(Progress::CheckingTarget {
            index,
            total: targets.len(),
            path,
        });
        let entry = match files::read_target(path, limits) {
            Ok(doc) => {
                let skipped = doc.skipped;
                let write = WriteContent {
                    target: doc.document,
                    parts: doc.parts,
                    explicit_sources: Vec::new(),
                };
                let mut flows: Vec<ScanFlow> = detector
                    .check(&write)
                    .iter()
                    .map(ScanFlow::from_flow)
                    .collect();
                // Strongest first, so the top of a long report is what matters.
                flows.sort_by(|a, b| {
                    b.strength
                        .cmp(&a.strength)
                        .then(b.confidence.total_cmp(&a.confidence))
                        .then_with(|| a.location.cmp(&b.location))
                });
                TargetReport {
                    path: display(path),
                    flows,
                    error: None,
                    skipped,
                }
            }
            Err(e) => TargetReport {
                path: display(path),
                flows: Vec::new(),
                error: Some(e.to_string()),
                skipped: Vec::new(),
            },
        };
        report.targets.push(entry);
    }
    report
}
