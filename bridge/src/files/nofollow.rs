//! Folders opened one component at a time without following links (unix).
//!
//! A path checked at one moment can mean another place a moment later: someone who
//! replaces a folder on it by a symbolic link (while a write waits for approval, say)
//! redirects whatever is opened by that path afterwards. [`Dir::open`] walks an absolute,
//! canonical folder from `/` with `openat(O_DIRECTORY | O_NOFOLLOW)`, so it either opens
//! the very folder the path named when it was checked (canonical paths hold no links) or
//! fails; the file operations then run relative to that handle (`openat`, `renameat`,
//! `linkat`, `unlinkat`, `fstatat` without following the last name), so nothing swapped
//! on the path later changes where they land.

//!
//! Elsewhere (Windows) the same operations go by path, with a link check on each folder
//! of the path just before use: the window is narrower than a check made at approval
//! time, not closed, and hard links are not counted (std does not expose the count there
//! on stable Rust). See docs/security.md.

use std::io;
use std::path::PathBuf;

#[cfg(not(unix))]
pub(crate) use portable::Dir;
#[cfg(unix)]
pub(crate) use unix::Dir;

/// Why a folder could not be opened by its canonical path.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// `at` (a folder on the path) is now a symbolic link, or no longer a folder.
    Changed { at: PathBuf, link: bool },
    /// Any other failure (missing, permissions ...), with the component it happened at.
    Io { at: PathBuf, source: io::Error },
}

impl WalkError {
    /// True when the path itself changed (a link or a non-folder where a folder was).
    pub(crate) fn changed(&self) -> bool {
        matches!(self, WalkError::Changed { .. })
    }

    /// Words for an error message, ending with what this means for the operation
    /// (`nothing was written`, `what was read is not used`).
    pub(crate) fn describe(&self, consequence: &str) -> String {
        match self {
            WalkError::Changed { at, link: true } => format!(
                "{} on its path is now a symbolic link (changed since it was checked); {consequence}",
                at.display()
            ),
            WalkError::Changed { at, link: false } => format!(
                "{} on its path is no longer a folder (changed since it was checked); {consequence}",
                at.display()
            ),
            WalkError::Io { at, source } => {
                format!("cannot open {} ({source}); {consequence}", at.display())
            }
        }
    }
}

/// What is known of a name in a folder, without following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub symlink: bool,
    pub file: bool,
    /// Read by the unix walk only.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub dir: bool,
    /// How many names the file has; `None` where the platform does not say.
    pub links: Option<u64>,
    /// Device and inode, to recognise the same file later; `None` where not known.
    pub id: Option<(u64, u64)>,
}

#[cfg(unix)]
mod unix {
    // The stat fields' types differ between platforms (mode_t is 16 bits on macOS, nlink_t
    // 64 bits on Linux x86_64): the casts are needed somewhere.
    #![allow(clippy::unnecessary_cast, clippy::useless_conversion)]

    use super::{Stat, WalkError};
    use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
    use rustix::io::Errno;
    use std::ffi::{CStr, CString, OsStr};
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Component, Path, PathBuf};

    /// An open folder, reached without following any link.
    #[derive(Debug)]
    pub(crate) struct Dir {
        fd: OwnedFd,
    }

    fn c_name(name: &OsStr) -> io::Result<CString> {
        CString::new(name.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the name has a NUL byte"))
    }

    fn open_at(dirfd: impl AsFd, name: &CStr, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        loop {
            match rustix::fs::openat(&dirfd, name, flags | OFlags::CLOEXEC, mode) {
                Ok(fd) => return Ok(fd),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn stat_at(dirfd: impl AsFd, name: &CStr) -> io::Result<Stat> {
        let st = rustix::fs::statat(dirfd, name, AtFlags::SYMLINK_NOFOLLOW)?;
        let kind = FileType::from_raw_mode(st.st_mode as _);
        Ok(Stat {
            symlink: kind == FileType::Symlink,
            file: kind == FileType::RegularFile,
            dir: kind == FileType::Directory,
            links: Some(st.st_nlink as u64),
            id: Some((st.st_dev as u64, st.st_ino as u64)),
        })
    }

    impl Dir {
        /// Opens `path` (absolute, canonical: no `..`, no links) by walking it from `/`, one
        /// component at a time, never following a link.
        pub fn open(path: &Path) -> Result<Dir, WalkError> {
            let io_at = |at: &Path, source| WalkError::Io {
                at: at.to_path_buf(),
                source,
            };
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW;
            let mut at = PathBuf::from("/");
            if !path.is_absolute() {
                return Err(io_at(
                    path,
                    io::Error::new(io::ErrorKind::InvalidInput, "not an absolute path"),
                ));
            }
            let mut fd = open_at(CWD, c"/", flags, Mode::empty()).map_err(|e| io_at(&at, e))?;
            for component in path.components() {
                let name = match component {
                    Component::RootDir => continue,
                    Component::Normal(name) => name,
                    // Canonical paths have none of these; refuse rather than guess.
                    Component::Prefix(_) | Component::CurDir | Component::ParentDir => {
                        return Err(io_at(
                            path,
                            io::Error::new(io::ErrorKind::InvalidInput, "not a canonical path"),
                        ));
                    }
                };
                at.push(name);
                let c = c_name(name).map_err(|e| io_at(&at, e))?;
                match open_at(&fd, &c, flags, Mode::empty()) {
                    Ok(next) => fd = next,
                    Err(e) => {
                        // ELOOP (Linux, BSD) or ENOTDIR: say plainly whether a link is there now.
                        return Err(match stat_at(&fd, &c) {
                            Ok(st) if st.symlink => WalkError::Changed { at, link: true },
                            Ok(st)
                                if e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error())
                                    || !st.dir =>
                            {
                                WalkError::Changed { at, link: false }
                            }
                            _ => WalkError::Io { at, source: e },
                        });
                    }
                }
            }
            Ok(Dir { fd })
        }

        /// The entry `name` without following it; `None` when there is none.
        pub fn stat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
            match stat_at(&self.fd, &c_name(name)?) {
                Ok(st) => Ok(Some(st)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }

        /// Opens `name` for reading, refusing a link (`O_NOFOLLOW`) and never blocking on a
        /// FIFO or device (`O_NONBLOCK`; the caller checks the type on the handle).
        pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
            let fd = open_at(
                &self.fd,
                &c_name(name)?,
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK,
                Mode::empty(),
            )?;
            Ok(File::from(fd))
        }

        /// Creates `name`, which must not exist (a link there is not followed either).
        pub fn create_new(&self, name: &OsStr) -> io::Result<File> {
            let fd = open_at(
                &self.fd,
                &c_name(name)?,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
                // As std's File::create: the umask decides.
                Mode::from_raw_mode(0o666),
            )?;
            Ok(File::from(fd))
        }

        /// Renames `from` onto `to` within this folder, replacing the entry (never writing
        /// through a link or a file there).
        pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            let (from, to) = (c_name(from)?, c_name(to)?);
            Ok(rustix::fs::renameat(&self.fd, &from, &self.fd, &to)?)
        }

        /// Gives `from` the second name `to` in this folder; fails when `to` exists.
        pub fn link(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            let (from, to) = (c_name(from)?, c_name(to)?);
            // No AT_SYMLINK_FOLLOW: a link at `from` is not followed.
            Ok(rustix::fs::linkat(
                &self.fd,
                &from,
                &self.fd,
                &to,
                AtFlags::empty(),
            )?)
        }

        pub fn remove(&self, name: &OsStr) -> io::Result<()> {
            let name = c_name(name)?;
            Ok(rustix::fs::unlinkat(&self.fd, &name, AtFlags::empty())?)
        }

        /// Makes renames and links in this folder durable.
        pub fn sync(&self) -> io::Result<()> {
            Ok(rustix::fs::fsync(&self.fd)?)
        }
    }
}

#[cfg(not(unix))]
mod portable {
    use std::ffi::OsStr;
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::path::{Path, PathBuf};

    use super::{Stat, WalkError};

    fn stat_of(meta: &fs::Metadata) -> Stat {
        Stat {
            symlink: meta.file_type().is_symlink(),
            file: meta.is_file(),
            dir: meta.is_dir(),
            links: None,
            id: None,
        }
    }

    /// A folder by path: each folder of the path is checked not to be a link when it is
    /// opened, and every operation then goes by path again.
    #[derive(Debug)]
    pub(crate) struct Dir {
        path: PathBuf,
    }

    impl Dir {
        pub fn open(path: &Path) -> Result<Dir, WalkError> {
            let mut at = PathBuf::new();
            for component in path.components() {
                at.push(component);
                if !matches!(component, std::path::Component::Normal(_)) {
                    continue;
                }
                match fs::symlink_metadata(&at) {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(WalkError::Changed { at, link: true });
                    }
                    Ok(m) if !m.is_dir() => return Err(WalkError::Changed { at, link: false }),
                    Ok(_) => {}
                    Err(source) => return Err(WalkError::Io { at, source }),
                }
            }
            Ok(Dir {
                path: path.to_path_buf(),
            })
        }

        pub fn stat(&self, name: &OsStr) -> io::Result<Option<Stat>> {
            match fs::symlink_metadata(self.path.join(name)) {
                Ok(m) => Ok(Some(stat_of(&m))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }

        pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
            File::open(self.path.join(name))
        }

        pub fn create_new(&self, name: &OsStr) -> io::Result<File> {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.path.join(name))
        }

        pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            fs::rename(self.path.join(from), self.path.join(to))
        }

        pub fn link(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
            fs::hard_link(self.path.join(from), self.path.join(to))
        }

        pub fn remove(&self, name: &OsStr) -> io::Result<()> {
            fs::remove_file(self.path.join(name))
        }

        pub fn sync(&self) -> io::Result<()> {
            Ok(())
        }
    }
}
