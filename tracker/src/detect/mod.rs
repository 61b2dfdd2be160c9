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

pub mod eval;
pub mod parse;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::model::{
    CellAddr, CellValue, DocumentRef, Flow, FlowStrength, ProvenanceId, ReadCell, ReadEvent,
    SensitivityMark, WriteContent, WritePart,
};
use parse::{NumToken, Reading};

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

const FLAG_DATE: u8 = 1;
const DEAD: u32 = u32::MAX;

/// One indexed cell.
#[derive(Clone, Copy, Debug)]
struct Cell {
    /// The number (or date serial) for numeric cells; NaN for text.
    value: f64,
    sheet: u32,
    row: u32,
    read: u32,
    col: u16,
    flags: u8,
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

/// Keys per fence entry. A run keeps every `FENCE`-th key in a separate small array; a
/// lookup binary-searches that (a few hundred KiB for a million keys, so it stays in cache)
/// and then one block of `FENCE` keys (four cache lines). A plain binary search over a
/// multi-megabyte run misses the cache on nearly every step past the first dozen, and that
/// was a third of `check` at 1M cells.
const FENCE: usize = 32;

/// One sorted run: keys, the cell id of each, the block tag of each (see [`block_tag`];
/// only the numbers index keeps them, empty elsewhere), and the fence (every `FENCE`-th
/// key).
#[derive(Clone, Debug, Default)]
struct Run {
    keys: Vec<u64>,
    ids: Vec<u32>,
    tags: Vec<u32>,
    fence: Vec<u64>,
}

impl Run {
    fn new(keys: Vec<u64>, ids: Vec<u32>, tags: Vec<u32>) -> Self {
        let fence = keys.iter().step_by(FENCE).copied().collect();
        Run {
            keys,
            ids,
            tags,
            fence,
        }
    }

    /// Partition point of `pred` (true on a prefix of the keys) within `s0..s1`.
    fn partition_in(&self, s0: usize, s1: usize, pred: impl Fn(u64) -> bool) -> usize {
        let s1 = s1.min(self.keys.len());
        let s0 = s0.min(s1);
        // fence[i] is keys[i * FENCE]; the fence entries inside the span are lo..hi.
        let (lo, hi) = (s0.div_ceil(FENCE), s1.div_ceil(FENCE));
        let j = lo
            + self
                .fence
                .get(lo..hi)
                .unwrap_or(&[])
                .partition_point(|f| pred(*f));
        // pred holds at keys[(j - 1) * FENCE] (if j > lo) and fails at keys[j * FENCE] (if
        // j < hi): at most one block of keys is left. It is counted, not bisected: the
        // block's four cache lines are then fetched at once instead of one after another.
        let a = if j > lo { (j - 1) * FENCE + 1 } else { s0 };
        let b = if j < hi { j * FENCE } else { s1 };
        a + self
            .keys
            .get(a..b)
            .unwrap_or(&[])
            .iter()
            .filter(|k| pred(**k))
            .count()
    }

    /// Index span of keys in `lo..=hi`.
    fn span(&self, lo: u64, hi: u64) -> (usize, usize) {
        self.span_in(0, self.keys.len(), lo, hi)
    }

    /// Index span of keys in `lo..=hi` within the span `s0..s1`.
    fn span_in(&self, s0: usize, s1: usize, lo: u64, hi: u64) -> (usize, usize) {
        (
            self.partition_in(s0, s1, |k| k < lo),
            self.partition_in(s0, s1, |k| k <= hi),
        )
    }

    /// Bounds on the partition point of `pred` read from the fence alone: no block of keys
    /// is touched, so no cache miss.
    fn fence_bounds(&self, pred: impl Fn(u64) -> bool) -> (usize, usize) {
        match self.fence.partition_point(|f| pred(*f)) {
            0 => (0, 0),
            j => ((j - 1) * FENCE + 1, (j * FENCE).min(self.keys.len())),
        }
    }

    fn ids_in(&self, a: usize, b: usize) -> &[u32] {
        self.ids.get(a..b).unwrap_or(&[])
    }
}

/// A log-structured sorted multimap u64 -> cell id: sorted runs whose sizes halve, merged
/// on insert (amortised O(log n) per entry), so lookups never need `&mut`.
#[derive(Clone, Debug, Default)]
struct Runs {
    runs: Vec<Run>,
}

impl Runs {
    fn push_batch(&mut self, mut batch: Vec<(u64, u32)>) {
        if batch.is_empty() {
            return;
        }
        batch.sort_unstable();
        let (k, v) = batch.into_iter().unzip();
        self.push_run(Run::new(k, v, Vec::new()));
    }

    /// [`Runs::push_batch`] of (key, id, block tag).
    fn push_tagged(&mut self, mut batch: Vec<(u64, u32, u32)>) {
        if batch.is_empty() {
            return;
        }
        batch.sort_unstable();
        let mut run = Run::default();
        for (k, v, t) in batch {
            run.keys.push(k);
            run.ids.push(v);
            run.tags.push(t);
        }
        self.push_run(Run::new(run.keys, run.ids, run.tags));
    }

    fn push_run(&mut self, run: Run) {
        self.runs.push(run);
        while self.runs.len() >= 2 {
            let n = self.runs.len();
            let (a, b) = (&self.runs[n - 2], &self.runs[n - 1]);
            if a.keys.len() > 2 * b.keys.len() {
                break;
            }
            let b = self.runs.pop().unwrap_or_default();
            let a = self.runs.pop().unwrap_or_default();
            self.runs.push(merge(a, b));
        }
    }

    /// Calls `f` for each id with key in `lo..=hi` unless more than `cap` match; returns the
    /// number of matches either way.
    fn query(&self, lo: u64, hi: u64, cap: usize, mut f: impl FnMut(u32)) -> usize {
        // Nearly always one or two runs: no allocation for the spans.
        let mut spans = [(0usize, 0usize); 8];
        if self.runs.len() > spans.len() {
            let sp = self.spans(lo, hi);
            return self.enumerate(&sp, cap, f);
        }
        let mut total = 0;
        for (run, sp) in self.runs.iter().zip(spans.iter_mut()) {
            *sp = run.span(lo, hi);
            total += sp.1.saturating_sub(sp.0);
        }
        if total <= cap {
            for (run, (a, b)) in self.runs.iter().zip(spans) {
                for id in run.ids_in(a, b) {
                    f(*id);
                }
            }
        }
        total
    }

    /// Per run, the index span of keys in `lo..=hi`: narrows later lookups to a small,
    /// cache-resident slice (one sheet's numbers).
    fn spans(&self, lo: u64, hi: u64) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.runs.len());
        self.spans_into(lo, hi, &mut out);
        out
    }

    /// [`Runs::spans`] into a reused buffer.
    fn spans_into(&self, lo: u64, hi: u64, out: &mut Vec<(usize, usize)>) {
        out.clear();
        out.extend(self.runs.iter().map(|run| run.span(lo, hi)));
    }

    /// The number of keys in `lo..=hi`, and per run a span holding them (for narrower
    /// lookups inside). When the fences alone show more than `cap` (a window of common
    /// values), the count is their estimate, off by at most `FENCE` per run, and the spans
    /// are the fences' bounds: reading the exact ends would cost two cache misses per run
    /// for a density nobody needs to the last entry. Otherwise exact (`true`).
    fn count_within(
        &self,
        lo: u64,
        hi: u64,
        cap: usize,
        out: &mut Vec<(usize, usize)>,
    ) -> (usize, bool) {
        out.clear();
        let (mut least, mut estimate) = (0, 0);
        for run in &self.runs {
            let (a0, a1) = run.fence_bounds(|k| k < lo);
            let (b0, b1) = run.fence_bounds(|k| k <= hi);
            least += b0.saturating_sub(a1);
            estimate += ((b0 + b1) / 2).saturating_sub((a0 + a1) / 2);
            out.push((a0, b1));
        }
        if least > cap {
            return (estimate, false);
        }
        for (run, sp) in self.runs.iter().zip(out.iter_mut()) {
            *sp = run.span_in(sp.0, sp.1, lo, hi);
        }
        (Self::count(out), true)
    }

    /// Calls `f(id, block tag)` for each entry with key in `lo..=hi` unless more than `cap`
    /// match; returns the number of matches. Reads no cell: ids and tags lie side by side
    /// in the run, in key order.
    fn query_tagged(&self, lo: u64, hi: u64, cap: usize, mut f: impl FnMut(u32, u32)) -> usize {
        // Nearly always one or two runs: no allocation for the spans.
        let mut buf = [(0usize, 0usize); 8];
        let many;
        let spans: &[(usize, usize)] = if self.runs.len() <= buf.len() {
            for (run, sp) in self.runs.iter().zip(buf.iter_mut()) {
                *sp = run.span(lo, hi);
            }
            buf.get(..self.runs.len()).unwrap_or(&[])
        } else {
            many = self.spans(lo, hi);
            &many
        };
        let total = Self::count(spans);
        if total <= cap {
            for (run, (a, b)) in self.runs.iter().zip(spans) {
                let ids = run.ids.get(*a..*b).unwrap_or(&[]);
                let tags = run.tags.get(*a..*b).unwrap_or(&[]);
                for (id, tag) in ids.iter().zip(tags) {
                    f(*id, *tag);
                }
            }
        }
        total
    }

    /// Entries in `spans`.
    fn count(spans: &[(usize, usize)]) -> usize {
        spans.iter().map(|(a, b)| b.saturating_sub(*a)).sum()
    }

    /// Calls `f` for each id in `spans` unless more than `cap`; returns their number.
    fn enumerate(&self, spans: &[(usize, usize)], cap: usize, mut f: impl FnMut(u32)) -> usize {
        let total = Self::count(spans);
        if total <= cap {
            for (run, (a, b)) in self.runs.iter().zip(spans) {
                for id in run.ids_in(*a, *b) {
                    f(*id);
                }
            }
        }
        total
    }

    /// [`Runs::query`] restricted to `spans` (from [`Runs::spans`]).
    fn query_in(
        &self,
        spans: &[(usize, usize)],
        lo: u64,
        hi: u64,
        cap: usize,
        mut f: impl FnMut(u32),
    ) -> usize {
        let mut total = 0;
        let mut found = [(0usize, 0usize); 8];
        if spans.len() > found.len() {
            let found: Vec<(usize, usize)> = self
                .runs
                .iter()
                .zip(spans)
                .map(|(run, (s0, s1))| run.span_in(*s0, *s1, lo, hi))
                .collect();
            return self.enumerate(&found, cap, f);
        }
        for ((run, (s0, s1)), fd) in self.runs.iter().zip(spans).zip(found.iter_mut()) {
            *fd = run.span_in(*s0, *s1, lo, hi);
            total += fd.1.saturating_sub(fd.0);
        }
        if total <= cap {
            for (run, (a, b)) in self.runs.iter().zip(found) {
                for id in run.ids_in(a, b) {
                    f(*id);
                }
            }
        }
        total
    }

    /// Keeps the entries whose id `map` sends somewhere, renumbered, merged into one run.
    /// `map` must preserve the order of the ids it keeps, so the run stays sorted.
    fn retain_map(&mut self, map: impl Fn(u32) -> Option<u32>) {
        let all = std::mem::take(&mut self.runs);
        let mut merged = Run::default();
        for run in all {
            merged = merge(merged, run);
        }
        // Sized once: grown by doubling, a 10M-entry run would reserve up to twice that.
        let n = merged.keys.len();
        let (mut k, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut t = Vec::with_capacity(merged.tags.len());
        for (i, (key, id)) in merged.keys.iter().zip(&merged.ids).enumerate() {
            if let Some(new) = map(*id) {
                k.push(*key);
                v.push(new);
                t.extend(merged.tags.get(i));
            }
        }
        if !k.is_empty() {
            self.runs.push(Run::new(k, v, t));
        }
    }

    fn heap_bytes(&self) -> usize {
        self.runs
            .iter()
            .map(|r| {
                r.keys.capacity() * 8
                    + (r.ids.capacity() + r.tags.capacity()) * 4
                    + r.fence.capacity() * 8
            })
            .sum::<usize>()
            + self.runs.capacity() * std::mem::size_of::<Run>()
    }
}

fn merge(a: Run, b: Run) -> Run {
    let n = a.keys.len() + b.keys.len();
    let (mut k, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
    // Tags follow their entries (both runs have them, or neither).
    let mut t = Vec::with_capacity(if a.tags.is_empty() && b.tags.is_empty() {
        0
    } else {
        n
    });
    let (mut i, mut j) = (0, 0);
    while i < a.keys.len() || j < b.keys.len() {
        let take_a = match (a.keys.get(i), b.keys.get(j)) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            _ => false,
        };
        if take_a {
            k.extend(a.keys.get(i));
            v.extend(a.ids.get(i));
            t.extend(a.tags.get(i));
            i += 1;
        } else {
            k.extend(b.keys.get(j));
            v.extend(b.ids.get(j));
            t.extend(b.tags.get(j));
            j += 1;
        }
    }
    Run::new(k, v, t)
}

/// A text cell's `value`: a NaN (so never taken for a number) carrying 51 bits of the
/// folded text's hash, so a re-read can tell whether the text changed.
fn text_marker(hash: u64) -> f64 {
    f64::from_bits(0x7FF8_0000_0000_0000 | (hash & 0x0007_FFFF_FFFF_FFFF))
}

/// Whether a cell read again holds what the indexed cell holds (same number and date
/// format, or same plain text). Text that reads as a date is re-indexed every time: its
/// cell keeps the date, not the text.
fn same_content(cell: &Cell, rc: &ReadCell) -> bool {
    match &rc.value {
        CellValue::Number(x) if x.is_finite() => {
            let date = rc
                .number_format
                .as_deref()
                .is_some_and(parse::is_date_format);
            cell.value.to_bits() == x.to_bits() && (cell.flags & FLAG_DATE != 0) == date
        }
        CellValue::Text(t) if !t.trim().is_empty() && cell.flags & FLAG_DATE == 0 => {
            cell.value.is_nan()
                && parse::parse_date(t).is_empty()
                && cell.value.to_bits()
                    == text_marker(parse::hash64(parse::fold(t).as_bytes())).to_bits()
        }
        _ => false,
    }
}

/// rustc's Fx hash, for the maps `check` builds and drops: their keys are cell ids, sheet
/// ids and block positions of this index (or hashes already), and SipHash's DoS resistance
/// cost more than a tenth of a check there. Maps keyed by what a document supplies and kept
/// across calls (`pos`) keep the randomly seeded default.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Order-preserving key of a non-negative f64.
fn num_key(x: f64) -> u64 {
    x.abs().to_bits()
}

/// Key of a number within its sheet: the sheet, then the value rounded to f32 (order
/// preserving for non-negative values; lookups widen by one ulp and check the exact value).
fn sheet_num_key(sheet: u32, x: f64) -> u64 {
    (u64::from(sheet) << 32) | u64::from((x.abs() as f32).to_bits())
}

fn pos_key(sheet: u32, row: u32, col: u32) -> u64 {
    (u64::from(sheet) << 36) | (u64::from(row.min(0xF_FFFF)) << 16) | u64::from(col.min(0xFFFF))
}

/// The in-memory index of labelled cells and the flow detector.
#[derive(Clone, Debug, Default)]
pub struct Detector {
    docs: Vec<DocumentRef>,
    doc_ids: HashMap<crate::model::DocumentId, u32>,
    sheets: Vec<SheetInfo>,
    sheet_ids: HashMap<(u32, String), u32>,
    reads: Vec<ProvenanceId>,
    cells: Vec<Cell>,
    /// (sheet, row, col) -> live cell id: latest read wins.
    pos: HashMap<u64, u32>,
    nums: Runs,
    /// The same numbers keyed by (sheet, value as f32): a value's cells within one sheet
    /// are two binary searches away however common the value is index-wide.
    sheet_nums: Runs,
    texts: Runs,
    fps: Runs,
    dead: usize,
    live_nums: usize,
}

/// A numeric item whose readings (index, hit count) were too common to enumerate, with
/// its chance per cell (index-wide density).
#[derive(Debug)]
struct Deferred {
    item: usize,
    readings: Vec<(usize, usize)>,
    w: f64,
}

/// Distinct blocks hit by each of the first few values looked up, for the candidate-block
/// test, and the expected number of such hits per block by chance.
#[derive(Debug, Default)]
struct BlockSample {
    /// Block tag -> (sampled items that hit it, the last of them, one cell of it). Counted
    /// as the hits are enumerated: no per-item sort and dedup, no sort of every key at the
    /// end.
    blocks: FastMap<u32, (u32, u32, u32)>,
    items: usize,
    lambda: f64,
}

impl BlockSample {
    /// Counts one hit of the item being sampled (call [`BlockSample::done`] after its last).
    fn hit(&mut self, tag: u32, id: u32) {
        let item = self.items as u32;
        let e = self.blocks.entry(tag).or_insert((0, u32::MAX, id));
        if e.1 != item {
            *e = (e.0 + 1, item, e.2);
        }
    }

    /// Closes the item being sampled: it had `hits` cells among `live` numbers.
    fn done(&mut self, hits: usize, live: usize) {
        self.items += 1;
        self.lambda += hits as f64 * BLOCK_CELLS / live.max(1) as f64;
    }
}

/// Cells per block of the candidate-block count (16 rows x 8 columns).
const BLOCK_CELLS: f64 = 128.0;

fn block_key(sheet: u32, row: u32, col: u32) -> u64 {
    (u64::from(sheet) << 40) | (u64::from(row / 16) << 16) | u64::from((col / 8).min(0xFFFF))
}

/// The block of a cell as 32 bits (a multiplicative hash of [`block_key`]), kept beside each
/// entry of the numbers index: the candidate-block sample counts the blocks of thousands of
/// cells per check, and reading each cell for its position was a cache miss each (most of
/// a check at 10M cells). Two blocks may share a tag; that only adds their counts.
fn block_tag(sheet: u32, row: u32, col: u32) -> u32 {
    (block_key(sheet, row, col).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
}

/// ln P(X >= k) for X ~ Poisson(lambda), by its leading term (good when lambda < k).
fn poisson_tail_ln(k: u32, lambda: f64) -> f64 {
    let lambda = lambda.max(1e-12);
    let ln_fact: f64 = (2..=k).map(|i| f64::from(i).ln()).sum();
    (f64::from(k) * lambda.ln() - lambda - ln_fact).min(0.0)
}

/// The cell chosen for one item in `score`.
#[derive(Clone, Copy, Debug)]
struct Pick {
    /// Rarity evidence.
    ev: f64,
    /// ln(number of candidate cells the item had in the sheet).
    lnh: f64,
    /// 0 number, 1 date (or a value attributed at its header crossing: no rarity, no
    /// compactness), 2 text.
    kind: u8,
    row: u32,
    col: u32,
}

/// A written token to look up.
#[derive(Debug)]
enum ItemKind {
    Num(NumToken),
    Date(Vec<f64>),
    Text { hash: u64, evidence: f64 },
}

#[derive(Debug)]
struct Item {
    kind: ItemKind,
    /// Folded labels written beside the token (row / column headers, sentence words).
    labels: Vec<u64>,
}

/// A matched cell with its position, copied out of `cells` when it is first looked at:
/// scoring reads positions again and again, and each read of a cell of a big index is a
/// cache miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    id: u32,
    row: u32,
    col: u32,
}

/// Candidate evidence for one item in one sheet.
#[derive(Debug, Default)]
struct SheetHits {
    /// (item index, cells in this sheet, local chance per cell: this sheet's cells in a
    /// window 61x wider than the token's interval, over 61 (plus half a pseudo-count), per numeric cell of the sheet)
    items: Vec<(usize, Vec<Hit>, f64)>,
    fps: Vec<(u64, u32)>,
}

impl Detector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes every cell of the read, labelled with its document, sheet, address and the
    /// read's id. A cell read again replaces its earlier value.
    pub fn add_read(&mut self, read: &ReadEvent) {
        let doc = match self.doc_ids.get(&read.document.id) {
            Some(d) => {
                if let Some(slot) = self.docs.get_mut(*d as usize) {
                    *slot = read.document.clone();
                }
                *d
            }
            None => {
                let d = self.docs.len() as u32;
                self.docs.push(read.document.clone());
                self.doc_ids.insert(read.document.id.clone(), d);
                d
            }
        };
        let read_idx = self.reads.len() as u32;
        self.reads.push(read.id);
        let (mut nums, mut texts, mut fps) = (Vec::new(), Vec::new(), Vec::new());
        let mut by_sheet = Vec::new();
        for sheet in &read.sheets {
            let key = (doc, sheet.sheet.clone());
            let sid = match self.sheet_ids.get(&key) {
                Some(s) => *s,
                None => {
                    let s = self.sheets.len() as u32;
                    self.sheets.push(SheetInfo {
                        doc,
                        name: sheet.sheet.clone(),
                        ..SheetInfo::default()
                    });
                    self.sheet_ids.insert(key, s);
                    s
                }
            };
            for rc in &sheet.cells {
                let (row, col) = (rc.addr.row, rc.addr.col.min(u32::from(u16::MAX)));
                let pk = pos_key(sid, row, col);
                // An agent re-reads the same ranges again and again: an unchanged cell only
                // takes the new read as its label. Replacing it would leave dead copies in
                // the runs until the next compaction, and they count in every lookup (a
                // header read four times would look like common vocabulary).
                if let Some(&old) = self.pos.get(&pk)
                    && let Some(c) = self.cells.get_mut(old as usize)
                    && same_content(c, rc)
                {
                    c.read = read_idx;
                    continue;
                }
                if let Some(old) = self.pos.remove(&pk) {
                    self.kill(old);
                }
                let mut cell = Cell {
                    value: f64::NAN,
                    sheet: sid,
                    row,
                    read: read_idx,
                    col: col as u16,
                    flags: 0,
                };
                let id = self.cells.len() as u32;
                let mut indexed = false;
                match &rc.value {
                    CellValue::Number(x) if x.is_finite() => {
                        cell.value = *x;
                        if rc
                            .number_format
                            .as_deref()
                            .is_some_and(parse::is_date_format)
                        {
                            cell.flags |= FLAG_DATE;
                        }
                        nums.push((num_key(*x), id, block_tag(sid, row, col)));
                        by_sheet.push((sheet_num_key(sid, *x), id));
                        indexed = true;
                    }
                    CellValue::Text(t) if !t.trim().is_empty() => {
                        let folded = parse::fold(t);
                        let hash = parse::hash64(folded.as_bytes());
                        texts.push((hash, id));
                        cell.value = text_marker(hash);
                        if let Some(serial) = parse::parse_date(t).first() {
                            cell.value = *serial;
                            cell.flags |= FLAG_DATE;
                            nums.push((num_key(*serial), id, block_tag(sid, row, col)));
                            by_sheet.push((sheet_num_key(sid, *serial), id));
                        }
                        for fp in parse::fingerprints(t) {
                            fps.push((fp, id));
                        }
                        indexed = true;
                    }
                    _ => {}
                }
                if !indexed {
                    continue;
                }
                if let Some(info) = self.sheets.get_mut(sid as usize) {
                    info.max_row = info.max_row.max(row);
                    info.max_col = info.max_col.max(col);
                    info.cells += 1;
                    if cell.value.is_finite() {
                        info.nums += 1;
                        self.live_nums += 1;
                        if cell.flags & FLAG_DATE != 0 {
                            info.dates += 1;
                        }
                    }
                }
                self.cells.push(cell);
                self.pos.insert(pk, id);
            }
        }
        self.nums.push_tagged(nums);
        self.sheet_nums.push_batch(by_sheet);
        self.texts.push_batch(texts);
        self.fps.push_batch(fps);
        // Replaced cells, and reads that label no live cell any more (an unchanged re-read
        // moves every label to the newer read), are dropped once they outnumber the live.
        let orphaned_reads = self.reads.len() > 4096 && self.reads.len() > 2 * self.len();
        if (self.dead > 1024 && self.dead > self.len()) || orphaned_reads {
            self.compact();
        }
    }

    fn kill(&mut self, id: u32) {
        let Some(cell) = self.cells.get_mut(id as usize) else {
            return;
        };
        if cell.sheet == DEAD {
            return;
        }
        if let Some(info) = self.sheets.get_mut(cell.sheet as usize) {
            info.cells = info.cells.saturating_sub(1);
            if cell.value.is_finite() {
                info.nums = info.nums.saturating_sub(1);
                self.live_nums = self.live_nums.saturating_sub(1);
                if cell.flags & FLAG_DATE != 0 {
                    info.dates = info.dates.saturating_sub(1);
                }
            }
        }
        cell.sheet = DEAD;
        self.dead += 1;
    }

    /// Drops replaced cells, the index entries pointing at them and the reads no live cell
    /// came from any more, renumbers what is left, and merges every run into one, so a
    /// long-running bridge that reads the same ranges again and again stays the same size.
    /// `add_read` calls it when dead cells outnumber live ones; call it after a bulk load to
    /// make lookups a single binary search.
    pub fn compact(&mut self) {
        // New ids in the old order: every run stays sorted by (key, id).
        let mut remap = vec![u32::MAX; self.cells.len()];
        let mut cells = Vec::with_capacity(self.len());
        let mut read_used = vec![false; self.reads.len()];
        for (old, c) in self.cells.iter().enumerate() {
            if c.sheet != DEAD {
                remap[old] = cells.len() as u32;
                if let Some(used) = read_used.get_mut(c.read as usize) {
                    *used = true;
                }
                cells.push(*c);
            }
        }
        let mut read_remap = vec![u32::MAX; self.reads.len()];
        let mut reads = Vec::new();
        for (i, used) in read_used.iter().enumerate() {
            if *used {
                read_remap[i] = reads.len() as u32;
                reads.push(self.reads[i]);
            }
        }
        for c in &mut cells {
            c.read = read_remap.get(c.read as usize).copied().unwrap_or(u32::MAX);
        }
        let map = |id: u32| remap.get(id as usize).copied().filter(|n| *n != u32::MAX);
        self.nums.retain_map(map);
        self.sheet_nums.retain_map(map);
        self.texts.retain_map(map);
        self.fps.retain_map(map);
        // `pos` only ever holds live ids.
        for id in self.pos.values_mut() {
            *id = remap.get(*id as usize).copied().unwrap_or(u32::MAX);
        }
        cells.shrink_to_fit();
        reads.shrink_to_fit();
        self.cells = cells;
        self.reads = reads;
        self.dead = 0;
    }

    /// Number of live indexed cells.
    pub fn len(&self) -> usize {
        self.cells.len() - self.dead
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The read that labelled a live cell, if indexed.
    pub fn provenance(
        &self,
        document: &DocumentRef,
        sheet: &str,
        addr: CellAddr,
    ) -> Option<ProvenanceId> {
        let doc = *self.doc_ids.get(&document.id)?;
        let sid = *self.sheet_ids.get(&(doc, sheet.to_string()))?;
        let id = *self.pos.get(&pos_key(sid, addr.row, addr.col))?;
        let cell = self.cells.get(id as usize)?;
        self.reads.get(cell.read as usize).copied()
    }

    /// Estimated heap use in bytes.
    pub fn heap_bytes(&self) -> usize {
        let map_entry = 8 + 4 + 1; // key, value, hashbrown control byte
        self.cells.capacity() * std::mem::size_of::<Cell>()
            + self.pos.capacity() * map_entry
            + self.nums.heap_bytes()
            + self.sheet_nums.heap_bytes()
            + self.texts.heap_bytes()
            + self.fps.heap_bytes()
            + self.reads.capacity() * 16
            + self
                .sheets
                .iter()
                .map(|s| std::mem::size_of::<SheetInfo>() + s.name.capacity() * 2 + 24)
                .sum::<usize>()
            + self.docs.len() * 256
    }

    fn doc_of(&self, sheet: u32) -> Option<&DocumentRef> {
        let info = self.sheets.get(sheet as usize)?;
        self.docs.get(info.doc as usize)
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
            let searched = self.collect(&items, &fps, target_doc, &mut per_sheet);
            // Look-elsewhere: with many candidate sheets, one of them reaching a given score
            // by chance is that many times likelier. Sheets whose only matches were set
            // aside (see `collect`) were candidates too.
            let look = (searched.max(1) as f64).ln();
            let mut sheets: Vec<u32> = per_sheet.keys().copied().collect();
            sheets.sort_unstable();
            for sid in sheets {
                let Some(hits) = per_sheet.get(&sid) else {
                    continue;
                };
                if let Some(f) = self.score(write, part.location(), sid, &items, hits, look) {
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
                        if self.pos.contains_key(&pos_key(sid, r, c)) {
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
        }
    }

    fn live_sheet(&self, id: u32, target_doc: Option<u32>) -> Option<u32> {
        self.live_hit(id, target_doc).map(|(s, _)| s)
    }

    /// The sheet and position of a live cell outside the target document.
    fn live_hit(&self, id: u32, target_doc: Option<u32>) -> Option<(u32, Hit)> {
        let cell = self.cells.get(id as usize)?;
        if cell.sheet == DEAD {
            return None;
        }
        let doc = self.sheets.get(cell.sheet as usize)?.doc;
        if Some(doc) == target_doc {
            return None;
        }
        let hit = Hit {
            id,
            row: cell.row,
            col: u32::from(cell.col),
        };
        Some((cell.sheet, hit))
    }

    /// Fills `out` with each sheet's matches; returns the number of sheets any item matched
    /// in (for the look-elsewhere correction), including sheets left out of `out`.
    fn collect(
        &self,
        items: &[Item],
        fps: &[u64],
        target_doc: Option<u32>,
        out: &mut FastMap<u32, SheetHits>,
    ) -> usize {
        // A per-check enumeration budget keeps a 200-value write on a 10M-cell index within
        // a millisecond: past it, only rarer values (fewer hits) are enumerated.
        let mut budget: usize = ENUM_BUDGET;
        // Readings too common to enumerate index-wide: looked up per candidate sheet below.
        let mut deferred: Vec<Deferred> = Vec::new();
        // Block counts of the first enumerated values, reused to find candidate blocks.
        let mut sample = BlockSample::default();
        // Room for every block of the index (up to 16k): the sample never regrows the map.
        sample.blocks.reserve((self.live_nums / 128).min(1 << 14));
        // Scratch reused by every item (a check looks up hundreds).
        let mut wspans: Vec<(usize, usize)> = Vec::new();
        let mut found: Vec<(u32, Hit)> = Vec::new();
        // Sheet of each cell enumerated in the wide windows.
        let mut wide: Vec<u32> = Vec::new();
        // Matches set aside: (sheet, item, their span of `aside_hits`, chance per cell). Most
        // are never given back, so their cells share one buffer.
        let mut aside: Vec<(u32, usize, (usize, usize), f64)> = Vec::new();
        let mut aside_hits: Vec<Hit> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let (cap, wide_cap) = if budget > 0 {
                (ENUM_CAP, WIDE_CAP)
            } else {
                (ENUM_CAP / 8, 0)
            };
            found.clear();
            wide.clear();
            let mut dense_total = 0usize;
            let mut exact_total = 0usize;
            let mut over: Vec<(usize, usize)> = Vec::new();
            match &item.kind {
                ItemKind::Num(tok) => {
                    if tok.weak {
                        continue;
                    }
                    for (ri, r) in tok.readings.iter().enumerate() {
                        let (c, h) = ((r.lo + r.hi) / 2.0, (r.hi - r.lo) / 2.0);
                        let (wl, wh) =
                            ((c - WIDE * h).max(0.0).min(r.lo), (c + WIDE * h).max(r.hi));
                        let (n, exact) =
                            self.nums
                                .count_within(num_key(wl), num_key(wh), wide_cap, &mut wspans);
                        if exact {
                            self.nums.enumerate(&wspans, wide_cap, |id| {
                                wide.extend(self.live_sheet(id, target_doc));
                            });
                        }
                        if n > wide_cap {
                            // Too many to enumerate: fall back to the global density there.
                            dense_total += n;
                        }
                        // The exact interval lies inside the wide one: search it within the
                        // wide span (or the fences' bounds on it).
                        let (kl, kh) = (num_key(r.lo), num_key(r.hi));
                        let n = self.nums.query_in(&wspans, kl, kh, cap, |id| {
                            found.extend(self.live_hit(id, target_doc));
                        });
                        exact_total += n;
                        if n > cap {
                            over.push((ri, n));
                        }
                    }
                }
                ItemKind::Date(serials) => {
                    for s in serials {
                        self.nums
                            .query(num_key(*s), num_key(s + 0.999_999), cap, |id| {
                                let is_date = self
                                    .cells
                                    .get(id as usize)
                                    .is_some_and(|c| c.flags & FLAG_DATE != 0);
                                if is_date {
                                    found.extend(self.live_hit(id, target_doc));
                                }
                            });
                    }
                }
                ItemKind::Text { hash, evidence } => {
                    if *evidence <= 0.0 {
                        continue;
                    }
                    // A string found in many places (a shared header, a product name on every
                    // sheet) is vocabulary: only rare strings count.
                    let n = self.texts.query(*hash, *hash, 0, |_| {});
                    if n > 3 {
                        continue;
                    }
                    self.texts.query(*hash, *hash, cap, |id| {
                        found.extend(self.live_hit(id, target_doc));
                    });
                }
            }
            budget = budget.saturating_sub(found.len() + wide.len());
            // By (sheet, cell) as one integer: cheaper to compare than the tuple.
            let order = |(s, h): &(u32, Hit)| (u64::from(*s) << 32) | u64::from(h.id);
            found.sort_unstable_by_key(order);
            found.dedup_by_key(|x| order(x));
            wide.sort_unstable();
            let spread = 2.0 * WIDE + 1.0;
            let global = dense_total as f64 / spread / self.live_nums.max(1) as f64;
            if matches!(item.kind, ItemKind::Num(_))
                && over.is_empty()
                && !found.is_empty()
                && sample.items < SAMPLE_ITEMS
            {
                for (s, h) in &found {
                    sample.hit(block_tag(*s, h.row, h.col), h.id);
                }
                sample.done(exact_total, self.live_nums);
            }
            // A bare number (no header written beside it, so no header evidence) whose
            // rarity in a sheet is under WEAK_EVIDENCE (the sheet expects about one such
            // value by chance) is a weak coincidental match there: `score` counts it only
            // near the copied block. A 3-figure amount in a 1M-cell index lands a cell or
            // two in every sheet, and a hundred sheets were scored on such matches alone,
            // for nothing but chance clusters (1.35 confirmed flows per write where one
            // was copied). These matches are set aside and given back below only to the
            // sheets that hold real evidence or a candidate block.
            let bare_p = match &item.kind {
                ItemKind::Num(tok) if item.labels.is_empty() => {
                    Some(tok.readings.iter().map(reading_p).sum::<f64>())
                }
                _ => None,
            };
            if !over.is_empty() {
                deferred.push(Deferred {
                    item: i,
                    readings: over,
                    w: global.max(exact_total as f64 / self.live_nums.max(1) as f64),
                });
            }
            // `found` is sorted by sheet: one group per sheet.
            for group in found.chunk_by(|a, b| a.0 == b.0) {
                let Some((s, _)) = group.first() else {
                    continue;
                };
                let s = *s;
                let nums = self.sheets.get(s as usize).map_or(1, |i| i.nums.max(1));
                let near =
                    (wide.partition_point(|x| *x <= s) - wide.partition_point(|x| *x < s)) as u32;
                let matched = group.len() as u32;
                // Discount the matches themselves: they are what is being tested.
                // Half a pseudo-count smooths small counts on real tables; a handful of cells
                // says nothing about density, so tiny sheets get proportionally less.
                let pseudo = 0.5 * (f64::from(nums) / 50.0).min(1.0);
                let local =
                    (f64::from(near.saturating_sub(matched)) + pseudo) / spread / f64::from(nums);
                // Index-wide density in the exact interval, the sheet's own matches aside.
                let p_emp = exact_total.saturating_sub(matched as usize) as f64
                    / self.live_nums.max(1) as f64;
                let w = local.max(global).max(p_emp);
                // The rarity `score` gives it: -ln(chance per cell x the sheet's numbers).
                let weak = bare_p.is_some_and(|p_model| {
                    -(p_model.max(w) * f64::from(nums)).min(1.0).ln() < WEAK_EVIDENCE
                });
                let hits = group.iter().map(|(_, h)| *h);
                if weak {
                    let start = aside_hits.len();
                    aside_hits.extend(hits);
                    aside.push((s, i, (start, aside_hits.len()), w));
                } else {
                    out.entry(s).or_default().items.push((i, hits.collect(), w));
                }
            }
        }
        let mut aside_sheets: Vec<u32> = aside.iter().map(|a| a.0).collect();
        aside_sheets.sort_unstable();
        aside_sheets.dedup();
        let candidates = if deferred.is_empty() && aside.is_empty() {
            Vec::new()
        } else {
            self.candidate_sheets(items, &deferred, &mut sample, target_doc)
        };
        // Set-aside matches go back to sheets holding other evidence or a candidate block.
        for (s, i, (a, b), w) in aside {
            if candidates.contains(&s) || out.contains_key(&s) {
                let hits = aside_hits.get(a..b).unwrap_or(&[]).to_vec();
                out.entry(s).or_default().items.push((i, hits, w));
            }
        }
        for h in out.values_mut() {
            // Item order, which the lookups of deferred items rely on.
            h.items.sort_by_key(|x| x.0);
        }
        self.collect_deferred(items, &deferred, &candidates, out);
        for fp in fps {
            self.fps.query(*fp, *fp, 64, |id| {
                if let Some(s) = self.live_sheet(id, target_doc) {
                    out.entry(s).or_default().fps.push((*fp, id));
                }
            });
        }
        // Every sheet with a match, given back or not.
        out.len() + aside_sheets.iter().filter(|s| !out.contains_key(s)).count()
    }

    /// Attribution of values too common to enumerate across the whole index (3 significant
    /// figures in a 10M-cell index): a sample of them is enumerated just far enough to count
    /// how many distinct values land in each block of 16 rows x 8 columns; blocks holding
    /// far more of them than chance allows name the candidate sheets, and every deferred
    /// value is then looked up within those sheets only (two binary searches per sheet).
    fn candidate_sheets(
        &self,
        items: &[Item],
        deferred: &[Deferred],
        sample: &mut BlockSample,
        target_doc: Option<u32>,
    ) -> Vec<u32> {
        let live = self.live_nums.max(1) as f64;
        // The rarest first: fewest cells to read, and the fewest chance hits per block.
        let mut order: Vec<(usize, &Deferred)> = deferred
            .iter()
            .map(|d| (d.readings.iter().map(|x| x.1).sum::<usize>(), d))
            .filter(|(n, _)| *n <= SAMPLE_CAP)
            .collect();
        order.sort_by_key(|(n, d)| (*n, d.item));
        for (n, d) in order {
            if sample.items >= SAMPLE_ITEMS {
                break;
            }
            let Some(ItemKind::Num(tok)) = items.get(d.item).map(|x| &x.kind) else {
                continue;
            };
            for (ri, _) in &d.readings {
                let Some(r) = tok.readings.get(*ri) else {
                    continue;
                };
                // Dead cells and the target's own are counted too (no cell is read here);
                // a block they make a candidate is dropped below or finds nothing live.
                self.nums
                    .query_tagged(num_key(r.lo), num_key(r.hi), SAMPLE_CAP, |id, tag| {
                        sample.hit(tag, id);
                    });
            }
            sample.done(n, self.live_nums);
        }
        let lambda = sample.lambda;
        // A block is a candidate when that many sampled values landing in it by chance
        // (Poisson, mean `lambda`) is unlikely even across every block of the index.
        let need = (live / BLOCK_CELLS).max(1.0).ln() + 2.3;
        let mut cands: Vec<(u32, u32)> = sample
            .blocks
            .values()
            .filter(|(k, _, _)| *k >= 3 && -poisson_tail_ln(*k, lambda) >= need)
            .filter_map(|(k, _, id)| Some((*k, self.live_sheet(*id, target_doc)?)))
            .collect();
        cands.sort_unstable_by(|a, b| b.cmp(a));
        let mut sheets: Vec<u32> = Vec::new();
        for (_, s) in cands {
            if !sheets.contains(&s) && sheets.len() < CANDIDATE_SHEETS {
                sheets.push(s);
            }
        }
        sheets
    }

    /// Looks every deferred item up in the candidate sheets.
    fn collect_deferred(
        &self,
        items: &[Item],
        deferred: &[Deferred],
        sheets: &[u32],
        out: &mut FastMap<u32, SheetHits>,
    ) {
        if deferred.is_empty() {
            return;
        }
        let mut hits: Vec<Hit> = Vec::new();
        for &s in sheets {
            let spans = self.sheet_nums.spans(
                u64::from(s) << 32,
                (u64::from(s) << 32) | u64::from(u32::MAX),
            );
            let entry = out.entry(s).or_default();
            // Items the main pass found here, in item order: deferred items are appended
            // after them, so only this prefix is searched.
            let enumerated = entry.items.len();
            for d in deferred.iter().take(2000) {
                let Some(ItemKind::Num(tok)) = items.get(d.item).map(|x| &x.kind) else {
                    continue;
                };
                hits.clear();
                for (ri, _) in &d.readings {
                    let Some(r) = tok.readings.get(*ri) else {
                        continue;
                    };
                    let lo = sheet_num_key(s, r.lo).saturating_sub(1);
                    let hi = sheet_num_key(s, r.hi).saturating_add(1);
                    self.sheet_nums.query_in(&spans, lo, hi, 512, |id| {
                        let hit = self.cells.get(id as usize).and_then(|c| {
                            let v = c.value.abs();
                            (c.sheet == s && r.lo <= v && v <= r.hi).then_some(Hit {
                                id,
                                row: c.row,
                                col: u32::from(c.col),
                            })
                        });
                        hits.extend(hit);
                    });
                }
                hits.sort_unstable();
                hits.dedup();
                if hits.is_empty() {
                    continue;
                }
                let prior = entry
                    .items
                    .get(..enumerated)
                    .unwrap_or(&[])
                    .binary_search_by_key(&d.item, |x| x.0);
                match prior.ok().and_then(|k| entry.items.get_mut(k)) {
                    Some((_, v, _)) => {
                        v.extend_from_slice(&hits);
                        v.sort_unstable();
                        v.dedup();
                    }
                    None => entry.items.push((d.item, hits.clone(), d.w)),
                }
            }
            if entry.items.is_empty() {
                out.remove(&s);
            }
        }
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
        }
    }

    /// Cells of sheet `sid` whose folded text hashes to `label`.
    fn label_cells(&self, sid: u32, label: u64) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        self.texts.query(label, label, 4096, |id| {
            if let Some(c) = self.cells.get(id as usize).filter(|c| c.sheet == sid) {
                v.push((c.row, u32::from(c.col)));
            }
        });
        v
    }

    /// The cell of sheet `sid` at the crossing of two written labels (a row header to its
    /// left, a column header above it) whose value the token covers.
    fn crossing(
        &self,
        sid: u32,
        tok: &NumToken,
        labels: &[u64],
        cache: &mut FastMap<u64, Vec<(u32, u32)>>,
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
                        let Some(id) = self.pos.get(&pos_key(sid, *r, *c)) else {
                            continue;
                        };
                        let covered = self.cells.get(*id as usize).is_some_and(|cl| {
                            let v = cl.value.abs();
                            tok.readings.iter().any(|rd| rd.lo <= v && v <= rd.hi)
                        });
                        if covered {
                            return Some(*id);
                        }
                    }
                }
            }
        }
        None
    }

    fn score(
        &self,
        write: &WriteContent,
        location: &str,
        sid: u32,
        items: &[Item],
        hits: &SheetHits,
        look_elsewhere: f64,
    ) -> Option<Flow> {
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
        let mut crossings: Vec<(u32, f64, f64)> = Vec::new();
        let mut chosen: FastMap<u32, Pick> = FastMap::default();
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
            // Header adjacency: a written label equal to a text cell left of the candidate in
            // its row, or above it in its column.
            let mut best: Option<(Hit, f64, u32)> = None; // (cell, evidence, distance)
            let mut crossing: Option<(u32, f64, f64)> = None;
            for c in hs {
                let (id, row, col) = (&c.id, c.row, c.col);
                let mut hdr = 0u32;
                let mut line = 1.0f64;
                // How many places in the whole index hold the matched row / column labels:
                // a pair of labels found in one sheet pins the value; the same pair on forty
                // look-alike sheets pins much less.
                let (mut row_n, mut col_n) = (usize::MAX, usize::MAX);
                if !matches!(item.kind, ItemKind::Text { .. }) {
                    for l in &item.labels {
                        let cells = label_cache
                            .entry(*l)
                            .or_insert_with(|| self.label_cells(sid, *l));
                        let global = || self.texts.query(*l, *l, 0, |_| {});
                        if cells.iter().any(|(r, cc)| *r == row && *cc < col) {
                            hdr |= 1;
                            row_n = row_n.min(global());
                        }
                        if cells.iter().any(|(r, cc)| *cc == col && *r < row) {
                            hdr |= 2;
                            col_n = col_n.min(global());
                        }
                    }
                    line = match hdr {
                        1 => width,
                        2 => height,
                        3 => 1.0,
                        _ => 0.0,
                    };
                }
                let mut ev = base;
                if hdr != 0 {
                    let p = (p_cell * line * hs.len().min(4) as f64).min(1.0);
                    ev = ev.max(-p.ln());
                }
                let ev = ev.min(cap);
                if hdr == 3 && matches!(item.kind, ItemKind::Num(_)) {
                    let places = row_n.min(col_n).max(1) as f64;
                    if -(p_cell * places).ln() >= PIN_EVIDENCE {
                        pinned = true;
                    }
                    crossing = Some((*id, -p_cell.max(1e-300).ln(), places));
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
                let lnh = (hs.len() as f64).ln();
                let kind = match item.kind {
                    ItemKind::Num(_) => 0u8,
                    ItemKind::Date(_) => 1,
                    ItemKind::Text { .. } => 2,
                };
                let pick = |ev| Pick {
                    ev,
                    lnh,
                    kind,
                    row: c.row,
                    col: c.col,
                };
                let e = chosen.entry(c.id).or_insert(pick(0.0));
                if ev > e.ev {
                    *e = pick(ev);
                }
            }
        }
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
                    chosen.entry(id).or_insert_with(|| self.pick_at(id, 1));
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
        // Passages: fingerprints shared with text cells of this sheet.
        let mut fp_total: Vec<u64> = hits.fps.iter().map(|(f, _)| *f).collect();
        fp_total.sort_unstable();
        fp_total.dedup();
        let fp_evidence = (fp_total.len() as f64 * FP_EVIDENCE).min(40.0);
        for (_, id) in &hits.fps {
            chosen.entry(*id).or_insert_with(|| self.pick_at(*id, 2));
        }
        if chosen.is_empty() {
            return None;
        }
        // Weak coincidental matches far from the copied block are noise, not cells of the
        // flow: a value with no rarity of its own only counts near the anchor.
        let near_anchor =
            |v: &Pick| v.row.abs_diff(ar) <= CLUSTER_ROWS && v.col.abs_diff(ac) <= CLUSTER_COLS;
        chosen.retain(|_, v| v.kind == 2 || v.ev >= WEAK_EVIDENCE || near_anchor(v));
        let mut evidence: f64 =
            chosen.values().map(|v| v.ev).sum::<f64>() + fp_evidence + label_evidence;
        // Compactness: k cells landing in a small block of a big sheet by chance is unlikely.
        // Only plain numbers: dates are sorted and clustered in any ledger, text is rare
        // enough on its own.
        let mut numeric: Vec<(u32, &Pick)> = chosen
            .iter()
            .filter(|(_, v)| v.kind == 0 && near_anchor(v))
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
        evidence -= look_elsewhere;
        if joint_pin(&mut crossings) {
            pinned = true;
        }
        if pinned {
            evidence = evidence.max(CONFIRM_EVIDENCE);
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
        })
    }
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

/// Prior chance that one cell holds a value in the reading's interval (log-uniform).
fn reading_p(r: &Reading) -> f64 {
    let lo = r.lo.max(r.hi * 1e-3).max(1e-12);
    ((r.hi / lo).ln() / LOG_RANGE).clamp(1e-12, 1.0)
}

/// Items (numbers, dates, short strings) and passage fingerprints of one write part.
fn extract(part: &WritePart) -> (Vec<Item>, Vec<u64>) {
    let mut items = Vec::new();
    let mut fps = Vec::new();
    match part {
        WritePart::Text { text, .. } => {
            fps.extend(parse::fingerprints(text));
            text_items(text, &[], None, &mut items);
        }
        WritePart::Table { rows, .. } => {
            let hash = |s: &str| parse::hash64(parse::fold(s).as_bytes());
            // Each cell is parsed once: the parse says whether it is a label, and is then
            // the cell's item (parsing was a fifth of a check when done twice).
            let parse_row = |r: &[String]| -> Vec<Parsed> {
                r.iter().take(1000).map(|c| Parsed::of(c)).collect()
            };
            let mut first: Option<Vec<Parsed>> = rows.first().map(|r| parse_row(r));
            let header_row: Vec<Option<u64>> = rows
                .first()
                .zip(first.as_ref())
                .map(|(r, p)| {
                    r.iter()
                        .zip(p)
                        .map(|(c, p)| p.is_label().then(|| hash(c)))
                        .collect()
                })
                .unwrap_or_default();
            for (k, row) in rows.iter().take(10_000).enumerate() {
                let parsed = match first.take() {
                    Some(p) if k == 0 => p,
                    _ => parse_row(row),
                };
                // Cells past the first thousand are only searched for labels.
                let row_labels: Vec<u64> = row
                    .iter()
                    .enumerate()
                    .filter(|(j, c)| match parsed.get(*j) {
                        Some(p) => p.is_label(),
                        None => Parsed::of(c).is_label(),
                    })
                    .take(2)
                    .map(|(_, c)| hash(c))
                    .collect();
                for ((j, c), p) in row.iter().enumerate().zip(parsed) {
                    let mut labels = row_labels.clone();
                    if let Some(Some(h)) = header_row.get(j) {
                        labels.push(*h);
                    }
                    if c.chars().count() >= 40 {
                        fps.extend(parse::fingerprints(c));
                    }
                    text_items(c, &labels, Some(p), &mut items);
                }
            }
            fps.sort_unstable();
            fps.dedup();
        }
    }
    (items, fps)
}

/// A whole chunk of written text (a table cell) read as one value.
#[derive(Debug)]
enum Parsed {
    Date(Vec<f64>),
    Num(NumToken),
    /// Neither (text, or nothing).
    Other {
        blank: bool,
    },
}

impl Parsed {
    fn of(text: &str) -> Self {
        let t = text.trim();
        if t.is_empty() {
            return Parsed::Other { blank: true };
        }
        let dates = parse::parse_date(t);
        if !dates.is_empty() {
            return Parsed::Date(dates);
        }
        match parse::parse_number(t) {
            Some(n) => Parsed::Num(n),
            None => Parsed::Other { blank: false },
        }
    }

    /// Non-blank text that is neither a number nor a date: a row or column header.
    fn is_label(&self) -> bool {
        matches!(self, Parsed::Other { blank: false })
    }
}

/// Numbers, dates and distinctive strings in a chunk of text. `extra_labels` are the
/// table headers around it; words of the sentence are labels too. `parsed` is the chunk
/// already read by [`Parsed::of`], if the caller has it.
fn text_items(text: &str, extra_labels: &[u64], parsed: Option<Parsed>, out: &mut Vec<Item>) {
    let t = text.trim();
    if t.is_empty() || out.len() > 100_000 {
        return;
    }
    // The whole chunk as one value (a table cell).
    match parsed.unwrap_or_else(|| Parsed::of(t)) {
        Parsed::Date(dates) => {
            out.push(Item {
                kind: ItemKind::Date(dates),
                labels: extra_labels.to_vec(),
            });
            return;
        }
        Parsed::Num(n) => {
            out.push(Item {
                kind: ItemKind::Num(n),
                labels: extra_labels.to_vec(),
            });
            return;
        }
        Parsed::Other { .. } => {}
    }
    let whole = parse::fold(t);
    let ev = parse::string_evidence(&whole);
    if ev > 0.0 && whole.len() <= 200 {
        out.push(Item {
            kind: ItemKind::Text {
                hash: parse::hash64(whole.as_bytes()),
                evidence: ev,
            },
            labels: Vec::new(),
        });
    }
    // Sentences: split at ., !, ?, ;, newlines when followed by space (keeps `4.2`).
    let mut sentences: Vec<&str> = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = t.char_indices().collect();
    for (k, (i, c)) in chars.iter().enumerate() {
        let next_space = chars.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
        if (matches!(c, '.' | '!' | '?' | ';') && next_space) || *c == '\n' {
            sentences.push(t.get(start..*i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    sentences.push(t.get(start..).unwrap_or(""));
    for sentence in sentences {
        let raw: Vec<&str> = sentence.split_whitespace().take(2000).collect();
        if raw.is_empty() {
            continue;
        }
        // Labels: every 1..=3 word n-gram of the sentence (cheap hash lookups later).
        let mut labels: Vec<u64> = extra_labels.to_vec();
        let plain: Vec<String> = raw
            .iter()
            .map(|w| parse::fold(w.trim_matches(|c: char| !c.is_alphanumeric())))
            .collect();
        for n in 1..=3 {
            for g in plain.windows(n) {
                if g.iter().all(|w| !w.is_empty()) {
                    labels.push(parse::hash64(g.join(" ").as_bytes()));
                }
            }
        }
        labels.sort_unstable();
        labels.dedup();
        let mut i = 0;
        while i < raw.len() {
            let mut took = 0;
            for n in (1..=4).rev() {
                let Some(win) = raw.get(i..i + n) else {
                    continue;
                };
                let joined = win.join(" ");
                let d = parse::parse_date(&joined);
                if !d.is_empty() {
                    out.push(Item {
                        kind: ItemKind::Date(d),
                        labels: labels.clone(),
                    });
                    took = n;
                    break;
                }
                if let Some(num) = parse::parse_number(&joined) {
                    out.push(Item {
                        kind: ItemKind::Num(num),
                        labels: labels.clone(),
                    });
                    took = n;
                    break;
                }
            }
            i += took.max(1);
        }
        // Distinctive strings inside the sentence: names, SKUs (2..=4 word n-grams and
        // single words).
        let mut seen = Vec::new();
        for n in 1..=4 {
            for g in plain.windows(n) {
                if g.iter().any(|w| w.is_empty()) {
                    continue;
                }
                let s = g.join(" ");
                let ev = parse::string_evidence(&s);
                if ev > 0.0 {
                    let h = parse::hash64(s.as_bytes());
                    if !seen.contains(&h) {
                        seen.push(h);
                        out.push(Item {
                            kind: ItemKind::Text {
                                hash: h,
                                evidence: ev,
                            },
                            labels: Vec::new(),
                        });
                    }
                }
            }
        }
    }
}
