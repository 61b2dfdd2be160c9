//! The ground under the MCP file tools (`xlsx_read`, `xlsx_write`, `scan_file`): which
//! paths the agent may touch, and reading and writing workbooks on disk.
//!
//! - `allowed.rs`: which paths, and the time-of-check-to-time-of-use rules;
//! - `reading.rs`: one sheet of a workbook for `xlsx_read`;
//! - `writing.rs`: an `.xlsx` written validated and atomically for `xlsx_write`.

mod allowed;
pub(crate) mod inside;
mod nofollow;
mod reading;
mod writing;

pub use allowed::{AllowedDirs, CheckedFile, FileStamp};
pub use reading::{
    ReadHandle, ReadSwitch, SheetCache, WorkbookRange, is_open, read_workbook_page,
    read_workbook_range, resolve_range,
};
pub use writing::{SheetInput, WrittenSheet, check_writable, write_workbook};

use tracker::files::FileError;

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

#[cfg(test)]
mod tests;
