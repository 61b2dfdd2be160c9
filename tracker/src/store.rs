//! The durable store: one SQLite database (WAL) in the user's data directory holding
//! documents, reads, cell labels, the person's choices, flows, decisions, approvals and
//! the audit chain.
//!
//! Durability: by default `synchronous=FULL`, so when a method returns, its transaction —
//! including the audit record describing it — is on disk. Callers act on a decision only
//! after [`Store::record_flow_and_decision`] has returned. A store opened with
//! [`Durability::Grouped`] (the bridge) makes commits durable in batches: the caller
//! waits on [`Store::commit_ticket`] before acting (see `group_commit`).
//!
//! Labels keep what detection needs (value, displayed text, number format) so the
//! in-memory index can be rebuilt at start with [`Store::labels`]. The audit chain never
//! holds raw cell values, only locations, counts and a keyed hash of the values (HMAC
//! under the install's [`AuditKey`], set with [`Store::set_audit_key`]; see
//! [`crate::audit_key`]). Reads are refused until a key is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, AuditRecord, GENESIS_HASH, RawAuditRow, kinds};
use crate::audit_key::AuditKey;
use crate::model::{
    App, CellAddr, CellRange, CellValue, DocumentId, DocumentRef, ProvenanceId, ReadCell,
    ReadEvent, SheetRead, UnixMillis,
};
use crate::policy::UserChoices;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {what}: {source}")]
    Sqlite {
        path: String,
        what: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store {path}: {what}: {source}")]
    Io {
        path: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "store {path}: schema version {found} is newer than this build understands ({supported}); upgrade office-bridge"
    )]
    TooNew {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error("store {path}: {what}")]
    Corrupt { path: String, what: String },
    /// No audit key, or not the one the store's value hashes were made with.
    #[error("store {path}: {what}")]
    AuditKey { path: String, what: String },
    #[error("store {path}: approval {id}: {what}")]
    Approval {
        path: String,
        id: String,
        what: String,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Migrations, applied in order; index + 1 is the schema version. Never edit a released
/// entry: add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE TABLE reads (
    provenance TEXT PRIMARY KEY,
    document TEXT NOT NULL REFERENCES documents(id),
    request TEXT NOT NULL,
    at INTEGER NOT NULL,
    cells INTEGER NOT NULL
);
CREATE INDEX reads_document ON reads(document);
-- One row per cell ever read; the latest read of a cell wins.
CREATE TABLE labels (
    document TEXT NOT NULL,
    sheet TEXT NOT NULL,
    row INTEGER NOT NULL,
    col INTEGER NOT NULL,
    value TEXT NOT NULL,
    text TEXT,
    number_format TEXT,
    provenance TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (document, sheet, row, col)
) WITHOUT ROWID;
CREATE INDEX labels_provenance ON labels(provenance);
-- The person's standing choices and range marks, one JSON document.
CREATE TABLE user_choices (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    source TEXT NOT NULL,
    sheet TEXT NOT NULL,
    target TEXT NOT NULL,
    location TEXT NOT NULL,
    strength TEXT NOT NULL,
    sensitivity TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX flows_at ON flows(at);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    flow INTEGER REFERENCES flows(id),
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    approval TEXT
);
CREATE INDEX decisions_flow ON decisions(flow);
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    decision INTEGER REFERENCES decisions(id),
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_by TEXT,
    decided_at INTEGER
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- Last seq and hash, updated with every append: lets verify notice a cut-off tail.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
"#,
    r#"
-- One lifecycle per transfer: every checked write has an id its flows and approvals share,
-- and each flow its final outcome (and whether the write landed).
CREATE TABLE writes (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    -- held (waiting for approvals), passing (may be written, not finished), done
    state TEXT NOT NULL,
    outcome TEXT,
    written INTEGER,
    created_at INTEGER NOT NULL,
    settled_at INTEGER
);
CREATE INDEX writes_unfinished ON writes(state) WHERE state <> 'done';
ALTER TABLE flows ADD COLUMN write_id TEXT;
ALTER TABLE flows ADD COLUMN outcome TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE flows ADD COLUMN written INTEGER;
ALTER TABLE flows ADD COLUMN decided_by TEXT;
ALTER TABLE flows ADD COLUMN settled_at INTEGER;
CREATE INDEX flows_write ON flows(write_id);
ALTER TABLE approvals ADD COLUMN write_id TEXT;
ALTER TABLE approvals ADD COLUMN scope TEXT;
ALTER TABLE approvals ADD COLUMN reason TEXT;
-- Flows recorded before outcomes were kept: their outcome from their decision and
-- approval. Approvals still pending are closed as stale when the store is next opened.
UPDATE flows SET outcome = COALESCE((
    SELECT CASE d.action
        WHEN 'allow' THEN 'allowed'
        WHEN 'notify' THEN 'notified'
        WHEN 'block' THEN 'blocked'
        ELSE (SELECT CASE a.state WHEN 'allowed' THEN 'approved' ELSE a.state END
              FROM approvals a WHERE a.id = d.approval)
    END FROM decisions d WHERE d.flow = flows.id), 'pending');
UPDATE flows SET written = 0 WHERE outcome IN ('blocked', 'denied', 'expired');
-- What is known of each document's sensitivity label (Microsoft Purview), so a restart
-- does not forget it.
CREATE TABLE document_labels (
    document TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL
);
-- The administrator's policy last put in force, so a policy file that breaks while the
-- bridge is stopped does not bring back the defaults at the next start.
CREATE TABLE admin_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    at INTEGER NOT NULL
);
"#,
    r#"
-- Reads' value hashes are HMACs under the install's audit key from the first keyed read
-- on (records before it carry a plain SHA-256, `values_sha256`): which key (its public
-- id) and from which record, so a missing or replaced key is noticed before anything is
-- hashed with another.
CREATE TABLE audit_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_id TEXT NOT NULL,
    since_seq INTEGER NOT NULL
);
"#,
];

/// Where keyed value hashes start in a store: the key's id and the first record made
/// with it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyedSince {
    pub key_id: String,
    pub since_seq: u64,
}

pub use crate::approvals::ApprovalState;
pub use transfers::{ApprovalRow, Disposition, NewApproval, StoredFlow};

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

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.display().to_string();
        let tx = self.begin("migration")?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                what: "cannot create schema_version".into(),
                source,
            })?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                what: "cannot read schema version".into(),
                source,
            })?;
        let supported = MIGRATIONS.len() as i64;
        if current > supported {
            return Err(StoreError::TooNew {
                path,
                found: current,
                supported,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            let version = i as i64 + 1;
            tx.execute_batch(sql).map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                what: format!("migration to schema version {version} failed"),
                source,
            })?;
            tx.execute("DELETE FROM schema_version", [])
                .and_then(|_| {
                    tx.execute(
                        "INSERT INTO schema_version (version) VALUES (?1)",
                        [version],
                    )
                })
                .map_err(|source| StoreError::Sqlite {
                    path: path.clone(),
                    what: "cannot record schema version".into(),
                    source,
                })?;
        }
        tx.commit().map_err(|source| StoreError::Sqlite {
            path,
            what: "cannot commit migration".into(),
            source,
        })
    }

    /// The schema version in the file.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(self.err("cannot read schema version"))
    }

    fn begin(&mut self, what: &str) -> Result<Transaction<'_>> {
        let path = self.path.display().to_string();
        let what = format!("cannot begin transaction ({what})");
        self.conn
            .transaction()
            .map_err(move |source| StoreError::Sqlite { path, what, source })
    }

    /// The key and first record of keyed value hashes, when any read was recorded with
    /// a key.
    pub fn keyed_since(&self) -> Result<Option<KeyedSince>> {
        keyed_since_in(&self.conn).map_err(self.err("cannot read the audit key record"))
    }

    /// Hashes reads' values with `key` from now on. Refused when the store's value hashes
    /// were made with another key: mixing keys would leave records nobody can match.
    pub fn set_audit_key(&mut self, key: AuditKey) -> Result<()> {
        if let Some(k) = self.keyed_since()?
            && k.key_id != key.id()
        {
            return Err(StoreError::AuditKey {
                path: self.path.display().to_string(),
                what: key_mismatch(&k, &key),
            });
        }
        self.audit_key = Some(key);
        Ok(())
    }

    /// Records a read: the document, the read, every cell's label (one transaction,
    /// latest read of a cell wins) and an audit record with locations and an HMAC of the
    /// values under the audit key (never the values). Refused without a key.
    pub fn record_read(&mut self, ev: &ReadEvent) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let Some(key) = self.audit_key.clone() else {
            return Err(StoreError::AuditKey {
                path,
                what: "no audit key is set, so the values of a read cannot be hashed; reads are refused until the install's key is loaded".into(),
            });
        };
        let e = |what: &str| sql_err(&path, what);
        let total: usize = ev.sheets.iter().map(|s| s.cells.len()).sum();
        let mut values_hash = key.values_hasher();
        let mut sheets_body = Vec::new();
        let tx = self.begin("record read")?;
        upsert_document(&tx, &ev.document, ev.at).map_err(e("cannot record the document"))?;
        exec(
            &tx,
            "INSERT INTO reads (provenance, document, request, at, cells) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(provenance) DO NOTHING",
            params![ev.id.0.to_string(), ev.document.id.0, ev.request, ev.at, total as i64],
        )
        .map_err(e("cannot record the read"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO labels (document, sheet, row, col, value, text, number_format, provenance, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT(document, sheet, row, col) DO UPDATE SET
                       value = excluded.value, text = excluded.text,
                       number_format = excluded.number_format,
                       provenance = excluded.provenance, at = excluded.at
                     WHERE excluded.at >= labels.at",
                )
                .map_err(e("cannot prepare label insert"))?;
            let prov = ev.id.0.to_string();
            for s in &ev.sheets {
                let addrs: Vec<CellAddr> = s.cells.iter().map(|c| c.addr).collect();
                sheets_body.push(json!({"sheet": s.sheet, "cells": s.cells.len(), "range": cells_summary(&addrs)}));
                values_hash.update((s.sheet.len() as u64).to_be_bytes());
                values_hash.update(s.sheet.as_bytes());
                for c in &s.cells {
                    let value =
                        serde_json::to_string(&c.value).map_err(|err| StoreError::Corrupt {
                            path: path.clone(),
                            what: format!("cannot encode cell {}: {err}", c.addr),
                        })?;
                    values_hash.update(c.addr.row.to_be_bytes());
                    values_hash.update(c.addr.col.to_be_bytes());
                    values_hash.update((value.len() as u64).to_be_bytes());
                    values_hash.update(value.as_bytes());
                    stmt.execute(params![
                        ev.document.id.0,
                        s.sheet,
                        c.addr.row,
                        c.addr.col,
                        value,
                        c.text,
                        c.number_format,
                        prov,
                        ev.at
                    ])
                    .map_err(e("cannot store a label"))?;
                }
            }
        }
        let body = json!({
            "provenance": ev.id.to_string(),
            "document": ev.document.name,
            "document_id": ev.document.id.0,
            "app": ev.document.app.as_str(),
            "request": ev.request,
            "sheets": sheets_body,
            "cells": total,
            "values_hmac": values_hash.finish(),
            "values_key": key.id(),
        });
        // Another process with another key must not have started keying this store since
        // the key was set; the first keyed read marks where keyed hashes begin.
        let keyed = keyed_since_in(&tx).map_err(e("cannot read the audit key record"))?;
        if let Some(k) = &keyed
            && k.key_id != key.id()
        {
            return Err(StoreError::AuditKey {
                path: path.clone(),
                what: key_mismatch(k, &key),
            });
        }
        let rec = append_in(&tx, &path, ev.at, kinds::READ, &body)?;
        if keyed.is_none() {
            exec(
                &tx,
                "INSERT INTO audit_key (id, key_id, since_seq) VALUES (1, ?1, ?2)",
                params![key.id(), rec.seq as i64],
            )
            .map_err(e("cannot record the audit key"))?;
        }
        tx.commit().map_err(e("cannot commit the read"))?;
        self.group.committed();
        Ok(rec)
    }

    /// Every stored label, regrouped into the reads they came from (in time order), so the
    /// detector's index can be rebuilt at start. A read whose cells were all re-read later
    /// has no labels left and does not appear.
    pub fn labels(&self) -> Result<Vec<ReadEvent>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.provenance, l.sheet, l.row, l.col, l.value, l.text, l.number_format,
                        r.request, r.at, d.id, d.app, d.name, d.location
                 FROM labels l
                 JOIN reads r ON r.provenance = l.provenance
                 JOIN documents d ON d.id = l.document
                 ORDER BY r.at, l.provenance, l.sheet, l.row, l.col",
            )
            .map_err(self.err("cannot query labels"))?;
        let mut rows = stmt.query([]).map_err(self.err("cannot query labels"))?;
        let mut out: Vec<ReadEvent> = Vec::new();
        let mut current: Option<String> = None;
        while let Some(row) = rows.next().map_err(self.err("cannot read a label row"))? {
            let get = |row: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, u32>(2)?,
                    row.get::<_, u32>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, i64>(8)?,
                    row.get::<_, String>(9)?,
                    row.get::<_, String>(10)?,
                    row.get::<_, String>(11)?,
                    row.get::<_, String>(12)?,
                ))
            };
            let (
                prov,
                sheet,
                r,
                c,
                value,
                text,
                number_format,
                request,
                at,
                id,
                app,
                name,
                location,
            ) = get(row).map_err(self.err("cannot decode a label row"))?;
            let value: CellValue = serde_json::from_str(&value).map_err(|err| {
                self.corrupt(format!(
                    "label {sheet}!{} has an unreadable value: {err}",
                    CellAddr::new(r, c)
                ))
            })?;
            let cell = ReadCell {
                addr: CellAddr::new(r, c),
                value,
                text,
                number_format,
            };
            if current.as_deref() != Some(prov.as_str()) {
                let uuid = Uuid::parse_str(&prov).map_err(|err| {
                    self.corrupt(format!("read {prov:?} has a bad provenance id: {err}"))
                })?;
                let app = app_from_str(&app).ok_or_else(|| {
                    self.corrupt(format!("document {id} has an unknown app {app:?}"))
                })?;
                out.push(ReadEvent {
                    id: ProvenanceId(uuid),
                    document: DocumentRef {
                        app,
                        id: DocumentId(id),
                        name,
                        location,
                    },
                    sheets: Vec::new(),
                    at,
                    request,
                });
                current = Some(prov);
            }
            // `out` is non-empty here: we just pushed if it was a new provenance.
            if let Some(ev) = out.last_mut() {
                match ev.sheets.last_mut() {
                    Some(s) if s.sheet == sheet => s.cells.push(cell),
                    _ => ev.sheets.push(SheetRead {
                        sheet,
                        cells: vec![cell],
                    }),
                }
            }
        }
        Ok(out)
    }

    /// How many label rows are stored.
    pub fn label_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM labels", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(self.err("cannot count labels"))
    }

    /// Saves the person's standing choices and marks, with an audit record.
    pub fn save_choices(&mut self, choices: &UserChoices, at: UnixMillis) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let tx = self.begin("save choices")?;
        let rec = write_choices_in(&tx, &path, choices, at)?;
        tx.commit().map_err(|source| StoreError::Sqlite {
            path,
            what: "cannot commit choices".into(),
            source,
        })?;
        self.group.committed();
        Ok(rec)
    }

    /// The person marked (or unmarked) a range: saves the updated choices and appends a
    /// `label_set` record naming the range, in one transaction. `choices` is the state
    /// after the change.
    #[allow(clippy::too_many_arguments)]
    pub fn record_label_set(
        &mut self,
        choices: &UserChoices,
        document: &DocumentRef,
        sheet: &str,
        range: CellRange,
        sensitivity: crate::model::Sensitivity,
        by: &str,
        at: UnixMillis,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let body_text = serde_json::to_string(choices).map_err(|err| StoreError::Corrupt {
            path: path.clone(),
            what: format!("cannot encode choices: {err}"),
        })?;
        let level = match sensitivity {
            crate::model::Sensitivity::Normal => "normal",
            crate::model::Sensitivity::Confidential => "confidential",
        };
        let tx = self.begin("label set")?;
        upsert_document(&tx, document, at).map_err(e("cannot record the document"))?;
        exec(
            &tx,
            "INSERT INTO user_choices (id, body, at) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET body = excluded.body, at = excluded.at",
            params![body_text, at],
        )
        .map_err(e("cannot save choices"))?;
        let body = json!({
            "document": document.name,
            "document_id": document.id.0,
            "sheet": sheet,
            "cells": range.to_string(),
            "sensitivity": level,
            "decided_by": by,
        });
        let rec = append_in(&tx, &path, at, kinds::LABEL_SET, &body)?;
        tx.commit().map_err(e("cannot commit the label"))?;
        self.group.committed();
        Ok(rec)
    }

    /// The saved choices, or empty ones if none were saved.
    pub fn load_choices(&self) -> Result<UserChoices> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM user_choices WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("cannot load choices"))?;
        match body {
            None => Ok(UserChoices::default()),
            Some(b) => serde_json::from_str(&b)
                .map_err(|err| self.corrupt(format!("saved choices are unreadable: {err}"))),
        }
    }

    /// Appends one audit record in its own transaction; durable on return. The body must
    /// not carry raw cell values.
    pub fn append_audit(
        &mut self,
        at: UnixMillis,
        kind: &str,
        body: &serde_json::Value,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let tx = self.begin("append audit")?;
        let rec = append_in(&tx, &path, at, kind, body)?;
        tx.commit().map_err(|source| StoreError::Sqlite {
            path,
            what: "cannot commit the audit record".into(),
            source,
        })?;
        self.group.committed();
        Ok(rec)
    }

    /// Every audit row exactly as stored, in seq order (for verification).
    pub fn audit_rows(&self) -> Result<Vec<RawAuditRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, kind, body, prev_hash, hash FROM audit ORDER BY seq")
            .map_err(self.err("cannot query the audit chain"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RawAuditRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    body: r.get(3)?,
                    prev_hash: r.get(4)?,
                    hash: r.get(5)?,
                })
            })
            .map_err(self.err("cannot query the audit chain"))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err("cannot read an audit row"))
    }

    /// Every audit record with its body parsed. A body that is no longer JSON (tampering)
    /// is returned as a JSON string so an export still shows it.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>> {
        Ok(self
            .audit_rows()?
            .into_iter()
            .map(|r| AuditRecord {
                seq: r.seq.max(0) as u64,
                at: r.at,
                body: serde_json::from_str(&r.body).unwrap_or(serde_json::Value::String(r.body)),
                kind: r.kind,
                prev_hash: r.prev_hash,
                hash: r.hash,
            })
            .collect())
    }

    /// The head anchor: last seq and hash as recorded at append time.
    pub fn audit_head(&self) -> Result<Option<(i64, String)>> {
        self.conn
            .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(self.err("cannot read the audit head"))
    }

    /// Verifies the audit chain (see [`audit::verify`]).
    pub fn verify_audit(&self) -> Result<audit::VerifyReport> {
        audit::verify(self)
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

/// Saves the person's standing choices and marks inside `tx`, with their audit record.
fn write_choices_in(
    tx: &Transaction<'_>,
    path: &str,
    choices: &UserChoices,
    at: UnixMillis,
) -> Result<AuditRecord> {
    let encode_error = |err: serde_json::Error| StoreError::Corrupt {
        path: path.to_string(),
        what: format!("cannot encode choices: {err}"),
    };
    let body_text = serde_json::to_string(choices).map_err(encode_error)?;
    let audit_body = serde_json::to_value(choices).map_err(encode_error)?;
    exec(
        tx,
        "INSERT INTO user_choices (id, body, at) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET body = excluded.body, at = excluded.at",
        params![body_text, at],
    )
    .map_err(sql_err(path, "cannot save choices"))?;
    append_in(tx, path, at, kinds::CHOICES, &audit_body)
}

/// Appends one record inside `tx`, chaining from the head anchor (or, if it is missing,
/// the last row) and moving the anchor.
fn keyed_since_in(conn: &Connection) -> rusqlite::Result<Option<KeyedSince>> {
    conn.query_row(
        "SELECT key_id, since_seq FROM audit_key WHERE id = 1",
        [],
        |r| {
            Ok(KeyedSince {
                key_id: r.get(0)?,
                since_seq: r.get::<_, i64>(1)?.max(0) as u64,
            })
        },
    )
    .optional()
}

fn key_mismatch(k: &KeyedSince, key: &AuditKey) -> String {
    format!(
        "the values of reads from audit record {} on were hashed with audit key {}, but the key given is {}; restore the original key file (a new key cannot be used with this store)",
        k.since_seq,
        k.key_id,
        key.id()
    )
}

fn append_in(
    tx: &Transaction<'_>,
    path: &str,
    at: UnixMillis,
    kind: &str,
    body: &serde_json::Value,
) -> Result<AuditRecord> {
    let e = |what: &str| sql_err(path, what);
    let head: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(e("cannot read the audit head"))?;
    let head = match head {
        Some(h) => Some(h),
        None => tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(e("cannot read the last audit record"))?,
    };
    let (prev_seq, prev_hash) = head.unwrap_or((0, GENESIS_HASH.to_string()));
    let seq = prev_seq.max(0) as u64 + 1;
    let canonical = audit::canonical_json(body);
    let hash = audit::record_hash(seq, at, kind, &canonical, &prev_hash);
    tx.prepare_cached(
        "INSERT INTO audit (seq, at, kind, body, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![seq as i64, at, kind, canonical, prev_hash, hash]))
    .map_err(e("cannot append the audit record"))?;
    tx.prepare_cached(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )
    .and_then(|mut s| s.execute(params![seq as i64, hash]))
    .map_err(e("cannot move the audit head"))?;
    Ok(AuditRecord {
        seq,
        at,
        kind: kind.to_string(),
        body: body.clone(),
        prev_hash,
        hash,
    })
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

/// Labels grouped per document and sheet, for callers that want counts (status pages).
pub fn label_counts(events: &[ReadEvent]) -> BTreeMap<(DocumentId, String), usize> {
    let mut m = BTreeMap::new();
    for ev in events {
        for s in &ev.sheets {
            *m.entry((ev.document.id.clone(), s.sheet.clone()))
                .or_insert(0) += s.cells.len();
        }
    }
    m
}

mod documents;
mod group_commit;
mod transfers;
use group_commit::GroupCommit;
pub use group_commit::{CommitStats, CommitTicket, Durability};

#[cfg(test)]
mod tests;
