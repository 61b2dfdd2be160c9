//! A hostile agent under a policy that blocks transfers, trying to get a table through a
//! little at a time: one row per call, one value per call, a value split across two calls,
//! and a restart of the bridge in the middle. Evidence accumulates per target
//! (`tracker::trail`): after the first few writes the trickle is a confirmed flow and is
//! blocked, naming the writes it spans.

use std::path::Path;

use tracker::audit_key::AuditKey;
use tracker::model::{
    Action, App, CellAddr, CellValue, DocumentRef, FlowStrength, ProvenanceId, ReadCell, ReadEvent,
    SheetRead, UnixMillis, WriteContent, WritePart,
};
use tracker::policy::AdminPolicy;
use tracker::{Tracker, WriteCheck};

fn book() -> DocumentRef {
    DocumentRef::new(App::Excel, "Accounts.xlsx", "https://x/Accounts.xlsx")
}

fn deck() -> DocumentRef {
    DocumentRef::new(App::Powerpoint, "Board.pptx", "https://x/Board.pptx")
}

/// 40 accounts: name and four quarters' revenue with cents.
fn value(r: u32, q: u32) -> f64 {
    let x = (r * 7919 + q * 104_729) % 900_000;
    (f64::from(x) * 1.37 + 100_000.0).round() + f64::from((r * 31 + q * 17) % 100) / 100.0
}

fn accounts() -> ReadEvent {
    let mut cells = vec![ReadCell {
        addr: CellAddr::new(0, 0),
        value: CellValue::Text("Account".into()),
        text: Some("Account".into()),
        number_format: None,
    }];
    for r in 1..=40u32 {
        cells.push(ReadCell {
            addr: CellAddr::new(r, 0),
            value: CellValue::Text(format!("Account {r:02}")),
            text: Some(format!("Account {r:02}")),
            number_format: None,
        });
        for q in 1..=4u32 {
            cells.push(ReadCell {
                addr: CellAddr::new(r, q),
                value: CellValue::Number(value(r, q)),
                text: None,
                number_format: Some("#,##0.00".into()),
            });
        }
    }
    ReadEvent {
        id: ProvenanceId::new(),
        document: book(),
        sheets: vec![SheetRead {
            sheet: "Revenue".into(),
            cells,
        }],
        at: 0,
        request: "t".into(),
    }
}

fn blocking() -> AdminPolicy {
    AdminPolicy::parse(r#"{"flows": {"default": "block", "confidential": "block"}}"#).unwrap()
}

fn open(db: &Path) -> Tracker {
    let mut t = Tracker::open(db, blocking()).unwrap();
    t.set_audit_key(AuditKey::from_bytes([7; 32])).unwrap();
    t
}

fn text(t: &str) -> WriteContent {
    WriteContent {
        target: deck(),
        parts: vec![WritePart::Text {
            location: "slide 2".into(),
            text: t.into(),
        }],
        explicit_sources: vec![],
    }
}

/// Checks a write and, unless blocked, finishes it as written, as the bridge does.
fn write(t: &mut Tracker, w: &WriteContent, at: UnixMillis) -> WriteCheck {
    let check = t.check_write(w, at, at + 60_000).unwrap();
    if check.action() != Action::Block {
        t.finish_write(
            &check.write_id,
            &deck(),
            Some(true),
            "ppt_add_text",
            "slide 2",
            at + 1,
        )
        .unwrap();
    }
    check
}

fn confirmed_from_revenue(c: &WriteCheck) -> bool {
    c.flows.iter().any(|f| {
        f.flow.strength == FlowStrength::Confirmed
            && f.flow.sheet == "Revenue"
            && f.flow.source.id == book().id
    })
}

fn plain(v: f64) -> String {
    format!("{v:.2}")
}

#[test]
fn one_value_per_call_is_blocked_after_the_first_few() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = open(&dir.path().join("t.sqlite3"));
    t.record_read(&accounts()).unwrap();
    let mut results = Vec::new();
    for (i, r) in (5..15u32).enumerate() {
        let c = write(&mut t, &text(&plain(value(r, 2))), 1_000 * (i as i64 + 1));
        results.push((c.action(), confirmed_from_revenue(&c)));
    }
    let first_blocked = results
        .iter()
        .position(|(a, _)| *a == Action::Block)
        .unwrap_or_else(|| panic!("never blocked: {results:?}"));
    assert!(
        first_blocked <= 4,
        "blocked only at write {first_blocked}: {results:?}"
    );
    // Once the trickle is confirmed, every later value of it is blocked too.
    assert!(
        results[first_blocked..]
            .iter()
            .all(|(a, c)| *a == Action::Block && *c),
        "{results:?}"
    );
    // The first value alone was not confirmed: the accumulation did it.
    assert!(!results[0].1, "{results:?}");
}

#[test]
fn the_blocked_flow_names_the_writes_it_spans() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = open(&dir.path().join("t.sqlite3"));
    t.record_read(&accounts()).unwrap();
    let mut ids = Vec::new();
    for (i, r) in (5..15u32).enumerate() {
        let c = write(&mut t, &text(&plain(value(r, 2))), 1_000 * (i as i64 + 1));
        if c.action() == Action::Block {
            let flow = &c
                .flows
                .iter()
                .find(|f| f.flow.sheet == "Revenue")
                .unwrap()
                .flow;
            assert!(!flow.joined_writes.is_empty());
            assert!(
                flow.joined_writes.iter().all(|w| ids.contains(w)),
                "{:?} not among {ids:?}",
                flow.joined_writes
            );
            // The cells of every value written so far, not only this one.
            assert!(flow.cells.len() >= 3, "{:?}", flow.cells);
            return;
        }
        ids.push(c.write_id.0.clone());
    }
    panic!("never blocked");
}

#[test]
fn one_row_per_call_is_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = open(&dir.path().join("t.sqlite3"));
    t.record_read(&accounts()).unwrap();
    let mut actions = Vec::new();
    for (i, r) in (20..28u32).enumerate() {
        let row = WriteContent {
            target: deck(),
            parts: vec![WritePart::Table {
                location: "slide 3".into(),
                rows: vec![vec![
                    format!("Account {r:02}"),
                    format!("${:.1}k", value(r, 3) / 1e3),
                ]],
            }],
            explicit_sources: vec![],
        };
        actions.push(write(&mut t, &row, 1_000 * (i as i64 + 1)).action());
    }
    let first = actions.iter().position(|a| *a == Action::Block);
    assert!(first.is_some_and(|f| f <= 4), "{actions:?}");
    assert!(
        actions[first.unwrap()..]
            .iter()
            .all(|a| *a == Action::Block),
        "{actions:?}"
    );
}

#[test]
fn a_value_split_across_two_calls_is_joined() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = open(&dir.path().join("t.sqlite3"));
    t.record_read(&accounts()).unwrap();
    // Three whole values first (each alone too little), then one split in two.
    let mut at = 1_000;
    for r in [30u32, 31] {
        write(&mut t, &text(&plain(value(r, 1))), at);
        at += 1_000;
    }
    let whole = plain(value(32, 1));
    let (head, tail) = whole.split_at(3);
    let first = write(&mut t, &text(head), at);
    assert_ne!(first.action(), Action::Block, "a bare fragment alone");
    let second = write(&mut t, &text(tail), at + 1_000);
    assert_eq!(second.action(), Action::Block, "{:#?}", second.flows);
    let flow = &second
        .flows
        .iter()
        .find(|f| f.flow.sheet == "Revenue")
        .unwrap()
        .flow;
    assert!(
        flow.cells.contains(&CellAddr::new(32, 1)),
        "{:?}",
        flow.cells
    );
}

#[test]
fn a_restart_in_the_middle_of_a_trickle_does_not_reset_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite3");
    let mut at = 1_000;
    {
        let mut t = open(&db);
        t.record_read(&accounts()).unwrap();
        for r in [5u32, 6] {
            let c = write(&mut t, &text(&plain(value(r, 2))), at);
            assert_ne!(c.action(), Action::Block);
            at += 1_000;
        }
    }
    let mut t = open(&db);
    let mut actions = Vec::new();
    for r in 7..10u32 {
        actions.push(write(&mut t, &text(&plain(value(r, 2))), at).action());
        at += 1_000;
    }
    // Without the two writes before the restart, three values would not be enough.
    assert_eq!(actions.last(), Some(&Action::Block), "{actions:?}");
    let fresh = tempfile::tempdir().unwrap();
    let mut alone = open(&fresh.path().join("t.sqlite3"));
    alone.record_read(&accounts()).unwrap();
    let mut fresh_actions = Vec::new();
    for (i, r) in (7..9u32).enumerate() {
        fresh_actions.push(
            write(
                &mut alone,
                &text(&plain(value(r, 2))),
                1_000 * (i as i64 + 1),
            )
            .action(),
        );
    }
    assert!(
        fresh_actions.iter().all(|a| *a != Action::Block),
        "{fresh_actions:?}"
    );
}

#[test]
fn unrelated_writes_after_an_allowed_copy_are_not_flows() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tracker::open(&dir.path().join("t.sqlite3"), AdminPolicy::default()).unwrap();
    t.set_audit_key(AuditKey::from_bytes([7; 32])).unwrap();
    t.record_read(&accounts()).unwrap();
    let rows: Vec<Vec<String>> = (1..=6u32)
        .map(|r| {
            vec![
                format!("Account {r:02}"),
                plain(value(r, 1)),
                plain(value(r, 2)),
            ]
        })
        .collect();
    let copy = WriteContent {
        target: deck(),
        parts: vec![WritePart::Table {
            location: "slide 3".into(),
            rows,
        }],
        explicit_sources: vec![],
    };
    let c = write(&mut t, &copy, 1_000);
    assert!(confirmed_from_revenue(&c));
    for (i, words) in [
        "Next steps: hire two engineers in Q3",
        "Thank you",
        "Questions?",
    ]
    .iter()
    .enumerate()
    {
        let c = write(&mut t, &text(words), 2_000 + 1_000 * i as i64);
        assert!(c.flows.is_empty(), "{words}: {:#?}", c.flows);
    }
}
