//! Coincidences that must stay unconfirmed (an unrelated deck never blocks), each beside
//! the real copy that still confirms: template text shared by two workbooks, values common
//! in the sheet they happen to match, matches scattered against the sheet's own headers.

use super::tests::{confirmed, doc, num, read, text, write_table, write_text};
use super::*;
use crate::model::ReadCell;

/// An inventory sheet titled like every inventory workbook, with a long note beside it.
fn stock_sheet() -> Vec<ReadCell> {
    let mut cells = vec![
        text(0, 2, "Stock on hand at week 39"),
        text(1, 0, "SKU"),
        text(1, 1, "Units"),
        text(
            1,
            5,
            "Kolkata warehouse recounted bin 14 on 3 October and found 212 units of the \
             brass elbow fitting mislabelled as gaskets; Priya Raman will relabel them.",
        ),
    ];
    for r in 2..12u32 {
        cells.push(text(r, 0, &format!("QX-{}-B", 4100 + r * 7)));
        cells.push(num(r, 1, f64::from(r * 37 + 11), "#,##0"));
    }
    cells
}

#[test]
fn a_shared_title_cell_alone_does_not_confirm() {
    let mut det = Detector::new();
    det.add_read(&read(&doc("Stock 04.xlsx"), "SOH Report", stock_sheet()));
    // An unrelated deck whose slide carries the same template title over other figures.
    let flows = det.check(&write_table(vec![
        vec!["Stock on hand at week 39", ""],
        vec!["Item", "Units"],
        vec!["Widget", "5"],
    ]));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    let flows = det.check(&write_text("Stock on hand at week 39"));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // The note quoted still confirms: a passage, not a phrase.
    let flows = det.check(&write_text(
        "From the notes: Kolkata warehouse recounted bin 14 on 3 October and found 212 units \
         of the brass elbow fitting mislabelled as gaskets; Priya Raman will relabel them.",
    ));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}
