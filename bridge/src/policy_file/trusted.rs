//! Reading the policy file only when an administrator controls it.
//!
//! The bridge runs as the user, and the policy exists to bind that user, so a file the user
//! (or anyone but an administrator) could have written or swapped is no policy at all. The
//! file must be a regular file owned by an administrator and writable by nobody else, in
//! folders nobody else can rearrange; symbolic links are followed (configuration management
//! deploys them) and the checks apply to what they resolve to. The file is then opened
//! without following links and without blocking (a FIFO or a device would hang start-up or
//! feed it forever), checked through the opened handle (no gap between check and read), and
//! read only up to [`MAX_POLICY_BYTES`].

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest policy file read. Real policies are a few kilobytes; a larger "policy" is a
/// mistake or an attack on the bridge's memory.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// Why a file at a policy path is not used.
#[derive(Debug, thiserror::Error)]
pub enum Untrusted {
    #[error("could not be resolved: {0}")]
    Unresolvable(#[source] std::io::Error),
    #[error("is a {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("is owned by {owner}; only {trusted} may own a policy file")]
    Owner {
        owner: String,
        trusted: &'static str,
    },
    #[error("can be written by others than an administrator ({0})")]
    Writable(String),
    #[error("is in the folder {}, which {problem}", folder.display())]
    Folder { folder: PathBuf, problem: String },
    #[error("is {size} bytes; a policy file may be at most {MAX_POLICY_BYTES} bytes (1 MiB)")]
    TooLarge { size: u64 },
    #[error("could not be read: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error("is not UTF-8 text")]
    NotText,
}

/// Reads the policy file at `path` if an administrator controls it. `Ok(None)`: there is no
/// file (a dangling link counts as none).
pub fn read_trusted(path: &Path) -> Result<Option<String>, Untrusted> {
    let resolved = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(Untrusted::Unresolvable(e)),
    };
    platform::check_folders(&resolved)?;
    // The kind first, from the path: a device is refused without being opened at all
    // (opening some has side effects). The opened handle is checked again below.
    let kind = std::fs::symlink_metadata(&resolved).map_err(Untrusted::Unreadable)?;
    if let Some(what) = not_regular(&kind) {
        return Err(Untrusted::NotRegular(what));
    }
    let file = match platform::open_checked(&resolved) {
        Ok(f) => f,
        // Removed between the two steps: no file, as if looked at a moment later.
        Err(Untrusted::Unreadable(e)) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    read_bounded(file, MAX_POLICY_BYTES).map(Some)
}

/// Whether something (anything) is at `path`. Unknown counts as present: the override rule
/// must fail closed when the OS path cannot be looked at.
pub fn is_present(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) => !is_absent(&e),
    }
}

fn is_absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// What the file is when it is not a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("folder");
    }
    if t.is_symlink() {
        return Some("symbolic link");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("FIFO (named pipe)");
        }
        if t.is_socket() {
            return Some("socket");
        }
        if t.is_char_device() {
            return Some("character device");
        }
        if t.is_block_device() {
            return Some("block device");
        }
    }
    Some("special file")
}

/// Reads at most `limit` bytes (one more to tell a file that grew past it).
fn read_bounded(file: File, limit: u64) -> Result<String, Untrusted> {
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Untrusted::Unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(Untrusted::TooLarge {
            size: bytes.len() as u64,
        });
    }
    String::from_utf8(bytes).map_err(|_| Untrusted::NotText)
}

/// Whether this process runs with an administrator's rights: root on unix, an elevated
/// token on Windows.
pub fn running_elevated() -> bool {
    platform::running_elevated()
}

#[cfg(unix)]
mod platform {
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    use std::path::Path;

    use rustix::fs::OFlags;

    use super::{MAX_POLICY_BYTES, Untrusted, not_regular};

    const TRUSTED_OWNER: &str = "root";

    pub fn running_elevated() -> bool {
        rustix::process::geteuid().is_root()
    }

    /// Every folder above the file is root's and nobody else may add, remove or rename
    /// entries in it, unless the sticky bit keeps them to their own entries (as /tmp; the
    /// rule of OpenSSH's StrictModes).
    pub fn check_folders(resolved: &Path) -> Result<(), Untrusted> {
        for folder in resolved.ancestors().skip(1) {
            if folder.as_os_str().is_empty() {
                continue;
            }
            let meta = std::fs::metadata(folder).map_err(Untrusted::Unreadable)?;
            if let Some(problem) = folder_problem(meta.uid(), meta.mode()) {
                return Err(Untrusted::Folder {
                    folder: folder.to_path_buf(),
                    problem,
                });
            }
        }
        Ok(())
    }

    /// Why a folder with this owner and mode could let someone else replace the file.
    pub fn folder_problem(uid: u32, mode: u32) -> Option<String> {
        if uid != 0 {
            return Some(format!("is owned by uid {uid}, not {TRUSTED_OWNER}"));
        }
        let sticky = mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !sticky {
            return Some(format!(
                "its group or other users can write (mode {:04o}, no sticky bit)",
                mode & 0o7777
            ));
        }
        None
    }

    /// Opens the resolved path without following a link swapped in since, and without
    /// blocking (a FIFO without a writer would), then checks what was opened.
    pub fn open_checked(resolved: &Path) -> Result<File, Untrusted> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32)
            .open(resolved)
            .map_err(Untrusted::Unreadable)?;
        let meta = file.metadata().map_err(Untrusted::Unreadable)?;
        if let Some(what) = not_regular(&meta) {
            return Err(Untrusted::NotRegular(what));
        }
        file_problem(meta.uid(), meta.mode(), meta.len())?;
        Ok(file)
    }

    /// The owner, permission and size rules for the opened file.
    pub fn file_problem(uid: u32, mode: u32, len: u64) -> Result<(), Untrusted> {
        if uid != 0 {
            return Err(Untrusted::Owner {
                owner: format!("uid {uid}"),
                trusted: TRUSTED_OWNER,
            });
        }
        if mode & 0o022 != 0 {
            return Err(Untrusted::Writable(format!(
                "mode {:04o}: group or other users may write it",
                mode & 0o7777
            )));
        }
        if len > MAX_POLICY_BYTES {
            return Err(Untrusted::TooLarge { size: len });
        }
        Ok(())
    }
}

#[cfg(windows)]
mod platform {
    use std::fs::{File, OpenOptions};
    use std::os::windows::fs::OpenOptionsExt;
    use std::path::Path;

    use super::super::windows_acl::{self, FILE_WRITE_RIGHTS, FOLDER_WRITE_RIGHTS};
    use super::{MAX_POLICY_BYTES, Untrusted, not_regular};

    pub fn running_elevated() -> bool {
        windows_acl::sys::running_elevated()
    }

    /// The policy's own folder: an administrator's, and nobody else may delete or rename
    /// entries in it or change its permissions. (ProgramData lets users create files in
    /// subfolders; that cannot replace an administrator's file, so it is allowed.)
    pub fn check_folders(resolved: &Path) -> Result<(), Untrusted> {
        let Some(folder) = resolved.parent() else {
            return Ok(());
        };
        let security = windows_acl::sys::named_security(folder).map_err(Untrusted::Unreadable)?;
        windows_acl::check(&security, FOLDER_WRITE_RIGHTS).map_err(|e| Untrusted::Folder {
            folder: folder.to_path_buf(),
            problem: e.to_string(),
        })
    }

    pub fn open_checked(resolved: &Path) -> Result<File, Untrusted> {
        // FILE_FLAG_OPEN_REPARSE_POINT: a link swapped in since the path was resolved is
        // opened as itself (and refused below), not followed.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT)
            .open(resolved)
            .map_err(Untrusted::Unreadable)?;
        if !windows_acl::sys::is_disk_file(&file) {
            return Err(Untrusted::NotRegular("device or pipe"));
        }
        let meta = file.metadata().map_err(Untrusted::Unreadable)?;
        if let Some(what) = not_regular(&meta) {
            return Err(Untrusted::NotRegular(what));
        }
        let security = windows_acl::sys::handle_security(&file).map_err(Untrusted::Unreadable)?;
        windows_acl::check(&security, FILE_WRITE_RIGHTS)?;
        if meta.len() > MAX_POLICY_BYTES {
            return Err(Untrusted::TooLarge { size: meta.len() });
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b' '; 100]).unwrap();
        let e = read_bounded(File::open(&path).unwrap(), 10).unwrap_err();
        assert!(
            matches!(e, Untrusted::TooLarge { size: 11 }),
            "read 11 bytes, no more: {e:?}"
        );
        assert_eq!(
            read_bounded(File::open(&path).unwrap(), 100).unwrap().len(),
            100
        );
    }

    #[test]
    fn a_missing_file_or_folder_is_no_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read_trusted(&dir.path().join("nope.json"))
                .unwrap()
                .is_none()
        );
        assert!(
            read_trusted(&dir.path().join("no-folder").join("policy.json"))
                .unwrap()
                .is_none()
        );
        assert!(!is_present(&dir.path().join("nope.json")));
        assert!(is_present(dir.path()));
    }

    #[cfg(unix)]
    #[test]
    fn the_unix_rules_for_files_and_folders() {
        use platform::{file_problem, folder_problem};
        assert!(file_problem(0, 0o100644, 10).is_ok());
        assert!(file_problem(0, 0o100600, 10).is_ok());
        assert!(matches!(
            file_problem(65534, 0o100644, 10),
            Err(Untrusted::Owner { .. })
        ));
        for mode in [0o100664, 0o100646, 0o100666] {
            assert!(
                matches!(file_problem(0, mode, 10), Err(Untrusted::Writable(_))),
                "{mode:o}"
            );
        }
        assert!(matches!(
            file_problem(0, 0o100644, MAX_POLICY_BYTES + 1),
            Err(Untrusted::TooLarge { .. })
        ));
        assert!(folder_problem(0, 0o40755).is_none());
        assert!(folder_problem(0, 0o41777).is_none(), "sticky, as /tmp");
        assert!(folder_problem(1000, 0o40755).is_some());
        assert!(folder_problem(0, 0o40775).is_some());
        assert!(folder_problem(0, 0o40757).is_some());
    }
}
