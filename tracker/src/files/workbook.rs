//! Workbooks through calamine: xlsx and xlsm cell by cell with their number formats (from
//! calamine's style palette, rendered to displayed text by `numfmt`), xls and ods by range.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, Ods, Reader, Xls, Xlsx};

use crate::model::{CellAddr, CellRange, CellValue, ReadCell, SheetRead};

use super::guard::Archive;
use super::numfmt::format_number;
use super::{Kind, Limits, Problem, PurviewLabel, ooxml};

/// Counts cells and characters across a workbook against the limits.
struct Budget<'a> {
    limits: &'a Limits,
    cells: u64,
    chars: usize,
}

impl Budget<'_> {
    fn take(&mut self, cell: &ReadCell) -> Result<(), Problem> {
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
        Ok(())
    }
}

/// Reads the selected sheets (all when `sheet` is `None`) of an xlsx, xlsm, xls or ods
/// file, keeping cells inside `range` when given, and the Purview label of OOXML files.
pub(crate) fn read(
    path: &Path,
    kind: Kind,
    sheet: Option<&str>,
    range: Option<CellRange>,
    limits: &Limits,
) -> Result<(Vec<SheetRead>, Option<PurviewLabel>), Problem> {
    // calamine parses hostile bytes; should it ever panic on them, this file fails and
    // the scan goes on with the next one instead of the process dying.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_inner(path, kind, sheet, range, limits)
    }))
    .unwrap_or_else(|_| {
        Err(Problem::invalid(
            kind,
            "the spreadsheet reader crashed on its content (malformed file)",
        ))
    })
}

fn read_inner(
    path: &Path,
    kind: Kind,
    sheet: Option<&str>,
    range: Option<CellRange>,
    limits: &Limits,
) -> Result<(Vec<SheetRead>, Option<PurviewLabel>), Problem> {
    let mut budget = Budget {
        limits,
        cells: 0,
        chars: 0,
    };
    match kind {
        Kind::Xlsx | Kind::Xlsm => {
            // calamine trusts the archive: prove it is within the limits first.
            let mut archive = Archive::open(path, kind, limits)?;
            archive.verify_all()?;
            check_shared_strings(&mut archive)?;
            let purview = ooxml::purview(&mut archive, limits)?;
            drop(archive);
            let mut wb = Xlsx::new(BufReader::new(File::open(path)?))
                .map_err(|e| Problem::invalid(kind, e.to_string()))?;
            let names = selected(wb.sheet_names(), sheet)?;
            let mut sheets = Vec::new();
            for name in names {
                let cells = xlsx_sheet(&mut wb, kind, &name, range, &mut budget)?;
                sheets.push(SheetRead { sheet: name, cells });
            }
            Ok((sheets, purview))
        }
        Kind::Ods => {
            let mut archive = Archive::open(path, kind, limits)?;
            archive.verify_all()?;
            check_ods_extent(&mut archive, limits)?;
            drop(archive);
            let mut wb: Ods<_> = Ods::new(BufReader::new(File::open(path)?))
                .map_err(|e| Problem::invalid(kind, e.to_string()))?;
            Ok((
                range_sheets(&mut wb, kind, sheet, range, &mut budget)?,
                None,
            ))
        }
        Kind::Xls => {
            // The size was checked before: holding the file in memory is bounded.
            let bytes = std::fs::read(path)?;
            super::cfb::check_xls(&bytes)?;
            let mut wb: Xls<_> = Xls::new(std::io::Cursor::new(bytes))
                .map_err(|e| Problem::invalid(kind, e.to_string()))?;
            Ok((
                range_sheets(&mut wb, kind, sheet, range, &mut budget)?,
                None,
            ))
        }
        _ => Err(Problem::invalid(kind, "not a workbook")),
    }
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
fn check_ods_extent(archive: &mut Archive, limits: &Limits) -> Result<(), Problem> {
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
    // Per table: rows so far, last row with content, widest content.
    let (mut row_pos, mut last_row, mut max_col) = (0u64, 0u64, 0u64);
    // Per row: repeat count, column position, end of the last non-empty cell.
    let (mut row_repeat, mut col_pos, mut row_extent) = (1u64, 0u64, 0u64);
    // Per cell: its end column, and whether it holds anything.
    let (mut cell_end, mut cell_full, mut in_cell) = (0u64, false, false);
    let mut budget = super::xml::TextBudget::new(limits);
    super::xml::walk(
        &content,
        "content.xml",
        Kind::Ods,
        limits,
        &mut budget,
        |ev| match ev {
            super::xml::Ev::Open(e) => match e.local_name().as_ref() {
                "table" => (row_pos, last_row, max_col) = (0, 0, 0),
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
    if total > limits.max_cells {
        return Err(Problem::Refused(format!(
            "its sheets expand to {total} cells, more than the {} cell limit",
            limits.max_cells
        )));
    }
    Ok(())
}

/// The sheets to read: all, or the one asked for (an error listing the others if absent).
fn selected(all: Vec<String>, want: Option<&str>) -> Result<Vec<String>, Problem> {
    match want {
        None => Ok(all),
        Some(w) => match all.iter().find(|n| n.as_str() == w) {
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
fn xlsx_sheet(
    wb: &mut Xlsx<BufReader<File>>,
    kind: Kind,
    name: &str,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Vec<ReadCell>, Problem> {
    let bad = |e: calamine::XlsxError| Problem::invalid(kind, format!("sheet {name:?}: {e}"));
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
        let (row, col) = cell.get_position();
        let addr = CellAddr::new(row, col);
        if range.is_some_and(|r| !r.contains(addr)) {
            continue;
        }
        let data: Data = cell.get_value().clone().into();
        let format = formats
            .get(style)
            .cloned()
            .flatten()
            .or_else(|| Some("General".to_string()));
        if let Some(c) = to_cell(addr, &data, format) {
            budget.take(&c)?;
            cells.push(c);
        }
    }
    Ok(cells)
}

/// The selected sheets of a workbook calamine reads as whole ranges (xls, ods).
fn range_sheets<RS: std::io::Read + std::io::Seek, R: Reader<RS>>(
    wb: &mut R,
    kind: Kind,
    sheet: Option<&str>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Vec<SheetRead>, Problem>
where
    R::Error: std::fmt::Display,
{
    let mut sheets = Vec::new();
    for name in selected(wb.sheet_names(), sheet)? {
        let data = wb
            .worksheet_range(&name)
            .map_err(|e| Problem::invalid(kind, format!("sheet {name:?}: {e}")))?;
        let cells = range_cells(&data, range, budget)?;
        sheets.push(SheetRead { sheet: name, cells });
    }
    Ok(sheets)
}

fn range_cells(
    data: &calamine::Range<Data>,
    range: Option<CellRange>,
    budget: &mut Budget<'_>,
) -> Result<Vec<ReadCell>, Problem> {
    let (r0, c0) = data.start().unwrap_or((0, 0));
    let mut cells = Vec::new();
    for (r, c, v) in data.used_cells() {
        let (Ok(r), Ok(c)) = (u32::try_from(r), u32::try_from(c)) else {
            continue;
        };
        let addr = CellAddr::new(r0.saturating_add(r), c0.saturating_add(c));
        if range.is_some_and(|rg| !rg.contains(addr)) {
            continue;
        }
        if let Some(cell) = to_cell(addr, v, None) {
            budget.take(&cell)?;
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
