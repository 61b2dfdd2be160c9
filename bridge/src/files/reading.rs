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
use tracker::{CellAddr, CellRange, DocumentRef, ReadCell, SheetRead};

use super::FileToolError;

/// A band of rows of one sheet, as `xlsx_read` returns it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorkbookRange {
    /// `App::File`, from `tracker::files::file_document`.
    pub document: DocumentRef,
    pub sheet: String,
    /// A1 range of what is returned, e.g. `A1:C3` (`""` when empty): the first rows of
    /// `covers`, whole.
    pub address: String,
    /// The rectangle the read stands for: the range asked for, or for whole columns or
    /// rows (and no range: the used range) the part of it that holds data. `address` is
    /// its first rows; `None` when there is nothing there.
    pub covers: Option<CellRange>,
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
    /// True when rows of `covers` come after what is returned (read them next).
    pub truncated: bool,
}

/// Whether a range runs to the sheet's edge: whole columns (`B:D`, or `B5:D1048576`) or
/// whole rows (`2:5`). Such a range stands for "as far as the data goes" and is cut to
/// it ([`resolve_range`]). A single row or column at the edge is just that row or column.
pub fn is_open(range: &CellRange) -> bool {
    (range.reaches_last_row() && range.rows() > 1) || (range.reaches_last_col() && range.cols() > 1)
}

/// The rectangle `range` stands for, given `data`, the smallest rectangle holding the
/// non-empty cells inside it (`None`: there are none). A range that does not reach the
/// sheet's edge is itself. One that does keeps its top-left cell and ends at the last row
/// holding data (when it reaches the last row) and at the last column holding data (when
/// it reaches the last column); `None` when it holds no data.
pub fn resolve_range(range: CellRange, data: Option<CellRange>) -> Option<CellRange> {
    if !is_open(&range) {
        return Some(range);
    }
    let data = data?;
    let down = range.reaches_last_row() && range.rows() > 1;
    let right = range.reaches_last_col() && range.cols() > 1;
    let end_row = if down {
        data.end.row.min(range.end.row)
    } else {
        range.end.row
    };
    let end_col = if right {
        data.end.col.min(range.end.col)
    } else {
        range.end.col
    };
    (end_row >= range.start.row && end_col >= range.start.col)
        .then(|| CellRange::new(range.start, CellAddr::new(end_row, end_col)))
}

/// Reads one sheet of a workbook (xlsx, xlsm, xls, ods, csv): the first rows of a range.
///
/// `sheet` None = the first sheet (or the sheet named in a qualified `range` such as
/// `Data!B2:D5`). A range is A1 notation: `B2:D5`, `C3`, whole columns `B:D` or whole
/// rows `2:5`. A range that does not reach the sheet's edge is read as it is, empty cells
/// as null, like Excel's own `readRange`; whole columns or rows are cut to the data in
/// them, their top-left kept ([`resolve_range`]); no range = the used range (the smallest
/// rectangle holding every non-empty cell). Finding where the data ends reads the whole
/// sheet without keeping its cells.
///
/// What comes back is whole rows of that rectangle (`covers`) from its top: as many as
/// hold at most `max_cells` cells (one row at least), and `truncated` says whether rows
/// remain. Only those rows' cells are kept: a sheet of millions of cells costs a pass
/// over it, not its contents.
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

    // The rectangle the read stands for: found by a pass that keeps no cell when it
    // depends on where the data ends.
    let (covers, sheet_name) = match range {
        Some(r) if !is_open(&r) => (Some(r), wanted),
        _ => {
            let found = tracker::files::sheet_extent(path, wanted.as_deref(), range, limits)?;
            let covers = match range {
                Some(r) => resolve_range(r, found.extent),
                None => found.extent,
            };
            if covers.is_none() {
                return Ok(WorkbookRange {
                    document: tracker::files::file_document(path),
                    sheet: found.sheet,
                    address: String::new(),
                    covers: None,
                    values: Vec::new(),
                    text: Vec::new(),
                    sheets: found.sheet_names,
                    purview: found.purview,
                    cells: Vec::new(),
                    truncated: false,
                });
            }
            (covers, Some(found.sheet))
        }
    };
    let covers = covers.expect("a range that covers cells");
    let cols = covers.cols() as usize;
    // Whole rows, at least one (a row is at most 16,384 cells).
    let keep_rows = (max_cells / cols).clamp(1, covers.rows() as usize);
    // keep_rows >= 1 and fits in u32 (it is at most the range's rows).
    let band = CellRange::new(
        covers.start,
        CellAddr::new(covers.start.row + keep_rows as u32 - 1, covers.end.col),
    );
    // Only the chosen sheet is parsed, and only down to the band's last row.
    let tracker::files::WorkbookSheet {
        document,
        sheet: SheetRead {
            sheet: sheet_name,
            mut cells,
        },
        sheet_names: names,
        purview,
        truncated: cut_short,
    } = tracker::files::read_sheet(
        path,
        sheet_name.as_deref(),
        Some(band),
        band.cell_count(),
        limits,
    )?;
    cells.sort_by_key(|c| (c.addr.row, c.addr.col));
    let mut values = vec![vec![Value::Null; cols]; keep_rows];
    let mut text = vec![vec![String::new(); cols]; keep_rows];
    for cell in &cells {
        let r = (cell.addr.row - band.start.row) as usize;
        let c = (cell.addr.col - band.start.col) as usize;
        values[r][c] = cell_json(&cell.value);
        text[r][c] = tracker::files::shown(cell);
    }
    Ok(WorkbookRange {
        document,
        sheet: sheet_name,
        address: band.to_string(),
        covers: Some(covers),
        values,
        text,
        sheets: names,
        purview,
        cells,
        truncated: cut_short || band.rows() < covers.rows(),
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
    CellRange::parse_whole(s.trim()).map_err(|_| {
        FileToolError::Invalid(format!(
            "not a cell range: {:?} (expected A1 notation such as B2, B2:D5, B:D or 2:5)",
            s.trim().chars().take(64).collect::<String>()
        ))
    })
}
