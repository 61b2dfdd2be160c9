//! Scoring one sheet's matches into a flow: the rarity of each match, header adjacency and
//! crossings (pins), the compactness of the copied block, shared passages, and the
//! look-elsewhere correction, against [`CONFIRM_EVIDENCE`] and [`POSSIBLE_EVIDENCE`]. The
//! model is described in the docs of [`super`].

use super::items::{Item, ItemKind};
use super::lookup::{Hit, SheetHits};
use super::parse::{Currency, NumToken, Reading};
use super::{
    CLUSTER_COLS, CLUSTER_ROWS, CONFIRM_EVIDENCE, Cell, DATE_CAP, Detector, FP_EVIDENCE, FastMap,
    JOINT_PIN_EVIDENCE, LOG_RANGE, PIN_EVIDENCE, POSSIBLE_EVIDENCE, TOKEN_CAP, WEAK_EVIDENCE,
};
use crate::model::{CellAddr, DocumentRef, Flow, FlowStrength, SensitivityMark, WriteContent};

/// Fewest values in one line for their order to count ([`Chain::evidence`]).
const ORDER_MIN: usize = 3;
/// Most evidence their order may give.
const ORDER_CAP: f64 = 12.0;
/// Rarity (nats) under which a table value off the lines of its own headers, which the
/// sheet holds elsewhere, is taken for a coincidence.
const STRAY_EVIDENCE: f64 = 4.6;
/// What one written value costs a flow when its row and column headers cross in the
/// sheet at a number it is not near: ln(1 / 0.1), a copy's chance of such a cell (a
/// recomputed figure, a header the sheet holds twice). A table none of whose headers the
/// sheet holds pays it once.
const CONTRADICTION_EVIDENCE: f64 = 2.3;
/// Relative distance within which a cell is taken for the written value rounded.
const NEAR: f64 = 0.05;
/// Fewest winnowing fingerprints a text cell must share with a write for them to count as
/// a quoted passage (with k = 5, w = 4, about a dozen shared words).
const PASSAGE_MIN_FPS: usize = 3;

/// The cell chosen for one item in `score`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pick {
    /// Rarity evidence.
    ev: f64,
    /// ln(number of candidate cells the item had in the sheet).
    lnh: f64,
    /// 0 number, 1 date (or a value attributed at its header crossing: no rarity, no
    /// compactness), 2 text.
    kind: u8,
    row: u32,
    col: u32,
    /// The written item this cell was chosen for (its place in the write's order);
    /// `usize::MAX` for a cell chosen without an item (a passage's cell).
    item: usize,
}

#[cfg(test)]
impl Pick {
    /// A date or number chosen for `item` at (row, col), for tests of the rules on picks.
    pub(super) fn test(item: usize, row: u32, col: u32) -> Self {
        Pick {
            ev: 3.0,
            lnh: 0.0,
            kind: 1,
            row,
            col,
            item,
        }
    }
}

/// What a sheet's evidence pays before it is compared with the thresholds.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Costs {
    /// ln of the number of candidate sheets (look-elsewhere).
    pub(super) look_elsewhere: f64,
    /// `RELABEL_EVIDENCE` when the currency written contradicts the one the cells show,
    /// paid even by a value pinned at its header crossing.
    pub(super) relabel: f64,
}

impl Detector {
    fn doc_of(&self, sheet: u32) -> Option<&DocumentRef> {
        let info = self.sheets.get(sheet as usize)?;
        self.docs.get(info.doc as usize)
    }

    /// A cell chosen without a rarity of its own (a header crossing, a passage's cell).
    fn pick_at(&self, id: u32, kind: u8) -> Pick {
        let (row, col) = self
            .cells
            .get(id as usize)
            .map_or((0, 0), |c| (c.row, u32::from(c.col)));
        Pick {
            ev: 0.0,
            lnh: 0.0,
            kind,
            row,
            col,
            item: usize::MAX,
        }
    }

    /// Cells of sheet `sid` whose folded text hashes to `label`.
    pub(super) fn label_cells(&self, sid: u32, label: u64) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        self.texts.query(label, label, 4096, |id| {
            if let Some(c) = self.cells.get(id as usize).filter(|c| c.sheet == sid) {
                v.push((c.row, u32::from(c.col)));
            }
        });
        v
    }

    /// Numeric cells of sheet `sid` at the crossings of two written labels (a row header
    /// to its left, a column header above it), in turn, until `f` returns true.
    fn each_crossing(
        &self,
        sid: u32,
        labels: &[u64],
        cache: &mut FastMap<u64, Vec<(u32, u32)>>,
        mut f: impl FnMut(&Cell) -> bool,
    ) -> Option<u32> {
        for la in labels.iter().take(8) {
            for lb in labels.iter().take(8) {
                if la == lb {
                    continue;
                }
                let rows = cache
                    .entry(*la)
                    .or_insert_with(|| self.label_cells(sid, *la))
                    .clone();
                let cols = cache
                    .entry(*lb)
                    .or_insert_with(|| self.label_cells(sid, *lb))
                    .clone();
                for (r, c1) in rows.iter().take(8) {
                    for (r2, c) in cols.iter().take(8) {
                        if c <= c1 || r <= r2 {
                            continue;
                        }
                        let Some(id) = self.pos.get(sid, *r, *c) else {
                            continue;
                        };
                        let hit = self
                            .cells
                            .get(id as usize)
                            .is_some_and(|cl| !cl.value.is_nan() && f(cl));
                        if hit {
                            return Some(id);
                        }
                    }
                }
            }
        }
        None
    }

    /// The cell of sheet `sid` at the crossing of two written labels whose value the
    /// token covers.
    fn crossing(
        &self,
        sid: u32,
        tok: &NumToken,
        labels: &[u64],
        cache: &mut FastMap<u64, Vec<(u32, u32)>>,
    ) -> Option<u32> {
        self.each_crossing(sid, labels, cache, |cl| {
            tok.currency.agrees(Currency::from_byte(cl.cur)) && covers(tok, cl)
        })
    }

    /// Evidence against this sheet from the headers of a written table: how many of its
    /// values have row and column headers that cross here at a number they are not near,
    /// and whether the table has headers none of which the sheet holds. A deck copied
    /// from the sheet keeps its values at their headers and keeps some of its headers; a
    /// same-domain deck that meets the sheet's countries and quarters agrees at a few
    /// crossings by chance and disagrees at the rest, and one of other plans and months
    /// meets a row of round figures without a header in common.
    fn header_contradictions(
        &self,
        sid: u32,
        items: &[Item],
        cache: &mut FastMap<u64, Vec<(u32, u32)>>,
    ) -> (usize, bool) {
        let mut disagree = 0;
        let (mut labelled, mut held) = (false, false);
        for item in items.iter().take(1000) {
            let ItemKind::Num(tok) = &item.kind else {
                continue;
            };
            if item.at.is_none() || item.labels.is_empty() {
                continue;
            }
            labelled = true;
            held = held
                || item.labels.iter().take(8).any(|l| {
                    !cache
                        .entry(*l)
                        .or_insert_with(|| self.label_cells(sid, *l))
                        .is_empty()
                });
            if item.labels.len() < 2 {
                continue;
            }
            let mut met = false;
            let covered = self.each_crossing(sid, &item.labels, cache, |cl| {
                met = true;
                near(tok, cl)
            });
            if covered.is_none() && met {
                disagree += 1;
            }
        }
        (disagree, labelled && !held)
    }

    /// Whether the other strings of a written table row say the row is not sheet row
    /// `row`: none of them is on that row, and one of them is on another row of the
    /// sheet or is a code (a SKU) the sheet does not hold at all. Product descriptions
    /// ("Aluminium gasket small") are combinations of a small vocabulary that two
    /// inventories share; a copied row brings its SKU or its warehouse along, a
    /// coincidence brings another row's.
    fn row_disagrees(
        &self,
        sid: u32,
        (wr, wc): (u32, u32),
        row: u32,
        row_strings: &[(u32, u32, u64, bool)],
        cache: &mut FastMap<u64, Vec<(u32, u32)>>,
    ) -> bool {
        let start = row_strings.partition_point(|x| x.0 < wr);
        let mut elsewhere = false;
        for (_, c, h, code) in row_strings[start..].iter().take_while(|x| x.0 == wr) {
            if *c == wc {
                continue;
            }
            let cells = cache.entry(*h).or_insert_with(|| self.label_cells(sid, *h));
            if cells.iter().any(|(r, _)| *r == row) {
                return false;
            }
            elsewhere |= !cells.is_empty() || *code;
        }
        elsewhere
    }

    pub(super) fn score(
        &self,
        write: &WriteContent,
        location: &str,
        sid: u32,
        items: &[Item],
        hits: &SheetHits,
        cost: Costs,
    ) -> Option<Flow> {
        let Costs {
            look_elsewhere,
            relabel: relabel_cost,
        } = cost;
        let grid = hits.grid.as_ref();
        let info = self.sheets.get(sid as usize)?;
        let source = self.doc_of(sid)?;

        let sheet_nums = f64::from(info.nums.max(1));
        let sheet_dates = f64::from(info.dates.max(1));
        let area = (f64::from(info.max_row) + 1.0) * (f64::from(info.max_col) + 1.0);
        let width = f64::from(info.max_col) + 1.0;
        let height = f64::from(info.max_row) + 1.0;
        let mut label_cache: FastMap<u64, Vec<(u32, u32)>> = FastMap::default();

        // Anchor: the coarse block (16 rows x 8 columns) hit by the most distinct items, so
        // items with several candidate cells pick the one inside the copied block.
        let mut votes: FastMap<(u32, u32), (u32, u64, u64, u64)> = FastMap::default();
        let mut seen: Vec<(u32, u32)> = Vec::new();
        for (_, hs, _) in &hits.items {
            seen.clear();
            for c in hs {
                let key = (c.row / 16, c.col / 8);
                let v = votes.entry(key).or_default();
                if !seen.contains(&key) {
                    seen.push(key);
                    v.0 += 1;
                }
                v.1 += u64::from(c.row);
                v.2 += u64::from(c.col);
                v.3 += 1;
            }
        }
        let best_block = votes
            .iter()
            .max_by(|x, y| x.1.0.cmp(&y.1.0).then(y.0.cmp(x.0)))
            .map(|(_, v)| *v);
        let (ar, ac) = match best_block {
            Some((_, sr, sc, n)) if n > 0 => ((sr / n) as u32, (sc / n) as u32),
            _ => (0, 0),
        };

        // Per item: the chosen cell, its rarity evidence and how many candidates it had.
        // A value at the crossing of its written row and column headers.
        let mut pinned = false;
        // Values written at their header crossings: (cell, -ln chance there, places holding
        // those headers). Several of them in one sheet pin the source jointly.
        let mut crossings: Vec<(u32, f64, f64, u32, Option<u64>)> = Vec::new();
        let mut chosen: FastMap<u32, Pick> = FastMap::default();
        // Every candidate cell of a number or date (not only the chosen one), for the order
        // of the write along one line of the sheet.
        let mut cands: Vec<(u32, Pick)> = Vec::new();
        // Candidates of values written in text beside their own row header (and no column
        // header), in that header's row: for the one-column rule below.
        let mut beside_headers: Vec<(u32, Pick)> = Vec::new();
        // The distinctive strings of each written table row (row, column, hash, whether a
        // code), sorted by row: a name matched on a sheet row is checked against the rest
        // of its written row.
        let mut row_strings: Vec<(u32, u32, u64, bool)> = items
            .iter()
            .filter_map(|it| match (&it.kind, it.at) {
                (ItemKind::Text { hash, code, .. }, Some((r, c))) => Some((r, c, *hash, *code)),
                _ => None,
            })
            .collect();
        row_strings.sort_unstable();
        for (idx, hs, wide) in &hits.items {
            let Some(item) = items.get(*idx) else {
                continue;
            };
            let (p_cell, sheet_n, cap) = match &item.kind {
                ItemKind::Num(tok) => {
                    let p_model: f64 = tok.readings.iter().map(reading_p).sum();
                    // `wide` holds the empirical densities measured in `collect`: the
                    // sheet's own near this value (percentages crowd 0..1, amounts crowd
                    // their band) and the whole index's.
                    (p_model.max(*wide), sheet_nums, TOKEN_CAP)
                }
                ItemKind::Date(s) => (s.len() as f64 / 10_950.0, sheet_dates, DATE_CAP),
                ItemKind::Text { evidence, .. } => ((-evidence).exp(), 1.0, TOKEN_CAP),
            };
            let base = -(p_cell * sheet_n).min(1.0).ln();
            // A written round figure ("5,500,000", "11.70 %") may meet round cells, each
            // priced at its own rounding (`round_p`). Only then are its cells read: a
            // figure that is not round has no round cell within its interval.
            let round = match &item.kind {
                ItemKind::Num(tok) => tok
                    .readings
                    .iter()
                    .any(|r| round_p((r.lo + r.hi) / 2.0) > reading_p(r)),
                _ => false,
            };
            let lnh = (hs.len() as f64).ln();
            let kind = match item.kind {
                ItemKind::Num(_) => 0u8,
                ItemKind::Date(_) => 1,
                ItemKind::Text { .. } => 2,
            };
            // Header adjacency: a written label equal to a text cell left of the candidate in
            // its row, or above it in its column.
            let mut best: Option<(Hit, f64, u32)> = None; // (cell, evidence, distance)
            let mut crossing: Option<(u32, f64, f64, u32, Option<u64>)> = None;
            for c in hs {
                let (id, row, col) = (&c.id, c.row, c.col);
                let p_round = match self.cells.get(*id as usize).filter(|_| round) {
                    Some(cell) => round_p(cell.value),
                    None => 0.0,
                };
                let (p_cell, base) = if p_round > p_cell {
                    (p_round, -(p_round * sheet_n).min(1.0).ln())
                } else {
                    (p_cell, base)
                };
                let mut hdr = 0u32;
                let mut line = 1.0f64;
                // How many places in the whole index hold the matched row / column labels:
                // a pair of labels found in one sheet pins the value; the same pair on forty
                // look-alike sheets pins much less.
                let (mut row_n, mut col_n) = (usize::MAX, usize::MAX);
                // A table cell's header that this sheet holds, but not in line with the
                // candidate: a copy keeps a value beside its own headers, so a common value
                // there is a coincidence (a same-domain deck has the sheet's row and column
                // names and values of the same range, which otherwise match all over the
                // table).
                let mut stray = false;
                let mut held_text = false;
                if !matches!(item.kind, ItemKind::Text { .. }) {
                    for l in &item.labels {
                        let cells = label_cache
                            .entry(*l)
                            .or_insert_with(|| self.label_cells(sid, *l));
                        let global = || self.texts.query(*l, *l, 0, |_| {});
                        let in_row = cells.iter().any(|(r, cc)| *r == row && *cc < col);
                        let in_col = cells.iter().any(|(r, cc)| *cc == col && *r < row);
                        if in_row {
                            hdr |= 1;
                            row_n = row_n.min(global());
                        }
                        if in_col {
                            hdr |= 2;
                            col_n = col_n.min(global());
                        }
                        stray |= item.at.is_some() && !cells.is_empty() && !in_row && !in_col;
                        held_text |= item.at.is_none() && !cells.is_empty();
                    }
                    // A value in a line of text that names a row or column of this sheet,
                    // but lands in line with none of them ("Thailand — 11m users" on
                    // Egypt's row), is a coincidence the same way.
                    stray |= held_text && hdr == 0;
                    line = match hdr {
                        1 => width,
                        2 => height,
                        3 => 1.0,
                        _ => 0.0,
                    };
                }
                // A value rare enough on its own (under 1% of such a value anywhere in
                // the sheet by chance) is no coincidence even off its line: a subset
                // written under the wrong header.
                if stray && base < STRAY_EVIDENCE {
                    continue;
                }
                if let (ItemKind::Text { .. }, Some(at)) = (&item.kind, item.at)
                    && self.row_disagrees(sid, at, row, &row_strings, &mut label_cache)
                {
                    continue;
                }
                let mut ev = base;
                if hdr != 0 {
                    let p = (p_cell * line * hs.len().min(4) as f64).min(1.0);
                    ev = ev.max(-p.ln());
                }
                let ev = ev.min(cap);
                if kind < 2 {
                    let pick = Pick {
                        ev,
                        lnh,
                        kind,
                        row,
                        col,
                        item: *idx,
                    };
                    cands.push((*id, pick));
                    if hdr == 1 && item.at.is_none() {
                        beside_headers.push((*id, pick));
                    }
                }
                if hdr == 3 && matches!(item.kind, ItemKind::Num(_)) {
                    let places = row_n.min(col_n).max(1) as f64;
                    if -(p_cell * places).ln() >= PIN_EVIDENCE {
                        pinned = true;
                    }
                    crossing = Some((*id, -p_cell.max(1e-300).ln(), places, row, value_key(item)));
                }
                let dist = row.abs_diff(ar) + col.abs_diff(ac);
                let better = match best {
                    None => true,
                    Some((_, bev, bd)) => ev > bev + 1e-9 || (ev >= bev - 1e-9 && dist < bd),
                };
                if better {
                    best = Some((*c, ev, dist));
                }
            }
            crossings.extend(crossing);
            if let Some((c, ev, _)) = best {
                let pick = |ev| Pick {
                    ev,
                    lnh,
                    kind,
                    row: c.row,
                    col: c.col,
                    item: *idx,
                };
                let e = chosen.entry(c.id).or_insert(pick(0.0));
                if ev > e.ev {
                    *e = pick(ev);
                }
            }
        }
        let column = one_column(&mut chosen, &mut beside_headers);
        // Values too common to enumerate (a 2-significant-figure amount in a big index) are
        // still attributed when both their written headers cross in this sheet. They add
        // no evidence (kind 1: no rarity, no compactness), only the right cells.
        if !chosen.is_empty() {
            let mut present: Vec<usize> = hits.items.iter().map(|x| x.0).collect();
            present.sort_unstable();
            for (idx, item) in items.iter().enumerate().take(1000) {
                let ItemKind::Num(tok) = &item.kind else {
                    continue;
                };
                if tok.weak || item.labels.len() < 2 || present.binary_search(&idx).is_ok() {
                    continue;
                }
                if let Some(id) = self.crossing(sid, tok, &item.labels, &mut label_cache) {
                    chosen.entry(id).or_insert_with(|| Pick {
                        item: idx,
                        ..self.pick_at(id, 1)
                    });
                }
            }
        }
        // A name that is the row or column header of a matched value was a label: it is
        // evidence (the header came from this sheet too) but not a separate value.
        let value_cells: Vec<(u32, u32)> = chosen
            .values()
            .filter(|v| v.kind == 0)
            .map(|v| (v.row, v.col))
            .collect();
        let mut label_evidence = 0.0;
        chosen.retain(|_, v| {
            let (r, cc) = (v.row, v.col);
            let is_label = v.kind == 2
                && value_cells
                    .iter()
                    .any(|(vr, vc)| (*vr == r && *vc > cc) || (*vc == cc && *vr > r));
            if is_label {
                label_evidence += v.ev;
            }
            !is_label
        });
        // Passages: fingerprints shared with text cells of this sheet, counted per cell. A
        // cell sharing fewer than `PASSAGE_MIN_FPS` of them shares a phrase, not a
        // passage: notes written from one template (`... for the last quarter are
        // preliminary until ...`) share a few fingerprints across workbooks, and a short
        // title shares its only two. A cell that also matched as a whole string counts its
        // larger evidence once: the string and its fingerprints are one observation.
        let mut shared: Vec<(u32, u64)> = hits.fps.iter().map(|(f, id)| (*id, *f)).collect();
        shared.sort_unstable();
        shared.dedup();
        let mut fp_evidence = 0.0;
        for group in shared.chunk_by(|a, b| a.0 == b.0) {
            let Some((id, _)) = group.first() else {
                continue;
            };
            if group.len() < PASSAGE_MIN_FPS {
                continue;
            }
            let as_string = chosen.get(id).filter(|p| p.kind == 2).map_or(0.0, |p| p.ev);
            fp_evidence += (group.len() as f64 * FP_EVIDENCE - as_string).max(0.0);
            chosen.entry(*id).or_insert_with(|| self.pick_at(*id, 2));
        }
        let fp_evidence = fp_evidence.min(40.0);
        if chosen.is_empty() && grid.is_none() {
            return None;
        }
        // Weak coincidental matches far from the copied block are noise, not cells of the
        // flow: a value with no rarity of its own only counts near the anchor.
        let near_anchor =
            |v: &Pick| v.row.abs_diff(ar) <= CLUSTER_ROWS && v.col.abs_diff(ac) <= CLUSTER_COLS;
        chosen.retain(|_, v| v.kind == 2 || v.ev >= WEAK_EVIDENCE || near_anchor(v));
        // The write's values in the order of one line of the sheet take the cells of that
        // line: a date written twice takes both rows holding it, a date the column also
        // holds elsewhere takes the row that keeps the order.
        // Values attributed at their header crossings have no candidates of their own.
        cands.extend(
            chosen
                .iter()
                .filter(|(_, v)| v.kind < 2 && v.item != usize::MAX)
                .map(|(id, v)| (*id, *v)),
        );
        let chain = self.order_chain(&cands, items, ar, ac);
        if let Some(ch) = &chain {
            chosen.retain(|_, v| !ch.picks.iter().any(|p| p.1.item == v.item));
            for (id, p, _) in &ch.picks {
                chosen.insert(*id, *p);
            }
        }
        let table_in_order = grid_shape(&mut chosen, items);
        let mut evidence: f64 =
            chosen.values().map(|v| v.ev).sum::<f64>() + fp_evidence + label_evidence
                - column_choice(&chosen, items);
        if let Some((col, members)) = &column {
            evidence += one_column_evidence(&chosen, *col, members, width);
        }
        evidence -= repeated_values(&chosen, items);
        // Compactness: k cells landing in a small block of a big sheet by chance is unlikely.
        // Only plain numbers: dates are sorted and clustered in any ledger, text is rare
        // enough on its own.
        let mut numeric: Vec<(u32, &Pick)> = chosen
            .iter()
            .filter(|(_, v)| v.kind == 0 && near_anchor(v))
            .filter(|(_, v)| table_in_order || items.get(v.item).is_none_or(|i| i.at.is_none()))
            .map(|(id, v)| (*id, v))
            .collect();
        // In cell order, so the cell that places the block (and the sum) does not depend
        // on the map's iteration order.
        numeric.sort_unstable_by_key(|(id, _)| *id);
        if numeric.len() >= 2 {
            let (mut r0, mut r1, mut c0, mut c1) = (u32::MAX, 0, u32::MAX, 0);
            for (_, c) in &numeric {
                r0 = r0.min(c.row);
                r1 = r1.max(c.row);
                c0 = c0.min(c.col);
                c1 = c1.max(c.col);
            }
            let boxa =
                (f64::from(r1.saturating_sub(r0)) + 1.0) * (f64::from(c1.saturating_sub(c0)) + 1.0);
            let gain = (area / boxa).ln();
            let mut bonus = 0.0;
            for (i, (_, c)) in numeric.iter().enumerate() {
                if i == 0 {
                    continue; // the first cell places the block
                }
                bonus += (gain - c.lnh).clamp(0.0, 4.0);
            }
            evidence += bonus.min(30.0);
        }
        if let Some(ch) = &chain {
            evidence += ch.evidence(self, &chosen);
        }
        // Small integers agreeing at their header crossings (`grid`): their cells join the
        // flow without rarity or compactness of their own.
        if let Some(g) = grid {
            evidence += g.evidence;
            for (id, item) in &g.cells {
                chosen.entry(*id).or_insert_with(|| Pick {
                    item: *item,
                    ..self.pick_at(*id, 1)
                });
            }
        }
        evidence -= look_elsewhere;
        // A value written again and again along a row ("5,500,000" for three quarters)
        // that meets a row of the sheet holding it again and again is one coincidence,
        // not three: a planning workbook's round figures repeat across quarters in every
        // same-domain workbook.
        crossings.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen_rows: Vec<(u32, u64)> = Vec::new();
        let mut crossings: Vec<(u32, f64, f64)> = crossings
            .into_iter()
            .filter(|c| match c.4 {
                Some(key) if seen_rows.contains(&(c.3, key)) => false,
                Some(key) => {
                    seen_rows.push((c.3, key));
                    true
                }
                None => true,
            })
            .map(|c| (c.0, c.1, c.2))
            .collect();
        if joint_pin(&mut crossings) {
            pinned = true;
        }
        if pinned {
            evidence = evidence.max(CONFIRM_EVIDENCE);
        }
        // After the pins: a relabelled currency is paid for however the source was pinned.
        evidence -= relabel_cost;
        // And so is each written value that its own headers contradict here, and a table
        // none of whose headers the sheet holds (a copy seldom renames every one).
        // Only subtracts: not asked of a sheet already under the bar.
        if evidence >= POSSIBLE_EVIDENCE {
            let (disagree, headers_absent) =
                self.header_contradictions(sid, items, &mut label_cache);
            evidence -= disagree as f64 * CONTRADICTION_EVIDENCE;
            if headers_absent {
                evidence -= CONTRADICTION_EVIDENCE;
            }
        }
        if evidence < POSSIBLE_EVIDENCE {
            return None;
        }
        let strength = if evidence >= CONFIRM_EVIDENCE {
            FlowStrength::Confirmed
        } else {
            FlowStrength::Possible
        };
        let mut cells: Vec<CellAddr> = chosen
            .values()
            .map(|v| CellAddr::new(v.row, v.col))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        Some(Flow {
            source: source.clone(),
            sheet: info.name.clone(),
            matched: cells.len(),
            cells,
            target: write.target.clone(),
            location: location.to_string(),
            confidence: 1.0 - (-evidence / 4.0).exp(),
            strength,
            sensitivity: SensitivityMark::default(),
            explicit: false,
            joined_writes: Vec::new(),
        })
    }
}

/// A run of the write's values along one line of the sheet (a column, or a row for a
/// transposed copy), in the write's order.
struct Chain {
    /// (cell, pick, the cell's value), in the write's order.
    picks: Vec<(u32, Pick, f64)>,
    /// Written values with a candidate cell on the line: the run is a choice among them.
    n: usize,
    /// Whether the line is a row of the sheet (a transposed copy) rather than a column.
    across: bool,
    /// Whether the sheet's line is itself sorted by value around the run: then any write
    /// sorted the same way lines up with it, and order is no evidence. Read from the sheet
    /// only when the run's values are monotone (the only case it decides), and then once:
    /// it is up to a hundred lookups of cells by position.
    line_sorted: std::cell::Cell<Option<bool>>,
}

impl Chain {
    fn line_sorted(&self, det: &Detector) -> bool {
        if let Some(sorted) = self.line_sorted.get() {
            return sorted;
        }
        let sorted = det.line_sorted(&self.picks, self.across);
        self.line_sorted.set(Some(sorted));
        sorted
    }

    /// Structure as evidence: k values each common (a date, a rounded count) whose cells
    /// line up in the write's order have a chance of about 2/k! under coincidence (either
    /// direction), so they earn ln(k!/2), less ln of the candidate cells each had and
    /// ln C(n, k) for choosing the k among the line's n. Only the values still chosen at
    /// their cells count (the table-shape rule may have dropped some), and values that
    /// are monotone in the write's order earn nothing when the sheet's line is sorted over
    /// their span: a column sorted by value lines up with any write sorted the same way.
    /// Where the column is not sorted (renewal dates down a customer list), dates written
    /// in ascending order that fall in the column's own order are still its order.
    fn evidence(&self, det: &Detector, chosen: &FastMap<u32, Pick>) -> f64 {
        let kept: Vec<&(u32, Pick, f64)> = self
            .picks
            .iter()
            .filter(|(id, p, _)| chosen.get(id).is_some_and(|c| c.item == p.item))
            .collect();
        let k = kept.len();
        if k < ORDER_MIN {
            return 0.0;
        }
        let values_monotone =
            kept.windows(2).all(|w| w[0].2 <= w[1].2) || kept.windows(2).all(|w| w[0].2 >= w[1].2);
        if values_monotone && self.line_sorted(det) {
            return 0.0;
        }
        let ln_fact = |n: usize| (2..=n).map(|i| (i as f64).ln()).sum::<f64>();
        let n = self.n.max(k);
        let choice: f64 = kept.iter().map(|x| x.1.lnh).sum();
        let subset = ln_fact(n) - ln_fact(k) - ln_fact(n - k);
        (ln_fact(k) - std::f64::consts::LN_2 - choice - subset).clamp(0.0, ORDER_CAP)
    }
}

impl Detector {
    /// The longest run of the write's numbers and dates, in the write's order, whose
    /// candidate cells rise (or fall) strictly along one line of the sheet near the anchor,
    /// each value at one of its candidate cells; the run with the most evidence
    /// ([`Chain::evidence`]), if it has any.
    fn order_chain(
        &self,
        cands: &[(u32, Pick)],
        items: &[Item],
        ar: u32,
        ac: u32,
    ) -> Option<Chain> {
        let near =
            |v: &Pick| v.row.abs_diff(ar) <= CLUSTER_ROWS && v.col.abs_diff(ac) <= CLUSTER_COLS;
        // (transposed, column or row, written line) -> (item, place along the line, cell,
        // pick). A table's values run along one written row or column: values of other
        // written lines that happen to match on this line are no part of the run.
        type Placed = (usize, u32, u32, Pick);
        // One flat buffer, grouped by line after: a map of small vectors cost an allocation
        // per line and was most of this function. Each value is filed under its line's key
        // packed with its place in the buffer into one integer (order-preserving, so the
        // lines come in the order of their keys and each line's values in the order they
        // were pushed: each line below is exactly the vector the map held), and sorting
        // plain integers is several times cheaper than sorting the tuples.
        let mut placed: Vec<Placed> = Vec::new();
        let mut order: Vec<u128> = Vec::new();
        for (id, v) in cands {
            if v.kind > 1 || !near(v) {
                continue;
            }
            let written: [Option<(bool, u32)>; 2] = match items.get(v.item).and_then(|i| i.at) {
                Some((i, j)) => [Some((false, i)), Some((true, j))],
                None => [None, None],
            };
            for w in written
                .iter()
                .take(if written[0].is_some() { 2 } else { 1 })
            {
                for (key, place) in [((false, v.col, *w), v.row), ((true, v.row, *w), v.col)] {
                    order.push((line_code(key) << 32) | placed.len() as u128);
                    placed.push((v.item, place, *id, *v));
                }
            }
        }
        order.sort_unstable();
        let mut best: Option<(f64, Chain)> = None;
        let mut line: Vec<Placed> = Vec::new();
        for group in order.chunk_by(|a, b| a >> 32 == b >> 32) {
            let Some(first) = group.first() else {
                continue;
            };
            let across = (first >> 98) & 1 == 1;
            line.clear();
            line.extend(
                group
                    .iter()
                    .filter_map(|x| placed.get((x & 0xFFFF_FFFF) as usize)),
            );
            line.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            line.dedup_by_key(|x| (x.0, x.1));
            let mut items: Vec<usize> = line.iter().map(|x| x.0).collect();
            items.dedup();
            if items.len() < ORDER_MIN {
                continue;
            }
            for falling in [false, true] {
                let run = longest_run(&line, falling);
                if run.len() < ORDER_MIN {
                    continue;
                }
                let picks: Vec<(u32, Pick, f64)> = run
                    .iter()
                    .filter_map(|&i| line.get(i))
                    .map(|x| {
                        let value = self.cells.get(x.2 as usize).map_or(f64::NAN, |c| c.value);
                        (x.2, x.3, value)
                    })
                    .collect();
                let chain = Chain {
                    picks,
                    n: items.len(),
                    across,
                    line_sorted: std::cell::Cell::new(None),
                };
                let all: FastMap<u32, Pick> = chain.picks.iter().map(|x| (x.0, x.1)).collect();
                let ev = chain.evidence(self, &all);
                if ev > 0.0 && best.as_ref().is_none_or(|b| ev > b.0) {
                    best = Some((ev, chain));
                }
            }
        }
        best.map(|b| b.1)
    }
}

impl Detector {
    /// Whether the sheet's values along the run's line (a column; a row when `across`),
    /// around its first and last cell (a cluster window beyond each), are sorted one way.
    /// Only cells holding numbers or dates count; this reads at most a few hundred cells.
    fn line_sorted(&self, picks: &[(u32, Pick, f64)], across: bool) -> bool {
        let (Some(first), Some(last)) = (picks.first(), picks.last()) else {
            return true;
        };
        let Some(sheet) = self.cells.get(first.0 as usize).map(|c| c.sheet) else {
            return true;
        };
        let place = |p: &Pick| if across { p.col } else { p.row };
        let (lo, hi) = {
            let (a, b) = (place(&first.1), place(&last.1));
            (a.min(b), a.max(b))
        };
        let fixed = if across { first.1.row } else { first.1.col };
        // The neighbourhood of the run, not only its span: five rows that happen to rise
        // are sorted over their own span by definition; a ledger is sorted around them.
        let (lo, hi) = (
            lo.saturating_sub(CLUSTER_ROWS),
            hi.min(lo.saturating_add(2 * CLUSTER_ROWS))
                .saturating_add(CLUSTER_ROWS),
        );
        let values: Vec<f64> = (lo..=hi)
            .filter_map(|p| {
                let (r, c) = if across { (fixed, p) } else { (p, fixed) };
                let id = self.pos.get(sheet, r, c)?;
                self.cells
                    .get(id as usize)
                    .map(|c| c.value)
                    .filter(|v| v.is_finite())
            })
            .collect();
        values.windows(2).all(|w| w[0] <= w[1]) || values.windows(2).all(|w| w[0] >= w[1])
    }
}

/// A line of `order_chain` (transposed, column or row, written line) as an integer of 67
/// bits ordered as the tuple is (`None` before any written line).
fn line_code((across, at, written): (bool, u32, Option<(bool, u32)>)) -> u128 {
    let written = match written {
        None => 0,
        Some((cols, k)) => (1 << 33) | (u128::from(cols) << 32) | u128::from(k),
    };
    (u128::from(across) << 66) | (u128::from(at) << 34) | written
}

/// Indices into `line` (sorted by item, then place) of a longest run with items and places
/// both strictly rising (or places falling): at most one place per item.
fn longest_run(line: &[(usize, u32, u32, Pick)], falling: bool) -> Vec<usize> {
    // Within one item, visit places against the direction of the run, so that a strictly
    // monotone run can take only one of them.
    let mut order: Vec<usize> = (0..line.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&line[a], &line[b]);
        let by_place = if falling {
            x.1.cmp(&y.1)
        } else {
            y.1.cmp(&x.1)
        };
        x.0.cmp(&y.0).then(by_place)
    });
    let key = |i: usize| -> i64 {
        let p = i64::from(line[i].1);
        if falling { -p } else { p }
    };
    // Patience sorting: tails[l] is the index ending the best run of length l + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; line.len()];
    for &i in &order {
        let k = key(i);
        let at = tails.partition_point(|&t| key(t) < k);
        prev[i] = at.checked_sub(1).and_then(|a| tails.get(a).copied());
        if at == tails.len() {
            tails.push(i);
        } else {
            tails[at] = i;
        }
    }
    let mut run = Vec::new();
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        run.push(i);
        cur = prev[i];
    }
    run.reverse();
    // Of the runs that long, the tightest: each value takes its candidate closest to the
    // next one's (a date the column also holds far above stays in the copied block).
    let ahead = |a: u32, b: u32| if falling { a > b } else { a < b };
    for at in (0..run.len().saturating_sub(1)).rev() {
        let (Some(&cur), Some(&next)) = (run.get(at), run.get(at + 1)) else {
            continue;
        };
        let (item, limit) = (line[cur].0, line[next].1);
        let mut pick = cur;
        for (j, x) in line.iter().enumerate() {
            if x.0 == item && ahead(x.1, limit) && ahead(line[pick].1, x.1) {
                pick = j;
            }
        }
        if let Some(slot) = run.get_mut(at) {
            *slot = pick;
        }
    }
    run
}

/// The written table's shape against the cells chosen for its values. A copied table keeps
/// it: the values of one written row sit in one row of the sheet (one column, transposed)
/// and those of one written column in one column. Each written row and column is mapped to
/// the sheet line most of its values chose, in whichever orientation keeps more values;
/// values off their line are coincidences (a same-domain deck matches values of the same
/// range all over a dense table) and are dropped. Returns whether the kept values are also
/// in the written order along both axes (either direction): only then does their block
/// count as copied (compactness); scattered or shuffled matches earn nothing for
/// clustering, since a sheet's values of one kind sit together anyway.
fn grid_shape(chosen: &mut FastMap<u32, Pick>, items: &[Item]) -> bool {
    // (cell, written row, written column, sheet row, sheet column)
    let mut placed: Vec<(u32, u32, u32, u32, u32)> = chosen
        .iter()
        .filter_map(|(id, v)| {
            let (i, j) = items.get(v.item)?.at?;
            Some((*id, i, j, v.row, v.col))
        })
        .collect();
    if placed.len() < 2 {
        return true;
    }
    placed.sort_unstable();
    // The sheet line most values of each written line chose (ties: the lowest line).
    fn majority(pairs: &mut [(u32, u32)]) -> FastMap<u32, u32> {
        pairs.sort_unstable();
        let mut best: FastMap<u32, (u32, usize)> = FastMap::default();
        for run in pairs.chunk_by(|a, b| a == b) {
            let Some((w, s)) = run.first() else {
                continue;
            };
            let e = best.entry(*w).or_insert((*s, 0));
            if run.len() > e.1 {
                *e = (*s, run.len());
            }
        }
        best.into_iter().map(|(w, (s, _))| (w, s)).collect()
    }
    // (values kept, transposed, written row -> sheet line, written column -> sheet line)
    type Shape = (usize, bool, FastMap<u32, u32>, FastMap<u32, u32>);
    let mut best: Option<Shape> = None;
    for transposed in [false, true] {
        let at = |p: &(u32, u32, u32, u32, u32)| if transposed { (p.4, p.3) } else { (p.3, p.4) };
        let mut rows: Vec<(u32, u32)> = placed.iter().map(|p| (p.1, at(p).0)).collect();
        let mut cols: Vec<(u32, u32)> = placed.iter().map(|p| (p.2, at(p).1)).collect();
        let (rm, cm) = (majority(&mut rows), majority(&mut cols));
        let kept = placed
            .iter()
            .filter(|p| rm.get(&p.1) == Some(&at(p).0) && cm.get(&p.2) == Some(&at(p).1))
            .count();
        if best.as_ref().is_none_or(|b| kept > b.0) {
            best = Some((kept, transposed, rm, cm));
        }
    }
    let Some((_, transposed, rm, cm)) = best else {
        return true;
    };
    let at = |p: &(u32, u32, u32, u32, u32)| if transposed { (p.4, p.3) } else { (p.3, p.4) };
    let mut kept = Vec::new();
    for p in &placed {
        if rm.get(&p.1) == Some(&at(p).0) && cm.get(&p.2) == Some(&at(p).1) {
            kept.push(*p);
        } else {
            chosen.remove(&p.0);
        }
    }
    // In order: the sheet lines of the written lines rise (or fall) with them.
    let monotone = |m: &FastMap<u32, u32>| {
        let mut v: Vec<(u32, u32)> = m.iter().map(|(w, s)| (*w, *s)).collect();
        v.sort_unstable();
        v.windows(2).all(|w| w[0].1 < w[1].1) || v.windows(2).all(|w| w[0].1 > w[1].1)
    };
    kept.len() >= 2 && monotone(&rm) && monotone(&cm)
}

/// The choice among a written table's values: k of a column's n values matching this sheet
/// could be any k of them, so their summed rarity is paid ln C(n, k) (nothing when the
/// whole column matched). A same-domain deck matches a few of many values by chance; a copy
/// matches them all.
pub(super) fn column_choice(chosen: &FastMap<u32, Pick>, items: &[Item]) -> f64 {
    // (written column, the pick's rarity evidence)
    let mut matched: Vec<(u32, f64)> = chosen
        .values()
        .filter_map(|v| Some((items.get(v.item)?.at?.1, v.ev)))
        .collect();
    if matched.is_empty() {
        return 0.0;
    }
    matched.sort_unstable_by_key(|m| m.0);
    let mut written: FastMap<u32, u32> = FastMap::default();
    for item in items.iter().take(100_000) {
        let counts = match &item.kind {
            ItemKind::Num(t) => !t.weak,
            ItemKind::Date(_) => true,
            ItemKind::Text { evidence, .. } => *evidence > 0.0,
        };
        if let (true, Some((_, j))) = (counts, item.at) {
            *written.entry(j).or_default() += 1;
        }
    }
    let ln_fact = |n: u32| (2..=n).map(|i| f64::from(i).ln()).sum::<f64>();
    matched
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            let k = run.len() as u32;
            let n = run
                .first()
                .and_then(|(j, _)| written.get(j))
                .copied()
                .unwrap_or(k)
                .max(k);
            // The choice corrects the rarity summed over the chosen values, so it takes
            // at most that: values with no rarity of their own (3 significant figures in
            // a big sheet) owe nothing for which of them matched, and a copied 20 x 10
            // block of them, 177 of 200 matching, paid 54 nats for 5 of rarity and gave no
            // flow at all.
            let rarity: f64 = run.iter().map(|(_, ev)| ev).sum();
            (ln_fact(n) - ln_fact(k) - ln_fact(n - k)).min(rarity)
        })
        .sum()
}

/// Whether two or more values, each at the crossing of its own written row and column
/// headers (distinct cells), are jointly too unlikely to be coincidence: the sum of their
/// rarities, less ln(places holding such headers) and ln(count) for choosing them, must
/// clear [`JOINT_PIN_EVIDENCE`].
fn joint_pin(crossings: &mut Vec<(u32, f64, f64)>) -> bool {
    crossings.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    crossings.dedup_by_key(|c| c.0);
    if crossings.len() < 2 {
        return false;
    }
    let places = crossings.iter().map(|c| c.2).fold(1.0f64, f64::max);
    let total: f64 = crossings.iter().map(|c| c.1.min(TOKEN_CAP)).sum();
    total - places.ln() - (crossings.len() as f64).ln() >= JOINT_PIN_EVIDENCE
}

/// One column for the values written beside their row headers ("Germany: 5.5 million",
/// one line a country). Each such value was priced as if any cell of its header's row
/// could hold it (a sheet's quarters of one country are often within a few percent of
/// each other, so a rounded count matches two or three of them), and each picked its
/// cell alone, so a copy of one column came out spread over its neighbours and earned
/// nothing for being one column. The column holding candidates of the most such values
/// (at least [`ORDER_MIN`]) takes them all: the values with a candidate there move to it
/// (ties: the column most of them had already chosen, then the leftmost). Returns the
/// column and the items moved, for [`one_column_evidence`].
fn one_column(
    chosen: &mut FastMap<u32, Pick>,
    beside: &mut [(u32, Pick)],
) -> Option<(u32, Vec<usize>)> {
    if beside.len() < ORDER_MIN {
        return None;
    }
    beside.sort_unstable_by_key(|(_, p)| (p.col, p.item));
    let mut best: Option<(usize, usize, u32)> = None; // (items, already chosen there, column)
    for group in beside.chunk_by(|a, b| a.1.col == b.1.col) {
        let Some((_, first)) = group.first() else {
            continue;
        };
        let mut items: Vec<usize> = group.iter().map(|(_, p)| p.item).collect();
        items.dedup();
        let there = group
            .iter()
            .filter(|(id, p)| chosen.get(id).is_some_and(|c| c.item == p.item))
            .count();
        let better = match best {
            None => true,
            Some((n, t, _)) => items.len() > n || (items.len() == n && there > t),
        };
        if better {
            best = Some((items.len(), there, first.col));
        }
    }
    let (n, _, col) = best?;
    if n < ORDER_MIN {
        return None;
    }
    let mut members = Vec::new();
    for (id, p) in beside.iter().filter(|(_, p)| p.col == col) {
        if members.contains(&p.item) {
            continue;
        }
        // The value leaves the cell it had chosen, keeping its evidence (the same header
        // rule priced every candidate of its row alike).
        let ev = chosen
            .iter()
            .find(|(_, c)| c.item == p.item)
            .map_or(p.ev, |(_, c)| c.ev.max(p.ev));
        if chosen
            .get(id)
            .is_some_and(|other| other.item != p.item && other.ev >= ev)
        {
            continue; // the cell is another value's, with more evidence
        }
        chosen.retain(|_, c| c.item != p.item);
        chosen.insert(*id, Pick { ev, ..*p });
        members.push(p.item);
    }
    Some((col, members))
}

/// What one column adds: k values each priced as "somewhere in its header's row" (a
/// chance of about p x the sheet's width) that all sit in one column have a joint chance
/// of width x the product of their p, not width^k x it, so they earn (k - 1) ln(width).
/// Counted over the values still chosen in the column after the other rules, at most
/// [`TOKEN_CAP`].
fn one_column_evidence(
    chosen: &FastMap<u32, Pick>,
    col: u32,
    members: &[usize],
    width: f64,
) -> f64 {
    let mut kept: Vec<usize> = chosen
        .values()
        .filter(|p| p.col == col && members.contains(&p.item))
        .map(|p| p.item)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    if kept.len() < ORDER_MIN {
        return 0.0;
    }
    ((kept.len() - 1) as f64 * width.max(1.0).ln()).min(TOKEN_CAP)
}

/// The value of a written number as a key (its first reading), for telling repeats of one
/// value apart from other values; `None` for dates and text.
fn value_key(item: &Item) -> Option<u64> {
    match &item.kind {
        ItemKind::Num(tok) => tok
            .readings
            .first()
            .map(|r| r.lo.to_bits() ^ r.hi.to_bits().rotate_left(32)),
        _ => None,
    }
}

/// The evidence of numbers that repeat one written value on a sheet row already holding
/// it for another of them: the first counts, the repeats are the same coincidence again
/// (a planning sheet's "5,500,000" for three quarters of one country matches a deck's
/// three quarters of "5,500,000" once, not three times).
fn repeated_values(chosen: &FastMap<u32, Pick>, items: &[Item]) -> f64 {
    let mut numbers: Vec<(u32, u64, f64)> = chosen
        .values()
        .filter(|p| p.kind == 0)
        .filter_map(|p| Some((p.row, value_key(items.get(p.item)?)?, p.ev)))
        .collect();
    numbers.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
    numbers
        .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .map(|run| run.iter().skip(1).map(|x| x.2).sum::<f64>())
        .sum()
}

/// Whether one of the token's readings covers the cell's value (sign aside).
fn covers(tok: &NumToken, cell: &Cell) -> bool {
    let v = cell.value.abs();
    tok.readings.iter().any(|rd| rd.lo <= v && v <= rd.hi)
}

/// Whether the cell's value is within [`NEAR`] of one of the token's readings: a
/// figure rounded further than it shows ("340k" for 342,270) is no contradiction.
fn near(tok: &NumToken, cell: &Cell) -> bool {
    let v = cell.value.abs();
    tok.readings.iter().any(|rd| {
        let mid = (rd.lo + rd.hi) / 2.0;
        rd.lo <= v && v <= rd.hi || (v - mid).abs() <= NEAR * mid.abs()
    })
}

/// Prior chance that a cell holds the round value `v` by coincidence: a whole multiple of
/// 10^k is as likely as any value within 10^k / 2 of it. Round figures are
/// over-represented in what people keep (a plan's users "5,500,000", a rate kept as
/// 0.117), so a sheet of them meets a written "5,500,000" or "11.70 %" far more often than
/// the written digits suggest.
pub(super) fn round_p(v: f64) -> f64 {
    let v = v.abs();
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    // Two significant figures at most: a sheet rounded that far is common; a cell that
    // happens to be a multiple of a coarser power (20,000,000) is one of those.
    let mut k = 10f64.powi(v.log10().floor() as i32 - 1);
    for _ in 0..15 {
        let q = v / k;
        if (q - q.round()).abs() <= 1e-6 {
            return reading_p(&Reading {
                lo: (v - k / 2.0).max(0.0),
                hi: v + k / 2.0,
            });
        }
        k /= 10.0;
    }
    0.0
}

/// Prior chance that one cell holds a value in the reading's interval (log-uniform).
pub(super) fn reading_p(r: &Reading) -> f64 {
    let lo = r.lo.max(r.hi * 1e-3).max(1e-12);
    ((r.hi / lo).ln() / LOG_RANGE).clamp(1e-12, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_codes_sort_as_the_lines_they_stand_for() {
        let mut lines = Vec::new();
        for across in [false, true] {
            for at in [0, 1, 7, u32::MAX] {
                for written in [None, Some((false, 0u32)), Some((false, 9)), Some((true, 0))] {
                    lines.push((across, at, written));
                    lines.push((
                        across,
                        at,
                        written.map(|(c, k)| (c, k.saturating_add(u32::MAX / 2))),
                    ));
                }
            }
        }
        for a in &lines {
            for b in &lines {
                assert_eq!(a.cmp(b), line_code(*a).cmp(&line_code(*b)), "{a:?} {b:?}");
            }
        }
        assert!(line_code((true, u32::MAX, Some((true, u32::MAX)))) < 1 << 67);
    }

    #[test]
    fn a_value_repeated_along_a_sheet_row_counts_once() {
        let num = |v: f64| Item {
            kind: ItemKind::Num(super::super::parse::NumToken {
                readings: vec![Reading {
                    lo: v - 50_000.0,
                    hi: v + 50_000.0,
                }],
                sig_digits: 2,
                weak: false,
                currency: super::super::parse::Currency::None,
            }),
            labels: Vec::new(),
            at: None,
        };
        // "5,500,000" for three quarters of one row, "7,500,000" once on that row, and
        // "5,500,000" once on another row.
        let items = vec![num(5.5e6), num(5.5e6), num(5.5e6), num(7.5e6), num(5.5e6)];
        let mut chosen: FastMap<u32, Pick> = FastMap::default();
        for (id, (item, row, col, ev)) in [
            (0, 12, 2, 6.0),
            (1, 12, 3, 5.0),
            (2, 12, 4, 4.0),
            (3, 12, 5, 6.0),
            (4, 16, 2, 6.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut p = Pick::test(item, row, col);
            p.ev = ev;
            p.kind = 0;
            chosen.insert(id as u32, p);
        }
        // The two weaker repeats on row 12 are discounted; the other values are not.
        assert!((repeated_values(&chosen, &items) - 9.0).abs() < 1e-9);
    }

    #[test]
    fn joint_pin_needs_two_distinct_rare_crossings() {
        // One crossing never pins jointly.
        assert!(!joint_pin(&mut vec![(1, 12.0, 1.0)]));
        // Two rare crossings in distinct cells do.
        assert!(joint_pin(&mut vec![(1, 7.0, 1.0), (2, 7.0, 1.0)]));
        // The same cell twice is one crossing.
        assert!(!joint_pin(&mut vec![(1, 7.0, 1.0), (1, 7.0, 1.0)]));
        // Headers shared by many places weaken it.
        assert!(!joint_pin(&mut vec![(1, 7.0, 1e4), (2, 7.0, 1e4)]));
        // Common values (little rarity each) do not pin.
        assert!(!joint_pin(&mut vec![
            (1, 3.0, 1.0),
            (2, 3.0, 1.0),
            (3, 3.0, 1.0)
        ]));
    }
}
