//! Detector benchmarks (no criterion): index build rate, check latency p50/p99 for a
//! 200-value slide write, memory per indexed cell and the process's peak RSS, at 10k, 1M
//! and (with `DETECT_BENCH_10M=1`: about a minute on a busy 2-core machine) 10M cells.
//! `cargo bench -p tracker --bench detect`. `DETECT_BENCH_SIZES=1000000` runs only the
//! sizes listed (comma-separated), `DETECT_BENCH_CHECKS=N` times N checks (default 400):
//! a profile of the check alone wants many.

use std::time::Instant;

use tracker::detect::Detector;
use tracker::model::{
    App, CellAddr, CellValue, DocumentRef, ProvenanceId, ReadCell, ReadEvent, SheetRead,
    WriteContent, WritePart,
};
use tracker_eval::Rng;

#[path = "common/memory.rs"]
mod memory;
use memory::{peak_rss_bytes, rss_bytes};

/// One workbook of up to ten 10,000-cell sheets (250 rows x 40 cols) of log-uniform
/// amounts; generated one at a time so 10M cells of input never sit in memory at once.
fn book(book: usize, cells_left: usize, rng: &mut Rng) -> (ReadEvent, usize) {
    let per_sheet = 10_000;
    let mut made = 0;
    let doc = DocumentRef::new(
        App::Excel,
        format!("B{book}.xlsx"),
        format!("file:///b{book}.xlsx"),
    );
    let mut sheets = Vec::new();
    for s in 0..10 {
        if made >= cells_left {
            break;
        }
        let n = per_sheet.min(cells_left - made);
        let cells = (0..n)
            .map(|i| {
                let v = (10f64.powf(2.0 + 6.0 * rng.f64()) * 100.0).round() / 100.0;
                ReadCell {
                    addr: CellAddr::new((i / 40) as u32, (i % 40) as u32),
                    value: CellValue::Number(v),
                    text: None,
                    number_format: Some("#,##0.00".into()),
                }
            })
            .collect();
        made += n;
        sheets.push(SheetRead {
            sheet: format!("S{s}"),
            cells,
        });
    }
    let read = ReadEvent {
        id: ProvenanceId::new(),
        document: doc,
        sheets,
        at: 0,
        request: String::new(),
    };
    (read, made)
}

/// A slide table of 200 values: 100 copied (3 significant figures, scaled) from one
/// source sheet block, 100 unrelated.
fn slide(read: &ReadEvent, rng: &mut Rng) -> WriteContent {
    let mut rows = Vec::new();
    let cells = read
        .sheets
        .first()
        .map(|s| s.cells.as_slice())
        .unwrap_or(&[]);
    for r in 0..20 {
        let mut row = Vec::new();
        for c in 0..10 {
            let v = if c < 5 {
                match cells.get(r * 40 + c).map(|x| &x.value) {
                    Some(CellValue::Number(v)) => *v,
                    _ => 1.0,
                }
            } else {
                10f64.powf(2.0 + 6.0 * rng.f64())
            };
            row.push(tracker_eval::scaled(v, 3, 0));
        }
        rows.push(row);
    }
    WriteContent {
        target: DocumentRef::new(App::Powerpoint, "Deck.pptx", "file:///deck.pptx"),
        parts: vec![WritePart::Table {
            location: "slide 1".into(),
            rows,
        }],
        explicit_sources: vec![],
    }
}

fn run(total: usize, checks: usize) {
    let mut rng = Rng::new(42);
    let rss0 = rss_bytes();
    let mut build = std::time::Duration::ZERO;
    let mut det = Detector::new();
    let mut kept: Vec<ReadEvent> = Vec::new();
    let (mut done, mut b) = (0, 0);
    while done < total {
        let (r, n) = book(b, total - done, &mut rng);
        let t0 = Instant::now();
        det.add_read(&r);
        build += t0.elapsed();
        done += n;
        b += 1;
        // Keep a few workbooks to copy slides from; drop the rest so RSS measures the index.
        if kept.len() < 20 && b % 3 == 1 {
            let mut r = r;
            r.sheets.truncate(1);
            r.sheets.shrink_to_fit();
            kept.push(r);
        }
    }
    let peak_before_compact = peak_rss_bytes();
    // One sorted run per index after a bulk load: a single binary search per lookup.
    let t0 = Instant::now();
    det.compact();
    build += t0.elapsed();
    let kept_bytes: usize = kept
        .iter()
        .map(|r| r.sheets.iter().map(|s| s.cells.len() * 120).sum::<usize>())
        .sum();
    let rss1 = rss_bytes().saturating_sub(kept_bytes);
    let mut times = Vec::new();
    let mut writes = Vec::new();
    for _ in 0..20 {
        let i = rng.below(kept.len());
        if let Some(r) = kept.get(i) {
            writes.push(slide(r, &mut rng));
        }
    }
    let (mut confirmed, mut possible) = (0, 0);
    for k in 0..checks {
        let Some(w) = writes.get(k % writes.len().max(1)) else {
            break;
        };
        let t = Instant::now();
        let flows = det.check(w);
        times.push(t.elapsed().as_nanos());
        for f in &flows {
            match f.strength {
                tracker::model::FlowStrength::Confirmed => confirmed += 1,
                tracker::model::FlowStrength::Possible => possible += 1,
            }
        }
    }
    times.sort_unstable();
    let q = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1e6
    };
    let n = det.len().max(1);
    println!(
        "{:>10} cells | build {:>7.2} s, {:>10.0} cells/s | check p50 {:>7.3} ms p99 {:>7.3} ms | heap {:>6.1} B/cell, RSS delta {:>6.1} B/cell ({:.0} MiB), peak RSS so far {:.0} MiB ({:.0} MiB before the final compaction) | flows/check confirmed {:.2} possible {:.2}",
        det.len(),
        build.as_secs_f64(),
        n as f64 / build.as_secs_f64(),
        q(0.5),
        q(0.99),
        det.heap_bytes() as f64 / n as f64,
        rss1.saturating_sub(rss0) as f64 / n as f64,
        rss1.saturating_sub(rss0) as f64 / 1_048_576.0,
        peak_rss_bytes() as f64 / 1_048_576.0,
        peak_before_compact as f64 / 1_048_576.0,
        confirmed as f64 / times.len().max(1) as f64,
        possible as f64 / times.len().max(1) as f64
    );
}

fn main() {
    let mut sizes = vec![10_000, 1_000_000];
    if std::env::var("DETECT_BENCH_10M").is_ok_and(|v| v == "1") {
        sizes.push(10_000_000);
    }
    if let Ok(list) = std::env::var("DETECT_BENCH_SIZES") {
        sizes = list
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
    }
    let checks = std::env::var("DETECT_BENCH_CHECKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for n in sizes {
        run(n, checks);
    }
}
