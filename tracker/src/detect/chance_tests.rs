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

#[test]
fn a_written_tables_column_headers_are_labels_not_rare_strings() {
    let rows = vec![
        vec!["Reorder date".to_string(), "Units on hand".to_string()],
        vec!["Stainless fitting M10".to_string(), "42".to_string()],
    ];
    let (items, _) = super::items::extract(&crate::model::WritePart::Table {
        location: "slide 1".into(),
        rows,
    });
    let texts: Vec<u64> = items
        .iter()
        .filter_map(|i| match i.kind {
            super::items::ItemKind::Text { hash, .. } => Some(hash),
            _ => None,
        })
        .collect();
    let h = |s: &str| super::parse::hash64(super::parse::fold(s).as_bytes());
    // The body cell is a string to look up; the headers only label the value under them.
    assert!(texts.contains(&h("Stainless fitting M10")));
    for header in [
        "Reorder date",
        "reorder date",
        "Units on hand",
        "units on hand",
    ] {
        assert!(!texts.contains(&h(header)), "{header}");
    }
}

#[test]
fn a_few_of_many_written_values_pay_for_their_choice() {
    // Seven dates in a written column, three matching this sheet: any three of seven.
    let mut det = Detector::new();
    let d = doc("Deals.xlsx");
    let mut cells = vec![text(0, 0, "Account"), text(0, 1, "Close date")];
    for r in 1..=30u32 {
        cells.push(text(r, 0, &format!("Deal {r}")));
        cells.push(num(r, 1, 45_658.0 + f64::from(r * 11 % 300), "dd.mm.yyyy"));
    }
    det.add_read(&read(&d, "Open Pipeline", cells));
    let id = |r: u32| {
        let addr = CellAddr::new(r, 1);
        det.pos.get(0, addr.row, addr.col).unwrap_or(0)
    };
    let write = write_table(vec![
        vec!["Account", "Close date"],
        vec!["A", "03.07.2031"],
        vec!["B", "04.07.2031"],
        vec!["C", "05.07.2031"],
        vec!["D", "06.07.2031"],
        vec!["E", "07.07.2031"],
        vec!["F", "08.07.2031"],
        vec!["G", "09.07.2031"],
    ]);
    let (items, _) = super::items::extract(&write.parts[0]);
    let dates: Vec<usize> = (0..items.len())
        .filter(|i| matches!(items[*i].kind, super::items::ItemKind::Date(_)))
        .collect();
    assert_eq!(dates.len(), 7);
    let picks = |k: usize| -> FastMap<u32, super::scoring::Pick> {
        (0..k)
            .map(|n| {
                (
                    id(n as u32 + 1),
                    super::scoring::Pick::test(dates[n], n as u32 + 1, 1),
                )
            })
            .collect()
    };
    let ln_c_7_3 = (35.0f64).ln();
    assert!((super::scoring::column_choice(&picks(3), &items) - ln_c_7_3).abs() < 1e-9);
    // All seven matched: no choice to pay for.
    assert!(super::scoring::column_choice(&picks(7), &items).abs() < 1e-9);
}

#[test]
fn lines_pasted_from_cells_are_whole_strings() {
    // Three notes pasted into one text box, one per line, each a cell's whole text: as
    // much a copy as a table of them, though each is too short to be a passage.
    let mut det = Detector::new();
    let d = doc("Plan.xlsx");
    det.add_read(&read(
        &d,
        "Notes",
        vec![
            text(0, 0, "#Top priority: renegotiate the Contoso renewal!"),
            text(1, 0, "#Second: close the Fabrikam pipeline gap?"),
            text(2, 0, "#Third: hire two account managers in Lagos!"),
        ],
    ));
    let w = write_text(
        "Priorities:\n#Top priority: renegotiate the Contoso renewal!\n#Second: close the Fabrikam pipeline gap?\n#Third: hire two account managers in Lagos!",
    );
    let flows = det.check(&w);
    assert_eq!(confirmed(&flows).len(), 1, "{flows:?}");
    assert_eq!(flows[0].matched, 3, "{flows:?}");
}
