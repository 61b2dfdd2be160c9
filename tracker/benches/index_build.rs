//! Index build against calamine's own parse of the same workbook.
//!
//! Prints, for a generated xlsx of N cells: calamine's bare parse time (open + read every
//! sheet's range), office-bridge's guarded read (`files::read_workbook`: zip guard, styles,
//! displayed text), the index build (`Detector::add_read`), and the ratio of index build
//! to calamine's parse (goal: within 2x). Run: `cargo bench -p tracker --bench index_build`
//! (`INDEX_BENCH_CELLS=1000000` for another size).

use std::time::Instant;

use calamine::{Reader, open_workbook_auto};
use rust_xlsxwriter::{Format, Workbook};
use tracker::detect::Detector;
use tracker::files::{self, Limits};
use tracker::{ProvenanceId, ReadEvent};

fn make_workbook(path: &std::path::Path, cells: usize) {
    let mut wb = Workbook::new();
    let money = Format::new().set_num_format("$#,##0.00");
    let pct = Format::new().set_num_format("0.0%");
    let cols = 20u16;
    let rows = cells.div_ceil(cols as usize) as u32;
    let sheet = wb.add_worksheet().set_name("Data").unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for r in 0..rows {
        for c in 0..cols {
            // xorshift: varied magnitudes, deterministic.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x % 100_000_000) as f64 / 100.0;
            if c % 5 == 4 {
                sheet.write_number_with_format(r, c, v / 1e6, &pct).unwrap();
            } else {
                sheet.write_number_with_format(r, c, v, &money).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

fn main() {
    let cells: usize = std::env::var("INDEX_BENCH_CELLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.xlsx");
    make_workbook(&path, cells);

    let (calamine_s, parsed) = best_of(3, || {
        let mut wb = open_workbook_auto(&path).unwrap();
        let mut n = 0usize;
        for name in wb.sheet_names() {
            n += wb.worksheet_range(&name).unwrap().used_cells().count();
        }
        n
    });
    let limits = Limits::default();
    let (read_s, workbook) = best_of(3, || files::read_workbook(&path, &limits).unwrap());
    let read = ReadEvent {
        id: ProvenanceId::new(),
        document: workbook.document.clone(),
        sheets: workbook.sheets.clone(),
        at: 0,
        request: "bench".into(),
    };
    let (index_s, detector) = best_of(3, || {
        let mut d = Detector::new();
        d.add_read(&read);
        d
    });
    println!(
        "{parsed} cells | calamine parse {:.3} s | guarded read (zip guard, formats, displayed text) {:.3} s | \
         index build {:.3} s ({:.0} cells/s) | index build / calamine parse = {:.2}x (goal <= 2x) | \
         read + index / calamine parse = {:.2}x | heap {:.1} B/cell",
        calamine_s,
        read_s,
        index_s,
        detector.len() as f64 / index_s,
        index_s / calamine_s,
        (read_s + index_s) / calamine_s,
        detector.heap_bytes() as f64 / detector.len().max(1) as f64,
    );
}
