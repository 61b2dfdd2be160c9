//! Looking the items of a write up in the index: for each number, date or string, the cells
//! per sheet it may have come from and the chance per cell of such a match by coincidence.
//!
//! The first step of [`Detector::check`]. Values too common to enumerate index-wide are
//! deferred here and looked up only in the candidate sheets the block vote
//! ([`super::block_vote`]) names; bare coincidental matches are set aside here too.

use super::block_vote::{BlockSample, block_tag};
use super::index::{Place, num_key, sheet_num_key};
use super::items::{Item, ItemKind};
use super::parse::Currency;
use super::scoring::reading_p;
use super::{
    CANDIDATE_SHEETS, DEAD, Detector, ENUM_BUDGET, ENUM_CAP, FastMap, SAMPLE_ITEMS, WEAK_EVIDENCE,
    WIDE, WIDE_CAP,
};

/// A numeric item whose readings (index, hit count) were too common to enumerate, with
/// its chance per cell (index-wide density).
#[derive(Debug)]
pub(super) struct Deferred {
    pub(super) item: usize,
    pub(super) readings: Vec<(usize, usize)>,
    pub(super) w: f64,
}

/// A matched cell with its position, copied out of `cells` when it is first looked at:
/// scoring reads positions again and again, and each read of a cell of a big index is a
/// cache miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Hit {
    pub(super) id: u32,
    pub(super) row: u32,
    pub(super) col: u32,
}

/// Candidate evidence for one item in one sheet.
#[derive(Debug, Default)]
pub(super) struct SheetHits {
    /// (item index, cells in this sheet, local chance per cell: this sheet's cells in a
    /// window 61x wider than the token's interval, over 61 (plus half a pseudo-count), per numeric cell of the sheet)
    pub(super) items: Vec<(usize, Vec<Hit>, f64)>,
    pub(super) fps: Vec<(u64, u32)>,
    /// A written table's small integers agreeing at their header crossings here.
    pub(super) grid: Option<super::grid::GridMatch>,
}

impl Detector {
    /// The sheet of a live cell outside the target document (what [`Self::live_hit`]
    /// says, without reading the cell).
    pub(super) fn live_sheet(&self, id: u32, target_doc: Option<u32>) -> Option<u32> {
        let sheet = *self.sheet_of.get(id as usize)?;
        if sheet == DEAD || Some(self.sheets.get(sheet as usize)?.doc) == target_doc {
            return None;
        }
        Some(sheet)
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

    /// The place of cell `id`, live or not, from the place kept beside its entry in the
    /// numbers index (the cell is read only when none could be packed).
    pub(super) fn place_of(&self, id: u32, place: u64) -> Option<Place> {
        Place::unpack(place).or_else(|| self.cells.get(id as usize).map(Place::of))
    }

    /// [`Self::place_of`] a live cell outside the target document.
    pub(super) fn live_place(&self, id: u32, place: u64, target_doc: Option<u32>) -> Option<Place> {
        let dead = self.dead > 0
            && self
                .dead_bits
                .get(id as usize / 64)
                .is_some_and(|w| w >> (id % 64) & 1 == 1);
        if dead {
            return None;
        }
        let place = self.place_of(id, place)?;
        if Some(self.sheets.get(place.sheet as usize)?.doc) == target_doc {
            return None;
        }
        Some(place)
    }

    /// Whether a value written in currency `cur` may have come from cell `id`: a currency
    /// the cell shows contradicts none written (`₹` written is no match for a cell shown
    /// in `£`; a bare number, or a cell showing no currency, always may).
    pub(super) fn currency_agrees(&self, id: u32, cur: Currency) -> bool {
        cur == Currency::None
            || self
                .cells
                .get(id as usize)
                .is_none_or(|c| cur.agrees(Currency::from_byte(c.cur)))
    }

    /// Fills `out` with each sheet's matches; returns the number of sheets any item matched
    /// in (for the look-elsewhere correction), including sheets left out of `out`.
    ///
    /// With `relabelled`, a number written in a currency matches no cell showing another
    /// one, and the sheets of such cells are added to `relabelled`; without, currencies are
    /// not compared (the reading of a write whose currency was relabelled, see `check`).
    pub(super) fn collect(
        &self,
        items: &[Item],
        fps: &[u64],
        target_doc: Option<u32>,
        out: &mut FastMap<u32, SheetHits>,
        relabelled: Option<&mut Vec<u32>>,
    ) -> usize {
        let strict = relabelled.is_some();
        let mut mismatched: Vec<u32> = Vec::new();
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
                            self.nums.enumerate_placed(&wspans, wide_cap, |id, place| {
                                wide.extend(
                                    self.live_place(id, place, target_doc).map(|p| p.sheet),
                                );
                            });
                        }
                        if n > wide_cap {
                            // Too many to enumerate: fall back to the global density there.
                            dense_total += n;
                        }
                        // The exact interval lies inside the wide one: search it within the
                        // wide span (or the fences' bounds on it).
                        let (kl, kh) = (num_key(r.lo), num_key(r.hi));
                        let n = self
                            .nums
                            .query_in_placed(&wspans, kl, kh, cap, |id, place| {
                                if let Some(p) = self.live_place(id, place, target_doc) {
                                    let hit = Hit {
                                        id,
                                        row: p.row,
                                        col: u32::from(p.col),
                                    };
                                    let agrees =
                                        !strict || tok.currency.agrees(Currency::from_byte(p.cur));
                                    if agrees {
                                        found.push((p.sheet, hit));
                                    } else {
                                        mismatched.push(p.sheet);
                                    }
                                }
                            });
                        exact_total += n;
                        if n > cap {
                            over.push((ri, n));
                        }
                    }
                }
                ItemKind::Date(serials) => {
                    for s in serials {
                        self.nums.query_placed(
                            num_key(*s),
                            num_key(s + 0.999_999),
                            cap,
                            |id, place| {
                                if let Some(p) = self.live_place(id, place, target_doc)
                                    && p.date
                                {
                                    let (row, col) = (p.row, u32::from(p.col));
                                    found.push((p.sheet, Hit { id, row, col }));
                                }
                            },
                        );
                    }
                }
                ItemKind::Text { hash, evidence, .. } => {
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
        // Deferred values are looked up in the candidate blocks' sheets, and in the sheets
        // where two or more of the write's other values already landed: a count too common
        // to enumerate index-wide ("5.5 million" among 40,000 ledger amounts) still says
        // where it came from beside its neighbours of the same column, and scoring prices
        // it at its index-wide density.
        let mut deferred_sheets = candidates.clone();
        if !deferred.is_empty() {
            let mut landed: Vec<(usize, u32)> = out
                .iter()
                .filter(|(s, h)| h.items.len() >= 2 && !candidates.contains(s))
                .map(|(s, h)| (h.items.len(), *s))
                .collect();
            landed.sort_unstable_by(|a, b| b.cmp(a));
            deferred_sheets.extend(landed.iter().take(CANDIDATE_SHEETS).map(|x| x.1));
        }
        self.collect_deferred(
            items,
            &deferred,
            &deferred_sheets,
            out,
            strict,
            &mut mismatched,
        );
        if let Some(r) = relabelled {
            r.extend(mismatched);
            r.sort_unstable();
            r.dedup();
        }
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

    /// Looks every deferred item up in the candidate sheets.
    fn collect_deferred(
        &self,
        items: &[Item],
        deferred: &[Deferred],
        sheets: &[u32],
        out: &mut FastMap<u32, SheetHits>,
        strict: bool,
        mismatched: &mut Vec<u32>,
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
                        match hit {
                            Some(_) if strict && !self.currency_agrees(id, tok.currency) => {
                                mismatched.push(s);
                            }
                            Some(h) => hits.push(h),
                            None => {}
                        }
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
}
