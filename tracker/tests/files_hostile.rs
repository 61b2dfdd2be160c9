//! Hostile and broken input: every case is a clear per-file error, nothing panics, and
//! nothing is allocated according to what the file claims.

mod files_common;

use std::io::{Cursor, Write};
use std::path::Path;

use files_common::*;
use rust_xlsxwriter::Workbook;
use tracker::WritePart;
use tracker::files::{FileError, Limits, Problem, read_target, read_workbook};
use zip::write::ZipWriter;

const MIB: usize = 1024 * 1024;

fn message(r: Result<impl std::fmt::Debug, FileError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// A zip with one entry of `size` zero bytes, deflated while streaming so the test
/// never holds the expanded data.
fn zeros_zip(name: &str, size: usize) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(name, deflated().large_file(size > u32::MAX as usize))
        .expect("start");
    let chunk = vec![0u8; MIB];
    let mut left = size;
    while left > 0 {
        let n = left.min(MIB);
        w.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    w.finish().expect("finish").into_inner()
}

/// Rewrites the declared uncompressed size of every entry (local and central headers)
/// to `declared`: the lie a bomb tells to get past checks of declared sizes.
fn lie_about_sizes(mut zip: Vec<u8>, declared: u32) -> Vec<u8> {
    let mut i = 0;
    while i + 30 <= zip.len() {
        if zip[i..i + 4] == [0x50, 0x4b, 0x03, 0x04] {
            zip[i + 22..i + 26].copy_from_slice(&declared.to_le_bytes());
            i += 30;
        } else if zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            zip[i + 24..i + 28].copy_from_slice(&declared.to_le_bytes());
            i += 46;
        } else {
            i += 1;
        }
    }
    zip
}

#[test]
fn zip_bomb_with_honest_headers_is_refused_before_expanding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bomb = zeros_zip("xl/worksheets/sheet1.xml", 300 * MIB);
    assert!(bomb.len() < 2 * MIB, "the bomb itself is small");
    let path = write(dir.path(), "bomb.xlsx", &bomb);
    assert_eq!(
        message(read_workbook(&path, &Limits::default())),
        format!(
            "{}: refused: xl/worksheets/sheet1.xml would expand past 256 MiB",
            path.display()
        )
    );
    let pptx = write(dir.path(), "bomb.pptx", &bomb);
    assert!(message(read_target(&pptx, &Limits::default())).ends_with("would expand past 256 MiB"));
}

#[test]
fn zip_bomb_that_lies_about_its_size_is_stopped_while_expanding() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 40 MiB of zeros claiming to be 1,000 bytes: declared checks pass, the real
    // expansion must be cut off.
    let bomb = lie_about_sizes(zeros_zip("ppt/presentation.xml", 40 * MIB), 1000);
    let path = write(dir.path(), "liar.pptx", &bomb);
    let limits = Limits {
        max_entry_uncompressed: 8 * MIB as u64,
        ..Limits::default()
    };
    // The zip crate stops at the declared size; the guard's own `take` cap would stop it
    // at the ratio or entry limit otherwise. Either way it is refused, not expanded.
    assert_eq!(
        message(read_target(&path, &limits)),
        format!(
            "{}: refused: ppt/presentation.xml expands past its declared size (a zip bomb?)",
            path.display()
        )
    );
    // The same file as a workbook is stopped by the guard before calamine sees it.
    let xlsx = write(dir.path(), "liar.xlsx", &bomb);
    let msg = message(read_workbook(&xlsx, &limits));
    assert!(
        msg.ends_with("refused: ppt/presentation.xml expands past its declared size (a zip bomb?)"),
        "{msg}"
    );
}

#[test]
fn compression_ratio_and_total_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 4 MiB of zeros compresses far beyond 200:1.
    let path = write(
        dir.path(),
        "ratio.docx",
        &zeros_zip("word/document.xml", 4 * MIB),
    );
    let msg = message(read_target(&path, &Limits::default()));
    assert!(
        msg.contains("refused: word/document.xml declares a compression ratio of")
            && msg.ends_with("above the 200:1 limit (a zip bomb?)"),
        "{msg}"
    );
    // Many honest entries adding up past the total.
    let blob = vec![b'x'; 600];
    let entries: Vec<(String, &[u8])> = (0..4)
        .map(|i| (format!("part{i}.xml"), &blob[..]))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let path = write(dir.path(), "total.pptx", &zip_bytes(&refs));
    let limits = Limits {
        max_total_uncompressed: 2000,
        ..Limits::default()
    };
    let msg = message(read_target(&path, &limits));
    assert!(
        msg.ends_with("refused: the archive would expand past 2000 bytes in total"),
        "{msg}"
    );
}

#[test]
fn too_many_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = (0..51).map(|i| format!("e{i}.xml")).collect();
    let refs: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"<a/>"[..])).collect();
    let path = write(dir.path(), "many.docx", &zip_bytes(&refs));
    let limits = Limits {
        max_entries: 50,
        ..Limits::default()
    };
    assert_eq!(
        message(read_target(&path, &limits)),
        format!(
            "{}: refused: the archive has 51 entries, more than the 50 limit",
            path.display()
        )
    );
}

#[test]
fn truncated_and_non_zip_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = pptx(&[slide_xml(&shape(&[&["hello"]]))], &[0], &[]);
    let cut = write(dir.path(), "Q3.pptx", &good[..good.len() / 2]);
    let msg = message(read_target(&cut, &Limits::default()));
    assert!(
        msg.starts_with(&format!(
            "{}: not a valid pptx (zip archive is truncated",
            cut.display()
        )),
        "{msg}"
    );

    // Deterministic junk (a small LCG), under each OOXML name.
    let mut x: u32 = 12345;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    for (name, kind) in [("r.pptx", "pptx"), ("r.docx", "docx"), ("r.xlsx", "xlsx")] {
        let path = write(dir.path(), name, &junk);
        let expected = format!(
            "{}: not a valid {kind} (the file is not a zip archive)",
            path.display()
        );
        if kind == "xlsx" {
            assert_eq!(message(read_workbook(&path, &Limits::default())), expected);
        }
        assert_eq!(message(read_target(&path, &Limits::default())), expected);
    }
    // Junk that starts like a zip.
    let mut pk = b"PK\x03\x04".to_vec();
    pk.extend_from_slice(&junk);
    let path = write(dir.path(), "pk.xlsx", &pk);
    let msg = message(read_workbook(&path, &Limits::default()));
    assert!(msg.contains("not a valid xlsx (zip archive"), "{msg}");

    // An empty file.
    let path = write(dir.path(), "empty.docx", b"");
    assert!(
        message(read_target(&path, &Limits::default()))
            .ends_with("not a valid docx (the file is not a zip archive)")
    );
}

#[test]
fn deep_and_broken_xml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = format!("{}{}", "<a:x>".repeat(300), "</a:x>".repeat(300));
    let path = write(
        dir.path(),
        "deep.pptx",
        &pptx(&[slide_xml(&deep)], &[0], &[]),
    );
    assert_eq!(
        message(read_target(&path, &Limits::default())),
        format!(
            "{}: refused: ppt/slides/slide1.xml nests XML elements deeper than 256",
            path.display()
        )
    );
    // Very deep nesting does not overflow the stack either.
    let deeper = format!("{}{}", "<a:x>".repeat(200_000), "</a:x>".repeat(200_000));
    let path = write(dir.path(), "deeper.docx", &docx(&deeper, &[]));
    let limits = Limits {
        max_xml_depth: usize::MAX,
        max_ratio: 10_000,
        ..Limits::default()
    };
    let deep_ok = read_target(&path, &limits);
    assert!(
        deep_ok.is_ok(),
        "{:?}",
        deep_ok.err().map(|e| e.to_string())
    );

    let broken = r#"<w:p><w:r><w:t>unclosed"#;
    let path = write(dir.path(), "broken.docx", &docx(broken, &[]));
    let msg = message(read_target(&path, &Limits::default()));
    assert!(
        msg.contains("not a valid docx (word/document.xml: XML error"),
        "{msg}"
    );

    let mismatched = "<w:p></w:q>";
    let path = write(dir.path(), "mismatch.docx", &docx(mismatched, &[]));
    assert!(message(read_target(&path, &Limits::default())).contains("XML error"));

    // A package without its main part.
    let path = write(dir.path(), "hollow.docx", &zip_bytes(&[("a.txt", b"hi")]));
    assert!(
        message(read_target(&path, &Limits::default()))
            .ends_with("not a valid docx (it has no word/document.xml)")
    );
}

#[test]
fn text_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "word ".repeat(1000);
    let limits = Limits {
        max_text_chars: 100,
        ..Limits::default()
    };
    let path = write(
        dir.path(),
        "long.pptx",
        &pptx(&[slide_xml(&shape(&[&[long.as_str()]]))], &[0], &[]),
    );
    assert!(
        message(read_target(&path, &limits))
            .ends_with("refused: the file holds more than 100 characters of text")
    );
    let path = write(dir.path(), "long.txt", long.as_bytes());
    assert!(
        message(read_target(&path, &limits))
            .ends_with("refused: the file holds more than 100 characters of text")
    );
    let path = write(dir.path(), "long.csv", long.as_bytes());
    assert!(
        message(read_workbook(&path, &limits))
            .ends_with("refused: the file holds more than 100 characters of text")
    );
}

#[test]
fn size_type_and_encoding_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "big.csv", &[b'1'; 64]);
    let limits = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    assert_eq!(
        message(read_workbook(&path, &limits)),
        format!(
            "{}: refused: the file is 64 bytes, larger than the 10 bytes limit",
            path.display()
        )
    );

    let path = write(dir.path(), "deck.key", b"x");
    assert_eq!(
        message(read_target(&path, &Limits::default())),
        format!(
            "{}: unsupported file type .key (supported: pptx, docx, xlsx, xlsm, xls, ods, csv, txt, md)",
            path.display()
        )
    );
    let path = write(dir.path(), "memo.docx", &docx("<w:p/>", &[]));
    assert_eq!(
        message(read_workbook(&path, &Limits::default())),
        format!(
            "{}: unsupported file type .docx (supported: xlsx, xlsm, xls, ods, csv)",
            path.display()
        )
    );

    // Saved by Excel as "CSV" on Windows: Windows-1252, read as such.
    let path = write(dir.path(), "latin1.csv", b"name,value\nM\xFCller,3\n");
    let book = read_workbook(&path, &Limits::default()).expect("a Windows-1252 csv is read");
    let texts: Vec<String> = book.sheets[0]
        .cells
        .iter()
        .filter_map(|c| match &c.value {
            tracker::CellValue::Text(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert!(texts.contains(&"M\u{FC}ller".to_string()), "{texts:?}");
    let path = write(
        dir.path(),
        "bom.csv",
        b"\xEF\xBB\xBFname,value\nM\xFCller,3\n",
    );
    assert_eq!(
        message(read_workbook(&path, &Limits::default())),
        format!(
            "{}: not a valid csv (the text starts with a UTF-8 byte-order mark but is not UTF-8 (first bad byte on line 2))",
            path.display()
        )
    );

    let missing = dir.path().join("missing.xlsx");
    let err = read_workbook(&missing, &Limits::default()).err();
    assert!(matches!(
        err,
        Some(FileError {
            problem: Problem::Io(_),
            ..
        })
    ));

    // A legacy xls that is really junk.
    let path = write(dir.path(), "old.xls", b"not an OLE file at all");
    assert!(message(read_workbook(&path, &Limits::default())).contains("not a valid xls"));
}

#[test]
fn sparse_sheet_does_not_explode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sparse.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_number(0, 0, 1.0).expect("write");
    ws.write_number(1_048_575, 16_383, 2.0).expect("write");
    wb.save(&path).expect("save");
    // As a source: two cells, streamed, no grid.
    let read = read_workbook(&path, &Limits::default()).expect("read");
    let addrs: Vec<String> = read.sheets[0]
        .cells
        .iter()
        .map(|c| c.addr.to_a1())
        .collect();
    assert_eq!(addrs, ["A1", "XFD1048576"]);
    // As a target the used range would be a 17-billion-cell grid: one table per row.
    let doc = read_target(&path, &Limits::default()).expect("read target");
    assert_eq!(
        doc.parts,
        vec![
            WritePart::Table {
                location: "Sheet1!A1".into(),
                rows: vec![vec!["1".into()]]
            },
            WritePart::Table {
                location: "Sheet1!XFD1048576".into(),
                rows: vec![vec!["2".into()]]
            },
        ]
    );
    let limits = Limits {
        max_cells: 1,
        ..Limits::default()
    };
    assert!(
        message(read_workbook(&path, &limits))
            .ends_with("refused: the workbook has more than 1 cells")
    );
}

#[test]
fn many_files_one_bad_the_rest_still_read() {
    // What a scan does: each file stands alone.
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        write(
            dir.path(),
            "a.pptx",
            &pptx(&[slide_xml(&shape(&[&["ok"]]))], &[0], &[]),
        ),
        write(dir.path(), "b.pptx", b"garbage"),
        write(dir.path(), "c.md", b"fine"),
    ];
    let results: Vec<bool> = files
        .iter()
        .map(|f| read_target(Path::new(f), &Limits::default()).is_ok())
        .collect();
    assert_eq!(results, [true, false, true]);
}

/// Every entry of a zip, for rebuilding it with damage.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("open zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut out = Vec::new();
            f.read_to_end(&mut out).expect("read entry");
            (f.name().expect("name").to_string(), out)
        })
        .collect()
}

#[test]
fn damaged_workbooks_and_decks_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("good.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..20 {
        ws.write_string(r, 0, format!("row {r}")).expect("write");
        ws.write_number(r, 1, f64::from(r) * 1.5).expect("write");
    }
    wb.save(&path).expect("save");
    let good = std::fs::read(&path).expect("read back");
    let deck = pptx(
        &[slide_xml(&format!(
            "{}{}",
            shape(&[&["a", "b"]]),
            table(&[&["1", "2"]])
        ))],
        &[0],
        &[],
    );
    let limits = Limits::default();
    let mut n = 0;
    for (name, original) in [("w.xlsx", &good), ("d.pptx", &deck)] {
        let entries = unzip(original);
        for (target, xml) in entries.iter().filter(|(n, _)| n.ends_with(".xml")) {
            // Cut each XML part at several points, and splice junk into it.
            for cut in [1, xml.len() / 3, xml.len() / 2, xml.len().saturating_sub(7)] {
                for junk in [&b""[..], b"<<&;\xFF\xFE", b"</x>"] {
                    let mut damaged = xml[..cut.min(xml.len())].to_vec();
                    damaged.extend_from_slice(junk);
                    let rebuilt: Vec<(&str, &[u8])> = entries
                        .iter()
                        .map(|(n, b)| {
                            if n == target {
                                (n.as_str(), &damaged[..])
                            } else {
                                (n.as_str(), &b[..])
                            }
                        })
                        .collect();
                    let p = write(dir.path(), name, &zip_bytes(&rebuilt));
                    for result in [
                        read_target(&p, &limits).map(|_| ()),
                        if name.ends_with(".xlsx") {
                            read_workbook(&p, &limits).map(|_| ())
                        } else {
                            Ok(())
                        },
                    ] {
                        if let Err(e) = result {
                            assert!(!e.to_string().contains("crashed"), "{e}");
                        }
                        n += 1;
                    }
                }
            }
        }
        // Flip bytes of the archive itself.
        for i in (0..original.len()).step_by(97) {
            let mut bytes = original.clone();
            bytes[i] ^= 0x5A;
            let p = write(dir.path(), name, &bytes);
            if let Err(e) = read_target(&p, &limits) {
                assert!(!e.to_string().contains("crashed"), "{e}");
            }
            n += 1;
        }
    }
    assert!(n > 100);
}

#[test]
fn shared_strings_that_lie_about_their_count_are_refused() {
    // calamine reserves the declared count up front; a trillion would abort the process.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("honest.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "EMEA").expect("write");
    ws.write_string(1, 0, "APAC").expect("write");
    wb.save(&path).expect("save");
    let entries = unzip(&std::fs::read(&path).expect("read back"));
    let rebuilt: Vec<(String, Vec<u8>)> = entries
        .into_iter()
        .map(|(n, b)| {
            if n == "xl/sharedStrings.xml" {
                let xml = String::from_utf8(b).expect("utf8");
                assert!(xml.contains("uniqueCount=\"2\""), "{xml}");
                (
                    n,
                    xml.replace("uniqueCount=\"2\"", "uniqueCount=\"1000000000000\"")
                        .into_bytes(),
                )
            } else {
                (n, b)
            }
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = rebuilt.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    let liar = write(dir.path(), "liar.xlsx", &zip_bytes(&refs));
    let msg = message(read_workbook(&liar, &Limits::default()));
    assert!(
        msg.contains("refused: xl/sharedStrings.xml declares 1000000000000 strings but holds only"),
        "{msg}"
    );
    // The honest one reads fine.
    let read = read_workbook(&path, &Limits::default()).expect("read");
    assert_eq!(read.sheets[0].cells.len(), 2);
}

#[test]
fn xls_declaring_billions_of_cells_is_refused_before_calamine() {
    // calamine reserves rows x columns from the DIMENSIONS record; four billion rows would
    // abort the process. The fixture is small enough that its records are contiguous.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.xls");
    let mut bytes = std::fs::read(&fixture).expect("fixture");
    let at = bytes
        .windows(4)
        .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
        .expect("a DIMENSIONS record");
    bytes[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "huge.xls", &bytes);
    assert_eq!(
        message(read_workbook(&path, &Limits::default())),
        format!(
            "{}: refused: a sheet declares 4294967295 rows by 3 columns, more than an .xls sheet can hold",
            path.display()
        )
    );
    // Extents that end before they start.
    bytes[at + 4..at + 8].copy_from_slice(&10u32.to_le_bytes());
    bytes[at + 8..at + 12].copy_from_slice(&5u32.to_le_bytes());
    let path = write(dir.path(), "backwards.xls", &bytes);
    assert!(
        message(read_workbook(&path, &Limits::default()))
            .ends_with("end before they start (malformed .xls)")
    );
    // An xlsx renamed .xls.
    let path = write(dir.path(), "renamed.xls", &zip_bytes(&[("a", b"b")]));
    assert!(message(read_workbook(&path, &Limits::default())).ends_with(
        "not a valid xls (the file is not an OLE compound file (an .xls saved as something else?))"
    ));
}

#[test]
fn ods_repeat_bomb_is_refused_and_padding_is_not() {
    const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#;
    let ods = |rows: &str| {
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="S">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        zip_bytes(&[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
            ),
            ("META-INF/manifest.xml", MANIFEST.as_bytes()),
            ("content.xml", content.as_bytes()),
        ])
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // One value repeated over a million rows and a thousand columns: 1 billion cells.
    let bomb = ods(
        r#"<table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="1000" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>"#,
    );
    let path = write(dir.path(), "bomb.ods", &bomb);
    assert_eq!(
        message(read_workbook(&path, &Limits::default())),
        format!(
            "{}: refused: its sheets expand to 1000000000 cells, more than the {} cell limit",
            path.display(),
            Limits::default().max_cells
        )
    );
    // LibreOffice-style padding: empty rows and columns repeated to the sheet's edge.
    let padded = ods(
        r#"<table:table-row><table:table-cell office:value-type="float" office:value="7"><text:p>7</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
    );
    let path = write(dir.path(), "padded.ods", &padded);
    let read = read_workbook(&path, &Limits::default()).expect("padded ods reads");
    assert_eq!(read.sheets[0].cells.len(), 1);
}
