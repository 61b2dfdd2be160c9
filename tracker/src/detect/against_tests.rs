//! Evidence against a source: a same-domain deck meets a sheet's countries, quarters,
//! round figures and product names by chance. Written values that their own headers
//! contradict in the sheet, a table none of whose headers the sheet holds, a value named
//! beside a row the sheet keeps elsewhere, a name beside another row's SKU, and round
//! cells priced at their rounding keep it from confirming, while a real copy of the same
//! sheet still does.

use super::tests::{confirmed, doc, num, read, text, write_table, write_text};
use super::*;

const QUARTERS: [&str; 4] = ["Jan–Mar", "Apr–Jun", "Jul–Sep", "Oct–Dec"];
const COUNTRIES: [&str; 12] = [
    "Pakistan",
    "Indonesia",
    "United Kingdom",
    "Nigeria",
    "Thailand",
    "Vietnam",
    "Brazil",
    "Mexico",
    "Poland",
    "Kenya",
    "Chile",
    "Egypt",
];

/// Users by country and quarter, rounded to two significant figures as a planning sheet
/// keeps them: country `i` in quarter `q`.
fn users(i: usize, q: usize) -> f64 {
    let base: f64 = [
        3.5, 9.1, 13.0, 4.1, 2.2, 6.7, 18.0, 5.3, 1.6, 7.4, 2.9, 11.0,
    ][i];
    let growth: f64 = [0.0, 0.0, 0.2, 0.3][q] * if i == 0 { 0.0 } else { 1.0 };
    ((base + growth) * 10.0).round() * 1e5
}

fn users_sheet() -> Detector {
    let mut cells = vec![text(0, 0, "Country")];
    for (q, h) in QUARTERS.iter().enumerate() {
        cells.push(text(0, q as u32 + 1, h));
    }
    for (i, c) in COUNTRIES.iter().enumerate() {
        cells.push(text(i as u32 + 1, 0, c));
        for q in 0..4 {
            cells.push(num(i as u32 + 1, q as u32 + 1, users(i, q), "#,##0"));
        }
    }
    // And 48 more markets of the same kind of round figures.
    for i in 0..48u32 {
        let r = COUNTRIES.len() as u32 + 1 + i;
        cells.push(text(r, 0, &format!("Market {i:02}")));
        for q in 0..4u32 {
            let v = f64::from(12 + (i * 7 + q * 3) % 80) * 1e5;
            cells.push(num(r, q + 1, v, "#,##0"));
        }
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Users.xlsx"), "Users by Region", cells));
    det
}

fn grouped(v: f64) -> String {
    let s = format!("{}", v as u64);
    let mut out = String::new();
    for (k, ch) in s.chars().enumerate() {
        if k > 0 && (s.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn table(rows: &[Vec<String>]) -> WriteContent {
    write_table(
        rows.iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect(),
    )
}

fn row(label: &str, values: &[String]) -> Vec<String> {
    std::iter::once(label.to_string())
        .chain(values.iter().cloned())
        .collect()
}

#[test]
fn a_table_whose_headers_cross_the_sheet_at_other_values_does_not_confirm() {
    let det = users_sheet();
    // Pakistan's flat 3,500,000 meets the sheet's at its own headers; the other two
    // countries, which the sheet also holds, carry other figures.
    let deck = |indonesia: [f64; 2], uk: [f64; 2]| {
        table(&[
            row("Country", &["Apr–Jun".into(), "Jul–Sep".into()]),
            row("Pakistan", &[grouped(3.5e6), grouped(3.5e6)]),
            row("Indonesia", &indonesia.map(grouped)),
            row("United Kingdom", &uk.map(grouped)),
        ])
    };
    let flows = det.check(&deck([9.6e6, 9.8e6], [8.5e6, 8.9e6]));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");

    // The same table with the sheet's own figures is a copy.
    let flows = det.check(&deck(
        [users(1, 1), users(1, 2)],
        [users(2, 1), users(2, 2)],
    ));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{flows:#?}");
    assert!(
        c[0].cells.contains(&CellAddr::new(2, 2)),
        "{:?}",
        c[0].cells
    );
}

#[test]
fn a_table_none_of_whose_headers_the_sheet_holds_weighs_less() {
    // Users by country and quarter, to the unit, 60 rows.
    let periods = ["Jan–Mar", "Apr–Jun", "Jul–Sep", "Oct–Dec", "Full year"];
    let mut cells = vec![text(0, 0, "Country")];
    for (q, h) in periods.iter().enumerate() {
        cells.push(text(0, q as u32 + 1, h));
    }
    let value = |r: u32, q: u32| f64::from(1_000_000 + (r * 7_919 + q * 104_729) % 9_000_000);
    for r in 1..=60u32 {
        cells.push(text(r, 0, &format!("Market {r:02}")));
        for q in 0..5u32 {
            cells.push(num(r, q + 1, value(r, q), "#,##0"));
        }
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Users.xlsx"), "Users by Region", cells));
    // One row of the sheet, to four figures, under plans and months the sheet has
    // never seen; the other rows are other figures.
    let m = |v: f64| format!("{:.3}M", v / 1e6);
    let months = ["2025-01", "2025-02", "2025-03", "2025-04", "2025"].map(String::from);
    let rows = |headers: [String; 5], first: String| {
        vec![
            row(&first, &headers),
            row("Starter", &[0, 1, 2, 3, 4].map(|q| m(value(17, q)))),
            row("Team", &[5.61e6, 5.52e6, 5.93e6, 6.04e6, 2.31e7].map(m)),
            row("Business", &[1.43e8, 1.41e8, 1.52e8, 1.55e8, 6.01e8].map(m)),
        ]
    };
    let flows = det.check(&table(&rows(months, "Plan".into())));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // Under the sheet's own periods, the same row is a copy.
    let quarters = periods.map(String::from);
    let flows = det.check(&table(&rows(quarters, "Country".into())));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn a_value_named_beside_a_row_the_sheet_keeps_elsewhere_is_no_match() {
    let det = users_sheet();
    // Each line names a country the sheet holds, with another country's figure of one
    // quarter.
    // Each line names a country the sheet holds, with another country's figure for
    // Jul–Sep; and each with its own.
    let lines = |pairs: &[(&str, usize)]| {
        let body: Vec<String> = pairs
            .iter()
            .map(|(name, i)| format!("• {name} — {:.1}m users", users(*i, 2) / 1e6))
            .collect();
        write_text(&format!(
            "Where our users are, Jul–Sep\n{}",
            body.join("\n")
        ))
    };
    let named = [
        "Thailand", "Vietnam", "Poland", "Kenya", "Chile", "Brazil", "Mexico",
    ];
    let others = [11, 1, 7, 3, 8, 9, 5];
    let pairs: Vec<(&str, usize)> = named.iter().copied().zip(others).collect();
    let flows = det.check(&lines(&pairs));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    let own: Vec<(&str, usize)> = named
        .iter()
        .map(|n| (*n, COUNTRIES.iter().position(|c| c == n).unwrap_or(0)))
        .collect();
    let flows = det.check(&lines(&own));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn round_cells_are_priced_at_their_rounding() {
    let det = users_sheet();
    // Countries the sheet does not hold, with figures written to the unit that equal
    // round cells of other countries: "4,300,000" is no rarer there than "4.3 million".
    let lines = |pairs: &[(&str, usize)]| {
        let body: Vec<String> = pairs
            .iter()
            .map(|(name, i)| {
                format!(
                    "Users in {name} reached {} in Jul–Sep.",
                    grouped(users(*i, 2))
                )
            })
            .collect();
        write_text(&body.join("\n"))
    };
    let flows = det.check(&lines(&[("Argentina", 3), ("Colombia", 1), ("Peru", 7)]));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // Named beside their own countries they are a copy.
    let flows = det.check(&lines(&[("Nigeria", 3), ("Indonesia", 1), ("Mexico", 7)]));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn round_figure_chance_is_the_width_of_its_rounding_up_to_two_figures() {
    let width = |v: f64| {
        let p = scoring::round_p(v);
        // Invert the log-uniform chance for the interval's relative width.
        (p * LOG_RANGE).exp()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b;
    // 5,500,000 is a multiple of 100,000: as likely as anything in 5.45M..5.55M.
    assert!(close(width(5.5e6), 5.55 / 5.45), "{}", width(5.5e6));
    // 0.117 is kept to a thousandth.
    assert!(close(width(0.117), 0.1175 / 0.1165), "{}", width(0.117));
    // 20,000,000 counts as two figures (19.5M..20.5M), not one.
    assert!(close(width(2e7), 20.5 / 19.5), "{}", width(2e7));
    // A precise figure is not round at all (its chance is the written interval's).
    assert!(scoring::round_p(141_784.65) < 1e-6);
    assert_eq!(scoring::round_p(0.0), 0.0);
}

const MATERIALS: [&str; 4] = ["Steel", "Oak", "Nylon", "Brass"];
const PARTS: [&str; 4] = ["coupling", "spacer", "clamp", "bracket"];
const SIZES: [&str; 3] = ["M10", "small", "type B"];

/// An inventory of 48 SKUs whose descriptions are every combination of a small
/// vocabulary, as two inventories share them.
fn stock_sheet() -> (Detector, Vec<[String; 3]>) {
    let mut cells = vec![
        text(0, 0, "SKU"),
        text(0, 1, "Description"),
        text(0, 2, "Warehouse"),
    ];
    let mut rows = Vec::new();
    for (i, m) in MATERIALS.iter().enumerate() {
        for (j, p) in PARTS.iter().enumerate() {
            for (k, z) in SIZES.iter().enumerate() {
                let n = (i * 12 + j * 3 + k) as u32;
                let sku = format!("QX-{:04}-HX", 1_000 + n * 37);
                let warehouse = ["Lyon DC", "Gdansk DC", "Pune Hub"][(n % 3) as usize];
                rows.push([sku, format!("{m} {p} {z}"), warehouse.to_string()]);
            }
        }
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            cells.push(text(r as u32 + 1, c as u32, v));
        }
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Stock.xlsx"), "Stock on Hand", cells));
    (det, rows)
}

#[test]
fn a_shared_description_beside_another_sku_is_no_match() {
    let (det, rows) = stock_sheet();
    let header = vec!["SKU".to_string(), "Description".into(), "Warehouse".into()];
    // Another inventory's SKUs, with two descriptions this one also has, and
    // warehouses this one does not.
    let other = table(&[
        header.clone(),
        row(
            "akm09884",
            &["steel coupling m10".into(), "Zurich Hub".into()],
        ),
        row(
            "aol92068",
            &["Oak spacer type B".into(), "Rotterdam Hub".into()],
        ),
        row(
            "eof79446",
            &["Copper hinge 40mm".into(), "Rotterdam Hub".into()],
        ),
    ]);
    let flows = det.check(&other);
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // The same two rows copied, SKU and all (in lower case), are a copy.
    let copy: Vec<Vec<String>> = std::iter::once(header)
        .chain([0usize, 16].iter().map(|&i| {
            row(
                &rows[i][0].to_lowercase(),
                &[rows[i][1].clone(), rows[i][2].clone()],
            )
        }))
        .collect();
    let flows = det.check(&table(&copy));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn a_note_from_the_same_template_is_no_quote() {
    let note = "Update: Copperleaf Partners may add 12 seats after the pilot if the new \
                reporting lands as promised. Figures may still move. Cobalt Software asked \
                for a 36% discount at renewal and hinted at a cheaper rival.";
    let mut det = Detector::new();
    det.add_read(&read(
        &doc("Subscriptions.xlsx"),
        "Read Me",
        vec![text(0, 0, "Notes"), text(1, 0, note)],
    ));
    // The template's fixed words around other customers and figures.
    let other = "\"Azimuth Robotics wants a 8% discount at renewal and hinted at a cheaper \
                 rival. Yellowfin Telecom plans to add 14 seats after the pilot if the new \
                 reporting lands as promised.\"";
    let flows = det.check(&write_text(other));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // A quote carries its own names and figures.
    let quote = "As the note says: \"Copperleaf Partners may add 12 seats after the pilot if \
                 the new reporting lands as promised.\"";
    let flows = det.check(&write_text(quote));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn slot_fingerprints_are_the_kgrams_holding_a_name_or_a_figure() {
    let slots = parse::slot_fingerprints("The team may add 12 seats after the pilot ends soon.");
    let kgram = |s: &str| parse::hash64(s.as_bytes());
    // "12" is a figure; "The" starts the sentence and is no name.
    assert!(
        slots
            .binary_search(&kgram("may add 12 seats after"))
            .is_ok()
    );
    assert!(slots.binary_search(&kgram("the team may add 12")).is_ok());
    assert!(
        slots
            .binary_search(&kgram("seats after the pilot ends"))
            .is_err()
    );
    let named = parse::slot_fingerprints("It was agreed with Grace Vaughan to look again later.");
    assert!(
        named
            .binary_search(&kgram("agreed with grace vaughan to"))
            .is_ok()
    );
    assert!(
        named
            .binary_search(&kgram("it was agreed with grace"))
            .is_ok()
    );
    assert!(
        parse::slot_fingerprints("no names or figures in this short sentence at all").is_empty()
    );
}
