//! Header crossings: small integers (headcounts) of a written table, each equal to the value
//! at the crossing of its own row and column headers in a sheet, confirm; the same
//! departments and quarters with other numbers do not.

use super::tests::{confirmed, doc, num, read, text, write_table};
use super::*;
use crate::model::ReadCell;
use tracker_eval as eval;

const DEPTS: [&str; 6] = ["Sales", "Finance", "IT", "Legal", "Marketing", "Research"];
const QUARTERS: [&str; 4] = ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025"];

/// Headcount by department by quarter (values 6..650), under a title, from B3.
fn headcounts(seed: u64) -> Vec<Vec<f64>> {
    let mut rng = eval::Rng::new(seed);
    DEPTS
        .iter()
        .map(|_| {
            let mut h = (6.0 + rng.below(640) as f64).round();
            QUARTERS
                .iter()
                .map(|_| {
                    h = (h * (0.94 + 0.14 * rng.f64())).round().max(3.0);
                    h
                })
                .collect()
        })
        .collect()
}

fn sheet(values: &[Vec<f64>]) -> Vec<ReadCell> {
    let mut cells = vec![
        text(0, 1, "Headcount by department"),
        text(2, 1, "Department"),
    ];
    for (j, q) in QUARTERS.iter().enumerate() {
        cells.push(text(2, 2 + j as u32, q));
    }
    for (i, d) in DEPTS.iter().enumerate() {
        let r = 3 + i as u32;
        cells.push(text(r, 1, d));
        for (j, v) in values[i].iter().enumerate() {
            cells.push(num(r, 2 + j as u32, *v, "0"));
        }
    }
    cells
}

fn slide(values: &[Vec<f64>], rows: &[usize]) -> WriteContent {
    let mut t: Vec<Vec<String>> = vec![vec!["Team".to_string()]];
    t[0].extend(QUARTERS.iter().skip(1).map(|q| q.to_string()));
    for &i in rows {
        let mut row = vec![DEPTS[i].to_string()];
        row.extend(values[i].iter().skip(1).map(|v| format!("{v}")));
        t.push(row);
    }
    write_table(
        t.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    )
}

fn detector() -> (Detector, DocumentRef, Vec<Vec<f64>>) {
    let d = doc("People Report.xlsx");
    let ours = headcounts(31);
    let mut det = Detector::new();
    det.add_read(&read(&d, "HC by Department", sheet(&ours)));
    // Another workbook read too, with the same departments and quarters.
    det.add_read(&read(
        &doc("HR Dashboard.xlsx"),
        "Headcount",
        sheet(&headcounts(32)),
    ));
    (det, d, ours)
}

#[test]
fn small_integers_at_their_own_header_crossings_confirm() {
    let (det, d, ours) = detector();
    let flows = det.check(&slide(&ours, &[0, 2, 3, 5]));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
    assert_eq!(c[0].sheet, "HC by Department");
    // Rows 3, 5, 6, 8 (Sales, IT, Legal, Research), columns D..F (Q2..Q4).
    let mut want = Vec::new();
    for r in [3u32, 5, 6, 8] {
        for col in 3..6 {
            want.push(CellAddr::new(r, col));
        }
    }
    assert!(
        want.iter().all(|a| c[0].cells.contains(a)),
        "{:?}",
        c[0].cells
    );
}

#[test]
fn the_same_headers_with_other_numbers_do_not_confirm() {
    let (det, _, _) = detector();
    // A deck of a third workbook never read: same departments and quarters, its own
    // numbers of the same range.
    let theirs = headcounts(33);
    let flows = det.check(&slide(&theirs, &[0, 1, 2, 3, 4, 5]));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn renamed_quarter_headers_keep_their_columns_and_confirm() {
    let (det, d, ours) = detector();
    // `Q2`..`Q4` on the slide for the sheet's `Q2 2025`..`Q4 2025`: the columns keep
    // their order, one shift for the table.
    let mut t: Vec<Vec<String>> = vec![vec!["Team".into(), "Q2".into(), "Q3".into(), "Q4".into()]];
    for i in [0usize, 1, 4, 5] {
        let mut row = vec![DEPTS[i].to_string()];
        row.extend(ours[i].iter().skip(1).map(|v| format!("{v}")));
        t.push(row);
    }
    let w = write_table(
        t.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    );
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
    assert!(
        c[0].cells.contains(&CellAddr::new(3, 3)),
        "{:?}",
        c[0].cells
    );
}

#[test]
fn renamed_headers_with_other_numbers_do_not_confirm() {
    let (det, _, _) = detector();
    let theirs = headcounts(34);
    let mut t: Vec<Vec<String>> = vec![vec!["Team".into(), "Q2".into(), "Q3".into(), "Q4".into()]];
    for (i, d) in DEPTS.iter().enumerate() {
        let mut row = vec![d.to_string()];
        row.extend(theirs[i].iter().skip(1).map(|v| format!("{v}")));
        t.push(row);
    }
    let w = write_table(
        t.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    );
    assert!(confirmed(&det.check(&w)).is_empty());
}
