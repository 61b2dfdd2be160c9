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
    ReadingSource {
        index: usize,
        total: usize,
        path: &'a Path,
    },
    CheckingTarget {
        index: usize,
        total: usize,
        path: &'a Path,
    },
}

/// The report, in the JSON shape scripts rely on (docs/scan.md).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScanReport {
    pub targets: Vec<TargetReport>,
    /// Sources that could not be read; their data is not in the comparison.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_errors: Vec<FileFailure>,
    /// How many source cells were compared against.
    pub source_cells: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    pub path: String,
    pub flows: Vec<ScanFlow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileFailure {
    pub path: String,
    pub error: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScanFlow {
    pub source: ScanSource,
    pub location: String,
    pub matched: usize,
    pub confidence: f64,
    pub strength: FlowStrength,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScanSource {
    pub path: String,
    pub sheet: String,
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
    pub fn confirmed_flows(&self) -> usize {
        self.targets
            .iter()
            .flat_map(|t| &t.flows)
            .filter(|f| f.strength == FlowStrength::Confirmed)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        !self.source_errors.is_empty() || self.targets.iter().any(|t| t.error.is_some())
    }

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
                }
            }
            Err(e) => TargetReport {
                path: display(path),
                flows: Vec::new(),
                error: Some(e.to_string()),
            },
        };
        report.targets.push(entry);
    }
    report
}
