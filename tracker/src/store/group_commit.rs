//! Group commit: many callers' transactions made durable by one flush of the WAL, taken
//! outside the lock that orders them.
//!
//! With `synchronous=FULL` every commit flushes the write-ahead log before it returns.
//! The bridge runs every tracker call under one mutex, so under load every read and every
//! decision waited in line for everyone else's flush. In [`Durability::Grouped`] mode the
//! store commits with `synchronous=NORMAL` (the WAL frames are written, not yet flushed:
//! safe against the process dying, not yet against power loss), and the caller, after
//! releasing its lock, waits on a [`CommitTicket`]: one flush of the WAL file covers every
//! commit made before it started, so concurrent callers share it. Nothing is acted on
//! before its ticket says durable, which keeps the store's promise — a record is durable
//! before its decision takes effect — with one flush per batch instead of one per call.
//!
//! Flushing through our own handle to the `-wal` file is sound because `fsync` applies to
//! the file, not the descriptor; SQLite in NORMAL mode still flushes the WAL before each
//! checkpoint and the database after it, so a checkpoint never moves frames we have not
//! flushed into the main file out of order.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::StoreError;

/// When a commit is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Each commit is flushed before it returns (`synchronous=FULL`). For tools that call
    /// the store from one thread (the CLI, tests).
    #[default]
    EachCommit,
    /// Commits return once written; a [`CommitTicket`] waited on outside the caller's lock
    /// makes them durable, many at a time.
    Grouped,
}

#[derive(Debug, Default)]
struct Progress {
    /// Commits that have returned (their frames are in the WAL file).
    committed: u64,
    /// Commits known to be flushed.
    flushed: u64,
    /// Flushes made, and the time they took (figures and tests).
    flushes: u64,
    flush_time: Duration,
    /// A caller is flushing now; the others wait for it. When a flush fails, its caller
    /// gets the error and each waiter tries its own flush.
    flushing: bool,
}

/// The shared flush state of one store.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    mode: Durability,
    wal: PathBuf,
    /// Opened on first use: the WAL file exists only once the database has been written.
    file: Mutex<Option<File>>,
    progress: Mutex<Progress>,
    changed: Condvar,
}

/// How group commit is doing: commits made, flushes that made them durable, and the time
/// spent flushing. Zero flushes with [`Durability::EachCommit`] (SQLite flushes itself).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: u64,
    /// Flushes to disk that made them durable.
    pub flushes: u64,
    /// Time spent in those flushes.
    pub flush_time: Duration,
}

/// What a caller waits on before acting on what it just committed.
#[derive(Debug, Clone)]
#[must_use = "a grouped commit is durable only once its ticket has been waited on"]
pub struct CommitTicket {
    through: u64,
    group: Arc<GroupCommit>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks leaves plain counters behind: still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl GroupCommit {
    pub(crate) fn new(database: &Path, mode: Durability) -> Arc<Self> {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Arc::new(Self {
            mode,
            wal: PathBuf::from(wal),
            file: Mutex::new(None),
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        })
    }

    pub(crate) fn mode(&self) -> Durability {
        self.mode
    }

    /// Called after every successful commit, before the store's method returns.
    pub(crate) fn committed(&self) {
        if self.mode == Durability::Grouped {
            locked(&self.progress).committed += 1;
        }
    }

    pub(crate) fn stats(&self) -> CommitStats {
        let p = locked(&self.progress);
        CommitStats {
            commits: p.committed,
            flushes: p.flushes,
            flush_time: p.flush_time,
        }
    }

    pub(crate) fn ticket(self: &Arc<Self>) -> CommitTicket {
        CommitTicket {
            through: locked(&self.progress).committed,
            group: self.clone(),
        }
    }

    fn flush_file(&self) -> std::io::Result<()> {
        let mut file = locked(&self.file);
        if file.is_none() {
            // Write access: Windows needs it to flush; nothing is ever written through it.
            *file = Some(std::fs::OpenOptions::new().write(true).open(&self.wal)?);
        }
        file.as_ref().map_or(Ok(()), File::sync_data)
    }
}

impl CommitTicket {
    /// Returns once every commit made before this ticket was taken is on disk. The first
    /// waiter flushes; those arriving meanwhile wait and are usually covered by it.
    pub fn wait(&self) -> Result<(), StoreError> {
        let group = &self.group;
        if group.mode != Durability::Grouped {
            return Ok(());
        }
        let mut progress = locked(&group.progress);
        loop {
            if progress.flushed >= self.through {
                return Ok(());
            }
            if progress.flushing {
                progress = group
                    .changed
                    .wait(progress)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            }
            progress.flushing = true;
            let target = progress.committed;
            drop(progress);
            let started = Instant::now();
            let result = group.flush_file();
            let took = started.elapsed();
            progress = locked(&group.progress);
            progress.flushing = false;
            if result.is_ok() {
                progress.flushed = progress.flushed.max(target);
                progress.flushes += 1;
                progress.flush_time += took;
            }
            group.changed.notify_all();
            if let Err(source) = result {
                return Err(StoreError::Io {
                    path: group.wal.display().to_string(),
                    what: "cannot flush the write-ahead log".into(),
                    source,
                });
            }
        }
    }
}
