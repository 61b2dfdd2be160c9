//! The tracker's work per tool call, as the bridge asks for it (issue #17 parts 4 and 6):
//! the time inside `Tracker::record_read` for a 45-cell read (the load tool's 9x5 table),
//! inside `Tracker::check_write` for a 200-value slide table, and inside `check_write` +
//! `finish_write`, at 1M indexed cells, with the store in the bridge's mode (grouped
//! commits: the WAL flush is made outside the tracker's lock and shared, so it is timed
//! apart, per flush). The detection alone (`Tracker::find_flows`, the same index lookups
//! and scoring `check_write` makes, nothing stored) is timed on the same writes.
//!
//! `cargo bench -p tracker --bench per_call` (`PER_CALL_CELLS=N` for another index size:
//! 10M takes about a minute to build on a busy 2-core machine, so it is opt-in;
//! `PER_CALL_ROUNDS=N` for the number of read + write rounds, default 2,000). Peak RSS is
//! the process's VmHWM, index, SQLite cache and the bench's own data included.

use std::time::{Duration, Instant};

use tracker::Tracker;
use tracker::audit_key::AuditKey;
use tracker::model::{
    App, CellAddr, CellValue, DocumentRef, FlowStrength, ProvenanceId, ReadCell, ReadEvent,
    SheetRead, WriteContent, WritePart,
};
use tracker::policy::AdminPolicy;
use tracker::store::Durability;
use tracker_eval::Rng;

/// A sheet of `rows` x `cols` many-digit amounts.
fn read(doc: &DocumentRef, sheet: &str, rows: u32, cols: u32, rng: &mut Rng) -> ReadEvent {
    let cells = (0..rows * cols)
        .map(|i| ReadCell {
            addr: CellAddr::new(i / cols, i % cols),
            value: CellValue::Number((10f64.powf(2.0 + 6.0 * rng.f64()) * 100.0).round() / 100.0),
            text: None,
            number_format: Some("#,##0.00".into()),
        })
        .collect();
    ReadEvent {
        id: ProvenanceId::new(),
        document: doc.clone(),
        sheets: vec![SheetRead {
            sheet: sheet.into(),
            cells,
        }],
        at: 0,
        request: "excel_read_range".into(),
    }
}

/// 200 values: 100 of `from` (3 significant figures, scaled) and 100 unrelated.
fn slide(from: &ReadEvent, deck: &DocumentRef, rng: &mut Rng) -> WriteContent {
    let cells = &from.sheets[0].cells;
    let rows = (0..20)
        .map(|r| {
            (0..10)
                .map(|c| {
                    let v = if c < 5 {
                        match cells.get(r * 5 + c).map(|x| &x.value) {
                            Some(CellValue::Number(v)) => *v,
                            _ => 1.0,
                        }
                    } else {
                        10f64.powf(2.0 + 6.0 * rng.f64())
                    };
                    tracker_eval::scaled(v, 3, 0)
                })
                .collect()
        })
        .collect();
    WriteContent {
        target: deck.clone(),
        parts: vec![WritePart::Table {
            location: "slide 1".into(),
            rows,
        }],
        explicit_sources: vec![],
    }
}

fn percentiles(mut t: Vec<Duration>) -> (f64, f64) {
    t.sort_unstable();
    let q = |p: f64| {
        t.get(((t.len().max(1) - 1) as f64 * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    (q(0.5), q(0.99))
}

#[path = "common/memory.rs"]
mod memory;

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let total = env_or("PER_CALL_CELLS", 1_000_000);
    let rounds = env_or("PER_CALL_ROUNDS", 2_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = Tracker::open_at(
        &dir.path().join("bench.db"),
        AdminPolicy::default(),
        Durability::Grouped,
        tracker::unix_millis_now(),
    )
    .expect("open");
    t.set_audit_key(AuditKey::from_bytes([5; 32])).expect("key");
    let mut rng = Rng::new(7);
    // The index: workbooks of 10,000-cell sheets (250 x 40).
    let t0 = Instant::now();
    let mut indexed = 0;
    let mut book = 0;
    while indexed < total {
        let doc = DocumentRef::new(
            App::Excel,
            format!("B{book}.xlsx"),
            format!("file:///b{book}.xlsx"),
        );
        for s in 0..10 {
            if indexed >= total {
                break;
            }
            let r = read(&doc, &format!("S{s}"), 250, 40, &mut rng);
            t.record_read(&r).expect("read");
            indexed += 10_000;
        }
        t.commit_ticket().wait().expect("flush");
        book += 1;
    }
    println!(
        "index: {indexed} cells recorded in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let deck = DocumentRef::new(App::Powerpoint, "Deck.pptx", "file:///deck.pptx");
    let (mut reads, mut checks, mut check_finish, mut detects, mut flushes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut confirmed, mut possible) = (0usize, 0usize);
    for i in 0..rounds {
        let doc = DocumentRef::new(
            App::Excel,
            format!("Q{}.xlsx", i % 50),
            format!("file:///q{}.xlsx", i % 50),
        );
        let r = read(&doc, "Revenue", 9, 5, &mut rng);
        let at = tracker::unix_millis_now();
        let s = Instant::now();
        t.record_read(&ReadEvent { at, ..r.clone() }).expect("read");
        reads.push(s.elapsed());
        let f = Instant::now();
        t.commit_ticket().wait().expect("flush");
        flushes.push(f.elapsed());
        let w = slide(&r, &deck, &mut rng);
        let at = tracker::unix_millis_now();
        let s = Instant::now();
        let check = t.check_write(&w, at, at + 120_000).expect("check");
        checks.push(s.elapsed());
        t.finish_write(
            &check.write_id,
            &deck,
            Some(true),
            "ppt_add_table",
            "slide 1",
            at,
        )
        .expect("finish");
        check_finish.push(s.elapsed());
        t.commit_ticket().wait().expect("flush");
        // After the check, so the check is timed as the bridge meets it (caches not warmed
        // by a look-up of the same values just before).
        let s = Instant::now();
        let found = t.find_flows(&w);
        detects.push(s.elapsed());
        for f in &found {
            match f.strength {
                FlowStrength::Confirmed => confirmed += 1,
                FlowStrength::Possible => possible += 1,
            }
        }
    }
    let (r50, r99) = percentiles(reads);
    let (c50, c99) = percentiles(checks);
    let (cf50, cf99) = percentiles(check_finish);
    let (d50, d99) = percentiles(detects);
    let (f50, f99) = percentiles(flushes);
    let n = rounds.max(1) as f64;
    println!("at {indexed} indexed cells, {rounds} rounds (times in us):");
    println!("  record_read (45 cells)                  p50 {r50:>7.0}  p99 {r99:>7.0}");
    println!("  check_write (200 values)                p50 {c50:>7.0}  p99 {c99:>7.0}");
    println!("  check_write+finish_write (200 values)   p50 {cf50:>7.0}  p99 {cf99:>7.0}");
    println!(
        "  detection alone (find_flows, 200 values) p50 {d50:>6.0}  p99 {d99:>7.0}  flows/check confirmed {:.2} possible {:.2}",
        confirmed as f64 / n,
        possible as f64 / n
    );
    println!("  WAL flush (outside the tracker)         p50 {f50:>7.0}  p99 {f99:>7.0}");
    println!(
        "  peak RSS (VmHWM) {:.0} MiB",
        memory::peak_rss_bytes() as f64 / 1_048_576.0
    );
}
