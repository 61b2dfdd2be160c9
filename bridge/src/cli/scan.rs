//! `office-bridge scan TARGET... --against SOURCE... [--json]`: which data of the source
//! workbooks appears in the target files. Exit 0: no confirmed flow; 1: confirmed flows;
//! 2: error (a file could not be read and nothing was confirmed, or bad arguments).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Result;
use tracker::files::Limits;
use tracker::scan::{Progress, ScanFlow, ScanReport, scan};
use tracker::{CellAddr, FlowStrength};

pub fn run(targets: &[PathBuf], sources: &[PathBuf], json: bool) -> Result<i32> {
    let limits = Limits::default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    // A progress line only for a person watching a terminal; never in pipes or logs.
    let mut stderr = std::io::stderr();
    let show_progress = stderr.is_terminal();
    let mut on_progress = |p: Progress<'_>| {
        if !show_progress {
            return;
        }
        let (verb, index, total, path) = match p {
            Progress::ReadingSource { index, total, path } => {
                ("reading source", index, total, path)
            }
            Progress::CheckingTarget { index, total, path } => ("checking", index, total, path),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let _ = write!(stderr, "\r\x1b[2K[{}/{}] {verb} {name}", index + 1, total);
        let _ = stderr.flush();
    };
    let report = scan(targets, sources, &limits, now, &mut on_progress);
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", human_report(&report));
    }
    Ok(report.outcome() as i32)
}

pub fn human_report(report: &ScanReport) -> String {
    let mut out = String::new();
    for failure in &report.source_errors {
        out.push_str(&format!(
            "source {}: could not be read: {}\n",
            failure.path, failure.error
        ));
    }
    let mut possible = 0;
    let mut with_confirmed = 0;
    for target in &report.targets {
        if let Some(error) = &target.error {
            out.push_str(&format!("{}: could not be read: {error}\n", target.path));
            continue;
        }
        // What the file holds and was not read is said whether or not flows were found:
        // "no flows found" must not read as "nothing hidden there".
        let skipped: String = target
            .skipped
            .iter()
            .map(|s| format!("  not read: {s}\n"))
            .collect();
        if target.flows.is_empty() {
            out.push_str(&format!("{}: no flows found\n{skipped}", target.path));
            continue;
        }
        out.push_str(&format!("{}\n{skipped}", target.path));
        if target
            .flows
            .iter()
            .any(|f| f.strength == FlowStrength::Confirmed)
        {
            with_confirmed += 1;
        }
        for flow in &target.flows {
            if flow.strength == FlowStrength::Possible {
                possible += 1;
            }
            out.push_str(&format!("  {}\n", flow_line(flow)));
        }
    }
    let failed =
        report.source_errors.len() + report.targets.iter().filter(|t| t.error.is_some()).count();
    out.push_str(&format!(
        "{} confirmed flow(s) in {} of {} target(s); {} possible; {} source cell(s) compared{}\n",
        report.confirmed_flows(),
        with_confirmed,
        report.targets.len(),
        possible,
        report.source_cells,
        if failed > 0 {
            format!("; {failed} file(s) could not be read")
        } else {
            String::new()
        }
    ));
    out
}

fn flow_line(flow: &ScanFlow) -> String {
    let label = match flow.strength {
        FlowStrength::Confirmed => "CONFIRMED",
        FlowStrength::Possible => "possible ",
    };
    let source_name = std::path::Path::new(&flow.source.path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| flow.source.path.clone());
    format!(
        "{label} {}: {} value(s) from {source_name} > {}!{} (confidence {:.2})",
        flow.location,
        flow.matched,
        flow.source.sheet,
        summarize_cells(&flow.source.cells),
        flow.confidence
    )
}

/// `B2:D5` when the cells fill their bounding box, else the first few and a count.
pub fn summarize_cells(cells: &[String]) -> String {
    let parsed: Vec<CellAddr> = cells
        .iter()
        .filter_map(|c| CellAddr::parse_a1(c).ok())
        .collect();
    // Cells that do not parse are shown as given rather than summarised wrongly.
    let range = match tracker::CellRange::bounding(&parsed) {
        Some(r) if parsed.len() == cells.len() => r,
        _ => return cells.join(", "),
    };
    let mut unique = parsed;
    unique.sort();
    unique.dedup();
    if range.cell_count() == unique.len() as u64 {
        return range.to_string();
    }
    const SHOWN: usize = 6;
    let head: Vec<String> = unique.iter().take(SHOWN).map(|c| c.to_a1()).collect();
    if unique.len() > SHOWN {
        format!("{} and {} more", head.join(", "), unique.len() - SHOWN)
    } else {
        head.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_summarised() {
        let s = |v: &[&str]| summarize_cells(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["B2", "C2", "B3", "C3"]), "B2:C3");
        assert_eq!(s(&["B2"]), "B2");
        assert_eq!(s(&["B2", "D9"]), "B2, D9");
        assert_eq!(
            s(&["A1", "A3", "A5", "A7", "A9", "A11", "A13"]),
            "A1, A3, A5, A7, A9, A11 and 1 more"
        );
    }
}
