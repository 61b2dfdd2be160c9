//! Building the index: indexing the cells of a read, keeping an unchanged re-read cheap,
//! dropping replaced cells (compaction), and the keys cells are filed under.
//!
//! Everything that changes the detector's index is here; the lookups ([`super::lookup`])
//! only read it.

use super::runs::NO_PLACE;
use super::{Cell, DEAD, Detector, FLAG_DATE, SheetInfo, parse};
use crate::model::{CellAddr, CellValue, DocumentRef, ProvenanceId, ReadCell, ReadEvent};

/// A text cell's `value`: a NaN (so never taken for a number) carrying 51 bits of the
/// folded text's hash, so a re-read can tell whether the text changed.
fn text_marker(hash: u64) -> f64 {
    f64::from_bits(0x7FF8_0000_0000_0000 | (hash & 0x0007_FFFF_FFFF_FFFF))
}

/// What the index keeps of a number format: whether it shows a date, and the currency it
/// shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct FormatInfo {
    date: bool,
    cur: u8,
}

/// Number formats read once per read, not once per cell: a sheet has a few formats (one
/// a column), and a read's cells come row by row, so the last few seen are kept.
#[derive(Default)]
struct FormatMemo {
    seen: Vec<(String, FormatInfo)>,
    next: usize,
}

/// Formats [`FormatMemo`] keeps.
const FORMATS_KEPT: usize = 16;

impl FormatMemo {
    fn info(&mut self, fmt: Option<&str>) -> FormatInfo {
        let Some(fmt) = fmt else {
            return FormatInfo::default();
        };
        if let Some((_, info)) = self.seen.iter().find(|(f, _)| f == fmt) {
            return *info;
        }
        let info = FormatInfo {
            date: parse::is_date_format(fmt),
            cur: parse::format_currency(fmt).to_byte(),
        };
        let entry = (fmt.to_string(), info);
        if self.seen.len() < FORMATS_KEPT {
            self.seen.push(entry);
        } else if let Some(slot) = self.seen.get_mut(self.next % FORMATS_KEPT) {
            *slot = entry;
            self.next += 1;
        }
        info
    }
}

/// Whether a cell read again holds what the indexed cell holds (same number, date format
/// and currency, or same plain text). Text that reads as a date is re-indexed every time:
/// its cell keeps the date, not the text.
fn same_content(cell: &Cell, rc: &ReadCell, formats: &mut FormatMemo) -> bool {
    match &rc.value {
        CellValue::Number(x) if x.is_finite() => {
            let f = formats.info(rc.number_format.as_deref());
            cell.value.to_bits() == x.to_bits()
                && (cell.flags & FLAG_DATE != 0) == f.date
                && cell.cur == f.cur
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

/// Where a numeric cell is and how it shows, packed into the 64 bits kept beside its entry
/// in the numbers index. A lookup reads a value's cells' positions, date flags and
/// currencies from the run it already scans, in key order, instead of from `cells`: each
/// read of a cell of a big index was a cache miss, about 2,000 per check of a 200-value
/// write at 1M cells, and the largest single cost of the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) sheet: u32,
    pub(super) row: u32,
    pub(super) col: u16,
    pub(super) date: bool,
    pub(super) cur: u8,
}

/// Bits of each field of a packed [`Place`], low to high: column 16, row 20 (Excel's
/// 1,048,576 rows), currency 5, date 1, sheet 20. The two top bits stay clear, so no packed
/// place is [`NO_PLACE`].
const ROW_BITS: u32 = 20;
const CUR_BITS: u32 = 5;
const SHEET_BITS: u32 = 20;

impl Place {
    pub(super) fn of(cell: &Cell) -> Place {
        Place {
            sheet: cell.sheet,
            row: cell.row,
            col: cell.col,
            date: cell.flags & FLAG_DATE != 0,
            cur: cell.cur,
        }
    }

    /// The packed place, or [`NO_PLACE`] when a field does not fit (a row past Excel's
    /// last, a millionth sheet): lookups then read the cell itself.
    pub(super) fn pack(self) -> u64 {
        if self.row >> ROW_BITS != 0
            || u32::from(self.cur) >> CUR_BITS != 0
            || self.sheet >> SHEET_BITS != 0
        {
            return NO_PLACE;
        }
        let mut bits = u64::from(self.sheet);
        bits = (bits << 1) | u64::from(self.date);
        bits = (bits << CUR_BITS) | u64::from(self.cur);
        bits = (bits << ROW_BITS) | u64::from(self.row);
        (bits << 16) | u64::from(self.col)
    }

    /// The place packed by [`Place::pack`]; `None` for [`NO_PLACE`].
    pub(super) fn unpack(bits: u64) -> Option<Place> {
        if bits == NO_PLACE {
            return None;
        }
        let field = |shift: u32, width: u32| (bits >> shift) & ((1 << width) - 1);
        Some(Place {
            col: field(0, 16) as u16,
            row: field(16, ROW_BITS) as u32,
            cur: field(16 + ROW_BITS, CUR_BITS) as u8,
            date: field(16 + ROW_BITS + CUR_BITS, 1) == 1,
            sheet: field(17 + ROW_BITS + CUR_BITS, SHEET_BITS) as u32,
        })
    }
}

/// Order-preserving key of a non-negative f64.
pub(super) fn num_key(x: f64) -> u64 {
    x.abs().to_bits()
}

/// Key of a number within its sheet: the sheet, then the value rounded to f32 (order
/// preserving for non-negative values; lookups widen by one ulp and check the exact value).
pub(super) fn sheet_num_key(sheet: u32, x: f64) -> u64 {
    (u64::from(sheet) << 32) | u64::from((x.abs() as f32).to_bits())
}

impl Detector {
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
        let mut formats = FormatMemo::default();
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
                // An agent re-reads the same ranges again and again: an unchanged cell only
                // takes the new read as its label. Replacing it would leave dead copies in
                // the runs until the next compaction, and they count in every lookup (a
                // header read four times would look like common vocabulary).
                if let Some(old) = self.pos.get(sid, row, col)
                    && let Some(c) = self.cells.get_mut(old as usize)
                    && same_content(c, rc, &mut formats)
                {
                    c.read = read_idx;
                    continue;
                }
                if let Some(old) = self.pos.remove(sid, row, col) {
                    self.kill(old);
                }
                let mut cell = Cell {
                    value: f64::NAN,
                    sheet: sid,
                    row,
                    read: read_idx,
                    col: col as u16,
                    flags: 0,
                    cur: 0,
                };
                let id = self.cells.len() as u32;
                let mut indexed = false;
                match &rc.value {
                    CellValue::Number(x) if x.is_finite() => {
                        cell.value = *x;
                        let f = formats.info(rc.number_format.as_deref());
                        if f.date {
                            cell.flags |= FLAG_DATE;
                        }
                        cell.cur = f.cur;
                        nums.push((num_key(*x), id, Place::of(&cell).pack()));
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
                            nums.push((num_key(*serial), id, Place::of(&cell).pack()));
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
                self.sheet_of.push(sid);
                self.pos.insert(sid, row, col, id);
            }
        }
        self.nums.push_placed(nums);
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
        if let Some(s) = self.sheet_of.get_mut(id as usize) {
            *s = DEAD;
        }
        let word = id as usize / 64;
        if self.dead_bits.len() <= word {
            self.dead_bits.resize(word + 1, 0);
        }
        if let Some(w) = self.dead_bits.get_mut(word) {
            *w |= 1 << (id % 64);
        }
        self.dead += 1;
    }

    /// Drops replaced cells, the index entries pointing at them and the reads no live cell
    /// came from any more, renumbers what is left, and merges every run into one, so a
    /// long-running bridge that reads the same ranges again and again stays the same size.
    /// `add_read` calls it when dead cells outnumber live ones; call it after a bulk load to
    /// make lookups a single binary search.
    pub fn compact(&mut self) {
        // New ids in the old order: every run stays sorted by (key, id). Cells move down in
        // place (a copy of a 10M-cell index's cells was a quarter of a gigabyte at once),
        // and with no dead cell the ids stay as they are and no remap is made.
        let mut read_used = vec![false; self.reads.len()];
        let remap: Option<Vec<u32>> = (self.dead > 0).then(|| {
            let mut remap = vec![u32::MAX; self.cells.len()];
            let mut next = 0u32;
            for (old, c) in self.cells.iter().enumerate() {
                if c.sheet != DEAD
                    && let Some(slot) = remap.get_mut(old)
                {
                    *slot = next;
                    next += 1;
                }
            }
            self.cells.retain(|c| c.sheet != DEAD);
            self.sheet_of.retain(|s| *s != DEAD);
            self.sheet_of.shrink_to_fit();
            remap
        });
        for c in &self.cells {
            if let Some(used) = read_used.get_mut(c.read as usize) {
                *used = true;
            }
        }
        let mut cells = std::mem::take(&mut self.cells);
        // Before the runs are merged: their copies are the peak.
        cells.shrink_to_fit();
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
        let map = |id: u32| match &remap {
            Some(remap) => remap.get(id as usize).copied().filter(|n| *n != u32::MAX),
            None => Some(id),
        };
        self.nums.retain_map(map);
        self.sheet_nums.retain_map(map);
        self.texts.retain_map(map);
        self.fps.retain_map(map);
        // `pos` only ever holds live ids.
        if let Some(remap) = &remap {
            self.pos
                .remap(|id| remap.get(id as usize).copied().unwrap_or(u32::MAX));
        }
        reads.shrink_to_fit();
        self.cells = cells;
        self.reads = reads;
        self.dead = 0;
        self.dead_bits = Vec::new();
    }

    /// Number of live indexed cells.
    pub fn len(&self) -> usize {
        self.cells.len() - self.dead
    }

    /// True when no live cell is indexed.
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
        let id = self.pos.get(sid, addr.row, addr.col)?;
        let cell = self.cells.get(id as usize)?;
        self.reads.get(cell.read as usize).copied()
    }

    /// Estimated heap use in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.cells.capacity() * std::mem::size_of::<Cell>()
            + self.sheet_of.capacity() * 4
            + self.dead_bits.capacity() * 8
            + self.pos.heap_bytes()
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
}
