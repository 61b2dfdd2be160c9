//! Sorted runs: the log-structured sorted multimap (u64 key -> cell id) behind each index of
//! the detector (numbers, numbers per sheet, texts, passage fingerprints).
//!
//! A file of its own because it knows nothing of cells or sheets: keys, ids, the place
//! beside each entry and the fence that keeps lookups in cache. Runs whose sizes halve are
//! merged on insert, so lookups never need `&mut`.

/// Keys per fence entry. A run keeps every `FENCE`-th key in a separate small array; a
/// lookup binary-searches that (a few hundred KiB for a million keys, so it stays in cache)
/// and then one block of `FENCE` keys (four cache lines). A plain binary search over a
/// multi-megabyte run misses the cache on nearly every step past the first dozen, and that
/// was a third of `check` at 1M cells.
const FENCE: usize = 32;

/// The place passed for an entry of a run that keeps none (never a packed place).
pub(super) const NO_PLACE: u64 = u64::MAX;

/// Fence entries a run needs before it keeps a [`Radix`]: a smaller fence is a few cache
/// lines, searched as fast without one.
const RADIX_MIN_FENCE: usize = 64;

/// Where in a run's fence the lower bound of a key lies, by the key's high bits: one bucket
/// per fence entry over the fence's key range, each holding the fence index of its first
/// key. A lookup reads its bucket's two entries and binary-searches only the fence entries
/// between them (a handful, as keys are f64 bits and so spread roughly by magnitude)
/// instead of all of them: at 1M cells that is about 5 steps instead of 15 for each of the
/// hundreds of bounds a check looks up, run by run.
#[derive(Clone, Debug, Default)]
struct Radix {
    base: u64,
    shift: u32,
    /// `starts[b]`: fence entries below bucket `b`'s first key; one more than the buckets.
    starts: Vec<u32>,
}

impl Radix {
    fn new(fence: &[u64]) -> Radix {
        let (Some(&base), Some(&top)) = (fence.first(), fence.last()) else {
            return Radix::default();
        };
        if fence.len() < RADIX_MIN_FENCE {
            return Radix::default();
        }
        let buckets = fence.len() as u64;
        let span = top - base;
        let mut shift = 0;
        while shift < 63 && (span >> shift) >= buckets {
            shift += 1;
        }
        let mut starts = Vec::with_capacity(fence.len() + 1);
        let mut j = 0;
        for b in 0..=buckets {
            // Past the last key that fits in 64 bits, a bucket starts at u64::MAX.
            let fits = shift == 0 || b >> (64 - shift) == 0;
            let start = if fits {
                (b << shift).saturating_add(base)
            } else {
                u64::MAX
            };
            while fence.get(j).is_some_and(|f| *f < start) {
                j += 1;
            }
            starts.push(j as u32);
        }
        Radix {
            base,
            shift,
            starts,
        }
    }

    /// Fence indices `(a, b)` such that every fence entry before `a` is below `x` and every
    /// entry from `b` on is not; `(0, len)` without buckets.
    fn window(&self, x: u64, len: usize) -> (usize, usize) {
        let Some(last) = self.starts.len().checked_sub(2) else {
            return (0, len);
        };
        let b = usize::try_from(x.saturating_sub(self.base) >> self.shift)
            .unwrap_or(usize::MAX)
            .min(last);
        match (self.starts.get(b), self.starts.get(b + 1)) {
            (Some(a), Some(z)) => (*a as usize, *z as usize),
            _ => (0, len),
        }
    }
}

/// One sorted run: keys, the cell id of each, the packed place of each (see
/// [`Place`](super::index::Place); only the numbers index keeps them, empty elsewhere),
/// the fence (every `FENCE`-th key) and the fence's radix.
#[derive(Clone, Debug, Default)]
struct Run {
    keys: Vec<u64>,
    ids: Vec<u32>,
    places: Vec<u64>,
    fence: Vec<u64>,
    radix: Radix,
}

impl Run {
    fn new(keys: Vec<u64>, ids: Vec<u32>, places: Vec<u64>) -> Self {
        let fence: Vec<u64> = keys.iter().step_by(FENCE).copied().collect();
        let radix = Radix::new(&fence);
        Run {
            keys,
            ids,
            places,
            fence,
            radix,
        }
    }

    /// The number of fence entries below `x`.
    fn fence_rank(&self, x: u64) -> usize {
        let (a, b) = self.radix.window(x, self.fence.len());
        a + self
            .fence
            .get(a..b)
            .unwrap_or(&[])
            .partition_point(|f| *f < x)
    }

    /// The first index within `s0..s1` whose key is at least `x` (`s1` if none is).
    fn lower_bound_in(&self, s0: usize, s1: usize, x: u64) -> usize {
        let s1 = s1.min(self.keys.len());
        let s0 = s0.min(s1);
        // fence[i] is keys[i * FENCE]; the fence entries inside the span are lo..hi.
        let (lo, hi) = (s0.div_ceil(FENCE), s1.div_ceil(FENCE));
        let j = self.fence_rank(x).clamp(lo, hi);
        // keys[(j - 1) * FENCE] < x (if j > lo) and keys[j * FENCE] >= x (if j < hi): at
        // most one block of keys is left. It is counted, not bisected: the block's four
        // cache lines are then fetched at once instead of one after another.
        let a = if j > lo { (j - 1) * FENCE + 1 } else { s0 };
        let b = if j < hi { j * FENCE } else { s1 };
        a + self
            .keys
            .get(a..b)
            .unwrap_or(&[])
            .iter()
            .filter(|k| **k < x)
            .count()
    }

    /// The first index within `s0..s1` whose key is above `x`.
    fn upper_bound_in(&self, s0: usize, s1: usize, x: u64) -> usize {
        match x.checked_add(1) {
            Some(next) => self.lower_bound_in(s0, s1, next),
            None => s1.min(self.keys.len()),
        }
    }

    /// Index span of keys in `lo..=hi`.
    fn span(&self, lo: u64, hi: u64) -> (usize, usize) {
        self.span_in(0, self.keys.len(), lo, hi)
    }

    /// Index span of keys in `lo..=hi` within the span `s0..s1`.
    fn span_in(&self, s0: usize, s1: usize, lo: u64, hi: u64) -> (usize, usize) {
        (
            self.lower_bound_in(s0, s1, lo),
            self.upper_bound_in(s0, s1, hi),
        )
    }

    /// Bounds on the lower bound of `x` read from the fence alone: no block of keys is
    /// touched, so no cache miss.
    fn fence_bounds(&self, x: u64) -> (usize, usize) {
        match self.fence_rank(x) {
            0 => (0, 0),
            j => ((j - 1) * FENCE + 1, (j * FENCE).min(self.keys.len())),
        }
    }

    /// [`Run::fence_bounds`] of the upper bound of `x`.
    fn fence_bounds_above(&self, x: u64) -> (usize, usize) {
        match x.checked_add(1) {
            Some(next) => self.fence_bounds(next),
            None => (self.keys.len(), self.keys.len()),
        }
    }

    fn ids_in(&self, a: usize, b: usize) -> &[u32] {
        self.ids.get(a..b).unwrap_or(&[])
    }
}

/// A log-structured sorted multimap u64 -> cell id: sorted runs whose sizes halve, merged
/// on insert (amortised O(log n) per entry), so lookups never need `&mut`.
#[derive(Clone, Debug, Default)]
pub(super) struct Runs {
    runs: Vec<Run>,
}

impl Runs {
    pub(super) fn push_batch(&mut self, mut batch: Vec<(u64, u32)>) {
        if batch.is_empty() {
            return;
        }
        batch.sort_unstable();
        let (k, v) = batch.into_iter().unzip();
        self.push_run(Run::new(k, v, Vec::new()));
    }

    /// [`Runs::push_batch`] of (key, id, place).
    pub(super) fn push_placed(&mut self, mut batch: Vec<(u64, u32, u64)>) {
        if batch.is_empty() {
            return;
        }
        batch.sort_unstable();
        let mut run = Run::default();
        for (k, v, t) in batch {
            run.keys.push(k);
            run.ids.push(v);
            run.places.push(t);
        }
        self.push_run(Run::new(run.keys, run.ids, run.places));
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
    pub(super) fn query(&self, lo: u64, hi: u64, cap: usize, mut f: impl FnMut(u32)) -> usize {
        self.query_placed(lo, hi, cap, |id, _| f(id))
    }

    /// Per run, the index span of keys in `lo..=hi`: narrows later lookups to a small,
    /// cache-resident slice (one sheet's numbers).
    pub(super) fn spans(&self, lo: u64, hi: u64) -> Vec<(usize, usize)> {
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
    pub(super) fn count_within(
        &self,
        lo: u64,
        hi: u64,
        cap: usize,
        out: &mut Vec<(usize, usize)>,
    ) -> (usize, bool) {
        out.clear();
        let (mut least, mut estimate) = (0, 0);
        for run in &self.runs {
            let (a0, a1) = run.fence_bounds(lo);
            let (b0, b1) = run.fence_bounds_above(hi);
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

    /// Calls `f(id, place)` for each entry with key in `lo..=hi` unless more than `cap`
    /// match; returns the number of matches. Reads no cell: ids and places lie side by side
    /// in the run, in key order.
    pub(super) fn query_placed(
        &self,
        lo: u64,
        hi: u64,
        cap: usize,
        f: impl FnMut(u32, u64),
    ) -> usize {
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
        self.enumerate_placed(spans, cap, f)
    }

    /// Entries in `spans`.
    fn count(spans: &[(usize, usize)]) -> usize {
        spans.iter().map(|(a, b)| b.saturating_sub(*a)).sum()
    }

    /// Calls `f(id, place)` for each entry in `spans` unless more than `cap` ([`NO_PLACE`]
    /// in runs that keep none); returns their number.
    pub(super) fn enumerate_placed(
        &self,
        spans: &[(usize, usize)],
        cap: usize,
        mut f: impl FnMut(u32, u64),
    ) -> usize {
        let total = Self::count(spans);
        if total <= cap {
            for (run, (a, b)) in self.runs.iter().zip(spans) {
                let ids = run.ids_in(*a, *b);
                match run.places.get(*a..*b) {
                    Some(places) if !places.is_empty() => {
                        for (id, place) in ids.iter().zip(places) {
                            f(*id, *place);
                        }
                    }
                    _ => {
                        for id in ids {
                            f(*id, NO_PLACE);
                        }
                    }
                }
            }
        }
        total
    }

    /// [`Runs::query`] restricted to `spans` (from [`Runs::spans`]).
    pub(super) fn query_in(
        &self,
        spans: &[(usize, usize)],
        lo: u64,
        hi: u64,
        cap: usize,
        mut f: impl FnMut(u32),
    ) -> usize {
        self.query_in_placed(spans, lo, hi, cap, |id, _| f(id))
    }

    /// [`Runs::query_in`] with each entry's place ([`NO_PLACE`] in runs that keep none).
    pub(super) fn query_in_placed(
        &self,
        spans: &[(usize, usize)],
        lo: u64,
        hi: u64,
        cap: usize,
        f: impl FnMut(u32, u64),
    ) -> usize {
        let mut found = [(0usize, 0usize); 8];
        if spans.len() > found.len() {
            let found: Vec<(usize, usize)> = self
                .runs
                .iter()
                .zip(spans)
                .map(|(run, (s0, s1))| run.span_in(*s0, *s1, lo, hi))
                .collect();
            return self.enumerate_placed(&found, cap, f);
        }
        for ((run, (s0, s1)), fd) in self.runs.iter().zip(spans).zip(found.iter_mut()) {
            *fd = run.span_in(*s0, *s1, lo, hi);
        }
        self.enumerate_placed(
            found.get(..spans.len().min(self.runs.len())).unwrap_or(&[]),
            cap,
            f,
        )
    }

    /// Keeps the entries whose id `map` sends somewhere, renumbered, merged into one run.
    /// `map` must preserve the order of the ids it keeps, so the run stays sorted.
    pub(super) fn retain_map(&mut self, map: impl Fn(u32) -> Option<u32>) {
        let all = std::mem::take(&mut self.runs);
        let mut merged = Run::default();
        for run in all {
            merged = merge(merged, run);
        }
        // Filtered in place: a second copy of a 10M-entry run was most of the peak memory
        // of compacting a 10M-cell index.
        let mut kept = 0;
        for i in 0..merged.keys.len() {
            let (Some(&key), Some(&id)) = (merged.keys.get(i), merged.ids.get(i)) else {
                break;
            };
            let Some(new) = map(id) else {
                continue;
            };
            if let Some(k) = merged.keys.get_mut(kept) {
                *k = key;
            }
            if let Some(v) = merged.ids.get_mut(kept) {
                *v = new;
            }
            if let Some(&place) = merged.places.get(i)
                && let Some(t) = merged.places.get_mut(kept)
            {
                *t = place;
            }
            kept += 1;
        }
        if kept > 0 {
            let Run {
                mut keys,
                mut ids,
                mut places,
                ..
            } = merged;
            keys.truncate(kept);
            ids.truncate(kept);
            places.truncate(kept);
            keys.shrink_to_fit();
            ids.shrink_to_fit();
            places.shrink_to_fit();
            self.runs.push(Run::new(keys, ids, places));
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.runs
            .iter()
            .map(|r| {
                r.keys.capacity() * 8
                    + r.ids.capacity() * 4
                    + r.places.capacity() * 8
                    + r.fence.capacity() * 8
                    + r.radix.starts.capacity() * 4
            })
            .sum::<usize>()
            + self.runs.capacity() * std::mem::size_of::<Run>()
    }
}

/// Merges two runs (equal keys: `a`'s first). One column at a time: the order is decided
/// once from the keys into a bitmap, each input column is dropped as soon as its merged
/// copy is made, so the memory held at once beyond the inputs is one column (the keys),
/// not the whole run: at 10M cells that was the difference between staying under 1 GiB
/// and not.
fn merge(a: Run, b: Run) -> Run {
    // Nothing to merge with (the first run compaction takes): no copy at all.
    if b.keys.is_empty() {
        return a;
    }
    if a.keys.is_empty() {
        return b;
    }
    let n = a.keys.len() + b.keys.len();
    // Bit i set: entry i of the merged run comes from `a`.
    let mut from_a = vec![0u64; n.div_ceil(64)];
    let mut keys = Vec::with_capacity(n);
    let (mut i, mut j) = (0, 0);
    while i < a.keys.len() || j < b.keys.len() {
        let take_a = match (a.keys.get(i), b.keys.get(j)) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            _ => false,
        };
        if take_a {
            if let Some(w) = from_a.get_mut(keys.len() / 64) {
                *w |= 1 << (keys.len() % 64);
            }
            keys.extend(a.keys.get(i));
            i += 1;
        } else {
            keys.extend(b.keys.get(j));
            j += 1;
        }
    }
    let Run {
        keys: a_keys,
        ids: a_ids,
        places: a_places,
        fence: a_fence,
        radix: a_radix,
    } = a;
    let Run {
        keys: b_keys,
        ids: b_ids,
        places: b_places,
        fence: b_fence,
        radix: b_radix,
    } = b;
    drop((a_keys, b_keys, a_fence, b_fence, a_radix, b_radix));
    let ids = interleave(&from_a, n, a_ids, b_ids);
    // Places follow their entries (both runs have them, or neither).
    let places = if a_places.is_empty() && b_places.is_empty() {
        Vec::new()
    } else {
        interleave(&from_a, n, a_places, b_places)
    };
    Run::new(keys, ids, places)
}

/// One column of a merge: entry i from `a` where bit i of `from_a` is set, else from `b`,
/// each in order. Takes the columns so they are freed on return.
fn interleave<T>(from_a: &[u64], n: usize, a: Vec<T>, b: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    let (mut a, mut b) = (a.into_iter(), b.into_iter());
    for i in 0..n {
        let take_a = from_a.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1);
        out.extend(if take_a { a.next() } else { b.next() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracker_eval as eval;

    #[test]
    fn fenced_runs_find_exactly_what_a_scan_finds() {
        // Many equal keys (7,600 entries over 2,000 keys) straddle fence boundaries; ten runs
        // before compaction (more than the lookups' fixed span buffers hold), one after.
        let mut rng = eval::Rng::new(3);
        let mut runs = Runs::default();
        let mut all: Vec<(u64, u32)> = Vec::new();
        for size in [4000, 1900, 900, 400, 190, 90, 40, 19, 9, 4] {
            let batch: Vec<(u64, u32)> = (0..size)
                .map(|i| (rng.below(2000) as u64, (all.len() + i) as u32))
                .collect();
            all.extend(&batch);
            runs.push_batch(batch);
        }
        assert_eq!(runs.runs.len(), 10);
        for compact in [false, true] {
            if compact {
                runs.retain_map(Some);
                assert_eq!(runs.runs.len(), 1);
            }
            for _ in 0..500 {
                let lo = rng.below(2100) as u64;
                let hi = lo + rng.below(300) as u64;
                let mut want: Vec<u32> = all
                    .iter()
                    .filter(|(k, _)| lo <= *k && *k <= hi)
                    .map(|x| x.1)
                    .collect();
                want.sort_unstable();
                let sorted = |mut v: Vec<u32>| {
                    v.sort_unstable();
                    v
                };
                let mut got = Vec::new();
                let n = runs.query(lo, hi, usize::MAX, |id| got.push(id));
                assert_eq!((n, sorted(got)), (want.len(), want.clone()));
                // Narrowed to a wider window's spans.
                let spans = runs.spans(lo.saturating_sub(50), hi + 50);
                let mut got = Vec::new();
                runs.query_in(&spans, lo, hi, usize::MAX, |id| got.push(id));
                assert_eq!(sorted(got), want);
                // Counted from the fences: exact up to the cap, an estimate within FENCE per
                // run past it, and either way spans that hold every match.
                let mut sp = Vec::new();
                let (count, exact) = runs.count_within(lo, hi, 40, &mut sp);
                if exact {
                    assert_eq!(count, want.len());
                } else {
                    assert!(want.len() > 40, "{lo}..={hi}: {}", want.len());
                    assert!(count.abs_diff(want.len()) <= FENCE * runs.runs.len());
                }
                let mut got = Vec::new();
                runs.query_in(&sp, lo, hi, usize::MAX, |id| got.push(id));
                assert_eq!(sorted(got), want);
            }
        }
    }

    #[test]
    fn the_radix_finds_every_bound_a_full_search_finds_over_keys_of_any_spread() {
        // Keys as the numbers index makes them (f64 bits of magnitudes over 12 decades),
        // with the outliers that stretch a radix's range: 0, subnormals, the largest
        // finite value, and the very ends of u64.
        let mut rng = eval::Rng::new(11);
        let mut keys: Vec<u64> = (0..20_000)
            .map(|_| (10f64.powf(-4.0 + 12.0 * rng.f64())).to_bits())
            .collect();
        keys.extend([
            0,
            1,
            5e-324f64.to_bits(),
            f64::MAX.to_bits(),
            u64::MAX - 1,
            u64::MAX,
        ]);
        // Runs of many sizes: with and without a radix, and equal keys across fences.
        let dup: Vec<u64> = keys.iter().step_by(7).copied().collect();
        keys.extend(dup);
        let mut runs = Runs::default();
        let mut next = 0u32;
        for chunk in keys.chunks(9_000) {
            let batch: Vec<(u64, u32)> = chunk
                .iter()
                .map(|k| {
                    next += 1;
                    (*k, next)
                })
                .collect();
            runs.push_batch(batch);
        }
        assert!(runs.runs.iter().any(|r| !r.radix.starts.is_empty()));
        keys.sort_unstable();
        let probes: Vec<u64> = (0..3_000)
            .map(|i| match i % 4 {
                0 => keys[rng.below(keys.len())],
                1 => keys[rng.below(keys.len())].wrapping_add(1),
                2 => rng.below(1 << 32) as u64 * rng.below(1 << 32) as u64,
                _ => (10f64.powf(-6.0 + 16.0 * rng.f64())).to_bits(),
            })
            .chain([0, 1, u64::MAX - 1, u64::MAX])
            .collect();
        for compact in [false, true] {
            if compact {
                runs.retain_map(Some);
            }
            for run in &runs.runs {
                let mut sorted = run.keys.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, run.keys);
                for &x in &probes {
                    let want = run.keys.partition_point(|k| *k < x);
                    assert_eq!(run.lower_bound_in(0, run.keys.len(), x), want, "{x:#x}");
                    let (a, b) = run.fence_bounds(x);
                    assert!(a <= want && want <= b, "{x:#x}: {a}..{b} vs {want}");
                    let above = run.keys.partition_point(|k| *k <= x);
                    assert_eq!(run.upper_bound_in(0, run.keys.len(), x), above);
                }
            }
            for w in probes.windows(2) {
                let (lo, hi) = (w[0].min(w[1]), w[0].max(w[1]));
                let want = keys.iter().filter(|k| lo <= **k && **k <= hi).count();
                let n = runs.query(lo, hi, 0, |_| {});
                assert_eq!(n, want, "{lo:#x}..={hi:#x}");
            }
        }
    }

    #[test]
    fn places_stay_beside_their_entries_through_merges_and_compaction() {
        // Each entry's place is a function of its id; compaction drops odd ids and renumbers.
        let place = |id: u32| u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 2;
        let mut rng = eval::Rng::new(4);
        let mut runs = Runs::default();
        let mut next = 0u32;
        for size in [3000, 1400, 600, 250, 120, 50, 20, 9, 4] {
            let batch: Vec<(u64, u32, u64)> = (0..size)
                .map(|_| {
                    next += 1;
                    (rng.below(1500) as u64, next, place(next))
                })
                .collect();
            runs.push_placed(batch);
        }
        assert!(runs.runs.len() > 8);
        for compact in [false, true] {
            if compact {
                runs.retain_map(|id| (id % 2 == 0).then_some(id / 2));
            }
            for _ in 0..200 {
                let lo = rng.below(1600) as u64;
                let hi = lo + rng.below(100) as u64;
                let mut ids = Vec::new();
                let n = runs.query(lo, hi, usize::MAX, |id| ids.push(id));
                let mut placed = Vec::new();
                let m = runs.query_placed(lo, hi, usize::MAX, |id, t| placed.push((id, t)));
                // Narrowed to a wider window's spans, with places too.
                let spans = runs.spans(lo.saturating_sub(50), hi + 50);
                let mut narrowed = Vec::new();
                runs.query_in_placed(&spans, lo, hi, usize::MAX, |id, t| narrowed.push((id, t)));
                narrowed.sort_unstable();
                assert_eq!(n, m);
                ids.sort_unstable();
                placed.sort_unstable();
                assert_eq!(ids, placed.iter().map(|x| x.0).collect::<Vec<_>>());
                // Renumbered ids keep the place of the entry they were (old id = 2 x new id).
                let old = |id: u32| if compact { id * 2 } else { id };
                assert!(placed.iter().all(|(id, t)| *t == place(old(*id))));
                assert_eq!(narrowed, placed);
            }
        }
    }
}
