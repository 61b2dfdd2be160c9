//! Where each live cell is: (sheet, row, column) -> cell id, the latest read winning.
//!
//! A map of its own because at 10M cells one hash map of every position was the largest
//! part of the index (16-byte entries in a table kept under 7/8 full: about 285 MiB), and
//! it alone put a 10M-cell index over 1 GiB. Sheets are read as ranges, so a sheet's
//! positions are nearly always a dense rectangle: a grid of ids (4 bytes a position) holds
//! them. A sheet whose positions are too scattered for a grid (a few cells far apart) keeps
//! a hash map, randomly seeded like the one it replaces (the positions come from the
//! documents read).

use std::collections::HashMap;

/// No cell at this position of a grid.
const NONE: u32 = u32::MAX;
/// A grid may hold at most this many slots per live cell (plus [`SLACK`]) before its sheet
/// moves to a map: a grid of 4-byte slots then still takes less than the map's ~20 bytes
/// a cell.
const SPARSE_RATIO: usize = 4;
const SLACK: usize = 4096;

#[derive(Clone, Debug)]
enum SheetPositions {
    /// Row-major ids, `cols` a row, `NONE` where no cell is.
    Grid {
        rows: u32,
        cols: u32,
        ids: Vec<u32>,
        live: usize,
    },
    /// (row << 16 | col) -> id.
    Map(HashMap<u64, u32>),
}

impl Default for SheetPositions {
    fn default() -> Self {
        SheetPositions::Grid {
            rows: 0,
            cols: 0,
            ids: Vec::new(),
            live: 0,
        }
    }
}

/// Row and column as the index files them: rows past 2^20 - 1 and columns past 2^16 - 1
/// share the last one (as the packed position keys always did).
fn clamp(row: u32, col: u32) -> (u32, u32) {
    (row.min(0xF_FFFF), col.min(0xFFFF))
}

fn map_key(row: u32, col: u32) -> u64 {
    (u64::from(row) << 16) | u64::from(col)
}

impl SheetPositions {
    fn get(&self, row: u32, col: u32) -> Option<u32> {
        match self {
            SheetPositions::Grid {
                rows, cols, ids, ..
            } => {
                if row >= *rows || col >= *cols {
                    return None;
                }
                let slot = row as usize * *cols as usize + col as usize;
                ids.get(slot).copied().filter(|id| *id != NONE)
            }
            SheetPositions::Map(m) => m.get(&map_key(row, col)).copied(),
        }
    }

    fn remove(&mut self, row: u32, col: u32) -> Option<u32> {
        match self {
            SheetPositions::Grid {
                rows,
                cols,
                ids,
                live,
            } => {
                if row >= *rows || col >= *cols {
                    return None;
                }
                let slot = ids.get_mut(row as usize * *cols as usize + col as usize)?;
                let old = std::mem::replace(slot, NONE);
                (old != NONE).then(|| {
                    *live -= 1;
                    old
                })
            }
            SheetPositions::Map(m) => m.remove(&map_key(row, col)),
        }
    }

    fn insert(&mut self, row: u32, col: u32, id: u32) {
        if let SheetPositions::Grid {
            rows,
            cols,
            ids,
            live,
        } = self
        {
            if row >= *rows || col >= *cols {
                // Grown by half again each way it outgrows, so a sheet read a few rows at a
                // time is re-laid out a logarithmic number of times.
                let grow = |have: u32, need: u32| {
                    if need < have {
                        have
                    } else {
                        need.saturating_add(1).max(have.saturating_add(have / 2))
                    }
                };
                let (new_rows, new_cols) = (grow(*rows, row), grow(*cols, col));
                let area = new_rows as usize * new_cols as usize;
                if area > SPARSE_RATIO * (*live + 1) + SLACK {
                    *self = SheetPositions::Map(self.to_map());
                    self.insert(row, col, id);
                    return;
                }
                let mut grown = vec![NONE; area];
                // `max(1)`: an empty grid has no columns (and no ids).
                for (r, line) in ids.chunks((*cols as usize).max(1)).enumerate() {
                    let at = r * new_cols as usize;
                    if let Some(dst) = grown.get_mut(at..at + line.len()) {
                        dst.copy_from_slice(line);
                    }
                }
                *ids = grown;
                (*rows, *cols) = (new_rows, new_cols);
            }
            if let Some(slot) = ids.get_mut(row as usize * *cols as usize + col as usize) {
                if *slot == NONE {
                    *live += 1;
                }
                *slot = id;
            }
            return;
        }
        if let SheetPositions::Map(m) = self {
            m.insert(map_key(row, col), id);
        }
    }

    fn to_map(&self) -> HashMap<u64, u32> {
        match self {
            SheetPositions::Grid { cols, ids, .. } => ids
                .iter()
                .enumerate()
                .filter(|(_, id)| **id != NONE)
                .map(|(slot, id)| {
                    let (r, c) = (slot / *cols as usize, slot % *cols as usize);
                    (map_key(r as u32, c as u32), *id)
                })
                .collect(),
            SheetPositions::Map(m) => m.clone(),
        }
    }

    fn ids_mut(&mut self) -> Box<dyn Iterator<Item = &mut u32> + '_> {
        match self {
            SheetPositions::Grid { ids, .. } => Box::new(ids.iter_mut().filter(|id| **id != NONE)),
            SheetPositions::Map(m) => Box::new(m.values_mut()),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            SheetPositions::Grid { ids, .. } => ids.capacity() * 4,
            // Key, value and padding, and hashbrown's control byte.
            SheetPositions::Map(m) => m.capacity() * 17,
        }
    }
}

/// Every live cell's position, per sheet (sheet ids index `sheets`).
#[derive(Clone, Debug, Default)]
pub(super) struct Positions {
    sheets: Vec<SheetPositions>,
}

impl Positions {
    pub(super) fn get(&self, sheet: u32, row: u32, col: u32) -> Option<u32> {
        let (row, col) = clamp(row, col);
        self.sheets.get(sheet as usize)?.get(row, col)
    }

    pub(super) fn contains(&self, sheet: u32, row: u32, col: u32) -> bool {
        self.get(sheet, row, col).is_some()
    }

    pub(super) fn remove(&mut self, sheet: u32, row: u32, col: u32) -> Option<u32> {
        let (row, col) = clamp(row, col);
        self.sheets.get_mut(sheet as usize)?.remove(row, col)
    }

    pub(super) fn insert(&mut self, sheet: u32, row: u32, col: u32, id: u32) {
        let (row, col) = clamp(row, col);
        let s = sheet as usize;
        if self.sheets.len() <= s {
            self.sheets.resize_with(s + 1, SheetPositions::default);
        }
        if let Some(p) = self.sheets.get_mut(s) {
            p.insert(row, col, id);
        }
    }

    /// Renumbers every id (compaction).
    pub(super) fn remap(&mut self, f: impl Fn(u32) -> u32) {
        for s in &mut self.sheets {
            for id in s.ids_mut() {
                *id = f(*id);
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.sheets
            .iter()
            .map(SheetPositions::heap_bytes)
            .sum::<usize>()
            + self.sheets.capacity() * std::mem::size_of::<SheetPositions>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracker_eval::Rng;

    #[test]
    fn positions_answer_as_a_map_of_every_position_does() {
        // Dense reads grown a few rows at a time, scattered cells that turn a sheet into a
        // map, replacements and removals, clamped far positions: checked against a map.
        let mut rng = Rng::new(11);
        let mut p = Positions::default();
        let mut want: HashMap<(u32, u32, u32), u32> = HashMap::new();
        let key = |s: u32, r: u32, c: u32| (s, r.min(0xF_FFFF), c.min(0xFFFF));
        let mut dense = 0u32;
        for step in 0..20_000u32 {
            let s = rng.below(3) as u32;
            let (r, c) = match s {
                0 => {
                    dense += 1;
                    (dense / 40, dense % 40)
                }
                1 => (rng.below(30) as u32, rng.below(12) as u32),
                _ => (rng.below(2_000_000) as u32, rng.below(70_000) as u32),
            };
            if rng.below(5) == 0 {
                assert_eq!(p.remove(s, r, c), want.remove(&key(s, r, c)));
            } else {
                p.insert(s, r, c, step);
                want.insert(key(s, r, c), step);
            }
        }
        for (&(s, r, c), &id) in &want {
            assert_eq!(p.get(s, r, c), Some(id), "{s} {r} {c}");
        }
        assert_eq!(p.get(0, 5_000, 3), None);
        assert_eq!(p.get(9, 0, 0), None);
        assert!(matches!(p.sheets[2], SheetPositions::Map(_)));
        assert!(matches!(p.sheets[0], SheetPositions::Grid { .. }));
        p.remap(|id| id + 1);
        for (&(s, r, c), &id) in &want {
            assert_eq!(p.get(s, r, c), Some(id + 1));
        }
    }
}
