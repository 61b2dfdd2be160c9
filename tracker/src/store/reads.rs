//! Reads and the cell labels they leave: recording a read (the document, the read, each
//! cell's label and its audit record, in one transaction), and reading the labels back so
//! the detector's index can be rebuilt at start.

use std::collections::BTreeMap;

use rusqlite::params;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;
use uuid::Uuid;

use super::audit_log::{append_in, key_mismatch, keyed_since_in};
use super::cell_blob;
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
        // One JSON encoding of each value, for the values hash only (the audit record's
        // `values_hmac` has always been over this encoding); the cells are stored as one
        // blob per sheet.
        let mut value = Vec::new();
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO read_cells (provenance, document, sheet, at, cells)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(e("cannot store a read's cells"))?;
        for s in &ev.sheets {
            let addrs: Vec<CellAddr> = s.cells.iter().map(|c| c.addr).collect();
            sheets_body.push(
                json!({"sheet": s.sheet, "cells": s.cells.len(), "range": cells_summary(&addrs)}),
            );
            values_hash.update((s.sheet.len() as u64).to_be_bytes());
            values_hash.update(s.sheet.as_bytes());
            for c in &s.cells {
                value.clear();
                serde_json::to_writer(&mut value, &c.value).map_err(|err| StoreError::Corrupt {
                    path: path.clone(),
                    what: format!("cannot encode cell {}: {err}", c.addr),
                })?;
                values_hash.update(c.addr.row.to_be_bytes());
                values_hash.update(c.addr.col.to_be_bytes());
                values_hash.update((value.len() as u64).to_be_bytes());
                values_hash.update(&value);
            }
            insert
                .execute(params![
                    prov,
                    ev.document.id.0,
                    s.sheet,
                    ev.at,
                    cell_blob::encode(&s.cells)
                ])
                .map_err(e("cannot store a read's cells"))?;
        }
        drop(insert);
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

    /// Every stored label (the latest read of each cell), regrouped into the reads they
    /// came from, in time order, so the detector's index can be rebuilt at start. A read
    /// whose cells were all re-read later has no labels left and does not appear.
    pub fn labels(&self) -> Result<Vec<ReadEvent>> {
        Ok(only_live(self.live_labels()?.events))
    }

    /// [`Store::labels`], and the stored reads made to hold only their live cells: a row
    /// none of whose cells is the latest read of its cell is deleted, and a row with fewer
    /// than half of its cells live is rewritten with those. Re-reading a sheet stores it
    /// again (a read is one append, not an upsert per cell), so this bounds the store at
    /// about twice its live cells after each start.
    pub fn labels_compacting(&mut self) -> Result<Vec<ReadEvent>> {
        let loaded = self.live_labels()?;
        let stale: Vec<&StoredSheet> = loaded
            .rows
            .iter()
            .filter(|r| r.live < r.total.div_ceil(2))
            .collect();
        if stale.is_empty() {
            return Ok(only_live(loaded.events));
        }
        let path = self.path.display().to_string();
        let e = |what: &str| sql_err(&path, what);
        let tx = self.begin("compact stored reads")?;
        {
            let mut delete = tx
                .prepare("DELETE FROM read_cells WHERE id = ?1")
                .map_err(e("cannot compact stored reads"))?;
            let mut rewrite = tx
                .prepare("UPDATE read_cells SET cells = ?2 WHERE id = ?1")
                .map_err(e("cannot compact stored reads"))?;
            for r in stale {
                let cells = loaded
                    .events
                    .get(r.event)
                    .and_then(|ev| ev.sheets.get(r.sheet))
                    .map(|s| s.cells.as_slice());
                match cells {
                    Some(cells) if r.live > 0 => {
                        rewrite.execute(params![r.id, cell_blob::encode(cells)])
                    }
                    _ => delete.execute([r.id]),
                }
                .map_err(e("cannot compact stored reads"))?;
            }
        }
        tx.commit().map_err(e("cannot commit the compaction"))?;
        self.group.committed();
        Ok(only_live(loaded.events))
    }

    /// The stored reads, newest read of each cell kept.
    pub(super) fn live_labels(&self) -> Result<LiveLabels> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.provenance, c.sheet, c.at, c.cells,
                        r.request, d.id, d.app, d.name, d.location
                 FROM read_cells c
                 JOIN reads r ON r.provenance = c.provenance
                 JOIN documents d ON d.id = c.document
                 ORDER BY c.at, c.id",
            )
            .map_err(self.err("cannot query stored reads"))?;
        let mut rows = stmt
            .query([])
            .map_err(self.err("cannot query stored reads"))?;
        // Every stored sheet read, oldest first, as stored.
        let mut stored: Vec<(StoredSheet, Vec<ReadCell>)> = Vec::new();
        let mut events: Vec<ReadEvent> = Vec::new();
        while let Some(row) = rows.next().map_err(self.err("cannot read a stored read"))? {
            let get = |row: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get_ref(4)?.as_blob()?.to_vec(),
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, String>(7)?,
                    row.get::<_, String>(8)?,
                    row.get::<_, String>(9)?,
                ))
            };
            let (id, prov, sheet, at, blob, request, doc, app, name, location) =
                get(row).map_err(self.err("cannot decode a stored read"))?;
            let cells = cell_blob::decode(&blob).map_err(|what| {
                self.corrupt(format!(
                    "the cells of read {prov} of sheet {sheet:?}: {what}"
                ))
            })?;
            let uuid = Uuid::parse_str(&prov).map_err(|err| {
                self.corrupt(format!("read {prov:?} has a bad provenance id: {err}"))
            })?;
            // Compared as ids: no string made per stored sheet read.
            let same_read = events
                .last()
                .is_some_and(|ev| ev.id.0 == uuid && ev.at == at);
            if !same_read {
                let app = app_from_str(&app).ok_or_else(|| {
                    self.corrupt(format!("document {doc} has an unknown app {app:?}"))
                })?;
                events.push(ReadEvent {
                    id: ProvenanceId(uuid),
                    document: DocumentRef {
                        app,
                        id: DocumentId(doc),
                        name,
                        location,
                    },
                    sheets: Vec::new(),
                    at,
                    request,
                });
            }
            let event = events.len() - 1;
            let sheet_index = events.get(event).map_or(0, |ev| ev.sheets.len());
            if let Some(ev) = events.get_mut(event) {
                ev.sheets.push(SheetRead {
                    sheet,
                    cells: Vec::new(),
                });
            }
            stored.push((
                StoredSheet {
                    id,
                    total: cells.len(),
                    live: 0,
                    event,
                    sheet: sheet_index,
                },
                cells,
            ));
        }
        // Newest first, the last of a read first: the first sighting of a cell is its
        // latest read; every later one is stale.
        let mut sheet_ids: FxHashMap<(DocumentId, String), u32> = FxHashMap::default();
        let mut seen: FxHashSet<(u32, u32, u32)> = FxHashSet::default();
        for (meta, cells) in stored.iter_mut().rev() {
            let Some(ev) = events.get_mut(meta.event) else {
                continue;
            };
            let Some(sheet) = ev.sheets.get_mut(meta.sheet) else {
                continue;
            };
            let next = sheet_ids.len() as u32;
            let sid = *sheet_ids
                .entry((ev.document.id.clone(), sheet.sheet.clone()))
                .or_insert(next);
            let mut live: Vec<ReadCell> = Vec::new();
            for c in std::mem::take(cells).into_iter().rev() {
                if seen.insert((sid, c.addr.row, c.addr.col)) {
                    live.push(c);
                }
            }
            live.sort_by_key(|c| c.addr);
            meta.live = live.len();
            sheet.cells = live;
        }
        // Sheets and reads left with nothing live stay in `events` here, since the rows
        // point at them by index; `only_live` drops them from what the detector gets.
        let rows = stored.into_iter().map(|(meta, _)| meta).collect();
        Ok(LiveLabels { events, rows })
    }

    /// How many labels are live (each cell's latest read).
    #[cfg(test)]
    pub(crate) fn label_count(&self) -> Result<u64> {
        let live = self
            .live_labels()?
            .rows
            .iter()
            .map(|r| r.live)
            .sum::<usize>();
        Ok(live as u64)
    }

    /// How many sheet reads are stored (live or not).
    #[cfg(test)]
    pub(crate) fn stored_sheet_reads(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM read_cells", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(self.err("cannot count stored reads"))
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

/// One stored sheet read: its row, how many cells it holds and how many of them are the
/// latest read of their cell, and where its live cells are in [`LiveLabels::events`].
pub(super) struct StoredSheet {
    id: i64,
    pub(super) total: usize,
    live: usize,
    event: usize,
    sheet: usize,
}

/// The live labels as reads, and what each stored row contributed.
pub(super) struct LiveLabels {
    events: Vec<ReadEvent>,
    pub(super) rows: Vec<StoredSheet>,
}

/// The reads with their sheets that still hold live cells.
fn only_live(mut events: Vec<ReadEvent>) -> Vec<ReadEvent> {
    for ev in &mut events {
        ev.sheets.retain(|s| !s.cells.is_empty());
    }
    events.retain(|ev| !ev.sheets.is_empty());
    events
}

/// One read of one sheet in an older store's labels: provenance, document, sheet, at.
type SheetReadKey = (String, String, String, i64);

/// Migration 8: the per-cell `labels` rows of an older store, as one `read_cells` row per
/// read and sheet (they are already the latest read of each cell), then `labels` dropped.
pub(super) fn move_labels_to_read_cells(tx: &rusqlite::Transaction<'_>, path: &str) -> Result<()> {
    let e = |what: &str| sql_err(path, what);
    {
        let mut select = tx
            .prepare(
                "SELECT provenance, document, sheet, at, row, col, value, text, number_format
                 FROM labels ORDER BY at, provenance, sheet, row, col",
            )
            .map_err(e("cannot read the labels to move"))?;
        let mut insert = tx
            .prepare(
                "INSERT INTO read_cells (provenance, document, sheet, at, cells)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(e("cannot move the labels"))?;
        let mut rows = select
            .query([])
            .map_err(e("cannot read the labels to move"))?;
        // The sheet read being gathered, and its cells.
        let mut current: Option<(SheetReadKey, Vec<ReadCell>)> = None;
        let mut flush = |group: Option<(SheetReadKey, Vec<ReadCell>)>| match group {
            Some(((prov, doc, sheet, at), cells)) => insert
                .execute(params![prov, doc, sheet, at, cell_blob::encode(&cells)])
                .map(|_| ())
                .map_err(e("cannot move the labels")),
            None => Ok(()),
        };
        while let Some(row) = rows.next().map_err(e("cannot read a label to move"))? {
            let get = |row: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
                Ok((
                    (
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ),
                    row.get::<_, u32>(4)?,
                    row.get::<_, u32>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, Option<String>>(7)?,
                    row.get::<_, Option<String>>(8)?,
                ))
            };
            let (group, r, c, value, text, number_format) =
                get(row).map_err(e("cannot decode a label to move"))?;
            let value: CellValue =
                serde_json::from_str(&value).map_err(|err| StoreError::Corrupt {
                    path: path.to_string(),
                    what: format!(
                        "label {}!{} has an unreadable value: {err}",
                        group.2,
                        CellAddr::new(r, c)
                    ),
                })?;
            let cell = ReadCell {
                addr: CellAddr::new(r, c),
                value,
                text,
                number_format,
            };
            match &mut current {
                Some((g, cells)) if *g == group => cells.push(cell),
                _ => flush(current.replace((group, vec![cell])))?,
            }
        }
        flush(current.take())?;
    }
    exec(tx, "DROP TABLE labels", []).map_err(e("cannot drop the moved labels"))?;
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
