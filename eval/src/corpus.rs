//! The corpus generator: source workbooks (financial tables, orders with
//! dates/customers/SKUs, note passages, big detail sheets) and target writes with known
//! flows for every transformation class, negatives built from unrelated workbooks of the
//! same domain.

use tracker::model::{
    App, CellAddr, CellValue, DocumentId, DocumentRef, ProvenanceId, ReadCell, ReadEvent,
    SheetRead, WriteContent, WritePart,
};

use crate::Rng;

/// Transformation classes, one row of the report each.
pub const CLASSES: &[&str] = &[
    "verbatim displayed text",
    "grouping / locale (1.234.567,89)",
    "currency symbols and codes",
    "negatives in parentheses",
    "percent (0.1234 -> 12.3%)",
    "scaled units ($1.23M, 4.5k, bn)",
    "rounded 2 s.f., table w/ headers",
    "dates re-rendered (+ amounts)",
    "transposed table",
    "rows/columns reordered",
    "subset of a table",
    "values inside sentences",
    "lone value, shared headers: Possible",
    "lone value, distinctive headers",
    "quoted text passage",
    "names / SKUs case+space folded",
];

/// The known source of a positive case.
#[derive(Clone, Debug)]
pub struct Truth {
    pub doc: DocumentId,
    pub sheet: String,
    pub cells: Vec<CellAddr>,
}

#[derive(Clone, Debug)]
pub struct Case {
    /// Index into the corpus's `classes`, or `None` for a negative (unrelated) target.
    pub class: Option<usize>,
    pub write: WriteContent,
    /// Every source the write holds (a deck built from two workbooks has two); empty for
    /// a negative. A case is found when each of them is confirmed.
    pub truths: Vec<Truth>,
}

/// A generated corpus: what was read (the index), the targets, and the names of the
/// classes the targets' `class` indexes into.
pub struct Corpus {
    pub classes: Vec<&'static str>,
    pub reads: Vec<ReadEvent>,
    pub cases: Vec<Case>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Money,
    Signed,
    Percent,
}

/// A generated table: headers and values at known addresses.
struct Table {
    sheet: String,
    kind: Kind,
    /// Row headers in column A (rows 1..), column headers in row 1 (cols 1..).
    row_headers: Vec<String>,
    col_headers: Vec<String>,
    values: Vec<Vec<f64>>,
}

struct Order {
    row: u32,
    serial: f64,
    customer: String,
    sku: String,
    amount: f64,
}

struct Workbook {
    doc: DocumentRef,
    tables: Vec<Table>,
    orders: Vec<Order>,
    passages: Vec<(u32, String)>,
    read: ReadEvent,
}

const REGIONS: &[&str] = &[
    "EMEA",
    "Americas",
    "APAC",
    "LATAM",
    "North America",
    "DACH",
    "Nordics",
    "Benelux",
    "Iberia",
    "UK & Ireland",
    "Middle East",
    "Japan",
];
const PRODUCTS: &[&str] = &[
    "Widgets",
    "Gadgets",
    "Sprockets",
    "Cloud Suite",
    "Support",
    "Services",
    "Licenses",
    "Hardware",
    "Consulting",
    "Training",
];
const PL_LINES: &[&str] = &[
    "Net revenue",
    "COGS",
    "Gross profit",
    "Opex",
    "R&D",
    "S&M",
    "G&A",
    "EBITDA",
    "Depreciation",
    "EBIT",
    "Interest",
    "Tax",
    "Net income",
];
const SYL: &[&str] = &[
    "hal", "vor", "bren", "nick", "tas", "mor", "lin", "dak", "ser", "quil", "zan", "op", "tri",
    "vel", "kor", "ast", "ri", "mun", "del", "fen",
];
const ORG: &[&str] = &[
    "Industries",
    "Logistics AG",
    "Holdings",
    "GmbH",
    "Partners LLP",
    "Labs",
];
const FILLER: &[&str] = &[
    "the",
    "team",
    "expects",
    "pipeline",
    "growth",
    "in",
    "next",
    "quarter",
    "with",
    "strong",
    "demand",
    "from",
    "partners",
    "and",
    "new",
    "customers",
    "despite",
    "pricing",
    "pressure",
    "margin",
    "improved",
    "after",
    "restructuring",
    "of",
    "supply",
    "contracts",
    "regional",
    "launch",
    "delayed",
    "by",
    "regulatory",
    "review",
    "integration",
    "costs",
    "remain",
];

fn pick<'a>(rng: &mut Rng, xs: &'a [&'a str]) -> &'a str {
    xs.get(rng.below(xs.len())).copied().unwrap_or("")
}

fn name(rng: &mut Rng) -> String {
    let mut w = String::new();
    for _ in 0..2 + rng.below(2) {
        w.push_str(pick(rng, SYL));
    }
    let mut c = w.chars();
    let cap: String = c
        .next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default();
    format!("{cap} {}", pick(rng, ORG))
}

fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.f64()).exp()
}

fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `1234567.891` with `decimals`, grouping `grp` and decimal separator `dec`.
pub fn group(v: f64, decimals: usize, grp: &str, dec: &str) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::new();
    let n = int.len();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            out.push_str(grp);
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push_str(dec);
        out.push_str(frac);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// `$1.23M`-style rendering with `sig` significant figures and a suffix style.
pub fn scaled(v: f64, sig: usize, style: usize) -> String {
    let a = v.abs();
    let (div, suf) = if a >= 1e9 {
        (1e9, ["bn", "B", " billion"])
    } else if a >= 1e6 {
        (1e6, ["M", "M", " million"])
    } else {
        (1e3, ["k", "K", " thousand"])
    };
    let x = a / div;
    let int_digits = if x >= 100.0 {
        3
    } else if x >= 10.0 {
        2
    } else {
        1
    };
    let dec = sig.saturating_sub(int_digits);
    let cur = if style == 2 { "" } else { "$" };
    format!(
        "{cur}{:.*}{}",
        dec,
        x,
        suf.get(style % 3).copied().unwrap_or("M")
    )
}

fn money_text(v: f64) -> String {
    if v < 0.0 {
        format!("(${})", group(-v, 0, ",", "."))
    } else {
        format!("${}", group(v, 0, ",", "."))
    }
}

fn pct_text(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn date_text(serial: f64, style: usize) -> String {
    let (y, m, d) = tracker::excel_date::date_from_serial(serial as i64).unwrap_or((1900, 1, 1));
    let mon = &tracker::excel_date::MONTHS[(m as usize).clamp(1, 12) - 1][..3];
    match style % 4 {
        0 => format!("{y:04}-{m:02}-{d:02}"),
        1 => format!("{mon} {d}, {y}"),
        2 => format!("{d:02}/{m:02}/{y}"),
        _ => format!("{d} {mon} {y}"),
    }
}

fn num_cell(r: u32, c: u32, v: f64, fmt: &str, text: String) -> ReadCell {
    ReadCell {
        addr: CellAddr::new(r, c),
        value: CellValue::Number(v),
        text: Some(text),
        number_format: Some(fmt.to_string()),
    }
}

fn text_cell(r: u32, c: u32, t: &str) -> ReadCell {
    ReadCell {
        addr: CellAddr::new(r, c),
        value: CellValue::Text(t.to_string()),
        text: Some(t.to_string()),
        number_format: None,
    }
}

fn make_table(rng: &mut Rng, sheet: &str, kind: Kind) -> Table {
    let (pool, n_rows): (&[&str], usize) = match kind {
        Kind::Money => (REGIONS, 6 + rng.below(6)),
        Kind::Signed => (PL_LINES, 8 + rng.below(5)),
        Kind::Percent => (PRODUCTS, 5 + rng.below(5)),
    };
    let row_headers: Vec<String> = pool.iter().take(n_rows).map(|s| s.to_string()).collect();
    let col_headers: Vec<String> = if kind == Kind::Percent {
        (2021..=2025).map(|y| format!("FY{y}")).collect()
    } else {
        let y = 2023 + rng.below(3);
        (0..8)
            .map(|i| format!("Q{} {}", i % 4 + 1, y + i / 4))
            .collect()
    };
    let values = row_headers
        .iter()
        .map(|_| {
            col_headers
                .iter()
                .map(|_| match kind {
                    Kind::Money => cents(log_uniform(rng, 1e5, 5e7)),
                    Kind::Signed => {
                        let v = cents(log_uniform(rng, 1e4, 2e7));
                        if rng.below(3) == 0 { -v } else { v }
                    }
                    Kind::Percent => (rng.f64() * 0.6 + 0.005).mul_add(1.0, 0.0),
                })
                .collect()
        })
        .collect();
    Table {
        sheet: sheet.to_string(),
        kind,
        row_headers,
        col_headers,
        values,
    }
}

/// Revenue by key account: row headers (account names) distinctive to this workbook, so
/// a value at an (account, quarter) crossing is pinned by its headers. Its own generator
/// (seeded by the workbook index) leaves the rest of the corpus unchanged.
fn account_table(idx: usize) -> Table {
    let mut rng = Rng::new(0xACC0_0000 ^ idx as u64);
    let row_headers: Vec<String> = (0..4).map(|_| name(&mut rng)).collect();
    let col_headers: Vec<String> = (0..4).map(|i| format!("Q{} 2024", i + 1)).collect();
    let values = row_headers
        .iter()
        .map(|_| {
            col_headers
                .iter()
                .map(|_| cents(log_uniform(&mut rng, 1e5, 5e7)))
                .collect()
        })
        .collect();
    Table {
        sheet: "Accounts".into(),
        kind: Kind::Money,
        row_headers,
        col_headers,
        values,
    }
}

fn make_workbook(rng: &mut Rng, idx: usize, big: bool) -> Workbook {
    let doc = DocumentRef::new(
        App::Excel,
        format!("Book{idx}.xlsx"),
        format!("https://corp.example/finance/Book{idx}.xlsx"),
    );
    let mut tables = vec![
        make_table(rng, "Revenue", Kind::Money),
        make_table(rng, "P&L", Kind::Signed),
        make_table(rng, "Margins", Kind::Percent),
    ];
    tables.push(account_table(idx));
    let mut sheets = Vec::new();
    for t in &tables {
        let mut cells = vec![text_cell(0, 0, "")];
        cells.clear();
        for (j, h) in t.col_headers.iter().enumerate() {
            cells.push(text_cell(0, j as u32 + 1, h));
        }
        for (i, h) in t.row_headers.iter().enumerate() {
            cells.push(text_cell(i as u32 + 1, 0, h));
            for (j, v) in t.values.get(i).into_iter().flatten().enumerate() {
                let (fmt, txt) = match t.kind {
                    Kind::Money => ("$#,##0", money_text(*v)),
                    Kind::Signed => ("#,##0;(#,##0)", money_text(*v)),
                    Kind::Percent => ("0.0%", pct_text(*v)),
                };
                cells.push(num_cell(i as u32 + 1, j as u32 + 1, *v, fmt, txt));
            }
        }
        sheets.push(SheetRead {
            sheet: t.sheet.clone(),
            cells,
        });
    }
    // Orders: date, customer, SKU, amount.
    let mut orders = Vec::new();
    let mut cells = vec![
        text_cell(0, 0, "Date"),
        text_cell(0, 1, "Customer"),
        text_cell(0, 2, "SKU"),
        text_cell(0, 3, "Amount"),
    ];
    let start = 45_292.0 + rng.below(365) as f64;
    for i in 0..40u32 {
        let o = Order {
            row: i + 1,
            serial: start + f64::from(i) * 3.0 + rng.below(3) as f64,
            customer: name(rng),
            sku: format!(
                "SKU-{:05}-{}{}",
                rng.below(100_000),
                (b'A' + rng.below(26) as u8) as char,
                (b'A' + rng.below(26) as u8) as char
            ),
            amount: cents(log_uniform(rng, 1e3, 5e5)),
        };
        cells.push(num_cell(
            o.row,
            0,
            o.serial,
            "yyyy-mm-dd",
            date_text(o.serial, 0),
        ));
        cells.push(text_cell(o.row, 1, &o.customer));
        cells.push(text_cell(o.row, 2, &o.sku));
        cells.push(num_cell(
            o.row,
            3,
            o.amount,
            "$#,##0.00",
            format!("${}", group(o.amount, 2, ",", ".")),
        ));
        orders.push(o);
    }
    sheets.push(SheetRead {
        sheet: "Orders".into(),
        cells,
    });
    // Notes: passages of filler words and rare made-up words.
    let mut passages = Vec::new();
    let mut cells = Vec::new();
    for i in 0..8u32 {
        let mut ws: Vec<String> = Vec::new();
        for k in 0..24 {
            if k % 4 == 1 {
                ws.push(name(rng).split(' ').next().unwrap_or("x").to_lowercase());
            } else {
                ws.push(pick(rng, FILLER).to_string());
            }
        }
        let p = ws.join(" ");
        cells.push(text_cell(i + 1, 1, &p));
        passages.push((i + 1, p));
    }
    sheets.push(SheetRead {
        sheet: "Notes".into(),
        cells,
    });
    if big {
        let mut cells = Vec::new();
        for r in 0..200u32 {
            for c in 0..40u32 {
                let v = cents(log_uniform(rng, 1e2, 1e8));
                cells.push(num_cell(r, c, v, "#,##0.00", group(v, 2, ",", ".")));
            }
        }
        sheets.push(SheetRead {
            sheet: "Detail".into(),
            cells,
        });
    }
    let read = ReadEvent {
        id: ProvenanceId::new(),
        document: doc.clone(),
        sheets,
        at: 0,
        request: format!("eval-{idx}"),
    };
    Workbook {
        doc,
        tables,
        orders,
        passages,
        read,
    }
}

fn deck(i: usize) -> DocumentRef {
    DocumentRef::new(
        App::Powerpoint,
        format!("Deck{i}.pptx"),
        format!("https://corp.example/Deck{i}.pptx"),
    )
}

fn table_write(target: DocumentRef, rows: Vec<Vec<String>>) -> WriteContent {
    WriteContent {
        target,
        parts: vec![
            WritePart::Text {
                location: "slide 2 title".into(),
                text: "Quarterly business review".into(),
            },
            WritePart::Table {
                location: "slide 2 table".into(),
                rows,
            },
        ],
        explicit_sources: vec![],
    }
}

fn text_write(target: DocumentRef, text: String) -> WriteContent {
    WriteContent {
        target,
        parts: vec![WritePart::Text {
            location: "slide 3 body".into(),
            text,
        }],
        explicit_sources: vec![],
    }
}

/// Picks `nr` x `nc` block indices of a table.
fn block(rng: &mut Rng, t: &Table, nr: usize, nc: usize) -> (Vec<usize>, Vec<usize>) {
    let rows = t.row_headers.len();
    let cols = t.col_headers.len();
    let r0 = rng.below(rows.saturating_sub(nr) + 1);
    let c0 = rng.below(cols.saturating_sub(nc) + 1);
    (
        (r0..(r0 + nr).min(rows)).collect(),
        (c0..(c0 + nc).min(cols)).collect(),
    )
}

fn val(t: &Table, i: usize, j: usize) -> f64 {
    t.values
        .get(i)
        .and_then(|r| r.get(j))
        .copied()
        .unwrap_or(0.0)
}

/// Renders a table block with headers; `f` renders one value.
fn render_block(
    t: &Table,
    rows: &[usize],
    cols: &[usize],
    transpose: bool,
    f: &mut dyn FnMut(f64) -> String,
) -> Vec<Vec<String>> {
    let (outer, inner, oh, ih) = if transpose {
        (cols, rows, &t.col_headers, &t.row_headers)
    } else {
        (rows, cols, &t.row_headers, &t.col_headers)
    };
    let mut out = vec![
        std::iter::once(String::new())
            .chain(
                inner
                    .iter()
                    .map(|k| ih.get(*k).cloned().unwrap_or_default()),
            )
            .collect::<Vec<_>>(),
    ];
    for o in outer {
        let mut row = vec![oh.get(*o).cloned().unwrap_or_default()];
        for k in inner {
            let v = if transpose {
                val(t, *k, *o)
            } else {
                val(t, *o, *k)
            };
            row.push(f(v));
        }
        out.push(row);
    }
    out
}

fn cells_of(rows: &[usize], cols: &[usize]) -> Vec<CellAddr> {
    let mut v: Vec<CellAddr> = rows
        .iter()
        .flat_map(|r| {
            cols.iter()
                .map(move |c| CellAddr::new(*r as u32 + 1, *c as u32 + 1))
        })
        .collect();
    v.sort_unstable();
    v
}

fn shuffle<T>(rng: &mut Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}

/// Builds one case of `class` from workbook `wb`.
fn make_case(
    rng: &mut Rng,
    wb: &Workbook,
    class: usize,
    target: DocumentRef,
) -> (WriteContent, Truth) {
    let tables = &wb.tables;
    let money = tables.first().unwrap_or_else(|| unreachable_table());
    let signed = tables.get(1).unwrap_or(money);
    let pct = tables.get(2).unwrap_or(money);
    let truth = |t: &Table, cells: Vec<CellAddr>| Truth {
        doc: wb.doc.id.clone(),
        sheet: t.sheet.clone(),
        cells,
    };
    match class {
        0 => {
            let (r, c) = block(rng, money, 3, 3);
            let rows = render_block(money, &r, &c, false, &mut money_text);
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        1 => {
            let (r, c) = block(rng, money, 3, 3);
            let style = rng.below(3);
            let rows = render_block(money, &r, &c, false, &mut |v| match style {
                0 => group(v, 2, ".", ","),
                1 => group(v, 2, " ", ","),
                _ => group(v, 2, "'", "."),
            });
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        2 => {
            let (r, c) = block(rng, money, 3, 3);
            let style = rng.below(3);
            let rows = render_block(money, &r, &c, false, &mut |v| match style {
                0 => format!("USD {}", group(v, 2, ",", ".")),
                1 => format!("€{}", group(v, 0, ".", ",")),
                _ => format!("{} EUR", group(v, 0, ",", ".")),
            });
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        3 => {
            let (r, c) = block(rng, signed, 3, 3);
            let rows = render_block(signed, &r, &c, false, &mut |v| {
                if v < 0.0 {
                    format!("({})", group(-v, 0, ",", "."))
                } else {
                    group(v, 0, ",", ".")
                }
            });
            (table_write(target, rows), truth(signed, cells_of(&r, &c)))
        }
        4 => {
            let (r, c) = block(rng, pct, 3, 3);
            let style = rng.below(2);
            let rows = render_block(pct, &r, &c, false, &mut |v| match style {
                0 => format!("{:.1}%", v * 100.0),
                _ => format!("{:.2} %", v * 100.0),
            });
            (table_write(target, rows), truth(pct, cells_of(&r, &c)))
        }
        5 => {
            let (r, c) = block(rng, money, 3, 3);
            let style = rng.below(3);
            let rows = render_block(money, &r, &c, false, &mut |v| scaled(v, 3, style));
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        6 => {
            let (r, c) = block(rng, money, 3, 4);
            let rows = render_block(money, &r, &c, false, &mut |v| scaled(v, 2, 0));
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        7 => {
            let start = rng.below(wb.orders.len().saturating_sub(4));
            let style = 1 + rng.below(3);
            let mut rows = vec![vec!["Date".to_string(), "Amount".to_string()]];
            let mut cells = Vec::new();
            for o in wb.orders.iter().skip(start).take(4) {
                rows.push(vec![date_text(o.serial, style), scaled(o.amount, 3, 0)]);
                cells.push(CellAddr::new(o.row, 0));
                cells.push(CellAddr::new(o.row, 3));
            }
            cells.sort_unstable();
            let t = Truth {
                doc: wb.doc.id.clone(),
                sheet: "Orders".into(),
                cells,
            };
            (table_write(target, rows), t)
        }
        8 => {
            let (r, c) = block(rng, money, 3, 3);
            let rows = render_block(money, &r, &c, true, &mut |v| scaled(v, 3, 0));
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        9 => {
            let (mut r, mut c) = block(rng, money, 3, 3);
            shuffle(rng, &mut r);
            shuffle(rng, &mut c);
            let rows = render_block(money, &r, &c, false, &mut |v| scaled(v, 3, 0));
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        10 => {
            let (r, c) = block(rng, money, 1, 2);
            let rows = render_block(money, &r, &c, false, &mut |v| scaled(v, 3, 0));
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        11 => {
            let (r, c) = block(rng, money, 3, 1);
            let q = c
                .first()
                .and_then(|j| money.col_headers.get(*j))
                .cloned()
                .unwrap_or_default();
            let mut parts = Vec::new();
            for i in &r {
                let region = money.row_headers.get(*i).cloned().unwrap_or_default();
                let v = scaled(
                    val(money, *i, c.first().copied().unwrap_or(0)),
                    3,
                    rng.below(3),
                );
                parts.push(format!("{region} brought in {v}"));
            }
            let text = format!(
                "In {q}, {}, and {}.",
                parts.get(..2).map(|p| p.join(", ")).unwrap_or_default(),
                parts.get(2).cloned().unwrap_or_default()
            );
            (text_write(target, text), truth(money, cells_of(&r, &c)))
        }
        12 => {
            let (r, c) = block(rng, money, 1, 1);
            let rows = render_block(money, &r, &c, false, &mut |v| scaled(v, 3, 0));
            (table_write(target, rows), truth(money, cells_of(&r, &c)))
        }
        13 => {
            let acc = tables.get(3).unwrap_or(money);
            let (r, c) = block(rng, acc, 1, 1);
            let rows = render_block(acc, &r, &c, false, &mut |v| scaled(v, 3, 0));
            (table_write(target, rows), truth(acc, cells_of(&r, &c)))
        }
        14 => {
            let (row, p) = wb
                .passages
                .get(rng.below(wb.passages.len()))
                .cloned()
                .unwrap_or_default();
            let ws: Vec<&str> = p.split(' ').collect();
            let s = rng.below(8);
            let quote = ws.get(s..s + 14).map(|w| w.join(" ")).unwrap_or_default();
            let text = format!("As the regional memo put it, \"{quote}\" which we agree with.");
            let t = Truth {
                doc: wb.doc.id.clone(),
                sheet: "Notes".into(),
                cells: vec![CellAddr::new(row, 1)],
            };
            (text_write(target, text), t)
        }
        _ => {
            let a = wb.orders.get(rng.below(wb.orders.len()));
            let b = wb.orders.get(rng.below(wb.orders.len()));
            let (Some(a), Some(b)) = (a, b) else {
                return (text_write(target, String::new()), truth(money, vec![]));
            };
            let text = format!(
                "Key accounts this month: {}  and {}; top item {}.",
                a.customer.to_uppercase(),
                b.customer.replace(' ', "  "),
                a.sku.to_lowercase()
            );
            let mut cells = vec![
                CellAddr::new(a.row, 1),
                CellAddr::new(b.row, 1),
                CellAddr::new(a.row, 2),
            ];
            cells.sort_unstable();
            cells.dedup();
            let t = Truth {
                doc: wb.doc.id.clone(),
                sheet: "Orders".into(),
                cells,
            };
            (text_write(target, text), t)
        }
    }
}

fn unreachable_table() -> &'static Table {
    // make_workbook always makes three tables; a static empty table keeps this panic-free.
    static EMPTY: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Table {
        sheet: String::new(),
        kind: Kind::Money,
        row_headers: vec![],
        col_headers: vec![],
        values: vec![],
    })
}

/// Generic slide text with years, page numbers and common words.
fn boilerplate(rng: &mut Rng, i: usize) -> String {
    let y = 2021 + rng.below(5);
    format!(
        "Page {} of {}. FY{y} outlook: revenue growth in Q{} {y} and Q{} {} remained strong across EMEA and APAC, with {} new customers and {}% of the plan.",
        1 + rng.below(30),
        30 + rng.below(10),
        1 + rng.below(4),
        1 + rng.below(4),
        y + 1,
        5 + rng.below(90),
        50 + rng.below(50) + i % 2
    )
}

/// Deterministic corpus: `n_books` indexed workbooks (every fourth has an 8,000-cell
/// sheet), `per_class` positive cases per transformation, and `negatives` writes built from
/// other workbooks of the same generator (never indexed) plus boilerplate.
pub fn corpus(seed: u64, n_books: usize, per_class: usize, negatives: usize) -> Corpus {
    let mut rng = Rng::new(seed);
    let books: Vec<Workbook> = (0..n_books)
        .map(|i| make_workbook(&mut rng, i, i % 4 == 0))
        .collect();
    let mut cases = Vec::new();
    let mut k = 0;
    for class in 0..CLASSES.len() {
        for _ in 0..per_class {
            let Some(wb) = books.get(rng.below(books.len())) else {
                break;
            };
            let (write, truth) = make_case(&mut rng, wb, class, deck(k));
            k += 1;
            cases.push(Case {
                class: Some(class),
                write,
                truths: vec![truth],
            });
        }
    }
    let mut others: Vec<Workbook> = (0..8)
        .map(|i| make_workbook(&mut rng, 10_000 + i, false))
        .collect();
    for n in 0..negatives {
        if n % 50 == 0 {
            // Fresh unrelated workbooks now and then, so negatives are varied.
            others = (0..8)
                .map(|i| make_workbook(&mut rng, 10_000 + n + i, false))
                .collect();
        }
        let target = deck(100_000 + n);
        let write = if n % 5 == 4 {
            text_write(target, boilerplate(&mut rng, n))
        } else {
            let Some(wb) = others.get(rng.below(others.len())) else {
                break;
            };
            let class = rng.below(CLASSES.len());
            make_case(&mut rng, wb, class, target).0
        };
        cases.push(Case {
            class: None,
            write,
            truths: Vec::new(),
        });
    }
    Corpus {
        classes: CLASSES.to_vec(),
        reads: books.into_iter().map(|b| b.read).collect(),
        cases,
    }
}
