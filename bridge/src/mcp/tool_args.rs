//! The tools' argument types, as the agent sends them (rmcp deserializes each call's
//! arguments into one of these, and their doc comments are the schema the agent reads).
//! Their own module so the tool handlers (`live`, `local`) and the checks (`validate`)
//! each depend on them, not on one another.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DocumentArgs {
    /// Which open document: its name ("Q3.xlsx"), url or id. Optional when exactly one
    /// document of this app is open.
    #[serde(default)]
    pub document: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadRangeArgs {
    /// Which open workbook (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// Worksheet name, e.g. "Revenue".
    pub sheet: String,
    /// A1 range, e.g. "B2:D5" (at most 100,000 cells), or whole columns "A:C" or rows
    /// "2:5", read as far as the data goes. A big read comes back in pages: pass the
    /// result's next_range here to read on.
    pub range: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct WriteRangeArgs {
    /// Which open workbook (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// Worksheet name.
    pub sheet: String,
    /// Where to write: the top-left cell ("B2") or the whole range ("B2:D5"); the values'
    /// size decides the extent.
    pub range: String,
    /// Rows of cell values: numbers, strings, booleans, or null for an empty cell.
    pub values: Vec<Vec<Value>>,
    /// Write strings that start with "=" as formulas. Off by default: text from elsewhere
    /// must not become a live formula by accident.
    #[serde(default)]
    pub formulas: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SheetArgs {
    /// Which open workbook (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// Worksheet name.
    pub sheet: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SlideArgs {
    /// Which open presentation (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// The slide: its 1-based position (3) or its id ("257").
    pub slide: SlideRef,
}

/// A slide by position or by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SlideRef {
    /// 1-based position in the deck.
    Index(u32),
    /// The slide's id as `ppt_list_slides` reports it.
    Id(String),
}

impl SlideRef {
    pub(super) fn json(&self) -> Value {
        match self {
            SlideRef::Index(i) => json!(i),
            SlideRef::Id(s) => json!(s),
        }
    }

    /// Where content lands, as flows and the audit log name it.
    pub(super) fn location(&self) -> String {
        match self {
            SlideRef::Index(i) => format!("slide {i}"),
            SlideRef::Id(s) => format!("slide {s}"),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddSlideArgs {
    /// Which open presentation (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// Slide layout id, as the deck's slide master names it; the default layout when absent.
    #[serde(default)]
    pub layout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddTextArgs {
    /// Which open presentation (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// The slide: 1-based position or id.
    pub slide: SlideRef,
    /// The text; line breaks become paragraphs.
    pub text: String,
    /// Position and size in points (optional).
    #[serde(default)]
    pub left: Option<f64>,
    #[serde(default)]
    pub top: Option<f64>,
    #[serde(default)]
    pub width: Option<f64>,
    #[serde(default)]
    pub height: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RangeRef {
    /// Which open workbook (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// Worksheet name.
    pub sheet: String,
    /// A1 range, e.g. "A1:D5" (at most 100,000 cells), or whole columns "A:C" or rows "2:5",
    /// cut to the data in them.
    pub range: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddTableArgs {
    /// Which open presentation (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// The slide: 1-based position or id.
    pub slide: SlideRef,
    /// The table's rows as shown. Give either rows or from_range.
    #[serde(default)]
    pub rows: Option<Vec<Vec<Value>>>,
    /// Copy an Excel range by reference (its displayed text), with exact provenance.
    #[serde(default)]
    pub from_range: Option<RangeRef>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChartRef {
    /// Which open workbook (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// Worksheet holding the chart.
    pub sheet: String,
    /// The chart's name, as excel_list_sheets' charts report it.
    pub chart: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct InsertChartArgs {
    /// Which open presentation (name, url or id); optional when only one is open.
    #[serde(default)]
    pub document: Option<String>,
    /// The slide: 1-based position or id.
    pub slide: SlideRef,
    /// The Excel chart to insert as a picture.
    pub chart: ChartRef,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct StatusArgs {}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct XlsxReadArgs {
    /// Path of a workbook (xlsx, xlsm, xls, ods, csv) inside a folder the person allowed;
    /// relative paths are taken from the first allowed folder.
    pub path: String,
    /// Worksheet name; the first sheet when absent.
    #[serde(default)]
    pub sheet: Option<String>,
    /// A1 range, e.g. "A1:D20" (at most 100,000 cells), or whole columns "A:C" or rows
    /// "2:5", read as far as the data goes; the sheet's used range when absent. A big
    /// read comes back in pages: pass the result's next_range here to read on.
    #[serde(default)]
    pub range: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SheetSpec {
    /// Worksheet name (Excel rules: 1-31 characters, none of []:*?/\).
    pub name: String,
    /// Rows of cell values: numbers, strings, booleans, or null for an empty cell.
    /// Strings are always written as text, never as formulas.
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct XlsxWriteArgs {
    /// Path of the .xlsx file to write, inside a folder the person allowed.
    pub path: String,
    /// The sheets, in order.
    pub sheets: Vec<SheetSpec>,
    /// Replace the file if it exists (default: refuse).
    #[serde(default)]
    pub overwrite: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ScanFileArgs {
    /// The file to check (pptx, docx, xlsx, csv, txt, md), inside a folder the person allowed.
    pub path: String,
    /// Workbooks whose data to look for. When absent, the file is checked against every
    /// value the agent has read through office-bridge.
    #[serde(default)]
    pub against: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct FlowsRecentArgs {
    /// How many flows, newest first (1-200, default 20).
    #[serde(default)]
    pub limit: Option<u32>,
}
