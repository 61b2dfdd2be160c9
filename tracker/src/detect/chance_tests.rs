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

/// A customer sheet: 60 customers with amounts in five columns, and beside the first 12 a
/// churn column of 1-decimal percentages (a small block of values all alike).
fn churn_sheet() -> (Vec<ReadCell>, Vec<f64>) {
    let mut rng = tracker_eval::Rng::new(21);
    let mut cells = vec![text(0, 0, "Customer"), text(0, 6, "Churn risk")];
    let mut churn = Vec::new();
    for r in 1..=60u32 {
        cells.push(text(r, 0, &format!("Account {r:02}")));
        for c in 1..=5 {
            let v = (rng.f64() * 9e6).round() / 100.0 + 1_000.0;
            cells.push(num(r, c, v, "#,##0.00"));
        }
        if r <= 12 {
            let p = (rng.below(90) as f64 + 1.0) / 1000.0;
            churn.push(p);
            cells.push(num(r, 6, p, "0.0%"));
        }
    }
    (cells, churn)
}

fn pct(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

#[test]
fn scattered_common_percentages_do_not_add_up_as_a_copied_block() {
    let (cells, churn) = churn_sheet();
    let mut det = Detector::new();
    det.add_read(&read(&doc("Customers.xlsx"), "Customer List", cells));
    // An unrelated slide: attrition by department, six values that happen to be in the
    // churn block but in rows that do not follow the slide's order.
    let picked = [churn[6], churn[1], churn[8], churn[3], churn[11], churn[4]];
    let rows: Vec<Vec<String>> = ["Marketing", "Sales", "Finance", "Legal", "IT", "Research"]
        .iter()
        .zip(picked)
        .map(|(d, p)| vec![d.to_string(), pct(p)])
        .collect();
    let mut table = vec![vec!["Department".to_string(), "Q3 FY25".to_string()]];
    table.extend(rows);
    let refs: Vec<Vec<&str>> = table
        .iter()
        .map(|r| r.iter().map(String::as_str).collect())
        .collect();
    let flows = det.check(&write_table(refs));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}
