//! Reads and the cell labels they leave: recording a read (the document, the read, each
//! cell's label and its audit record, in one transaction), and reading the labels back so
//! the detector's index can be rebuilt at start.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use rusqlite::params;
use serde_json::json;
use uuid::Uuid;

use super::audit_log::{append_in, key_mismatch, keyed_since_in};
use super::{
    Result, Store, StoreError, app_from_str, cells_summary, exec, sql_err, upsert_document,
};
use crate::audit::{AuditRecord, kinds};
use crate::flagged::{self, FlaggedRead};
use crate::model::{
    CellAddr, CellValue, DocumentId, DocumentRef, ProvenanceId, ReadCell, ReadEvent, SheetRead,
    UnixMillis,
};

impl Store {
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
        let prov = ev.id.0.to_string();
        // Encoded first (the values hash needs the same encoding), stored after in
        // multi-row INSERTs.
        let mut values: Vec<String> = Vec::with_capacity(total);
        for s in &ev.sheets {
            let addrs: Vec<CellAddr> = s.cells.iter().map(|c| c.addr).collect();
            sheets_body.push(
                json!({"sheet": s.sheet, "cells": s.cells.len(), "range": cells_summary(&addrs)}),
            );
            values_hash.update((s.sheet.len() as u64).to_be_bytes());
            values_hash.update(s.sheet.as_bytes());
            for c in &s.cells {
                let value = serde_json::to_string(&c.value).map_err(|err| StoreError::Corrupt {
                    path: path.clone(),
                    what: format!("cannot encode cell {}: {err}", c.addr),
                })?;
                values_hash.update(c.addr.row.to_be_bytes());
                values_hash.update(c.addr.col.to_be_bytes());
                values_hash.update((value.len() as u64).to_be_bytes());
                values_hash.update(value.as_bytes());
                values.push(value);
            }
        }
        let mut values = values.iter();
        for s in &ev.sheets {
            let rows = s.cells.iter().map(|c| LabelRow {
                sheet: &s.sheet,
                cell: c,
                value: values.next().map_or("", String::as_str),
            });
            insert_labels(&tx, &ev.document.id.0, &prov, ev.at, rows)
                .map_err(e("cannot store a label"))?;
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
    #[cfg(test)]
    pub(crate) fn label_count(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM labels", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(self.err("cannot count labels"))
    }

    /// Records that a read returned text looking like instructions aimed at an AI agent
    /// (where and why, never the text), in the audit chain: what decides the writes after
    /// it, across restarts ([`Store::last_flagged_read`]).
    pub fn record_flagged_read(
        &mut self,
        document: &DocumentRef,
        flagged: &FlaggedRead,
    ) -> Result<AuditRecord> {
        let path = self.path.display().to_string();
        let tx = self.begin("record a flagged read")?;
        let rec = append_in(
            &tx,
            &path,
            flagged.at,
            kinds::INSTRUCTIONS_FLAGGED,
            &flagged.audit_body(document),
        )?;
        tx.commit()
            .map_err(sql_err(&path, "cannot commit the flagged read"))?;
        self.group.committed();
        Ok(rec)
    }

    /// The last flagged read of the [`flagged::WINDOW_MS`] before `now`, from the audit
    /// chain (newest records first, stopping at the window's start).
    pub fn last_flagged_read(&self, now: UnixMillis) -> Result<Option<FlaggedRead>> {
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let mut stmt = self
            .conn
            .prepare("SELECT at, kind, body FROM audit ORDER BY seq DESC")
            .map_err(e("cannot read the audit chain"))?;
        let mut rows = stmt.query([]).map_err(e("cannot read the audit chain"))?;
        let since = now.saturating_sub(flagged::WINDOW_MS);
        while let Some(row) = rows.next().map_err(e("cannot read an audit record"))? {
            let at: UnixMillis = row.get(0).map_err(e("cannot read an audit record"))?;
            if at < since {
                break;
            }
            let kind: String = row.get(1).map_err(e("cannot read an audit record"))?;
            if kind != kinds::INSTRUCTIONS_FLAGGED {
                continue;
            }
            let body: String = row.get(2).map_err(e("cannot read an audit record"))?;
            if let Some(f) = serde_json::from_str(&body)
                .ok()
                .and_then(|b| FlaggedRead::from_audit(&b, at))
            {
                return Ok(Some(f));
            }
        }
        Ok(None)
    }
}

/// One label to store: a cell of a read and its value as stored (JSON).
struct LabelRow<'a> {
    sheet: &'a str,
    cell: &'a ReadCell,
    value: &'a str,
}

/// Rows per multi-row label INSERT, largest first: a read's labels go in as few statements
/// as these sizes allow, and only these few statements are ever prepared (and cached). One
/// statement per cell was most of a 45-cell read's time in SQLite's per-statement work
/// (bind, step, reset); 64 rows of 9 parameters stay far below SQLite's parameter limit.
const LABEL_BATCHES: [usize; 3] = [64, 8, 1];

/// The multi-row label upsert for one of the [`LABEL_BATCHES`] sizes, built once: the
/// statement cache is keyed by the text.
fn label_insert_sql(n: usize) -> &'static str {
    static SQL: LazyLock<[String; 3]> = LazyLock::new(|| LABEL_BATCHES.map(label_upsert));
    let i = LABEL_BATCHES.iter().position(|&b| b == n).unwrap_or(0);
    SQL.get(i).map_or("", String::as_str)
}

/// The multi-row label upsert for `n` rows: the latest read of a cell wins.
fn label_upsert(n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO labels (document, sheet, row, col, value, text, number_format, provenance, at) VALUES ",
    );
    for i in 0..n {
        let b = i * 9;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(?{},?{},?{},?{},?{},?{},?{},?{},?{})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9
        ));
    }
    sql.push_str(
        " ON CONFLICT(document, sheet, row, col) DO UPDATE SET
           value = excluded.value, text = excluded.text,
           number_format = excluded.number_format,
           provenance = excluded.provenance, at = excluded.at
         WHERE excluded.at >= labels.at",
    );
    sql
}

/// Stores labels in multi-row INSERTs of the [`LABEL_BATCHES`] sizes, in the rows' order
/// (so a cell read twice in one read keeps the later, as one INSERT per cell did).
fn insert_labels<'a>(
    tx: &rusqlite::Transaction<'_>,
    document: &str,
    provenance: &str,
    at: UnixMillis,
    rows: impl ExactSizeIterator<Item = LabelRow<'a>>,
) -> rusqlite::Result<()> {
    let mut left = rows.len();
    let mut rows = rows.peekable();
    for size in LABEL_BATCHES {
        if left < size {
            continue;
        }
        let mut stmt = tx.prepare_cached(label_insert_sql(size))?;
        while left >= size {
            for (i, r) in rows.by_ref().take(size).enumerate() {
                let b = i * 9;
                stmt.raw_bind_parameter(b + 1, document)?;
                stmt.raw_bind_parameter(b + 2, r.sheet)?;
                stmt.raw_bind_parameter(b + 3, r.cell.addr.row)?;
                stmt.raw_bind_parameter(b + 4, r.cell.addr.col)?;
                stmt.raw_bind_parameter(b + 5, r.value)?;
                stmt.raw_bind_parameter(b + 6, &r.cell.text)?;
                stmt.raw_bind_parameter(b + 7, &r.cell.number_format)?;
                stmt.raw_bind_parameter(b + 8, provenance)?;
                stmt.raw_bind_parameter(b + 9, at)?;
            }
            stmt.raw_execute()?;
            left -= size;
        }
    }
    debug_assert!(rows.peek().is_none());
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
