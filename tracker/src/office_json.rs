//! What JSON from Office and from the agent means to the tracker: the one place where a
//! pane's answer becomes labelled cells and where the values of a write become the
//! [`WriteContent`] the tracker checks.
//!
//! The bridge moves these values around; it does not interpret them. Keeping the rules
//! here means a write is seen the same way whichever door it came through (a pane's
//! `excel_write_range`, a slide table, an `xlsx_write` file): one renderer for what a
//! value shows as ([`shown_text`]), one rule for which strings are Excel error values
//! ([`is_excel_error`]), and one limit per direction ([`MAX_READ_CELLS`],
//! [`MAX_WRITE_CELLS`]).

use serde_json::Value;

use crate::files::quote_sheet;
use crate::model::{
    CellAddr, CellRange, CellValue, DocumentRef, ExplicitSource, ProvenanceId, ReadCell, ReadEvent,
    SheetRead, UnixMillis, WriteContent, WritePart,
};

/// The most cells one read returns to the agent, whether from a pane or a file (the panes
/// hold the same limit for one message).
pub const MAX_READ_CELLS: usize = 100_000;
/// The most cells one write may carry, whether into a pane or a file.
pub const MAX_WRITE_CELLS: usize = 100_000;

/// Excel's error values, exactly as Office.js reports them in `values` and as Excel shows
/// them. Only these are errors: other text starting with `#` ("#Top priority!") is text,
/// labelled and matched like any other.
pub const EXCEL_ERRORS: &[&str] = &[
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
    "#PYTHON!",
];

/// Whether `s` is one of Excel's error values (case as Excel writes them).
pub fn is_excel_error(s: &str) -> bool {
    EXCEL_ERRORS.contains(&s)
}

/// A JSON cell value as the tracker labels it; `None` for what is no value (null, empty
/// text, lists and objects).
pub fn cell_value(v: &Value) -> Option<CellValue> {
    match v {
        Value::Number(n) => n.as_f64().map(CellValue::Number),
        Value::String(s) if s.is_empty() => None,
        Value::String(s) if is_excel_error(s) => Some(CellValue::Error(s.clone())),
        Value::String(s) => Some(CellValue::Text(s.clone())),
        Value::Bool(b) => Some(CellValue::Bool(*b)),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A JSON value as Excel shows it in a cell with the General format, which is what the
/// tracker matches a write against: numbers in their shortest round-trip form (`1234.5`,
/// `0.1`, `1`, never `1.0`; -0 as `0`), booleans `TRUE`/`FALSE`, null as `""`.
pub fn shown_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => bool_text(*b).to_string(),
        Value::Number(n) => match n.as_f64() {
            // Excel keeps numbers as doubles: a huge integer shows as its double does.
            Some(0.0) => "0".to_string(),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `TRUE` or `FALSE`, as Excel shows a boolean.
pub fn bool_text(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

/// Rows of JSON values as the text they will show.
pub fn shown_rows(rows: &[Vec<Value>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(shown_text).collect())
        .collect()
}

/// `A1:C3` for a grid of `rows` × `cols` written from A1; `""` when it holds no cell.
pub fn grid_address(rows: usize, cols: usize) -> String {
    if rows == 0 || cols == 0 {
        return String::new();
    }
    let end = CellAddr::new(
        u32::try_from(rows - 1).unwrap_or(u32::MAX),
        u32::try_from(cols - 1).unwrap_or(u32::MAX),
    );
    CellRange::new(CellAddr::new(0, 0), end).to_string()
}

/// A labelled cell's value as JSON for the agent: whole numbers within ±2^53 as integers
/// (`3`, not `3.0`), errors as their text, empty as null.
pub fn cell_json(v: &CellValue) -> Value {
    match v {
        CellValue::Empty => Value::Null,
        CellValue::Number(n) => {
            if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
                Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        CellValue::Text(s) | CellValue::Error(s) => Value::String(s.clone()),
        CellValue::Bool(b) => Value::Bool(*b),
    }
}

/// Checks a grid of values to write: at least one cell, scalar cells, at most
/// [`MAX_WRITE_CELLS`]. Returns the cell count; `Err` says what is wrong, naming the
/// argument `what`.
pub fn check_write_grid(rows: &[Vec<Value>], what: &str) -> Result<usize, String> {
    if rows.is_empty() || rows.iter().all(Vec::is_empty) {
        return Err(format!(
            "{what} is empty: give at least one row with one cell"
        ));
    }
    let mut cells = 0usize;
    for (r, row) in rows.iter().enumerate() {
        if let Some(c) = row.iter().position(|v| v.is_object() || v.is_array()) {
            return Err(format!(
                "{what}: row {} cell {} is a list or object; cells hold numbers, strings, booleans or null",
                r + 1,
                c + 1
            ));
        }
        cells += row.len();
    }
    if cells > MAX_WRITE_CELLS {
        return Err(format!(
            "{what} has {cells} cells; at most {MAX_WRITE_CELLS} per call, split it"
        ));
    }
    Ok(cells)
}

/// A range as a pane reports it (`excel.readRange`, `excel.getSelection`). Panes are code
/// we ship, but they run in a person's Office and their answers are still input: every
/// shape is checked here.
#[derive(Debug)]
pub struct PaneRange {
    /// The sheet the range is on.
    pub sheet: String,
    /// Without the sheet ("B2:D5").
    pub address: String,
    /// The range the pane reported; `values[0][0]` sits at its first cell.
    pub range: CellRange,
    /// Office.js `values`: numbers, strings, booleans; errors as their text.
    pub values: Vec<Vec<Value>>,
    /// Office.js `text`: what each cell displays.
    pub text: Vec<Vec<Value>>,
    /// Office.js `numberFormat`.
    pub number_format: Vec<Vec<Value>>,
}

impl PaneRange {
    /// Checks a pane's answer. `fallback_sheet` is the sheet asked for (the selection
    /// names its own).
    pub fn parse(answer: &Value, fallback_sheet: Option<&str>) -> Result<PaneRange, String> {
        let bad = |what: &str| format!("the pane answered an unexpected shape ({what})");
        let sheet = answer
            .get("sheet")
            .and_then(Value::as_str)
            .or(fallback_sheet)
            .ok_or_else(|| bad("no sheet"))?
            .to_string();
        let address = answer
            .get("address")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no address"))?;
        let (_, address) = crate::split_sheet(address);
        let range = CellRange::parse(address).map_err(|e| bad(&format!("address: {e}")))?;
        let grid = |key: &str| -> Result<Vec<Vec<Value>>, String> {
            match answer.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(rows)) => rows
                    .iter()
                    .map(|r| match r {
                        Value::Array(cells) => Ok(cells.clone()),
                        _ => Err(bad(&format!("{key} is not a grid"))),
                    })
                    .collect(),
                Some(_) => Err(bad(&format!("{key} is not a grid"))),
            }
        };
        let values = grid("values")?;
        let cells: usize = values.iter().map(Vec::len).sum();
        if cells > MAX_READ_CELLS {
            return Err(bad(&format!(
                "{cells} cells, over the limit of {MAX_READ_CELLS} per read"
            )));
        }
        Ok(PaneRange {
            sheet,
            address: address.to_string(),
            range,
            values,
            text: grid("text")?,
            number_format: grid("numberFormat")?,
        })
    }

    fn text_at(&self, r: usize, c: usize) -> Option<&str> {
        self.text.get(r)?.get(c)?.as_str()
    }

    /// The cells, for the tracker's labels (empty cells are not labels).
    pub fn cells(&self) -> Vec<ReadCell> {
        let mut out = Vec::new();
        for (r, row) in self.values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let Some(value) = cell_value(v) else { continue };
                let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
                let format = self
                    .number_format
                    .get(r)
                    .and_then(|row| row.get(c))
                    .and_then(Value::as_str);
                out.push(ReadCell {
                    addr: CellAddr::new(
                        self.range.start.row.saturating_add(r as u32),
                        self.range.start.col.saturating_add(c as u32),
                    ),
                    value,
                    text: non_empty(self.text_at(r, c)),
                    number_format: non_empty(format).filter(|f| f != "General"),
                });
            }
        }
        out
    }

    /// What the person sees in each cell: the displayed text where the pane gave it,
    /// else the value as Excel shows it.
    pub fn displayed_rows(&self) -> Vec<Vec<String>> {
        self.values
            .iter()
            .enumerate()
            .map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .map(|(c, v)| {
                        self.text_at(r, c)
                            .map(str::to_string)
                            .unwrap_or_else(|| shown_text(v))
                    })
                    .collect()
            })
            .collect()
    }

    /// The read the tracker labels.
    pub fn read_event(&self, document: &DocumentRef, request: &str, at: UnixMillis) -> ReadEvent {
        ReadEvent {
            id: ProvenanceId::new(),
            document: document.clone(),
            sheets: vec![SheetRead {
                sheet: self.sheet.clone(),
                cells: self.cells(),
            }],
            at,
            request: request.to_string(),
        }
    }

    /// This range as the source of an explicit copy into `location`.
    pub fn as_source(&self, document: DocumentRef, location: &str) -> ExplicitSource {
        ExplicitSource {
            document,
            sheet: self.sheet.clone(),
            range: self.range,
            location: location.to_string(),
        }
    }
}

/// A slide as a pane reports it, labelled as a source: each shape's text is one "cell"
/// of a sheet named after the slide, so text copied from a slide is traced like cells.
/// `None` when the answer is not a slide.
pub fn slide_read(
    slide: &Value,
    document: &DocumentRef,
    request: &str,
    at: UnixMillis,
) -> Option<ReadEvent> {
    let index = slide.get("index").and_then(Value::as_u64)?;
    let shapes = slide.get("shapes").and_then(Value::as_array)?;
    let cells: Vec<ReadCell> = shapes
        .iter()
        .enumerate()
        .filter_map(|(i, shape)| {
            let text = shape.get("text").and_then(Value::as_str)?.trim();
            (!text.is_empty()).then(|| ReadCell {
                addr: CellAddr::new(i as u32, 0),
                value: CellValue::Text(text.to_string()),
                text: None,
                number_format: None,
            })
        })
        .collect();
    Some(ReadEvent {
        id: ProvenanceId::new(),
        document: document.clone(),
        sheets: vec![SheetRead {
            sheet: format!("slide {index}"),
            cells,
        }],
        at,
        request: request.to_string(),
    })
}

impl WriteContent {
    /// A table of values (a range of cells, a slide table) written at `location`.
    pub fn table(target: DocumentRef, location: String, rows: Vec<Vec<String>>) -> WriteContent {
        WriteContent {
            target,
            parts: vec![WritePart::Table { location, rows }],
            explicit_sources: Vec::new(),
        }
    }

    /// A piece of text (a text box) written at `location`.
    pub fn text(target: DocumentRef, location: String, text: String) -> WriteContent {
        WriteContent {
            target,
            parts: vec![WritePart::Text { location, text }],
            explicit_sources: Vec::new(),
        }
    }

    /// A workbook file: one table per sheet at `Name!A1:C3` (the name quoted as in a
    /// formula when it needs it, `'Q3 Revenue'!A1:B2`; the bare name for an empty sheet),
    /// rows padded to a rectangle, cells as Excel will show them ([`shown_text`]); and
    /// each sheet's name as text of its own (`name of sheet ...`), since the agent picks
    /// names too and a value hidden in one leaves the machine like any cell.
    pub fn workbook<'a>(
        target: DocumentRef,
        sheets: impl IntoIterator<Item = (&'a str, &'a [Vec<Value>])>,
    ) -> WriteContent {
        let parts = sheets
            .into_iter()
            .flat_map(|(name, rows)| {
                let width = rows.iter().map(Vec::len).max().unwrap_or(0);
                let quoted = quote_sheet(name);
                let address = grid_address(rows.len(), width);
                let location = if address.is_empty() {
                    quoted
                } else {
                    format!("{quoted}!{address}")
                };
                let rows = shown_rows(rows)
                    .into_iter()
                    .map(|mut row| {
                        row.resize(width, String::new());
                        row
                    })
                    .collect();
                [
                    WritePart::Table { location, rows },
                    WritePart::Text {
                        location: format!("name of sheet {}", quote_sheet(name)),
                        text: name.to_string(),
                    },
                ]
            })
            .collect();
        WriteContent {
            target,
            parts,
            explicit_sources: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::App;
    use serde_json::json;

    fn answer() -> Value {
        json!({
            "sheet": "Revenue",
            "address": "B2:C3",
            "values": [[1234.5, "EMEA"], ["", true]],
            "text": [["$1,234.50", "EMEA"], ["", "TRUE"]],
            "numberFormat": [["$#,##0.00", "General"], ["General", "General"]],
        })
    }

    #[test]
    fn a_pane_range_becomes_labelled_cells_at_their_addresses() {
        let r = PaneRange::parse(&answer(), None).unwrap();
        assert_eq!(r.sheet, "Revenue");
        let cells = r.cells();
        assert_eq!(cells.len(), 3, "the empty cell is not a label");
        assert_eq!(cells[0].addr.to_a1(), "B2");
        assert_eq!(cells[0].value, CellValue::Number(1234.5));
        assert_eq!(cells[0].text.as_deref(), Some("$1,234.50"));
        assert_eq!(cells[0].number_format.as_deref(), Some("$#,##0.00"));
        assert_eq!(cells[1].addr.to_a1(), "C2");
        assert_eq!(cells[1].number_format, None, "General is no format");
        assert_eq!(cells[2].addr.to_a1(), "C3");
        assert_eq!(cells[2].value, CellValue::Bool(true));
        let doc = DocumentRef::new(App::Excel, "Q3.xlsx", "https://x/Q3.xlsx");
        let ev = r.read_event(&doc, "excel_read_range", 5);
        assert_eq!(ev.sheets[0].cells.len(), 3);
        assert_eq!(
            r.displayed_rows(),
            vec![vec!["$1,234.50", "EMEA"], vec!["", "TRUE"]]
        );
    }

    #[test]
    fn a_sheet_qualified_address_and_bad_shapes_are_handled() {
        let mut a = answer();
        a["address"] = json!("'My Sheet'!D4:E5");
        let r = PaneRange::parse(&a, Some("x")).unwrap();
        assert_eq!(r.address, "D4:E5");
        assert_eq!(r.cells()[0].addr.to_a1(), "D4");
        let e = PaneRange::parse(&json!({"sheet": "S", "address": 5}), None).unwrap_err();
        assert!(e.contains("no address"), "{e}");
        let e = PaneRange::parse(&json!({"sheet": "S", "address": "A1", "values": 3}), None)
            .unwrap_err();
        assert!(e.contains("values is not a grid"), "{e}");
    }

    #[test]
    fn a_pane_answer_over_the_read_limit_is_refused() {
        let row: Vec<Value> = vec![json!(1); 1000];
        let rows: Vec<Vec<Value>> = vec![row; MAX_READ_CELLS / 1000 + 1];
        let a = json!({"sheet": "S", "address": "A1", "values": rows});
        let e = PaneRange::parse(&a, None).unwrap_err();
        assert!(e.contains("over the limit of 100000"), "{e}");
    }

    #[test]
    fn only_excels_own_error_values_are_errors() {
        for e in EXCEL_ERRORS {
            assert_eq!(cell_value(&json!(e)), Some(CellValue::Error(e.to_string())));
        }
        for text in ["#Top priority!", "#1 in EMEA!", "#hashtag?", "#NA", "#n/a"] {
            assert_eq!(
                cell_value(&json!(text)),
                Some(CellValue::Text(text.into())),
                "{text} is text and gets labelled"
            );
        }
        assert_eq!(cell_value(&json!("")), None);
        assert_eq!(cell_value(&json!(null)), None);
        assert_eq!(cell_value(&json!([1])), None);
    }

    #[test]
    fn values_render_as_excel_shows_them_whatever_door_they_come_through() {
        let cases = [
            (json!(1234.5), "1234.5"),
            (json!(1.0), "1"),
            (json!(3), "3"),
            (json!(-0.0), "0"),
            (json!(0.1), "0.1"),
            (json!(1e21), "1000000000000000000000"),
            (json!(true), "TRUE"),
            (json!(false), "FALSE"),
            (json!(null), ""),
            (json!("=SUM(A1)"), "=SUM(A1)"),
        ];
        for (v, shown) in cases {
            assert_eq!(shown_text(&v), shown, "{v}");
        }
        let rows = vec![vec![json!(1.0), json!(true)]];
        let target = DocumentRef::new(App::Excel, "Q3.xlsx", "u");
        let WritePart::Table { rows: pane, .. } =
            &WriteContent::table(target.clone(), "S!A1:B1".into(), shown_rows(&rows)).parts[0]
        else {
            panic!("a table")
        };
        let WritePart::Table { rows: file, .. } =
            &WriteContent::workbook(target, [("S", rows.as_slice())]).parts[0]
        else {
            panic!("a table")
        };
        assert_eq!(
            pane, file,
            "the pane path and the file path see the same write"
        );
    }

    #[test]
    fn a_workbook_write_is_one_table_per_sheet_padded_to_a_rectangle() {
        let target = DocumentRef::new(App::File, "out.xlsx", "/data/out.xlsx");
        let revenue = vec![
            vec![json!("Region"), json!(1234.5), json!(3)],
            vec![json!("EMEA"), json!(0.1), json!(true), json!(false)],
            vec![json!(null), json!(-0.0), json!(1e21)],
        ];
        let notes = vec![vec![json!("=SUM(A1)")]];
        let content = WriteContent::workbook(
            target.clone(),
            [
                ("Revenue", revenue.as_slice()),
                ("Q3 Notes", notes.as_slice()),
                ("Bob's", &[][..]),
            ],
        );
        assert_eq!(content.target, target);
        assert!(content.explicit_sources.is_empty());
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            content.parts,
            vec![
                WritePart::Table {
                    location: "Revenue!A1:D3".into(),
                    rows: vec![
                        s(&["Region", "1234.5", "3", ""]),
                        s(&["EMEA", "0.1", "TRUE", "FALSE"]),
                        s(&["", "0", "1000000000000000000000", ""]),
                    ],
                },
                WritePart::Text {
                    location: "name of sheet Revenue".into(),
                    text: "Revenue".into(),
                },
                WritePart::Table {
                    location: "'Q3 Notes'!A1".into(),
                    rows: vec![s(&["=SUM(A1)"])],
                },
                WritePart::Text {
                    location: "name of sheet 'Q3 Notes'".into(),
                    text: "Q3 Notes".into(),
                },
                WritePart::Table {
                    location: "'Bob''s'".into(),
                    rows: vec![],
                },
                WritePart::Text {
                    location: "name of sheet 'Bob''s'".into(),
                    text: "Bob's".into(),
                },
            ]
        );
    }

    #[test]
    fn write_grids_are_checked_against_the_one_write_limit() {
        assert_eq!(
            check_write_grid(&[vec![json!(1), json!("a")]], "values"),
            Ok(2)
        );
        let e = check_write_grid(&[], "values").unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        let e = check_write_grid(&[vec![json!([1])]], "rows").unwrap_err();
        assert!(e.contains("row 1 cell 1 is a list"), "{e}");
        let wide = vec![vec![json!(0); MAX_WRITE_CELLS + 1]];
        let e = check_write_grid(&wide, "values").unwrap_err();
        assert!(e.contains("at most 100000 per call"), "{e}");
    }

    #[test]
    fn slides_are_labelled_by_shape() {
        let slide = json!({"id": "256", "index": 2, "shapes": [
            {"id": "1", "name": "Title", "text": "Quarterly results"},
            {"id": "3", "name": "Empty", "text": ""}
        ]});
        let doc = DocumentRef::new(App::Powerpoint, "Board.pptx", "");
        let ev = slide_read(&slide, &doc, "ppt_read_slide", 1).unwrap();
        assert_eq!(ev.sheets[0].sheet, "slide 2");
        assert_eq!(ev.sheets[0].cells.len(), 1);
        assert!(slide_read(&json!({"shapes": []}), &doc, "x", 1).is_none());
    }
}
