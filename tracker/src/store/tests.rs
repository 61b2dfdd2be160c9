//! Store and audit-chain tests, including tampering with the file through raw SQL.

use serde_json::json;

use super::schema::MIGRATIONS;
use super::*;
use crate::audit::{self, BreakKind, VerifyReport};

/// `audit verify` over the store's own rows.
fn verify(store: &Store) -> Result<VerifyReport> {
    store.verify_audit()
}
use crate::audit_key::AuditKey;
use crate::model::{
    CellValue, Flow, FlowStrength, ProvenanceId, ReadCell, ReadEvent, Sensitivity, SensitivityMark,
    SensitivityOrigin, SheetRead,
};
use crate::policy::{AdminPolicy, UserChoices, decide_flow};
use sha2::{Digest, Sha256};

fn q3() -> DocumentRef {
    DocumentRef::new(App::Excel, "Q3.xlsx", "https://x/Q3.xlsx")
}
fn deck() -> DocumentRef {
    DocumentRef::new(App::Powerpoint, "Deck.pptx", "https://x/Deck.pptx")
}

fn read(doc: &DocumentRef, sheet: &str, at: i64, values: &[(u32, u32, f64)]) -> ReadEvent {
    ReadEvent {
        id: ProvenanceId::new(),
        document: doc.clone(),
        sheets: vec![SheetRead {
            sheet: sheet.into(),
            cells: values
                .iter()
                .map(|&(r, c, v)| ReadCell {
                    addr: CellAddr::new(r, c),
                    value: CellValue::Number(v),
                    text: Some(format!("${v:.2}")),
                    number_format: Some("$#,##0.00".into()),
                })
                .collect(),
        }],
        at,
        request: "req-1".into(),
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("tracker.db")).unwrap();
    s.set_audit_key(test_key()).unwrap();
    (dir, s)
}

/// One install's key.
fn test_key() -> AuditKey {
    AuditKey::from_bytes([7; 32])
}

fn sample_flow() -> Flow {
    Flow {
        source: q3(),
        sheet: "Revenue".into(),
        cells: vec![CellAddr::new(1, 1), CellAddr::new(1, 2)],
        target: deck(),
        location: "slide 3".into(),
        matched: 2,
        confidence: 0.95,
        strength: FlowStrength::Confirmed,
        sensitivity: SensitivityMark {
            level: Sensitivity::Confidential,
            origin: SensitivityOrigin::Person,
        },
        explicit: false,
        joined_writes: Vec::new(),
    }
}

#[test]
fn opens_owner_only_wal_and_migrated() {
    let (dir, s) = open();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let mode: String = s
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = s
        .conn()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "FULL");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["tracker.db", "tracker.db-wal", "tracker.db-shm"] {
            let p = dir.path().join(f);
            if p.exists() {
                let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(m, 0o600, "{f}");
            }
        }
    }
    drop(s);
    // Reopening does not re-run migrations.
    let s = Store::open(&dir.path().join("tracker.db")).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
}

#[test]
fn newer_schema_is_refused() {
    let (dir, s) = open();
    s.conn()
        .execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(s);
    let e = Store::open(&dir.path().join("tracker.db")).unwrap_err();
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
    assert!(e.to_string().contains("tracker.db"));
}

#[test]
fn reads_round_trip_latest_wins_and_survive_reopen() {
    let (dir, mut s) = open();
    let doc = q3();
    let r1 = read(&doc, "Revenue", 1000, &[(1, 1, 10.0), (1, 2, 20.0)]);
    let r2 = read(&doc, "Revenue", 2000, &[(1, 2, 98765.4321), (2, 2, 30.0)]);
    let rec = s.record_read(&r1).unwrap();
    assert_eq!(rec.kind, "read");
    assert_eq!(rec.seq, 1);
    s.record_read(&r2).unwrap();
    // An older read arriving late does not overwrite newer labels.
    let old = read(&doc, "Revenue", 500, &[(2, 2, 1.0)]);
    s.record_read(&old).unwrap();
    drop(s);
    let s = Store::open(&dir.path().join("tracker.db")).unwrap();
    assert_eq!(s.label_count().unwrap(), 3);
    let evs = s.labels().unwrap();
    assert_eq!(evs.len(), 2, "{evs:#?}");
    assert_eq!(evs[0].id, r1.id);
    assert_eq!(evs[0].sheets[0].cells, vec![r1.sheets[0].cells[0].clone()]);
    assert_eq!(evs[1].id, r2.id);
    assert_eq!(evs[1].sheets[0].cells, r2.sheets[0].cells);
    assert_eq!(evs[1].document, doc);
    assert_eq!(evs[1].request, "req-1");
    // The audit log holds locations and a hash, never the values.
    let rows = s.audit_rows().unwrap();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert!(
            !r.body.contains("98765") && !r.body.contains('$'),
            "{}",
            r.body
        );
    }
    assert!(
        rows[1].body.contains("\"range\":\"C2:C3\""),
        "{}",
        rows[1].body
    );
    assert!(verify(&s).unwrap().ok());
}

#[test]
fn a_read_of_any_size_stores_every_label_once_and_a_cell_read_twice_keeps_the_later() {
    // 64 + 8 + 1 + the cell read twice: every batch size of the multi-row INSERT is used.
    let (dir, mut s) = open();
    let doc = q3();
    let mut values: Vec<(u32, u32, f64)> = (0..73).map(|i| (i / 5, i % 5, f64::from(i))).collect();
    values.push((0, 0, 999.0));
    let r = read(&doc, "Revenue", 1000, &values);
    s.record_read(&r).unwrap();
    drop(s);
    let s = Store::open(&dir.path().join("tracker.db")).unwrap();
    assert_eq!(s.label_count().unwrap(), 73);
    let evs = s.labels().unwrap();
    let cells = &evs[0].sheets[0].cells;
    assert_eq!(cells.len(), 73);
    assert_eq!(cells[0].value, CellValue::Number(999.0), "{:?}", cells[0]);
    let mut want: Vec<ReadCell> = r.sheets[0].cells[1..73].to_vec();
    want.insert(0, r.sheets[0].cells[73].clone());
    want.sort_by_key(|c| c.addr);
    assert_eq!(cells, &want);
    // The labels' provenance index was dropped by migration 7.
    let indexes: i64 = s
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'labels_provenance'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 0);
}

/// The per-cell labels table as schema versions 1 to 7 had it.
const LABELS_V1: &str = "CREATE TABLE labels (
    document TEXT NOT NULL, sheet TEXT NOT NULL, row INTEGER NOT NULL, col INTEGER NOT NULL,
    value TEXT NOT NULL, text TEXT, number_format TEXT, provenance TEXT NOT NULL,
    at INTEGER NOT NULL, PRIMARY KEY (document, sheet, row, col)) WITHOUT ROWID;";

#[test]
fn a_store_with_per_cell_labels_keeps_them_as_one_row_per_read_and_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tracker.db");
    let mut s = Store::open(&db).unwrap();
    s.set_audit_key(test_key()).unwrap();
    let doc = q3();
    // Reads recorded, then their cells written back as version 7 kept them (one row per
    // cell, the latest read of each), and the new table removed.
    let r1 = read(&doc, "Revenue", 1000, &[(1, 1, 10.0), (1, 2, 20.0)]);
    let r2 = read(&doc, "Costs", 2000, &[(3, 0, 7.5)]);
    s.record_read(&r1).unwrap();
    s.record_read(&r2).unwrap();
    let mut text_cell = r2.clone();
    text_cell.sheets[0].cells[0] = ReadCell {
        addr: CellAddr::new(4, 0),
        value: CellValue::Text("ACME GmbH".into()),
        text: None,
        number_format: None,
    };
    s.conn()
        .execute_batch(&format!("DROP TABLE read_cells; {LABELS_V1}"))
        .unwrap();
    for (ev, cells) in [
        (&r1, &r1.sheets[0].cells),
        (&r2, &r2.sheets[0].cells),
        (&r2, &text_cell.sheets[0].cells),
    ] {
        for c in cells.iter() {
            s.conn()
                .execute(
                    "INSERT INTO labels VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    rusqlite::params![
                        ev.document.id.0,
                        ev.sheets[0].sheet,
                        c.addr.row,
                        c.addr.col,
                        serde_json::to_string(&c.value).unwrap(),
                        c.text,
                        c.number_format,
                        ev.id.0.to_string(),
                        ev.at
                    ],
                )
                .unwrap();
        }
    }
    s.conn()
        .execute("UPDATE schema_version SET version = 7", [])
        .unwrap();
    drop(s);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    let evs = s.labels().unwrap();
    assert_eq!(evs.len(), 2, "{evs:#?}");
    assert_eq!(evs[0].id, r1.id);
    assert_eq!(evs[0].sheets[0].cells, r1.sheets[0].cells);
    assert_eq!(evs[1].id, r2.id);
    let mut want = r2.sheets[0].cells.clone();
    want.extend(text_cell.sheets[0].cells.clone());
    assert_eq!(evs[1].sheets[0].cells, want);
    assert_eq!(s.stored_sheet_reads().unwrap(), 2);
    let old: i64 = s
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'labels'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "the per-cell table is dropped");
    // A label an older version could not have written is refused, not skipped.
    let s = Store::open(&db).unwrap();
    s.conn()
        .execute_batch(&format!("DROP TABLE read_cells; {LABELS_V1}"))
        .unwrap();
    s.conn()
        .execute(
            "INSERT INTO labels VALUES (?1, 'S', 0, 0, '{not json', NULL, NULL, ?2, 1)",
            rusqlite::params![doc.id.0, r1.id.0.to_string()],
        )
        .unwrap();
    s.conn()
        .execute("UPDATE schema_version SET version = 7", [])
        .unwrap();
    drop(s);
    let err = Store::open(&db).unwrap_err().to_string();
    assert!(err.contains("unreadable value"), "{err}");
}

#[test]
fn rereading_a_sheet_keeps_the_latest_cells_and_a_restart_compacts_what_was_reread() {
    let (dir, mut s) = open();
    let doc = q3();
    let cells: Vec<(u32, u32, f64)> = (0..40).map(|i| (i / 4, i % 4, f64::from(i))).collect();
    // The whole sheet read five times, then one corner of it again, then another sheet.
    let mut last = None;
    for round in 0..5 {
        let values: Vec<(u32, u32, f64)> = cells
            .iter()
            .map(|&(r, c, v)| (r, c, v + f64::from(round) * 1000.0))
            .collect();
        let ev = read(&doc, "Revenue", 1000 + i64::from(round), &values);
        s.record_read(&ev).unwrap();
        last = Some(ev);
    }
    let corner = read(&doc, "Revenue", 2000, &[(0, 0, -1.0), (0, 1, -2.0)]);
    s.record_read(&corner).unwrap();
    let other = read(&doc, "Costs", 2001, &[(0, 0, 5.0)]);
    s.record_read(&other).unwrap();
    assert_eq!(s.stored_sheet_reads().unwrap(), 7);
    assert_eq!(s.label_count().unwrap(), 41);
    let evs = s.labels().unwrap();
    let last = last.unwrap();
    assert_eq!(
        evs.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![last.id, corner.id, other.id]
    );
    assert_eq!(evs[0].sheets[0].cells, last.sheets[0].cells[2..].to_vec());
    assert_eq!(evs[1].sheets[0].cells, corner.sheets[0].cells);
    drop(s);
    // At start, the four superseded reads are deleted; the live ones stay as they are.
    let mut s = Store::open(&dir.path().join("tracker.db")).unwrap();
    let before = s.labels().unwrap();
    assert_eq!(s.labels_compacting().unwrap(), before);
    assert_eq!(s.stored_sheet_reads().unwrap(), 3);
    assert_eq!(s.labels().unwrap(), before);
    // A read with fewer than half its cells live is rewritten with those alone.
    s.set_audit_key(test_key()).unwrap();
    let most: Vec<(u32, u32, f64)> = cells
        .iter()
        .skip(2)
        .take(30)
        .map(|&(r, c, v)| (r, c, -v))
        .collect();
    s.record_read(&read(&doc, "Revenue", 3000, &most)).unwrap();
    let before = s.labels().unwrap();
    assert_eq!(s.labels_compacting().unwrap(), before);
    let sizes: Vec<usize> = s
        .live_labels()
        .unwrap()
        .rows
        .iter()
        .map(|r| r.total)
        .collect();
    assert_eq!(
        sizes,
        vec![8, 2, 1, 30],
        "the first read keeps its 8 live cells"
    );
    assert!(verify(&s).unwrap().ok());
}

#[test]
fn a_damaged_stored_read_is_reported_as_corrupt_with_where() {
    let (dir, mut s) = open();
    s.record_read(&read(&q3(), "Revenue", 1, &[(0, 0, 1.0)]))
        .unwrap();
    s.conn()
        .execute("UPDATE read_cells SET cells = X'01000105'", [])
        .unwrap();
    drop(s);
    let s = Store::open(&dir.path().join("tracker.db")).unwrap();
    let err = s.labels().unwrap_err().to_string();
    assert!(
        err.contains("Revenue") && err.contains("cut short"),
        "{err}"
    );
}

#[test]
fn choices_round_trip() {
    let (_d, mut s) = open();
    assert_eq!(s.load_choices().unwrap(), UserChoices::default());
    let mut ch = UserChoices::default();
    ch.allow_always(&q3().id, &deck().id);
    ch.mark_confidential(&q3().id, "Revenue", CellRange::parse("B2:D5").unwrap());
    let rec = s.save_choices(&ch, 5).unwrap();
    assert_eq!(rec.kind, "choices");
    assert_eq!(s.load_choices().unwrap(), ch);
    let range = CellRange::parse("A1:A3").unwrap();
    ch.mark_confidential(&q3().id, "Costs", range);
    let rec = s
        .record_label_set(
            &ch,
            &q3(),
            "Costs",
            range,
            Sensitivity::Confidential,
            "pane",
            6,
        )
        .unwrap();
    assert_eq!(rec.kind, "label_set");
    assert_eq!(rec.body["cells"], "A1:A3");
    assert_eq!(s.load_choices().unwrap(), ch);
    assert!(verify(&s).unwrap().ok());
}

#[test]
fn flows_decisions_approvals_and_outcomes() {
    use crate::approvals::{
        ApprovalState, Effects, FlowOutcome, Outcome, ResolvedApproval, Scope, SettledWrite,
        Settlement, WriteId,
    };
    let (_d, mut s) = open();
    let f = sample_flow();
    let d = decide_flow(&f, &AdminPolicy::default(), &UserChoices::default());
    assert_eq!(d.action, crate::model::Action::Ask);
    let ap = NewApproval {
        id: "apr_1".into(),
        expires_at: 121_000,
    };
    let write = WriteId::new();
    let (ids, outcomes) = s
        .record_check(
            &write,
            &deck(),
            &[(&f, &d, Some(&ap))],
            None,
            &Disposition::Held,
            1000,
        )
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert!(outcomes.is_empty(), "a held write is not settled yet");
    let recent = s.recent_flows(10).unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].flow, f);
    assert_eq!(recent[0].decision.as_ref(), Some(&d));
    assert_eq!(recent[0].write_id.as_deref(), Some(write.as_str()));
    assert_eq!(
        (recent[0].outcome, recent[0].written),
        (Outcome::Pending, None)
    );
    let a = s.approval("apr_1").unwrap().unwrap();
    assert_eq!(a.state, ApprovalState::Pending);
    assert_eq!(a.write_id.as_deref(), Some(write.as_str()));
    let denied = Effects {
        resolved: vec![ResolvedApproval {
            id: "apr_1".into(),
            write_id: write.clone(),
            flow_id: Some(ids[0]),
            target: deck().id,
            state: ApprovalState::Denied,
            decided_by: "pane".into(),
            scope: Scope::Once,
            reason: String::new(),
            at: 2000,
        }],
        settled: vec![SettledWrite {
            write_id: write.clone(),
            target: deck(),
            settlement: Settlement::Refused {
                outcome: Outcome::Denied,
                decided_by: "pane".into(),
                reason: "denied (in the document's pane)".into(),
            },
        }],
        outcomes: vec![FlowOutcome {
            flow_id: ids[0],
            write_id: write.clone(),
            source: q3().id,
            target: deck().id,
            outcome: Outcome::Denied,
            written: Some(false),
            decided_by: Some("pane".into()),
            reason: "denied".into(),
            at: 2000,
        }],
        standing_choice: None,
    };
    s.record_effects(&denied, None, 2000).unwrap();
    let a = s.approval("apr_1").unwrap().unwrap();
    assert_eq!(
        (a.state, a.decided_by.as_deref(), a.scope.as_deref()),
        (ApprovalState::Denied, Some("pane"), Some("once"))
    );
    let recent = s.recent_flows(10).unwrap();
    assert_eq!(
        (
            recent[0].outcome,
            recent[0].written,
            recent[0].decided_by.as_deref()
        ),
        (Outcome::Denied, Some(false), Some("pane"))
    );
    // Single use: the same approval cannot be closed twice.
    let e = s.record_effects(&denied, None, 3000).unwrap_err();
    assert!(e.to_string().contains("not pending"), "{e}");
    let kinds: Vec<String> = s
        .audit_records()
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds, ["flow", "decision", "approval", "write"]);
    let last = s.audit_records().unwrap().pop().unwrap();
    assert_eq!(last.body["outcome"], "denied");
    assert_eq!(last.body["written"], false);
    assert_eq!(last.body["write_id"], write.as_str());
    s.record_deletion(
        &WriteId::new(),
        &deck(),
        "slide 3",
        &crate::policy::decide_deletion(&deck(), "slide 3", &AdminPolicy::default()),
        4000,
        None,
    )
    .unwrap();
    let r = verify(&s).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.records, 5);
}

#[test]
fn a_blocked_write_is_settled_with_its_check() {
    use crate::approvals::{Outcome, WriteId};
    let (_d, mut s) = open();
    let f = sample_flow();
    let d = crate::model::Decision {
        why: None,
        action: crate::model::Action::Block,
        reason: "blocked by policy".into(),
    };
    let write = WriteId::new();
    let (ids, outcomes) = s
        .record_check(
            &write,
            &deck(),
            &[(&f, &d, None)],
            None,
            &Disposition::Blocked {
                reason: "blocked by policy".into(),
            },
            1000,
        )
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].flow_id, ids[0]);
    let recent = s.recent_flows(1).unwrap();
    assert_eq!(
        (recent[0].outcome, recent[0].written),
        (Outcome::Blocked, Some(false))
    );
    let last = s.audit_records().unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), &last.body["outcome"]),
        ("write", &json!("blocked"))
    );
    // Nothing of it is open at the next start.
    assert!(s.close_stale(5000).unwrap().is_empty());
}

#[test]
fn what_a_previous_run_left_open_is_closed_at_start() {
    use crate::approvals::{ApprovalState, Outcome, Settlement, WriteId};
    let (dir, mut s) = open();
    let f = sample_flow();
    let ask = decide_flow(&f, &AdminPolicy::default(), &UserChoices::default());
    let notify = crate::model::Decision {
        why: None,
        action: crate::model::Action::Notify,
        reason: "shown".into(),
    };
    let held = WriteId::new();
    let ap = NewApproval {
        id: "apr_stale".into(),
        expires_at: 121_000,
    };
    let (held_ids, _) = s
        .record_check(
            &held,
            &deck(),
            &[(&f, &ask, Some(&ap))],
            None,
            &Disposition::Held,
            1000,
        )
        .unwrap();
    let passing = WriteId::new();
    let (passing_ids, _) = s
        .record_check(
            &passing,
            &deck(),
            &[(&f, &notify, None)],
            None,
            &Disposition::Passing,
            1100,
        )
        .unwrap();
    drop(s);
    let mut s = Store::open(&dir.path().join("tracker.db")).unwrap();
    let e = s.close_stale(9000).unwrap();
    assert_eq!(e.resolved.len(), 1);
    assert_eq!(e.resolved[0].id, "apr_stale");
    assert_eq!(e.resolved[0].state, ApprovalState::Expired);
    assert!(
        e.resolved[0].reason.contains("restarted"),
        "{:?}",
        e.resolved[0]
    );
    assert!(matches!(
        e.settled[..],
        [crate::approvals::SettledWrite {
            settlement: Settlement::Refused {
                outcome: Outcome::Expired,
                ..
            },
            ..
        }]
    ));
    let a = s.approval("apr_stale").unwrap().unwrap();
    assert_eq!(
        (a.state, a.decided_by.as_deref()),
        (ApprovalState::Expired, Some("bridge"))
    );
    let flows = s.recent_flows(10).unwrap();
    let by_id = |id: i64| flows.iter().find(|f| f.id == id).unwrap();
    assert_eq!(
        (by_id(held_ids[0]).outcome, by_id(held_ids[0]).written),
        (Outcome::Expired, Some(false))
    );
    assert_eq!(
        (by_id(passing_ids[0]).outcome, by_id(passing_ids[0]).written),
        (Outcome::Notified, None),
        "let through, then the bridge stopped: whether it landed is unknown"
    );
    // Once only.
    assert!(s.close_stale(9500).unwrap().is_empty());
    assert!(verify(&s).unwrap().ok());
}

#[test]
fn document_labels_and_the_last_good_policy_survive_reopening() {
    use crate::model::DocumentLabel;
    let (dir, mut s) = open();
    let label = DocumentLabel::Labelled {
        name: "Confidential".into(),
        id: Some("guid".into()),
    };
    assert!(s.save_document_label(&q3(), &label, "pane", 10).unwrap());
    assert!(
        !s.save_document_label(&q3(), &label, "pane", 11).unwrap(),
        "unchanged"
    );
    let strict = AdminPolicy::parse(r#"{"flows": {"enabled": false}}"#).unwrap();
    assert!(
        s.save_admin_policy(&strict, "/etc/office-bridge/policy.json", 12)
            .unwrap()
    );
    assert!(
        !s.save_admin_policy(&strict, "/etc/office-bridge/policy.json", 13)
            .unwrap()
    );
    drop(s);
    let s = Store::open(&dir.path().join("tracker.db")).unwrap();
    assert_eq!(s.document_labels().unwrap().get(&q3().id), Some(&label));
    assert!(!s.load_admin_policy().unwrap().unwrap().flows.enabled);
    let kinds: Vec<String> = s
        .audit_records()
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds, ["sensitivity_label", "policy"]);
    // Edited by hand, the saved policy no longer matches the chain's record: refused.
    s.conn()
        .execute(
            "UPDATE admin_policy SET body = ?1",
            [serde_json::to_string(&AdminPolicy::default()).unwrap()],
        )
        .unwrap();
    let e = s.load_admin_policy().unwrap_err();
    assert!(e.to_string().contains("audit chain"), "{e}");
}

fn chain(n: usize) -> (tempfile::TempDir, Store) {
    let (d, mut s) = open();
    for i in 0..n {
        s.append_audit(
            i as i64 * 10,
            if i % 2 == 0 { "policy" } else { "label_set" },
            &json!({"i": i, "note": "x"}),
        )
        .unwrap();
    }
    (d, s)
}

#[test]
fn untouched_chain_of_1000_verifies() {
    let (_d, s) = chain(1000);
    let r = verify(&s).unwrap();
    assert_eq!(r.records, 1000);
    assert_eq!(r.head_seq, Some(1000));
    assert!(r.ok(), "{r:?}");
    let empty = open();
    assert!(verify(&empty.1).unwrap().ok());
}

fn broken(s: &Store) -> (u64, BreakKind, String) {
    let b = verify(s)
        .unwrap()
        .first_broken
        .expect("tampering must be detected");
    (b.seq, b.kind, b.detail)
}

#[test]
fn edited_body_is_detected() {
    let (_d, s) = chain(20);
    s.conn()
        .execute(
            "UPDATE audit SET body = replace(body, '\"x\"', '\"y\"') WHERE seq = 7",
            [],
        )
        .unwrap();
    let (seq, kind, detail) = broken(&s);
    assert_eq!((seq, kind), (7, BreakKind::Edited), "{detail}");
}

#[test]
fn edited_and_rehashed_is_detected() {
    let (_d, s) = chain(20);
    let row = &s.audit_rows().unwrap()[6];
    let body = row.body.replace("\"x\"", "\"y\"");
    let h = audit::record_hash(7, row.at, &row.kind, &body, &row.prev_hash);
    s.conn()
        .execute(
            "UPDATE audit SET body = ?1, hash = ?2 WHERE seq = 7",
            params![body, h],
        )
        .unwrap();
    let (seq, kind, detail) = broken(&s);
    assert_eq!((seq, kind), (7, BreakKind::Edited), "{detail}");
}

#[test]
fn removed_middle_record_is_detected() {
    let (_d, s) = chain(20);
    s.conn()
        .execute("DELETE FROM audit WHERE seq = 9", [])
        .unwrap();
    let (seq, kind, detail) = broken(&s);
    assert_eq!((seq, kind), (9, BreakKind::Removed), "{detail}");
    // Removing the first record too.
    let (_d2, s2) = chain(5);
    s2.conn()
        .execute("DELETE FROM audit WHERE seq = 1", [])
        .unwrap();
    assert_eq!(broken(&s2).0, 1);
    assert_eq!(broken(&s2).1, BreakKind::Removed);
}

#[test]
fn removed_and_renumbered_is_detected() {
    let (_d, s) = chain(20);
    s.conn()
        .execute("DELETE FROM audit WHERE seq = 9", [])
        .unwrap();
    s.conn()
        .execute("UPDATE audit SET seq = seq - 1 WHERE seq > 9", [])
        .unwrap();
    let (seq, kind, detail) = broken(&s);
    assert_eq!((seq, kind), (9, BreakKind::Removed), "{detail}");
}

#[test]
fn swapped_records_are_detected() {
    let (_d, s) = chain(20);
    let c = s.conn();
    c.execute("UPDATE audit SET seq = -1 WHERE seq = 5", [])
        .unwrap();
    c.execute("UPDATE audit SET seq = 5 WHERE seq = 6", [])
        .unwrap();
    c.execute("UPDATE audit SET seq = 6 WHERE seq = -1", [])
        .unwrap();
    let (seq, kind, detail) = broken(&s);
    assert_eq!((seq, kind), (5, BreakKind::Reordered), "{detail}");
}

#[test]
fn truncated_tail_is_detected() {
    let (_d, s) = chain(20);
    s.conn()
        .execute("DELETE FROM audit WHERE seq > 17", [])
        .unwrap();
    let (seq, kind, detail) = broken(&s);
    assert_eq!((seq, kind), (18, BreakKind::Truncated), "{detail}");
    assert!(detail.contains("18 to 20"), "{detail}");
}

#[test]
fn appends_continue_the_chain_after_reopen() {
    let (d, s) = chain(3);
    drop(s);
    let mut s = Store::open(&d.path().join("tracker.db")).unwrap();
    let r = s
        .append_audit(99, "policy", &json!({"b": 2, "a": 1}))
        .unwrap();
    assert_eq!(r.seq, 4);
    assert_eq!(s.audit_rows().unwrap()[3].body, r#"{"a":1,"b":2}"#);
    assert!(verify(&s).unwrap().ok());
}

/// Inserting 100k labels in one read: prepared statement, one transaction. Prints the
/// figure (run with --nocapture); speed is reported, not asserted.
#[test]
fn insert_100k_labels() {
    let (_d, mut s) = open();
    let doc = q3();
    let values: Vec<(u32, u32, f64)> = (0..100_000u32)
        .map(|i| (i / 20, i % 20, f64::from(i) * 1.5))
        .collect();
    let ev = read(&doc, "Big", 1, &values);
    let t = std::time::Instant::now();
    s.record_read(&ev).unwrap();
    let took = t.elapsed();
    eprintln!("inserted 100000 labels in {took:?}");
    assert_eq!(s.label_count().unwrap(), 100_000);
    let t = std::time::Instant::now();
    let back = s.labels().unwrap();
    eprintln!("rebuilt 100000 labels in {:?}", t.elapsed());
    assert_eq!(back[0].sheets[0].cells.len(), 100_000);
}

// ---------------------------------------------------------------------------------------
// Group commit.

fn audit_body(i: usize) -> serde_json::Value {
    serde_json::json!({"n": i})
}

#[test]
fn one_flush_covers_every_commit_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tracker.db");
    let mut s = Store::open_with(&db, Durability::Grouped).unwrap();
    s.append_audit(1, "test", &audit_body(1)).unwrap();
    let first = s.commit_ticket();
    s.append_audit(2, "test", &audit_body(2)).unwrap();
    let second = s.commit_ticket();
    assert_eq!(s.commit_stats().flushes, 0, "commits alone flush nothing");
    second.wait().unwrap();
    assert_eq!(s.commit_stats().flushes, 1);
    // The first commit was covered by the flush made for the second.
    first.wait().unwrap();
    assert_eq!(s.commit_stats().flushes, 1);
    // A ticket with nothing new since the last flush costs nothing.
    s.commit_ticket().wait().unwrap();
    assert_eq!(s.commit_stats().flushes, 1);
    s.append_audit(3, "test", &audit_body(3)).unwrap();
    s.commit_ticket().wait().unwrap();
    assert_eq!(s.commit_stats().flushes, 2);
    assert_eq!(s.commit_stats().commits, 3);
    drop(s);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.audit_records().unwrap().len(), 3);
    assert!(s.verify_audit().unwrap().ok());
}

#[test]
fn each_commit_mode_never_needs_a_flush_from_the_ticket() {
    let (_dir, mut s) = open();
    s.append_audit(1, "test", &audit_body(1)).unwrap();
    s.commit_ticket().wait().unwrap();
    assert_eq!(s.commit_stats().flushes, 0);
}

/// Many threads recording under one lock and waiting outside it, as the bridge does:
/// every record lands, the chain is intact after reopening, and no more flushes are made
/// than there were commits.
#[test]
fn concurrent_callers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tracker.db");
    let store = std::sync::Arc::new(std::sync::Mutex::new(
        Store::open_with(&db, Durability::Grouped).unwrap(),
    ));
    let (threads, each) = (8, 40);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..each {
                    let ticket = {
                        let mut s = store.lock().unwrap();
                        s.append_audit(1, "test", &audit_body(t * 1000 + i))
                            .unwrap();
                        s.commit_ticket()
                    };
                    ticket.wait().unwrap();
                }
            });
        }
    });
    drop(store);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.audit_records().unwrap().len(), threads * each);
    assert!(s.verify_audit().unwrap().ok());
}

#[test]
fn waiters_whose_commits_are_all_in_share_one_flush() {
    // Every caller commits and takes its ticket; only then do they all wait, at once.
    // The first waiter flushes everything committed so far, which covers every ticket:
    // exactly one flush. Were each ticket flushed on its own, this would count 8.
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Mutex::new(
        Store::open_with(&dir.path().join("tracker.db"), Durability::Grouped).unwrap(),
    );
    let threads = 8;
    let all_committed = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (store, all_committed) = (&store, &all_committed);
            scope.spawn(move || {
                let ticket = {
                    let mut s = store.lock().unwrap();
                    s.append_audit(1, "test", &audit_body(t)).unwrap();
                    s.commit_ticket()
                };
                all_committed.wait();
                ticket.wait().unwrap();
            });
        }
    });
    let stats = store.lock().unwrap().commit_stats();
    assert_eq!(stats.commits, threads as u64);
    assert_eq!(stats.flushes, 1, "{stats:?}");
    // A commit after that flush needs a flush of its own.
    let ticket = {
        let mut s = store.lock().unwrap();
        s.append_audit(1, "test", &audit_body(99)).unwrap();
        s.commit_ticket()
    };
    ticket.wait().unwrap();
    ticket.wait().unwrap();
    assert_eq!(store.lock().unwrap().commit_stats().flushes, 2);
}

/// The attack from the issue: a one-cell read's audit record, and a guess of every salary
/// in a plausible range hashed the way the record's values were.
fn guess_one_cell_value(body: &serde_json::Value) -> Option<f64> {
    let recorded: Vec<String> = ["values_sha256", "values_hmac"]
        .iter()
        .filter_map(|k| body[*k].as_str().map(str::to_string))
        .collect();
    (0..200_000u32).map(f64::from).find(|v| {
        let value = serde_json::to_string(&CellValue::Number(*v)).unwrap();
        let mut h = Sha256::new();
        h.update(("Pay".len() as u64).to_be_bytes());
        h.update(b"Pay");
        h.update(2u32.to_be_bytes());
        h.update(3u32.to_be_bytes());
        h.update((value.len() as u64).to_be_bytes());
        h.update(value.as_bytes());
        let guess = hex::encode(h.finalize());
        recorded.contains(&guess)
    })
}

#[test]
fn a_one_cell_value_cannot_be_guessed_from_its_audit_record() {
    let (_d, mut s) = open();
    let rec = s
        .record_read(&read(&q3(), "Pay", 1_000, &[(2, 3, 85_000.0)]))
        .unwrap();
    assert_eq!(rec.body.get("values_sha256"), None, "{}", rec.body);
    assert_eq!(rec.body["values_key"], test_key().id());
    assert_eq!(guess_one_cell_value(&rec.body), None, "{}", rec.body);
    // The control: the same guess finds the value in a plain record as the old scheme
    // wrote it, so the search above would have found it there.
    let value = serde_json::to_string(&CellValue::Number(85_000.0)).unwrap();
    let mut h = Sha256::new();
    h.update(3u64.to_be_bytes());
    h.update(b"Pay");
    h.update(2u32.to_be_bytes());
    h.update(3u32.to_be_bytes());
    h.update((value.len() as u64).to_be_bytes());
    h.update(value.as_bytes());
    let plain = json!({"values_sha256": hex::encode(h.finalize())});
    assert_eq!(guess_one_cell_value(&plain), Some(85_000.0));
}

#[test]
fn the_same_value_hashes_differently_in_two_installs() {
    let ev = read(&q3(), "Pay", 1_000, &[(2, 3, 85_000.0)]);
    let (_d1, mut one) = open();
    let dir = tempfile::tempdir().unwrap();
    let mut other = Store::open(&dir.path().join("tracker.db")).unwrap();
    other.set_audit_key(AuditKey::from_bytes([8; 32])).unwrap();
    let a = one.record_read(&ev).unwrap().body;
    let b = other.record_read(&ev).unwrap().body;
    assert_ne!(a["values_hmac"], b["values_hmac"]);
    assert_ne!(a["values_key"], b["values_key"]);
    // Within one install the hash is stable: the same values match the same record.
    let again = one.record_read(&ev).unwrap().body;
    assert_eq!(a["values_hmac"], again["values_hmac"]);
    assert_eq!(a["values_hmac"].as_str().unwrap().len(), 64);
}

#[test]
fn reads_are_refused_without_a_key_and_with_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tracker.db");
    let mut s = Store::open(&db).unwrap();
    let ev = read(&q3(), "Pay", 1_000, &[(2, 3, 85_000.0)]);
    let e = s.record_read(&ev).unwrap_err();
    assert!(matches!(e, StoreError::AuditKey { .. }), "{e}");
    assert!(e.to_string().contains("no audit key is set"), "{e}");
    assert_eq!(s.label_count().unwrap(), 0, "nothing recorded");
    assert_eq!(s.keyed_since().unwrap(), None);
    s.append_audit(900, "policy", &json!({"n": 1})).unwrap();
    s.set_audit_key(test_key()).unwrap();
    s.record_read(&ev).unwrap();
    assert_eq!(
        s.keyed_since().unwrap(),
        Some(KeyedSince {
            key_id: test_key().id(),
            since_seq: 2
        })
    );
    drop(s);
    // A replaced key is refused, not silently mixed in.
    let mut s = Store::open(&db).unwrap();
    let other = AuditKey::from_bytes([9; 32]);
    let e = s.set_audit_key(other.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "store {}: the values of reads from audit record 2 on were hashed with audit key {}, but the key given is {}; restore the original key file (a new key cannot be used with this store)",
            db.display(),
            test_key().id(),
            other.id()
        )
    );
    s.set_audit_key(test_key()).unwrap();
    s.record_read(&ev).unwrap();
}

#[test]
fn an_older_store_with_plain_hashes_keeps_verifying_after_keyed_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tracker.db");
    // A store as the previous schema left it: plain value hashes in its read records.
    let mut s = Store::open(&db).unwrap();
    for i in 0..3 {
        s.append_audit(
            100 + i,
            "read",
            &json!({"document": "Old.xlsx", "cells": 1, "values_sha256": format!("{i:064x}")}),
        )
        .unwrap();
    }
    s.conn()
        .execute_batch(
            &format!("DROP TABLE audit_forward; DROP TABLE recent_writes; DROP TABLE audit_key; ALTER TABLE decisions DROP COLUMN why; DROP TABLE read_cells; {LABELS_V1} UPDATE schema_version SET version = 2;"),
        )
        .unwrap();
    drop(s);
    // This version opens it (migrating), keys the reads from now on, and the chain holds.
    let mut s = Store::open(&db).unwrap();
    assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
    s.set_audit_key(test_key()).unwrap();
    for at in [200, 300] {
        s.record_read(&read(&q3(), "Pay", at, &[(1, 1, 5.0)]))
            .unwrap();
    }
    let report = verify(&s).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.records, 5);
    assert_eq!(report.value_hashes.plain, 3);
    assert_eq!(report.value_hashes.keyed, 2);
    assert_eq!(report.value_hashes.key_ids, vec![test_key().id()]);
    assert_eq!(report.value_hashes.first_keyed_seq, Some(4));
    assert_eq!(s.keyed_since().unwrap().unwrap().since_seq, 4);
    // Editing an old plain hash is still caught.
    s.conn()
        .execute(
            "UPDATE audit SET body = replace(body, '0000', '1111') WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(broken(&s).0, 2);
}
