//! The audit chain as the collectors of the administrator's `audit.forward` read it: the
//! records after a collector's cursor, and the cursor moved once they were sent. A
//! connection of its own to the store's database (SQLite in WAL mode lets it read while the
//! tracker writes), so a slow collector never holds the tracker's lock. The sending itself
//! is the bridge's (the tracker has no network).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Result, StoreError, sql_err};
use crate::audit::AuditRecord;

/// The forwarding side of a store.
pub struct ForwardLog {
    conn: Connection,
    path: String,
}

impl ForwardLog {
    /// Opens the store at `path`, which the tracker has opened (and so migrated) already.
    pub fn open(path: &Path) -> Result<ForwardLog> {
        let shown = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: shown.clone(),
            what: "cannot open the database for audit forwarding".into(),
            source,
        })?;
        conn.execute_batch("PRAGMA busy_timeout=5000; PRAGMA synchronous=FULL;")
            .map_err(sql_err(&shown, "cannot set pragmas"))?;
        Ok(ForwardLog { conn, path: shown })
    }

    /// The last record sent to `collector` (0: none yet).
    pub fn cursor(&self, collector: &str) -> Result<u64> {
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT sent_seq FROM audit_forward WHERE collector = ?1",
                params![collector],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err(&self.path, "cannot read the forwarding cursor"))?;
        Ok(seq.unwrap_or(0).max(0) as u64)
    }

    /// Records that every record up to `seq` reached `collector` (durable on return).
    pub fn advance(&self, collector: &str, seq: u64) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO audit_forward (collector, sent_seq) VALUES (?1, ?2)
                 ON CONFLICT(collector) DO UPDATE SET sent_seq = MAX(sent_seq, excluded.sent_seq)",
                params![collector, seq as i64],
            )
            .map_err(sql_err(&self.path, "cannot move the forwarding cursor"))?;
        Ok(())
    }

    /// Up to `limit` records after `seq`, oldest first.
    pub fn after(&self, seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        let e = |what: &str| sql_err(&self.path, what);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, at, kind, body, prev_hash, hash FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(e("cannot read the audit chain"))?;
        let rows = stmt
            .query_map(params![seq as i64, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(e("cannot read the audit chain"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, kind, body, prev_hash, hash) =
                row.map_err(e("cannot read an audit record"))?;
            out.push(AuditRecord {
                seq: seq.max(0) as u64,
                at,
                // A body that no longer parses (tampering) is sent as the text it is.
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
                kind,
                prev_hash,
                hash,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn records_are_read_after_a_cursor_that_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let mut store = Store::open(&db).unwrap();
        for i in 0..5 {
            store
                .append_audit(1_000 + i, "policy", &serde_json::json!({"n": i}))
                .unwrap();
        }
        let log = ForwardLog::open(&db).unwrap();
        assert_eq!(log.cursor("tcp://a:1").unwrap(), 0);
        let first = log.after(0, 3).unwrap();
        assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        log.advance("tcp://a:1", 3).unwrap();
        // A cursor never moves back.
        log.advance("tcp://a:1", 2).unwrap();
        drop(log);
        let log = ForwardLog::open(&db).unwrap();
        assert_eq!(log.cursor("tcp://a:1").unwrap(), 3);
        assert_eq!(log.cursor("tcp://b:1").unwrap(), 0);
        let rest = log.after(3, 100).unwrap();
        assert_eq!(rest.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(rest[0].body["n"], 3);
    }
}
