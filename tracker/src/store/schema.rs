//! The store's schema: the migrations, applied in order at open, and the schema version
//! they leave in the file.
//!
//! A file of its own because it is the one place the tables are defined; a store newer
//! than this build is refused here rather than misread.

use super::{Result, Store, StoreError};

/// Migrations, applied in order; index + 1 is the schema version. Never edit a released
/// entry: add a new one.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 4: why each decision came out as it did, as data (tracker::DecisionWhy, JSON).
    r#"
ALTER TABLE decisions ADD COLUMN why TEXT;
"#,
    // 5: the recent writes into each target, joined with the next write so evidence
    // accumulates over a trickle of writes (tracker::trail), kept across restarts.
    r#"
CREATE TABLE recent_writes (
    write_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    at INTEGER NOT NULL,
    parts TEXT NOT NULL
);
CREATE INDEX recent_writes_at ON recent_writes(at);
"#,
    // 6: how far each audit collector (the policy's audit.forward) has been sent the
    // chain, so a collector that was down gets the records later and none twice.
    r#"
CREATE TABLE audit_forward (
    collector TEXT PRIMARY KEY,
    sent_seq INTEGER NOT NULL
);
"#,
    // 7: no query looks labels up by provenance (the index is rebuilt from a full scan
    // joined to reads by their key), and keeping this index cost every stored label a
    // second b-tree insert (a delete and an insert when a re-read replaces it): about a
    // third of a read's time in SQLite.
    r#"
DROP INDEX IF EXISTS labels_provenance;
"#,
    // 8: a read's cells as one row per read and sheet (store/cell_blob.rs) instead of one
    // row per cell: a 45-cell read was 45 b-tree upserts, most of its time. The latest read
    // of a cell still wins, decided when the labels are loaded (`Store::labels`). The rows
    // of `labels` are moved here by `reads::move_labels_to_read_cells` in the same
    // transaction, and the table dropped. No query looks reads up by document, so that
    // index, one more b-tree page written per read, goes too.
    r#"
DROP INDEX IF EXISTS reads_document;
CREATE TABLE read_cells (
    id INTEGER PRIMARY KEY,
    provenance TEXT NOT NULL,
    document TEXT NOT NULL,
    sheet TEXT NOT NULL,
    at INTEGER NOT NULL,
    cells BLOB NOT NULL
);
"#,
];

/// The schema version whose migration moves per-cell labels into `read_cells`.
const READ_CELLS_VERSION: i64 = 8;

impl Store {
    pub(super) fn migrate(&mut self) -> Result<()> {
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
            if version == READ_CELLS_VERSION {
                super::reads::move_labels_to_read_cells(&tx, &path)?;
            }
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
}
