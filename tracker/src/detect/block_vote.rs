//! The block vote: finding the few sheets where values too common to enumerate index-wide
//! sit together, in a block of 16 rows x 8 columns holding far more of them than chance
//! allows (Poisson, over every block of the index).
//!
//! Its own file because it is its own test, run on the places kept beside each entry of the
//! numbers index, never on the cells (reading cells was most of a check at 10M cells).

use super::index::num_key;
use super::items::{Item, ItemKind};
use super::lookup::Deferred;
use super::{CANDIDATE_SHEETS, Detector, FastMap, SAMPLE_CAP, SAMPLE_ITEMS};

/// Distinct blocks hit by each of the first few values looked up, for the candidate-block
/// test, and the expected number of such hits per block by chance.
#[derive(Debug, Default)]
pub(super) struct BlockSample {
    /// Block tag -> (sampled items that hit it, the last of them, one cell of it). Counted
    /// as the hits are enumerated: no per-item sort and dedup, no sort of every key at the
    /// end.
    pub(super) blocks: FastMap<u32, (u32, u32, u32)>,
    pub(super) items: usize,
    lambda: f64,
}

impl BlockSample {
    /// Counts one hit of the item being sampled (call [`BlockSample::done`] after its last).
    pub(super) fn hit(&mut self, tag: u32, id: u32) {
        let item = self.items as u32;
        let e = self.blocks.entry(tag).or_insert((0, u32::MAX, id));
        if e.1 != item {
            *e = (e.0 + 1, item, e.2);
        }
    }

    /// Closes the item being sampled: it had `hits` cells among `live` numbers.
    pub(super) fn done(&mut self, hits: usize, live: usize) {
        self.items += 1;
        self.lambda += hits as f64 * BLOCK_CELLS / live.max(1) as f64;
    }
}

/// Cells per block of the candidate-block count (16 rows x 8 columns).
const BLOCK_CELLS: f64 = 128.0;

fn block_key(sheet: u32, row: u32, col: u32) -> u64 {
    (u64::from(sheet) << 40) | (u64::from(row / 16) << 16) | u64::from((col / 8).min(0xFFFF))
}

/// The block of a cell as 32 bits (a multiplicative hash of [`block_key`]), from the place
/// kept beside each entry of the numbers index: the candidate-block sample counts the
/// blocks of thousands of cells per check, and reading each cell for its position was a
/// cache miss each (most of a check at 10M cells). Two blocks may share a tag; that only
/// adds their counts.
pub(super) fn block_tag(sheet: u32, row: u32, col: u32) -> u32 {
    (block_key(sheet, row, col).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
}

/// ln P(X >= k) for X ~ Poisson(lambda), by its leading term (good when lambda < k).
fn poisson_tail_ln(k: u32, lambda: f64) -> f64 {
    let lambda = lambda.max(1e-12);
    let ln_fact: f64 = (2..=k).map(|i| f64::from(i).ln()).sum();
    (f64::from(k) * lambda.ln() - lambda - ln_fact).min(0.0)
}

impl Detector {
    /// Attribution of values too common to enumerate across the whole index (3 significant
    /// figures in a 10M-cell index): a sample of them is enumerated just far enough to count
    /// how many distinct values land in each block of 16 rows x 8 columns; blocks holding
    /// far more of them than chance allows name the candidate sheets, and every deferred
    /// value is then looked up within those sheets only (two binary searches per sheet).
    pub(super) fn candidate_sheets(
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
                    .query_placed(num_key(r.lo), num_key(r.hi), SAMPLE_CAP, |id, place| {
                        let tag = self
                            .place_of(id, place)
                            .map_or(0, |p| block_tag(p.sheet, p.row, u32::from(p.col)));
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
}
