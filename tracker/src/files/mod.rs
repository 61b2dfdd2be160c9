//! Reading workbooks (sources) and documents (targets) from disk, for `scan` and for the
//! bridge's `xlsx_read` / `scan_file` tools.
//!
//! Every file here is untrusted. The readers therefore:
//! - refuse a file larger than [`Limits::max_file_bytes`] before opening it;
//! - check a zip container (xlsx, xlsm, ods, pptx, docx) with their own guard: entry count,
//!   declared sizes and compression ratio, and then enforce the same limits while actually
//!   decompressing (declared sizes can lie), before any part is parsed or the archive is
//!   handed to calamine;
//! - parse XML with a streaming reader that bounds nesting depth and the amount of text;
//! - never size an allocation by a number the file declares, and refuse the declared
//!   counts calamine would allocate by (an xlsx shared-string count, an xls sheet's
//!   DIMENSIONS, an ods sheet's repeated rows) before calamine reads the file, because a
//!   failed allocation aborts the process rather than panicking; calamine runs inside
//!   `catch_unwind` as well;
//! - answer every problem with a [`FileError`] naming the file and the problem in words,
//!   so a scan can report it and carry on with the next file.
//!
//! Workbooks (xlsx, xlsm, xls, ods) are read through calamine; for xlsx/xlsm the cell
//! number formats come from calamine's style palette and the displayed text is rendered by
//! [`format_number`]. CSV is parsed here (RFC 4180 quoting, `,` `;` or tab sniffed from the
//! first line); fields that look like numbers become [`CellValue::Number`].
//!
//! Text encodings (csv, txt, md): a byte-order mark decides (UTF-8, UTF-16); without one,
//! valid UTF-8 is UTF-8 and anything else Windows-1252, what Excel's "CSV" and Notepad's
//! "ANSI" save on Western Windows (encoding_rs). Text that declared its encoding with a
//! mark and breaks it is refused for a csv, because a wrongly decoded source would
//! silently stop matching; txt and md are decoded lossily there (U+FFFD).

mod cfb;
mod csv;
mod docx;
mod embed;
mod guard;
mod numfmt;
mod ooxml;
mod pptx;
mod props;
mod reading;
mod text;
mod workbook;
mod xlsx;
mod xml;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::{
    App, CellAddr, CellRange, CellValue, DocumentRef, ReadCell, SheetRead, WritePart,
};

pub use numfmt::format_number;
pub use ooxml::purview_from_properties;

const MIB: u64 = 1024 * 1024;

/// Bounds applied to every file read. The defaults suit a desktop scan; tests lower them.
///
/// Every bound is checked inside the reader, in time linear in the file: counts that
/// calamine would act on (sheets, shared strings, grid sizes) are counted by a streaming
/// pre-pass over the XML or records *before* calamine is handed the file, and everything
/// the reader itself collects (cells, text, XML nodes) is counted as it is collected. A
/// file over a bound is an error naming the bound ([`Problem::Refused`]), never a partial
/// result passed off as whole. docs/security.md ("Hostile files: reader budgets") has the
/// measured cost of each.
///
/// A document embedded in a target is read within the target's bounds, not bounds of
/// its own: its zip entries, sizes, text, XML elements and cells are counted with the
/// target's, and it is held in memory against `max_memory_bytes`. Only the file size
/// applies to each embedded object alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted at all (200 MiB).
    pub max_file_bytes: u64,
    /// Most entries a zip container may have (10,000).
    pub max_entries: usize,
    /// Largest decompressed size of one zip entry (256 MiB).
    pub max_entry_uncompressed: u64,
    /// Largest decompressed size of all entries together (1 GiB).
    pub max_total_uncompressed: u64,
    /// Largest compression ratio (uncompressed / compressed) of an entry bigger than 1 MiB
    /// (200). Real office XML compresses 10-50x; bombs compress 1000x.
    pub max_ratio: u64,
    /// Deepest XML element nesting accepted (256).
    pub max_xml_depth: usize,
    /// Most XML elements taken from one target (pptx, docx, and the parts of an xlsx
    /// read besides its cells), all parts together (4 million).
    /// Each element can add an entry (an empty paragraph, an empty table cell) to what
    /// is collected, so this bounds that memory (about 64 bytes each at worst, 256 MiB)
    /// whatever the text budget says. A 500-page document has about a million.
    pub max_xml_nodes: u64,
    /// Most sheets a workbook may list (4,096), counted in `xl/workbook.xml`, the ods
    /// `content.xml` or the xls BOUNDSHEET records before calamine reads the file.
    /// calamine finds a sheet by scanning its list, so reading every sheet costs
    /// sheets² name comparisons: 40,000 sheets took 8 s and a million never finished.
    /// Excel itself opens a few hundred comfortably.
    pub max_sheets: usize,
    /// Longest sheet name accepted in an xlsx, in bytes (255; Excel allows 31
    /// characters). Bounds the cost of each of calamine's name comparisons.
    pub max_sheet_name_bytes: usize,
    /// Most cells read from one workbook, all sheets together (2 million). Each cell read
    /// costs about 150 bytes (value, displayed text, number format), so 2 million cells
    /// are about 300 MiB; 12 million took 1.8 GiB. For ods and xls, whose sheets calamine
    /// expands into full grids, this bounds the grid (empty slots included).
    pub max_cells: u64,
    /// Most characters of text taken from one file (64 Mi characters).
    pub max_text_chars: usize,
    /// How deep documents embedded in a target are read (3): a workbook in a deck is
    /// 1, a document inside that workbook 2. Deeper ones are skipped and said so
    /// ([`TargetDoc::skipped`]). Every other bound holds for the file and everything
    /// embedded in it together, so nesting cannot multiply them.
    pub max_embedding_depth: usize,
    /// Most memory one read may use for what it holds at once, estimated from the
    /// counts above before each allocation (512 MiB): cells and their strings, calamine's
    /// shared-strings table and its ods and xls grids. Keeps one call well under 1 GiB
    /// resident even when every other bound is just met.
    pub max_memory_bytes: u64,
    /// Longest one read may take (30 s), whatever the file: a backstop behind the
    /// bounds above, which keep real and hostile files alike to a few seconds.
    pub max_read_time: std::time::Duration,
    /// How the caller stops a read nobody waits for any more (a cancelled request, a
    /// dropped connection, shutdown). Not a bound: [`ReadControl::default`] never stops.
    pub control: ReadControl,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 200 * MIB,
            max_entries: 10_000,
            max_entry_uncompressed: 256 * MIB,
            max_total_uncompressed: 1024 * MIB,
            max_ratio: 200,
            max_xml_depth: 256,
            max_xml_nodes: 4_000_000,
            max_sheets: 4_096,
            max_sheet_name_bytes: 255,
            max_cells: 2_000_000,
            max_text_chars: 64 * 1024 * 1024,
            max_embedding_depth: 3,
            max_memory_bytes: 512 * MIB,
            max_read_time: std::time::Duration::from_secs(30),
            control: ReadControl::default(),
        }
    }
}

impl Limits {
    /// These limits, read under `control`.
    pub fn with_control(mut self, control: ReadControl) -> Self {
        self.control = control;
        self
    }

    /// A copy whose control also stops at `max_read_time` from now: taken once when a
    /// public read starts, so every part of one read shares one deadline.
    fn started(&self) -> Limits {
        let mut limits = self.clone();
        let by_budget = std::time::Instant::now().checked_add(self.max_read_time);
        limits.control.deadline = match (self.control.deadline, by_budget) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        limits.control.budget = Some(self.max_read_time);
        limits
    }
}

/// Stops a read from outside: any of its flags set, or its deadline passed. Readers check
/// it between chunks of work (every few thousand cells or XML events, every block of
/// decompressed bytes, every read calamine makes from the file), so a stopped read ends
/// within milliseconds with [`Problem::Cancelled`] or [`Problem::TimedOut`]. Pure std, so
/// any caller (a thread pool, an async runtime's blocking task) can drive it.
#[derive(Clone, Debug, Default)]
pub struct ReadControl {
    flags: Vec<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    deadline: Option<std::time::Instant>,
    /// The `max_read_time` behind the deadline, for the error message.
    budget: Option<std::time::Duration>,
}

/// Two controls are the same when they watch the same flags and deadline.
impl PartialEq for ReadControl {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
            && self.flags.len() == other.flags.len()
            && self
                .flags
                .iter()
                .zip(&other.flags)
                .all(|(a, b)| std::sync::Arc::ptr_eq(a, b))
    }
}

impl Eq for ReadControl {}

impl ReadControl {
    /// A control that stops when `flag` is set (a request's own cancel flag, or a
    /// process-wide "shutting down" flag); call again to watch several.
    pub fn stop_on(mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.flags.push(flag);
        self
    }

    /// A control that also stops at `at`.
    pub fn until(mut self, at: std::time::Instant) -> Self {
        self.deadline = Some(self.deadline.map_or(at, |d| d.min(at)));
        self
    }

    /// Whether the read must stop now (cancelled or past its deadline), for work done
    /// around a read that should stop with it.
    pub fn is_stopped(&self) -> bool {
        self.check().is_err()
    }

    /// Why the read must stop now, if it must.
    pub(crate) fn check(&self) -> Result<(), Problem> {
        if self
            .flags
            .iter()
            .any(|f| f.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(Problem::Cancelled);
        }
        if let Some(deadline) = self.deadline
            && std::time::Instant::now() >= deadline
        {
            return Err(Problem::TimedOut {
                seconds: self.budget.map_or(0, |b| b.as_secs()),
            });
        }
        Ok(())
    }
}

/// A Microsoft Purview (MIP) sensitivity label found in a file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PurviewLabel {
    /// The label's GUID, as written in the file (without braces).
    pub id: String,
    /// The label's display name (`Confidential`); the GUID when the file names none.
    pub name: String,
    /// Whether the label is in force; a disabled label no longer applies.
    pub enabled: bool,
}

impl PurviewLabel {
    /// What a document's properties say of its label: the label when one is enabled, else
    /// none (a disabled label no longer applies).
    pub fn document_label(found: Option<&PurviewLabel>) -> crate::model::DocumentLabel {
        match found.filter(|l| l.enabled) {
            Some(l) => crate::model::DocumentLabel::Labelled {
                name: l.name.clone(),
                id: Some(l.id.clone()),
            },
            None => crate::model::DocumentLabel::Unlabelled,
        }
    }
}

/// A workbook read from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkbookRead {
    /// `App::File`, name = file name, location = absolute path.
    pub document: DocumentRef,
    /// Sheets in workbook order; a csv file is one sheet named after the file stem.
    pub sheets: Vec<SheetRead>,
    /// The file's Purview sensitivity label, when it carries one.
    pub purview: Option<PurviewLabel>,
}

/// A document read as content that was (or is about to be) written: what a scan checks.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetDoc {
    /// `App::File`, name = file name, location = absolute path.
    pub document: DocumentRef,
    /// Its text and tables, each with where it sits (`slide 3`, `paragraph 12`).
    pub parts: Vec<WritePart>,
    /// What was found and not read, each with why (`embedded oleObject1.bin: not a
    /// valid xlsx (...)`): embedded objects that are damaged, of a kind not read, or
    /// nested deeper than [`Limits::max_embedding_depth`]. The rest of the file is read.
    pub skipped: Vec<String>,
}

/// A problem with one file: the file as given, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct FileError {
    /// The path as the caller gave it.
    pub file: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What went wrong with a file.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The file could not be opened or read.
    #[error("cannot read the file ({0})")]
    Io(#[from] std::io::Error),
    /// The extension is not one this reader takes.
    #[error("unsupported file type {found} (supported: {supported})")]
    Unsupported {
        /// The extension found (`.pdf`), or `(no extension)`.
        found: String,
        /// The extensions this reader takes, for the message.
        supported: &'static str,
    },
    /// A limit was hit: too big, too many entries, a likely zip bomb, too deep.
    #[error("refused: {0}")]
    Refused(String),
    /// The bytes are not what the extension promises, or are damaged.
    #[error("not a valid {kind} ({detail})")]
    Invalid {
        /// What the extension says the file is (`xlsx`, `csv` ...).
        kind: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// The sheet asked for is not in the workbook.
    #[error("no sheet named {name:?} (sheets: {available})")]
    NoSuchSheet {
        /// The sheet asked for.
        name: String,
        /// The workbook's sheets, for the message.
        available: String,
    },
    /// The caller stopped the read ([`ReadControl`]): the request was cancelled, its
    /// client went away or the bridge is shutting down.
    #[error(
        "cancelled: the read was stopped before it finished (request cancelled or shutting down)"
    )]
    Cancelled,
    /// The read ran past its deadline (`max_read_time`, or the caller's).
    #[error("refused: reading took longer than the {seconds} s limit")]
    TimedOut {
        /// The limit that was passed, in seconds.
        seconds: u64,
    },
}

impl Problem {
    pub(crate) fn invalid(kind: Kind, detail: impl Into<String>) -> Self {
        Problem::Invalid {
            kind: kind.name(),
            detail: detail.into(),
        }
    }
}

/// The file types this module knows, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Xlsx,
    Xlsm,
    Xls,
    Ods,
    Csv,
    Pptx,
    Docx,
    Txt,
    Md,
}

/// What [`read_workbook`] accepts.
pub const WORKBOOK_TYPES: &str = "xlsx, xlsm, xls, ods, csv";
/// What [`read_target`] accepts.
pub const TARGET_TYPES: &str = "pptx, docx, xlsx, xlsm, xls, ods, csv, txt, md";
/// What [`purview_label`] accepts.
pub const LABEL_TYPES: &str = "xlsx, xlsm, pptx, docx";

impl Kind {
    fn of(path: &Path) -> Option<Kind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "xlsx" => Kind::Xlsx,
            "xlsm" => Kind::Xlsm,
            "xls" => Kind::Xls,
            "ods" => Kind::Ods,
            "csv" => Kind::Csv,
            "pptx" => Kind::Pptx,
            "docx" => Kind::Docx,
            "txt" => Kind::Txt,
            "md" | "markdown" => Kind::Md,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Xlsx => "xlsx",
            Kind::Xlsm => "xlsm",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
            Kind::Csv => "csv",
            Kind::Pptx => "pptx",
            Kind::Docx => "docx",
            Kind::Txt => "txt",
            Kind::Md => "md",
        }
    }

    fn is_workbook(self) -> bool {
        matches!(
            self,
            Kind::Xlsx | Kind::Xlsm | Kind::Xls | Kind::Ods | Kind::Csv
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// True when [`read_workbook`] accepts this file type (by extension).
pub fn is_workbook_path(path: &Path) -> bool {
    Kind::of(path).is_some_and(Kind::is_workbook)
}

/// Reads every sheet of a workbook (xlsx, xlsm, xls, ods via calamine; csv).
pub fn read_workbook(path: &Path, limits: &Limits) -> Result<WorkbookRead, FileError> {
    read_workbook_range(path, None, None, limits)
}

/// Reads one sheet (or all when `sheet` is `None`), keeping only the cells inside `range`
/// when one is given. A sheet that does not exist is an error listing the sheets there are.
pub fn read_workbook_range(
    path: &Path,
    sheet: Option<&str>,
    range: Option<CellRange>,
    limits: &Limits,
) -> Result<WorkbookRead, FileError> {
    let limits = &limits.started();
    let on_file = |problem| FileError {
        file: path.display().to_string(),
        problem,
    };
    let kind = kind_for(path, WORKBOOK_TYPES, Kind::is_workbook).map_err(on_file)?;
    check_size(path, limits).map_err(on_file)?;
    let pick = sheet.map_or(workbook::Pick::All, workbook::Pick::Named);
    let (sheets, purview) = match kind {
        Kind::Csv => {
            let (sheet, _) = csv_sheet(path, pick, range, None, limits).map_err(on_file)?;
            (vec![sheet], None)
        }
        _ => {
            let found = workbook::read(path, kind, pick, range, None, limits).map_err(on_file)?;
            (found.sheets, found.purview)
        }
    };
    Ok(WorkbookRead {
        document: file_document(path),
        sheets,
        purview,
    })
}

/// One sheet of a workbook, as [`read_sheet`] returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkbookSheet {
    /// `App::File`, name = file name, location = absolute path.
    pub document: DocumentRef,
    /// The sheet read, with at most the number of cells asked for.
    pub sheet: SheetRead,
    /// Every sheet of the workbook, in order.
    pub sheet_names: Vec<String>,
    /// The workbook's Purview sensitivity label, when it carries one.
    pub purview: Option<PurviewLabel>,
    /// True when the sheet (or range) holds more cells than were asked for: reading
    /// stopped there, and the cells kept are the first in row order.
    pub truncated: bool,
}

/// Reads one sheet of a workbook: the one named (exactly, else ignoring ASCII case), or
/// the first when `sheet` is `None`; only its cells inside `range` when one is given,
/// and at most `max_cells` of them, stopping there (`truncated` says so). Only that
/// sheet is parsed, so a workbook's size beyond it costs nothing but the checks of the
/// whole file every read makes. This is how `xlsx_read` reads.
pub fn read_sheet(
    path: &Path,
    sheet: Option<&str>,
    range: Option<CellRange>,
    max_cells: u64,
    limits: &Limits,
) -> Result<WorkbookSheet, FileError> {
    let limits = &limits.started();
    let on_file = |problem| FileError {
        file: path.display().to_string(),
        problem,
    };
    let kind = kind_for(path, WORKBOOK_TYPES, Kind::is_workbook).map_err(on_file)?;
    check_size(path, limits).map_err(on_file)?;
    let pick = sheet.map_or(workbook::Pick::First, workbook::Pick::Named);
    let found = match kind {
        Kind::Csv => {
            let (sheet, truncated) =
                csv_sheet(path, pick, range, Some(max_cells), limits).map_err(on_file)?;
            workbook::Found {
                names: vec![sheet.sheet.clone()],
                sheets: vec![sheet],
                purview: None,
                truncated,
                located: None,
            }
        }
        _ => workbook::read(path, kind, pick, range, Some(max_cells), limits).map_err(on_file)?,
    };
    let sheet = found.sheets.into_iter().next().ok_or_else(|| {
        on_file(Problem::NoSuchSheet {
            name: "(the first)".to_string(),
            available: found.names.join(", "),
        })
    })?;
    Ok(WorkbookSheet {
        document: file_document(path),
        sheet,
        sheet_names: found.names,
        purview: found.purview,
        truncated: found.truncated,
    })
}

/// Where the data of one sheet lies, as [`sheet_extent`] finds it.
#[derive(Clone, Debug, PartialEq)]
pub struct SheetExtent {
    /// The sheet's name, as the workbook spells it.
    pub sheet: String,
    /// Every sheet of the workbook, in order.
    pub sheet_names: Vec<String>,
    /// The smallest rectangle holding every non-empty cell of the sheet inside the range
    /// asked about; `None` when there is none.
    pub extent: Option<CellRange>,
    /// The workbook's Purview sensitivity label, when it carries one.
    pub purview: Option<PurviewLabel>,
}

/// Where the non-empty cells of one sheet lie (the one named, or the first when `sheet`
/// is `None`), inside `range` when one is given: what a read of "whole columns" or "the
/// used range" needs to know before it reads any cell. The file gets the same checks as
/// [`read_sheet`]; its cells are then looked at without being kept (an xlsx sheet is
/// streamed, with no cell built), so a sheet of millions of cells costs one pass over it
/// and no memory.
pub fn sheet_extent(
    path: &Path,
    sheet: Option<&str>,
    range: Option<CellRange>,
    limits: &Limits,
) -> Result<SheetExtent, FileError> {
    let limits = &limits.started();
    let on_file = |problem| FileError {
        file: path.display().to_string(),
        problem,
    };
    let kind = kind_for(path, WORKBOOK_TYPES, Kind::is_workbook).map_err(on_file)?;
    check_size(path, limits).map_err(on_file)?;
    let pick = sheet.map_or(workbook::Pick::First, workbook::Pick::Named);
    if kind == Kind::Csv {
        let (read, _) = csv_sheet(path, pick, range, None, limits).map_err(on_file)?;
        let addrs: Vec<CellAddr> = read.cells.iter().map(|c| c.addr).collect();
        return Ok(SheetExtent {
            sheet_names: vec![read.sheet.clone()],
            sheet: read.sheet,
            extent: CellRange::bounding(&addrs),
            purview: None,
        });
    }
    let found = workbook::locate(path, kind, pick, range, limits).map_err(on_file)?;
    let name = found
        .sheets
        .into_iter()
        .next()
        .map(|s| s.sheet)
        .ok_or_else(|| {
            on_file(Problem::NoSuchSheet {
                name: "(the first)".to_string(),
                available: found.names.join(", "),
            })
        })?;
    Ok(SheetExtent {
        sheet: name,
        sheet_names: found.names,
        extent: found.located,
        purview: found.purview,
    })
}

/// A csv file as its one sheet, named after the file stem; with `keep`, at most that
/// many cells (and whether more were left out).
fn csv_sheet(
    path: &Path,
    pick: workbook::Pick<'_>,
    range: Option<CellRange>,
    keep: Option<u64>,
    limits: &Limits,
) -> Result<(SheetRead, bool), Problem> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Sheet1".to_string());
    let cells = csv::read_cells(path, limits)?;
    if let workbook::Pick::Named(want) = pick
        && want != stem
    {
        return Err(Problem::NoSuchSheet {
            name: want.to_string(),
            available: stem,
        });
    }
    let mut cells: Vec<ReadCell> = cells
        .into_iter()
        .filter(|c| range.is_none_or(|r| r.contains(c.addr)))
        .collect();
    let keep = keep.map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
    let truncated = cells.len() > keep;
    cells.truncate(keep);
    Ok((SheetRead { sheet: stem, cells }, truncated))
}

/// Reads a document as a list of parts (text blocks and tables) with their locations,
/// every place the file keeps text that someone (or an agent) wrote:
/// - pptx, slides in presentation order (hidden ones too): `slide N` (all text outside
///   tables, grouped shapes and placeholders included, paragraphs joined by newlines),
///   `slide N table K`, `slide N chart K` (the chart's cached data: a category row, then
///   one row per series), `slide N notes` (speaker notes), `alt text of shape 'Picture
///   3' on slide N` (titles and descriptions of shapes and pictures), `comments on slide
///   N` (legacy and modern, replies included), `slide N SmartArt K`;
/// - docx: `paragraph N` (one part per non-empty body paragraph, text boxes included; N
///   counts every body paragraph outside tables), `table K` (top-level tables; nested
///   tables fold into their cell), `chart K`, alt text, `SmartArt K`, `header N` and
///   `footer N` (and their tables), `footnotes`, `endnotes`, `comments`;
/// - workbooks: one table per sheet over its used range at `Sheet!A1:D9` with displayed
///   text where known (a very sparse sheet becomes one table per row instead); for xlsx
///   and xlsm also per sheet `comments on Sheet` (notes and threaded comments), `header
///   and footer of Sheet`, `text boxes on Sheet`, alt text and `Sheet chart K`;
/// - pptx, docx, xlsx and xlsm: `document properties` (title, subject, keywords,
///   comments, company, custom properties ...), and every embedded document or workbook
///   (a package, or an OLE object holding one or an xls), read the same way down to
///   [`Limits::max_embedding_depth`] and labelled `embedded Book1.xlsx on slide 2 >
///   Sheet1!A1:B3`; one that cannot be read is listed in [`TargetDoc::skipped`];
/// - csv: one table at `rows 1-N`; txt/md: blocks between blank lines at `line N`.
///
/// The limits hold for the file and everything embedded in it together.
pub fn read_target(path: &Path, limits: &Limits) -> Result<TargetDoc, FileError> {
    let limits = &limits.started();
    let on_file = |problem| FileError {
        file: path.display().to_string(),
        problem,
    };
    let kind = kind_for(path, TARGET_TYPES, |_| true).map_err(on_file)?;
    check_size(path, limits).map_err(on_file)?;
    let (parts, skipped) = match kind {
        Kind::Pptx => reading::package_parts(path, kind, limits, pptx::read).map_err(on_file)?,
        Kind::Docx => reading::package_parts(path, kind, limits, docx::read).map_err(on_file)?,
        Kind::Xlsx | Kind::Xlsm => xlsx::parts(path, kind, limits).map_err(on_file)?,
        Kind::Csv => (csv::read_table(path, limits).map_err(on_file)?, Vec::new()),
        Kind::Txt | Kind::Md => (
            text::read_blocks(path, limits).map_err(on_file)?,
            Vec::new(),
        ),
        Kind::Xls | Kind::Ods => {
            let found = workbook::read(path, kind, workbook::Pick::All, None, None, limits)
                .map_err(on_file)?;
            let parts = found.sheets.iter().flat_map(sheet_tables).collect();
            (parts, Vec::new())
        }
    };
    Ok(TargetDoc {
        document: file_document(path),
        parts,
        skipped,
    })
}

/// The Purview sensitivity label of an OOXML file (xlsx, xlsm, pptx, docx), from
/// `docProps/custom.xml` (`MSIP_Label_<guid>_Enabled` / `_Name` properties) or, for files
/// saved by newer Office, `docMetadata/LabelInfo.xml`. `None` when the file has no label.
/// When several labels are present the first enabled one wins.
pub fn purview_label(path: &Path, limits: &Limits) -> Result<Option<PurviewLabel>, FileError> {
    let limits = &limits.started();
    let on_file = |problem| FileError {
        file: path.display().to_string(),
        problem,
    };
    let kind = kind_for(path, LABEL_TYPES, |k| {
        matches!(k, Kind::Xlsx | Kind::Xlsm | Kind::Pptx | Kind::Docx)
    })
    .map_err(on_file)?;
    check_size(path, limits).map_err(on_file)?;
    let mut archive = guard::Archive::open(path, kind, limits).map_err(on_file)?;
    ooxml::purview(&mut archive, limits).map_err(on_file)
}

/// The document reference of a file on disk: `App::File`, its file name, its absolute
/// path (made absolute against the current directory when relative).
pub fn file_document(path: &Path) -> DocumentRef {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let absolute: PathBuf = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    DocumentRef::new(App::File, name, absolute.display().to_string())
}

fn kind_for(
    path: &Path,
    supported: &'static str,
    accept: impl Fn(Kind) -> bool,
) -> Result<Kind, Problem> {
    match Kind::of(path) {
        Some(k) if accept(k) => Ok(k),
        _ => Err(Problem::Unsupported {
            found: match path.extension() {
                Some(e) => format!(".{}", e.to_string_lossy()),
                None => "(no extension)".to_string(),
            },
            supported,
        }),
    }
}

fn check_size(path: &Path, limits: &Limits) -> Result<(), Problem> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Problem::Io(std::io::Error::other("not a regular file")));
    }
    if meta.len() > limits.max_file_bytes {
        return Err(Problem::Refused(format!(
            "the file is {}, larger than the {} limit",
            human_bytes(meta.len()),
            human_bytes(limits.max_file_bytes)
        )));
    }
    Ok(())
}

/// `256 MiB`, `1 GiB`, `512 bytes`: sizes in error messages.
pub(crate) fn human_bytes(n: u64) -> String {
    const GIB: u64 = 1024 * MIB;
    if n >= GIB && n.is_multiple_of(GIB) {
        format!("{} GiB", n / GIB)
    } else if n >= MIB {
        let whole = n / MIB;
        if n.is_multiple_of(MIB) {
            format!("{whole} MiB")
        } else {
            format!("{:.1} MiB", n as f64 / MIB as f64)
        }
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// A sheet quoted for an A1 reference when its name needs it: `'Q3 Revenue'`.
pub fn quote_sheet(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "''"))
    }
}

/// What a cell shows: its displayed text when known, else its value as Excel's General
/// format shows it.
pub fn shown(cell: &ReadCell) -> String {
    if let Some(t) = &cell.text {
        return t.clone();
    }
    match &cell.value {
        CellValue::Empty => String::new(),
        CellValue::Number(n) => numfmt::general(*n),
        CellValue::Text(s) => s.clone(),
        CellValue::Bool(b) => crate::office_json::bool_text(*b).to_string(),
        CellValue::Error(e) => e.clone(),
    }
}

/// Grids up to this many slots are always built; beyond it only when at least a quarter
/// of the slots hold a cell.
const DENSE_GRID: u64 = 1_000_000;

/// One sheet as a table over its used range (`Sheet!A1:D9`); nothing when it is empty.
/// A sparse sheet (one cell in A1, one in XFD1048576) would make a grid of billions of
/// empty strings, so a sparse used range becomes one table per row instead, holding only
/// that row's cells (`Sheet!B7:XFD7`): bounded by the cells the file really has.
fn sheet_tables(sheet: &SheetRead) -> Vec<WritePart> {
    let Some(first) = sheet.cells.first() else {
        return Vec::new();
    };
    let (mut r0, mut r1, mut c0, mut c1) = (
        first.addr.row,
        first.addr.row,
        first.addr.col,
        first.addr.col,
    );
    for c in &sheet.cells {
        r0 = r0.min(c.addr.row);
        r1 = r1.max(c.addr.row);
        c0 = c0.min(c.addr.col);
        c1 = c1.max(c.addr.col);
    }
    let range = CellRange::new(CellAddr::new(r0, c0), CellAddr::new(r1, c1));
    let quoted = quote_sheet(&sheet.sheet);
    let area = range.cell_count();
    if area > DENSE_GRID && area / 4 > sheet.cells.len() as u64 {
        let mut by_row: Vec<&ReadCell> = sheet.cells.iter().collect();
        by_row.sort_by_key(|c| (c.addr.row, c.addr.col));
        return by_row
            .chunk_by(|a, b| a.addr.row == b.addr.row)
            .filter_map(|row| {
                let (a, b) = (row.first()?, row.last()?);
                Some(WritePart::Table {
                    location: format!("{quoted}!{}", CellRange::new(a.addr, b.addr)),
                    rows: vec![row.iter().map(|c| shown(c)).collect()],
                })
            })
            .collect();
    }
    let width = (c1 - c0 + 1) as usize;
    let mut rows = vec![vec![String::new(); width]; (r1 - r0 + 1) as usize];
    for c in &sheet.cells {
        if let Some(slot) = rows
            .get_mut((c.addr.row - r0) as usize)
            .and_then(|row| row.get_mut((c.addr.col - c0) as usize))
        {
            *slot = shown(c);
        }
    }
    vec![WritePart::Table {
        location: format!("{quoted}!{range}"),
        rows,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_words() {
        assert_eq!(human_bytes(256 * MIB), "256 MiB");
        assert_eq!(human_bytes(1024 * MIB), "1 GiB");
        assert_eq!(human_bytes(3 * MIB / 2), "1.5 MiB");
        assert_eq!(human_bytes(2048), "2 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }

    #[test]
    fn sheet_names_are_quoted_when_needed() {
        assert_eq!(quote_sheet("Sheet1"), "Sheet1");
        assert_eq!(quote_sheet("Q3 Revenue"), "'Q3 Revenue'");
        assert_eq!(quote_sheet("Bob's"), "'Bob''s'");
        assert_eq!(quote_sheet("2024"), "'2024'");
    }

    #[test]
    fn file_types_by_extension() {
        assert!(is_workbook_path(Path::new("a/Q3.XLSX")));
        assert!(is_workbook_path(Path::new("data.csv")));
        assert!(!is_workbook_path(Path::new("deck.pptx")));
        assert!(Kind::of(Path::new("deck.pptx")).is_some());
        assert!(Kind::of(Path::new("notes.markdown")).is_some());
        assert!(Kind::of(Path::new("notes.pdf")).is_none());
        assert!(Kind::of(Path::new("README")).is_none());
    }

    #[test]
    fn unsupported_extension_names_the_supported_list() {
        let err = read_target(Path::new("/nonexistent/notes.pdf"), &Limits::default())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "/nonexistent/notes.pdf: unsupported file type .pdf (supported: pptx, docx, xlsx, xlsm, xls, ods, csv, txt, md)"
            )
        );
    }
}
