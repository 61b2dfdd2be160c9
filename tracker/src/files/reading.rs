//! One read of a target and of everything embedded in it: the budgets they share, and
//! what was found and not read.

use crate::model::{SheetRead, WritePart};

use std::path::Path;

use super::guard::Archive;
use super::xml::TextBudget;
use super::{Kind, Limits, Problem, human_bytes, shown};

/// A package on disk (a deck, a document) read by `read` with a budget of its own, and what
/// was skipped in it.
pub(crate) fn package_parts(
    path: &Path,
    kind: Kind,
    limits: &Limits,
    read: fn(&mut Archive, &mut Reading<'_>, usize) -> Result<Vec<WritePart>, Problem>,
) -> Result<(Vec<WritePart>, Vec<String>), Problem> {
    let mut archive = Archive::open(path, kind, limits)?;
    let mut r = Reading::new(limits);
    let parts = read(&mut archive, &mut r, 0)?;
    Ok((parts, r.skipped))
}

pub(crate) struct Reading<'a> {
    pub(crate) limits: &'a Limits,
    /// Text and XML elements of the file and of everything embedded in it.
    pub(crate) budget: TextBudget,
    /// Cells taken from workbooks so far (the file's own and embedded ones).
    cells: u64,
    /// Bytes of embedded objects held in memory now (one per level of nesting being
    /// read), against `max_memory_bytes`.
    held: u64,
    /// What was found and not read, and why (see `TargetDoc::skipped`).
    pub(crate) skipped: Vec<String>,
}

impl<'a> Reading<'a> {
    pub(crate) fn new(limits: &'a Limits) -> Self {
        Reading {
            limits,
            budget: TextBudget::new(limits),
            cells: 0,
            held: 0,
            skipped: Vec::new(),
        }
    }

    /// The limits a workbook embedded in the file is read under: the cells, text and
    /// memory the file has left, so a workbook inside a workbook cannot double them.
    pub(crate) fn workbook_limits(&self) -> Limits {
        Limits {
            max_cells: self.limits.max_cells.saturating_sub(self.cells),
            max_text_chars: self.budget.left(),
            max_memory_bytes: self.limits.max_memory_bytes.saturating_sub(self.held),
            ..self.limits.clone()
        }
    }

    /// Counts `bytes` of an embedded object held in memory while it is read: nested
    /// objects are held all at once, and together they stay within `max_memory_bytes`.
    pub(crate) fn hold(&mut self, bytes: usize) -> Result<(), Problem> {
        self.held = self.held.saturating_add(bytes as u64);
        if self.held > self.limits.max_memory_bytes {
            return Err(Problem::Refused(format!(
                "the embedded objects being read would take {} of memory at once, more than the {} limit",
                human_bytes(self.held),
                human_bytes(self.limits.max_memory_bytes)
            )));
        }
        Ok(())
    }

    /// Gives back what [`Reading::hold`] counted, once the object is read.
    pub(crate) fn release(&mut self, bytes: usize) {
        self.held = self.held.saturating_sub(bytes as u64);
    }

    /// A workbook's sheets as tables, their cells and text counted against the file's.
    pub(crate) fn tables(&mut self, sheets: &[SheetRead]) -> Result<Vec<WritePart>, Problem> {
        let cells: u64 = sheets.iter().map(|s| s.cells.len() as u64).sum();
        self.cells = self.cells.saturating_add(cells);
        if self.cells > self.limits.max_cells {
            return Err(Problem::Refused(format!(
                "the file and the workbooks in it have more than {} cells",
                self.limits.max_cells
            )));
        }
        let chars: usize = sheets
            .iter()
            .flat_map(|s| &s.cells)
            .map(|c| shown(c).chars().count())
            .sum();
        self.budget.spend(chars)?;
        Ok(sheets.iter().flat_map(super::sheet_tables).collect())
    }
}
