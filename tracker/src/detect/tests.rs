//! Behavioural tests: each transformation and each corroboration rule, positive and
//! negative, asserting sheets, cells and strength.

use super::index::{num_key, sheet_num_key};
use super::items::{ItemKind, extract};
use super::parse::{fingerprints, fold, parse_date, parse_number, string_evidence};
use super::*;
use crate::model::{
    App, CellRange, CellValue, ExplicitSource, ReadCell, ReadEvent, SheetRead, WritePart,
};
// Plain values only (Rng, scaled, group): this dev-dependency's tracker types are another
// copy of this crate's.
use tracker_eval as eval;

pub(super) fn doc(name: &str) -> DocumentRef {
    DocumentRef::new(App::Excel, name, format!("https://x/{name}"))
}

pub(super) fn deck() -> DocumentRef {
    DocumentRef::new(App::Powerpoint, "Deck.pptx", "https://x/Deck.pptx")
}

pub(super) fn num(r: u32, c: u32, v: f64, fmt: &str) -> ReadCell {
    ReadCell {
        addr: CellAddr::new(r, c),
        value: CellValue::Number(v),
        text: None,
        number_format: Some(fmt.to_string()),
    }
}

pub(super) fn text(r: u32, c: u32, t: &str) -> ReadCell {
    ReadCell {
        addr: CellAddr::new(r, c),
        value: CellValue::Text(t.to_string()),
        text: Some(t.to_string()),
        number_format: None,
    }
}

pub(super) fn read(d: &DocumentRef, sheet: &str, cells: Vec<ReadCell>) -> ReadEvent {
    ReadEvent {
        id: ProvenanceId::new(),
        document: d.clone(),
        sheets: vec![SheetRead {
            sheet: sheet.to_string(),
            cells,
        }],
        at: 0,
        request: "t".into(),
    }
}

/// Regions x quarters revenue table at A1: header row, row headers in column A, values
/// with many significant digits.
fn revenue_table() -> Vec<ReadCell> {
    let regions = ["EMEA", "Americas", "APAC", "LATAM"];
    let quarters = ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025"];
    let mut cells = vec![text(0, 0, "Region")];
    for (j, q) in quarters.iter().enumerate() {
        cells.push(text(0, j as u32 + 1, q));
    }
    for (i, r) in regions.iter().enumerate() {
        cells.push(text(i as u32 + 1, 0, r));
        for j in 0..4 {
            let v = 1_000_000.0 + 123_457.31 * (i * 4 + j + 1) as f64 * 7.3;
            cells.push(num(i as u32 + 1, j as u32 + 1, v, "$#,##0"));
        }
    }
    cells
}

fn value(i: usize, j: usize) -> f64 {
    1_000_000.0 + 123_457.31 * (i * 4 + j + 1) as f64 * 7.3
}

/// A big sheet (8,000 cells) of log-uniform random values, seeded.
fn big_sheet(seed: u64) -> Vec<ReadCell> {
    let mut rng = eval::Rng::new(seed);
    let mut cells = Vec::new();
    for r in 0..200 {
        for c in 0..40 {
            let v = 10f64.powf(2.0 + 6.0 * rng.f64());
            cells.push(num(r, c, (v * 100.0).round() / 100.0, "#,##0.00"));
        }
    }
    cells
}

pub(super) fn write_table(rows: Vec<Vec<&str>>) -> WriteContent {
    WriteContent {
        target: deck(),
        parts: vec![WritePart::Table {
            location: "slide 2".into(),
            rows: rows
                .into_iter()
                .map(|r| r.into_iter().map(String::from).collect())
                .collect(),
        }],
        explicit_sources: vec![],
    }
}

pub(super) fn write_text(t: &str) -> WriteContent {
    WriteContent {
        target: deck(),
        parts: vec![WritePart::Text {
            location: "slide 1".into(),
            text: t.to_string(),
        }],
        explicit_sources: vec![],
    }
}

pub(super) fn confirmed(flows: &[Flow]) -> Vec<&Flow> {
    flows
        .iter()
        .filter(|f| f.strength == FlowStrength::Confirmed)
        .collect()
}

fn fmt_m(v: f64, d: usize) -> String {
    format!("${:.*}M", d, v / 1e6)
}

fn detector_with_revenue() -> (Detector, DocumentRef) {
    let d = doc("Q3.xlsx");
    let mut det = Detector::new();
    det.add_read(&read(&d, "Revenue", revenue_table()));
    det.add_read(&read(&doc("Other.xlsx"), "Noise", big_sheet(7)));
    (det, d)
}

// ---------- parsers ----------

fn contains(tok: &parse::NumToken, x: f64) -> bool {
    tok.readings.iter().any(|r| r.lo <= x && x <= r.hi)
}

#[test]
fn numbers_parse_in_every_rendering() {
    let cases: &[(&str, f64)] = &[
        ("1,234,567.89", 1_234_567.89),
        ("1.234.567,89", 1_234_567.89),
        ("1 234 567,89", 1_234_567.89),
        ("1'234'567.89", 1_234_567.89),
        ("$1,234,568", 1_234_567.89),
        ("USD 1,234,567.89", 1_234_567.89),
        ("1.234.568 €", 1_234_567.89),
        ("(1,234)", 1234.0),
        ("-$1,234", 1234.0),
        ("$1.23M", 1_234_567.89),
        ("1.2 million", 1_234_567.89),
        ("4.5k", 4_510.0),
        ("$2.1bn", 2_100_000_000.0),
        ("12.3%", 0.1234),
        ("12.34 %", 0.1234),
        ("12%", 0.1234),
    ];
    for (s, x) in cases {
        let t = parse_number(s).unwrap_or_else(|| panic!("{s} should parse"));
        assert!(contains(&t, *x), "{s} should cover {x}: {:?}", t.readings);
    }
    // Displayed precision bounds the interval: $1.23M does not cover 1.24M.
    let t = parse_number("$1.23M").unwrap();
    assert!(!contains(&t, 1_240_000.0));
    for s in [
        "",
        "abc",
        "1,2,3,4",
        "12 34",
        "$",
        "--",
        "1.2.3,4.5",
        "Q1 2025",
        "v1.2a",
    ] {
        assert!(parse_number(s).is_none(), "{s:?} should not parse");
    }
}

#[test]
fn weak_numbers_are_flagged() {
    for s in ["2025", "12", "7", "300", "0"] {
        assert!(parse_number(s).unwrap().weak, "{s}");
    }
    for s in ["$12", "12.5%", "1,234", "4.2M", "2025.5"] {
        assert!(!parse_number(s).unwrap().weak, "{s}");
    }
}

#[test]
fn dates_parse_in_common_formats_but_not_periods() {
    let serial = 45747.0; // 2025-03-31
    for s in [
        "2025-03-31",
        "2025/03/31",
        "31/03/2025",
        "03/31/2025",
        "Mar 31, 2025",
        "March 31, 2025",
        "31 March 2025",
        "31-Mar-2025",
        "2025-03-31T00:00:00",
    ] {
        assert!(parse_date(s).contains(&serial), "{s}: {:?}", parse_date(s));
    }
    // Ambiguous day/month: both readings.
    let both = parse_date("03/04/2025");
    assert_eq!(both.len(), 2);
    for s in [
        "Q1 2025",
        "2025",
        "FY25",
        "March 2025",
        "31/02/2025",
        "1.5",
        "12/2025",
    ] {
        assert!(parse_date(s).is_empty(), "{s:?} is not a date");
    }
}

#[test]
fn folding_and_string_evidence() {
    assert_eq!(fold("  ACME   Robotics\tGmbH "), "acme robotics gmbh");
    assert!(string_evidence("acme robotics gmbh") > 0.0);
    assert!(string_evidence("sku-88231-x") > 0.0);
    for common in [
        "revenue",
        "total",
        "q3",
        "the",
        "emea",
        "net revenue",
        "north",
    ] {
        assert_eq!(string_evidence(common), 0.0, "{common}");
    }
}

#[test]
fn parsers_never_panic_on_odd_input() {
    let odd = [
        "(",
        ")",
        "()",
        "$(",
        "(%)",
        "1e400",
        "٣٤٥",
        "１２３",
        "1,,,",
        ".",
        "..5",
        "5..",
        "\u{0}",
        "💰1,2",
        "(((1)))",
        "1 2 3 4 5 6 7 8",
        "99/99/9999",
        "-",
        "−1",
        "0000",
    ];
    for s in odd {
        let _ = parse_number(s);
        let _ = parse_date(s);
        let _ = fingerprints(s);
        let _ = string_evidence(&fold(s));
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("a.xlsx"), "S", vec![text(0, 0, "(((")]));
    for s in odd {
        let _ = det.check(&write_text(s));
        let _ = det.check(&write_table(vec![vec![s, s], vec![s]]));
    }
}

// ---------- corroboration ----------

/// Two quarters of two regions of the revenue table, as "$1.23M", under their headers.
fn revenue_copy_in_millions() -> WriteContent {
    let rows: Vec<Vec<String>> = vec![
        vec!["".into(), "Q1 2025".into(), "Q2 2025".into()],
        vec!["EMEA".into(), fmt_m(value(0, 0), 2), fmt_m(value(0, 1), 2)],
        vec![
            "Americas".into(),
            fmt_m(value(1, 0), 2),
            fmt_m(value(1, 1), 2),
        ],
    ];
    write_table(
        rows.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    )
}

#[test]
fn exact_table_copy_confirms_with_the_right_cells() {
    let (det, d) = detector_with_revenue();
    let w = revenue_copy_in_millions();
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    let f = c[0];
    assert_eq!(f.source.id, d.id);
    assert_eq!(f.sheet, "Revenue");
    assert_eq!(f.location, "slide 2");
    let want: Vec<CellAddr> = [(1, 1), (1, 2), (2, 1), (2, 2)]
        .iter()
        .map(|(r, c)| CellAddr::new(*r, *c))
        .collect();
    for w in &want {
        assert!(f.cells.contains(w), "{w} missing from {:?}", f.cells);
    }
    assert!(f.matched >= 4);
    assert!(f.confidence > 0.9 && f.confidence <= 1.0);
    assert!(!f.explicit);
    assert_eq!(f.sensitivity, SensitivityMark::default());
}

#[test]
fn transposed_table_confirms() {
    let (det, _) = detector_with_revenue();
    let rows = [
        vec![String::new(), "EMEA".into(), "APAC".into()],
        vec![
            "Q1 2025".into(),
            fmt_m(value(0, 0), 1),
            fmt_m(value(2, 0), 1),
        ],
        vec![
            "Q3 2025".into(),
            fmt_m(value(0, 2), 1),
            fmt_m(value(2, 2), 1),
        ],
    ];
    let w = write_table(
        rows.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    );
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].sheet, "Revenue");
    for (r, col) in [(1, 1), (3, 1), (1, 3), (3, 3)] {
        assert!(
            c[0].cells.contains(&CellAddr::new(r, col)),
            "{:?}",
            c[0].cells
        );
    }
}

#[test]
fn values_in_a_sentence_confirm() {
    let (det, _) = detector_with_revenue();
    let t = format!(
        "In Q2 EMEA brought in {} while Americas reached {}, and APAC {}.",
        fmt_m(value(0, 1), 2),
        fmt_m(value(1, 1), 2),
        fmt_m(value(2, 1), 2)
    );
    let flows = det.check(&write_text(&t));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].sheet, "Revenue");
    assert_eq!(
        c[0].cells,
        vec![
            CellAddr::new(1, 2),
            CellAddr::new(2, 2),
            CellAddr::new(3, 2)
        ]
    );
    assert_eq!(c[0].location, "slide 1");
}

#[test]
fn lone_two_figure_value_in_big_sheet_is_at_most_possible() {
    let mut det = Detector::new();
    let cells = big_sheet(11);
    let target = cells
        .iter()
        .find_map(|c| match c.value {
            CellValue::Number(v) if v > 1e6 => Some(v),
            _ => None,
        })
        .unwrap();
    det.add_read(&read(&doc("Big.xlsx"), "Data", cells));
    let flows = det.check(&write_text(&format!(
        "We made {} this year.",
        fmt_m(target, 1)
    )));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn same_value_beside_its_header_confirms() {
    // Big sheet plus a header row and column: the value beside both headers is pinned.
    let mut cells = big_sheet(12);
    for c in &mut cells {
        c.addr = CellAddr::new(c.addr.row + 1, c.addr.col + 1);
    }
    cells.push(text(0, 5, "Widgets Pro"));
    cells.push(text(7, 0, "Contoso North"));
    let v = cells
        .iter()
        .find_map(|c| match c.value {
            CellValue::Number(v) if c.addr == CellAddr::new(7, 5) => Some(v),
            _ => None,
        })
        .unwrap();
    let mut det = Detector::new();
    det.add_read(&read(&doc("Big.xlsx"), "Data", cells));
    let shown = format!("{:.1}k", v / 1e3);
    let lone = det.check(&write_text(&format!("The figure is {shown}.")));
    assert!(confirmed(&lone).is_empty(), "{lone:#?}");
    let w = write_table(vec![vec!["", "Widgets Pro"], vec!["Contoso North", &shown]]);
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].cells, vec![CellAddr::new(7, 5)]);
}

#[test]
fn years_and_page_numbers_never_confirm() {
    let mut det = Detector::new();
    let mut cells = vec![];
    for i in 0..20 {
        cells.push(num(i, 0, 2000.0 + f64::from(i), "0"));
        cells.push(num(i, 1, f64::from(i + 1), "0"));
    }
    det.add_read(&read(&doc("Years.xlsx"), "S", cells));
    let flows = det.check(&write_text(
        "Page 3 of 12. Since 2005, 2010 and 2015 we grew; see page 7, 8, 9 and 11.",
    ));
    assert!(flows.is_empty(), "{flows:#?}");
    let flows = det.check(&write_table(vec![
        vec!["2011", "2012", "2013"],
        vec!["4", "5", "6"],
    ]));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn quarter_is_not_a_date_match() {
    let mut det = Detector::new();
    det.add_read(&read(
        &doc("Dates.xlsx"),
        "S",
        vec![
            num(0, 0, 45658.0, "yyyy-mm-dd"),
            num(1, 0, 45748.0, "yyyy-mm-dd"),
        ],
    ));
    assert!(
        det.check(&write_text("Q1 2025 and Q2 2025 were fine"))
            .is_empty()
    );
    // The same dates re-rendered do match (weakly: dates alone never confirm).
    let flows = det.check(&write_text("From Jan 1, 2025 to 01/04/2025."));
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_eq!(
        flows[0].cells,
        vec![CellAddr::new(0, 0), CellAddr::new(1, 0)]
    );
}

#[test]
fn dates_with_values_confirm() {
    let d = doc("Ledger.xlsx");
    let mut det = Detector::new();
    let mut cells = vec![];
    let vals = [48_213.17, 51_994.02, 47_118.66];
    for (i, v) in vals.iter().enumerate() {
        cells.push(num(i as u32, 0, 45747.0 + 30.0 * i as f64, "yyyy-mm-dd"));
        cells.push(num(i as u32, 1, *v, "$#,##0.00"));
    }
    det.add_read(&read(&d, "Ledger", cells));
    let w = write_table(vec![
        vec!["Date", "Amount"],
        vec!["Mar 31, 2025", "$48.2k"],
        vec!["30/04/2025", "$52.0k"],
        vec!["2025-05-30", "$47.1k"],
    ]);
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].cells.len(), 6, "{:?}", c[0].cells);
}

#[test]
fn percent_and_negative_and_locale_renderings_confirm() {
    let d = doc("Margins.xlsx");
    let mut det = Detector::new();
    det.add_read(&read(
        &d,
        "KPI",
        vec![
            num(0, 0, 0.123_456, "0.0%"),
            num(0, 1, -1_234_567.0, "#,##0;(#,##0)"),
            num(0, 2, 0.087_913, "0.0%"),
            num(0, 3, 98_765.43, "#,##0.00"),
        ],
    ));
    let w = write_text("Margin 12.35 %, loss (1,234,567), churn 8.79%, cash 98.765,43 EUR.");
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].cells.len(), 4, "{:?}", c[0].cells);
}

#[test]
fn subset_of_a_table_confirms_only_those_cells() {
    let (det, _) = detector_with_revenue();
    let w = write_table(vec![
        vec!["LATAM", "Q4 2025"],
        vec!["", &format!("{:.0}", value(3, 3))],
        vec!["", &format!("{:.0}", value(3, 2))],
    ]);
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].cells, vec![CellAddr::new(4, 3), CellAddr::new(4, 4)]);
}

#[test]
fn long_quoted_passage_confirms_and_common_words_do_not() {
    let d = doc("Memo.xlsx");
    let passage = "The Halvorsen acquisition closes after regulators in Oslo approve the revised \
                   pipeline tariff schedule submitted last autumn by the integration office";
    let mut det = Detector::new();
    det.add_read(&read(
        &d,
        "Notes",
        vec![text(4, 2, passage), text(0, 0, "the")],
    ));
    let t = format!("As the memo says: \"{}\", so we wait.", &passage[4..]);
    let flows = det.check(&write_text(&t));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].cells, vec![CellAddr::new(4, 2)]);
    // Common words only: nothing.
    let flows = det.check(&write_text(
        "The total revenue for the quarter was up in the region.",
    ));
    assert!(flows.is_empty(), "{flows:#?}");
}

#[test]
fn names_and_skus_match_after_folding() {
    let d = doc("Customers.xlsx");
    let mut det = Detector::new();
    det.add_read(&read(
        &d,
        "Accounts",
        vec![
            text(3, 0, "Acme Robotics GmbH"),
            text(3, 1, "SKU-88231-XR"),
            text(4, 0, "Revenue"),
        ],
    ));
    let flows = det.check(&write_text(
        "Top account: ACME  robotics gmbh, mostly sku-88231-xr.",
    ));
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_eq!(
        flows[0].cells,
        vec![CellAddr::new(3, 0), CellAddr::new(3, 1)]
    );
    assert_eq!(flows[0].strength, FlowStrength::Confirmed);
    // One common word alone never counts.
    assert!(det.check(&write_text("Revenue")).is_empty());
    // A lone name is shown but does not confirm.
    let flows = det.check(&write_text("Meeting with Acme Robotics GmbH"));
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].strength, FlowStrength::Possible);
}

#[test]
fn never_a_flow_from_the_target_itself() {
    let mut det = Detector::new();
    det.add_read(&read(&deck(), "Slide1", revenue_table()));
    let w = write_text(&format!(
        "{} {} {}",
        fmt_m(value(0, 0), 3),
        fmt_m(value(0, 1), 3),
        fmt_m(value(0, 2), 3)
    ));
    assert!(det.check(&w).is_empty());
    let mut w = w;
    w.explicit_sources.push(ExplicitSource {
        document: deck(),
        sheet: "Slide1".into(),
        range: CellRange::parse("A1:B2").unwrap(),
        location: "slide 1".into(),
    });
    assert!(det.check(&w).is_empty());
}

#[test]
fn explicit_sources_are_confirmed_with_indexed_cells() {
    let (det, d) = detector_with_revenue();
    let mut w = write_text("see table");
    w.explicit_sources.push(ExplicitSource {
        document: d.clone(),
        sheet: "Revenue".into(),
        range: CellRange::parse("B2:C3").unwrap(),
        location: "slide 4".into(),
    });
    w.explicit_sources.push(ExplicitSource {
        document: doc("Unread.xlsx"),
        sheet: "S".into(),
        range: CellRange::parse("A1:A2").unwrap(),
        location: "slide 5".into(),
    });
    let flows = det.check(&w);
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert!(flows.iter().all(|f| f.explicit && f.confidence == 1.0));
    assert!(flows.iter().all(|f| f.strength == FlowStrength::Confirmed));
    assert_eq!(flows[0].cells.len(), 4);
    assert_eq!(flows[0].matched, 4);
    assert_eq!(
        flows[1].cells,
        vec![CellAddr::new(0, 0), CellAddr::new(1, 0)]
    );
}

#[test]
fn latest_read_wins() {
    let d = doc("Live.xlsx");
    let mut det = Detector::new();
    let old = vec![
        num(0, 0, 1_234_567.89, "0.00"),
        num(0, 1, 7_654_321.98, "0.00"),
    ];
    det.add_read(&read(&d, "S", old));
    assert_eq!(det.len(), 2);
    let new = vec![
        num(0, 0, 5_555_555.55, "0.00"),
        num(0, 1, 6_666_666.66, "0.00"),
    ];
    det.add_read(&read(&d, "S", new));
    assert_eq!(det.len(), 2);
    assert!(
        det.check(&write_text("1,234,567.89 and 7,654,321.98"))
            .is_empty()
    );
    let flows = det.check(&write_text("5,555,555.55 and 6,666,666.66"));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
    // Many rewrites trigger compaction and keep answers right.
    for k in 0..3000 {
        det.add_read(&read(&d, "S", vec![num(0, 0, f64::from(k) + 0.5, "0.0")]));
    }
    assert_eq!(det.len(), 2);
    let flows = det.check(&write_text("2999.5 and 6,666,666.66"));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
    assert_eq!(
        flows[0].cells,
        vec![CellAddr::new(0, 0), CellAddr::new(0, 1)]
    );
}

#[test]
fn unrelated_workbook_of_same_domain_does_not_confirm() {
    let (det, _) = detector_with_revenue();
    let w = write_table(vec![
        vec!["Region", "Q1 2025", "Q2 2025"],
        vec!["EMEA", "$3.1M", "$4.7M"],
        vec!["APAC", "$2.2M", "$5.9M"],
    ]);
    let flows = det.check(&w);
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn rounded_table_with_headers_confirms_with_the_right_cells() {
    let (det, _) = detector_with_revenue();
    let rows = [
        vec![
            String::new(),
            "Q2 2025".into(),
            "Q3 2025".into(),
            "Q4 2025".into(),
        ],
        vec![
            "Americas".into(),
            fmt_m(value(1, 1), 1),
            fmt_m(value(1, 2), 1),
            fmt_m(value(1, 3), 1),
        ],
        vec![
            "APAC".into(),
            fmt_m(value(2, 1), 1),
            fmt_m(value(2, 2), 1),
            fmt_m(value(2, 3), 1),
        ],
    ];
    let w = write_table(
        rows.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    );
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    let want: Vec<CellAddr> = (2..=3)
        .flat_map(|r| (2..=4).map(move |col| CellAddr::new(r, col)))
        .collect();
    assert_eq!(c[0].cells, want);
    // The same rounded figures without headers, scattered in a sentence, do not confirm
    // against the big noise sheet alone.
    let t = format!(
        "We saw {} and {}.",
        fmt_m(value(1, 1), 1),
        fmt_m(value(2, 3), 1)
    );
    let flows = det.check(&write_text(&t));
    assert!(
        confirmed(&flows).iter().all(|f| f.sheet == "Revenue"),
        "{flows:#?}"
    );
}

// ---------- attribution at scale, joint pins, distinctive headers ----------

#[test]
fn each_cells_sheet_is_kept_beside_it_through_replacement_and_compaction() {
    let mut det = Detector::new();
    let same = |det: &Detector| {
        det.cells.len() == det.sheet_of.len()
            && det
                .cells
                .iter()
                .zip(&det.sheet_of)
                .all(|(c, s)| c.sheet == *s)
    };
    det.add_read(&read(
        &doc("A.xlsx"),
        "S",
        vec![num(0, 0, 5.0, "0"), num(0, 1, 7.5, "0")],
    ));
    det.add_read(&read(&doc("B.xlsx"), "T", vec![num(0, 0, 5.0, "0")]));
    // A replaced cell: dead in both.
    det.add_read(&read(&doc("A.xlsx"), "S", vec![num(0, 0, 6.0, "0")]));
    assert!(same(&det));
    assert_eq!(det.sheet_of.iter().filter(|s| **s == DEAD).count(), 1);
    let b = det.doc_ids.get(&doc("B.xlsx").id).copied();
    assert_eq!(det.live_sheet(0, None), None, "replaced");
    assert_eq!(det.live_sheet(2, None), Some(1));
    assert_eq!(det.live_sheet(2, b), None, "in the target document");
    det.compact();
    assert!(same(&det));
    assert_eq!(det.sheet_of, vec![0, 1, 0]);
}

#[test]
fn places_pack_every_field_and_refuse_what_does_not_fit() {
    use super::index::Place;
    use super::runs::NO_PLACE;
    let edge = Place {
        sheet: (1 << 20) - 1,
        row: (1 << 20) - 1,
        col: u16::MAX,
        date: true,
        cur: 31,
    };
    for p in [
        edge,
        Place {
            sheet: 0,
            row: 0,
            col: 0,
            date: false,
            cur: 0,
        },
        Place {
            sheet: 12_345,
            row: 1_048_575,
            col: 16_383,
            date: false,
            cur: parse::Currency::Gbp.to_byte(),
        },
    ] {
        assert_ne!(p.pack(), NO_PLACE);
        assert_eq!(Place::unpack(p.pack()), Some(p));
    }
    for p in [
        Place {
            row: 1 << 20,
            ..edge
        },
        Place {
            sheet: 1 << 20,
            ..edge
        },
        Place { cur: 32, ..edge },
    ] {
        assert_eq!(p.pack(), NO_PLACE, "{p:?}");
    }
    assert_eq!(Place::unpack(NO_PLACE), None);
}

#[test]
fn each_numbers_place_agrees_with_its_cell_through_replacement_and_compaction() {
    use super::index::Place;
    let mut det = Detector::new();
    let big = num(2_000_000, 3, 42.5, "0.0");
    det.add_read(&read(
        &doc("A.xlsx"),
        "S",
        vec![
            num(0, 0, 5.0, "0"),
            num(0, 1, 7.5, "£#,##0.00"),
            num(1, 0, 45_000.0, "yyyy-mm-dd"),
            text(1, 1, "31/03/2025"),
            big,
        ],
    ));
    det.add_read(&read(&doc("B.xlsx"), "T", vec![num(4, 9, 5.0, "0")]));
    // Replaced: the 5 of A!S, and the date text.
    det.add_read(&read(
        &doc("A.xlsx"),
        "S",
        vec![num(0, 0, 6.0, "0"), text(1, 1, "x")],
    ));
    let b = det.doc_ids.get(&doc("B.xlsx").id).copied();
    let check = |det: &Detector| {
        let mut seen = 0;
        det.nums.query_placed(0, u64::MAX, usize::MAX, |id, place| {
            let cell = det.cells[id as usize];
            let live = det.live_place(id, place, None);
            if cell.sheet == DEAD {
                assert_eq!(live, None, "replaced cell {id}");
            } else {
                assert_eq!(live, Some(Place::of(&cell)), "cell {id}");
                let in_b = det.sheets[cell.sheet as usize].doc == b.unwrap_or(u32::MAX);
                assert_eq!(det.live_place(id, place, b).is_none(), in_b);
                seen += 1;
            }
        });
        seen
    };
    // 7.5, the date, 42.5 (its row past a packed place's: read from the cell), B's 5, 6.
    assert_eq!(check(&det), 5);
    det.compact();
    assert_eq!(check(&det), 5);
}

#[test]
fn runs_spans_narrow_lookups_to_one_sheet() {
    let mut det = Detector::new();
    det.add_read(&read(
        &doc("A.xlsx"),
        "S",
        vec![num(0, 0, 5.0, "0"), num(0, 1, 7.5, "0")],
    ));
    det.add_read(&read(&doc("B.xlsx"), "T", vec![num(0, 0, 5.0, "0")]));
    // Order of the per-sheet key follows the value within a sheet.
    assert!(sheet_num_key(0, 5.0) < sheet_num_key(0, 7.5));
    assert!(sheet_num_key(0, 1e12) < sheet_num_key(1, 0.0));
    for compact in [false, true] {
        if compact {
            det.compact();
        }
        let spans = det
            .sheet_nums
            .spans(1 << 32, (1 << 32) | u64::from(u32::MAX));
        let mut ids = Vec::new();
        let n = det.sheet_nums.query_in(
            &spans,
            sheet_num_key(1, 4.0),
            sheet_num_key(1, 6.0),
            10,
            |id| ids.push(id),
        );
        assert_eq!((n, ids.len()), (1, 1));
        assert_eq!(det.cells[ids[0] as usize].sheet, 1);
        // Over the cap: counted, not enumerated.
        let spans0 = det.sheet_nums.spans(0, u64::from(u32::MAX));
        let mut k = 0;
        let n0 = det
            .sheet_nums
            .query_in(&spans0, 0, u64::from(u32::MAX), 1, |_| k += 1);
        assert_eq!((n0, k), (2, 0));
    }
}

#[test]
fn copied_block_of_values_too_common_to_enumerate_still_confirms() {
    // Every copied value also sits, scattered, in 140 other sheets: each has more index-wide
    // hits than ENUM_CAP, so none is enumerated across the index. The block-count sample
    // finds the one sheet where they sit together and looks them up there.
    let (det, src, _, w) = common_block_index();
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, src.id);
    let want: Vec<CellAddr> = (0..20u32).map(|k| CellAddr::new(k / 4, k % 4)).collect();
    assert_eq!(c[0].cells, want);
}

/// Thirty look-alike workbooks (same regions, same quarters) and one with key-account
/// rows: (region, quarter) crossings are everywhere, (account, quarter) is in one place.
fn lookalikes_and_accounts() -> (Detector, DocumentRef, f64, DocumentRef, f64) {
    let mut rng = eval::Rng::new(5);
    let mut det = Detector::new();
    let regions = ["EMEA", "Americas", "APAC", "LATAM"];
    let quarters = ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025"];
    let table = |rows: &[&str], rng: &mut eval::Rng| {
        let mut cells = Vec::new();
        let mut vals = Vec::new();
        for (j, q) in quarters.iter().enumerate() {
            cells.push(text(0, j as u32 + 1, q));
        }
        for (i, r) in rows.iter().enumerate() {
            cells.push(text(i as u32 + 1, 0, r));
            for j in 0..4 {
                let v = (10f64.powf(5.0 + 2.5 * rng.f64()) * 100.0).round() / 100.0;
                vals.push(v);
                cells.push(num(i as u32 + 1, j as u32 + 1, v, "$#,##0"));
            }
        }
        (cells, vals)
    };
    let mut shared = (doc("R0.xlsx"), 0.0);
    for b in 0..30 {
        let d = doc(&format!("R{b}.xlsx"));
        let (cells, vals) = table(&regions, &mut rng);
        if b == 0 {
            shared = (d.clone(), vals[5]); // Americas, Q2 2025: cell (2, 2)
        }
        det.add_read(&read(&d, "Revenue", cells));
    }
    let acct = doc("Accounts.xlsx");
    let (cells, vals) = table(
        &["Halvorsen Logistics AG", "Quilmor Labs", "Tasdak GmbH"],
        &mut rng,
    );
    det.add_read(&read(&acct, "Accounts", cells));
    (det, shared.0, shared.1, acct, vals[5])
}

#[test]
fn lone_value_at_distinctive_headers_confirms_at_shared_headers_is_possible() {
    let (det, shared_doc, shared_v, acct, acct_v) = lookalikes_and_accounts();
    // Shared headers: thirty places hold (Americas, Q2 2025); a 3-figure value there is
    // shown as Possible, never Confirmed.
    let w = write_table(vec![
        vec!["", "Q2 2025"],
        vec!["Americas", &eval::scaled(shared_v, 3, 0)],
    ]);
    let flows = det.check(&w);
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    assert!(
        flows.iter().any(|f| f.source.id == shared_doc.id
            && f.strength == FlowStrength::Possible
            && f.cells == vec![CellAddr::new(2, 2)]),
        "{flows:#?}"
    );
    // Distinctive headers: one place holds (Quilmor Labs, Q2 2025): the value is pinned.
    let w = write_table(vec![
        vec!["", "Q2 2025"],
        vec!["Quilmor Labs", &eval::scaled(acct_v, 3, 0)],
    ]);
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, acct.id);
    assert_eq!(c[0].cells, vec![CellAddr::new(2, 2)]);
}

#[test]
fn two_values_at_their_header_crossings_confirm_jointly() {
    let (det, shared_doc, _, _, _) = lookalikes_and_accounts();
    // Two 3-figure values of one look-alike workbook, each under its own quarter header in
    // the Americas row: the pair pins the source even though the headers are shared.
    let mut rng = eval::Rng::new(5);
    let mut vals = Vec::new();
    for _ in 0..16 {
        vals.push((10f64.powf(5.0 + 2.5 * rng.f64()) * 100.0).round() / 100.0);
    }
    let (a, b) = (eval::scaled(vals[5], 3, 0), eval::scaled(vals[6], 3, 0));
    let w = write_table(vec![
        vec!["", "Q2 2025", "Q3 2025"],
        vec!["Americas", &a, &b],
    ]);
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, shared_doc.id);
    assert_eq!(c[0].cells, vec![CellAddr::new(2, 2), CellAddr::new(2, 3)]);
}

#[test]
fn reading_the_same_ranges_again_and_again_keeps_the_index_the_same_size() {
    let d = doc("Q3.xlsx");
    let mut det = Detector::new();
    let first = read(&d, "Revenue", revenue_table());
    det.add_read(&first);
    let live = det.len();
    let mut last = first.id;
    for round in 0..20_000 {
        // Every other round one value changes: a replaced cell, compacted away in time.
        let mut cells = revenue_table();
        if round % 2 == 1
            && let Some(c) = cells
                .iter_mut()
                .find(|c| c.addr == CellAddr::parse_a1("E4").unwrap())
        {
            c.value = CellValue::Number(round as f64 + 0.5);
        }
        let again = read(&d, "Revenue", cells);
        last = again.id;
        det.add_read(&again);
        assert_eq!(
            det.len(),
            live,
            "round {round}: a re-read replaces, never adds"
        );
        // Bounded by the compaction thresholds, not by the number of reads.
        assert!(
            det.cells.len() <= live + 1025,
            "round {round}: {} cells",
            det.cells.len()
        );
        assert!(
            det.reads.len() <= 4097,
            "round {round}: {} reads",
            det.reads.len()
        );
    }
    // Every cell carries the latest read's label, and the data is still detected.
    assert_eq!(
        det.provenance(&d, "Revenue", CellAddr::parse_a1("B2").unwrap()),
        Some(last)
    );
    det.add_read(&read(&doc("Other.xlsx"), "Noise", big_sheet(7)));
    let w = revenue_copy_in_millions();
    let flows = det.check(&w);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
}

// ---------- weak bare matches set aside ----------

/// Twelve 8,000-cell sheets of log-uniform amounts (96k numbers): a 3-significant-figure
/// amount matches a few dozen cells, a cell or two per sheet, each a coincidence with less
/// than WEAK_EVIDENCE of rarity in its sheet.
fn twelve_noise_sheets() -> (Detector, Vec<DocumentRef>) {
    let mut det = Detector::new();
    let docs: Vec<DocumentRef> = (0..12).map(|b| doc(&format!("N{b}.xlsx"))).collect();
    for (b, d) in docs.iter().enumerate() {
        det.add_read(&read(d, "Data", big_sheet(1000 + b as u64)));
    }
    det.compact();
    (det, docs)
}

fn bare_table(values: &[f64], cols: usize) -> WriteContent {
    let rows: Vec<Vec<String>> = values
        .chunks(cols)
        .map(|r| r.iter().map(|v| eval::scaled(*v, 3, 0)).collect())
        .collect();
    WriteContent {
        target: deck(),
        parts: vec![WritePart::Table {
            location: "slide 1".into(),
            rows,
        }],
        explicit_sources: vec![],
    }
}

#[test]
fn bare_common_values_matching_by_chance_are_not_flows() {
    // Forty unrelated 3-figure amounts ($12.3k .. $123M), no headers: each matches cells in
    // every sheet by chance. Scored on those weak matches alone, nearly every sheet came out
    // Possible (and now and then Confirmed on a chance cluster). Set aside, they reach
    // scoring only in a sheet the block sample nominates, which chance does now and then.
    let (det, _) = twelve_noise_sheets();
    let mut flows_total = 0;
    for seed in 0..8 {
        let mut rng = eval::Rng::new(700 + seed);
        let values: Vec<f64> = (0..40).map(|_| 10f64.powf(4.0 + 4.0 * rng.f64())).collect();
        let w = bare_table(&values, 5);
        let mut per_reading = 0;
        for item in extract(&w.parts[0]).0 {
            if let ItemKind::Num(tok) = item.kind {
                for r in &tok.readings {
                    let n = det.nums.query(num_key(r.lo), num_key(r.hi), 0, |_| {});
                    per_reading = per_reading.max(n);
                }
            }
        }
        // The premise: every reading is enumerated (none deferred), so the rule is what acts.
        assert!(per_reading <= ENUM_CAP, "{per_reading}");
        let flows = det.check(&w);
        assert!(confirmed(&flows).is_empty(), "{flows:#?}");
        assert!(flows.len() <= 1, "{flows:#?}");
        flows_total += flows.len();
    }
    assert!(
        flows_total <= 2,
        "{flows_total} flows from 8 unrelated writes"
    );
}

#[test]
fn bare_common_values_copied_as_a_block_still_confirm_with_their_cells() {
    // The same kind of amounts, but forty of them copied from one block of one sheet: the
    // block sample names that sheet, and its set-aside matches are given back there.
    let (mut det, docs) = twelve_noise_sheets();
    let src = doc("Src.xlsx");
    let cells = big_sheet(42);
    let block: Vec<(CellAddr, f64)> = cells
        .iter()
        .filter(|c| c.addr.row >= 50 && c.addr.row < 58 && c.addr.col >= 10 && c.addr.col < 15)
        .map(|c| match c.value {
            CellValue::Number(v) => (c.addr, v),
            _ => (c.addr, 0.0),
        })
        .collect();
    det.add_read(&read(&src, "Data", cells));
    let values: Vec<f64> = block.iter().map(|b| b.1).collect();
    let flows = det.check(&bare_table(&values, 5));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, src.id);
    for (addr, _) in &block {
        assert!(
            c[0].cells.contains(addr),
            "{addr:?} missing: {:?}",
            c[0].cells
        );
    }
    assert!(
        flows
            .iter()
            .all(|f| docs.iter().all(|d| d.id != f.source.id))
    );
}

#[test]
fn a_sheet_with_real_evidence_gets_its_weak_matches_back() {
    // One rare value (all its digits) and two 3-figure amounts beside it in a big sheet:
    // too few for the block sample, but the rare value makes the sheet a real candidate,
    // and the two weak matches next to it belong to the flow.
    let (mut det, _) = twelve_noise_sheets();
    let src = doc("Src.xlsx");
    let mut cells = big_sheet(43);
    let mut row = Vec::new();
    for c in cells
        .iter_mut()
        .filter(|c| c.addr.row == 10 && (3..=5).contains(&c.addr.col))
    {
        if c.addr.col == 3 {
            c.value = CellValue::Number(1_234_567.89);
        }
        if let CellValue::Number(v) = c.value {
            row.push(v);
        }
    }
    det.add_read(&read(&src, "Data", cells));
    let w = write_table(vec![vec![
        "1,234,567.89",
        &eval::scaled(row[1], 3, 0),
        &eval::scaled(row[2], 3, 0),
    ]]);
    let flows = det.check(&w);
    let from_src: Vec<&Flow> = flows.iter().filter(|f| f.source.id == src.id).collect();
    assert_eq!(from_src.len(), 1, "{flows:#?}");
    for col in 3..=5 {
        assert!(
            from_src[0].cells.contains(&CellAddr::new(10, col)),
            "{:?}",
            from_src[0].cells
        );
    }
}

/// The index of `copied_block_of_values_too_common_to_enumerate_still_confirms`: twenty
/// values, each scattered over 140 noise sheets, together in one block of `Src.xlsx`; and
/// the write of that block.
fn common_block_index() -> (Detector, DocumentRef, Vec<f64>, WriteContent) {
    let mut rng = eval::Rng::new(99);
    let block: Vec<f64> = (0..20)
        .map(|_| (10f64.powf(3.0 + 4.0 * rng.f64()) * 100.0).round() / 100.0)
        .collect();
    let mut det = Detector::new();
    for b in 0..140u32 {
        let mut cells = Vec::new();
        for r in 0..25 {
            for c in 0..40 {
                let v = (10f64.powf(2.0 + 6.0 * rng.f64()) * 100.0).round() / 100.0;
                cells.push(num(r, c, v, "#,##0.00"));
            }
        }
        for (k, v) in block.iter().enumerate() {
            cells.push(num(100 + 16 * k as u32, k as u32, *v, "#,##0.00"));
        }
        det.add_read(&read(&doc(&format!("N{b}.xlsx")), "Data", cells));
    }
    let src = doc("Src.xlsx");
    let mut cells = Vec::new();
    for (k, v) in block.iter().enumerate() {
        cells.push(num(k as u32 / 4, k as u32 % 4, *v, "#,##0.00"));
    }
    det.add_read(&read(&src, "Block", cells));
    det.compact();
    let rows: Vec<Vec<String>> = block
        .chunks(4)
        .map(|r| r.iter().map(|v| eval::group(*v, 2, ",", ".")).collect())
        .collect();
    let w = WriteContent {
        target: deck(),
        parts: vec![WritePart::Table {
            location: "slide 1".into(),
            rows,
        }],
        explicit_sources: vec![],
    };
    (det, src, block, w)
}

#[test]
fn block_sample_never_names_the_target_or_replaced_values() {
    // The sample counts blocks from the tags beside the index entries without reading the
    // cells, so it also counts the target's own cells and dead (replaced) ones; neither
    // may become a flow.
    let (det, src, _, w) = common_block_index();
    assert_eq!(confirmed(&det.check(&w)).len(), 1);
    // Written into the source workbook itself: no flow from it, none from the noise.
    let mut into_src = w.clone();
    into_src.target = src.clone();
    let flows = det.check(&into_src);
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // The block read again with other values: the old entries are dead until the next
    // compaction, their tags still in the runs.
    let (mut det, src, block, w) = common_block_index();
    let cells = block
        .iter()
        .enumerate()
        .map(|(k, v)| num(k as u32 / 4, k as u32 % 4, v * 3.7 + 1.0, "#,##0.00"))
        .collect();
    det.add_read(&read(&src, "Block", cells));
    assert!(det.dead > 0);
    let flows = det.check(&w);
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn a_wide_block_of_common_rounded_values_confirms() {
    // A 20 x 10 block of a 250 x 40 sheet of log-uniform amounts, each rounded to three
    // significant figures: no value is rare on its own (each matches a cell or two of the
    // sheet by chance), the block is the evidence. The choice among each column's values
    // once cost more than the values' whole rarity, and the copy gave no flow at all.
    let mut rng = tracker_eval::Rng::new(42);
    let d = doc("B0.xlsx");
    let values: Vec<f64> = (0..10_000)
        .map(|_| (10f64.powf(2.0 + 6.0 * rng.f64()) * 100.0).round() / 100.0)
        .collect();
    let cells: Vec<ReadCell> = values
        .iter()
        .enumerate()
        .map(|(i, v)| num((i / 40) as u32, (i % 40) as u32, *v, "#,##0.00"))
        .collect();
    let mut det = Detector::new();
    det.add_read(&read(&d, "S0", cells));
    for cols in [5usize, 10] {
        let rows: Vec<Vec<String>> = (0..20)
            .map(|r| {
                (0..cols)
                    .map(|c| tracker_eval::scaled(values[r * 40 + c], 3, 0))
                    .collect()
            })
            .collect();
        let w = WriteContent {
            target: doc("Deck.pptx"),
            parts: vec![WritePart::Table {
                location: "slide 1".into(),
                rows,
            }],
            explicit_sources: vec![],
        };
        let flows = det.check(&w);
        let c = confirmed(&flows);
        assert_eq!(c.len(), 1, "{cols} columns: {flows:#?}");
        assert_eq!(c[0].source.id, d.id);
        // Most values are attributed (a few match a nearer cell by chance), in the block.
        assert!(
            c[0].matched >= 17 * cols,
            "{cols} columns: {}",
            c[0].matched
        );
        assert!(
            c[0].cells
                .iter()
                .all(|a| a.row < 20 && (a.col as usize) < cols)
        );
    }
}
