//! Structure as evidence: common values (dates, rounded counts) that line up with the
//! rows of one source column, in the sheet's order, confirm; the same values in an order
//! the sheet does not have, or matching a column sorted by value, do not.

use super::tests::{confirmed, doc, num, read, text, write_table, write_text};
use super::*;
use crate::model::ReadCell;
use tracker_eval as eval;

/// Excel serial of 2025-01-01.
const JAN_1_2025: f64 = 45_658.0;

/// A customer sheet: name, renewal date (in no particular order), ARR; 60 customers.
fn customers() -> (Vec<ReadCell>, Vec<f64>) {
    let mut rng = eval::Rng::new(11);
    let mut cells = vec![
        text(0, 0, "Customer"),
        text(0, 1, "Renewal"),
        text(0, 2, "ARR"),
    ];
    let mut dates = Vec::new();
    for r in 1..=60u32 {
        let date = JAN_1_2025 + rng.below(365) as f64;
        dates.push(date);
        cells.push(text(r, 0, &format!("Customer {r:02}")));
        cells.push(num(r, 1, date, "mmm d, yyyy"));
        cells.push(num(r, 2, 10_000.0 + rng.below(90_000) as f64, "$#,##0"));
    }
    (cells, dates)
}

/// A ledger of 4,000 rows sorted by date over two years: every date of the customer sheet
/// is in it many times.
fn ledger() -> Vec<ReadCell> {
    let mut rng = eval::Rng::new(12);
    let mut cells = Vec::new();
    for r in 0..4_000u32 {
        let date = JAN_1_2025 - 365.0 + (f64::from(r) * 730.0 / 4_000.0).floor();
        cells.push(num(r, 0, date, "yyyy-mm-dd"));
        cells.push(num(r, 1, (rng.f64() * 1e5).round() / 100.0, "#,##0.00"));
    }
    cells
}

fn detector() -> (Detector, DocumentRef, Vec<f64>) {
    let d = doc("Customers.xlsx");
    let (cells, dates) = customers();
    let mut det = Detector::new();
    det.add_read(&read(&d, "Customers", cells));
    det.add_read(&read(&doc("Ledger.xlsx"), "Ledger", ledger()));
    (det, d, dates)
}

/// "Mar 31, 2025" for an Excel serial.
fn us_date(serial: f64) -> String {
    let (y, m, d) = crate::excel_date::date_from_serial(serial as i64).unwrap_or((1900, 1, 1));
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{} {d}, {y}", MONTHS[(m - 1) as usize])
}

fn renewals_slide(dates: &[f64]) -> WriteContent {
    let lines: Vec<String> = dates
        .iter()
        .map(|d| format!("renewal due {}", us_date(*d)))
        .collect();
    write_text(&format!("Upcoming renewals\n{}", lines.join("\n")))
}

#[test]
fn dates_from_one_column_in_the_sheets_order_confirm() {
    let (det, d, dates) = detector();
    let picked = &dates[20..25];
    let flows = det.check(&renewals_slide(picked));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
    let want: Vec<CellAddr> = (21..26).map(|r| CellAddr::new(r, 1)).collect();
    assert_eq!(c[0].cells, want);
}

#[test]
fn the_same_dates_out_of_the_sheets_order_stay_possible() {
    let (det, _, dates) = detector();
    let mut picked: Vec<f64> = dates[20..25].to_vec();
    // An order the sheet does not have, and not sorted by date either.
    picked.swap(0, 3);
    picked.swap(1, 4);
    let rows = [24u32, 25, 23, 21, 22];
    assert!(rows.windows(2).any(|w| w[0] > w[1]) && rows.windows(2).any(|w| w[0] < w[1]));
    let flows = det.check(&renewals_slide(&picked));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn dates_sorted_like_a_sorted_ledger_earn_nothing_from_order() {
    let (det, _, dates) = detector();
    let mut picked: Vec<f64> = dates[30..36].to_vec();
    picked.sort_by(f64::total_cmp);
    picked.dedup();
    let flows = det.check(&renewals_slide(&picked));
    assert!(
        !confirmed(&flows).iter().any(|f| f.sheet == "Ledger"),
        "{flows:#?}"
    );
}

/// The customer sheet with dates repeated: row 24 renews on the same day as row 23, and
/// row 10 on the same day as row 21 (so that date has two candidate rows).
fn detector_with_repeats() -> (Detector, DocumentRef, Vec<f64>) {
    let d = doc("Customers.xlsx");
    let (mut cells, mut dates) = customers();
    dates[23] = dates[22];
    dates[9] = dates[20];
    for c in &mut cells {
        let (r, col) = (c.addr.row, c.addr.col);
        if col == 1 && (r == 24 || r == 10) {
            *c = num(r, 1, dates[(r - 1) as usize], "mmm d, yyyy");
        }
    }
    let mut det = Detector::new();
    det.add_read(&read(&d, "Customers", cells));
    det.add_read(&read(&doc("Ledger.xlsx"), "Ledger", ledger()));
    (det, d, dates)
}

#[test]
fn repeated_and_ambiguous_dates_in_the_sheets_order_confirm() {
    // The same date written twice (two customers renew that day) takes both rows, and a
    // date the column also holds on another row takes the row that keeps the order.
    let (det, d, dates) = detector_with_repeats();
    let picked = &dates[20..25];
    assert_eq!(picked[2], picked[3]);
    let flows = det.check(&renewals_slide(picked));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
    let want: Vec<CellAddr> = (21..26).map(|r| CellAddr::new(r, 1)).collect();
    assert_eq!(c[0].cells, want);
}

#[test]
fn repeated_dates_out_of_the_sheets_order_stay_possible() {
    let (det, _, dates) = detector_with_repeats();
    let mut picked: Vec<f64> = dates[20..25].to_vec();
    picked.swap(0, 3);
    picked.swap(1, 4);
    let flows = det.check(&renewals_slide(&picked));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn dates_in_the_sheets_order_that_happen_to_rise_still_confirm() {
    // Five consecutive customers whose renewals happen to fall in date order: written in
    // the sheet's order they are also sorted, but the customer column is not sorted by
    // date, so a write sorted by date would not line up with it by chance.
    let d = doc("Customers.xlsx");
    let (mut cells, mut dates) = customers();
    dates[20..25].sort_by(f64::total_cmp);
    for c in &mut cells {
        let (r, col) = (c.addr.row, c.addr.col);
        if col == 1 && (21..=25).contains(&r) {
            *c = num(r, 1, dates[(r - 1) as usize], "mmm d, yyyy");
        }
    }
    assert!(
        dates.windows(2).any(|w| w[0] > w[1]),
        "the column is not sorted"
    );
    let mut det = Detector::new();
    det.add_read(&read(&d, "Customers", cells));
    det.add_read(&read(&doc("Ledger.xlsx"), "Ledger", ledger()));
    let flows = det.check(&renewals_slide(&dates[20..25]));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
}

/// Active users by country and quarter (values of one row within a few percent of each
/// other), and a ledger whose 40,000 amounts crowd 4M..7M: every count in that band is
/// too common index-wide to enumerate.
fn users_and_crowded_ledger() -> (Detector, DocumentRef) {
    users_by_quarter(1.03)
}

/// [`users_and_crowded_ledger`] with each quarter `growth` times the one before.
fn users_by_quarter(growth: f64) -> (Detector, DocumentRef) {
    let d = doc("Country Scorecard.xlsx");
    let countries = [
        ("Sweden", 1_464_255.0f64),
        ("Brazil", 20_438_535.0),
        ("Netherlands", 3_002_007.0),
        ("Germany", 5_524_113.0),
        ("Turkey", 5_144_386.0),
        ("Philippines", 18_265_542.0),
        ("Canada", 4_103_199.0),
        ("Egypt", 2_424_798.0),
        ("Indonesia", 21_326_153.0),
        ("France", 7_743_189.0),
    ];
    let mut cells = vec![text(0, 0, "Market")];
    for q in 1..=4u32 {
        cells.push(text(0, q, &format!("Q{q} FY25")));
    }
    for (r, (name, users)) in countries.iter().enumerate() {
        let r = r as u32 + 1;
        cells.push(text(r, 0, name));
        let mut u = *users;
        for q in 1..=4u32 {
            cells.push(num(r, q, u.round(), "#,##0"));
            u *= growth;
        }
    }
    let mut det = Detector::new();
    det.add_read(&read(&d, "Users by Region", cells));
    let mut rng = eval::Rng::new(13);
    let ledger: Vec<ReadCell> = (0..40_000u32)
        .map(|r| {
            num(
                r,
                0,
                (4e6 * (7.0f64 / 4.0).powf(rng.f64())).round(),
                "#,##0",
            )
        })
        .collect();
    det.add_read(&read(&doc("Ledger.xlsx"), "Ledger", ledger));
    (det, d)
}

#[test]
fn counts_too_common_to_enumerate_join_their_column_where_the_others_landed() {
    // "Germany: 5.5 million", "Turkey: 5.1 million" and "Canada: 4.1 million" each match
    // over a thousand ledger amounts, so they are looked up only in chosen sheets; the
    // others of the same slide land in the users sheet's Q1 column, which makes it one.
    let (det, d) = users_and_crowded_ledger();
    let slide = write_text(
        "Active users by market, Q1 FY25\n\
         Netherlands: 3.0 million\nGermany: 5.5 million\nTurkey: 5.1 million\n\
         Philippines: 18 million\nCanada: 4.1 million\nEgypt: 2.4 million",
    );
    let flows = det.check(&slide);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
    let want: Vec<CellAddr> = (3..=8).map(|r| CellAddr::new(r, 1)).collect();
    assert_eq!(c[0].cells, want);
}

/// Users of row `r` (1 = Sweden) in quarter `q` (1..=4), as [`users_by_quarter`] has them.
fn users(growth: f64, r: u32, q: u32) -> f64 {
    let first = [
        1_464_255.0,
        20_438_535.0,
        3_002_007.0,
        5_524_113.0,
        5_144_386.0,
        18_265_542.0,
        4_103_199.0,
        2_424_798.0,
    ];
    let mut u: f64 = first[(r - 1) as usize];
    for _ in 1..q {
        u *= growth;
    }
    u.round()
}

/// "Netherlands: 3.0 million" .. "Egypt: 2.4 million" (rows 3..=8), the i-th line's count
/// that of row `rows[i]` in quarter `q`.
fn users_slide(growth: f64, q: u32, rows: [u32; 6]) -> WriteContent {
    let names = [
        "Netherlands",
        "Germany",
        "Turkey",
        "Philippines",
        "Canada",
        "Egypt",
    ];
    let lines: Vec<String> = names
        .iter()
        .zip(rows)
        .map(|(name, r)| format!("{name}: {}", eval::scaled(users(growth, r, q), 2, 2)))
        .collect();
    write_text(&format!("Active users by market\n{}", lines.join("\n")))
}

#[test]
fn counts_beside_their_row_headers_take_one_column_even_when_the_next_quarter_matches_too() {
    // Quarters 0.4% apart: a count rounded to two figures matches two or three quarters
    // of its country's row, and each value alone would pick any of them.
    let (det, d) = users_by_quarter(1.004);
    let slide = users_slide(1.004, 2, [3, 4, 5, 6, 7, 8]);
    let flows = det.check(&slide);
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert_eq!(c[0].source.id, d.id);
    let want: Vec<CellAddr> = (3..=8).map(|r| CellAddr::new(r, 2)).collect();
    assert_eq!(c[0].cells, want, "{slide:#?}");
}

#[test]
fn counts_beside_the_wrong_row_headers_stay_unconfirmed() {
    // The same column's counts, each written beside another country: no value is in its
    // own header's row, so one column is no evidence.
    let (det, _) = users_by_quarter(1.004);
    let slide = users_slide(1.004, 2, [8, 3, 4, 5, 6, 7]);
    let flows = det.check(&slide);
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
}

#[test]
fn a_name_that_only_contains_a_sheets_name_weighs_less_than_the_name_itself() {
    // A pipeline sheet: 30 accounts with their close dates over one year.
    let accounts = [
        "Goldcrest Engineering",
        "Larkspur Foods",
        "Westmere Consulting",
        "Lumen Capital",
        "Northgate Clinics",
        "Beacon Hotels",
        "Harbor Optics",
        "Ironwood Freight",
        "Juniper Dental",
        "Kestrel Robotics",
        "Marlow Textiles",
        "Nimbus Clinics",
        "Oakridge Farms",
        "Pinnacle Legal",
        "Quartz Mobility",
        "Redwood Analytics",
        "Summit Brewing",
        "Tidal Energy",
        "Umber Capital",
        "Vantage Media",
        "Willow Health",
        "Xenon Labs",
        "Yardley Retail",
        "Zephyr Airlines",
        "Aspen Logistics",
        "Birch Software",
        "Cedar Insurance",
        "Delta Ceramics",
        "Ember Analytics",
        "Falcon Security",
    ];
    let start = 45_658.0; // 2025-01-01
    let date_of = |r: usize| start + ((r * 137) % 365) as f64;
    let mut cells = vec![text(0, 0, "Account"), text(0, 1, "Close date")];
    for (r, name) in accounts.iter().enumerate() {
        let row = r as u32 + 1;
        cells.push(text(row, 0, name));
        cells.push(num(row, 1, date_of(r), "yyyy-mm-dd"));
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Deal Desk.xlsx"), "Open Pipeline", cells));
    let iso = |serial: f64| {
        let (y, m, d) = crate::excel_date::date_from_serial(serial as i64).unwrap_or_default();
        format!("{y:04}-{m:02}-{d:02}")
    };
    // Another workbook's deck: its own companies, one of them "Goldcrest Engineering
    // K.K.", and three dates that this sheet holds on other rows, out of its order.
    let rows = |first: &str| {
        vec![
            vec!["Account".to_string(), "Close date".to_string()],
            vec!["Larch Foods Co., Ltd.".to_string(), iso(start + 388.0)],
            vec![first.to_string(), iso(start + 600.0)],
            vec!["Wexford Consulting".to_string(), iso(date_of(17))],
            vec!["Lumos Partners".to_string(), iso(date_of(5))],
            vec!["Northwind Clinics".to_string(), iso(start + 640.0)],
            vec!["Bayside Hotels".to_string(), iso(date_of(23))],
        ]
    };
    let check = |first: &str| {
        let r = rows(first);
        let table: Vec<Vec<&str>> = r
            .iter()
            .map(|row| row.iter().map(String::as_str).collect())
            .collect();
        det.check(&write_table(table))
    };
    let flows = check("Goldcrest Engineering K.K.");
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // The sheet's own name, whole, is the same observation at full weight.
    let whole = check("Goldcrest Engineering");
    let ev = |f: &[Flow]| f.iter().map(|f| f.confidence).fold(0.0, f64::max);
    assert!(ev(&whole) > ev(&flows), "{whole:#?}\n{flows:#?}");
}
