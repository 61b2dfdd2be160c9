//! Header crossings as evidence for values too common to look up: a written table whose row
//! headers (department names) and column headers (quarters) are text cells of a sheet is
//! compared with that sheet at each (row header, column header) crossing. A small integer
//! (a headcount of 14) is never evidence alone, but k of them each equal to the value at
//! its own crossing is far from chance: each agreement has the chance of such a value among
//! the values at the table's crossings, and the choice of the k among the m cells that had
//! a crossing is paid for (ln C(m, k)). A deck of another workbook with the same
//! departments and quarters but its own numbers agrees at few crossings and earns nothing.

use super::items::{Item, ItemKind};
use super::parse::{self, Currency};
use super::{Detector, FastMap};

/// Most evidence one agreeing crossing may give.
const CELL_CAP: f64 = 8.0;
/// Fewest written cells with a crossing in the sheet for the rule to apply.
const MIN_CELLS: usize = 4;
/// Shifts tried between a written column and the sheet's when the headers differ.
const SHIFTS: u32 = 12;
/// Most places one header may be found in one sheet.
const MAX_PLACES: usize = 8;

/// The written cells of a table that agree with a sheet at their header crossings.
#[derive(Debug, Default)]
pub(super) struct GridMatch {
    /// Evidence (nats) before the look-elsewhere correction.
    pub(super) evidence: f64,
    /// (cell, written item) for each agreeing value.
    pub(super) cells: Vec<(u32, usize)>,
}

/// Folded-text hash of a table cell that is a header (text that is neither a number nor
/// a date).
fn header(cell: &str) -> Option<u64> {
    let t = cell.trim();
    if t.is_empty() || parse::parse_number(t).is_some() || !parse::parse_date(t).is_empty() {
        return None;
    }
    Some(parse::hash64(parse::fold(t).as_bytes()))
}

impl Detector {
    /// Sheets holding at least two of a written table's row headers: candidates for
    /// [`Detector::header_grid`].
    pub(super) fn grid_sheets(&self, rows: &[Vec<String>], target_doc: Option<u32>) -> Vec<u32> {
        let mut per: FastMap<u32, usize> = FastMap::default();
        let mut seen: Vec<u32> = Vec::new();
        for row in rows.iter().skip(1).take(200) {
            let Some(h) = row.first().and_then(|c| header(c)) else {
                continue;
            };
            seen.clear();
            self.texts.query(h, h, 4096, |id| {
                if let Some(s) = self.live_sheet(id, target_doc)
                    && !seen.contains(&s)
                {
                    seen.push(s);
                }
            });
            for s in &seen {
                *per.entry(*s).or_default() += 1;
            }
        }
        let mut out: Vec<u32> = per
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(s, _)| s)
            .collect();
        out.sort_unstable();
        out
    }

    /// The written table's small integers compared with sheet `sid` at the crossings of
    /// their own row and column headers (module docs). `None` when fewer than
    /// [`MIN_CELLS`] written values have a crossing there or fewer than two agree.
    pub(super) fn header_grid(
        &self,
        sid: u32,
        rows: &[Vec<String>],
        items: &[Item],
    ) -> Option<GridMatch> {
        let col_hdr: Vec<Option<u64>> = rows.first()?.iter().map(|c| header(c)).collect();
        let mut places: FastMap<u64, Vec<(u32, u32)>> = FastMap::default();
        let mut at = |h: u64| -> Vec<(u32, u32)> {
            places
                .entry(h)
                .or_insert_with(|| {
                    let mut v = self.label_cells(sid, h);
                    v.truncate(MAX_PLACES);
                    v
                })
                .clone()
        };
        // (item, candidate crossing cells) for each small written integer with a crossing.
        let mut mapped: Vec<(usize, Vec<u32>)> = Vec::new();
        // (item, written column, places of its row header) when its column header is not
        // in the sheet.
        type Unmapped = (usize, u32, Vec<(u32, u32)>);
        let mut unmapped: Vec<Unmapped> = Vec::new();
        for (idx, item) in items.iter().enumerate().take(10_000) {
            let (ItemKind::Num(tok), Some((i, j))) = (&item.kind, item.at) else {
                continue;
            };
            if !tok.weak || i == 0 || j == 0 {
                continue;
            }
            let row_h = rows
                .get(i as usize)
                .and_then(|r| r.first())
                .and_then(|c| header(c));
            let (Some(rh), Some(Some(ch))) = (row_h, col_hdr.get(j as usize)) else {
                continue;
            };
            let (rp, cp) = (at(rh), at(*ch));
            let mut cells = Vec::new();
            for (r, c0) in &rp {
                // The nearest column header above the row, right of its row header: the
                // table's own header row.
                let above = cp
                    .iter()
                    .filter(|(r2, c)| r2 < r && c > c0)
                    .max_by_key(|(r2, _)| *r2);
                if let Some((_, c)) = above
                    && let Some(id) = self.pos.get(sid, *r, *c)
                {
                    cells.push(id);
                }
            }
            if !cells.is_empty() {
                mapped.push((idx, cells));
            } else if !rp.is_empty() {
                unmapped.push((idx, j, rp));
            }
        }
        // Column headers renamed on the slide (`Q2` for `Apr–Jun 2025`): the written columns
        // keep their order, so the sheet column is the row header's column plus the written
        // one plus one shift for the table, the shift that agrees most (paid ln SHIFTS).
        let mut shift_cost = 0.0;
        if !unmapped.is_empty() {
            let agrees = |id: u32, idx: usize| {
                let (Some(cell), Some(ItemKind::Num(tok))) =
                    (self.cells.get(id as usize), items.get(idx).map(|i| &i.kind))
                else {
                    return false;
                };
                let v = cell.value.abs();
                tok.currency.agrees(Currency::from_byte(cell.cur))
                    && tok.readings.iter().any(|r| r.lo <= v && v <= r.hi)
            };
            let cells_at = |s: u32, j: u32, rp: &[(u32, u32)]| -> Vec<u32> {
                rp.iter()
                    .filter_map(|(r, c0)| self.pos.get(sid, *r, c0 + j + s))
                    .collect()
            };
            let mut best = (0usize, 0u32);
            for s in 0..SHIFTS {
                let n = unmapped
                    .iter()
                    .filter(|(idx, j, rp)| cells_at(s, *j, rp).iter().any(|id| agrees(*id, *idx)))
                    .count();
                if n > best.0 {
                    best = (n, s);
                }
            }
            if best.0 >= 2 {
                shift_cost = f64::from(SHIFTS).ln();
                for (idx, j, rp) in &unmapped {
                    let cells = cells_at(best.1, *j, rp);
                    if !cells.is_empty() {
                        mapped.push((*idx, cells));
                    }
                }
            }
        }
        let m = mapped.len();
        if m < MIN_CELLS {
            return None;
        }
        // The values at the table's crossings: what a written value meets by chance.
        let mut block: Vec<f64> = mapped
            .iter()
            .flat_map(|(_, cs)| cs.iter())
            .filter_map(|id| self.cells.get(*id as usize).map(|c| c.value.abs()))
            .filter(|v| v.is_finite())
            .collect();
        block.sort_unstable_by(f64::total_cmp);
        if block.is_empty() {
            return None;
        }
        let nb = block.len() as f64;
        let mut out = GridMatch::default();
        for (idx, cells) in &mapped {
            let Some(ItemKind::Num(tok)) = items.get(*idx).map(|i| &i.kind) else {
                continue;
            };
            let agree = cells.iter().find_map(|id| {
                let cell = self.cells.get(*id as usize)?;
                if !tok.currency.agrees(Currency::from_byte(cell.cur)) {
                    return None;
                }
                let v = cell.value.abs();
                let r = tok.readings.iter().find(|r| r.lo <= v && v <= r.hi)?;
                Some((*id, r))
            });
            let Some((id, r)) = agree else {
                continue;
            };
            // The block's density around the value, in a window 61 times the interval's
            // width (at least 61 units for an integer), per crossing.
            let (c, w) = ((r.lo + r.hi) / 2.0, (r.hi - r.lo).max(1.0));
            let (lo, hi) = (c - 30.5 * w, c + 30.5 * w);
            let count = |lo: f64, hi: f64| {
                (block.partition_point(|x| *x <= hi) - block.partition_point(|x| *x < lo)) as f64
            };
            let near = count(lo, hi);
            // And the share of the other crossings holding such a value themselves: values
            // that crowd one spot (attrition rates of 0%) are no rarer for a wide window.
            let same = (count(r.lo, r.hi) - 1.0).max(0.0);
            let p_cell = ((near + 0.5) / 61.0).max(same + 0.5) / nb;
            let p = (p_cell * cells.len() as f64).min(1.0);
            out.evidence += (-p.ln()).min(CELL_CAP);
            out.cells.push((id, *idx));
        }
        let k = out.cells.len();
        if k < 2 {
            return None;
        }
        let ln_fact = |n: usize| (2..=n).map(|i| (i as f64).ln()).sum::<f64>();
        out.evidence -= ln_fact(m) - ln_fact(k) - ln_fact(m - k) + shift_cost;
        Some(out)
    }
}
