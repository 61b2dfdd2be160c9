//! A value written with a currency is no evidence for a cell whose number format shows
//! another (`₹8,550,000` is not the ledger's `£8.55`); a value written with none, or a
//! cell showing none, is matched as before.

use super::parse::{Currency, format_currency, parse_number};
use super::tests::{confirmed, doc, num, read, text, write_table};
use super::*;

fn cur(written: &str) -> Currency {
    parse_number(written).map_or(Currency::None, |t| t.currency)
}

#[test]
fn written_tokens_name_their_currency() {
    assert_eq!(cur("₹8,550,000"), Currency::Inr);
    assert_eq!(cur("£ 65,700"), Currency::Gbp);
    assert_eq!(cur("1.234,50 €"), Currency::Eur);
    assert_eq!(cur("EUR 1.234,50"), Currency::Eur);
    assert_eq!(cur("1,234.50 eur"), Currency::Eur);
    assert_eq!(cur("US$1,234"), Currency::Usd);
    assert_eq!(cur("$1.2M"), Currency::Dollar);
    assert_eq!(cur("2,5 Mrd. €"), Currency::Eur);
    assert_eq!(cur("Rs. 2 crores"), Currency::Rupee);
    assert_eq!(cur("CHF 1'234.50"), Currency::Chf);
    assert_eq!(cur("¥4,100,000"), Currency::Yen);
    assert_eq!(cur("1,234.50"), Currency::None);
    assert_eq!(cur("12.5%"), Currency::None);
    // Two that contradict each other name none.
    assert_eq!(cur("$1,234 €"), Currency::None);
}

#[test]
fn number_formats_name_their_currency() {
    assert_eq!(format_currency("#,##0.00 [$€-407]"), Currency::Eur);
    assert_eq!(format_currency("#,##0.00\\ [$€-40C]"), Currency::Eur);
    assert_eq!(format_currency("[$£-809]#,##0.00"), Currency::Gbp);
    assert_eq!(format_currency("\"£\"#,##0.00"), Currency::Gbp);
    assert_eq!(format_currency("[$₹-4009]#,##,##0.00"), Currency::Inr);
    assert_eq!(format_currency("[$CHF-807] #,##0.00"), Currency::Chf);
    assert_eq!(format_currency("[$¥-411]#,##0"), Currency::Yen);
    assert_eq!(format_currency("\"$\"#,##0.00"), Currency::Dollar);
    assert_eq!(format_currency("$#,##0.00_);($#,##0.00)"), Currency::Dollar);
    assert_eq!(format_currency("[$USD] #,##0"), Currency::Usd);
    assert_eq!(format_currency("#,##0.00\\ €"), Currency::Eur);
    assert_eq!(format_currency("#,##0 \"kr\""), Currency::Kr);
    // None: plain numbers, a locale tag alone, a colour, text that is no currency, and a
    // French accounting format that only leaves room for a `€` (`_€`).
    assert_eq!(format_currency("#,##0.00"), Currency::None);
    assert_eq!(format_currency("[$-409]mmm d, yyyy"), Currency::None);
    assert_eq!(format_currency("#,##0;[Red]-#,##0"), Currency::None);
    assert_eq!(format_currency("#,##0 \"units\""), Currency::None);
    assert_eq!(
        format_currency("_-* #,##0.00 _€_-;-* #,##0.00 _€_-"),
        Currency::None
    );
    assert_eq!(format_currency("0.0%"), Currency::None);
}

#[test]
fn currencies_agree_by_code_symbol_and_family() {
    use Currency::*;
    // EUR written as a code and shown as `€` are the same currency.
    assert!(cur("EUR 1.234,50").agrees(format_currency("#,##0.00 [$€-407]")));
    assert!(Dollar.agrees(Usd) && Usd.agrees(Dollar) && Dollar.agrees(Cad));
    assert!(Yen.agrees(Jpy) && Rupee.agrees(Inr) && Kr.agrees(Sek));
    assert!(None.agrees(Gbp) && Gbp.agrees(None));
    assert!(!Inr.agrees(Gbp) && !Gbp.agrees(Eur) && !Dollar.agrees(Eur));
    assert!(!Usd.agrees(Cad) && !Jpy.agrees(Cny) && !Yen.agrees(Inr));
    for b in 0..=u8::MAX {
        let c = Currency::from_byte(b);
        assert!(c == None || c.to_byte() == b);
    }
}

/// A sheet of eight salaries with pence, each beside an employee id, shown in `fmt`.
fn salaries(fmt: &str) -> (Detector, Vec<f64>) {
    let values: Vec<f64> = (0..8)
        .map(|k| {
            41_237.0
                + f64::from(k) * 7_919.0
                + f64::from(k * k) * 13.0
                + f64::from(k * 37 % 97 + 1) / 100.0
        })
        .collect();
    let mut cells = vec![text(0, 0, "Employee ID"), text(0, 1, "Salary")];
    for (k, v) in values.iter().enumerate() {
        let r = k as u32 + 1;
        cells.push(text(r, 0, &format!("E-{}", 7_301 + r * 17)));
        cells.push(num(r, 1, *v, fmt));
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Payroll.xlsx"), "Staff", cells));
    (det, values)
}

/// The salaries written as a two-column table, each rendered by `show`.
fn deck_of(values: &[f64], show: impl Fn(f64) -> String) -> WriteContent {
    let shown: Vec<String> = values.iter().map(|v| show(*v)).collect();
    let mut rows = vec![vec!["Person", "Pay"]];
    for (k, s) in shown.iter().enumerate() {
        rows.push(vec![
            ["Ana", "Ben", "Cai", "Dev", "Eli", "Fay", "Gus", "Hal"][k],
            s,
        ]);
    }
    write_table(rows)
}

fn grouped(v: f64) -> String {
    let cents = (v * 100.0).round() as u64;
    let n = cents / 100;
    format!("{},{:03}.{:02}", n / 1000, n % 1000, cents % 100)
}

#[test]
fn a_column_copied_under_another_currency_still_confirms_at_a_cost() {
    // Eight amounts to the penny, relabelled from pounds to rupees without converting
    // them: a copy all the same (corpus A's decks do this), paying RELABEL_EVIDENCE.
    let (det, values) = salaries("\"£\"#,##0.00");
    let rupees = det.check(&deck_of(&values, |v| format!("₹{}", grouped(v))));
    let pounds = det.check(&deck_of(&values, |v| format!("£{}", grouped(v))));
    let (r, p) = (confirmed(&rupees), confirmed(&pounds));
    let (Some(r), Some(p)) = (r.first(), p.first()) else {
        panic!("{rupees:#?} {pounds:#?}");
    };
    assert!(r.confidence < p.confidence, "{r:#?} {p:#?}");
}

/// A pipeline summary by stage, amounts shown in `fmt`.
fn stages(fmt: &str) -> Detector {
    let mut cells = vec![
        text(0, 0, "Pipeline by stage"),
        text(2, 0, "Stage"),
        text(2, 1, "Amount"),
        text(2, 2, "Weighted"),
    ];
    let rows = [
        ("Prospecting", 1_204_310.0, 120_431.0),
        ("Qualification", 2_187_455.0, 437_491.0),
        ("Proposal", 823_310.0, 329_324.0),
        ("Negotiation", 787_990.0, 472_794.0),
        ("Commit", 1_530_120.0, 1_224_096.0),
    ];
    for (k, (stage, amount, weighted)) in rows.iter().enumerate() {
        let r = k as u32 + 3;
        cells.push(text(r, 0, stage));
        cells.push(num(r, 1, *amount, fmt));
        cells.push(num(r, 2, *weighted, fmt));
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Pipeline Review.xlsx"), "By Stage", cells));
    det
}

fn weighted_proposal(shown: &str) -> WriteContent {
    write_table(vec![
        vec!["Stage", "Weighted"],
        vec!["Proposal", shown],
        vec!["Won", "n/a"],
    ])
}

#[test]
fn a_lone_value_at_its_headers_in_another_currency_does_not_confirm() {
    // `£329k` beside Proposal / Weighted of a sheet in euros: the same headers and a
    // value of the same size, no copy (corpus B's unrelated decks did this).
    let det = stages("#,##0 [$€-407]");
    let flows = det.check(&weighted_proposal("£329k"));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    let flows = det.check(&weighted_proposal("₹329k"));
    assert!(confirmed(&flows).is_empty(), "{flows:#?}");
    // In euros, or with no currency written, it is the sheet's value at its headers.
    for shown in ["€329k", "329k", "EUR 329k", "329 k€"] {
        let flows = det.check(&weighted_proposal(shown));
        assert_eq!(confirmed(&flows).len(), 1, "{shown}: {flows:#?}");
    }
    // A sheet showing no currency matches a value written in any.
    let det = stages("#,##0");
    let flows = det.check(&weighted_proposal("£329k"));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn a_bare_number_or_the_same_currency_still_matches_a_pound_column() {
    let (det, values) = salaries("[$£-809]#,##0.00");
    for show in [
        grouped as fn(f64) -> String,
        |v| format!("£{}", grouped(v)),
        |v| format!("GBP {}", grouped(v)),
    ] {
        let flows = det.check(&deck_of(&values, show));
        assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
    }
}

#[test]
fn dollars_written_match_a_usd_column_and_euro_codes_a_euro_column() {
    let (det, values) = salaries("[$$-409]#,##0.00");
    for show in [
        |v| format!("${}", grouped(v)),
        |v| format!("USD {}", grouped(v)),
        |v| format!("US${}", grouped(v)),
    ] {
        let flows = det.check(&deck_of(&values, show));
        assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
    }
    let (det, values) = salaries("#,##0.00 [$€-407]");
    let flows = det.check(&deck_of(&values, |v| format!("EUR {}", grouped(v))));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
    // A cell with no currency shown matches any written.
    let (det, values) = salaries("#,##0.00");
    let flows = det.check(&deck_of(&values, |v| format!("₹{}", grouped(v))));
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn a_cell_re_read_with_another_currency_takes_it() {
    let mut det = stages("[$£-809]#,##0");
    let rupees = weighted_proposal("₹329k");
    assert!(confirmed(&det.check(&rupees)).is_empty());
    // The sheet re-read, now shown in rupees: not an unchanged cell.
    let cells = vec![num(5, 2, 329_324.0, "[$₹-4009]#,##,##0")];
    det.add_read(&read(&doc("Pipeline Review.xlsx"), "By Stage", cells));
    // The replaced cell's entry would count as the value's neighbour until compacted.
    det.compact();
    let flows = det.check(&rupees);
    assert_eq!(confirmed(&flows).len(), 1, "{flows:#?}");
}

#[test]
fn an_indexed_cell_stays_24_bytes() {
    assert_eq!(std::mem::size_of::<Cell>(), 24);
}
