//! Writing an `.xlsx` for `xlsx_write`: validated first, then atomic.
//!
//! [`write_workbook`] validates everything first, then writes an `.xlsx` atomically: the
//! target either keeps its old content or gets the complete new one, and on any error no
//! file is left behind. Strings are always written as text cells, including strings that
//! start with `=`: an agent copying text it read from an untrusted document must not be
//! able to plant a live formula (`=WEBSERVICE(...)`, `=HYPERLINK(...)`, DDE payloads) that
//! runs or leaks data when the person opens the file. What the tracker checks before the
//! write is `WriteContent::workbook` (tracker::office_json), in the same shape Excel shows.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tracker::office_json::grid_address;
use tracker::{CellAddr, MAX_COLS, MAX_ROWS};

use super::allowed::check_existing_target;
use super::nofollow::{Dir, Stat};
use super::{FileToolError, MAX_CELL_TEXT, MAX_SHEET_NAME, MAX_SHEETS, MAX_WRITE_CELLS};

/// One sheet to write: its name and its rows of values from A1.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SheetInput {
    /// Sheet name: 1-31 characters, none of [ ] : * ? / \, not starting or ending with '.
    pub name: String,
    /// Rows from A1, each a list of values: numbers, strings, booleans, or null for an
    /// empty cell. Strings are written as text, never as formulas.
    pub rows: Vec<Vec<Value>>,
}

/// A sheet as written.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WrittenSheet {
    pub name: String,
    /// The rectangle the input covers from A1 (rows × the longest row), `""` when empty.
    pub address: String,
}

/// Validates then writes atomically (temp file in the same dir, fsync, rename). Refuses
/// an existing file unless `overwrite`. The extension must be `.xlsx`. On any error no
/// file is left behind, and an existing target keeps its old content.
///
/// `path` should come from [`AllowedDirs::resolve_for_write`](super::AllowedDirs::resolve_for_write) (absolute and canonical).
/// Its folder is opened again here, at the moment of writing, by a walk that follows no
/// link, and everything after happens inside that folder handle: a folder swapped for a
/// link since the check (while the write waited for approval) makes the write fail
/// instead of landing outside. The target checks (no link, a regular file, one name) are
/// repeated for the same reason.
pub fn write_workbook(
    path: &Path,
    sheets: &[SheetInput],
    overwrite: bool,
) -> Result<Vec<WrittenSheet>, FileToolError> {
    let shown_path = path.display().to_string();
    let refused = |why: String| FileToolError::Refused {
        path: shown_path.clone(),
        why,
    };
    let written = check_writable(path, sheets)?;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(refused("names a folder, not a file".to_string()));
    };
    if !path.is_absolute() {
        return Err(refused(
            "not an absolute path (resolve it inside the allowed folders first)".to_string(),
        ));
    }
    let dir = Dir::open(dir).map_err(|e| {
        let why = e.describe("nothing was written");
        if e.changed() {
            refused(why)
        } else {
            FileToolError::Write {
                path: shown_path.clone(),
                why,
            }
        }
    })?;
    let exists = |dir: &Dir| -> Result<Option<Stat>, FileToolError> {
        dir.stat(name)
            .map_err(|e| refused(format!("cannot inspect it ({e})")))
    };
    let existing = exists(&dir)?;
    if let Some(st) = &existing {
        if !overwrite {
            return Err(refused(
                "the file already exists; pass overwrite: true to replace it".to_string(),
            ));
        }
        check_existing_target(st).map_err(&refused)?;
    }

    let write_err = |why: String| FileToolError::Write {
        path: shown_path.clone(),
        why,
    };
    let mut workbook = build_workbook(sheets).map_err(|e| write_err(e.to_string()))?;
    let mut temp = TempFile::create(&dir, name).map_err(|e| write_err(e.to_string()))?;
    {
        let mut out = BufWriter::new(&temp.file);
        workbook
            .save_to_writer(&mut out)
            .map_err(|e| write_err(e.to_string()))?;
        out.flush().map_err(|e| write_err(e.to_string()))?;
    }
    if existing.is_some() {
        // Keep the replaced file's permissions (best effort: the content is what matters).
        // Read through the folder handle, never through a link.
        if let Ok(old) = dir.open_read(name)
            && let Ok(meta) = old.metadata()
        {
            let _ = temp.file.set_permissions(meta.permissions());
        }
    }
    temp.file
        .sync_all()
        .map_err(|e| write_err(format!("cannot flush to disk ({e})")))?;
    if overwrite {
        // Checked once more just before the rename: a link made to the target while the
        // workbook was built is refused, like one found at the start.
        if let Some(st) = exists(&dir)? {
            check_existing_target(&st).map_err(&refused)?;
        }
        dir.rename(&temp.name, name)
            .map_err(|e| write_err(e.to_string()))?;
        temp.persisted = true;
    } else {
        // A hard link fails when the name exists, so a file created since the check above
        // is never clobbered. Filesystems without hard links fall back to check + rename.
        match dir.link(&temp.name, name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(refused(
                    "the file already exists; pass overwrite: true to replace it".to_string(),
                ));
            }
            Err(_) => {
                if exists(&dir)?.is_some() {
                    return Err(refused(
                        "the file already exists; pass overwrite: true to replace it".to_string(),
                    ));
                }
                dir.rename(&temp.name, name)
                    .map_err(|e| write_err(e.to_string()))?;
                temp.persisted = true;
            }
        }
    }
    drop(temp);
    // Makes the rename durable (unix); elsewhere the filesystem does what it does.
    let _ = dir.sync();
    Ok(written)
}

/// The checks [`write_workbook`] makes before it touches the disk: the extension is
/// `.xlsx` and the sheets are valid (names, counts, shapes, cell values). `xlsx_write` runs
/// them before the write is checked for flows, so nobody is asked to approve a write that
/// could not happen. Returns the sheets as they will be written.
pub fn check_writable(
    path: &Path,
    sheets: &[SheetInput],
) -> Result<Vec<WrittenSheet>, FileToolError> {
    let ext = path.extension().and_then(OsStr::to_str).unwrap_or("");
    if !ext.eq_ignore_ascii_case("xlsx") {
        return Err(FileToolError::Refused {
            path: path.display().to_string(),
            why: format!(
                "only .xlsx files can be written (got {})",
                if ext.is_empty() {
                    "no extension".to_string()
                } else {
                    format!(".{ext}")
                }
            ),
        });
    }
    validate(sheets)
}

/// Checks everything before a byte is written; the sheets as they will be written.
pub(super) fn validate(sheets: &[SheetInput]) -> Result<Vec<WrittenSheet>, FileToolError> {
    validate_with(sheets, MAX_WRITE_CELLS)
}

pub(super) fn validate_with(
    sheets: &[SheetInput],
    max_cells: usize,
) -> Result<Vec<WrittenSheet>, FileToolError> {
    let invalid = |m: String| Err(FileToolError::Invalid(m));
    if sheets.is_empty() {
        return invalid("at least one sheet is needed".to_string());
    }
    if sheets.len() > MAX_SHEETS {
        return invalid(format!(
            "{} sheets given; at most {MAX_SHEETS} can be written at once",
            sheets.len()
        ));
    }
    // Names and shapes first: cheap, and a refused write should not cost a pass over
    // millions of values.
    let mut seen: Vec<String> = Vec::with_capacity(sheets.len());
    let mut total: usize = 0;
    for s in sheets {
        check_sheet_name(&s.name)?;
        let folded = s.name.to_lowercase();
        if seen.contains(&folded) {
            return invalid(format!(
                "sheet name {:?} is used twice (Excel compares sheet names ignoring case)",
                s.name
            ));
        }
        seen.push(folded);
        if s.rows.len() > MAX_ROWS as usize {
            return invalid(format!(
                "sheet {} has {} rows; Excel allows at most 1,048,576",
                s.name,
                s.rows.len()
            ));
        }
        for (r, row) in s.rows.iter().enumerate() {
            if row.len() > MAX_COLS as usize {
                return invalid(format!(
                    "sheet {} row {} has {} values; Excel allows at most 16,384 columns",
                    s.name,
                    r + 1,
                    row.len()
                ));
            }
            total = total.saturating_add(row.len());
        }
    }
    if total > max_cells {
        return invalid(format!(
            "{total} cells given; at most {max_cells} can be written at once"
        ));
    }
    for s in sheets {
        for (r, row) in s.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let why = match v {
                    Value::Object(_) => "objects cannot be written to a cell".to_string(),
                    Value::Array(_) => "arrays cannot be written to a cell".to_string(),
                    Value::Number(n) if !n.as_f64().is_some_and(f64::is_finite) => {
                        "only finite numbers can be written".to_string()
                    }
                    Value::String(t) if t.encode_utf16().count() > MAX_CELL_TEXT => format!(
                        "text of {} characters is longer than Excel's limit of 32,767",
                        t.encode_utf16().count()
                    ),
                    _ => continue,
                };
                let addr = CellAddr::new(r as u32, c as u32);
                return invalid(format!("sheet {} cell {addr}: {why}", s.name));
            }
        }
    }
    Ok(sheets
        .iter()
        .map(|s| WrittenSheet {
            name: s.name.clone(),
            address: grid_address(s.rows.len(), s.rows.iter().map(Vec::len).max().unwrap_or(0)),
        })
        .collect())
}

/// Excel's sheet-name rules: 1-31 characters (UTF-16 units), none of `[ ] : * ? / \`,
/// not starting or ending with an apostrophe, no control characters, not `History`
/// (reserved by Excel).
pub(super) fn check_sheet_name(name: &str) -> Result<(), FileToolError> {
    let why = if name.is_empty() {
        "a sheet name cannot be empty"
    } else if name.encode_utf16().count() > MAX_SHEET_NAME {
        "a sheet name can have at most 31 characters"
    } else if name.contains(['[', ']', ':', '*', '?', '/', '\\']) {
        "a sheet name cannot contain any of [ ] : * ? / \\"
    } else if name.starts_with('\'') || name.ends_with('\'') {
        "a sheet name cannot start or end with an apostrophe"
    } else if name.chars().any(char::is_control) {
        "a sheet name cannot contain control characters"
    } else if name.eq_ignore_ascii_case("history") {
        "History is a name Excel reserves"
    } else {
        return Ok(());
    };
    Err(FileToolError::Invalid(format!(
        "sheet name {name:?}: {why}"
    )))
}

/// The workbook in memory; values were validated, so only I/O-like failures remain.
pub(super) fn build_workbook(
    sheets: &[SheetInput],
) -> Result<rust_xlsxwriter::Workbook, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    for s in sheets {
        let ws = workbook.add_worksheet();
        ws.set_name(&s.name)?;
        for (r, row) in s.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                // Validated: r < 1,048,576 and c < 16,384.
                let (r, c) = (r as u32, c as u16);
                match v {
                    Value::Null => {}
                    Value::Bool(b) => {
                        ws.write_boolean(r, c, *b)?;
                    }
                    Value::Number(n) => {
                        ws.write_number(r, c, n.as_f64().unwrap_or(0.0))?;
                    }
                    // Always a text cell: "=SUM(A1)" stays the text "=SUM(A1)".
                    Value::String(t) => {
                        ws.write_string(r, c, t)?;
                    }
                    Value::Array(_) | Value::Object(_) => {}
                }
            }
        }
    }
    Ok(workbook)
}

/// A temporary file next to the target (in the folder handle), removed on drop unless it
/// was renamed into place.
pub(super) struct TempFile<'a> {
    dir: &'a Dir,
    pub(super) name: std::ffi::OsString,
    file: File,
    persisted: bool,
}

impl<'a> TempFile<'a> {
    pub(super) fn create(dir: &'a Dir, target_name: &OsStr) -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let stem: String = target_name.to_string_lossy().chars().take(64).collect();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = std::ffi::OsString::from(format!(
                ".{stem}.{}-{nanos:x}-{n}.tmp",
                std::process::id()
            ));
            match dir.create_new(&name) {
                Ok(file) => {
                    return Ok(TempFile {
                        dir,
                        name,
                        file,
                        persisted: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("could not create a temporary file"))
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = self.dir.remove(&self.name);
        }
    }
}
