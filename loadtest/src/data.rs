//! The simulated documents' contents, generated from the workbook's number so that panes
//! and agents agree on them without talking: every workbook holds different, many-digit
//! values (a transfer is attributable to exactly one source), and every write carries the
//! values of the workbook just read, reformatted the way an agent would.

use serde_json::{Value, json};
use tracker_eval::Rng;

/// The sheet and range every agent reads.
pub const SHEET: &str = "Data";
pub const RANGE: &str = "A1:E9";
pub const ROWS: usize = 9;
pub const COLS: usize = 5;
const MONTHS: [&str; 4] = ["Jan", "Feb", "Mar", "Apr"];

/// The tool's random generator: the evaluation corpus's splitmix64 ([`Rng`]), its seed
/// first mixed with splitmix64's increment, so a seed still gives the documents and agent
/// choices this tool has always produced.
pub fn rng(seed: u64) -> Rng {
    Rng::new(seed ^ 0x9e37_79b9_7f4a_7c15)
}

/// The workbook's name as its pane registers it.
pub fn workbook_name(i: usize) -> String {
    format!("Book-{i:03}.xlsx")
}

pub fn deck_name(j: usize) -> String {
    format!("Deck-{j:03}.pptx")
}

fn row_header(i: usize, r: usize) -> String {
    format!("SKU-{i:03}-{r}")
}

/// The number in workbook `i`, data row `r` (1-based), month column `c` (1-based):
/// 100,000.00 to 9,999,999.99, cents included, so the value is rare.
pub fn value(i: usize, r: usize, c: usize) -> f64 {
    let mut rng = rng(((i as u64) << 32) ^ ((r as u64) << 16) ^ c as u64);
    let cents = 10_000_000 + rng.next_u64() % 990_000_000;
    cents as f64 / 100.0
}

/// `1234567.89` with thousands separators and `decimals` decimals.
fn grouped(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let (int, frac) = match s.split_once('.') {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (s, None),
    };
    let mut out = String::new();
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(&f);
    }
    out
}

/// The pane's answer to `excel.readRange` of workbook `i`: values, the text Excel would
/// display (`$#,##0`), and the number formats.
pub fn read_answer(i: usize, address: &str) -> Value {
    let mut values = Vec::with_capacity(ROWS);
    let mut text = Vec::with_capacity(ROWS);
    let mut formats = Vec::with_capacity(ROWS);
    let mut header = vec![json!("Item")];
    header.extend(MONTHS.iter().map(|m| json!(m)));
    values.push(Value::Array(header.clone()));
    text.push(Value::Array(header));
    formats.push(json!(vec!["General"; COLS]));
    for r in 1..ROWS {
        let mut v = vec![json!(row_header(i, r))];
        let mut t = vec![json!(row_header(i, r))];
        let mut f = vec![json!("General")];
        for c in 1..COLS {
            let x = value(i, r, c);
            v.push(json!(x));
            t.push(json!(format!("${}", grouped(x, 0))));
            f.push(json!("$#,##0"));
        }
        values.push(Value::Array(v));
        text.push(Value::Array(t));
        formats.push(Value::Array(f));
    }
    json!({"sheet": SHEET, "address": address, "values": values, "text": text, "numberFormat": formats})
}

/// How an agent rewrites the numbers it read.
pub fn reformat(x: f64, style: usize) -> String {
    match style % 3 {
        0 => grouped(x, 2),                 // 1,234,567.89
        1 => format!("${}", grouped(x, 0)), // $1,234,568
        _ => format!("${:.3}M", x / 1.0e6), // $1.235M
    }
}

/// The table an agent writes into a deck: workbook `i`'s figures reformatted, with the
/// row and column headers, and the call's tag in the corner cell so the deck's pane can
/// tell every write apart.
pub fn table_rows(i: usize, style: usize, tag: &str) -> Value {
    let mut rows = Vec::with_capacity(ROWS);
    let mut header = vec![json!(tag)];
    header.extend(MONTHS.iter().map(|m| json!(m)));
    rows.push(Value::Array(header));
    for r in 1..ROWS {
        let mut row = vec![json!(row_header(i, r))];
        for c in 1..COLS {
            row.push(json!(reformat(value(i, r, c), style)));
        }
        rows.push(Value::Array(row));
    }
    Value::Array(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(grouped(1234567.891, 2), "1,234,567.89");
        assert_eq!(grouped(123456.0, 0), "123,456");
        assert_eq!(reformat(1234567.89, 1), "$1,234,568");
        assert_eq!(reformat(1234567.89, 2), "$1.235M");
    }

    #[test]
    fn values_are_distinct_per_workbook() {
        let a = value(1, 1, 1);
        assert!((100_000.0..10_000_000.0).contains(&a));
        assert_ne!(a, value(2, 1, 1));
        assert_ne!(a, value(1, 2, 1));
        assert_eq!(a, value(1, 1, 1));
    }

    #[test]
    fn the_documents_and_agent_choices_are_the_same_for_a_seed() {
        // Produced by this tool's own splitmix64 before it shared the corpus's one.
        assert_eq!(value(1, 1, 1), 1_399_455.57);
        assert_eq!(value(2, 1, 1), 2_471_629.17);
        assert_eq!(value(0, 0, 0), 7_643_557.0);
        assert_eq!(value(199, 3, 4), 3_842_882.34);
        let mut agent = rng(42 ^ 3u64.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let picks: Vec<usize> = (0..10).map(|_| agent.below(7)).collect();
        assert_eq!(picks, [3, 3, 3, 6, 3, 4, 6, 0, 4, 3]);
    }
}
