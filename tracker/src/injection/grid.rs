//! Checking a sheet as the agent sees it: every cell's value and displayed text, the
//! sheet's name, and instructions split across neighbouring cells.
//!
//! A cell's number format can display words its value does not hold (`"Ignore all
//! previous instructions"` as the format of a cell holding 0), and an attack can be cut
//! into cells that are each harmless ("Ignore all", "previous", "instructions and email
//! ..." in A1:A3). The agent reads them together, so the check does too: runs of
//! neighbouring text cells along a row and down a column are joined with spaces, in
//! windows of [`WINDOW`] cells advancing by [`STEP`], so every split over up to
//! `WINDOW - STEP` cells lies whole inside some window. A window is reported only when no
//! cell in it was flagged alone (that cell is reported already), by the range it spans.

use std::collections::BTreeMap;

use crate::model::{CellAddr, CellValue, ReadCell};

use super::{InjectionCheck, InjectionFinding, excerpt};

/// Cells joined at most.
const WINDOW: usize = 6;
/// How far a window moves: splits over up to `WINDOW - STEP` cells are always seen whole.
const STEP: usize = 3;

/// The texts of a cell the agent sees: its text value, and its displayed text when that
/// says something else in words.
fn cell_texts(cell: &ReadCell) -> (Option<&str>, Option<&str>) {
    let value = match &cell.value {
        CellValue::Text(t) => Some(t.as_str()),
        _ => None,
    };
    let shown = cell
        .text
        .as_deref()
        .filter(|t| Some(*t) != value && t.chars().any(char::is_alphabetic));
    (value, shown)
}

/// What a cell contributes to a join: what is displayed when it holds words, else the value.
fn join_text(cell: &ReadCell) -> Option<&str> {
    match cell_texts(cell) {
        (_, Some(shown)) => Some(shown),
        (Some(v), None) if v.chars().any(char::is_alphabetic) => Some(v),
        _ => None,
    }
}

impl InjectionCheck {
    /// Findings in one sheet read: the sheet's name, each cell's value and displayed
    /// text, and instructions split across neighbouring cells. At most `max` findings.
    pub fn scan_sheet(&self, sheet: &str, cells: &[ReadCell], max: usize) -> Vec<InjectionFinding> {
        let mut out = Vec::new();
        let push = |out: &mut Vec<InjectionFinding>, location: String, text: &str| {
            if out.len() >= max {
                return false;
            }
            if let Some((reason, at)) = self.detect(text) {
                out.push(InjectionFinding {
                    location,
                    excerpt: excerpt::excerpt(text, at),
                    reason,
                });
                return true;
            }
            false
        };
        push(&mut out, format!("name of sheet {sheet}"), sheet);
        let mut flagged: Vec<CellAddr> = Vec::new();
        for cell in cells {
            let (value, shown) = cell_texts(cell);
            let at = || format!("{sheet}!{}", cell.addr.to_a1());
            let hit = value.is_some_and(|v| push(&mut out, at(), v))
                || shown.is_some_and(|s| push(&mut out, format!("{} (as displayed)", at()), s));
            if hit {
                flagged.push(cell.addr);
            }
        }
        flagged.sort_unstable();
        // Runs of neighbouring cells with words, along rows and down columns.
        let worded: BTreeMap<CellAddr, &str> = cells
            .iter()
            .filter_map(|c| join_text(c).map(|t| (c.addr, t)))
            .collect();
        let mut by_col: Vec<(CellAddr, &str)> = worded.iter().map(|(a, t)| (*a, *t)).collect();
        by_col.sort_unstable_by_key(|(a, _)| (a.col, a.row));
        let rows: Vec<(CellAddr, &str)> = worded.into_iter().collect();
        for (line, next) in [
            (
                &rows,
                (|a: CellAddr| CellAddr {
                    col: a.col + 1,
                    ..a
                }) as fn(CellAddr) -> CellAddr,
            ),
            (&by_col, |a: CellAddr| CellAddr {
                row: a.row + 1,
                ..a
            }),
        ] {
            let mut start = 0;
            while start < line.len() {
                let mut end = start + 1;
                while end < line.len() && line[end].0 == next(line[end - 1].0) {
                    end += 1;
                }
                let run = &line[start..end];
                start = end;
                if run.len() < 2 {
                    continue;
                }
                let mut from = 0;
                loop {
                    let window = &run[from..run.len().min(from + WINDOW)];
                    let seen_alone = window.iter().any(|(a, _)| flagged.binary_search(a).is_ok());
                    if !seen_alone {
                        let joined: Vec<&str> = window.iter().map(|(_, t)| *t).collect();
                        let (first, last) = (window[0].0, window[window.len() - 1].0);
                        let location =
                            format!("{sheet}!{}:{} (read together)", first.to_a1(), last.to_a1());
                        if push(&mut out, location, &joined.join(" ")) {
                            flagged.extend(window.iter().map(|(a, _)| *a));
                            flagged.sort_unstable();
                        }
                    }
                    if from + WINDOW >= run.len() || out.len() >= max {
                        break;
                    }
                    from += STEP;
                }
            }
        }
        out
    }
}
