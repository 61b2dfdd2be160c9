//! The cells of one read of one sheet as one BLOB: a read is stored as one row per sheet
//! instead of one row per cell, because a b-tree insert per cell was most of a read's time
//! (issue #17 part 4). The format is private to the store; a blob that does not decode is
//! reported as corrupt, never trusted.
//!
//! Layout (integers are LEB128 varints, numbers little-endian f64 bits):
//! `version=1, n_formats, (len, utf-8)*, n_cells, cell*`, where a cell is
//! `row, col, kind, payload, [text], [format index]` and `kind` holds the value's type in
//! its low 3 bits, "has displayed text" in bit 3 and "has a number format" in bit 4. Number
//! formats repeat down a column, so they are stored once per blob.

use rustc_hash::FxHashMap;

use crate::model::{CellAddr, CellValue, ReadCell};

const VERSION: u8 = 1;
const EMPTY: u8 = 0;
const NUMBER: u8 = 1;
const TEXT: u8 = 2;
const FALSE: u8 = 3;
const TRUE: u8 = 4;
const ERROR: u8 = 5;
const HAS_TEXT: u8 = 1 << 3;
const HAS_FORMAT: u8 = 1 << 4;

/// Encodes `cells` in their order.
pub(super) fn encode(cells: &[ReadCell]) -> Vec<u8> {
    let mut formats: Vec<&str> = Vec::new();
    let mut format_ids: FxHashMap<&str, u64> = FxHashMap::default();
    for c in cells {
        if let Some(f) = c.number_format.as_deref() {
            format_ids.entry(f).or_insert_with(|| {
                formats.push(f);
                formats.len() as u64 - 1
            });
        }
    }
    let mut out = Vec::with_capacity(8 + cells.len() * 14);
    out.push(VERSION);
    put_varint(&mut out, formats.len() as u64);
    for f in &formats {
        put_str(&mut out, f);
    }
    put_varint(&mut out, cells.len() as u64);
    for c in cells {
        put_varint(&mut out, u64::from(c.addr.row));
        put_varint(&mut out, u64::from(c.addr.col));
        let kind = match &c.value {
            CellValue::Empty => EMPTY,
            CellValue::Number(_) => NUMBER,
            CellValue::Text(_) => TEXT,
            CellValue::Bool(false) => FALSE,
            CellValue::Bool(true) => TRUE,
            CellValue::Error(_) => ERROR,
        };
        let format = c.number_format.as_deref().and_then(|f| format_ids.get(f));
        out.push(
            kind | if c.text.is_some() { HAS_TEXT } else { 0 }
                | if format.is_some() { HAS_FORMAT } else { 0 },
        );
        match &c.value {
            CellValue::Number(v) => out.extend_from_slice(&v.to_bits().to_le_bytes()),
            CellValue::Text(s) | CellValue::Error(s) => put_str(&mut out, s),
            CellValue::Empty | CellValue::Bool(_) => {}
        }
        if let Some(t) = &c.text {
            put_str(&mut out, t);
        }
        if let Some(i) = format {
            put_varint(&mut out, *i);
        }
    }
    out
}

/// Decodes a blob made by [`encode`]; what is wrong with it otherwise.
pub(super) fn decode(blob: &[u8]) -> Result<Vec<ReadCell>, String> {
    let mut r = Reader { blob, at: 0 };
    let version = r.byte()?;
    if version != VERSION {
        return Err(format!("unknown cell encoding version {version}"));
    }
    let n_formats = r.count()?;
    let mut formats = Vec::with_capacity(n_formats);
    for _ in 0..n_formats {
        formats.push(r.string()?);
    }
    let n = r.count()?;
    let mut cells = Vec::with_capacity(n);
    for _ in 0..n {
        let row = r.u32()?;
        let col = r.u32()?;
        let kind = r.byte()?;
        let value = match kind & 0b111 {
            EMPTY => CellValue::Empty,
            NUMBER => CellValue::Number(f64::from_bits(u64::from_le_bytes(r.array()?))),
            TEXT => CellValue::Text(r.string()?),
            FALSE => CellValue::Bool(false),
            TRUE => CellValue::Bool(true),
            ERROR => CellValue::Error(r.string()?),
            other => return Err(format!("unknown value kind {other}")),
        };
        let text = (kind & HAS_TEXT != 0).then(|| r.string()).transpose()?;
        let number_format = if kind & HAS_FORMAT != 0 {
            let i = r.varint()?;
            let f = usize::try_from(i)
                .ok()
                .and_then(|i| formats.get(i))
                .ok_or_else(|| format!("number format {i} of {} missing", formats.len()))?;
            Some(f.clone())
        } else {
            None
        };
        cells.push(ReadCell {
            addr: CellAddr::new(row, col),
            value,
            text,
            number_format,
        });
    }
    if r.at != blob.len() {
        return Err(format!("{} bytes after the last cell", blob.len() - r.at));
    }
    Ok(cells)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A bounds-checked cursor: every read of a short or lying blob is an error.
struct Reader<'a> {
    blob: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.blob.len())
            .ok_or_else(|| format!("cut short at byte {} (needs {n} more)", self.at))?;
        let s = self.blob.get(self.at..end).unwrap_or(&[]);
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.bytes(1)?.first().copied().unwrap_or(0))
    }

    fn array(&mut self) -> Result<[u8; 8], String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(8)?);
        Ok(a)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("an integer too long at byte {}", self.at))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| format!("{v} is out of range for a cell address"))
    }

    /// A count of things still to come: each takes at least one byte, so a count larger
    /// than the bytes left is a lie (and would otherwise reserve memory for it).
    fn count(&mut self) -> Result<usize, String> {
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|n| *n <= self.blob.len() - self.at)
            .ok_or_else(|| {
                format!(
                    "a count of {v} with {} bytes left",
                    self.blob.len() - self.at
                )
            })
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| format!("a string of {n} bytes"))?;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|e| format!("a string that is not UTF-8: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(row: u32, col: u32, value: CellValue, text: Option<&str>, f: Option<&str>) -> ReadCell {
        ReadCell {
            addr: CellAddr::new(row, col),
            value,
            text: text.map(Into::into),
            number_format: f.map(Into::into),
        }
    }

    #[test]
    fn every_kind_of_cell_round_trips_exactly() {
        let cells = vec![
            cell(0, 0, CellValue::Empty, None, None),
            cell(
                1,
                2,
                CellValue::Number(1234.5),
                Some("$1,234.50"),
                Some("\"$\"#,##0.00"),
            ),
            cell(2, 2, CellValue::Number(-0.0), None, Some("\"$\"#,##0.00")),
            cell(
                3,
                2,
                CellValue::Number(f64::MAX),
                Some("1.8E+308"),
                Some("0.0E+00"),
            ),
            cell(
                1_048_575,
                16_383,
                CellValue::Text("Umsatz € — 売上".into()),
                None,
                None,
            ),
            cell(4, 0, CellValue::Bool(true), Some("TRUE"), None),
            cell(5, 0, CellValue::Bool(false), None, None),
            cell(
                6,
                0,
                CellValue::Error("#DIV/0!".into()),
                Some("#DIV/0!"),
                None,
            ),
            cell(7, 0, CellValue::Text(String::new()), Some(""), Some("@")),
            cell(u32::MAX, u32::MAX, CellValue::Number(1e-300), None, None),
        ];
        let blob = encode(&cells);
        let back = decode(&blob).unwrap();
        assert_eq!(back, cells);
        // -0.0 == 0.0 in PartialEq: the bits are kept too.
        assert!(
            matches!(back[2].value, CellValue::Number(v) if v.to_bits() == (-0.0f64).to_bits())
        );
        // The repeated format is stored once.
        let once = blob
            .windows(b"\"$\"#,##0.00".len())
            .filter(|w| *w == b"\"$\"#,##0.00")
            .count();
        assert_eq!(once, 1);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn a_short_lying_or_foreign_blob_is_an_error_never_a_panic() {
        let cells = vec![
            cell(1, 2, CellValue::Number(1.5), Some("1.5"), Some("0.0")),
            cell(3, 4, CellValue::Text("abc".into()), None, None),
        ];
        let blob = encode(&cells);
        // Every prefix is cut short, every single-byte change decodes or errs.
        for n in 0..blob.len() {
            assert!(decode(blob.get(..n).unwrap()).is_err(), "prefix {n}");
        }
        for i in 0..blob.len() {
            for b in [0x00, 0x07, 0x7f, 0x80, 0xff] {
                let mut bad = blob.clone();
                bad[i] = b;
                let _ = decode(&bad);
            }
        }
        let mut trailing = blob.clone();
        trailing.push(0);
        assert!(
            decode(&trailing)
                .unwrap_err()
                .contains("after the last cell")
        );
        assert!(decode(&[2]).unwrap_err().contains("version 2"));
        // A count of a billion cells in a few bytes is refused before anything is reserved.
        let mut huge = vec![VERSION, 0];
        put_varint(&mut huge, 1 << 40);
        assert!(decode(&huge).unwrap_err().contains("count"));
        // A format index past the table.
        let mut bad_format = vec![VERSION, 0, 1, 0, 0, NUMBER | HAS_FORMAT];
        bad_format.extend_from_slice(&1.0f64.to_bits().to_le_bytes());
        bad_format.push(0);
        assert!(
            decode(&bad_format)
                .unwrap_err()
                .contains("number format 0 of 0")
        );
        // Text that is not UTF-8.
        assert!(
            decode(&[VERSION, 0, 1, 0, 0, TEXT, 1, 0xff])
                .unwrap_err()
                .contains("UTF-8")
        );
    }
}
