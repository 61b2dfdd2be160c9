//! Workbooks through calamine: xlsx and xlsm cell by cell with their number formats (from
//! calamine's style palette, rendered to displayed text by `numfmt`), xls and ods by range.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, Ods, Reader, Xls, Xlsx};

use crate::model::{CellAddr, CellRange, CellValue, ReadCell, SheetRead};

use super::guard::{Archive, Controlled, Held};
use super::numfmt::format_number;
use super::{Kind, Limits, Problem, PurviewLabel, human_bytes, ooxml};

/// Cells between checks of the read's control.
const CHECK_EVERY: u32 = 4096;

/// What calamine keeps per shared string besides its text: the `String` itself and the
/// allocator's overhead for its buffer.
const BYTES_PER_STRING: u64 = 24 + 32;

/// Counts cells, characters and memory across a workbook against the limits, and keeps
/// the caller's cap on how many cells to return.
struct Budget<'a> {
    limits: &'a Limits,
    cells: u64,
    chars: usize,
    /// Estimated bytes held: what calamine was found to keep, then every cell taken.
    memory: u64,
    /// Return at most this many cells (the rest is cut, and said so); `None`: a read
    /// past the limits is an error instead.
    keep: Option<u64>,
    truncated: bool,
    tick: u32,
    /// Only find where the non-empty cells lie ([`locate`]): keep none, count none.
    locating: bool,
    /// The smallest rectangle holding every non-empty cell seen while locating.
    found: Option<CellRange>,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits, keep: Option<u64>) -> Self {
        Budget {
            limits,
            cells: 0,
            chars: 0,
            memory: 0,
            keep,
            truncated: false,
            tick: 0,
            locating: false,
            found: None,
        }
    }

    /// Notes a non-empty cell at `addr` while locating.
    fn locate(&mut self, addr: CellAddr) {
        let here = CellRange::new(addr, addr);
        self.found = Some(match self.found {
            None => here,
            Some(r) => CellRange::new(
                CellAddr::new(r.start.row.min(addr.row), r.start.col.min(addr.col)),
                CellAddr::new(r.end.row.max(addr.row), r.end.col.max(addr.col)),
            ),
        });
    }

    /// Called for every cell looked at, kept or not: checks the control now and then.
    fn tick(&mut self) -> Result<(), Problem> {
        self.tick = self.tick.wrapping_add(1);
        if self.tick.is_multiple_of(CHECK_EVERY) {
            self.limits.control.check()?;
        }
        Ok(())
    }

    /// Counts memory calamine holds for the whole read (its string table, its grids).
    fn hold(&mut self, bytes: u64, what: &str) -> Result<(), Problem> {
        self.memory = self.memory.saturating_add(bytes);
        if self.memory > self.limits.max_memory_bytes {
            return Err(Problem::Refused(format!(
                "reading it would take about {} of memory ({what}), more than the {} limit",
                human_bytes(self.memory),
                human_bytes(self.limits.max_memory_bytes)
            )));
        }
        Ok(())
    }

    /// Takes one cell: `Ok(false)` when the caller's cap is reached (stop reading; the
    /// result is marked truncated), an error when a limit is passed.
    fn take(&mut self, cell: &ReadCell) -> Result<bool, Problem> {
        if self.keep.is_some_and(|k| self.cells >= k) {
            self.truncated = true;
            return Ok(false);
        }
        self.cells += 1;
        if self.cells > self.limits.max_cells {
            return Err(Problem::Refused(format!(
                "the workbook has more than {} cells",
                self.limits.max_cells
            )));
        }
        if let CellValue::Text(s) = &cell.value {
            self.chars = self.chars.saturating_add(s.chars().count());
            if self.chars > self.limits.max_text_chars {
                return Err(Problem::Refused(format!(
                    "the workbook holds more than {} characters of text",
                    self.limits.max_text_chars
                )));
            }
        }
        let cells = self.cells;
        self.hold(cell_bytes(cell), &format!("{cells} cells read"))?;
        Ok(true)
    }
}

/// What one cell read costs in memory: the cell twice over (a growing `Vec` may have as
/// many spare slots as used ones) and its strings' buffers with the allocator's overhead.
fn cell_bytes(cell: &ReadCell) -> u64 {
    let heap = |s: &String| match s.capacity() as u64 {
        0 => 0,
        n => n.next_multiple_of(16) + 16,
    };
    let value = match &cell.value {
        CellValue::Text(s) | CellValue::Error(s) => heap(s),
        _ => 0,
    };
    2 * std::mem::size_of::<ReadCell>() as u64
        + value
        + cell.text.as_ref().map_or(0, heap)
        + cell.number_format.as_ref().map_or(0, heap)
}

/// Which sheets to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pick<'a> {
    All,
    /// The first sheet in workbook order.
    First,
    /// The sheet of that name (ignoring ASCII case when no exact match).
    Named(&'a str),
}

/// What [`read`] found.
pub(crate) struct Found {
    pub(crate) sheets: Vec<SheetRead>,
    /// Every sheet of the workbook, in order.
    pub(crate) names: Vec<String>,
    pub(crate) purview: Option<PurviewLabel>,
    /// True when cells were left out because of the caller's cap.
    pub(crate) truncated: bool,
    /// From [`locate`]: the smallest rectangle holding the non-empty cells found.
    pub(crate) located: Option<CellRange>,
}

/// Reads the picked sheets of an xlsx, xlsm, xls or ods file, keeping cells inside
/// `range` when given (and at most `keep` of them, when given), and the Purview label
/// of OOXML files.
pub(crate) fn read(
    path: &Path,
    kind: Kind,
    pick: Pick<'_>,
    range: Option<CellRange>,
    keep: Option<u64>,
    limits: &Limits,
) -> Result<Found, Problem> {
    guarded(kind, || {
        read_inner(path, kind, pick, range, &mut Budget::new(limits, keep))
    })
}

/// Where the non-empty cells of the picked sheets lie inside `range` (the whole sheet when
/// `None`): read as [`read`] reads, with the same checks of the file first, but keeping no
/// cell, only the smallest rectangle holding them all (`located`; `None` when there is
/// none). An xlsx sheet is streamed to its end (or past the range's last row) without
/// building any cell, so this costs a pass over the sheet's XML and no memory.
pub(crate) fn locate(
    path: &Path,
    kind: Kind,
    pick: Pick<'_>,
    range: Option<CellRange>,
    limits: &Limits,
) -> Result<Found, Problem> {
    guarded(kind, || {
        let mut budget = Budget::new(limits, None);
        budget.locating = true;
        read_inner(path, kind, pick, range, &mut budget)
    })
}

/// Every sheet of an xlsx or xlsm embedded in another file: `archive` is its package,
/// opened nested in the outer file's (so it spends that file's budget), and `bytes` the
/// package itself, for calamine.
pub(crate) fn read_embedded_xlsx(
    archive: &mut Archive,
    bytes: Held,
    limits: &Limits,
) -> Result<Found, Problem> {
    let kind = archive.kind();
    guarded(kind, || {
        let mut budget = Budget::new(limits, None);
        xlsx(archive, Origin::Memory(bytes), Pick::All, None, &mut budget)
    })
}

/// Every sheet of an xls embedded in another file (an OLE object holding a workbook).
pub(crate) fn read_embedded_xls(bytes: Vec<u8>, limits: &Limits) -> Result<Found, Problem> {
    guarded(Kind::Xls, || {
        let mut budget = Budget::new(limits, None);
        xls(bytes, Pick::All, None, &mut budget)
    })
}

/// Runs a read with calamine inside `catch_unwind`: calamine parses hostile bytes, and
/// should it ever panic on them, this file fails and the scan goes on with the next one
/// instead of the process dying.
fn guarded(kind: Kind, read: impl FnOnce() -> Result<Found, Problem>) -> Result<Found, Problem> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
        Err(Problem::invalid(
            kind,
            "the spreadsheet reader crashed on its content (malformed file)",
        ))
    })
}

/// A calamine error as a problem: a read stopped by its control says so rather than
/// blaming the file (calamine sees the stop as an I/O error).
fn calamine_problem(kind: Kind, limits: &Limits, detail: impl std::fmt::Display) -> Problem {
    match limits.control.check() {
        Err(stop) => stop,
        Ok(()) => Problem::invalid(kind, detail.to_string()),
    }
}

/// The file as calamine reads it: buffered, and stopping when the read's control says.
fn controlled_file(path: &Path, limits: &Limits) -> Result<BufReader<Controlled<File>>, Problem> {
    Ok(BufReader::new(Controlled::new(
        File::open(path)?,
        limits.control.clone(),
    )))
}

/// Where calamine reads an xlsx from.
enum Origin<'a> {
    File(&'a Path),
    /// A package embedded in another file, held in memory.
    Memory(Held),
}

fn read_inner(
    path: &Path,
    kind: Kind,
    pick: Pick<'_>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Found, Problem> {
    let limits = budget.limits;
    match kind {
        Kind::Xlsx | Kind::Xlsm => {
            let mut archive = Archive::open(path, kind, limits)?;
            xlsx(&mut archive, Origin::File(path), pick, range, budget)
        }
        Kind::Ods => {
            let mut archive = Archive::open(path, kind, limits)?;
            archive.verify_all()?;
            check_ods_extent(&mut archive, limits, budget)?;
            drop(archive);
            let mut wb: Ods<_> = Ods::new(controlled_file(path, limits)?)
                .map_err(|e| calamine_problem(kind, limits, e))?;
            range_sheets(&mut wb, kind, pick, range, budget)
        }
        // The size was checked before: holding the file in memory is bounded.
        Kind::Xls => xls(std::fs::read(path)?, pick, range, budget),
        _ => Err(Problem::invalid(kind, "not a workbook")),
    }
}

/// An xlsx or xlsm: its archive checked against the limits, then its sheets read by
/// calamine from `origin`.
fn xlsx(
    archive: &mut Archive,
    origin: Origin<'_>,
    pick: Pick<'_>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Found, Problem> {
    let limits = budget.limits;
    let kind = archive.kind();
    // calamine trusts the archive: prove it is within the limits first.
    archive.verify_all()?;
    check_xlsx_sheets(archive, limits)?;
    check_shared_strings(archive)?;
    budget.hold(
        calamine_xlsx_bytes(archive, limits)?,
        "its shared strings and styles",
    )?;
    if budget.keep.is_none() && range.is_none() && matches!(pick, Pick::All) {
        count_xlsx_cells(archive, limits)?;
    }
    let purview = ooxml::purview(archive, limits)?;
    match origin {
        Origin::File(path) => {
            let wb = Xlsx::new(controlled_file(path, limits)?)
                .map_err(|e| calamine_problem(kind, limits, e))?;
            xlsx_sheets(wb, kind, pick, range, budget, purview)
        }
        Origin::Memory(bytes) => {
            let source = Controlled::new(std::io::Cursor::new(bytes), limits.control.clone());
            let wb = Xlsx::new(source).map_err(|e| calamine_problem(kind, limits, e))?;
            xlsx_sheets(wb, kind, pick, range, budget, purview)
        }
    }
}

fn xlsx_sheets<RS: std::io::Read + std::io::Seek>(
    mut wb: Xlsx<RS>,
    kind: Kind,
    pick: Pick<'_>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
    purview: Option<PurviewLabel>,
) -> Result<Found, Problem> {
    let names = wb.sheet_names();
    let mut sheets = Vec::new();
    for name in selected(&names, pick)? {
        let cells = xlsx_sheet(&mut wb, kind, &name, range, budget)?;
        sheets.push(SheetRead { sheet: name, cells });
        if budget.truncated {
            break;
        }
    }
    Ok(Found {
        sheets,
        names,
        purview,
        truncated: budget.truncated,
        located: budget.found,
    })
}

/// An xls held in memory: its records checked, then its sheets read by calamine.
fn xls(
    bytes: Vec<u8>,
    pick: Pick<'_>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Found, Problem> {
    let kind = Kind::Xls;
    let limits = budget.limits;
    let grid = super::cfb::check_xls(&bytes, limits)?;
    // calamine builds each sheet's grid of values and one of formulas.
    let per_slot = (std::mem::size_of::<Data>() + std::mem::size_of::<String>()) as u64;
    budget.hold(
        grid.saturating_mul(per_slot),
        "the grids its sheets expand to",
    )?;
    let cursor = Controlled::new(std::io::Cursor::new(bytes), limits.control.clone());
    let mut wb: Xls<_> = Xls::new(cursor).map_err(|e| calamine_problem(kind, limits, e))?;
    range_sheets(&mut wb, kind, pick, range, budget)
}

/// The workbook part of an xlsx, as calamine finds it: the package relationship's
/// `officeDocument` target, else `xl/workbook.xml`.
fn workbook_part(archive: &mut Archive, limits: &Limits) -> Result<String, Problem> {
    let mut budget = super::xml::TextBudget::new(limits);
    ooxml::main_part(
        archive,
        archive.kind(),
        limits,
        &mut budget,
        "xl/workbook.xml",
    )
}

/// Counts the sheets `xl/workbook.xml` lists, streaming, before calamine reads the list:
/// calamine looks each sheet up by scanning that list, so reading every sheet of a
/// workbook costs sheets² comparisons of their names (a million sheets never finished).
/// Refuses more than `max_sheets`, or a name longer than `max_sheet_name_bytes`.
fn check_xlsx_sheets(archive: &mut Archive, limits: &Limits) -> Result<(), Problem> {
    let part = workbook_part(archive, limits)?;
    let kind = archive.kind();
    let mut count: usize = 0;
    let mut longest: usize = 0;
    let mut budget = super::xml::TextBudget::unbounded();
    let walked = archive.stream(&part, |xml| {
        super::xml::walk(xml, &part, kind, limits, &mut budget, |ev| {
            if let super::xml::Ev::Open(e) = ev
                && e.local_name().as_ref() == "sheet"
            {
                count += 1;
                let name = e
                    .attributes()
                    .with_checks(false)
                    .flatten()
                    .find(|a| a.key.as_ref() == "name")
                    .map_or(0, |a| a.value.len());
                longest = longest.max(name);
            }
        })
    })?;
    // No workbook part: calamine finds no sheets either.
    if walked.is_none() {
        return Ok(());
    }
    if count > limits.max_sheets {
        return Err(Problem::Refused(format!(
            "the workbook lists {count} sheets, more than the {} sheet limit",
            limits.max_sheets
        )));
    }
    if longest > limits.max_sheet_name_bytes {
        return Err(Problem::Refused(format!(
            "a sheet name is {longest} bytes long, more than the {} byte limit (Excel allows 31 characters)",
            limits.max_sheet_name_bytes
        )));
    }
    Ok(())
}

/// The least XML a cell with a value takes: `<c><v>1</v></c>`.
const MIN_CELL_XML: u64 = 16;

/// Refuses a workbook holding more than `max_cells` cells with values before any is read,
/// when its worksheets are big enough to (at least 16 bytes of XML per cell): counting
/// `<v>` and `<is>` elements is a plain streaming pass, several times cheaper than
/// reading the cells, so twelve million cells are refused in about two seconds rather
/// than after reading the first two million. Smaller workbooks skip the pass.
fn count_xlsx_cells(archive: &mut Archive, limits: &Limits) -> Result<(), Problem> {
    let parts: Vec<String> = archive
        .names()
        .into_iter()
        .filter(|n| {
            let n = n.to_ascii_lowercase();
            n.contains("worksheets/") && n.ends_with(".xml")
        })
        .collect();
    let size: u64 = parts.iter().filter_map(|p| archive.measured_size(p)).sum();
    if size / MIN_CELL_XML <= limits.max_cells {
        return Ok(());
    }
    let kind = archive.kind();
    let mut cells: u64 = 0;
    for part in parts {
        let left = limits.max_cells.saturating_sub(cells);
        let found = archive
            .stream(&part, |xml| {
                super::xml::count(xml, &part, kind, limits, &["v", "is"], left)
            })?
            .unwrap_or(0);
        cells = cells.saturating_add(found);
        if cells > limits.max_cells {
            return Err(Problem::Refused(format!(
                "the workbook has more than {} cells",
                limits.max_cells
            )));
        }
    }
    Ok(())
}

/// What calamine will hold once it has opened an xlsx, before any cell is read: every
/// shared string, and a style record per element of `styles.xml`. Counted by streaming
/// those parts, so a table of 50 million one-letter strings is refused before calamine
/// builds it (it cannot be stopped once it has started).
fn calamine_xlsx_bytes(archive: &mut Archive, limits: &Limits) -> Result<u64, Problem> {
    let kind = archive.kind();
    let mut total: u64 = 0;
    for name in archive.names_ending("sharedstrings.xml") {
        // Counted first, stopping past the limit, so a table of fifty million strings
        // costs no more than one at the limit.
        let strings = archive
            .stream(&name, |xml| {
                super::xml::count(xml, &name, kind, limits, &["si"], limits.max_cells)
            })?
            .unwrap_or(0);
        // A string is only worth sharing when a cell uses it, and no more cells than
        // max_cells are read: a longer table is padding to make calamine work.
        if strings > limits.max_cells {
            return Err(Problem::Refused(format!(
                "{name} holds more than {} shared strings, the cell limit",
                limits.max_cells
            )));
        }
        // Each string's text is in the part, so its size bounds the text calamine keeps.
        let bytes = archive.measured_size(&name).unwrap_or(0);
        total = total
            .saturating_add(strings.saturating_mul(BYTES_PER_STRING))
            .saturating_add(bytes);
    }
    for name in archive.names_ending("styles.xml") {
        let mut elements = 0u64;
        let mut budget = super::xml::TextBudget::unbounded();
        archive.stream(&name, |xml| {
            super::xml::walk(xml, &name, kind, limits, &mut budget, |ev| {
                if let super::xml::Ev::Open(_) = ev {
                    elements += 1;
                }
            })
        })?;
        let per = std::mem::size_of::<calamine::Style>() as u64;
        total = total.saturating_add(elements.saturating_mul(per));
    }
    Ok(total)
}

/// calamine reserves room for the `uniqueCount` its shared-strings table declares before
/// reading a string: a tiny file declaring a trillion strings would abort the process
/// (allocation failure cannot be caught). Each string takes at least a few bytes of XML
/// (`<si/>`), so a count beyond a quarter of the part's real size is a lie.
fn check_shared_strings(archive: &mut Archive) -> Result<(), Problem> {
    for name in archive.names_ending("sharedstrings.xml") {
        let Some(size) = archive.measured_size(&name) else {
            continue;
        };
        let Some(head) = archive.read_prefix(&name, 64 * 1024)? else {
            continue;
        };
        let mut reader = quick_xml::Reader::from_reader(&head[..]);
        let declared = loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e))
                    if e.local_name().as_ref() == "sst" =>
                {
                    let count = |key: &str| {
                        super::xml::attr(&e, key).and_then(|v| v.trim().parse::<u64>().ok())
                    };
                    // Only `uniqueCount` sizes the table; `count` counts references.
                    break count("uniqueCount");
                }
                Ok(quick_xml::events::Event::Eof) | Err(_) => break None,
                _ => {}
            }
        };
        if let Some(n) = declared
            && n > size / 4 + 1024
        {
            return Err(Problem::Refused(format!(
                "{name} declares {n} strings but holds only {size} bytes"
            )));
        }
    }
    Ok(())
}

/// calamine expands an ods sheet into a full grid up to its last non-empty row and
/// column, and `number-rows-repeated` / `number-columns-repeated` let a few bytes of XML
/// describe a million rows of values. Refuse grids past `max_cells` before calamine
/// builds them. Repeated *empty* rows and cells (LibreOffice pads every sheet with them)
/// do not count, as calamine does not expand those.
///
/// It also counts the tables against `max_sheets`, and holds the grids' memory (calamine
/// builds them all when it opens the file) against the read's budget.
fn check_ods_extent(
    archive: &mut Archive,
    limits: &Limits,
    cells: &mut Budget<'_>,
) -> Result<(), Problem> {
    let Some(content) = archive.read("content.xml")? else {
        return Ok(());
    };
    let repeat = |e: &quick_xml::events::BytesStart<'_>, key: &str, cap: u64| {
        super::xml::attr(e, key)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1)
            .clamp(1, cap)
    };
    let mut total: u64 = 0;
    let mut tables: usize = 0;
    // Per table: rows so far, last row with content, widest content.
    let (mut row_pos, mut last_row, mut max_col) = (0u64, 0u64, 0u64);
    // Per row: repeat count, column position, end of the last non-empty cell.
    let (mut row_repeat, mut col_pos, mut row_extent) = (1u64, 0u64, 0u64);
    // Per cell: its end column, and whether it holds anything.
    let (mut cell_end, mut cell_full, mut in_cell) = (0u64, false, false);
    // Nothing is kept per element here: only the text is bounded.
    let mut budget = super::xml::TextBudget::counting(limits);
    super::xml::walk(
        &content[..],
        "content.xml",
        Kind::Ods,
        limits,
        &mut budget,
        |ev| match ev {
            super::xml::Ev::Open(e) => match e.local_name().as_ref() {
                "table" => {
                    tables += 1;
                    (row_pos, last_row, max_col) = (0, 0, 0);
                }
                "table-row" => {
                    row_repeat = repeat(e, "table:number-rows-repeated", 1_048_576);
                    (col_pos, row_extent) = (0, 0);
                }
                "table-cell" | "covered-table-cell" => {
                    let n = repeat(e, "table:number-columns-repeated", 16_384);
                    cell_end = col_pos.saturating_add(n);
                    col_pos = cell_end;
                    cell_full = super::xml::attr(e, "office:value-type").is_some();
                    in_cell = true;
                }
                _ => {}
            },
            super::xml::Ev::Text(t) => {
                if in_cell && !t.trim().is_empty() {
                    cell_full = true;
                }
            }
            super::xml::Ev::Close(local) => match local {
                "table-cell" | "covered-table-cell" => {
                    if cell_full {
                        row_extent = cell_end;
                    }
                    in_cell = false;
                }
                "table-row" => {
                    row_pos = row_pos.saturating_add(row_repeat);
                    if row_extent > 0 {
                        last_row = row_pos;
                        max_col = max_col.max(row_extent);
                    }
                }
                "table" => {
                    total = total.saturating_add(last_row.saturating_mul(max_col));
                }
                _ => {}
            },
        },
    )?;
    if tables > limits.max_sheets {
        return Err(Problem::Refused(format!(
            "the workbook has {tables} sheets, more than the {} sheet limit",
            limits.max_sheets
        )));
    }
    if total > limits.max_cells {
        return Err(Problem::Refused(format!(
            "its sheets expand to {total} cells, more than the {} cell limit",
            limits.max_cells
        )));
    }
    let per_slot = std::mem::size_of::<Data>() as u64;
    cells.hold(
        total.saturating_mul(per_slot),
        "the grids its sheets expand to",
    )
}

/// The sheets to read: all, the first, or the one asked for (an error listing the others
/// if absent).
fn selected(all: &[String], pick: Pick<'_>) -> Result<Vec<String>, Problem> {
    match pick {
        Pick::All => Ok(all.to_vec()),
        Pick::First => match all.first() {
            Some(n) => Ok(vec![n.clone()]),
            None => Err(Problem::NoSuchSheet {
                name: "(the first)".to_string(),
                available: String::new(),
            }),
        },
        Pick::Named(w) => match all.iter().find(|n| n.as_str() == w) {
            Some(n) => Ok(vec![n.clone()]),
            None => {
                // Excel treats sheet names case-insensitively.
                match all.iter().find(|n| n.eq_ignore_ascii_case(w)) {
                    Some(n) => Ok(vec![n.clone()]),
                    None => Err(Problem::NoSuchSheet {
                        name: w.to_string(),
                        available: all.join(", "),
                    }),
                }
            }
        },
    }
}

/// One xlsx sheet, streamed cell by cell: calamine's `Range` would allocate the bounding
/// box of the used cells, which a hostile file can make billions of cells wide.
///
/// Rows come in order in a sheet's XML, so a read of a range stops at the first row past
/// it rather than parsing the rest of a sheet of millions of cells.
fn xlsx_sheet<RS: std::io::Read + std::io::Seek>(
    wb: &mut Xlsx<RS>,
    kind: Kind,
    name: &str,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Vec<ReadCell>, Problem> {
    let limits = budget.limits;
    let bad =
        |e: calamine::XlsxError| calamine_problem(kind, limits, format!("sheet {name:?}: {e}"));
    let mut reader = wb.worksheet_cells_reader(name).map_err(bad)?;
    // Format code per style id, taken up front: the palette is borrowed from the reader.
    let formats: Vec<Option<String>> = reader
        .styles()
        .iter()
        .map(|s| {
            s.number_format.as_ref().map(|f| {
                // Built-in ids whose meaning depends on the locale: use what Excel
                // shows (and Office.js reports) in en-US.
                match f.format_id {
                    Some(14) => "m/d/yyyy".to_string(),
                    Some(22) => "m/d/yyyy h:mm".to_string(),
                    Some(5) => "\"$\"#,##0_);\\(\"$\"#,##0\\)".to_string(),
                    Some(6) => "\"$\"#,##0_);[Red]\\(\"$\"#,##0\\)".to_string(),
                    Some(7) => "\"$\"#,##0.00_);\\(\"$\"#,##0.00\\)".to_string(),
                    Some(8) => "\"$\"#,##0.00_);[Red]\\(\"$\"#,##0.00\\)".to_string(),
                    _ => f.format_code.clone(),
                }
            })
        })
        .collect();
    let mut cells = Vec::new();
    while let Some((cell, style)) = reader.next_cell_with_style_id().map_err(bad)? {
        budget.tick()?;
        let (row, col) = cell.get_position();
        let addr = CellAddr::new(row, col);
        if range.is_some_and(|r| row > r.end.row) {
            break;
        }
        if range.is_some_and(|r| !r.contains(addr)) {
            continue;
        }
        if budget.locating {
            if !matches!(cell.get_value(), calamine::DataRef::Empty) {
                budget.locate(addr);
            }
            continue;
        }
        let data: Data = cell.get_value().clone().into();
        let format = formats
            .get(style)
            .cloned()
            .flatten()
            .or_else(|| Some("General".to_string()));
        if let Some(c) = to_cell(addr, &data, format) {
            if !budget.take(&c)? {
                break;
            }
            cells.push(c);
        }
    }
    Ok(cells)
}

/// The selected sheets of a workbook calamine reads as whole ranges (xls, ods).
fn range_sheets<RS: std::io::Read + std::io::Seek, R: Reader<RS>>(
    wb: &mut R,
    kind: Kind,
    pick: Pick<'_>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Found, Problem>
where
    R::Error: std::fmt::Display,
{
    let names = wb.sheet_names();
    let mut sheets = Vec::new();
    for name in selected(&names, pick)? {
        let limits = budget.limits;
        let data = wb
            .worksheet_range(&name)
            .map_err(|e| calamine_problem(kind, limits, format!("sheet {name:?}: {e}")))?;
        let cells = range_cells(&data, range, budget)?;
        sheets.push(SheetRead { sheet: name, cells });
        if budget.truncated {
            break;
        }
    }
    Ok(Found {
        sheets,
        names,
        purview: None,
        truncated: budget.truncated,
        located: budget.found,
    })
}

fn range_cells(
    data: &calamine::Range<Data>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Vec<ReadCell>, Problem> {
    let (r0, c0) = data.start().unwrap_or((0, 0));
    let mut cells = Vec::new();
    for (r, c, v) in data.used_cells() {
        budget.tick()?;
        let (Ok(r), Ok(c)) = (u32::try_from(r), u32::try_from(c)) else {
            continue;
        };
        let addr = CellAddr::new(r0.saturating_add(r), c0.saturating_add(c));
        if range.is_some_and(|rg| !rg.contains(addr)) {
            continue;
        }
        if budget.locating {
            if !matches!(v, Data::Empty) {
                budget.locate(addr);
            }
            continue;
        }
        if let Some(cell) = to_cell(addr, v, None) {
            if !budget.take(&cell)? {
                break;
            }
            cells.push(cell);
        }
    }
    Ok(cells)
}

/// A calamine value as a cell. `format` is the cell's number format code when the file
/// has one; numbers then get the displayed text it renders to (when understood).
fn to_cell(addr: CellAddr, data: &Data, format: Option<String>) -> Option<ReadCell> {
    let (value, text, number_format) = match data {
        Data::Empty => return None,
        Data::Int(i) => {
            let v = *i as f64;
            let text = format.as_deref().and_then(|f| format_number(v, f));
            (CellValue::Number(v), text, format)
        }
        Data::Float(f) => {
            let text = format.as_deref().and_then(|code| format_number(*f, code));
            (CellValue::Number(*f), text, format)
        }
        Data::String(s) => (CellValue::Text(s.clone()), None, format),
        Data::Bool(b) => (CellValue::Bool(*b), None, format),
        Data::Error(e) => (CellValue::Error(e.to_string()), None, format),
        Data::DateTimeIso(s) | Data::DurationIso(s) => (CellValue::Text(s.clone()), None, format),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            // A date with no date format (xls, ods, or a CJK built-in calamine maps to
            // General) gets an ISO date format so its text is still a date.
            let format = match format {
                Some(f) if f != "General" => f,
                _ if dt.is_duration() => "[h]:mm:ss".to_string(),
                _ if serial.fract() != 0.0 => "yyyy-mm-dd hh:mm:ss".to_string(),
                _ => "yyyy-mm-dd".to_string(),
            };
            // The workbook may use the 1904 date system; calamine knows (its own date
            // conversion does), the serial alone does not: compare and shift.
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            let shifted = serial + 1462.0;
            let in_1900 = format_number(serial, "yyyy-mm-dd");
            let want = format!("{y:04}-{m:02}-{d:02}");
            let render_serial = if in_1900.as_deref() == Some(want.as_str()) {
                serial
            } else if format_number(shifted, "yyyy-mm-dd").as_deref() == Some(want.as_str()) {
                shifted
            } else {
                serial
            };
            let text = format_number(render_serial, &format);
            (CellValue::Number(serial), text, Some(format))
        }
    };
    Some(ReadCell {
        addr,
        value,
        text,
        number_format,
    })
}
