//! The durable store: one SQLite database (WAL) in the user's data directory holding
//! documents, reads, cell labels, the person's choices, flows, decisions, approvals and
//! the audit chain.
//!
//! Durability: by default `synchronous=FULL`, so when a method returns, its transaction —
//! including the audit record describing it — is on disk. Callers act on a decision only
//! after [`Store::record_check`] has returned. A store opened with
//! [`Durability::Grouped`] (the bridge) makes commits durable in batches: the caller
//! waits on [`Store::commit_ticket`] before acting (see `group_commit`).
//!
//! Labels keep what detection needs (value, displayed text, number format) so the
//! in-memory index can be rebuilt at start with [`Store::labels`]. The audit chain never
//! holds raw cell values, only locations, counts and a keyed hash of the values (HMAC
//! under the install's [`AuditKey`], set with [`Store::set_audit_key`]; see
//! [`crate::audit_key`]). Reads are refused until a key is set.
//!
//! Here: opening (file mode, pragmas), errors and the helpers every part shares. The parts,
//! one file each under `store/`: `schema` (migrations), `reads` (reads and the cell labels
//! they leave), `choices` (the person's choices and marks), `documents` (document labels,
//! the last good policy), `transfers` (a write's lifecycle), `audit_log` (the chain's
//! records and the audit key), `group_commit` (batched durability).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, Transaction, params};

use crate::audit_key::AuditKey;
use crate::model::{App, CellAddr, CellRange, DocumentRef, UnixMillis};

/// Why a store operation failed; each names the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("store {path}: {what}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What was being done.
        what: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation on the database or its WAL files failed.
    #[error("store {path}: {what}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The database was made by a newer office-bridge: it is left untouched.
    #[error(
        "store {path}: schema version {found} is newer than this build understands ({supported}); upgrade office-bridge"
    )]
    TooNew {
        /// The database file.
        path: String,
        /// The schema version the file has.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// Data could not be encoded for the database, or what it holds cannot be decoded.
    #[error("store {path}: {what}")]
    Corrupt {
        /// The database file.
        path: String,
        /// What could not be encoded or decoded.
        what: String,
    },
    /// No audit key, or not the one the store's value hashes were made with.
    #[error("store {path}: {what}")]
    AuditKey {
        /// The database file.
        path: String,
        /// What is wrong with the key.
        what: String,
    },
    /// An approval could not be closed as asked (it is not pending).
    #[error("store {path}: approval {id}: {what}")]
    Approval {
        /// The database file.
        path: String,
        /// The approval id.
        id: String,
        /// What is wrong.
        what: String,
    },
}

/// A store result: [`StoreError`] unless said otherwise.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub use crate::approvals::ApprovalState;
pub use audit_log::KeyedSince;
pub use reads::label_counts;
pub use transfers::{ApprovalRow, Disposition, NewApproval, StoredFlow};

/// The open database; every method is one transaction, audit records included.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    group: Arc<GroupCommit>,
    /// Hashes reads' values; `None` until the owner sets it, and reads are refused then.
    audit_key: Option<AuditKey>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Maps a SQLite error to one naming the database and what was being done. A free
/// function because the callers hold a transaction that borrows the store mutably.
fn sql_err(path: &str, what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + use<> {
    let (path, what) = (path.to_string(), what.to_string());
    move |source| StoreError::Sqlite { path, what, source }
}

/// Short location summary of a set of cells: bounding range and count. Never values.
pub fn cells_summary(cells: &[CellAddr]) -> String {
    let Some(r) = CellRange::bounding(cells) else {
        return String::new();
    };
    if r.cell_count() == cells.len() as u64 {
        r.to_string()
    } else {
        format!("{} cells within {r}", cells.len())
    }
}

fn app_from_str(s: &str) -> Option<App> {
    Some(match s {
        "excel" => App::Excel,
        "powerpoint" => App::Powerpoint,
        "file" => App::File,
        _ => return None,
    })
}

impl Store {
    /// Opens (creating if needed) the store at `path`, owner-only, WAL, migrated; every
    /// commit is durable when its method returns.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with(path, Durability::EachCommit)
    }

    /// Opens the store with the given durability. With [`Durability::Grouped`], a method's
    /// commit is durable only once [`Store::commit_ticket`] taken after it has been waited
    /// on: the caller must wait before acting on what it recorded.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Store> {
        let shown = path.display().to_string();
        create_owner_only(path).map_err(|source| StoreError::Io {
            path: shown.clone(),
            what: "cannot create the database file owner-only".into(),
            source,
        })?;
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            what: "cannot open the database".into(),
            source,
        })?;
        // Room for every statement the store runs (the default 16 would evict hot ones).
        conn.set_prepared_statement_cache_capacity(64);
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            group: GroupCommit::new(path, durability),
            audit_key: None,
        };
        store.configure()?;
        store.migrate()?;
        // The WAL and shared-memory files exist once the database has been written to;
        // SQLite copies the main file's mode, but make sure.
        for suffix in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            if p.exists() {
                restrict(&p).map_err(|source| StoreError::Io {
                    path: p.display().to_string(),
                    what: "cannot make the file owner-only".into(),
                    source,
                })?;
            }
        }
        Ok(store)
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A ticket covering every commit made so far: waiting on it (outside any lock that
    /// orders the commits) makes them durable. Free with [`Durability::EachCommit`].
    pub fn commit_ticket(&self) -> CommitTicket {
        self.group.ticket()
    }

    /// Commits and the flushes that made them durable so far (grouped mode).
    pub fn commit_stats(&self) -> CommitStats {
        self.group.stats()
    }

    fn err(&self, what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError {
        let path = self.path.display().to_string();
        let what = what.into();
        move |source| StoreError::Sqlite { path, what, source }
    }

    fn corrupt(&self, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.path.display().to_string(),
            what: what.into(),
        }
    }

    fn configure(&mut self) -> Result<()> {
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(self.err("cannot switch to WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(self.corrupt(format!("journal mode is {mode}, WAL was refused")));
        }
        // FULL: a commit is on disk before we return, so a decision's record is durable
        // before the decision takes effect. NORMAL (grouped): the commit is written and the
        // caller's ticket flushes it, with others' (see group_commit).
        let synchronous = match self.group.mode() {
            Durability::EachCommit => "FULL",
            Durability::Grouped => "NORMAL",
        };
        self.conn
            .execute_batch(&format!(
                "PRAGMA synchronous={synchronous}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
            ))
            .map_err(self.err("cannot set pragmas"))?;
        Ok(())
    }

    fn begin(&mut self, what: &str) -> Result<Transaction<'_>> {
        let path = self.path.display().to_string();
        let what = format!("cannot begin transaction ({what})");
        self.conn
            .transaction()
            .map_err(move |source| StoreError::Sqlite { path, what, source })
    }

    /// Raw connection for tests that tamper with the file.
    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Executes one statement from the connection's statement cache: the hot paths (a read, a
/// flow and its decision) run the same few statements thousands of times, and SQLite's
/// parser showed up at about 3.5% of the bridge's CPU in a profile when each was prepared
/// afresh.
fn exec(tx: &Transaction<'_>, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params)
}

fn upsert_document(
    tx: &Transaction<'_>,
    d: &DocumentRef,
    at: UnixMillis,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO documents (id, app, name, location, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, location = excluded.location,
           last_seen = MAX(last_seen, excluded.last_seen)",
    )?
    .execute(params![d.id.0, d.app.as_str(), d.name, d.location, at])
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => restrict(path),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_owner_only(_path: &Path) -> std::io::Result<()> {
    // On Windows the file inherits the user profile's ACL (owner-only by default).
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

mod audit_log;
mod cell_blob;
mod choices;
mod documents;
mod forward;
mod group_commit;
mod reads;
mod schema;
mod transfers;
pub use forward::ForwardLog;
use group_commit::GroupCommit;
pub use group_commit::{CommitStats, CommitTicket, Durability};

#[cfg(test)]
mod tests;
