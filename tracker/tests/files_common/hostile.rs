//! Generators for hostile workbooks that are too big to check in: many sheets, millions
//! of cells, deeply nested XML. Shared by `tests/files_budget.rs` and
//! `examples/reader_budgets.rs` (which measures time and peak memory on the full sizes).
#![allow(dead_code)]

use std::io::{Cursor, Write};

use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true)
}

/// A part to add: its name, and what writes its bytes.
type Part<'a> = (&'a str, &'a mut dyn FnMut(&mut dyn Write));

/// An xlsx package: `sheets_xml` writes the content of `<sheets>` in `xl/workbook.xml`,
/// `rel_count` worksheet relationships (`rIdN` -> `worksheets/sheetN.xml`) and one to
/// `sharedStrings.xml` are declared, and `parts` are added as written by their closures,
/// straight into the zip, so a part of hundreds of megabytes is never held whole.
fn package(
    sheets_xml: &mut dyn FnMut(&mut dyn Write),
    parts: &mut [Part<'_>],
    rel_count: usize,
) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = options();
    w.start_file("[Content_Types].xml", opts).expect("entry");
    write!(
        w,
        r#"{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#
    )
    .expect("write");
    w.start_file("_rels/.rels", opts).expect("entry");
    write!(
        w,
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    )
    .expect("write");
    w.start_file("xl/workbook.xml", opts).expect("entry");
    write!(
        w,
        r#"{XML}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>"#
    )
    .expect("write");
    sheets_xml(&mut w);
    write!(w, "</sheets></workbook>").expect("write");
    w.start_file("xl/_rels/workbook.xml.rels", opts)
        .expect("entry");
    write!(
        w,
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
    )
    .expect("write");
    for i in 1..=rel_count {
        write!(
            w,
            r#"<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>"#
        )
        .expect("write");
    }
    write!(
        w,
        r#"<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
    )
    .expect("write");
    for (name, body) in parts.iter_mut() {
        w.start_file(*name, opts).expect("entry");
        body(&mut w);
    }
    w.finish().expect("finish zip").into_inner()
}

fn small_sheet(w: &mut dyn Write) {
    write!(
        w,
        r#"{XML}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>"#
    )
    .expect("write");
}

/// A workbook whose `xl/workbook.xml` lists `sheets` sheets, all pointing at one tiny
/// worksheet part: a few bytes per sheet, so a 5 MB file can list a million of them.
pub fn many_sheets_xlsx(sheets: usize) -> Vec<u8> {
    package(
        &mut |w| {
            for i in 1..=sheets {
                write!(w, r#"<sheet name="S{i}" sheetId="{i}" r:id="rId1"/>"#).expect("write");
            }
        },
        &mut [("xl/worksheets/sheet1.xml", &mut small_sheet)],
        1,
    )
}

/// A workbook of one sheet holding `cells` numeric cells, `width` to a row. The cells
/// carry no `r` attribute (calamine counts them in order), so 12 million cells fit in
/// about 30 MiB of zip.
pub fn many_cells_xlsx(cells: u64, width: u64) -> Vec<u8> {
    let mut sheet = |w: &mut dyn Write| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
        write!(out, r#"{XML}<worksheet xmlns="{MAIN}"><sheetData>"#).expect("write");
        let mut n = 0u64;
        let mut row = 0u64;
        while n < cells {
            row += 1;
            write!(out, r#"<row r="{row}">"#).expect("write");
            for _ in 0..width.min(cells - n) {
                // Varied values so the zip does not compress them away entirely.
                write!(
                    out,
                    "<c><v>{}</v></c>",
                    n.wrapping_mul(2_654_435_761) % 1_000_003
                )
                .expect("write");
                n += 1;
            }
            write!(out, "</row>").expect("write");
        }
        write!(out, "</sheetData></worksheet>").expect("write");
        out.flush().expect("flush");
    };
    package(
        &mut |w| {
            write!(w, r#"<sheet name="Data" sheetId="1" r:id="rId1"/>"#).expect("write");
        },
        &mut [("xl/worksheets/sheet1.xml", &mut sheet)],
        1,
    )
}

fn nest(w: &mut dyn Write, depth: usize) {
    for _ in 0..depth {
        write!(w, "<x>").expect("write");
    }
    for _ in 0..depth {
        write!(w, "</x>").expect("write");
    }
}

/// A workbook nesting `depth` elements, the way a hostile file tries to exhaust a
/// recursive parser's stack: in `xl/workbook.xml` (after the sheet list) when
/// `in_workbook`, else inside its one sheet's `<sheetData>`.
pub fn deep_xml_xlsx(depth: usize, in_workbook: bool) -> Vec<u8> {
    let mut sheet = |w: &mut dyn Write| {
        write!(
            w,
            r#"{XML}<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>"#
        )
        .expect("write");
        if !in_workbook {
            nest(w, depth);
        }
        write!(w, "</sheetData></worksheet>").expect("write");
    };
    package(
        &mut |w| {
            write!(w, r#"<sheet name="Deep" sheetId="1" r:id="rId1"/>"#).expect("write");
            if in_workbook {
                nest(w, depth);
            }
        },
        &mut [("xl/worksheets/sheet1.xml", &mut sheet)],
        1,
    )
}

/// A workbook whose shared-strings table holds `count` one-character strings (honestly
/// declared): calamine keeps every one as a `String` before any cell is read.
pub fn many_strings_xlsx(count: usize) -> Vec<u8> {
    let mut sst = |w: &mut dyn Write| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
        write!(
            out,
            r#"{XML}<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">"#
        )
        .expect("write");
        for i in 0..count {
            write!(out, "<si><t>{}</t></si>", i % 10).expect("write");
        }
        write!(out, "</sst>").expect("write");
        out.flush().expect("flush");
    };
    package(
        &mut |w| {
            write!(w, r#"<sheet name="Data" sheetId="1" r:id="rId1"/>"#).expect("write");
        },
        &mut [
            ("xl/worksheets/sheet1.xml", &mut small_sheet),
            ("xl/sharedStrings.xml", &mut sst),
        ],
        1,
    )
}
