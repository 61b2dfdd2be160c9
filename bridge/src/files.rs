//! The ground under the MCP file tools (`xlsx_read`, `xlsx_write`, `scan_file`): which
//! paths the agent may touch, and reading and writing workbooks on disk.
//!
//! # Which paths
//!
//! The person names folders when starting the bridge (`--allow-dir`); [`AllowedDirs`] holds
//! them canonicalized (symlinks and `..` resolved, so a root given through a symlink is
//! its real folder). A requested path is canonicalized too and must then lie inside a root,
//! compared component by component (`Path::starts_with`, so `/data-evil` is not inside
//! `/data`). That one rule covers `../` traversal, absolute paths elsewhere, symlinked
//! folders and symlinked files pointing outside. A path that does not exist is reported as
//! missing only when its deepest existing ancestor is inside a root; otherwise it is
//! refused as outside, so the answers do not reveal what exists elsewhere on the disk.
//!
//! One folder is never the agent's even inside a root: the bridge's own data directory
//! ([`AllowedDirs::excluding`]), which holds the desktop credential that answers approvals,
//! the agent's token, the CA key and the store. `--allow-dir ~` contains it on Linux; a
//! path that resolves into it is refused, whatever the roots say.
//!
//! Writes are stricter: the parent folder must exist and canonicalize inside a root, and
//! an existing target must be a regular file, not a symbolic link (even one pointing
//! inside: a link is someone's deliberate indirection, and replacing it would surprise).
//!
//! **Time of check and time of use.** A path checked when a tool is called may name
//! another place by the time it is used: a write waits for approval, and meanwhile a
//! folder on its path could be replaced by a symbolic link to somewhere else. So the
//! canonical path is opened again at the moment of use, one folder at a time from `/`
//! without following links (`files/nofollow.rs`, unix): a folder swapped for a link
//! makes the operation fail with an error that says so, instead of landing outside. A
//! write then works only through that folder handle: the data goes to a new temporary
//! file created (`O_CREAT | O_EXCL | O_NOFOLLOW`) in it, is flushed to disk, and is
//! renamed (or, without overwrite, hard-linked) onto the target name within the same
//! folder, so a rename replaces the directory entry and never writes through a link or
//! an existing file. A read opens the file the same way (`O_NOFOLLOW`), and
//! [`CheckedFile::recheck`] confirms after the read that the name still leads, by the
//! same walk, to the same file (device and inode).
//!
//! **Hard links.** A file with more than one name (`st_nlink > 1`) is refused for reading
//! and as a write's existing target: a second name inside an allowed folder can belong
//! to a file outside it, and nothing on the path shows that.
//!
//! Elsewhere than unix the walk checks each folder for a link just before use but then
//! goes by path (a narrower window, not a closed one), and hard links are not counted.
//!
//! # Reading
//!
//! [`read_workbook_range`] reads one sheet (the first by default) through the tracker's
//! bounded readers (xlsx, xlsm, xls, ods, csv) and returns a rectangle of values and
//! displayed text, cut to `max_cells`, plus the cells themselves for the tracker's labels.
//! Only that sheet is parsed, and reading stops once `max_cells` cells are found.
//!
//! Reads run on blocking threads under a [`ReadHandle`]: the tool handler stops the read
//! (through the tracker's `ReadControl`) when its request is cancelled or its future is
//! dropped (the client went away), and [`ReadSwitch::cancel_all`] stops every read of the bridge at shutdown.
//!
//! # Writing
//!
//! [`write_workbook`] validates everything first, then writes an `.xlsx` atomically: the
//! target either keeps its old content or gets the complete new one, and on any error no
//! file is left behind. Strings are always written as text cells, including strings that
//! start with `=`: an agent copying text it read from an untrusted document must not be
//! able to plant a live formula (`=WEBSERVICE(...)`, `=HYPERLINK(...)`, DDE payloads) that
//! runs or leaks data when the person opens the file. What the tracker checks before the
//! write is `WriteContent::workbook` (tracker::office_json), in the same shape Excel shows.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::Value;

mod nofollow;
use nofollow::{Dir, Stat};
use tracker::files::{FileError, Limits, PurviewLabel, ReadControl};
use tracker::office_json::{cell_json, grid_address};
use tracker::{CellAddr, CellRange, DocumentRef, MAX_COLS, MAX_ROWS, ReadCell, SheetRead};

/// Longest path accepted, in bytes (PATH_MAX on Linux).
pub const MAX_PATH_BYTES: usize = 4096;
/// Most sheets one `xlsx_write` may create.
pub const MAX_SHEETS: usize = 64;
/// Most cells (values, nulls included) one `xlsx_write` may carry: the one write limit.
pub use tracker::office_json::MAX_WRITE_CELLS;
/// Excel's longest text in a cell, in UTF-16 code units (what Excel counts).
pub const MAX_CELL_TEXT: usize = 32_767;
/// Excel's longest sheet name, in UTF-16 code units.
pub const MAX_SHEET_NAME: usize = 31;

/// What can go wrong in a file tool; every message is written for the agent to read.
#[derive(Debug, thiserror::Error)]
pub enum FileToolError {
    /// The path resolves outside every allowed folder.
    #[error(
        "refused: {path} is outside the folders you allowed ({allowed}); start the bridge with --allow-dir <folder> to allow another"
    )]
    Outside { path: String, allowed: String },
    /// The path resolves into the bridge's own data directory.
    #[error(
        "refused: {path} is inside office-bridge's own data directory (its tokens, keys and records); the file tools never read or write there"
    )]
    BridgeData { path: String },
    /// The path or the operation is not acceptable (empty path, NUL byte, too long,
    /// symlink target, not a regular file, wrong extension, existing file ...).
    #[error("refused: {path}: {why}")]
    Refused { path: String, why: String },
    #[error("{path} does not exist")]
    NotFound { path: String },
    /// The tracker's reader could not read the file (damaged, too big, unknown sheet ...).
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot write {path}: {why}")]
    Write { path: String, why: String },
    /// Bad arguments (range, sheet names, cell values, limits).
    #[error("{0}")]
    Invalid(String),
}

// ---------------------------------------------------------------------------------------
// Allowed folders

/// The folders the agent may read and write in, canonicalized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedDirs {
    roots: Vec<PathBuf>,
    /// Never reached even inside a root (the data directory), canonicalized.
    excluded: Vec<PathBuf>,
}

impl AllowedDirs {
    /// Canonicalizes each dir; a dir that does not exist or is not a directory is an error
    /// naming it. Duplicates (after canonicalization) are kept once, in the order given.
    /// An empty list is accepted and allows nothing.
    pub fn new(dirs: &[PathBuf]) -> Result<Self, FileToolError> {
        let mut roots: Vec<PathBuf> = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let shown = dir.display().to_string();
            let canon = match fs::canonicalize(dir) {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(FileToolError::NotFound { path: shown });
                }
                Err(e) => {
                    return Err(FileToolError::Refused {
                        path: shown,
                        why: format!("cannot open the folder ({e})"),
                    });
                }
            };
            if !canon.is_dir() {
                return Err(FileToolError::Refused {
                    path: shown,
                    why: "not a folder".to_string(),
                });
            }
            if !roots.contains(&canon) {
                roots.push(canon);
            }
        }
        Ok(AllowedDirs {
            roots,
            excluded: Vec::new(),
        })
    }

    /// Never resolves a path inside `dir` (canonicalized; it must exist), even when a root
    /// contains it. A root inside `dir` is an error: everything it allows would be refused.
    pub fn excluding(mut self, dir: &Path) -> Result<Self, FileToolError> {
        let canon = fs::canonicalize(dir).map_err(|e| FileToolError::Refused {
            path: dir.display().to_string(),
            why: format!("cannot resolve the folder to keep out ({e})"),
        })?;
        if let Some(root) = self.roots.iter().find(|r| r.starts_with(&canon)) {
            return Err(FileToolError::BridgeData {
                path: root.display().to_string(),
            });
        }
        self.excluded.push(canon);
        Ok(self)
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    fn is_excluded(&self, canon: &Path) -> bool {
        self.excluded.iter().any(|x| canon.starts_with(x))
    }

    /// An existing file the agent may read. Relative paths are taken against the first
    /// root; `~` and `~/...` against the home folder. Returns the canonical path.
    pub fn resolve_existing(&self, requested: &str) -> Result<PathBuf, FileToolError> {
        self.open_existing(requested).map(|f| f.path)
    }

    /// [`AllowedDirs::resolve_existing`], keeping what identifies the file so that
    /// [`CheckedFile::recheck`] can tell after a read whether the name still leads to it.
    /// The file is opened by the walk that follows no link (unix), must be a regular
    /// file and must have one name only.
    pub fn open_existing(&self, requested: &str) -> Result<CheckedFile, FileToolError> {
        let path = self.requested_path(requested)?;
        let canon = match fs::canonicalize(&path) {
            Ok(c) => c,
            Err(e) => return Err(self.missing(&path, requested, e)),
        };
        self.check_inside(&canon, requested)?;
        let refused = |why: String| FileToolError::Refused {
            path: requested.to_string(),
            why,
        };
        let (Some(parent), Some(name)) = (canon.parent(), canon.file_name()) else {
            return Err(refused("not a regular file".to_string()));
        };
        let dir = Dir::open(parent).map_err(|e| refused(e.describe("it was not read")))?;
        // Opened without following a link and without blocking on a FIFO; the type and
        // the link count are read from the handle, so they describe what was opened.
        let file = dir
            .open_read(name)
            .map_err(|e| refused(format!("cannot open it ({e})")))?;
        let meta = file
            .metadata()
            .map_err(|e| refused(format!("cannot inspect it ({e})")))?;
        if !meta.is_file() {
            return Err(refused("not a regular file".to_string()));
        }
        let id = file_id(&meta);
        check_one_name(links_of(&meta)).map_err(refused)?;
        Ok(CheckedFile {
            path: canon,
            requested: requested.to_string(),
            id,
        })
    }

    /// A file the agent may create or replace: the parent must exist and canonicalize
    /// inside a root; an existing target that is a symlink, or resolves outside, or is not
    /// a regular file, is refused. Returns the canonical parent joined with the file name.
    pub fn resolve_for_write(&self, requested: &str) -> Result<PathBuf, FileToolError> {
        let path = self.requested_path(requested)?;
        let refused = |why: &str| FileToolError::Refused {
            path: requested.to_string(),
            why: why.to_string(),
        };
        if requested.ends_with(['/', std::path::MAIN_SEPARATOR]) {
            return Err(refused("names a folder, not a file"));
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(refused("names a folder, not a file"));
        };
        let canon_parent = match fs::canonicalize(parent) {
            Ok(c) => c,
            Err(e) => {
                return Err(match self.missing(parent, requested, e) {
                    FileToolError::NotFound { .. } => FileToolError::NotFound {
                        path: parent.display().to_string(),
                    },
                    other => other,
                });
            }
        };
        self.check_inside(&canon_parent, requested)?;
        if !canon_parent.is_dir() {
            return Err(refused("its parent is not a folder"));
        }
        let target = canon_parent.join(name);
        let dir = Dir::open(&canon_parent).map_err(|e| FileToolError::Refused {
            path: requested.to_string(),
            why: e.describe("nothing was written"),
        })?;
        match dir.stat(name) {
            Ok(Some(st)) => check_existing_target(&st).map_err(|why| FileToolError::Refused {
                path: requested.to_string(),
                why,
            })?,
            Ok(None) => {}
            Err(e) => {
                return Err(FileToolError::Refused {
                    path: requested.to_string(),
                    why: format!("cannot inspect it ({e})"),
                });
            }
        }
        Ok(target)
    }

    /// The requested path checked for shape and made absolute (not yet resolved).
    fn requested_path(&self, requested: &str) -> Result<PathBuf, FileToolError> {
        let refused = |why: String| FileToolError::Refused {
            path: shorten(requested),
            why,
        };
        if requested.trim().is_empty() {
            return Err(refused("the path is empty".to_string()));
        }
        if requested.contains('\0') {
            return Err(refused("the path contains a NUL byte".to_string()));
        }
        if requested.len() > MAX_PATH_BYTES {
            return Err(refused(format!(
                "the path is {} bytes long, more than the {MAX_PATH_BYTES} allowed",
                requested.len()
            )));
        }
        let given = Path::new(requested);
        let home = || dirs::home_dir().ok_or_else(|| refused("no home folder is known".into()));
        let path = if requested == "~" {
            home()?
        } else if let Some(rest) = requested
            .strip_prefix("~/")
            .or_else(|| requested.strip_prefix("~\\").filter(|_| cfg!(windows)))
        {
            home()?.join(rest)
        } else if given.is_absolute() {
            given.to_path_buf()
        } else {
            match self.roots.first() {
                Some(first) => first.join(given),
                None => {
                    return Err(FileToolError::Outside {
                        path: requested.to_string(),
                        allowed: self.allowed(),
                    });
                }
            }
        };
        Ok(path)
    }

    fn check_inside(&self, canon: &Path, requested: &str) -> Result<(), FileToolError> {
        if self.is_excluded(canon) {
            return Err(FileToolError::BridgeData {
                path: requested.to_string(),
            });
        }
        if self.roots.iter().any(|r| canon.starts_with(r)) {
            Ok(())
        } else {
            Err(FileToolError::Outside {
                path: requested.to_string(),
                allowed: self.allowed(),
            })
        }
    }

    /// The error for a path that could not be canonicalized: outside when its deepest
    /// existing ancestor is outside every root (so nothing is revealed about other
    /// folders), else missing (or unreadable).
    fn missing(&self, path: &Path, requested: &str, err: io::Error) -> FileToolError {
        let ancestor = path
            .ancestors()
            .skip(1)
            .find_map(|a| fs::canonicalize(a).ok());
        let inside = ancestor
            .as_ref()
            .is_some_and(|c| self.roots.iter().any(|r| c.starts_with(r)));
        if ancestor.as_deref().is_some_and(|c| self.is_excluded(c)) {
            FileToolError::BridgeData {
                path: requested.to_string(),
            }
        } else if !inside {
            FileToolError::Outside {
                path: requested.to_string(),
                allowed: self.allowed(),
            }
        } else if err.kind() == io::ErrorKind::NotFound {
            FileToolError::NotFound {
                path: requested.to_string(),
            }
        } else {
            FileToolError::Refused {
                path: requested.to_string(),
                why: format!("cannot resolve it ({err})"),
            }
        }
    }

    fn allowed(&self) -> String {
        if self.roots.is_empty() {
            "none".to_string()
        } else {
            self.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// A readable file as it was checked: its canonical path and, where the platform says,
/// its device and inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedFile {
    path: PathBuf,
    requested: String,
    id: Option<(u64, u64)>,
}

impl CheckedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Walks the path again without following links and confirms it still leads to the
    /// same single-named regular file. Called after a read, whose result is dropped when
    /// this fails: the reader opened the file by path, so a folder or the file swapped
    /// in between would have been read instead.
    pub fn recheck(&self) -> Result<(), FileToolError> {
        let refused = |why: String| FileToolError::Refused {
            path: self.requested.clone(),
            why,
        };
        let consequence = "what was read is not used";
        let (Some(parent), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return Err(refused(format!("not a regular file; {consequence}")));
        };
        let dir = Dir::open(parent).map_err(|e| refused(e.describe(consequence)))?;
        let st = match dir.stat(name) {
            Ok(Some(st)) => st,
            Ok(None) => return Err(refused(format!("it was removed or renamed; {consequence}"))),
            Err(e) => return Err(refused(format!("cannot inspect it ({e}); {consequence}"))),
        };
        if st.symlink {
            return Err(refused(format!(
                "it is now a symbolic link (changed since it was checked); {consequence}"
            )));
        }
        if !st.file || st.id != self.id {
            return Err(refused(format!(
                "it is now another file (changed since it was checked); {consequence}"
            )));
        }
        check_one_name(st.links).map_err(refused)
    }
}

/// Refuses a file with more than one name (when the count is known).
fn check_one_name(links: Option<u64>) -> Result<(), String> {
    match links {
        Some(n) if n > 1 => Err(format!(
            "has {n} hard links (other names for the same file, which may be outside the folders you allowed); the file tools only use files with one"
        )),
        _ => Ok(()),
    }
}

/// What may stand at a write's target name: nothing, or a regular file with one name.
fn check_existing_target(st: &Stat) -> Result<(), String> {
    if st.symlink {
        return Err("is a symbolic link; writing through links is not allowed".to_string());
    }
    if !st.file {
        return Err("exists and is not a regular file".to_string());
    }
    check_one_name(st.links)
}

#[cfg(unix)]
fn links_of(meta: &fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.nlink())
}

#[cfg(not(unix))]
fn links_of(_meta: &fs::Metadata) -> Option<u64> {
    // std exposes the link count on Windows only on nightly (`windows_by_handle`).
    None
}

#[cfg(unix)]
fn file_id(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// A path for an error message: at most 200 characters.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 200 {
        s.replace('\0', "\\0")
    } else {
        let head: String = s.chars().take(199).collect();
        format!("{}…", head.replace('\0', "\\0"))
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// A rectangle of one sheet, as `xlsx_read` returns it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorkbookRange {
    /// `App::File`, from `tracker::files::file_document`.
    pub document: DocumentRef,
    pub sheet: String,
    /// A1 range of what is returned, e.g. `A1:C3` (`""` when empty).
    pub address: String,
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
    /// True when non-empty cells were left out to stay within `max_cells`.
    pub truncated: bool,
}

/// Reads one sheet of a workbook (xlsx, xlsm, xls, ods, csv).
///
/// `sheet` None = the first sheet (or the sheet named in a qualified `range` such as
/// `Data!B2:D5`). `range` None = the used range (the smallest rectangle holding every
/// non-empty cell). A range is A1 notation: `B2:D5`, `C3`, whole columns `B:D` or whole
/// rows `2:5`. A range of at most `max_cells` cells comes back in full, empty cells as
/// null, like Excel's own `readRange`; a larger one is trimmed to the last row and
/// column holding data (its top-left kept). At most `max_cells` cells are returned: whole
/// rows are cut from the bottom (columns too when one row alone is wider), and
/// `truncated` says whether any non-empty cell was left out.
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

    // Only the chosen sheet is parsed, and no more of its cells than can be returned: a
    // workbook of a million sheets or a sheet of twelve million cells costs the checks
    // of the file, not its contents.
    let tracker::files::WorkbookSheet {
        document,
        sheet: SheetRead {
            sheet: sheet_name,
            mut cells,
        },
        sheet_names: names,
        purview,
        truncated: cut_short,
    } = tracker::files::read_sheet(path, wanted.as_deref(), range, max_cells as u64, limits)?;
    cells.sort_by_key(|c| (c.addr.row, c.addr.col));

    let addrs: Vec<CellAddr> = cells.iter().map(|c| c.addr).collect();
    let used = CellRange::bounding(&addrs);
    // A range of at most max_cells slots comes back whole, empty cells included.
    let small = range.filter(|r| r.cell_count() <= max_cells as u64);
    let bounds = match (range, small) {
        (Some(r), Some(_)) => Some(r),
        (Some(r), None) => used.map(|u| CellRange::new(r.start, u.end)),
        (None, _) => used,
    };
    let Some(bounds) = bounds else {
        return Ok(WorkbookRange {
            document,
            sheet: sheet_name,
            address: String::new(),
            values: Vec::new(),
            text: Vec::new(),
            sheets: names,
            purview,
            cells: Vec::new(),
            truncated: cut_short,
        });
    };
    let cols = bounds.cols() as usize;
    let rows = bounds.rows() as usize;
    let (keep_rows, keep_cols) = if cols > max_cells {
        (1, max_cells)
    } else {
        (rows.min(max_cells / cols), cols)
    };
    // keep_rows, keep_cols >= 1 and fit in u32 (they are at most the range's size).
    let shown_range = CellRange::new(
        bounds.start,
        CellAddr::new(
            bounds.start.row + keep_rows as u32 - 1,
            bounds.start.col + keep_cols as u32 - 1,
        ),
    );
    let mut values = vec![vec![Value::Null; keep_cols]; keep_rows];
    let mut text = vec![vec![String::new(); keep_cols]; keep_rows];
    let mut kept = Vec::new();
    let mut truncated = cut_short;
    for cell in cells {
        if !shown_range.contains(cell.addr) {
            truncated = true;
            continue;
        }
        let r = (cell.addr.row - shown_range.start.row) as usize;
        let c = (cell.addr.col - shown_range.start.col) as usize;
        values[r][c] = cell_json(&cell.value);
        text[r][c] = tracker::files::shown(&cell);
        kept.push(cell);
    }
    Ok(WorkbookRange {
        document,
        sheet: sheet_name,
        address: shown_range.to_string(),
        values,
        text,
        sheets: names,
        purview,
        cells: kept,
        truncated,
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
fn parse_range(s: &str) -> Result<CellRange, FileToolError> {
    let invalid = |s: &str| {
        FileToolError::Invalid(format!(
            "not a cell range: {:?} (expected A1 notation such as B2, B2:D5, B:D or 2:5)",
            s.chars().take(64).collect::<String>()
        ))
    };
    let s = s.trim();
    let strip = |p: &str| p.trim().replace('$', "");
    if let Some((a, b)) = s.split_once(':') {
        let (a, b) = (strip(a), strip(b));
        let letters = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphabetic());
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
        if letters(&a) && letters(&b) {
            let col = |p: &str| {
                CellAddr::parse_a1(&format!("{p}1"))
                    .map(|c| c.col)
                    .map_err(|_| invalid(s))
            };
            return Ok(CellRange::new(
                CellAddr::new(0, col(&a)?),
                CellAddr::new(MAX_ROWS - 1, col(&b)?),
            ));
        }
        if digits(&a) && digits(&b) {
            let row = |p: &str| {
                CellAddr::parse_a1(&format!("A{p}"))
                    .map(|c| c.row)
                    .map_err(|_| invalid(s))
            };
            return Ok(CellRange::new(
                CellAddr::new(row(&a)?, 0),
                CellAddr::new(row(&b)?, MAX_COLS - 1),
            ));
        }
    }
    CellRange::parse(s).map_err(|_| invalid(s))
}

// ---------------------------------------------------------------------------------------
// Writing

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
/// `path` should come from [`AllowedDirs::resolve_for_write`] (absolute and canonical).
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
fn validate(sheets: &[SheetInput]) -> Result<Vec<WrittenSheet>, FileToolError> {
    validate_with(sheets, MAX_WRITE_CELLS)
}

fn validate_with(
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
fn check_sheet_name(name: &str) -> Result<(), FileToolError> {
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
fn build_workbook(
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
struct TempFile<'a> {
    dir: &'a Dir,
    name: std::ffi::OsString,
    file: File,
    persisted: bool,
}

impl<'a> TempFile<'a> {
    fn create(dir: &'a Dir, target_name: &OsStr) -> io::Result<Self> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tempfile::TempDir;
    use tracker::{App, CellValue};

    struct Fixture {
        _tmp: TempDir,
        root: PathBuf,
        outside: PathBuf,
        dirs: AllowedDirs,
    }

    /// `tmp/root` (allowed) and `tmp/outside` (not), both canonical.
    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(tmp.path()).unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("in.xlsx"), b"x").unwrap();
        fs::write(outside.join("secret.xlsx"), b"s").unwrap();
        let dirs = AllowedDirs::new(std::slice::from_ref(&root)).unwrap();
        Fixture {
            _tmp: tmp,
            root,
            outside,
            dirs,
        }
    }

    fn outside_msg(f: &Fixture, path: &str) -> String {
        format!(
            "refused: {path} is outside the folders you allowed ({}); start the bridge with --allow-dir <folder> to allow another",
            f.root.display()
        )
    }

    fn err_text<T: std::fmt::Debug>(r: Result<T, FileToolError>) -> String {
        r.unwrap_err().to_string()
    }

    fn sheet(name: &str, rows: Value) -> SheetInput {
        serde_json::from_value(json!({"name": name, "rows": rows})).unwrap()
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn roots_must_exist_and_be_folders() {
        let f = fixture();
        let missing = f.root.join("nope");
        assert_eq!(
            err_text(AllowedDirs::new(&[f.root.clone(), missing])),
            format!("{} does not exist", f.root.join("nope").display())
        );
        let file = f.root.join("in.xlsx");
        assert_eq!(
            err_text(AllowedDirs::new(std::slice::from_ref(&file))),
            format!("refused: {}: not a folder", file.display())
        );
        let twice = AllowedDirs::new(&[f.root.clone(), f.root.join("sub/..")]).unwrap();
        assert_eq!(twice.roots(), std::slice::from_ref(&f.root));
    }

    #[cfg(unix)]
    #[test]
    fn a_root_given_through_a_symlink_is_canonicalized() {
        let f = fixture();
        let link = f.outside.join("root-link");
        std::os::unix::fs::symlink(&f.root, &link).unwrap();
        let dirs = AllowedDirs::new(&[link]).unwrap();
        assert_eq!(dirs.roots(), std::slice::from_ref(&f.root));
        assert_eq!(
            dirs.resolve_existing("in.xlsx").unwrap(),
            f.root.join("in.xlsx")
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_first_root() {
        let f = fixture();
        fs::write(f.root.join("sub/a.xlsx"), b"a").unwrap();
        assert_eq!(
            f.dirs.resolve_existing("sub/a.xlsx").unwrap(),
            f.root.join("sub/a.xlsx")
        );
        assert_eq!(
            f.dirs.resolve_existing("sub/../in.xlsx").unwrap(),
            f.root.join("in.xlsx")
        );
        assert_eq!(
            f.dirs.resolve_for_write("sub/new.xlsx").unwrap(),
            f.root.join("sub/new.xlsx")
        );
        let abs = f.root.join("in.xlsx");
        assert_eq!(f.dirs.resolve_existing(abs.to_str().unwrap()).unwrap(), abs);
    }

    #[test]
    fn traversal_and_absolute_paths_outside_are_refused() {
        let f = fixture();
        for p in ["../outside/secret.xlsx", "sub/../../outside/secret.xlsx"] {
            assert_eq!(err_text(f.dirs.resolve_existing(p)), outside_msg(&f, p));
            assert_eq!(err_text(f.dirs.resolve_for_write(p)), outside_msg(&f, p));
        }
        let abs = f.outside.join("secret.xlsx");
        let abs = abs.to_str().unwrap();
        assert_eq!(err_text(f.dirs.resolve_existing(abs)), outside_msg(&f, abs));
        // A sibling whose name merely starts with the root's is outside too.
        let sibling = format!("{}-evil", f.root.display());
        fs::create_dir_all(&sibling).unwrap();
        let p = format!("{sibling}/x.xlsx");
        fs::write(&p, b"x").unwrap();
        assert_eq!(err_text(f.dirs.resolve_existing(&p)), outside_msg(&f, &p));
        assert_eq!(err_text(f.dirs.resolve_for_write(&p)), outside_msg(&f, &p));
        // Missing files outside are "outside", not "does not exist".
        let p = "../outside/nothing-here.xlsx";
        assert_eq!(err_text(f.dirs.resolve_existing(p)), outside_msg(&f, p));
        assert_eq!(err_text(f.dirs.resolve_for_write(p)), outside_msg(&f, p));
        // The root's own parent is outside.
        let p = "../new.xlsx";
        assert_eq!(err_text(f.dirs.resolve_for_write(p)), outside_msg(&f, p));
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_folders_and_files_pointing_outside_are_refused() {
        let f = fixture();
        std::os::unix::fs::symlink(&f.outside, f.root.join("dirlink")).unwrap();
        std::os::unix::fs::symlink(f.outside.join("secret.xlsx"), f.root.join("filelink.xlsx"))
            .unwrap();
        for p in ["dirlink/secret.xlsx", "filelink.xlsx"] {
            assert_eq!(err_text(f.dirs.resolve_existing(p)), outside_msg(&f, p));
        }
        assert_eq!(
            err_text(f.dirs.resolve_for_write("dirlink/new.xlsx")),
            outside_msg(&f, "dirlink/new.xlsx")
        );
        // A link that stays inside may be read; the canonical target is returned.
        std::os::unix::fs::symlink(f.root.join("in.xlsx"), f.root.join("inlink.xlsx")).unwrap();
        assert_eq!(
            f.dirs.resolve_existing("inlink.xlsx").unwrap(),
            f.root.join("in.xlsx")
        );
    }

    #[test]
    fn the_excluded_folder_is_refused_inside_an_allowed_one() {
        let f = fixture();
        let data = f.root.join("data");
        fs::create_dir_all(data.join("tls")).unwrap();
        fs::write(data.join("desktop-token"), "ab".repeat(32)).unwrap();
        fs::write(data.join("tls").join("ca.key"), "key").unwrap();
        let dirs = f.dirs.clone().excluding(&data).unwrap();
        let refused = |p: &str| {
            format!(
                "refused: {p} is inside office-bridge's own data directory (its tokens, keys and records); the file tools never read or write there"
            )
        };
        let absolute = data.join("desktop-token").display().to_string();
        for p in [
            "data/desktop-token",
            "sub/../data/desktop-token",
            "data/tls/ca.key",
            "data/missing.csv",
            "data/nowhere/missing.csv",
            absolute.as_str(),
        ] {
            assert_eq!(err_text(dirs.resolve_existing(p)), refused(p), "{p}");
        }
        for p in ["data/new.xlsx", "data/tls/new.xlsx", "data/desktop-token"] {
            assert_eq!(err_text(dirs.resolve_for_write(p)), refused(p), "{p}");
        }
        // The rest of the root is untouched by the exclusion.
        assert_eq!(
            dirs.resolve_existing("in.xlsx").unwrap(),
            f.root.join("in.xlsx")
        );
        assert!(dirs.resolve_for_write("new.xlsx").is_ok());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(data.join("desktop-token"), f.root.join("key.csv")).unwrap();
            std::os::unix::fs::symlink(&data, f.root.join("datalink")).unwrap();
            assert_eq!(
                err_text(dirs.resolve_existing("key.csv")),
                refused("key.csv")
            );
            assert_eq!(
                err_text(dirs.resolve_for_write("datalink/new.xlsx")),
                refused("datalink/new.xlsx")
            );
        }
        // A root inside the excluded folder could allow nothing: refused when set up.
        let inside = AllowedDirs::new(&[data.join("tls")]).unwrap();
        assert!(matches!(
            inside.excluding(&data),
            Err(FileToolError::BridgeData { .. })
        ));
        // So is excluding a root itself.
        assert!(matches!(
            f.dirs.clone().excluding(&f.root),
            Err(FileToolError::BridgeData { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_never_a_write_target() {
        let f = fixture();
        let why = "is a symbolic link; writing through links is not allowed";
        std::os::unix::fs::symlink(f.outside.join("secret.xlsx"), f.root.join("out.xlsx")).unwrap();
        std::os::unix::fs::symlink(f.root.join("in.xlsx"), f.root.join("inlink.xlsx")).unwrap();
        std::os::unix::fs::symlink(f.root.join("gone.xlsx"), f.root.join("dangling.xlsx")).unwrap();
        for p in ["out.xlsx", "inlink.xlsx", "dangling.xlsx"] {
            assert_eq!(
                err_text(f.dirs.resolve_for_write(p)),
                format!("refused: {p}: {why}")
            );
        }
        // write_workbook checks again, and the outside file is untouched.
        let sheets = [sheet("S", json!([[1]]))];
        assert_eq!(
            err_text(write_workbook(&f.root.join("out.xlsx"), &sheets, true)),
            format!("refused: {}: {why}", f.root.join("out.xlsx").display())
        );
        assert_eq!(fs::read(f.outside.join("secret.xlsx")).unwrap(), b"s");
    }

    #[cfg(unix)]
    #[test]
    fn hard_links_are_refused_for_reading_and_writing() {
        let f = fixture();
        // A second name inside the allowed folder for a file outside it.
        fs::hard_link(f.outside.join("secret.xlsx"), f.root.join("linked.xlsx")).unwrap();
        let why = "has 2 hard links (other names for the same file, which may be outside the folders you allowed); the file tools only use files with one";
        assert_eq!(
            err_text(f.dirs.resolve_existing("linked.xlsx")),
            format!("refused: linked.xlsx: {why}")
        );
        assert_eq!(
            err_text(f.dirs.resolve_for_write("linked.xlsx")),
            format!("refused: linked.xlsx: {why}")
        );
        // write_workbook checks again (a link made after the check).
        let target = f.root.join("linked.xlsx");
        assert_eq!(
            err_text(write_workbook(&target, &[sheet("S", json!([[1]]))], true)),
            format!("refused: {}: {why}", target.display())
        );
        assert_eq!(fs::read(f.outside.join("secret.xlsx")).unwrap(), b"s");
        assert_eq!(entries(&f.root), ["in.xlsx", "linked.xlsx", "sub"]);
        // The one-name control reads as before.
        assert_eq!(
            f.dirs.resolve_existing("in.xlsx").unwrap(),
            f.root.join("in.xlsx")
        );
    }

    /// Swaps `root/sub` for a link to the outside folder, as someone could while a write
    /// waits for approval.
    #[cfg(unix)]
    fn swap_sub_for_a_link(f: &Fixture) {
        fs::rename(f.root.join("sub"), f.root.join("sub-moved")).unwrap();
        std::os::unix::fs::symlink(&f.outside, f.root.join("sub")).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_swapped_for_a_link_after_the_check_gets_no_write() {
        let f = fixture();
        let sheets = [sheet("S", json!([["agent data"]]))];
        // Replacing an existing file: checked, then the folder is swapped, then written.
        let path = f.dirs.resolve_for_write("sub/secret.xlsx").unwrap();
        check_writable(&path, &sheets).unwrap();
        swap_sub_for_a_link(&f);
        let text = err_text(write_workbook(&path, &sheets, true));
        assert_eq!(
            text,
            format!(
                "refused: {}: {} on its path is now a symbolic link (changed since it was checked); nothing was written",
                path.display(),
                f.root.join("sub").display()
            )
        );
        assert_eq!(fs::read(f.outside.join("secret.xlsx")).unwrap(), b"s");
        assert_eq!(entries(&f.outside), ["secret.xlsx"]);
        // A new file: nothing appears outside either.
        let path = f.root.join("sub-moved").join("new.xlsx");
        check_writable(&path, &sheets).unwrap();
        fs::rename(f.root.join("sub-moved"), f.root.join("sub-2")).unwrap();
        std::os::unix::fs::symlink(&f.outside, f.root.join("sub-moved")).unwrap();
        assert!(err_text(write_workbook(&path, &sheets, false)).contains("nothing was written"));
        assert_eq!(entries(&f.outside), ["secret.xlsx"]);
        // A read resolved before a swap is refused when checked again.
        let f = fixture();
        fs::write(f.root.join("sub").join("q.csv"), "a,1\n").unwrap();
        fs::write(f.outside.join("q.csv"), "secret,2\n").unwrap();
        let checked = f.dirs.open_existing("sub/q.csv").unwrap();
        swap_sub_for_a_link(&f);
        assert_eq!(
            err_text(checked.recheck()),
            format!(
                "refused: sub/q.csv: {} on its path is now a symbolic link (changed since it was checked); what was read is not used",
                f.root.join("sub").display()
            )
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_write_replaces_the_file_atomically_in_its_folder() {
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let f = fixture();
        let path = f.dirs.resolve_for_write("sub/book.xlsx").unwrap();
        write_workbook(&path, &[sheet("A", json!([["first"]]))], false).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let before = fs::read(&path).unwrap();
        let old_ino = fs::metadata(&path).unwrap().ino();
        // A reader holding the old file keeps reading the old bytes: the new content is a
        // new file renamed over the name, never written into the old one.
        let mut held = File::open(&path).unwrap();
        write_workbook(&path, &[sheet("B", json!([["second"]]))], true).unwrap();
        let mut old = Vec::new();
        held.read_to_end(&mut old).unwrap();
        assert_eq!(old, before);
        let meta = fs::metadata(&path).unwrap();
        assert_ne!(meta.ino(), old_ino);
        assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
        assert_eq!(r.values, vec![vec![json!("second")]]);
        assert_eq!(entries(&f.root.join("sub")), ["book.xlsx"]);
        let checked = f.dirs.open_existing("sub/book.xlsx").unwrap();
        assert_eq!(checked.path(), path);
        checked.recheck().unwrap();
    }

    #[test]
    fn bad_path_shapes_are_refused() {
        let f = fixture();
        assert_eq!(
            err_text(f.dirs.resolve_existing("")),
            "refused: : the path is empty"
        );
        assert_eq!(
            err_text(f.dirs.resolve_existing("  ")),
            "refused:   : the path is empty"
        );
        assert_eq!(
            err_text(f.dirs.resolve_existing("a\0b.xlsx")),
            "refused: a\\0b.xlsx: the path contains a NUL byte"
        );
        let long = "a".repeat(4097);
        assert_eq!(
            err_text(f.dirs.resolve_for_write(&long)),
            format!(
                "refused: {}…: the path is 4097 bytes long, more than the 4096 allowed",
                "a".repeat(199)
            )
        );
        assert_eq!(
            err_text(f.dirs.resolve_existing("sub")),
            "refused: sub: not a regular file"
        );
        assert_eq!(
            err_text(f.dirs.resolve_for_write("sub")),
            "refused: sub: exists and is not a regular file"
        );
        assert_eq!(
            err_text(f.dirs.resolve_for_write("sub/")),
            "refused: sub/: names a folder, not a file"
        );
        assert_eq!(
            err_text(f.dirs.resolve_for_write("in.xlsx/x.xlsx")),
            "refused: in.xlsx/x.xlsx: its parent is not a folder"
        );
    }

    #[test]
    fn missing_files_and_folders_inside_are_reported_missing() {
        let f = fixture();
        assert_eq!(
            err_text(f.dirs.resolve_existing("nope.xlsx")),
            "nope.xlsx does not exist"
        );
        assert_eq!(
            err_text(f.dirs.resolve_existing("no/such/dir.xlsx")),
            "no/such/dir.xlsx does not exist"
        );
        assert_eq!(
            err_text(f.dirs.resolve_for_write("no/such/dir.xlsx")),
            format!("{} does not exist", f.root.join("no/such").display())
        );
    }

    #[test]
    fn home_paths_are_expanded_then_checked() {
        let f = fixture();
        let home = dirs::home_dir().expect("a home folder");
        let p = "~/office-bridge-no-such-file.xlsx";
        let want = if home.starts_with(&f.root) {
            format!("{p} does not exist")
        } else {
            outside_msg(&f, p)
        };
        assert_eq!(err_text(f.dirs.resolve_existing(p)), want);
        // Inside a root, `~` is the home folder again, not a folder named "~".
        let home_root = AllowedDirs::new(std::slice::from_ref(&home)).unwrap();
        assert_eq!(
            err_text(home_root.resolve_existing(p)),
            format!("{p} does not exist")
        );
        assert_eq!(
            home_root.resolve_for_write(p).unwrap(),
            fs::canonicalize(&home)
                .unwrap()
                .join("office-bridge-no-such-file.xlsx")
        );
    }

    #[test]
    fn no_roots_allows_nothing() {
        let dirs = AllowedDirs::new(&[]).unwrap();
        assert_eq!(
            err_text(dirs.resolve_existing("a.xlsx")),
            "refused: a.xlsx is outside the folders you allowed (none); start the bridge with --allow-dir <folder> to allow another"
        );
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn a_written_workbook_reads_back_with_formulas_as_text() {
        let f = fixture();
        let path = f.root.join("out.xlsx");
        let sheets = [
            sheet(
                "Revenue",
                json!([
                    ["Region", "Q1", "Q2", "Note"],
                    ["EMEA", 1234.5, 3, "=SUM(A1)"],
                    ["APAC", -0.25, null, true],
                ]),
            ),
            sheet("Q3 Notes", json!([["only"], [], [null, "b"]])),
        ];
        let written = write_workbook(&path, &sheets, false).unwrap();
        assert_eq!(
            written,
            vec![
                WrittenSheet {
                    name: "Revenue".into(),
                    address: "A1:D3".into()
                },
                WrittenSheet {
                    name: "Q3 Notes".into(),
                    address: "A1:B3".into()
                },
            ]
        );
        assert_eq!(entries(&f.root), ["in.xlsx", "out.xlsx", "sub"]);

        let r = read_workbook_range(&path, None, None, 100, &limits()).unwrap();
        assert_eq!(r.document, tracker::files::file_document(&path));
        assert_eq!(r.document.app, App::File);
        assert_eq!(r.sheet, "Revenue");
        assert_eq!(r.sheets, ["Revenue", "Q3 Notes"]);
        assert_eq!(r.address, "A1:D3");
        assert_eq!(
            r.values,
            vec![
                vec![json!("Region"), json!("Q1"), json!("Q2"), json!("Note")],
                vec![json!("EMEA"), json!(1234.5), json!(3), json!("=SUM(A1)")],
                vec![json!("APAC"), json!(-0.25), Value::Null, json!(true)],
            ]
        );
        assert_eq!(
            r.text,
            vec![
                vec!["Region", "Q1", "Q2", "Note"],
                vec!["EMEA", "1234.5", "3", "=SUM(A1)"],
                vec!["APAC", "-0.25", "", "TRUE"],
            ]
        );
        assert_eq!(r.cells.len(), 11);
        let note = r
            .cells
            .iter()
            .find(|c| c.addr == CellAddr::new(1, 3))
            .unwrap();
        assert_eq!(note.value, CellValue::Text("=SUM(A1)".into()));
        assert_eq!(r.purview, None);
        assert!(!r.truncated);

        let q3 = read_workbook_range(&path, Some("q3 notes"), None, 100, &limits()).unwrap();
        assert_eq!(q3.sheet, "Q3 Notes");
        assert_eq!(q3.address, "A1:B3");
        assert_eq!(
            q3.values,
            vec![
                vec![json!("only"), Value::Null],
                vec![Value::Null, Value::Null],
                vec![Value::Null, json!("b")],
            ]
        );
    }

    #[test]
    fn displayed_text_comes_from_the_number_format() {
        let f = fixture();
        let path = f.root.join("money.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let money = rust_xlsxwriter::Format::new().set_num_format("$#,##0.00");
        let ws = wb.add_worksheet();
        ws.write_number_with_format(0, 0, 1234.5, &money).unwrap();
        ws.write_number(0, 1, 0.5).unwrap();
        wb.save(&path).unwrap();
        let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
        assert_eq!(r.values, vec![vec![json!(1234.5), json!(0.5)]]);
        assert_eq!(r.text, vec![vec!["$1,234.50", "0.5"]]);
        assert_eq!(r.cells[0].number_format.as_deref(), Some("$#,##0.00"));
    }

    /// Sheet1: 10 rows × 3 columns, A1..C10 = row*10+col; Data: a 2×2 block at B2.
    fn grid_workbook(f: &Fixture) -> PathBuf {
        let path = f.root.join("grid.xlsx");
        let rows: Vec<Value> = (1..=10)
            .map(|r| json!([r * 10 + 1, r * 10 + 2, r * 10 + 3]))
            .collect();
        write_workbook(
            &path,
            &[
                sheet("Sheet1", Value::Array(rows)),
                sheet("Data", json!([[], [null, "x", "y"], [null, 1, 2]])),
            ],
            false,
        )
        .unwrap();
        path
    }

    #[test]
    fn ranges_and_sheets_are_selected() {
        let f = fixture();
        let path = grid_workbook(&f);
        let r = read_workbook_range(&path, None, Some("B2:C3"), 100, &limits()).unwrap();
        assert_eq!((r.sheet.as_str(), r.address.as_str()), ("Sheet1", "B2:C3"));
        assert_eq!(
            r.values,
            vec![vec![json!(22), json!(23)], vec![json!(32), json!(33)]]
        );
        assert_eq!(r.sheets, ["Sheet1", "Data"]);

        let r = read_workbook_range(&path, None, Some("Data!B2:C3"), 100, &limits()).unwrap();
        assert_eq!((r.sheet.as_str(), r.address.as_str()), ("Data", "B2:C3"));
        assert_eq!(
            r.values,
            vec![vec![json!("x"), json!("y")], vec![json!(1), json!(2)]]
        );

        // Used range of a sheet that does not start at A1.
        let r = read_workbook_range(&path, Some("DATA"), None, 100, &limits()).unwrap();
        assert_eq!((r.sheet.as_str(), r.address.as_str()), ("Data", "B2:C3"));

        // A small range comes back whole, empty cells as null.
        let r = read_workbook_range(&path, Some("Data"), Some("C3:D4"), 100, &limits()).unwrap();
        assert_eq!(r.address, "C3:D4");
        assert_eq!(
            r.values,
            vec![vec![json!(2), Value::Null], vec![Value::Null, Value::Null]]
        );
        assert_eq!(r.text, vec![vec!["2", ""], vec!["", ""]]);
        assert_eq!(r.cells.len(), 1);

        // Whole columns are trimmed to the data, keeping the top-left.
        let r = read_workbook_range(&path, None, Some("$B:C"), 100, &limits()).unwrap();
        assert_eq!(r.address, "B1:C10");
        assert_eq!(r.values[9], vec![json!(102), json!(103)]);
        let r = read_workbook_range(&path, None, Some("9:10"), 100, &limits()).unwrap();
        assert_eq!(r.address, "A9:C10");

        // A big range with no data is empty.
        let r = read_workbook_range(&path, Some("Data"), Some("E:F"), 100, &limits()).unwrap();
        assert_eq!(r.address, "");
        assert_eq!(r.values, Vec::<Vec<Value>>::new());
        assert!(r.cells.is_empty() && !r.truncated);

        assert_eq!(
            err_text(read_workbook_range(
                &path,
                Some("Sheet1"),
                Some("Data!A1"),
                10,
                &limits()
            )),
            "the range names sheet \"Data\" but the sheet argument is \"Sheet1\""
        );
    }

    #[test]
    fn unknown_sheets_and_bad_ranges_are_clear_errors() {
        let f = fixture();
        let path = grid_workbook(&f);
        assert_eq!(
            err_text(read_workbook_range(
                &path,
                Some("Summary"),
                None,
                10,
                &limits()
            )),
            format!(
                "{}: no sheet named \"Summary\" (sheets: Sheet1, Data)",
                path.display()
            )
        );
        for bad in ["A0", "B2:", "XFE1", "hello", "1:A"] {
            assert_eq!(
                err_text(read_workbook_range(&path, None, Some(bad), 10, &limits())),
                format!(
                    "not a cell range: {bad:?} (expected A1 notation such as B2, B2:D5, B:D or 2:5)"
                )
            );
        }
        assert_eq!(
            err_text(read_workbook_range(&path, None, None, 0, &limits())),
            "max_cells must be at least 1"
        );
    }

    #[test]
    fn reads_are_cut_to_max_cells() {
        let f = fixture();
        let path = grid_workbook(&f);
        let r = read_workbook_range(&path, None, None, 7, &limits()).unwrap();
        assert_eq!(r.address, "A1:C2");
        assert_eq!(
            r.values,
            vec![
                vec![json!(11), json!(12), json!(13)],
                vec![json!(21), json!(22), json!(23)]
            ]
        );
        assert_eq!(r.cells.len(), 6);
        assert!(r.truncated);
        // Narrower than one row: columns are cut too.
        let r = read_workbook_range(&path, None, Some("A5:C10"), 2, &limits()).unwrap();
        assert_eq!(r.address, "A5:B5");
        assert_eq!(r.values, vec![vec![json!(51), json!(52)]]);
        assert!(r.truncated);
        // Exactly enough is not truncated.
        let r = read_workbook_range(&path, None, None, 30, &limits()).unwrap();
        assert_eq!((r.address.as_str(), r.truncated), ("A1:C10", false));
    }

    #[test]
    fn csv_files_are_one_sheet_named_after_the_file() {
        let f = fixture();
        let path = f.root.join("sales.csv");
        fs::write(&path, "Region,Amount\nEMEA,\"1,234.50\"\n").unwrap();
        let r = read_workbook_range(&path, None, None, 100, &limits()).unwrap();
        assert_eq!(r.sheets, ["sales"]);
        assert_eq!(r.address, "A1:B2");
        assert_eq!(
            r.values,
            vec![
                vec![json!("Region"), json!("Amount")],
                vec![json!("EMEA"), json!(1234.5)]
            ]
        );
        assert_eq!(r.text[1], vec!["EMEA", "1,234.50"]);
        assert_eq!(r.purview, None);
    }

    #[test]
    fn existing_files_are_replaced_only_with_overwrite() {
        let f = fixture();
        let path = f.root.join("book.xlsx");
        write_workbook(&path, &[sheet("A", json!([["first"]]))], false).unwrap();
        assert_eq!(
            err_text(write_workbook(
                &path,
                &[sheet("A", json!([["second"]]))],
                false
            )),
            format!(
                "refused: {}: the file already exists; pass overwrite: true to replace it",
                path.display()
            )
        );
        let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
        assert_eq!(r.values, vec![vec![json!("first")]]);
        write_workbook(&path, &[sheet("B", json!([["second"]]))], true).unwrap();
        let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
        assert_eq!(
            (r.sheet.as_str(), r.values.clone()),
            ("B", vec![vec![json!("second")]])
        );
        assert_eq!(entries(&f.root), ["book.xlsx", "in.xlsx", "sub"]);
    }

    #[test]
    fn invalid_input_leaves_no_file_behind() {
        let f = fixture();
        let dir = f.root.join("sub");
        let path = dir.join("bad.xlsx");
        let cases: Vec<(Vec<SheetInput>, String)> = vec![
            (vec![], "at least one sheet is needed".into()),
            (
                (0..65).map(|i| sheet(&format!("S{i}"), json!([]))).collect(),
                "65 sheets given; at most 64 can be written at once".into(),
            ),
            (
                vec![sheet("Revenue", json!([[1, 2], [3, {"a": 1}]]))],
                "sheet Revenue cell B2: objects cannot be written to a cell".into(),
            ),
            (
                vec![sheet("Ok", json!([[1]])), sheet("Revenue", json!([[null, null, [1]]]))],
                "sheet Revenue cell C1: arrays cannot be written to a cell".into(),
            ),
            (
                vec![sheet("Long", json!([["x".repeat(32_768)]]))],
                "sheet Long cell A1: text of 32768 characters is longer than Excel's limit of 32,767"
                    .into(),
            ),
            (
                vec![sheet("Wide", Value::Array(vec![Value::Array(vec![Value::Null; 16_385])]))],
                "sheet Wide row 1 has 16385 values; Excel allows at most 16,384 columns".into(),
            ),
            (
                vec![sheet("Rev", json!([])), sheet("rev", json!([]))],
                "sheet name \"rev\" is used twice (Excel compares sheet names ignoring case)"
                    .into(),
            ),
            (
                vec![sheet("", json!([]))],
                "sheet name \"\": a sheet name cannot be empty".into(),
            ),
            (
                vec![sheet(&"x".repeat(32), json!([]))],
                format!("sheet name \"{}\": a sheet name can have at most 31 characters", "x".repeat(32)),
            ),
            (
                vec![sheet("Q3/Q4", json!([]))],
                "sheet name \"Q3/Q4\": a sheet name cannot contain any of [ ] : * ? / \\".into(),
            ),
            (
                vec![sheet("'Quoted", json!([]))],
                "sheet name \"'Quoted\": a sheet name cannot start or end with an apostrophe"
                    .into(),
            ),
            (
                vec![sheet("history", json!([]))],
                "sheet name \"history\": History is a name Excel reserves".into(),
            ),
        ];
        for (sheets, want) in cases {
            assert_eq!(err_text(write_workbook(&path, &sheets, false)), want);
            assert_eq!(entries(&dir), Vec::<String>::new(), "after: {want}");
        }
        assert_eq!(
            err_text(write_workbook(
                &dir.join("bad.csv"),
                &[sheet("S", json!([[1]]))],
                false
            )),
            format!(
                "refused: {}: only .xlsx files can be written (got .csv)",
                dir.join("bad.csv").display()
            )
        );
        assert_eq!(
            err_text(write_workbook(
                &dir.join("noext"),
                &[sheet("S", json!([[1]]))],
                false
            )),
            format!(
                "refused: {}: only .xlsx files can be written (got no extension)",
                dir.join("noext").display()
            )
        );
        let missing = err_text(write_workbook(
            &dir.join("missing/x.xlsx"),
            &[sheet("S", json!([[1]]))],
            false,
        ));
        assert!(
            missing.starts_with(&format!(
                "cannot write {}: ",
                dir.join("missing/x.xlsx").display()
            )),
            "{missing}"
        );
        assert_eq!(entries(&dir), Vec::<String>::new());
    }

    #[test]
    fn too_many_cells_are_refused_before_values_are_looked_at() {
        // The real limit (5,000,000) applies through `validate`; a small one shows the rule
        // without allocating millions of values. Nulls count, and the bad value is never
        // reached because the count is checked first.
        let sheets = [
            sheet("A", json!([[1, 2, 3], [null, null]])),
            sheet("B", json!([[1], [{"x": 1}]])),
        ];
        assert_eq!(
            err_text(validate_with(&sheets, 6)),
            "7 cells given; at most 6 can be written at once"
        );
        assert_eq!(
            err_text(validate_with(&sheets, 7)),
            "sheet B cell A2: objects cannot be written to a cell"
        );
    }

    #[test]
    fn the_temp_file_is_removed_when_not_persisted() {
        let f = fixture();
        let dir = f.root.join("sub");
        let handle = Dir::open(&dir).unwrap();
        let t = TempFile::create(&handle, OsStr::new("x.xlsx")).unwrap();
        let name = t.name.to_string_lossy().into_owned();
        assert!(
            name.starts_with(".x.xlsx.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(entries(&dir), [name]);
        drop(t);
        assert_eq!(entries(&dir), Vec::<String>::new());
    }

    #[test]
    fn sheet_input_deserializes_from_tool_arguments() {
        let s: SheetInput =
            serde_json::from_value(json!({"name": "S", "rows": [[1, "a", null, true]]})).unwrap();
        assert_eq!(
            s.rows[0],
            vec![json!(1), json!("a"), Value::Null, json!(true)]
        );
        let err = serde_json::from_value::<SheetInput>(json!({"name": "S"})).unwrap_err();
        assert_eq!(err.to_string(), "missing field `rows`");
    }

    #[test]
    fn a_sheet_bigger_than_the_answer_is_read_only_as_far_as_needed() {
        let f = fixture();
        let path = f.root.join("big.xlsx");
        // 3 columns by 2,000 rows: 6,000 cells, of which 30 fit the answer.
        let rows: Vec<Value> = (0..2_000).map(|r| json!([r, r + 1, r + 2])).collect();
        write_workbook(&path, &[sheet("Big", Value::Array(rows))], false).unwrap();
        // Limits that would refuse the whole sheet: only what is returned is read.
        let tight = Limits {
            max_cells: 1_000,
            ..Limits::default()
        };
        let r = read_workbook_range(&path, None, None, 30, &tight).unwrap();
        assert!(r.truncated);
        assert_eq!(r.address, "A1:C10");
        assert_eq!(r.cells.len(), 30);
        assert_eq!(r.values[9], vec![json!(9), json!(10), json!(11)]);
    }

    #[test]
    fn a_dropped_read_handle_stops_its_read() {
        let f = fixture();
        let path = f.root.join("small.xlsx");
        write_workbook(&path, &[sheet("S", json!([[1, 2]]))], false).unwrap();
        let switch = ReadSwitch::default();
        let handle = ReadHandle::new(&switch);
        let limits = Limits::default().with_control(handle.control());
        assert!(read_workbook_range(&path, None, None, 10, &limits).is_ok());
        drop(handle);
        let err = err_text(read_workbook_range(&path, None, None, 10, &limits));
        assert!(err.ends_with(": cancelled: the read was stopped before it finished (request cancelled or shutting down)"), "{err}");
    }

    #[test]
    fn a_bridges_switch_stops_only_its_own_reads() {
        let f = fixture();
        let path = f.root.join("small.xlsx");
        write_workbook(&path, &[sheet("S", json!([[1, 2]]))], false).unwrap();
        let (stopping, other) = (ReadSwitch::default(), ReadSwitch::default());
        let (a, b) = (ReadHandle::new(&stopping), ReadHandle::new(&other));
        stopping.cancel_all();
        let read = |h: &ReadHandle| {
            read_workbook_range(
                &path,
                None,
                None,
                10,
                &Limits::default().with_control(h.control()),
            )
        };
        assert!(err_text(read(&a)).contains("cancelled"));
        assert!(read(&b).is_ok(), "another bridge's reads go on");
        let later = ReadHandle::new(&stopping);
        assert!(
            err_text(read(&later)).contains("cancelled"),
            "and later reads stop at once"
        );
    }
}
