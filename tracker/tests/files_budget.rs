//! Reader budgets (issue #14): a hostile workbook gets a clear error or a result that
//! says it was cut, in time linear in the file, and a read stops when told to. The
//! workbooks are generated here, at test time, in a temporary folder; the full-size
//! figures (a million sheets, twelve million cells) are in examples/reader_budgets.rs.

mod files_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use files_common::hostile::{deep_xml_xlsx, many_cells_xlsx, many_sheets_xlsx, many_strings_xlsx};
use files_common::*;
use tracker::files::{
    FileError, Limits, Problem, ReadControl, read_sheet, read_target, read_workbook,
    read_workbook_range, sheet_extent,
};

fn message<T: std::fmt::Debug>(r: Result<T, FileError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.problem.to_string(),
    }
}

#[test]
fn a_workbook_listing_too_many_sheets_is_refused_before_calamine_reads_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 200,000 sheets: calamine's per-sheet lookup made reading them all cost 2·10^10
    // name comparisons (minutes); counted by the streaming pre-pass it is one linear
    // walk of xl/workbook.xml, whether every sheet is read or just the first.
    let path = write(dir.path(), "sheets.xlsx", &many_sheets_xlsx(200_000));
    let limits = Limits::default();
    let expected = format!(
        "refused: the workbook lists 200000 sheets, more than the {} sheet limit",
        limits.max_sheets
    );
    assert_eq!(message(read_workbook(&path, &limits)), expected);
    assert_eq!(
        message(read_sheet(&path, None, None, 10, &limits)),
        expected
    );
    assert_eq!(message(read_target(&path, &limits)), expected);

    // At the limit it reads, every sheet listed.
    let limits = Limits {
        max_sheets: 300,
        ..Limits::default()
    };
    let path = write(dir.path(), "300.xlsx", &many_sheets_xlsx(300));
    let read = read_workbook(&path, &limits).expect("300 sheets read");
    assert_eq!(read.sheets.len(), 300);
    let one = read_sheet(&path, Some("S300"), None, 10, &limits).expect("sheet S300");
    assert_eq!(one.sheet_names.len(), 300);
    assert_eq!(one.sheet.sheet, "S300");
    let path = write(dir.path(), "301.xlsx", &many_sheets_xlsx(301));
    assert_eq!(
        message(read_workbook(&path, &limits)),
        "refused: the workbook lists 301 sheets, more than the 300 sheet limit"
    );
}

#[test]
fn sheet_limits_apply_to_xls_and_ods_too() {
    let limits = Limits {
        max_sheets: 0,
        ..Limits::default()
    };
    let xls = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.xls");
    let err = message(read_workbook(&xls, &limits));
    assert!(
        err.starts_with("refused: the workbook lists ")
            && err.ends_with("more than the 0 sheet limit"),
        "{err}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let content = r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="A"/><table:table table:name="B"/></office:spreadsheet></office:body></office:document-content>"#;
    let ods = zip_bytes(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", content.as_bytes()),
    ]);
    let path = write(dir.path(), "two.ods", &ods);
    let limits = Limits {
        max_sheets: 1,
        ..Limits::default()
    };
    assert_eq!(
        message(read_workbook(&path, &limits)),
        "refused: the workbook has 2 sheets, more than the 1 sheet limit"
    );
}

#[test]
fn long_sheet_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "s.xlsx", &many_sheets_xlsx(3));
    let limits = Limits {
        max_sheet_name_bytes: 1,
        ..Limits::default()
    };
    assert_eq!(
        message(read_workbook(&path, &limits)),
        "refused: a sheet name is 2 bytes long, more than the 1 byte limit (Excel allows 31 characters)"
    );
}

#[test]
fn a_sheet_of_too_many_cells_is_refused_whole_and_cut_when_a_part_is_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "cells.xlsx", &many_cells_xlsx(50_000, 100));
    let limits = Limits {
        max_cells: 10_000,
        ..Limits::default()
    };
    // A scan needs every cell: over the limit is an error, never a silent part.
    assert_eq!(
        message(read_workbook(&path, &limits)),
        "refused: the workbook has more than 10000 cells"
    );
    // xlsx_read asks for at most N cells: it gets the first N in row order, and is told.
    let one = read_sheet(&path, None, None, 1_000, &limits).expect("first 1000 cells");
    assert!(one.truncated);
    assert_eq!(one.sheet.cells.len(), 1_000);
    assert_eq!(one.sheet.cells[0].addr, tracker::CellAddr::new(0, 0));
    assert_eq!(one.sheet.cells[999].addr, tracker::CellAddr::new(9, 99));
    // A range stops at its last row even on a sheet over the limit: only the rows up to
    // it are parsed.
    let range = tracker::CellRange::parse("B2:C3").expect("range");
    let part = read_sheet(&path, None, Some(range), 1_000, &limits).expect("B2:C3");
    assert!(!part.truncated);
    assert_eq!(part.sheet.cells.len(), 4);
    let read = read_workbook_range(&path, None, Some(range), &limits).expect("B2:C3");
    assert_eq!(read.sheets[0].cells.len(), 4);
    // Everything there, and no more than asked: not truncated.
    let all = read_sheet(&path, None, None, 50_000, &Limits::default()).expect("all cells");
    assert!(!all.truncated);
    assert_eq!(all.sheet.cells.len(), 50_000);
    // Where the data lies is found without keeping any cell: over the cell limit too.
    let found = sheet_extent(&path, None, None, &limits).expect("extent");
    assert_eq!(
        found.extent.map(|r| r.to_string()).as_deref(),
        Some("A1:CV500")
    );
    let within = tracker::CellRange::parse_whole("C:D").expect("columns");
    let found = sheet_extent(&path, None, Some(within), &limits).expect("extent");
    assert_eq!(
        found.extent.map(|r| r.to_string()).as_deref(),
        Some("C1:D500")
    );
    let past = tracker::CellRange::parse_whole("ZZ:ZZ").expect("a column without data");
    assert_eq!(
        sheet_extent(&path, None, Some(past), &limits)
            .expect("extent")
            .extent,
        None
    );
}

#[test]
fn memory_is_estimated_before_it_is_spent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "cells.xlsx", &many_cells_xlsx(20_000, 100));
    let limits = Limits {
        max_memory_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let err = message(read_workbook(&path, &limits));
    assert!(
        err.starts_with("refused: reading it would take about ")
            && err.ends_with("cells read), more than the 1 MiB limit"),
        "{err}"
    );
    // A shared-strings table is counted before calamine builds it.
    let path = write(dir.path(), "strings.xlsx", &many_strings_xlsx(100_000));
    let err = message(read_sheet(&path, None, None, 10, &limits));
    assert!(
        err.starts_with("refused: reading it would take about ")
            && err.ends_with("(its shared strings and styles), more than the 1 MiB limit"),
        "{err}"
    );
    assert!(read_sheet(&path, None, None, 10, &Limits::default()).is_ok());
}

#[test]
fn deep_xml_in_a_workbook_is_refused_and_in_a_sheet_is_harmless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limits = Limits::default();
    let path = write(dir.path(), "deep.xlsx", &deep_xml_xlsx(100_000, true));
    assert_eq!(
        message(read_workbook(&path, &limits)),
        format!(
            "refused: xl/workbook.xml nests XML elements deeper than {}",
            limits.max_xml_depth
        )
    );
    // calamine's sheet reader does not recurse: nesting around the cells costs nothing.
    let path = write(
        dir.path(),
        "deep-sheet.xlsx",
        &deep_xml_xlsx(100_000, false),
    );
    let read = read_workbook(&path, &limits).expect("deep sheet reads");
    assert_eq!(read.sheets[0].cells.len(), 1);
}

#[test]
fn xml_elements_are_counted_in_decks_and_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = "<w:p/>".repeat(5_000);
    let path = write(dir.path(), "many.docx", &docx(&body, &[]));
    let limits = Limits {
        max_xml_nodes: 1_000,
        ..Limits::default()
    };
    assert_eq!(
        message(read_target(&path, &limits)),
        "refused: the file has more than 1000 XML elements"
    );
    assert!(read_target(&path, &Limits::default()).is_ok());
}

#[test]
fn blank_lines_of_a_csv_count_against_the_cell_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("blank.csv");
    let mut bytes = b"a\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'\n', 10_000));
    bytes.extend(b"b\n");
    std::fs::write(&path, &bytes).expect("write");
    let limits = Limits {
        max_cells: 1_000,
        ..Limits::default()
    };
    assert_eq!(
        message(read_workbook(&path, &limits)),
        "refused: the file has more than 1000 fields"
    );
}

/// Every reader, for the control tests.
fn one_of_each(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let ods_content = r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="A"><table:table-row><table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#;
    let ods = zip_bytes(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", manifest.as_bytes()),
        ("content.xml", ods_content.as_bytes()),
    ]);
    let xls = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.xls"),
    )
    .expect("xls fixture");
    vec![
        write(dir, "a.xlsx", &many_cells_xlsx(10, 5)),
        write(dir, "a.ods", &ods),
        write(dir, "a.xls", &xls),
        write(dir, "a.csv", b"a,b\n1,2\n"),
        write(
            dir,
            "a.pptx",
            &pptx(&[slide_xml(&shape(&[&["hello"]]))], &[0], &[]),
        ),
        write(
            dir,
            "a.docx",
            &docx("<w:p><w:r><w:t>hello</w:t></w:r></w:p>", &[]),
        ),
        write(dir, "a.txt", b"hello\n"),
    ]
}

#[test]
fn a_stopped_read_says_cancelled_in_every_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = one_of_each(dir.path());
    let flag = Arc::new(AtomicBool::new(false));
    let running = Limits::default().with_control(ReadControl::default().stop_on(flag.clone()));
    for path in &files {
        if let Err(e) = read_target(path, &running) {
            panic!("{}: {e}", path.display());
        }
    }
    flag.store(true, std::sync::atomic::Ordering::Relaxed);
    for path in &files {
        let err = read_target(path, &running).expect_err("stopped");
        assert!(
            matches!(err.problem, Problem::Cancelled),
            "{}: {err}",
            path.display()
        );
        if tracker::files::is_workbook_path(path) {
            let err = read_sheet(path, None, None, 10, &running).expect_err("stopped");
            assert!(matches!(err.problem, Problem::Cancelled), "{err}");
        }
    }
    assert_eq!(
        Problem::Cancelled.to_string(),
        "cancelled: the read was stopped before it finished (request cancelled or shutting down)"
    );
}

#[test]
fn a_read_past_its_deadline_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = one_of_each(dir.path());
    let past = Limits::default().with_control(ReadControl::default().until(Instant::now()));
    let no_time = Limits {
        max_read_time: Duration::ZERO,
        ..Limits::default()
    };
    for path in &files {
        for limits in [&past, &no_time] {
            let err = read_target(path, limits).expect_err("too late");
            assert!(
                matches!(err.problem, Problem::TimedOut { .. }),
                "{}: {err}",
                path.display()
            );
        }
    }
    assert_eq!(
        message(read_workbook(&files[0], &no_time)),
        "refused: reading took longer than the 0 s limit"
    );
}

#[test]
fn a_read_stopped_from_another_thread_ends_with_cancelled() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Big enough that the read is still going when the flag is set.
    let path = write(dir.path(), "cells.xlsx", &many_cells_xlsx(1_000_000, 100));
    let flag = Arc::new(AtomicBool::new(false));
    let limits = Limits::default().with_control(ReadControl::default().stop_on(flag.clone()));
    let reader = std::thread::spawn(move || read_workbook(&path, &limits));
    flag.store(true, std::sync::atomic::Ordering::Relaxed);
    let err = reader.join().expect("no panic").expect_err("stopped");
    assert!(matches!(err.problem, Problem::Cancelled), "{err}");
}
