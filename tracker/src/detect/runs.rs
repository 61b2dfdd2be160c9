//! Sorted runs: the log-structured sorted multimap (u64 key -> cell id) behind each index of
//! the detector (numbers, numbers per sheet, texts, passage fingerprints).
//!
//! A file of its own because it knows nothing of cells or sheets: keys, ids, the block tag
//! beside each entry and the fence that keeps lookups in cache. Runs whose sizes halve are
//! merged on insert, so lookups never need `&mut`.

/// Keys per fence entry. A run keeps every `FENCE`-th key in a separate small array; a
/// lookup binary-searches that (a few hundred KiB for a million keys, so it stays in cache)
/// and then one block of `FENCE` keys (four cache lines). A plain binary search over a
/// multi-megabyte run misses the cache on nearly every step past the first dozen, and that
/// was a third of `check` at 1M cells.
const FENCE: usize = 32;

/// One sorted run: keys, the cell id of each, the block tag of each (see
/// [`block_tag`](super::block_vote::block_tag); only the numbers index keeps them, empty
/// elsewhere), and the fence (every `FENCE`-th key).
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

    /// [`Runs::push_batch`] of (key, id, block tag).
    pub(super) fn push_tagged(&mut self, mut batch: Vec<(u64, u32, u32)>) {
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
    pub(super) fn query(&self, lo: u64, hi: u64, cap: usize, mut f: impl FnMut(u32)) -> usize {
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
    pub(super) fn query_tagged(
        &self,
        lo: u64,
        hi: u64,
        cap: usize,
        mut f: impl FnMut(u32, u32),
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
    pub(super) fn enumerate(
        &self,
        spans: &[(usize, usize)],
        cap: usize,
        mut f: impl FnMut(u32),
    ) -> usize {
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
    pub(super) fn query_in(
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
            if let Some(&tag) = merged.tags.get(i)
                && let Some(t) = merged.tags.get_mut(kept)
            {
                *t = tag;
            }
            kept += 1;
        }
        if kept > 0 {
            let Run {
                mut keys,
                mut ids,
                mut tags,
                ..
            } = merged;
            keys.truncate(kept);
            ids.truncate(kept);
            tags.truncate(kept);
            keys.shrink_to_fit();
            ids.shrink_to_fit();
            tags.shrink_to_fit();
            self.runs.push(Run::new(keys, ids, tags));
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
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
        tags: a_tags,
        fence: a_fence,
    } = a;
    let Run {
        keys: b_keys,
        ids: b_ids,
        tags: b_tags,
        fence: b_fence,
    } = b;
    drop((a_keys, b_keys, a_fence, b_fence));
    let ids = interleave(&from_a, n, a_ids, b_ids);
    // Tags follow their entries (both runs have them, or neither).
    let tags = if a_tags.is_empty() && b_tags.is_empty() {
        Vec::new()
    } else {
        interleave(&from_a, n, a_tags, b_tags)
    };
    Run::new(keys, ids, tags)
}

/// One column of a merge: entry i from `a` where bit i of `from_a` is set, else from `b`,
/// each in order. Takes the columns so they are freed on return.
fn interleave(from_a: &[u64], n: usize, a: Vec<u32>, b: Vec<u32>) -> Vec<u32> {
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
    fn block_tags_stay_beside_their_entries_through_merges_and_compaction() {
        // Each entry's tag is a function of its id; compaction drops odd ids and renumbers.
        let tag = |id: u32| id.wrapping_mul(2_654_435_761) ^ 0xABC;
        let mut rng = eval::Rng::new(4);
        let mut runs = Runs::default();
        let mut next = 0u32;
        for size in [3000, 1400, 600, 250, 120, 50, 20, 9, 4] {
            let batch: Vec<(u64, u32, u32)> = (0..size)
                .map(|_| {
                    next += 1;
                    (rng.below(1500) as u64, next, tag(next))
                })
                .collect();
            runs.push_tagged(batch);
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
                let mut tagged = Vec::new();
                let m = runs.query_tagged(lo, hi, usize::MAX, |id, t| tagged.push((id, t)));
                assert_eq!(n, m);
                ids.sort_unstable();
                tagged.sort_unstable();
                assert_eq!(ids, tagged.iter().map(|x| x.0).collect::<Vec<_>>());
                // Renumbered ids keep the tag of the entry they were (old id = 2 x new id).
                let old = |id: u32| if compact { id * 2 } else { id };
                assert!(tagged.iter().all(|(id, t)| *t == tag(old(*id))));
            }
        }
    }
}
