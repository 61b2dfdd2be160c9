//! `office-bridge audit export --xlsx`: the audit chain as a workbook an auditor can filter.
//!
//! One worksheet per record kind (bold, frozen header row, autofilter over the table, real
//! Excel datetimes), plus a "Summary" sheet with counts per kind, the chain verification
//! result (including the head seq and hash, so a later truncation below it is visible by
//! comparison) and the export time. All times are UTC.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;

use crate::audit::{self, AuditRecord, VerifyReport};
use crate::model::UnixMillis;
use crate::store::{Store, StoreError};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The chain could not be read from the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The workbook could not be built or saved.
    #[error("audit export to {path}: {what}: {source}")]
    Xlsx {
        /// The workbook's path.
        path: String,
        /// What was being done.
        what: String,
        /// rust_xlsxwriter's error.
        #[source]
        source: XlsxError,
    },
}

/// What an export wrote: the sheets, the record count, and the chain's verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Sheet name and data row count, in workbook order (Summary first).
    pub sheets: Vec<(String, usize)>,
    /// How many records were exported.
    pub records: u64,
    /// The chain's verification at export time (shown on the Summary sheet).
    pub verify: VerifyReport,
    /// When the export was made.
    pub exported_at: UnixMillis,
}

/// Body keys shown first, in this order, when a kind has them; the rest follow
/// alphabetically.
const PREFERRED: &[&str] = &[
    "document",
    "sheet",
    "sheets",
    "cells",
    "target",
    "location",
    "what",
    "action",
    "outcome",
    "written",
    "reason",
    "state",
    "decided_by",
    "matched",
    "confidence",
    "strength",
    "sensitivity",
    "explicit",
    "request",
    "provenance",
];

const DATE_FORMAT: &str = "yyyy-mm-dd hh:mm:ss";

/// Exports every audit record to `path`, stamped with the current time.
pub fn export_xlsx(store: &Store, path: &Path) -> Result<ExportSummary, ExportError> {
    export_xlsx_at(store, path, crate::unix_millis_now())
}

/// As [`export_xlsx`], with the export time given (deterministic tests).
pub fn export_xlsx_at(
    store: &Store,
    path: &Path,
    now: UnixMillis,
) -> Result<ExportSummary, ExportError> {
    let shown = path.display().to_string();
    let xe = |what: &str| {
        let path = shown.clone();
        let what = what.to_string();
        move |source| ExportError::Xlsx { path, what, source }
    };
    let records = store.audit_records()?;
    let verify = store.verify_audit()?;

    let mut by_kind: BTreeMap<String, Vec<&AuditRecord>> = BTreeMap::new();
    for r in &records {
        by_kind.entry(r.kind.clone()).or_default().push(r);
    }

    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format(DATE_FORMAT);
    let mut wb = Workbook::new();
    let mut sheets = Vec::new();

    // Summary first.
    {
        let ws = wb.add_worksheet();
        ws.set_name("Summary")
            .map_err(xe("cannot name the Summary sheet"))?;
        write_summary(ws, &bold, &date, &by_kind, &verify, records.len(), now)
            .map_err(xe("cannot write the Summary sheet"))?;
        sheets.push(("Summary".to_string(), by_kind.len()));
    }

    let mut used: BTreeSet<String> = BTreeSet::from(["summary".to_string()]);
    for (kind, recs) in &by_kind {
        let name = sheet_name(kind, &mut used);
        let ws = wb.add_worksheet();
        ws.set_name(&name)
            .map_err(xe(&format!("cannot name the sheet for {kind:?}")))?;
        write_kind(ws, &bold, &date, recs)
            .map_err(xe(&format!("cannot write the {name} sheet")))?;
        sheets.push((name, recs.len()));
    }

    wb.save(path).map_err(xe("cannot save the workbook"))?;
    Ok(ExportSummary {
        sheets,
        records: records.len() as u64,
        verify,
        exported_at: now,
    })
}

/// Excel serial date (days since 1899-12-30) for a Unix time in milliseconds, UTC.
pub fn excel_serial(ms: UnixMillis) -> f64 {
    ms as f64 / 86_400_000.0 + 25_569.0
}

fn write_summary(
    ws: &mut Worksheet,
    bold: &Format,
    date: &Format,
    by_kind: &BTreeMap<String, Vec<&AuditRecord>>,
    verify: &VerifyReport,
    total: usize,
    now: UnixMillis,
) -> Result<(), XlsxError> {
    ws.write_string_with_format(0, 0, "Kind", bold)?;
    ws.write_string_with_format(0, 1, "Records", bold)?;
    let mut row = 1u32;
    for (kind, recs) in by_kind {
        ws.write_string(row, 0, kind)?;
        ws.write_number(row, 1, recs.len() as f64)?;
        row += 1;
    }
    let last_table_row = row.saturating_sub(1).max(1);
    ws.write_string_with_format(row, 0, "Total", bold)?;
    ws.write_number_with_format(row, 1, total as f64, bold)?;
    row += 2;
    let chain = match &verify.first_broken {
        None => format!("intact: {} records verified", verify.records),
        Some(b) => format!("BROKEN at record {} ({:?}): {}", b.seq, b.kind, b.detail),
    };
    ws.write_string_with_format(row, 0, "Chain verification", bold)?;
    ws.write_string(row, 1, &chain)?;
    row += 1;
    ws.write_string_with_format(row, 0, "Head record", bold)?;
    ws.write_string(
        row,
        1,
        match (verify.head_seq, &verify.head_hash) {
            (Some(s), Some(h)) => format!("{s} {h}"),
            _ => "(empty chain)".to_string(),
        },
    )?;
    row += 1;
    ws.write_string_with_format(row, 0, "Value hashes", bold)?;
    ws.write_string(row, 1, value_hashes_text(&verify.value_hashes))?;
    row += 1;
    ws.write_string_with_format(row, 0, "Exported at (UTC)", bold)?;
    ws.write_number_with_format(row, 1, excel_serial(now), date)?;
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, last_table_row, 1)?;
    ws.set_column_width(0, 22)?;
    ws.set_column_width(1, (chain.len().clamp(20, 100)) as f64)?;
    Ok(())
}

/// The reads' value hashes in words, for the Summary sheet.
pub fn value_hashes_text(v: &audit::ValueHashes) -> String {
    let mut parts = Vec::new();
    if v.plain > 0 {
        parts.push(format!(
            "{} read(s) with a plain SHA-256 of their values (made before keyed hashes)",
            v.plain
        ));
    }
    if v.keyed > 0 {
        parts.push(format!(
            "{} read(s) with an HMAC-SHA-256 under audit key {}{}",
            v.keyed,
            v.key_ids.join(", "),
            v.first_keyed_seq
                .map(|s| format!(" from record {s} on"))
                .unwrap_or_default()
        ));
    }
    if parts.is_empty() {
        "no reads".to_string()
    } else {
        parts.join("; ")
    }
}

fn write_kind(
    ws: &mut Worksheet,
    bold: &Format,
    date: &Format,
    recs: &[&AuditRecord],
) -> Result<(), XlsxError> {
    // Columns: Time, Seq, the body keys this kind uses, Hash.
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for r in recs {
        match &r.body {
            serde_json::Value::Object(m) => keys.extend(m.keys().map(String::as_str)),
            _ => {
                keys.insert("body");
            }
        }
    }
    let mut ordered: Vec<&str> = PREFERRED
        .iter()
        .copied()
        .filter(|k| keys.contains(k))
        .collect();
    ordered.extend(keys.iter().copied().filter(|k| !PREFERRED.contains(k)));

    let mut headers: Vec<String> = vec!["Time".into(), "Seq".into()];
    headers.extend(ordered.iter().map(|k| header_for(k)));
    headers.push("Hash".into());
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count() + 4).collect();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, bold)?;
    }
    widths[0] = 20;
    for (i, r) in recs.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_number_with_format(row, 0, excel_serial(r.at), date)?;
        ws.write_number(row, 1, r.seq as f64)?;
        for (j, k) in ordered.iter().enumerate() {
            let col = j + 2;
            let v = match &r.body {
                serde_json::Value::Object(m) => m.get(*k),
                other if *k == "body" => Some(other),
                _ => None,
            };
            let Some(v) = v else { continue };
            let w = match v {
                serde_json::Value::Number(n) => match n.as_f64() {
                    Some(f) => {
                        ws.write_number(row, col as u16, f)?;
                        n.to_string().len()
                    }
                    None => write_text(ws, row, col, &n.to_string())?,
                },
                serde_json::Value::Bool(b) => {
                    ws.write_boolean(row, col as u16, *b)?;
                    5
                }
                serde_json::Value::String(s) => write_text(ws, row, col, s)?,
                serde_json::Value::Null => 0,
                other => write_text(ws, row, col, &render(k, other))?,
            };
            widths[col] = widths[col].max(w + 2);
        }
        let hc = headers.len() - 1;
        ws.write_string(row, hc as u16, &r.hash)?;
        widths[hc] = 20;
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w).clamp(8, 60) as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, recs.len().max(1) as u32, (headers.len() - 1) as u16)?;
    Ok(())
}

fn write_text(ws: &mut Worksheet, row: u32, col: usize, s: &str) -> Result<usize, XlsxError> {
    // Excel's cell limit is 32,767 characters; longer bodies are cut, with a marker.
    let s: String = if s.chars().count() > 32_000 {
        let mut t: String = s.chars().take(32_000).collect();
        t.push_str(" [cut]");
        t
    } else {
        s.to_string()
    };
    ws.write_string(row, col as u16, &s)?;
    Ok(s.chars().count())
}

/// Nested values in words: a read's sheets as `Revenue!B2:D5 (12 cells)`, anything else as
/// canonical JSON.
fn render(key: &str, v: &serde_json::Value) -> String {
    if key == "sheets"
        && let Some(a) = v.as_array()
    {
        return a
            .iter()
            .map(|s| {
                let name = s.get("sheet").and_then(|x| x.as_str()).unwrap_or("?");
                let range = s.get("range").and_then(|x| x.as_str()).unwrap_or("");
                let n = s.get("cells").and_then(|x| x.as_u64()).unwrap_or(0);
                format!("{name}!{range} ({n} cells)")
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    audit::canonical_json(v)
}

fn header_for(key: &str) -> String {
    match key {
        "document" => "Document".into(),
        "document_id" => "Document id".into(),
        "target_id" => "Target id".into(),
        "values_sha256" => "Values SHA-256 (plain)".into(),
        "values_hmac" => "Values HMAC-SHA-256".into(),
        "values_key" => "Values key id".into(),
        "flow_id" => "Flow".into(),
        "decision_id" => "Decision".into(),
        "approval_id" => "Approval".into(),
        "expires_at" => "Expires (ms)".into(),
        "decided_by" => "Decided by".into(),
        "app" => "App".into(),
        "sheets" => "Sheets".into(),
        "body" => "Body".into(),
        other => {
            let t = other.replace('_', " ");
            let mut c = t.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => t,
            }
        }
    }
}

/// A worksheet name for a kind: capitalised, Excel's forbidden characters replaced, at most
/// 31 characters, unique (case-insensitively, as Excel requires).
fn sheet_name(kind: &str, used: &mut BTreeSet<String>) -> String {
    let mut base: String = kind
        .chars()
        .map(|c| if "[]:*?/\\'".contains(c) { '_' } else { c })
        .collect::<String>()
        .replace('_', " ")
        .trim()
        .to_string();
    if base.is_empty() {
        base = "Records".into();
    }
    let mut c = base.chars();
    let base: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => base,
    };
    let base: String = base.chars().take(28).collect();
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name.to_lowercase()) {
        name = format!("{base} {n}");
        n += 1;
    }
    used.insert(name.to_lowercase());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use calamine::{Data, Reader, Xlsx, open_workbook};
    use serde_json::json;

    #[test]
    fn export_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        // A read recorded before keyed hashes, as that version wrote it.
        store
            .append_audit(
                1_699_999_999_000,
                "read",
                &json!({"document": "Old.xlsx", "cells": 1, "values_sha256": "ab".repeat(32)}),
            )
            .unwrap();
        let key = crate::audit_key::AuditKey::from_bytes([5; 32]);
        store.set_audit_key(key.clone()).unwrap();
        let doc = DocumentRef::new(App::Excel, "Q3.xlsx", "");
        let deck = DocumentRef::new(App::Powerpoint, "Deck.pptx", "");
        let ev = ReadEvent {
            id: ProvenanceId::new(),
            document: doc.clone(),
            sheets: vec![SheetRead {
                sheet: "Revenue".into(),
                cells: vec![ReadCell {
                    addr: CellAddr::new(1, 1),
                    value: CellValue::Number(1234.5),
                    text: None,
                    number_format: None,
                }],
            }],
            at: 1_700_000_000_000,
            request: "r1".into(),
        };
        store.record_read(&ev).unwrap();
        let flow = Flow {
            source: doc.clone(),
            sheet: "Revenue".into(),
            cells: vec![CellAddr::new(1, 1)],
            target: deck.clone(),
            location: "slide 1".into(),
            matched: 1,
            confidence: 1.0,
            strength: FlowStrength::Confirmed,
            sensitivity: SensitivityMark::default(),
            explicit: false,
            joined_writes: Vec::new(),
        };
        let d = Decision {
            why: None,
            action: Action::Notify,
            reason: "shown".into(),
        };
        for at in [1_700_000_001_000, 1_700_000_002_000] {
            store
                .record_check(
                    &crate::approvals::WriteId::new(),
                    &deck,
                    &[(&flow, &d, None)],
                    None,
                    &crate::store::Disposition::Passing,
                    at,
                )
                .unwrap();
        }
        store
            .append_audit(1_700_000_003_000, "policy", &json!({"change": "reloaded"}))
            .unwrap();

        let out = dir.path().join("audit.xlsx");
        let sum = export_xlsx(&store, &out).unwrap();
        assert!(sum.verify.ok());
        assert_eq!(sum.records, 7);

        let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
        assert_eq!(
            wb.sheet_names(),
            vec!["Summary", "Decision", "Flow", "Policy", "Read"]
        );
        let header = |wb: &mut Xlsx<_>, name: &str| -> (Vec<String>, usize) {
            let r = wb.worksheet_range(name).unwrap();
            let h = r
                .rows()
                .next()
                .unwrap()
                .iter()
                .map(|c| c.to_string())
                .collect();
            (h, r.height() - 1)
        };
        let (h, n) = header(&mut wb, "Flow");
        assert_eq!(n, 2);
        assert_eq!(
            &h[..7],
            [
                "Time", "Seq", "Document", "Sheet", "Cells", "Target", "Location"
            ]
        );
        assert_eq!(h.last().unwrap(), "Hash");
        let (h, n) = header(&mut wb, "Decision");
        assert_eq!(n, 2);
        assert!(
            h.contains(&"Action".to_string()) && h.contains(&"Reason".to_string()),
            "{h:?}"
        );
        let (h, n) = header(&mut wb, "Read");
        assert_eq!(n, 2);
        for column in [
            "Values SHA-256 (plain)",
            "Values HMAC-SHA-256",
            "Values key id",
        ] {
            assert!(h.contains(&column.to_string()), "{column}: {h:?}");
        }
        // No raw value in the read sheet.
        let r = wb.worksheet_range("Read").unwrap();
        assert!(r.cells().all(|(_, _, c)| !c.to_string().contains("1234.5")));
        // Time is a real datetime.
        assert!(
            matches!(r.get((1, 0)), Some(Data::DateTime(_))),
            "{:?}",
            r.get((1, 0))
        );
        let s = wb.worksheet_range("Summary").unwrap();
        let text: Vec<String> = s.cells().map(|(_, _, c)| c.to_string()).collect();
        assert!(
            text.iter().any(|t| t.starts_with("intact: 7 records")),
            "{text:?}"
        );
        let hashes = format!(
            "1 read(s) with a plain SHA-256 of their values (made before keyed hashes); 1 read(s) with an HMAC-SHA-256 under audit key {} from record 2 on",
            key.id()
        );
        assert!(text.contains(&hashes), "{text:?}");
        assert_eq!(s.get((0, 0)).map(|c| c.to_string()), Some("Kind".into()));
    }

    #[test]
    fn sheet_names_are_safe_and_unique() {
        let mut used = BTreeSet::from(["summary".to_string()]);
        assert_eq!(sheet_name("label_set", &mut used), "Label set");
        assert_eq!(sheet_name("summary", &mut used), "Summary 2");
        assert_eq!(sheet_name("a/b:c", &mut used), "A b c");
        assert!(sheet_name(&"x".repeat(50), &mut used).chars().count() <= 31);
    }
}
