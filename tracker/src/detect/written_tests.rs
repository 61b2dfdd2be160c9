//! Numbers as people write them (#16 part 2): scale words in several languages, numbers in
//! English words, digits spaced or grouped oddly, values inside sentences in other
//! languages; and the prose that must stay quiet (small number words, chapter lists, phone
//! numbers, dates, times).
//!
//! Tested through the tokeniser (`items::extract`), which is what a write goes through: a
//! multi-word form is only read when the tokeniser keeps its words together.

use super::items::{ItemKind, extract};
use super::parse::{NumToken, Reading, parse_number};
use super::tests::{confirmed, doc, num, read, text, write_text};
use super::*;
use crate::excel_date::date_from_serial;
use crate::model::WritePart;

/// Every item the tokeniser reads in a paragraph of text.
fn text_kinds(t: &str) -> Vec<ItemKind> {
    let part = WritePart::Text {
        location: "slide 1".into(),
        text: t.to_string(),
    };
    extract(&part).0.into_iter().map(|i| i.kind).collect()
}

/// Every number the tokeniser reads in a paragraph of text, weak or not.
fn nums(t: &str) -> Vec<NumToken> {
    text_kinds(t)
        .into_iter()
        .filter_map(|k| match k {
            ItemKind::Num(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// The first reading of every date the tokeniser reads in a paragraph of text.
fn dates(t: &str) -> Vec<f64> {
    text_kinds(t)
        .into_iter()
        .filter_map(|k| match k {
            ItemKind::Date(d) => d.first().copied(),
            _ => None,
        })
        .collect()
}

/// The numbers read in a one-cell table.
fn cell_nums(t: &str) -> Vec<NumToken> {
    let part = WritePart::Table {
        location: "slide 1".into(),
        rows: vec![vec![t.to_string()]],
    };
    extract(&part)
        .0
        .into_iter()
        .filter_map(|i| match i.kind {
            ItemKind::Num(n) => Some(n),
            _ => None,
        })
        .collect()
}

fn strong(t: &str) -> Vec<NumToken> {
    nums(t).into_iter().filter(|n| !n.weak).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-6)
}

/// The reading is the interval of values that display as the written text: `v ± half`.
fn is_interval(r: &Reading, v: f64, half: f64) -> bool {
    close(r.lo, (v - half).max(0.0)) && close(r.hi, v + half)
}

/// Some strong number of `toks` has exactly the reading `v ± half`.
fn has_interval(toks: &[NumToken], v: f64, half: f64) -> bool {
    toks.iter()
        .filter(|n| !n.weak)
        .any(|n| n.readings.iter().any(|r| is_interval(r, v, half)))
}

fn covers(toks: &[NumToken], x: f64) -> bool {
    toks.iter()
        .filter(|n| !n.weak)
        .any(|n| n.readings.iter().any(|r| r.lo <= x && x <= r.hi))
}

fn assert_reads(t: &str, v: f64, half: f64) {
    let toks = nums(t);
    assert!(
        has_interval(&toks, v, half),
        "{t:?} should read {v} ± {half}: {toks:?}"
    );
}

fn assert_quiet(t: &str) {
    let toks = strong(t);
    assert!(
        toks.is_empty(),
        "{t:?} should give no strong number: {toks:?}"
    );
}

// ---------- 1. an integer or decimal times a scale word ----------

#[test]
fn scale_words_in_english() {
    for (t, v, half) in [
        ("India: 15 million", 15e6, 0.5e6),
        ("India: 15 million\nChina: 22 million", 22e6, 0.5e6),
        ("4 bn", 4e9, 0.5e9),
        ("It was 3.2 thousand.", 3200.0, 50.0),
        ("1.2m", 1.2e6, 0.05e6),
        ("we raised $4.5bn last year", 4.5e9, 0.05e9),
        ("15million", 15e6, 0.5e6),
        ("15 millions", 15e6, 0.5e6),
        ("12 thousands", 12e3, 500.0),
        ("15 hundred", 1500.0, 50.0),
    ] {
        assert_reads(t, v, half);
    }
}

#[test]
fn scale_words_in_german_french_italian_spanish_and_indian_english() {
    for (t, v, half) in [
        // German
        ("Indien: 15 Mio.", 15e6, 0.5e6),
        ("Indien: 15 Mio. Einwohner", 15e6, 0.5e6),
        ("15Mio", 15e6, 0.5e6),
        ("15 Millionen", 15e6, 0.5e6),
        ("Umsatz 2,5 Mrd.", 2.5e9, 0.05e9),
        ("Umsatz 2,5 Mrd. €", 2.5e9, 0.05e9),
        ("2,5Mrd", 2.5e9, 0.05e9),
        ("2,5 Milliarden Euro", 2.5e9, 0.05e9),
        ("15 Tsd. €", 15e3, 500.0),
        ("3 Billionen", 3e12, 0.5e12),
        ("3 Bio.", 3e12, 0.5e12),
        ("15 Tausend", 15e3, 500.0),
        // Dutch, Swedish, Danish, Norwegian
        ("24,0 miljoen gebruikers", 24e6, 0.05e6),
        ("2,5 miljard", 2.5e9, 0.05e9),
        ("15 duizend", 15e3, 500.0),
        ("15 miljoner", 15e6, 0.5e6),
        ("2,5 miljarder", 2.5e9, 0.05e9),
        ("15 millioner", 15e6, 0.5e6),
        ("2,5 milliarder", 2.5e9, 0.05e9),
        // French
        ("15 millions d'euros", 15e6, 0.5e6),
        ("2,5 milliards", 2.5e9, 0.05e9),
        ("2,5 Md€", 2.5e9, 0.05e9),
        ("2,5 Mds €", 2.5e9, 0.05e9),
        ("15 M€", 15e6, 0.5e6),
        ("15 mille", 15e3, 500.0),
        ("4 billions", 4e9, 0.5e9),
        ("4 billions", 4e12, 0.5e12),
        // Italian
        ("15 milioni", 15e6, 0.5e6),
        ("15 mila", 15e3, 500.0),
        ("2,5 miliardi", 2.5e9, 0.05e9),
        ("15 mln", 15e6, 0.5e6),
        ("2,5 mld", 2.5e9, 0.05e9),
        // Spanish
        ("15 millones", 15e6, 0.5e6),
        ("1,5 millón", 1.5e6, 0.05e6),
        ("15 mil millones", 15e9, 0.5e9),
        ("15 mil", 15e3, 500.0),
        ("15 mil", 15e6, 0.5e6),
        ("3 billones", 3e12, 0.5e12),
        ("15 MILLONES", 15e6, 0.5e6),
        ("1,5 MILLÓN", 1.5e6, 0.05e6),
        // Portuguese (Brazil)
        ("15 milhões", 15e6, 0.5e6),
        ("2 bilhões", 2e9, 0.5e9),
        // Indian English
        ("1.5 lakh", 1.5e5, 0.05e5),
        ("₹1.5 lakhs", 1.5e5, 0.05e5),
        ("2 crore", 2e7, 0.5e7),
        ("Rs. 2 crores", 2e7, 0.5e7),
        ("2 Cr", 2e7, 0.5e7),
    ] {
        assert_reads(t, v, half);
    }
    // Spanish `mil millones` is a thousand millions: read as one scale, not as `millones`
    // after a `15 mil` that is then no number.
    let t = nums("15 mil millones");
    assert!(
        t.first().is_some_and(|n| n
            .readings
            .first()
            .is_some_and(|r| is_interval(r, 15e9, 0.5e9))),
        "{t:?}"
    );
}

#[test]
fn scale_words_alone_or_in_prose_are_not_numbers() {
    for t in [
        "a million thanks",
        "millions of users",
        "Mio",
        "Milliarden",
        "thousands of reasons",
        "the mil spec",
        "crore",
    ] {
        assert_quiet(t);
    }
}

// ---------- 2. numbers in English words ----------

#[test]
fn numbers_in_words() {
    for (t, v, half) in [
        (
            "one hundred eighty-seven thousand four hundred thirty-two",
            187_432.0,
            0.5,
        ),
        (
            "One hundred and eighty-seven thousand, four hundred and thirty-two units",
            187_432.0,
            0.5,
        ),
        ("India has fifteen million users", 15e6, 0.5e6),
        ("three point five million", 3.5e6, 0.05e6),
        ("two and a half million", 2.5e6, 0.25e6),
        ("twelve hundred", 1200.0, 50.0),
        ("one crore twenty lakh", 1.2e7, 0.5e5),
        ("one million two hundred thousand", 1.2e6, 0.05e6),
        (
            "Revenue was forty-two million three hundred thousand dollars.",
            42.3e6,
            0.05e6,
        ),
    ] {
        assert_reads(t, v, half);
    }
    // Exactly 187432: not 187433.
    let t = nums("one hundred eighty-seven thousand four hundred thirty-two");
    assert!(!covers(&t, 187_433.0), "{t:?}");
    // A whole table cell in words is that number.
    let c = cell_nums("one hundred eighty-seven thousand four hundred thirty-two");
    assert!(has_interval(&c, 187_432.0, 0.5), "{c:?}");
    // `twelve` is read, but as a small number: weak.
    let t = nums("twelve");
    assert!(
        t.iter()
            .any(|n| n.weak && n.readings.iter().any(|r| r.lo <= 12.0 && 12.0 <= r.hi))
    );
}

#[test]
fn small_number_words_and_round_words_stay_weak() {
    for t in [
        "one of the two teams",
        "one two three four five",
        "the first three quarters",
        "a million thanks",
        "one million thanks",
        "ten thousand steps",
        "a hundred times",
        "in two thousand twenty-five",
        "nineteen ninety",
        "one and all",
        "a point of order",
        "one point",
        "hundred",
        "thousand million",
        "and and and",
        "nine nine nine nine nine nine",
    ] {
        assert_quiet(t);
    }
}

// ---------- 3. digits spaced or grouped oddly ----------

#[test]
fn spaced_and_oddly_grouped_digits() {
    for (t, v, half) in [
        ("1 8 7 4 3 2 . 5 5", 187_432.55, 0.005),
        ("Total: 1 8 7 4 3 2 . 5 5 EUR", 187_432.55, 0.005),
        ("1 8 7 4 3", 18_743.0, 0.5),
        ("1 8 7 , 5", 187.5, 0.05),
        ("it was 1 8 7 4 3 2 .", 187_432.0, 0.5),
        ("(1 8 7 4 3 2)", 187_432.0, 0.5),
        ("187 432,55", 187_432.55, 0.005),
        ("1,87,432.55", 187_432.55, 0.005),
        ("₹1,87,432", 187_432.0, 0.5),
        ("12,34,56,789", 123_456_789.0, 0.5),
        ("187'432.55", 187_432.55, 0.005),
        ("187’432.55", 187_432.55, 0.005),
        ("CHF 187’432.55", 187_432.55, 0.005),
        ("187\u{2009}432,55", 187_432.55, 0.005),
        ("187\u{202f}432,55", 187_432.55, 0.005),
        ("187\u{a0}432,55", 187_432.55, 0.005),
        ("le total: 187\u{2009}432,55\u{a0}€", 187_432.55, 0.005),
    ] {
        assert_reads(t, v, half);
        // The same text as a whole table cell.
        let c = cell_nums(t);
        assert!(has_interval(&c, v, half), "cell {t:?}: {c:?}");
    }
}

#[test]
fn lists_phone_numbers_dates_and_times_are_not_joined() {
    for t in [
        "Chapter 3 4 5",
        "see pages 1 2 3 4 5 6",
        "countdown 5 4 3 2 1",
        "call +44 20 7946 0958 today",
        "+44 20 7946 0958",
        "+1 212 555 0199",
        "020 7946 0958",
        "(212) 555-0199",
        "212 555 0199",
        "212 555 1234",
        "+49 30 123456",
        "+33 1 23 45 67 89",
        "ext 212 555 0199 12",
        "at 10 30",
        "at 10:30",
        "31 12 2025",
        "12 34",
        "12 3 4 5 6 7",
        "1 2 3 4 5 67",
        "1/2 3 4 5 6",
        "v2 3 4 5 6 7",
        "1 8 7 . 5 . 5",
    ] {
        let toks = strong(t);
        assert!(toks.is_empty(), "{t:?}: {toks:?}");
    }
    // A phone number in a shape not recognised is read group by group, never as one
    // number (its four-digit group is a strong number, like any four-digit integer).
    let t = nums("212 555 1234 5");
    assert!(
        !covers(&t, 212_555.0) && !covers(&t, 2_125_551_234.0),
        "{t:?}"
    );
    // A year beside a count is not one number with them (`2024 123` is no 2,024,123).
    let t = nums("in 2024 123 units were sold");
    assert!(!covers(&t, 2_024_123.0), "{t:?}");
    // A date is a date, not a number.
    assert!(strong("2025-03-31").is_empty());
    assert!(strong("31.03.2025").is_empty());
    // An unmarked number in space-grouped form stays a number.
    assert_reads("sales of 1 234 567 units", 1_234_567.0, 0.5);
    assert_reads("sales of 1 234 567,89 2024", 1_234_567.89, 0.005);
    assert_reads("sales 1 234 567 2 345 678", 2_345_678.0, 0.5);
    // A delta with a plus sign is still a number.
    assert_reads("+1,234 more", 1234.0, 0.5);
    assert_reads("+12 345 more", 12_345.0, 0.5);
    assert_reads("+1 234 567 more", 1_234_567.0, 0.5);
}

#[test]
fn grouping_by_spaces_has_one_shape() {
    // One to three digits, then groups of exactly three.
    for (t, v) in [
        ("1 234 567,89", 1_234_567.89),
        ("12 345", 12_345.0),
        ("1\u{2009}234\u{2009}567", 1_234_567.0),
        ("1\u{2007}234", 1_234.0),
        ("1'234'567.89", 1_234_567.89),
        ("1,87,432.55", 187_432.55),
    ] {
        let n = parse_number(t).unwrap_or_else(|| panic!("{t:?}"));
        assert!(
            n.readings.iter().any(|r| r.lo <= v && v <= r.hi),
            "{t:?}: {n:?}"
        );
    }
    for t in [
        "20 7946 0958",
        "2024 123",
        "12 2025",
        "1234 567",
        "1 2345",
        "1 23",
        "1'23",
        "1,87,4321",
        "1,8,432",
        "123,45,678",
    ] {
        let n = parse_number(t);
        assert!(
            n.as_ref()
                .is_none_or(|n| !n.readings.iter().any(|r| r.hi > 1e5)),
            "{t:?}: {n:?}"
        );
    }
}

// ---------- 4. values in sentences in other languages ----------

#[test]
fn values_in_sentences_in_other_languages() {
    let v = 1_234_567.89;
    for t in [
        "Umsatz: 1.234.567,89 €",
        "Der Umsatz lag bei 1.234.567,89 € im dritten Quartal.",
        "le chiffre d'affaires est de 1 234 567,89 €",
        "le chiffre d'affaires est de 1\u{202f}234\u{202f}567,89\u{a0}€.",
        "le chiffre d'affaires est de 1\u{a0}234\u{a0}567,89 euros",
        "I ricavi sono stati di 1.234.567,89 euro.",
        "Los ingresos fueron de 1.234.567,89 €.",
        "Umsatz: CHF 1'234'567.89",
        "Omzet: € 1.234.567,89",
    ] {
        assert_reads(t, v, 0.005);
    }
}

#[test]
fn values_in_east_asian_sentences_written_without_spaces() {
    // Japanese and Chinese put no space between words: the numbers sit between them.
    for (t, v, half) in [
        (
            "Deepwater Media GmbHのMRRは€141,784.65で、更新日は2025年10月24日です。",
            141_784.65,
            0.005,
        ),
        (
            "Lodestar Retail Inc.との商談($522,650)は2026年5月12日に成約予定です。",
            522_650.0,
            0.5,
        ),
        (
            "Manish Boseの年収は₹6,281,200、入社日は2019年6月5日です。",
            6_281_200.0,
            0.5,
        ),
        ("在庫は1,234個、発注日は2025年7月1日です。", 1234.0, 0.5),
        (
            "インドのユーザー数はQ3に1,520万人に達しました。",
            15_200_000.0,
            5_000.0,
        ),
        ("売上高は1.2億円でした。", 1.2e8, 0.05e8),
        ("价格为3,450元。", 3450.0, 0.5),
        ("収益は１２３，４５６円です。", 123_456.0, 0.5),
        // Korean spaces its words, but glues particles to the number.
        ("매출은 7,800원을 기록했습니다.", 7800.0, 0.5),
    ] {
        assert_reads(t, v, half);
    }
    let renewal = parse::excel_serial(2025, 10, 24);
    assert_eq!(
        dates("更新日は2025年10月24日です。").first().copied(),
        renewal
    );
    assert_eq!(
        dates("갱신일은 2025년 10월 24일입니다.").first().copied(),
        renewal
    );
    // A year alone, a month alone and counters are no strong numbers.
    assert_quiet("2025年度の計画は7月に発表します。");
}

#[test]
fn east_asian_text_is_spaced_at_its_boundaries_and_keeps_number_marks() {
    use super::items::space_east_asian;
    for (t, want) in [
        (
            "GmbHのMRRは€141,784.65で、更新日は2025年10月24日です。Ember",
            "GmbH の MRR は €141,784.65 で, 更新日は 2025年10月24日 です. Ember",
        ),
        ("商談($522,650)は", "商談 ($522,650) は"),
        ("12万人、1.2億円", "12万 人, 1.2億円"),
        ("１２３，４５６円", "123,456円"),
        ("plain ASCII stays as it is", "plain ASCII stays as it is"),
        ("Überblick: 1.234,5 €", "Überblick: 1.234,5 €"),
    ] {
        assert_eq!(space_east_asian(t), want, "{t}");
    }
}

#[test]
fn a_japanese_summary_of_a_customer_sheet_confirms() {
    let customers = [
        ("Deepwater Media GmbH", 141_784.65, 45_954.0),
        ("Ember Analytics GmbH", 5_056.32, 45_931.0),
        ("Meridian Materials AG", 364.32, 46_053.0),
        ("Peregrine Pharma GmbH & Co. KG", 1_163.80, 45_850.0),
    ];
    let mut cells = vec![
        text(0, 0, "Customer"),
        text(0, 1, "MRR"),
        text(0, 2, "Renewal"),
    ];
    for (r, (name, mrr, renewal)) in customers.iter().enumerate() {
        let r = r as u32 + 1;
        cells.push(text(r, 0, name));
        cells.push(num(r, 1, *mrr, "[$€-407] #,##0.00"));
        cells.push(num(r, 2, *renewal, "yyyy-mm-dd"));
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Subscriptions.xlsx"), "Accounts", cells));
    let date = |serial: f64| {
        let (y, m, d) = date_from_serial(serial as i64).unwrap_or_default();
        format!("{y}年{m}月{d}日")
    };
    let body: String = customers
        .iter()
        .map(|(name, mrr, renewal)| {
            format!(
                "{name}のMRRは€{}で、更新日は{}です。",
                group(*mrr),
                date(*renewal)
            )
        })
        .collect();
    let flows = det.check(&write_text(&body));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{body}\n{flows:#?}");
    assert!(c[0].cells.len() >= 8, "{:?}", c[0].cells);
    // The same sentences about other customers, figures and dates: nothing confirmed.
    let others = [
        "Halcyon Foods BV",
        "Kestrel Labs SA",
        "Orchard Logistics",
        "Tidewater Oy",
    ];
    let other: String = customers
        .iter()
        .zip(others)
        .map(|((_, mrr, renewal), name)| {
            format!(
                "{name}のMRRは€{}で、更新日は{}です。",
                group(mrr * 1.37 + 11.0),
                date(renewal + 40.0)
            )
        })
        .collect();
    assert!(confirmed(&det.check(&write_text(&other))).is_empty());
}

/// `141,784.65`.
fn group(v: f64) -> String {
    let cents = format!("{v:.2}");
    let (int, frac) = cents.split_once('.').unwrap_or((&cents, "00"));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{out}.{frac}")
}

// ---------- end to end: one line per region, from one column ----------

/// Populations by region in one column, written rounded to millions with a scale word,
/// one line per region: the flow names the column's cells.
fn populations() -> (Detector, Vec<(&'static str, f64)>) {
    let regions = [
        ("India", 15_234_117.0),
        ("China", 22_417_905.0),
        ("Brazil", 8_722_310.0),
        ("Nigeria", 31_908_442.0),
        ("Mexico", 12_660_128.0),
        ("Egypt", 47_115_003.0),
        ("Kenya", 5_381_776.0),
        ("Vietnam", 18_940_551.0),
    ];
    let mut cells = vec![text(0, 0, "Region"), text(0, 1, "Customers")];
    for (r, (name, v)) in regions.iter().enumerate() {
        let r = r as u32 + 1;
        cells.push(text(r, 0, name));
        cells.push(num(r, 1, *v, "#,##0"));
    }
    let mut det = Detector::new();
    det.add_read(&read(&doc("Regions.xlsx"), "Customers", cells));
    (det, regions.to_vec())
}

fn lines(regions: &[(&str, f64)], fmt: impl Fn(f64) -> String) -> String {
    regions
        .iter()
        .map(|(n, v)| format!("{n}: {}", fmt(*v)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_line_per_region_with_scale_words_confirms() {
    let (det, regions) = populations();
    let want: Vec<CellAddr> = (1..=8).map(|r| CellAddr::new(r, 1)).collect();
    for (lang, fmt) in [
        (
            "en",
            Box::new(|v: f64| format!("{:.0} million", v / 1e6)) as Box<dyn Fn(f64) -> String>,
        ),
        ("de", Box::new(|v: f64| format!("{:.0} Mio.", v / 1e6))),
        ("fr", Box::new(|v: f64| format!("{:.0} millions", v / 1e6))),
        ("it", Box::new(|v: f64| format!("{:.0} milioni", v / 1e6))),
        ("es", Box::new(|v: f64| format!("{:.0} millones", v / 1e6))),
    ] {
        let flows = det.check(&write_text(&lines(&regions, fmt)));
        let c = confirmed(&flows);
        assert_eq!(c.len(), 1, "{lang}: {flows:#?}");
        assert_eq!(c[0].cells, want, "{lang}");
    }
}

#[test]
fn numbers_in_words_and_spaced_digits_confirm_a_copied_column() {
    let (det, regions) = populations();
    let want: Vec<CellAddr> = (1..=8).map(|r| CellAddr::new(r, 1)).collect();
    // Every value in full, each digit spaced: an agent hiding a copy.
    let spaced = lines(&regions, |v| {
        format!("{v:.0}")
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let flows = det.check(&write_text(&spaced));
    let c = confirmed(&flows);
    assert_eq!(c.len(), 1, "{spaced}\n{flows:#?}");
    assert_eq!(c[0].cells, want);
}

#[test]
fn prose_with_small_number_words_has_no_flow() {
    let (det, _) = populations();
    let prose = "One of the two teams met three times; a million thanks to the five \
                 people who came. Chapter 3 4 5 covers it. Call +44 20 7946 0958 at 10 30 \
                 on 31 12 2025, or see pages 1 2 3 4 5 6.";
    let flows = det.check(&write_text(prose));
    assert!(flows.is_empty(), "{flows:#?}");
}

// ---------- bounded work on hostile input ----------

#[test]
fn hostile_inputs_are_bounded_and_never_panic() {
    let long_words = "one hundred ".repeat(20_000);
    let spaced = "1 ".repeat(50_000);
    let spaced_dots = "1 . ".repeat(20_000);
    let phone = "+44 20 ".repeat(20_000);
    let scales = "15 mil millones ".repeat(10_000);
    let mixed = "one 1 two 2 . , ' ’ \u{2009} thousand million point and a half ".repeat(2_000);
    for t in [
        long_words.as_str(),
        spaced.as_str(),
        spaced_dots.as_str(),
        phone.as_str(),
        scales.as_str(),
        mixed.as_str(),
        "point five",
        "and a half million",
        "a half",
        "one point point five",
        "one point five point five",
        "twenty-",
        "-seven",
        "eighty--seven",
        "ninety-ninety",
        "1 8 7 . . 5",
        ". 1 2 3 4 5",
        "1 2 3 4 5 .",
        "9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9 9",
        "1,,87,432",
        ",87,432",
        "1,87,4321",
        "₹",
        "lakh crore",
    ] {
        let start = std::time::Instant::now();
        let _ = nums(t);
        let _ = cell_nums(t);
        let _ = parse_number(t);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{} bytes took {:?}",
            t.len(),
            start.elapsed()
        );
    }
}

/// Random sentences from the number-word vocabulary, digits, marks and prose: the words
/// parser never takes more tokens than it was given, never gives an upside-down or
/// non-finite interval, and anything below 1,000 is weak.
#[test]
fn random_number_word_sentences_keep_the_invariants() {
    use tracker_eval as eval;
    const VOCAB: &[&str] = &[
        "one",
        "two",
        "nine",
        "zero",
        "ten",
        "twelve",
        "nineteen",
        "twenty",
        "ninety",
        "forty-two",
        "eighty-seven",
        "hundred",
        "thousand",
        "million",
        "billion",
        "trillion",
        "lakh",
        "crore",
        "and",
        "a",
        "half",
        "point",
        "the",
        "of",
        "thousand,",
        "seven.",
        "(three",
        "five)",
        "-",
        "1",
        "8",
        ".",
        ",",
        "15",
        "Mio.",
        "mil",
        "millones",
        "+44",
        "020",
        "7946",
        "(212)",
        "555-0199",
        "1,87,432",
        "’",
        "\u{2009}",
    ];
    let mut rng = eval::Rng::new(16);
    for _ in 0..3_000 {
        let len = 1 + rng.below(14);
        let toks: Vec<&str> = (0..len)
            .map(|_| VOCAB.get(rng.below(VOCAB.len())).copied().unwrap_or("one"))
            .collect();
        if let Some((n, took)) = super::parse::parse_words(&toks) {
            assert!((1..=toks.len()).contains(&took), "{toks:?}: took {took}");
            for r in &n.readings {
                assert!(
                    r.lo <= r.hi && r.lo.is_finite() && r.hi.is_finite(),
                    "{toks:?}: {r:?}"
                );
            }
            let top = n.readings.first().map_or(0.0, |r| r.hi);
            assert!(top >= 1000.0 || n.weak, "{toks:?}: {n:?}");
        }
        // The whole path, as text and as a cell.
        let text = toks.join(" ");
        for n in nums(&text).iter().chain(cell_nums(&text).iter()) {
            for r in &n.readings {
                assert!(
                    r.lo <= r.hi && r.lo.is_finite() && r.hi.is_finite(),
                    "{text:?}: {r:?}"
                );
            }
        }
    }
}
