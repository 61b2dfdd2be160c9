//! Which paths the agent may touch: the allowed folders, and paths checked at the
//! moment of use.
//!
//! The person names folders when starting the bridge (`--allow-dir`); [`AllowedDirs`] holds
//! them canonicalized (symlinks and `..` resolved, so a root given through a symlink is
//! its real folder). A requested path is canonicalized too and must then lie inside a root,
//! compared component by component (so `/data-evil` is not inside `/data`; on Windows
//! also without regard to case and across long `\\?\` and short spellings,
//! `files/inside.rs`). That one rule covers `../` traversal, absolute paths elsewhere,
//! symlinked folders and symlinked files pointing outside. A path that does not exist is
//! reported as missing only when its deepest existing ancestor is inside a root;
//! otherwise it is refused as outside, so the answers do not reveal what exists elsewhere
//! on the disk.
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

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::inside::inside;
use super::nofollow::{Dir, Stat};
use super::{FileToolError, MAX_PATH_BYTES};

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
        if let Some(root) = self.roots.iter().find(|r| inside(r, &canon)) {
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
        self.excluded.iter().any(|x| inside(canon, x))
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
        let file = dir.open_read(name).map_err(|e| {
            // Windows will not open a folder as a file (access denied): name what it is.
            if fs::symlink_metadata(&canon).is_ok_and(|m| m.is_dir()) {
                refused("not a regular file".to_string())
            } else {
                refused(format!("cannot open it ({e})"))
            }
        })?;
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
            stamp: FileStamp::of(&meta),
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
        if self.roots.iter().any(|r| inside(canon, r)) {
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
            .is_some_and(|c| self.roots.iter().any(|r| inside(c, r)));
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
    stamp: FileStamp,
}

impl CheckedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The version of the file that was checked, from the handle that was opened.
    pub fn stamp(&self) -> &FileStamp {
        &self.stamp
    }

    /// Whether the path still leads to that version now (`false` when it cannot be told).
    pub fn unchanged(&self) -> bool {
        fs::symlink_metadata(&self.path).is_ok_and(|m| FileStamp::of(&m) == self.stamp)
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
pub(super) fn check_one_name(links: Option<u64>) -> Result<(), String> {
    match links {
        Some(n) if n > 1 => Err(format!(
            "has {n} hard links (other names for the same file, which may be outside the folders you allowed); the file tools only use files with one"
        )),
        _ => Ok(()),
    }
}

/// What may stand at a write's target name: nothing, or a regular file with one name.
pub(super) fn check_existing_target(st: &Stat) -> Result<(), String> {
    if st.symlink {
        return Err("is a symbolic link; writing through links is not allowed".to_string());
    }
    if !st.file {
        return Err("exists and is not a regular file".to_string());
    }
    check_one_name(st.links)
}

#[cfg(unix)]
pub(super) fn links_of(meta: &fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.nlink())
}

#[cfg(not(unix))]
pub(super) fn links_of(_meta: &fs::Metadata) -> Option<u64> {
    // std exposes the link count on Windows only on nightly (`windows_by_handle`).
    None
}

/// What tells one version of a file from another without reading it: which file it is
/// (device and inode), its length and modification time, and on unix its change time,
/// which no one can set back. A page of a read is cut from an earlier parse of the file
/// only while its stamp is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    id: Option<(u64, u64)>,
    len: u64,
    modified: Option<std::time::SystemTime>,
    changed: Option<(i64, i64)>,
}

impl FileStamp {
    pub fn of(meta: &fs::Metadata) -> Self {
        FileStamp {
            id: file_id(meta),
            len: meta.len(),
            modified: meta.modified().ok(),
            changed: changed_of(meta),
        }
    }
}

#[cfg(unix)]
fn changed_of(meta: &fs::Metadata) -> Option<(i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.ctime(), meta.ctime_nsec()))
}

#[cfg(not(unix))]
fn changed_of(_meta: &fs::Metadata) -> Option<(i64, i64)> {
    None
}

#[cfg(unix)]
pub(super) fn file_id(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
pub(super) fn file_id(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// A path for an error message: at most 200 characters.
pub(super) fn shorten(s: &str) -> String {
    if s.chars().count() <= 200 {
        s.replace('\0', "\\0")
    } else {
        let head: String = s.chars().take(199).collect();
        format!("{}…", head.replace('\0', "\\0"))
    }
}
