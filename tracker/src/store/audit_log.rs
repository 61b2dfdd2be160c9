//! The store's side of the audit chain: appending records (chained from the head anchor,
//! inside the caller's transaction or in one of their own), reading them back and
//! verifying them, and which audit key the reads' value hashes are made with.
//!
//! Every other part of the store appends its records through [`append_in`], so the chain
//! and the tables are written in the same transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Result, Store, StoreError, sql_err};
use crate::audit::{self, AuditRecord, GENESIS_HASH, RawAuditRow};
use crate::audit_key::AuditKey;
use crate::model::UnixMillis;

/// Where keyed value hashes start in a store: the key's id and the first record made
/// with it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyedSince {
    /// The key's id (not the key).
    pub key_id: String,
    /// The seq of the first record whose values were hashed with it.
    pub since_seq: u64,
}

impl Store {
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

    /// Verifies the audit chain (see [`audit::verify_rows`]).
    pub fn verify_audit(&self) -> Result<audit::VerifyReport> {
        Ok(audit::verify_rows(&self.audit_rows()?, self.audit_head()?))
    }
}

pub(super) fn keyed_since_in(conn: &Connection) -> rusqlite::Result<Option<KeyedSince>> {
    // Cached: every read asks (see `super::exec`).
    conn.prepare_cached("SELECT key_id, since_seq FROM audit_key WHERE id = 1")?
        .query_row([], |r| {
            Ok(KeyedSince {
                key_id: r.get(0)?,
                since_seq: r.get::<_, i64>(1)?.max(0) as u64,
            })
        })
        .optional()
}

pub(super) fn key_mismatch(k: &KeyedSince, key: &AuditKey) -> String {
    format!(
        "the values of reads from audit record {} on were hashed with audit key {}, but the key given is {}; restore the original key file (a new key cannot be used with this store)",
        k.since_seq,
        k.key_id,
        key.id()
    )
}

/// Appends one record inside `tx`, chaining from the head anchor (or, if it is missing,
/// the last row) and moving the anchor.
pub(super) fn append_in(
    tx: &Transaction<'_>,
    path: &str,
    at: UnixMillis,
    kind: &str,
    body: &serde_json::Value,
) -> Result<AuditRecord> {
    let e = |what: &str| sql_err(path, what);
    // Cached: every record of every call reads the head (see `super::exec`).
    let head: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
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
