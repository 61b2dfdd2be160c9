//! Time and peak memory of the file readers on hostile workbooks, for docs/security.md
//! ("Hostile files: reader budgets"). Each run is one process, so the peak resident size
//! (VmHWM) belongs to that one read:
//!
//!     cargo run --release -p tracker --example reader_budgets -- sheets 1000000
//!     cargo run --release -p tracker --example reader_budgets -- cells 12000000
//!     cargo run --release -p tracker --example reader_budgets -- strings 5000000
//!     cargo run --release -p tracker --example reader_budgets -- deep 100000
//!
//! An optional third argument picks the read: `scan` (every sheet, as `office-bridge scan`
//! reads a source), `sheet` (the first sheet, at most 100,000 cells, as `xlsx_read` read
//! before it read in pages) or `page` (the first page of the first sheet's used range, as
//! `xlsx_read` reads now: a pass that finds where the data lies, keeping no cell, then the
//! first 43,690 cells' worth of whole rows); all three by default, one after the other.

#[path = "../tests/files_common/hostile.rs"]
mod hostile;

use std::path::Path;
use std::time::Instant;

use tracker::files::{Limits, read_sheet, read_workbook, sheet_extent};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(what), Some(n)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: reader_budgets sheets|cells|strings|deep N [scan|sheet|page]");
        std::process::exit(2);
    };
    let read = args.get(2).map(String::as_str).unwrap_or("all");
    let t = Instant::now();
    let bytes = match what.as_str() {
        "sheets" => hostile::many_sheets_xlsx(n as usize),
        "cells" => hostile::many_cells_xlsx(n, 100),
        "strings" => hostile::many_strings_xlsx(n as usize),
        "deep" => hostile::deep_xml_xlsx(n as usize, false),
        other => {
            eprintln!("unknown workbook kind {other}");
            std::process::exit(2);
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{what}-{n}.xlsx"));
    std::fs::write(&path, &bytes).expect("write workbook");
    let made = t.elapsed().as_secs_f64();
    let size = bytes.len() as f64 / 1024.0 / 1024.0;
    drop(bytes);
    // The generator's own peak is not the reader's: measure it before reading.
    eprintln!(
        "made {what} {n}: {size:.1} MiB in {made:.1} s (peak so far {:.0} MiB)",
        peak_rss_mib()
    );
    let limits = Limits::default();
    if read == "scan" || read == "all" {
        measure("scan", &path, || {
            read_workbook(&path, &limits).map(|wb| {
                let cells: usize = wb.sheets.iter().map(|s| s.cells.len()).sum();
                format!("ok: {} sheets, {cells} cells", wb.sheets.len())
            })
        });
    }
    if read == "page" || read == "all" {
        measure("page", &path, || {
            let found = sheet_extent(&path, None, None, &limits)?;
            let Some(used) = found.extent else {
                return Ok("ok: no data".to_string());
            };
            // As xlsx_read: whole rows of the used range, at most 43,690 cells.
            let rows = (43_690 / used.cols()).clamp(1, used.rows());
            let band = tracker::CellRange::new(
                used.start,
                tracker::CellAddr::new(used.start.row + rows - 1, used.end.col),
            );
            read_sheet(
                &path,
                Some(&found.sheet),
                Some(band),
                band.cell_count(),
                &limits,
            )
            .map(|wb| {
                format!(
                    "ok: used range {used}, first page {band}, {} cells",
                    wb.sheet.cells.len()
                )
            })
        });
    }
    if read == "sheet" || read == "all" {
        measure("sheet", &path, || {
            read_sheet(&path, None, None, 100_000, &limits).map(|wb| {
                format!(
                    "ok: {} sheets listed, {} cells{}",
                    wb.sheet_names.len(),
                    wb.sheet.cells.len(),
                    if wb.truncated { ", truncated" } else { "" }
                )
            })
        });
    }
}

fn measure(
    label: &str,
    path: &Path,
    f: impl FnOnce() -> Result<String, tracker::files::FileError>,
) {
    let t = Instant::now();
    let outcome = match f() {
        Ok(s) => s,
        Err(e) => format!("error: {}", e.problem),
    };
    println!(
        "{label:5} {}: {:.2} s, peak RSS {:.0} MiB: {outcome}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}
