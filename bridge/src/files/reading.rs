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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tracker::files::{Limits, PurviewLabel, ReadControl};
use tracker::office_json::cell_json;
use tracker::{CellAddr, CellRange, DocumentRef, ReadCell, SheetRead};

use super::{CheckedFile, FileStamp, FileToolError};

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
    let asked = AskedSheet::parse(sheet, range, max_cells)?;
    read_from_file(path, asked, max_cells, limits)
}

/// [`read_workbook_range`] for a read that may come in pages: the first page of a read
/// bigger than one page parses what the read stands for once, whole (at most the cache's
/// [`SheetCache::holding`] cells, by default [`CACHED_CELLS`]), and keeps it in `cache`;
/// the pages after it are cut from that parse while the file's stamp is unchanged,
/// instead of parsing the file from its top again for each. Same results as
/// [`read_workbook_range`].
pub fn read_workbook_page(
    cache: &SheetCache,
    file: &CheckedFile,
    sheet: Option<&str>,
    range: Option<&str>,
    max_cells: usize,
    limits: &Limits,
) -> Result<WorkbookRange, FileToolError> {
    let asked = AskedSheet::parse(sheet, range, max_cells)?;
    if let Some(parsed) = cache.find(file, &asked) {
        return Ok(parsed.page(asked.range, max_cells));
    }
    if asked
        .range
        .is_some_and(|r| !is_open(&r) && r.cell_count() <= max_cells as u64)
    {
        // One page holds it all: nothing to keep for later.
        return read_from_file(file.path(), asked, max_cells, limits);
    }
    let whole = tracker::files::read_sheet(
        file.path(),
        asked.sheet.as_deref(),
        asked.range,
        cache.max_cells,
        limits,
    )?;
    if whole.truncated {
        // Too big to keep: each page reads the file down to its own rows.
        return read_from_file(file.path(), asked, max_cells, limits);
    }
    let parsed = Arc::new(ParsedSheet::new(whole));
    let page = parsed.page(asked.range, max_cells);
    // Kept only if the file is still the version that was opened: the reader opened it
    // by path, so a file replaced meanwhile may be what was parsed.
    if file.unchanged() {
        cache.keep(file, &asked, parsed);
    }
    Ok(page)
}

/// What a read asks for, checked: which sheet (`None`: the first) and which range
/// (`None`: the used range).
#[derive(Clone, Debug)]
struct AskedSheet {
    sheet: Option<String>,
    range: Option<CellRange>,
}

impl AskedSheet {
    fn parse(
        sheet: Option<&str>,
        range: Option<&str>,
        max_cells: usize,
    ) -> Result<AskedSheet, FileToolError> {
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
        let sheet = match (sheet, range_sheet) {
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(&b) => {
                return Err(FileToolError::Invalid(format!(
                    "the range names sheet {b:?} but the sheet argument is {a:?}"
                )));
            }
            (Some(a), _) => Some(a.to_string()),
            (None, b) => b,
        };
        Ok(AskedSheet { sheet, range })
    }
}

/// The page of `asked` read from the file itself, down to the page's last row.
fn read_from_file(
    path: &Path,
    asked: AskedSheet,
    max_cells: usize,
    limits: &Limits,
) -> Result<WorkbookRange, FileToolError> {
    let AskedSheet {
        sheet: wanted,
        range,
    } = asked;
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
            let Some(covers) = covers else {
                return Ok(WorkbookRange::empty(
                    tracker::files::file_document(path),
                    found.sheet,
                    found.sheet_names,
                    found.purview,
                ));
            };
            (Some(covers), Some(found.sheet))
        }
    };
    let covers = covers.expect("a range that covers cells");
    let band = band_of(covers, max_cells);
    // Only the chosen sheet is parsed, and only down to the band's last row.
    let tracker::files::WorkbookSheet {
        document,
        sheet: SheetRead {
            sheet: sheet_name,
            mut cells,
        },
        sheet_names,
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
    let mut page = WorkbookRange::band(
        document,
        sheet_name,
        sheet_names,
        purview,
        covers,
        band,
        cells,
    );
    page.truncated |= cut_short;
    Ok(page)
}

/// The first rows of `covers` that hold at most `max_cells` cells, one row at least (a
/// row is at most 16,384 cells).
fn band_of(covers: CellRange, max_cells: usize) -> CellRange {
    let keep_rows = (max_cells / covers.cols() as usize).clamp(1, covers.rows() as usize);
    // keep_rows >= 1 and fits in u32 (it is at most the range's rows).
    CellRange::new(
        covers.start,
        CellAddr::new(covers.start.row + keep_rows as u32 - 1, covers.end.col),
    )
}

impl WorkbookRange {
    /// A read of a sheet, or of a part of it, that holds no data.
    fn empty(
        document: DocumentRef,
        sheet: String,
        sheets: Vec<String>,
        purview: Option<PurviewLabel>,
    ) -> Self {
        WorkbookRange {
            document,
            sheet,
            address: String::new(),
            covers: None,
            values: Vec::new(),
            text: Vec::new(),
            sheets,
            purview,
            cells: Vec::new(),
            truncated: false,
        }
    }

    /// The rows of `band` (the top of `covers`) from `cells`, the non-empty cells in it
    /// sorted by row then column.
    fn band(
        document: DocumentRef,
        sheet: String,
        sheets: Vec<String>,
        purview: Option<PurviewLabel>,
        covers: CellRange,
        band: CellRange,
        cells: Vec<ReadCell>,
    ) -> Self {
        let (rows, cols) = (band.rows() as usize, band.cols() as usize);
        let mut values = vec![vec![Value::Null; cols]; rows];
        let mut text = vec![vec![String::new(); cols]; rows];
        for cell in &cells {
            let r = (cell.addr.row - band.start.row) as usize;
            let c = (cell.addr.col - band.start.col) as usize;
            values[r][c] = cell_json(&cell.value);
            text[r][c] = tracker::files::shown(cell);
        }
        WorkbookRange {
            document,
            sheet,
            address: band.to_string(),
            covers: Some(covers),
            values,
            text,
            sheets,
            purview,
            cells,
            truncated: band.rows() < covers.rows(),
        }
    }
}

/// Most cells one parse kept for later pages may hold (about 30 MB).
pub const CACHED_CELLS: u64 = 250_000;
/// Most parses kept at once; the least recently used goes first.
const CACHED_SHEETS: usize = 2;
/// How long a parse is kept after it was last used.
const CACHED_FOR: Duration = Duration::from_secs(120);

/// One sheet (or the part of it a read stood for) parsed whole, for the pages of a read.
#[derive(Debug)]
struct ParsedSheet {
    document: DocumentRef,
    sheet: String,
    sheet_names: Vec<String>,
    purview: Option<PurviewLabel>,
    /// Sorted by row, then column.
    cells: Vec<ReadCell>,
    /// The smallest rectangle holding every cell (`None`: there are none).
    extent: Option<CellRange>,
}

impl ParsedSheet {
    fn new(whole: tracker::files::WorkbookSheet) -> Self {
        let mut cells = whole.sheet.cells;
        cells.sort_by_key(|c| (c.addr.row, c.addr.col));
        let addrs: Vec<CellAddr> = cells.iter().map(|c| c.addr).collect();
        ParsedSheet {
            document: whole.document,
            sheet: whole.sheet.sheet,
            sheet_names: whole.sheet_names,
            purview: whole.purview,
            extent: CellRange::bounding(&addrs),
            cells,
        }
    }

    /// The page of `range` (`None`: the used range), as [`read_from_file`] reads it.
    fn page(&self, range: Option<CellRange>, max_cells: usize) -> WorkbookRange {
        let covers = match range {
            Some(r) => resolve_range(r, self.extent_in(r)),
            None => self.extent,
        };
        let Some(covers) = covers else {
            return WorkbookRange::empty(
                self.document.clone(),
                self.sheet.clone(),
                self.sheet_names.clone(),
                self.purview.clone(),
            );
        };
        let band = band_of(covers, max_cells);
        let first = self.cells.partition_point(|c| c.addr.row < band.start.row);
        let cells = self.cells[first..]
            .iter()
            .take_while(|c| c.addr.row <= band.end.row)
            .filter(|c| band.contains(c.addr))
            .cloned()
            .collect();
        WorkbookRange::band(
            self.document.clone(),
            self.sheet.clone(),
            self.sheet_names.clone(),
            self.purview.clone(),
            covers,
            band,
            cells,
        )
    }

    /// The smallest rectangle holding the cells inside `range`.
    fn extent_in(&self, range: CellRange) -> Option<CellRange> {
        if !is_open(&range) {
            return None; // not needed: a range that stops short of the edge is itself
        }
        let addrs: Vec<CellAddr> = self
            .cells
            .iter()
            .map(|c| c.addr)
            .filter(|a| range.contains(*a))
            .collect();
        CellRange::bounding(&addrs)
    }
}

/// Parses kept briefly for the pages of big reads: a read of 100,000 cells comes in
/// about six pages, and without this each would parse the file from its top down to its
/// own rows. One per bridge; entries are found by the file's path and stamp, the sheet
/// asked for and the range the parse stands for.
#[derive(Clone, Debug)]
pub struct SheetCache {
    kept: Arc<Mutex<Vec<CachedSheet>>>,
    /// Most cells one kept parse may hold.
    max_cells: u64,
}

impl Default for SheetCache {
    fn default() -> Self {
        SheetCache::holding(CACHED_CELLS)
    }
}

#[derive(Debug)]
struct CachedSheet {
    path: std::path::PathBuf,
    stamp: FileStamp,
    /// The sheet arguments it answers: the one asked (`None`: the first sheet) and the
    /// sheet's own name, which later pages name.
    asked: [Option<String>; 2],
    /// What the parse stands for: `None` the whole sheet, else a range of it.
    covers: Option<CellRange>,
    parsed: Arc<ParsedSheet>,
    used: Instant,
}

impl SheetCache {
    /// A cache whose parses hold at most `max_cells` cells each.
    pub fn holding(max_cells: u64) -> Self {
        SheetCache {
            kept: Arc::default(),
            max_cells,
        }
    }

    fn find(&self, file: &CheckedFile, asked: &AskedSheet) -> Option<Arc<ParsedSheet>> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        kept.retain(|c| now.duration_since(c.used) < CACHED_FOR);
        let hit = kept.iter_mut().find(|c| {
            c.path == file.path()
                && c.stamp == *file.stamp()
                && c.asked.contains(&asked.sheet)
                && match (c.covers, asked.range) {
                    (None, _) => true,
                    (Some(kept), Some(r)) if !is_open(&r) => {
                        kept.contains(r.start) && kept.contains(r.end)
                    }
                    (Some(kept), r) => Some(kept) == r,
                }
        })?;
        hit.used = now;
        Some(hit.parsed.clone())
    }

    fn keep(&self, file: &CheckedFile, asked: &AskedSheet, parsed: Arc<ParsedSheet>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|c| c.path != file.path());
        if kept.len() >= CACHED_SHEETS {
            kept.sort_by_key(|c| std::cmp::Reverse(c.used));
            kept.truncate(CACHED_SHEETS - 1);
        }
        kept.push(CachedSheet {
            path: file.path().to_path_buf(),
            stamp: file.stamp().clone(),
            asked: [asked.sheet.clone(), Some(parsed.sheet.clone())],
            covers: asked.range,
            parsed,
            used: Instant::now(),
        });
    }

    /// How many parses are kept (for tests).
    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
