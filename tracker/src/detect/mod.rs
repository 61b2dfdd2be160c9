//! The value index and flow detection.
//!
//! Every cell the agent reads is indexed with its label (document, sheet, cell). Before a
//! write, [`Detector::check`] finds which labelled cells the content carries, even after an
//! agent re-rendered them, and decides how sure it is.
//!
//! Matching: each written token is parsed into the intervals of underlying values that
//! would display as it ([`parse`]); numbers live in sorted runs keyed by their absolute
//! value, so an interval is two binary searches per run. Dates are Excel serials on cells
//! with a date format. Short distinctive strings match exactly after case/space folding;
//! long passages by winnowing fingerprints of word 5-grams.
//!
//! Scoring (why a lone "$4.2M" is not a transfer): each matched token contributes the
//! negative log of the chance that the sheet holds such a value by coincidence. That
//! chance per cell is the largest of three estimates: the width of the token's interval
//! under a log-uniform prior over magnitudes, the density of the whole index in that
//! interval, and the sheet's own density in a window 61 times wider (percentages crowd
//! 0..1, amounts crowd their band; without this, same-domain decks confirm by accident).
//! A token beside its row or column header counts as if the coincidence had to land on
//! that header's line; several tokens landing in a compact block of the sheet add the
//! chance of that clustering; rare short strings and shared passage fingerprints add
//! their own evidence. The sum, minus ln(number of candidate sheets) for the
//! look-elsewhere effect, decides: [`CONFIRM_EVIDENCE`] and above is Confirmed,
//! [`POSSIBLE_EVIDENCE`] and above is Possible. A value written at the crossing of both
//! its row and column header confirms on its own when that crossing is rare enough
//! ([`PIN_EVIDENCE`]); two or more values at their own crossings confirm jointly when
//! their summed rarity, less the places holding those headers, is enough
//! ([`JOINT_PIN_EVIDENCE`]).
//!
//! Evidence also counts against a sheet: a table value whose own headers cross there at
//! another number, a table sharing no header with it, a value in a text line naming a row
//! the sheet keeps elsewhere, a table row's name on a sheet row its SKU is not on, a
//! round cell priced at its rounding (`scoring`), and a passage whose shared words miss
//! every name and figure of the text that has them (a template, not a quote).
//!
//! Scale: an interval hitting more than [`ENUM_CAP`] cells is counted but not enumerated
//! index-wide. Such values are attributed per sheet instead: the first values looked up
//! (or a sample of the common ones, rarest first) vote for blocks of 16 rows x 8 columns,
//! read from a block tag kept beside each entry of the numbers index rather than from the
//! cells; a block holding far more of them than chance allows (Poisson, over every block
//! of the index) names a candidate sheet, and each common value is then found in those
//! few sheets through a second index keyed by (sheet, value). So a copied block of
//! 3-significant-figure values still confirms in a 10M-cell index. A bare number (no
//! header written beside it) matching a sheet with under 1 nat of rarity there
//! (`WEAK_EVIDENCE`) is set aside: only sheets holding real evidence or a candidate block
//! see it, so a hundred sheets are not scored on coincidences alone. Small bare integers
//! and years are never evidence. Sorted runs are searched through a fence (every 32nd key)
//! that stays in cache.
//!
//! Layout: `items` reads what a write carries; `lookup` finds the cells each item may have
//! come from, with `block_vote` naming the sheets for values too common to enumerate;
//! `scoring` turns one sheet's matches into a flow. `index` builds and compacts the index,
//! kept in the sorted `runs`. [`parse`] reads tokens. The evaluation corpus is the
//! `tracker-eval` crate (`eval/`), a dev-dependency.

#[cfg(test)]
mod against_tests;
mod block_vote;
#[cfg(test)]
mod chance_tests;
#[cfg(test)]
mod currency_tests;
mod grid;
#[cfg(test)]
mod grid_tests;
mod index;
mod items;
mod lookup;
pub mod parse;
mod positions;
mod runs;
mod scoring;
#[cfg(test)]
mod structure_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod written_tests;

use std::collections::HashMap;

use crate::model::{
    CellAddr, DocumentRef, Flow, FlowStrength, ProvenanceId, SensitivityMark, WriteContent,
    WritePart,
};
use items::extract;
use lookup::SheetHits;
use runs::Runs;
use scoring::Costs;

/// Evidence (natural log of 1 / chance of coincidence) needed for a Confirmed flow.
pub const CONFIRM_EVIDENCE: f64 = 14.5;
/// Evidence needed for a Possible flow (shown, never blocks).
pub const POSSIBLE_EVIDENCE: f64 = 3.0;
/// A value written at the crossing of its row and column headers confirms when the chance
/// of such a value there by coincidence (times the places holding that header pair) is
/// below e^-6.5 (1 in 670). The chance uses the sheet's own value density, which on a
/// small header table is a pessimistic, noisy estimate; shared headers are paid for by the
/// count of places holding them, so a crossing of headers every workbook has stays Possible.
pub const PIN_EVIDENCE: f64 = 6.5;
/// Two or more values at their header crossings confirm jointly above this (1 in 8,100).
pub const JOINT_PIN_EVIDENCE: f64 = 9.0;
/// Log-range of magnitudes a financial value may take (1e-2 ..= 1e9): the prior density
/// of the log-uniform model.
const LOG_RANGE: f64 = 25.3;
/// An interval hitting more cells than this is not distinctive: it is counted but its
/// cells are not enumerated, which keeps `check` bounded on huge indexes.
pub const ENUM_CAP: usize = 128;
/// Cells enumerated per `check` before caps tighten (see `collect`).
const ENUM_BUDGET: usize = 3_000;
/// Half-size of the window around the anchor block in which matched cells form the copied
/// block (compactness is measured there, so stray coincidences elsewhere don't dilute it).
const CLUSTER_ROWS: u32 = 32;
const CLUSTER_COLS: u32 = 16;
/// Per-token evidence cap, so one token can never outweigh everything else.
const TOKEN_CAP: f64 = 12.0;
/// A date alone is weak (quarter ends are everywhere).
const DATE_CAP: f64 = 3.0;
/// Half-width multiplier of the window used to measure a sheet's local value density.
const WIDE: f64 = 30.0;
/// Enumeration cap of that window; beyond it the global density stands in.
const WIDE_CAP: usize = 256;
/// Deferred (too common) values sampled to find candidate blocks, the most hits a sampled
/// value may have, and the candidate sheets then searched per `check`.
const SAMPLE_ITEMS: usize = 24;
const SAMPLE_CAP: usize = 4096;
const CANDIDATE_SHEETS: usize = 4;
/// Rarity below which a match is a weak coincidence: it counts only near the copied block.
const WEAK_EVIDENCE: f64 = 1.0;
/// Evidence per shared winnowing fingerprint.
const FP_EVIDENCE: f64 = 5.0;
/// What a match costs when the currency written contradicts the one its cells show
/// (`€1.234` written from a `$` column): a writer relabelling a copied value's currency
/// without converting it is taken as a one-in-a-thousand event, paid once per sheet. A
/// copied block of many values still confirms; one or a few coincidental matches (`₹`
/// amounts against a ledger's `£` cells) do not.
const RELABEL_EVIDENCE: f64 = 6.9;

const FLAG_DATE: u8 = 1;
const DEAD: u32 = u32::MAX;

/// One indexed cell.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cell {
    /// The number (or date serial) for numeric cells; NaN for text.
    value: f64,
    sheet: u32,
    row: u32,
    read: u32,
    col: u16,
    flags: u8,
    /// The currency its number format shows ([`parse::Currency::to_byte`]): in what would
    /// otherwise be the struct's padding, so it costs no memory.
    cur: u8,
}

#[derive(Clone, Debug, Default)]
struct SheetInfo {
    doc: u32,
    name: String,
    max_row: u32,
    max_col: u32,
    /// Live cells, numeric cells and date cells: sizes for the coincidence model.
    cells: u32,
    nums: u32,
    dates: u32,
}

/// rustc's Fx hash, for the maps `check` builds and drops: their keys are cell ids, sheet
/// ids and block positions of this index (or hashes already), and SipHash's DoS resistance
/// cost more than a tenth of a check there. Maps keyed by what a document supplies and kept
/// across calls (`pos`) keep the randomly seeded default.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// The in-memory index of labelled cells and the flow detector.
#[derive(Clone, Debug, Default)]
pub struct Detector {
    docs: Vec<DocumentRef>,
    doc_ids: HashMap<crate::model::DocumentId, u32>,
    sheets: Vec<SheetInfo>,
    sheet_ids: HashMap<(u32, String), u32>,
    reads: Vec<ProvenanceId>,
    cells: Vec<Cell>,
    /// Each cell's sheet (`DEAD` once replaced), beside `cells`: the lookups that only ask
    /// which sheet a cell is on (hundreds per check, to measure each sheet's density around
    /// a value) read 4 bytes a cell from an array a sixth the size of `cells`, which stays
    /// in cache at 1M cells where `cells` does not.
    sheet_of: Vec<u32>,
    /// Bit `id` set: cell `id` was replaced (its sheet is `DEAD`). Lookups that read a
    /// cell's place from the numbers index, not the cell, ask this: 1 bit a cell stays in
    /// cache where `sheet_of` and `cells` do not. Empty when no cell is dead.
    dead_bits: Vec<u64>,
    /// (sheet, row, col) -> live cell id: latest read wins.
    pos: positions::Positions,
    nums: Runs,
    /// The same numbers keyed by (sheet, value as f32): a value's cells within one sheet
    /// are two binary searches away however common the value is index-wide.
    sheet_nums: Runs,
    texts: Runs,
    fps: Runs,
    dead: usize,
    live_nums: usize,
}

impl Detector {
    /// An empty detector: nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Flows carried by content about to be written: one per (source document, sheet,
    /// target location) with the matched cells and a confidence. Never a flow from the
    /// target document to itself.
    pub fn check(&self, write: &WriteContent) -> Vec<Flow> {
        let target_doc = self.doc_ids.get(&write.target.id).copied();
        let mut flows = Vec::new();
        for ex in &write.explicit_sources {
            if ex.document.id == write.target.id {
                continue;
            }
            flows.push(self.explicit_flow(write, ex));
        }
        for part in &write.parts {
            let (items, fps) = extract(part);
            let mut per_sheet: FastMap<u32, SheetHits> = FastMap::default();
            let mut relabelled: Vec<u32> = Vec::new();
            let mut searched = self.collect(
                &items,
                &fps,
                target_doc,
                &mut per_sheet,
                Some(&mut relabelled),
            );
            // Sheets whose cells show another currency than the one written: read again as
            // if the writer had relabelled the currency (`€` written over a `$` column),
            // which must pay RELABEL_EVIDENCE to count (see `score`).
            let mut loose: FastMap<u32, SheetHits> = FastMap::default();
            let loose_look = if relabelled.is_empty() {
                0.0
            } else {
                let n = self.collect(&items, &fps, target_doc, &mut loose, None);
                (n.max(1) as f64).ln()
            };
            // In a text that names people or gives figures, a passage shared with a cell
            // counts only if the shared words reach one of them: notes written from one
            // template share their fixed words ("… seats after the pilot if the new
            // reporting lands as promised") around other names and figures; a quote
            // carries its own.
            let shared = |m: &FastMap<u32, SheetHits>| m.values().any(|h| !h.fps.is_empty());
            if let WritePart::Text { text, .. } = part
                && (shared(&per_sheet) || shared(&loose))
            {
                let slots = parse::slot_fingerprints(text);
                for hits in per_sheet.values_mut().chain(loose.values_mut()) {
                    keep_passages_with_slots(&mut hits.fps, &slots);
                }
            }
            // A table's small integers are compared at their header crossings in the sheets
            // holding its row headers (`grid`).
            if let WritePart::Table { rows, .. } = part {
                for sid in self.grid_sheets(rows, target_doc) {
                    if let Some(g) = self.header_grid(sid, rows, &items) {
                        let hits = per_sheet.entry(sid).or_insert_with(|| {
                            searched += 1;
                            SheetHits::default()
                        });
                        hits.grid = Some(g);
                    }
                }
            }
            // Look-elsewhere: with many candidate sheets, one of them reaching a given score
            // by chance is that many times likelier. Sheets whose only matches were set
            // aside (see `collect`) were candidates too.
            let look = (searched.max(1) as f64).ln();
            let mut sheets: Vec<u32> = per_sheet.keys().copied().collect();
            sheets.extend(relabelled.iter().filter(|s| loose.contains_key(s)));
            sheets.sort_unstable();
            sheets.dedup();
            for sid in sheets {
                let strict = per_sheet.get(&sid).and_then(|hits| {
                    let cost = Costs {
                        look_elsewhere: look,
                        relabel: 0.0,
                    };
                    self.score(write, part.location(), sid, &items, hits, cost)
                });
                let relabel = relabelled
                    .binary_search(&sid)
                    .ok()
                    .and_then(|_| loose.get(&sid))
                    .and_then(|hits| {
                        let cost = Costs {
                            look_elsewhere: loose_look,
                            relabel: RELABEL_EVIDENCE,
                        };
                        self.score(write, part.location(), sid, &items, hits, cost)
                    });
                let stronger = match (strict, relabel) {
                    (Some(a), Some(b)) => Some(if b.confidence > a.confidence { b } else { a }),
                    (a, b) => a.or(b),
                };
                if let Some(f) = stronger {
                    let dup = flows.iter().any(|e: &Flow| {
                        e.explicit
                            && e.source.id == f.source.id
                            && e.sheet == f.sheet
                            && e.location == f.location
                    });
                    if !dup {
                        flows.push(f);
                    }
                }
            }
        }
        flows
    }

    fn explicit_flow(&self, write: &WriteContent, ex: &crate::model::ExplicitSource) -> Flow {
        let mut cells = Vec::new();
        let sid = self
            .doc_ids
            .get(&ex.document.id)
            .and_then(|d| self.sheet_ids.get(&(*d, ex.sheet.clone())))
            .copied();
        if let Some(sid) = sid {
            if ex.range.cell_count() <= 1 << 20 {
                for r in ex.range.start.row..=ex.range.end.row {
                    for c in ex.range.start.col..=ex.range.end.col {
                        if self.pos.contains(sid, r, c) {
                            cells.push(CellAddr::new(r, c));
                        }
                    }
                }
            } else {
                for cell in self.cells.iter().filter(|c| c.sheet == sid) {
                    let a = CellAddr::new(cell.row, u32::from(cell.col));
                    if ex.range.contains(a) {
                        cells.push(a);
                    }
                }
                cells.sort_unstable();
            }
        }
        if cells.is_empty() {
            // Nothing indexed there: name the whole range (bounded, so a silly range can't
            // exhaust memory).
            'outer: for r in ex.range.start.row..=ex.range.end.row {
                for c in ex.range.start.col..=ex.range.end.col {
                    if cells.len() >= 100_000 {
                        break 'outer;
                    }
                    cells.push(CellAddr::new(r, c));
                }
            }
        }
        Flow {
            source: ex.document.clone(),
            sheet: ex.sheet.clone(),
            matched: cells.len(),
            cells,
            target: write.target.clone(),
            location: ex.location.clone(),
            confidence: 1.0,
            strength: FlowStrength::Confirmed,
            sensitivity: SensitivityMark::default(),
            explicit: true,
            joined_writes: Vec::new(),
        }
    }
}

/// Drops the shared fingerprints of each cell none of whose shared fingerprints is in
/// `slots` (the written k-grams holding a name or a figure).
fn keep_passages_with_slots(fps: &mut Vec<(u64, u32)>, slots: &[u64]) {
    if fps.is_empty() || slots.is_empty() {
        return;
    }
    let mut keep: Vec<u32> = fps
        .iter()
        .filter(|(fp, _)| slots.binary_search(fp).is_ok())
        .map(|(_, id)| *id)
        .collect();
    keep.sort_unstable();
    fps.retain(|(_, id)| keep.binary_search(id).is_ok());
}
