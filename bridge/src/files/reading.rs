//! Reading one sheet of a workbook file for `xlsx_read`, under a stop switch.
//!
//! [`read_workbook_range`] reads one sheet (the first by default) through the tracker's
//! bounded readers (xlsx, xlsm, xls, ods, csv) and returns a rectangle of values and
//! displayed text, cut to `max_cells`, plus the cells themselves for the tracker's labels.
//! Only that sheet is parsed, and reading stops once `max_cells` cells are found.
//!
//! Reads run on blocking threads under a [`ReadHandle`]: the tool handler stops the read
//! (through the tracker's `ReadControl`) when its request is cancelled or its future is
//! dropped (the client went away), and [`ReadSwitch::cancel_all`] stops every read of the bridge at shutdown.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use tracker::files::{Limits, PurviewLabel, ReadControl};
use tracker::office_json::cell_json;
use tracker::{CellAddr, CellRange, DocumentRef, MAX_COLS, MAX_ROWS, ReadCell, SheetRead};

use super::FileToolError;

/// A rectangle of one sheet, as `xlsx_read` returns it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorkbookRange {
    /// `App::File`, from `tracker::files::file_document`.
    pub document: DocumentRef,
    pub sheet: String,
    /// A1 range of what is returned, e.g. `A1:C3` (`""` when empty).
    pub address: String,
    /// Rectangular, row-major from the range's top-left: numbers (whole numbers as JSON
    /// integers), strings, booleans, null for empty; error cells as their text (`#DIV/0!`).
    pub values: Vec<Vec<Value>>,
    /// Displayed form where the file has a number format, else the value as text; `""`
    /// for empty.
    pub text: Vec<Vec<String>>,
    /// Every sheet name in the workbook, to help the agent.
    pub sheets: Vec<String>,
    /// The workbook's Purview label (xlsx and xlsm only).
    pub purview: Option<PurviewLabel>,
    /// The non-empty cells returned, for the tracker's labels.
    pub cells: Vec<ReadCell>,
    /// True when non-empty cells were left out to stay within `max_cells`.
    pub truncated: bool,
}

/// Reads one sheet of a workbook (xlsx, xlsm, xls, ods, csv).
///
/// `sheet` None = the first sheet (or the sheet named in a qualified `range` such as
/// `Data!B2:D5`). `range` None = the used range (the smallest rectangle holding every
/// non-empty cell). A range is A1 notation: `B2:D5`, `C3`, whole columns `B:D` or whole
/// rows `2:5`. A range of at most `max_cells` cells comes back in full, empty cells as
/// null, like Excel's own `readRange`; a larger one is trimmed to the last row and
/// column holding data (its top-left kept). At most `max_cells` cells are returned: whole
/// rows are cut from the bottom (columns too when one row alone is wider), and
/// `truncated` says whether any non-empty cell was left out.
pub fn read_workbook_range(
    path: &Path,
    sheet: Option<&str>,
    range: Option<&str>,
    max_cells: usize,
    limits: &Limits,
) -> Result<WorkbookRange, FileToolError> {
    if max_cells == 0 {
        return Err(FileToolError::Invalid(
            "max_cells must be at least 1".to_string(),
        ));
    }
    let (range_sheet, range) = match range.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            let (s, addr) = tracker::split_sheet(r);
            (s, Some(parse_range(addr)?))
        }
        None => (None, None),
    };
    let wanted: Option<String> = match (sheet, range_sheet) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(&b) => {
            return Err(FileToolError::Invalid(format!(
                "the range names sheet {b:?} but the sheet argument is {a:?}"
            )));
        }
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b,
    };

    // Only the chosen sheet is parsed, and no more of its cells than can be returned: a
    // workbook of a million sheets or a sheet of twelve million cells costs the checks
    // of the file, not its contents.
    let tracker::files::WorkbookSheet {
        document,
        sheet: SheetRead {
            sheet: sheet_name,
            mut cells,
        },
        sheet_names: names,
        purview,
        truncated: cut_short,
    } = tracker::files::read_sheet(path, wanted.as_deref(), range, max_cells as u64, limits)?;
    cells.sort_by_key(|c| (c.addr.row, c.addr.col));

    let addrs: Vec<CellAddr> = cells.iter().map(|c| c.addr).collect();
    let used = CellRange::bounding(&addrs);
    // A range of at most max_cells slots comes back whole, empty cells included.
    let small = range.filter(|r| r.cell_count() <= max_cells as u64);
    let bounds = match (range, small) {
        (Some(r), Some(_)) => Some(r),
        (Some(r), None) => used.map(|u| CellRange::new(r.start, u.end)),
        (None, _) => used,
    };
    let Some(bounds) = bounds else {
        return Ok(WorkbookRange {
            document,
            sheet: sheet_name,
            address: String::new(),
            values: Vec::new(),
            text: Vec::new(),
            sheets: names,
            purview,
            cells: Vec::new(),
            truncated: cut_short,
        });
    };
    let cols = bounds.cols() as usize;
    let rows = bounds.rows() as usize;
    let (keep_rows, keep_cols) = if cols > max_cells {
        (1, max_cells)
    } else {
        (rows.min(max_cells / cols), cols)
    };
    // keep_rows, keep_cols >= 1 and fit in u32 (they are at most the range's size).
    let shown_range = CellRange::new(
        bounds.start,
        CellAddr::new(
            bounds.start.row + keep_rows as u32 - 1,
            bounds.start.col + keep_cols as u32 - 1,
        ),
    );
    let mut values = vec![vec![Value::Null; keep_cols]; keep_rows];
    let mut text = vec![vec![String::new(); keep_cols]; keep_rows];
    let mut kept = Vec::new();
    let mut truncated = cut_short;
    for cell in cells {
        if !shown_range.contains(cell.addr) {
            truncated = true;
            continue;
        }
        let r = (cell.addr.row - shown_range.start.row) as usize;
        let c = (cell.addr.col - shown_range.start.col) as usize;
        values[r][c] = cell_json(&cell.value);
        text[r][c] = tracker::files::shown(&cell);
        kept.push(cell);
    }
    Ok(WorkbookRange {
        document,
        sheet: sheet_name,
        address: shown_range.to_string(),
        values,
        text,
        sheets: names,
        purview,
        cells: kept,
        truncated,
    })
}

/// One bridge's switch for all its file reads: once the bridge is stopping, every read
/// under way, and every later one, stops. Per bridge, not per process, so one bridge
/// stopping never cancels another's reads (tests run many bridges in one process).
#[derive(Clone, Debug, Default)]
pub struct ReadSwitch(Arc<AtomicBool>);

impl ReadSwitch {
    /// Stops every file read under this switch (`xlsx_read`, `scan_file`) and makes later
    /// ones stop at once: for the shutdown path, so stopping the bridge never waits for a
    /// read of a hostile file. Each stopped read answers "cancelled"; the blocking threads
    /// end within milliseconds. Cannot be undone (the bridge is stopping).
    pub fn cancel_all(&self) {
        self.0.store(true, Ordering::Relaxed);
        tracing::debug!("file reads cancelled for shutdown");
    }
}

/// One read's stop switch. [`ReadHandle::control`] is handed to the tracker's readers
/// (through `Limits::with_control`); the read stops when [`ReadHandle::cancel`] is
/// called, when the handle is dropped (the tool call's future went away: the client
/// disconnected or cancelled), or at [`ReadSwitch::cancel_all`].
#[derive(Debug)]
pub struct ReadHandle {
    flag: Arc<AtomicBool>,
    switch: ReadSwitch,
}

impl ReadHandle {
    /// A handle for one read under `switch`.
    pub fn new(switch: &ReadSwitch) -> Self {
        ReadHandle {
            flag: Arc::default(),
            switch: switch.clone(),
        }
    }

    /// The control a read checks: this handle's flag and the bridge's switch.
    pub fn control(&self) -> ReadControl {
        ReadControl::default()
            .stop_on(self.flag.clone())
            .stop_on(self.switch.0.clone())
    }

    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }
}

impl Drop for ReadHandle {
    fn drop(&mut self) {
        // Nobody waits for the result any more: a finished read ignores this.
        self.cancel();
    }
}

/// `B2:D5`, `C3`, `B:D` (whole columns), `2:5` (whole rows); `$` markers allowed.
pub(super) fn parse_range(s: &str) -> Result<CellRange, FileToolError> {
    let invalid = |s: &str| {
        FileToolError::Invalid(format!(
            "not a cell range: {:?} (expected A1 notation such as B2, B2:D5, B:D or 2:5)",
            s.chars().take(64).collect::<String>()
        ))
    };
    let s = s.trim();
    let strip = |p: &str| p.trim().replace('$', "");
    if let Some((a, b)) = s.split_once(':') {
        let (a, b) = (strip(a), strip(b));
        let letters = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphabetic());
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
        if letters(&a) && letters(&b) {
            let col = |p: &str| {
                CellAddr::parse_a1(&format!("{p}1"))
                    .map(|c| c.col)
                    .map_err(|_| invalid(s))
            };
            return Ok(CellRange::new(
                CellAddr::new(0, col(&a)?),
                CellAddr::new(MAX_ROWS - 1, col(&b)?),
            ));
        }
        if digits(&a) && digits(&b) {
            let row = |p: &str| {
                CellAddr::parse_a1(&format!("A{p}"))
                    .map(|c| c.row)
                    .map_err(|_| invalid(s))
            };
            return Ok(CellRange::new(
                CellAddr::new(row(&a)?, 0),
                CellAddr::new(row(&b)?, MAX_COLS - 1),
            ));
        }
    }
    CellRange::parse(s).map_err(|_| invalid(s))
}
