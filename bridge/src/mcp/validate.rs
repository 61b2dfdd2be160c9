//! The checks the tools make on their arguments before they ask a pane, read or write a
//! file, or consult the tracker, in one place. The tool handlers call these; and
//! [`validate_arguments`] runs, for any tool by name, the same deserialization rmcp does
//! (`serde_json::from_value` of the arguments object) followed by the same checks, so the
//! fuzz target `mcp_tool_args` and the tests exercise exactly what the server runs.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tracker::office_json::{MAX_READ_CELLS, check_write_grid, shown_rows};
use tracker::{CellAddr, CellRange};

use super::tool_args::{
    AddSlideArgs, AddTableArgs, AddTextArgs, DocumentArgs, FlowsRecentArgs, InsertChartArgs,
    RangeRef, ReadRangeArgs, ScanFileArgs, SheetArgs, SlideArgs, StatusArgs, WriteRangeArgs,
    XlsxReadArgs, XlsxWriteArgs,
};
use crate::files::{AllowedDirs, SheetInput};

/// Largest text for one text box.
pub(crate) const MAX_TEXT_CHARS: usize = 100_000;

/// Deserializes `args` for `tool` exactly as the server does and runs the checks the tool
/// makes on them before it touches a pane, a file or the tracker: A1 ranges, grids of
/// values, text sizes, table sources; for the file tools, path resolution inside `dirs`
/// (which only inspects the file system) and, for `xlsx_write`, the extension and the
/// sheets (not whether the file exists already). `Err` holds the message the agent would
/// get (for arguments of the wrong shape, rmcp's "failed to deserialize parameters: …").
pub fn validate_arguments(tool: &str, args: Value, dirs: &AllowedDirs) -> Result<(), String> {
    fn parse<T: DeserializeOwned>(args: Value) -> Result<T, String> {
        // rmcp hands a tool its arguments as a JSON object (absent: an empty one).
        let args = match args {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        serde_json::from_value(args).map_err(|e| format!("failed to deserialize parameters: {e}"))
    }
    match tool {
        "office_status" => parse::<StatusArgs>(args).map(drop),
        "excel_list_sheets" | "excel_read_selection" | "ppt_list_slides" => {
            parse::<DocumentArgs>(args).map(drop)
        }
        "excel_read_range" => {
            read_range_arg(&parse::<ReadRangeArgs>(args)?.range, "range").map(drop)
        }
        "excel_write_range" => parse::<WriteRangeArgs>(args)?.plan().map(drop),
        "excel_delete_sheet" => parse::<SheetArgs>(args).map(drop),
        "ppt_read_slide" | "ppt_delete_slide" => parse::<SlideArgs>(args).map(drop),
        "ppt_add_slide" => parse::<AddSlideArgs>(args).map(drop),
        "ppt_add_text" => parse::<AddTextArgs>(args)?.check(),
        "ppt_add_table" => parse::<AddTableArgs>(args)?.source().map(drop),
        "ppt_insert_chart" => parse::<InsertChartArgs>(args).map(drop),
        "xlsx_read" => {
            let args = parse::<XlsxReadArgs>(args)?;
            args.checked_range()?;
            dirs.resolve_existing(&args.path)
                .map(drop)
                .map_err(|e| e.to_string())
        }
        "xlsx_write" => {
            let args = parse::<XlsxWriteArgs>(args)?;
            let path = dirs
                .resolve_for_write(&args.path)
                .map_err(|e| e.to_string())?;
            crate::files::check_writable(&path, &sheet_inputs(args.sheets))
                .map(drop)
                .map_err(|e| e.to_string())
        }
        "scan_file" => {
            let args = parse::<ScanFileArgs>(args)?;
            dirs.resolve_existing(&args.path)
                .map_err(|e| e.to_string())?;
            for source in args.against.iter().flatten() {
                dirs.resolve_existing(source).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        "flows_recent" => parse::<FlowsRecentArgs>(args).map(drop),
        other => Err(format!("unknown tool {other:?}")),
    }
}

/// The sheets of an `xlsx_write` as the file writer takes them.
pub(crate) fn sheet_inputs(sheets: Vec<super::tool_args::SheetSpec>) -> Vec<SheetInput> {
    sheets
        .into_iter()
        .map(|s| SheetInput {
            name: s.name,
            rows: s.rows,
        })
        .collect()
}

/// An A1 range argument (`B2:D5`, `Revenue!B2`): the address without its sheet, parsed.
/// `what` names the argument in the error.
pub(crate) fn a1_address<'a>(range: &'a str, what: &str) -> Result<(&'a str, CellRange), String> {
    let address = tracker::split_sheet(range).1;
    CellRange::parse(address)
        .map(|r| (address, r))
        .map_err(|e| format!("{what} {range:?} is not an A1 range: {e}"))
}

/// A range to read (`B2:D5`, `Revenue!B2`, whole columns `A:C`, whole rows `2:5`),
/// checked before anything is asked or opened. A range that runs to the sheet's edge
/// (whole columns or rows, `A10:C1048576`) stands for "as far as the data goes": it is
/// cut to the data and read in pages. Any other range must hold at most
/// [`MAX_READ_CELLS`] cells (a pane would otherwise be sent a range of millions of cells).
/// `what` names the argument in the error.
pub(crate) fn read_range_arg(range: &str, what: &str) -> Result<CellRange, String> {
    let address = tracker::split_sheet(range).1;
    let cells = CellRange::parse_whole(address).map_err(|e| {
        format!(
            "{what} {range:?} is not an A1 range (B2:D5, or whole columns A:C or rows 2:5): {e}"
        )
    })?;
    let count = cells.cell_count();
    if !crate::files::is_open(&cells) && count > MAX_READ_CELLS as u64 {
        return Err(format!(
            "{what} {range:?} has {count} cells; at most {MAX_READ_CELLS} can be read at once: read it in parts, or as whole columns or rows (such as {}), which are read as far as the data goes, in pages",
            whole_columns(&cells)
        ));
    }
    Ok(cells)
}

/// `B:D` for a range over columns B to D.
fn whole_columns(range: &CellRange) -> String {
    format!(
        "{}:{}",
        CellAddr::column_name(range.start.col),
        CellAddr::column_name(range.end.col)
    )
}

impl XlsxReadArgs {
    /// The range to read, checked as [`read_range_arg`] checks it; `None`: the used range.
    pub(crate) fn checked_range(&self) -> Result<Option<CellRange>, String> {
        self.range
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| read_range_arg(r, "range"))
            .transpose()
    }
}

/// Where an `excel_write_range` lands, worked out before anything is asked.
#[derive(Debug)]
pub(crate) struct WritePlan<'a> {
    /// The address as given, without its sheet (what the pane is sent).
    pub address: &'a str,
    /// `Sheet!B2:D5`: the rectangle the values cover from the range's top-left cell.
    pub location: String,
}

impl WriteRangeArgs {
    /// Everything the pane would refuse, refused before the write is checked or anyone
    /// is asked to approve it: more than [`tracker::office_json::MAX_WRITE_CELLS`]
    /// cells, rows of different lengths (the rectangle written would be far larger than
    /// the cells given), a range whose size is not the values'.
    pub(crate) fn plan(&self) -> Result<WritePlan<'_>, String> {
        check_write_grid(&self.values, "values")?;
        let (address, range) = a1_address(&self.range, "range")?;
        let start = range.start;
        let width = self.values.iter().map(Vec::len).max().unwrap_or(0);
        if let Some((r, row)) = self
            .values
            .iter()
            .enumerate()
            .find(|(_, row)| row.len() != width)
        {
            return Err(format!(
                "values: row {} has {} cells where the longest row has {width}; give every row the same number of cells (null for an empty cell)",
                r + 1,
                row.len()
            ));
        }
        // A cell grows to fit the values (as a paste does); a rectangle must fit them.
        if address.contains(':')
            && (range.rows() as usize != self.values.len() || range.cols() as usize != width)
        {
            return Err(format!(
                "range {:?} is {}x{} but values are {}x{width}: give the top-left cell alone, or a range of the values' size",
                self.range,
                range.rows(),
                range.cols(),
                self.values.len()
            ));
        }
        let width = width as u32;
        // check_grid bounds the cells, not the rows: a grid of many empty rows must not
        // overflow the address arithmetic.
        let height = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        let end = CellAddr::new(
            start.row.saturating_add(height - 1),
            start.col.saturating_add(width.max(1) - 1),
        );
        Ok(WritePlan {
            address,
            location: format!("{}!{}", self.sheet, CellRange::new(start, end)),
        })
    }
}

impl AddTextArgs {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.text.trim().is_empty() {
            return Err("text is empty".into());
        }
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!(
                "text is over {MAX_TEXT_CHARS} characters; split it"
            ));
        }
        Ok(())
    }
}

/// Where a `ppt_add_table`'s cells come from.
pub(crate) enum TableSource<'a> {
    /// Rows the agent gave, as the table will show them.
    Rows(Vec<Vec<String>>),
    /// An Excel range to read.
    Range {
        from: &'a RangeRef,
        range: CellRange,
    },
}

impl AddTableArgs {
    pub(crate) fn source(&self) -> Result<TableSource<'_>, String> {
        match (&self.rows, &self.from_range) {
            (Some(_), Some(_)) => Err("give either rows or from_range, not both".into()),
            (None, None) => {
                Err("give the table's rows, or from_range to copy an Excel range".into())
            }
            (Some(rows), None) => {
                check_write_grid(rows, "rows")?;
                Ok(TableSource::Rows(shown_rows(rows)))
            }
            (None, Some(from)) => {
                let range = read_range_arg(&from.range, "from_range.range")?;
                Ok(TableSource::Range { from, range })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dirs() -> (tempfile::TempDir, AllowedDirs) {
        let dir = tempfile::tempdir().unwrap();
        let dirs = AllowedDirs::new(&[dir.path().to_path_buf()]).unwrap();
        (dir, dirs)
    }

    #[test]
    fn each_tool_checks_what_it_checks_before_touching_anything() {
        let (_d, dirs) = dirs();
        let v = |tool: &str, args: Value| validate_arguments(tool, args, &dirs);
        assert_eq!(v("office_status", Value::Null), Ok(()));
        assert_eq!(
            v(
                "excel_read_range",
                json!({"sheet": "S", "range": "'A B'!B2:D5"})
            ),
            Ok(())
        );
        let e = v("excel_read_range", json!({"sheet": "S", "range": "B2:"})).unwrap_err();
        assert!(e.starts_with("range \"B2:\" is not an A1 range"), "{e}");
        let e = v(
            "excel_read_range",
            json!({"sheet": "S", "range": "A1:Z1000000"}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "range \"A1:Z1000000\" has 26000000 cells; at most 100000 can be read at once: read it in parts, or as whole columns or rows (such as A:Z), which are read as far as the data goes, in pages"
        );
        // Whole columns and rows, however many cells they span, are read in pages.
        for whole in [
            "A:C",
            "$A:$C",
            "2:5",
            "Sheet 1!B:B",
            "'Q3 data'!3:3",
            "A10:C1048576",
        ] {
            assert_eq!(
                v("excel_read_range", json!({"sheet": "S", "range": whole})),
                Ok(()),
                "{whole}"
            );
        }
        let e = v(
            "xlsx_read",
            json!({"path": "a.xlsx", "range": "A1:J1000000"}),
        )
        .unwrap_err();
        assert!(
            e.starts_with("range \"A1:J1000000\" has 10000000 cells"),
            "{e}"
        );
        assert_eq!(
            v(
                "excel_read_range",
                json!({"sheet": "S", "range": "A1:J10000"})
            ),
            Ok(())
        );
        let e = v(
            "ppt_add_table",
            json!({"slide": 1, "from_range": {"sheet": "S", "range": "A1:B1000000"}}),
        )
        .unwrap_err();
        assert!(
            e.starts_with("from_range.range \"A1:B1000000\" has 2000000 cells"),
            "{e}"
        );
        let e = v("excel_read_range", json!({"sheet": "S"})).unwrap_err();
        assert!(e.contains("missing field `range`"), "{e}");
        let e = v(
            "excel_write_range",
            json!({"sheet": "S", "range": "A1", "values": [[{}]]}),
        )
        .unwrap_err();
        assert!(e.contains("row 1 cell 1 is a list or object"), "{e}");
        let e = v("ppt_add_text", json!({"slide": 1, "text": "  "})).unwrap_err();
        assert_eq!(e, "text is empty");
        let e = v("ppt_add_table", json!({"slide": "257"})).unwrap_err();
        assert!(e.contains("give the table's rows"), "{e}");
        let e = v("ppt_read_slide", json!({"slide": -1})).unwrap_err();
        assert!(e.starts_with("failed to deserialize parameters"), "{e}");
        let e = v("xlsx_read", json!({"path": "../x.xlsx"})).unwrap_err();
        assert!(e.starts_with("refused:"), "{e}");
        let e = v(
            "xlsx_write",
            json!({"path": "a.csv", "sheets": [{"name": "S", "rows": []}]}),
        )
        .unwrap_err();
        assert!(e.contains("only .xlsx files can be written"), "{e}");
        let e = v(
            "xlsx_write",
            json!({"path": "a.xlsx", "sheets": [{"name": "a/b", "rows": []}]}),
        )
        .unwrap_err();
        assert!(e.contains("a/b"), "{e}");
        assert_eq!(
            v(
                "xlsx_write",
                json!({"path": "a.xlsx", "sheets": [{"name": "S", "rows": [[1]]}]})
            ),
            Ok(())
        );
        assert!(v("nope", json!({})).unwrap_err().contains("unknown tool"));
    }

    fn write(range: &str, values: Vec<Vec<Value>>) -> WriteRangeArgs {
        WriteRangeArgs {
            document: None,
            sheet: "S".into(),
            range: range.into(),
            values,
            formulas: false,
        }
    }

    #[test]
    fn a_write_far_down_does_not_overflow() {
        let args = write("XFD1048576", vec![vec![json!(1)]; 50_000]);
        let plan = args.plan().unwrap();
        assert_eq!(plan.address, "XFD1048576");
        assert!(
            plan.location.starts_with("S!XFD1048576:XFD"),
            "{}",
            plan.location
        );
    }

    /// What the pane would refuse is refused before the write is checked: the grid of a
    /// write is a rectangle of at most 100,000 cells, the size of its range.
    #[test]
    fn writes_are_rectangles_within_the_limit() {
        // 100,000 cells given, but as rows of different lengths: the rectangle written
        // would be 50,001 x 50,000.
        let mut values = vec![vec![json!(1)]; 50_000];
        values.push(vec![json!(2); 50_000]);
        let e = write("A1", values).plan().unwrap_err();
        assert_eq!(
            e,
            "values: row 1 has 1 cells where the longest row has 50000; give every row the same number of cells (null for an empty cell)"
        );
        let mut values = vec![vec![]; 200_000];
        values.push(vec![json!(1)]);
        assert!(write("XFD1048576", values).plan().is_err());
        let e = write("A1", vec![vec![json!(1); 1000]; 101])
            .plan()
            .unwrap_err();
        assert_eq!(
            e,
            "values has 101000 cells; at most 100000 per call, split it"
        );
        let e = write("A1:B2", vec![vec![json!(1); 3]; 2])
            .plan()
            .unwrap_err();
        assert!(
            e.starts_with("range \"A1:B2\" is 2x2 but values are 2x3"),
            "{e}"
        );
        assert!(write("A1:C2", vec![vec![json!(1); 3]; 2]).plan().is_ok());
        assert!(write("A1", vec![vec![json!(1); 3]; 2]).plan().is_ok());
        assert!(write("A1:A1", vec![vec![json!(1); 3]; 2]).plan().is_err());
    }
}
