//! A guard for legacy .xls files, run before calamine sees them. calamine reserves memory
//! for the cell count a sheet's DIMENSIONS record declares; a 2 KB file declaring four
//! billion rows makes that reservation fail, and a failed allocation aborts the process
//! (it cannot be caught like a panic). So the compound file (CFB) is opened here, its
//! `Workbook` stream assembled with every sector bounded by the file, and each DIMENSIONS
//! record checked against what an .xls sheet can hold.

use std::collections::HashMap;

use super::{Kind, Limits, Problem};

const MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// The largest sheet BIFF8 can describe: 65,536 rows by 256 columns.
const MAX_XLS_CELLS: u64 = 65_536 * 256;

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn damaged(what: &'static str, detail: &str) -> Problem {
    Problem::Invalid {
        kind: what,
        detail: format!("compound file is damaged: {detail}"),
    }
}

struct Cfb<'a> {
    data: &'a [u8],
    sector: usize,
    fat: Vec<u32>,
}

impl Cfb<'_> {
    fn sector(&self, id: u32) -> Option<&[u8]> {
        let start = (id as usize).checked_add(1)?.checked_mul(self.sector)?;
        self.data.get(start..start.checked_add(self.sector)?)
    }

    /// Follows a chain of sector ids. Each sector is visited at most once, so a cyclic
    /// chain ends and the result is never longer than the file.
    fn chain(&self, start: u32, table: &[u32]) -> Vec<u32> {
        let mut seen = vec![false; table.len()];
        let mut out = Vec::new();
        let mut id = start;
        while let Some(flag) = seen.get_mut(id as usize) {
            if *flag {
                break;
            }
            *flag = true;
            out.push(id);
            match table.get(id as usize) {
                Some(&next) if next != END_OF_CHAIN => id = next,
                _ => break,
            }
        }
        out
    }

    fn read_chain(&self, start: u32) -> Vec<u8> {
        let mut out = Vec::new();
        for id in self.chain(start, &self.fat) {
            if let Some(s) = self.sector(id) {
                out.extend_from_slice(s);
            }
        }
        out
    }
}

/// True when `data` starts like an OLE compound file.
pub(crate) fn is_compound(data: &[u8]) -> bool {
    data.get(..8) == Some(&MAGIC[..])
}

/// An OLE compound file opened far enough to find its streams by name: its sector
/// tables and directory, every chain bounded by the file.
pub(crate) struct Compound<'a> {
    cfb: Cfb<'a>,
    /// The directory, 128 bytes an entry.
    dir: Vec<u8>,
    mini_cutoff: u32,
    first_minifat: u32,
    /// What the file is said to be, for errors (`xls`, `OLE object`).
    what: &'static str,
}

impl<'a> Compound<'a> {
    pub(crate) fn open(data: &'a [u8], what: &'static str) -> Result<Self, Problem> {
        if !is_compound(data) {
            return Err(Problem::Invalid {
                kind: what,
                detail: "the file is not an OLE compound file (an .xls saved as something else?)"
                    .to_string(),
            });
        }
        let short = || damaged(what, "short header");
        let shift = u16_at(data, 0x1E).ok_or_else(short)?;
        if shift != 9 && shift != 12 {
            return Err(damaged(what, "unexpected sector size"));
        }
        let sector = 1usize << shift;
        let mini_shift = u16_at(data, 0x20).ok_or_else(short)?;
        if mini_shift != 6 {
            return Err(damaged(what, "unexpected mini sector size"));
        }
        let first_dir = u32_at(data, 0x30).ok_or_else(short)?;
        let mini_cutoff = u32_at(data, 0x38).ok_or_else(short)?;
        let first_minifat = u32_at(data, 0x3C).ok_or_else(short)?;
        let first_difat = u32_at(data, 0x44).ok_or_else(short)?;
        let sectors_in_file = data.len() / sector;

        // FAT sector ids: 109 in the header, the rest in a chain of DIFAT sectors.
        let mut fat_ids: Vec<u32> = (0..109)
            .filter_map(|k| u32_at(data, 0x4C + 4 * k))
            .filter(|&id| (id as usize) < sectors_in_file)
            .collect();
        let mut difat = first_difat;
        let mut hops = 0;
        let per = sector / 4;
        while (difat as usize) < sectors_in_file && hops < sectors_in_file {
            let start = (difat as usize + 1) * sector;
            let Some(s) = data.get(start..start + sector) else {
                break;
            };
            for k in 0..per - 1 {
                if let Some(id) = u32_at(s, 4 * k)
                    && (id as usize) < sectors_in_file
                {
                    fat_ids.push(id);
                }
            }
            difat = u32_at(s, 4 * (per - 1)).unwrap_or(END_OF_CHAIN);
            hops += 1;
        }
        let mut cfb = Cfb {
            data,
            sector,
            fat: Vec::new(),
        };
        let mut fat = Vec::new();
        for id in fat_ids {
            if let Some(s) = cfb.sector(id) {
                fat.extend(s.chunks_exact(4).filter_map(|c| u32_at(c, 0)));
            }
            // Entries beyond the file's sectors can only point outside it.
            if fat.len() > sectors_in_file {
                break;
            }
        }
        fat.truncate(sectors_in_file);
        cfb.fat = fat;
        let dir = cfb.read_chain(first_dir);
        if dir.len() < 128 {
            return Err(damaged(what, "no directory"));
        }
        Ok(Compound {
            cfb,
            dir,
            mini_cutoff,
            first_minifat,
            what,
        })
    }

    /// Name and type (1 storage, 2 stream, 5 root) of each directory entry.
    fn entries(&self) -> impl Iterator<Item = (String, u8, &[u8])> {
        self.dir.chunks_exact(128).map(|e| {
            let len = u16_at(e, 64).unwrap_or(0) as usize;
            let units: Vec<u16> = e
                .get(..len.min(64))
                .unwrap_or(&[])
                .chunks_exact(2)
                .filter_map(|c| u16_at(c, 0))
                .take_while(|&u| u != 0)
                .collect();
            (
                String::from_utf16_lossy(&units),
                e.get(66).copied().unwrap_or(0),
                e,
            )
        })
    }

    /// Whether a stream of one of these names (ASCII case ignored) is in the file.
    pub(crate) fn has_stream(&self, names: &[&str]) -> bool {
        self.entries()
            .any(|(n, ty, _)| ty == 2 && names.iter().any(|w| n.eq_ignore_ascii_case(w)))
    }

    /// The first stream of one of these names (ASCII case ignored), whole.
    pub(crate) fn stream(&self, names: &[&str]) -> Result<Option<Vec<u8>>, Problem> {
        let Some((_, _, entry)) = self
            .entries()
            .find(|(n, ty, _)| *ty == 2 && names.iter().any(|w| n.eq_ignore_ascii_case(w)))
        else {
            return Ok(None);
        };
        let short = || damaged(self.what, "short directory entry");
        let start = u32_at(entry, 116).ok_or_else(short)?;
        let size = u32_at(entry, 120).ok_or_else(short)? as usize;
        let root = self.dir.get(..128).unwrap_or(&[]);
        let mut bytes = if (size as u64) < u64::from(self.mini_cutoff) {
            // Small streams live in the mini stream, addressed in 64-byte mini sectors.
            let mini_stream = self
                .cfb
                .read_chain(u32_at(root, 116).unwrap_or(END_OF_CHAIN));
            let minifat: Vec<u32> = self
                .cfb
                .read_chain(self.first_minifat)
                .chunks_exact(4)
                .filter_map(|c| u32_at(c, 0))
                .take(mini_stream.len() / 64)
                .collect();
            let mut out = Vec::new();
            for id in self.cfb.chain(start, &minifat) {
                let at = id as usize * 64;
                if let Some(s) = mini_stream.get(at..at + 64) {
                    out.extend_from_slice(s);
                }
            }
            out
        } else {
            self.cfb.read_chain(start)
        };
        bytes.truncate(size);
        Ok(Some(bytes))
    }
}

/// The `Workbook` (or BIFF5 `Book`) stream of a compound file.
fn workbook_stream(data: &[u8]) -> Result<Vec<u8>, Problem> {
    Compound::open(data, Kind::Xls.name())?
        .stream(WORKBOOK_STREAMS)?
        .ok_or_else(|| Problem::invalid(Kind::Xls, "it has no Workbook stream (not an Excel file)"))
}

/// The streams an Excel workbook keeps its records in (BIFF8, BIFF5).
pub(crate) const WORKBOOK_STREAMS: &[&str] = &["Workbook", "Book"];

/// Checks an .xls file before calamine reads it: each sheet's declared dimensions, the
/// number of sheets (BOUNDSHEET records) against `max_sheets`, and the grids calamine
/// will build. calamine parses every sheet when it opens the file and expands each into
/// a dense grid over the cells it holds, so two cells in opposite corners make a grid of
/// 16 million slots. Returns the total of those grids (slots, every sheet together);
/// refuses more than `max_cells`. One pass over the records, plus one over each sheet's.
pub(crate) fn check_xls(data: &[u8], limits: &Limits) -> Result<u64, Problem> {
    let stream = workbook_stream(data)?;
    let mut sheets: Vec<usize> = Vec::new();
    let mut pos = 0usize;
    let mut tick = 0u32;
    while let (Some(typ), Some(len)) = (u16_at(&stream, pos), u16_at(&stream, pos + 2)) {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(4096) {
            limits.control.check()?;
        }
        let body_at = pos + 4;
        let len = len as usize;
        let Some(body) = stream.get(body_at..body_at + len) else {
            break;
        };
        match typ {
            0x0200 => check_dimensions(body)?,
            // BOUNDSHEET: where a sheet's records start.
            0x0085 => {
                if let Some(at) = u32_at(body, 0) {
                    sheets.push(at as usize);
                }
            }
            _ => {}
        }
        pos = body_at + len;
    }
    if sheets.len() > limits.max_sheets {
        return Err(Problem::Refused(format!(
            "the workbook lists {} sheets, more than the {} sheet limit",
            sheets.len(),
            limits.max_sheets
        )));
    }
    // calamine parses a sheet once per BOUNDSHEET naming it: measure each place once.
    let mut grids: HashMap<usize, u64> = HashMap::new();
    let mut total: u64 = 0;
    for at in sheets {
        let grid = match grids.get(&at) {
            Some(g) => *g,
            None => {
                let g = sheet_grid(&stream, at, limits)?;
                grids.insert(at, g);
                g
            }
        };
        total = total.saturating_add(grid);
    }
    if total > limits.max_cells {
        return Err(Problem::Refused(format!(
            "its sheets expand to {total} cells, more than the {} cell limit",
            limits.max_cells
        )));
    }
    Ok(total)
}

/// The grid calamine builds for the sheet whose records start at `at`: the bounding box
/// of its cell records (rows × columns), skipping nested substreams (charts) as calamine
/// does.
fn sheet_grid(stream: &[u8], at: usize, limits: &Limits) -> Result<u64, Problem> {
    let (mut r0, mut r1, mut c0, mut c1) = (u32::MAX, 0u32, u32::MAX, 0u32);
    let mut seen_bof = false;
    let mut depth = 0usize;
    let mut pos = at;
    let mut tick = 0u32;
    while let (Some(typ), Some(len)) = (u16_at(stream, pos), u16_at(stream, pos + 2)) {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(4096) {
            limits.control.check()?;
        }
        let body_at = pos + 4;
        let len = len as usize;
        let Some(body) = stream.get(body_at..body_at + len) else {
            break;
        };
        pos = body_at + len;
        if depth > 0 {
            match typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let (row, first, last) = match typ {
            0x0809 if seen_bof => {
                depth += 1;
                continue;
            }
            0x0809 => {
                seen_bof = true;
                continue;
            }
            0x000A => break,
            // Number, Label, RString, BoolErr, Rk, LabelSst, Formula: row, column.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 => {
                match (u16_at(body, 0), u16_at(body, 2)) {
                    (Some(r), Some(c)) => (r, c, c),
                    _ => continue,
                }
            }
            // MulRk: row, first column, ..., last column in its last two bytes.
            0x00BD => match (
                u16_at(body, 0),
                u16_at(body, 2),
                u16_at(body, len.wrapping_sub(2)),
            ) {
                (Some(r), Some(a), Some(b)) if len >= 6 => (r, a, b.max(a)),
                _ => continue,
            },
            _ => continue,
        };
        r0 = r0.min(u32::from(row));
        r1 = r1.max(u32::from(row));
        c0 = c0.min(u32::from(first));
        c1 = c1.max(u32::from(last));
    }
    if r0 > r1 || c0 > c1 {
        return Ok(0);
    }
    Ok(u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1))
}

/// Mirrors calamine's reading of a DIMENSIONS record and refuses what would make it
/// reserve more cells than a sheet can hold, or compute a negative extent.
fn check_dimensions(r: &[u8]) -> Result<(), Problem> {
    let (rf, rl, cf, cl) = match r.len() {
        10 => (
            u32::from(u16_at(r, 0).unwrap_or(0)),
            u32::from(u16_at(r, 2).unwrap_or(0)),
            u32::from(u16_at(r, 4).unwrap_or(0)),
            u32::from(u16_at(r, 6).unwrap_or(0)),
        ),
        14 | 16 => (
            u32_at(r, 0).unwrap_or(0),
            u32_at(r, 4).unwrap_or(0),
            u32::from(u16_at(r, 8).unwrap_or(0)),
            u32::from(u16_at(r, 10).unwrap_or(0)),
        ),
        // calamine rejects other lengths with an error of its own.
        _ => return Ok(()),
    };
    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
    if rl == 0 || cl == 0 {
        return Ok(());
    }
    let (rows, cols) = match ((rl - 1).checked_sub(rf), (cl - 1).checked_sub(cf)) {
        (Some(r), Some(c)) => (u64::from(r) + 1, u64::from(c) + 1),
        _ => {
            return Err(Problem::Refused(
                "a sheet declares dimensions that end before they start (malformed .xls)"
                    .to_string(),
            ));
        }
    };
    if rows * cols > MAX_XLS_CELLS {
        return Err(Problem::Refused(format!(
            "a sheet declares {rows} rows by {cols} columns, more than an .xls sheet can hold"
        )));
    }
    Ok(())
}
