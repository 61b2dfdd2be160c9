//! Reads too big for one answer come back in pages.
//!
//! Every tool result is sent twice in one message: as text content and as
//! `structuredContent`. A client reading Streamable HTTP at its defaults takes at most
//! 1 MiB in one server-sent event (the official Python SDK), so a read result is held to
//! [`PAGE_BYTES`] for both copies together, measured on the result as it will be sent.
//! A read that does not fit returns the first rows of its range that do (whole rows, so a
//! page is a rectangle) and says how to ask for the rest: `next_range`, an A1 range to
//! pass back as `range`, and `next_call`, the whole call to make.

use std::io;

use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::{Value, json};
use tracker::office_json::MAX_READ_CELLS;
use tracker::{CellAddr, CellRange, MAX_COLS, MAX_ROWS};

use crate::files::is_open;

/// The most one read result may take as the client receives it: the result's JSON twice
/// (text content, escaped as a JSON string, and `structuredContent`), so about 384 KiB
/// of JSON each. Well under the 1 MiB a client at its defaults accepts in one
/// server-sent event (the official Python SDK), with room for the JSON-RPC envelope.
pub const PAGE_BYTES: usize = 768 * 1024;

/// What a cell read through a pane is expected to take in the result, both copies: a
/// number, its displayed text and its `"General"` format come to about 70 bytes, an empty
/// cell to 38. How many rows to ask a pane for is worked out from it; the answer is then
/// measured and cut to [`PAGE_BYTES`].
pub const PANE_BYTES_PER_CELL: usize = 64;

/// The least a cell read from a file can take in the result, both copies: `null` and
/// `""`, with their commas, and the text copy's escaped quotes (18 bytes). No page holds
/// more cells than [`PAGE_BYTES`] divided by this, so no more are read for one.
pub const FILE_MIN_BYTES_PER_CELL: usize = 18;

/// A stand-in for a provenance id while a result is measured: as long as the real one.
pub const PROVENANCE_PLACEHOLDER: &str = "00000000-0000-0000-0000-000000000000";

/// How many whole rows of `cols` columns to ask a pane for: what [`PANE_BYTES_PER_CELL`]
/// says fits a page, at least one, at most [`MAX_READ_CELLS`] cells.
pub fn rows_to_ask(cols: u32) -> u32 {
    let cols = cols.max(1) as usize;
    let by_bytes = PAGE_BYTES / (cols * PANE_BYTES_PER_CELL);
    let by_cells = MAX_READ_CELLS / cols;
    u32::try_from(by_bytes.min(by_cells).max(1)).unwrap_or(u32::MAX)
}

/// At most how many cells of a file one page can hold ([`FILE_MIN_BYTES_PER_CELL`]).
pub fn file_cells_to_read() -> usize {
    (PAGE_BYTES / FILE_MIN_BYTES_PER_CELL).min(MAX_READ_CELLS)
}

/// Counts the bytes of JSON written to it, and the `"` and `\` among them (each takes one
/// more byte once the JSON is itself a JSON string, as in the text content).
#[derive(Default)]
struct Counter {
    bytes: usize,
    escaped: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len();
        self.escaped += buf.iter().filter(|b| matches!(b, b'"' | b'\\')).count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Adds to `costs[i]` what row `i` of `grid` takes in a result, both copies: its JSON and a
/// comma in `structuredContent`, and the same again in the text content with its quotes
/// and backslashes escaped.
pub fn add_row_costs<T: Serialize>(costs: &mut Vec<usize>, grid: &[Vec<T>]) {
    if costs.len() < grid.len() {
        costs.resize(grid.len(), 0);
    }
    for (cost, row) in costs.iter_mut().zip(grid) {
        let mut n = Counter::default();
        // Values serialize infallibly into a writer that never fails.
        let _ = serde_json::to_writer(&mut n, row);
        *cost += 2 * (n.bytes + 1) + n.escaped;
    }
}

/// What `value` takes as a successful tool result (text content and `structuredContent`),
/// serialized: exactly what [`super::ok`] sends.
pub fn result_bytes(value: &Value) -> usize {
    // The envelope around the two copies, measured once on a result of `null`: its
    // text content is `"null"` (6 bytes) and its structured content `null` (4).
    static ENVELOPE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let envelope = *ENVELOPE.get_or_init(|| {
        serde_json::to_vec(&CallToolResult::structured(Value::Null)).map_or(0, |v| v.len()) - 10
    });
    let mut n = Counter::default();
    let _ = serde_json::to_writer(&mut n, value);
    // The text copy: the JSON as a JSON string. Compact JSON holds no raw control
    // characters, so only its quotes and backslashes grow, by one byte each.
    envelope + n.bytes + (n.bytes + 2 + n.escaped)
}

/// How many of a page's rows to return, and the result for them: the most whose result
/// fits [`PAGE_BYTES`]. `costs[i]` is what row `i` adds ([`add_row_costs`]); `build(n)`
/// makes the result for the first `n` rows (what it flags and labels may depend on
/// them). The result is measured, and rows dropped until it fits. `Err` holds what the
/// result would take with only the first row, when even that does not fit.
pub fn fit_rows(
    costs: &[usize],
    mut build: impl FnMut(usize) -> Value,
) -> Result<(usize, Value), usize> {
    let bare = build(0);
    if costs.is_empty() {
        return Ok((0, bare));
    }
    let mut total = result_bytes(&bare);
    let mut n = 0;
    while n < costs.len() && total + costs[n] <= PAGE_BYTES {
        total += costs[n];
        n += 1;
    }
    loop {
        if n == 0 {
            return Err(result_bytes(&bare) + costs[0]);
        }
        let value = build(n);
        let size = result_bytes(&value);
        if size <= PAGE_BYTES {
            return Ok((n, value));
        }
        let mut excess = size - PAGE_BYTES;
        while n > 0 && excess > 0 {
            n -= 1;
            excess = excess.saturating_sub(costs[n]);
        }
    }
}

/// The tool error for a row that alone is more than one answer carries.
pub fn row_too_big(sheet: &str, row: u32, bytes: usize) -> String {
    format!(
        "row {} of sheet {sheet:?} alone is {} KiB as a result, more than one answer carries ({} KiB): read it in narrower parts (fewer columns at a time)",
        row + 1,
        bytes.div_ceil(1024),
        PAGE_BYTES / 1024
    )
}

/// How a read was asked for, which decides the form of what follows a page.
#[derive(Clone, Copy, Debug)]
pub enum Asked {
    /// A range (`B2:D5`, `A:C`, `2:5`).
    Range(CellRange),
    /// No range: the used range (`xlsx_read`).
    UsedRange,
}

impl Asked {
    fn open_down(self) -> bool {
        match self {
            Asked::Range(r) => is_open(&r) && r.reaches_last_row(),
            Asked::UsedRange => true,
        }
    }
}

/// The range to ask for after the first `rows` rows of `covers` (the rectangle a read
/// stands for): `None` when no row remains. It is the rest of `covers` when that holds at
/// most [`MAX_READ_CELLS`] cells. Past that it runs to the sheet's last row (or, for
/// whole rows, to the last column) again, as the read asked, which stands for "as far as
/// the data goes" and is not held to the limit: a large sheet is read page by page.
pub fn rest(asked: Asked, covers: CellRange, rows: u32) -> Option<CellRange> {
    if rows >= covers.rows() {
        return None;
    }
    let start = CellAddr::new(covers.start.row + rows, covers.start.col);
    let rest = CellRange::new(start, covers.end);
    if rest.cell_count() <= MAX_READ_CELLS as u64 {
        return Some(rest);
    }
    Some(if asked.open_down() {
        CellRange::new(start, CellAddr::new(MAX_ROWS - 1, covers.end.col))
    } else {
        CellRange::new(start, CellAddr::new(covers.end.row, MAX_COLS - 1))
    })
}

/// Adds what a page says when rows of its range remain: `complete: false`, how many rows
/// it holds and how many remain, `next_range` and `next_call` (the tool and arguments
/// that read on).
pub fn add_next(
    result: &mut Value,
    returned: u32,
    covers: CellRange,
    next: CellRange,
    tool: &str,
    mut arguments: Value,
) {
    let next_range = next.to_string();
    arguments["range"] = json!(next_range);
    result["complete"] = json!(false);
    result["rows_returned"] = json!(returned);
    result["rows_remaining"] = json!(covers.rows().saturating_sub(returned));
    result["next_range"] = json!(next_range);
    result["next_call"] = json!({"tool": tool, "arguments": arguments});
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> CellRange {
        CellRange::parse_whole(s).unwrap()
    }

    #[test]
    fn results_are_measured_as_sent() {
        let value = json!({"values": [[1, "a\"b\\c"], [null, true]], "text": ["é", "\n"]});
        let sent = serde_json::to_vec(&super::super::ok(value.clone())).unwrap();
        assert_eq!(result_bytes(&value), sent.len());
    }

    #[test]
    fn row_costs_add_up_to_the_grids() {
        let grid = vec![vec![json!(1), json!("x\"y")], vec![json!(null), json!(2.5)]];
        let mut costs = Vec::new();
        add_row_costs(&mut costs, &grid);
        let bare = json!({"values": []});
        let full = json!({"values": grid});
        // Each row is counted with a comma; the last row has none (2 bytes, one per copy).
        assert_eq!(
            result_bytes(&bare) + costs.iter().sum::<usize>(),
            result_bytes(&full) + 2
        );
    }

    #[test]
    fn pages_hold_as_many_rows_as_fit() {
        let row = vec![json!("x".repeat(1000))];
        let grid = vec![row; 2000];
        let mut costs = Vec::new();
        add_row_costs(&mut costs, &grid);
        let (n, value) = fit_rows(&costs, |n| json!({"values": grid[..n]})).unwrap();
        assert!(result_bytes(&value) <= PAGE_BYTES);
        assert!(n > 300 && n < 2000, "{n}");
        let more = json!({"values": grid[..n + 1]});
        assert!(result_bytes(&more) > PAGE_BYTES);
        // A row too big alone.
        let huge = vec![vec![json!("x".repeat(PAGE_BYTES))]];
        let mut costs = Vec::new();
        add_row_costs(&mut costs, &huge);
        let e = fit_rows(&costs, |n| json!({"values": huge[..n]})).unwrap_err();
        assert!(e > PAGE_BYTES);
        // No rows at all.
        let (n, _) = fit_rows(&[], |_| json!({})).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn what_follows_a_page_keeps_its_columns() {
        let asked = Asked::Range(range("B2:D1000"));
        assert_eq!(
            rest(asked, range("B2:D1000"), 100).unwrap().to_string(),
            "B102:D1000"
        );
        assert_eq!(rest(asked, range("B2:D1000"), 999), None);
        // Past the limit the rest of whole columns runs to the last row again.
        let asked = Asked::Range(range("A:C"));
        let covers = range("A1:C500000");
        assert_eq!(rest(asked, covers, 10).unwrap().to_string(), "A11:C1048576");
        assert_eq!(
            rest(asked, covers, 470_000).unwrap().to_string(),
            "A470001:C500000"
        );
        let covers = range("B3:CV5000");
        assert_eq!(
            rest(Asked::UsedRange, covers, 100).unwrap().to_string(),
            "B103:CV1048576"
        );
        // Whole rows, very wide: the rest runs to the last column.
        let asked = Asked::Range(range("1:200"));
        let covers = range("A1:ZZ200");
        assert_eq!(rest(asked, covers, 2).unwrap().to_string(), "A3:XFD200");
        assert_eq!(rows_to_ask(100), 122);
        assert_eq!(rows_to_ask(16_384), 1);
        assert_eq!(rows_to_ask(1), 12_288);
    }
}
