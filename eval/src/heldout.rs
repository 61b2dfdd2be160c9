//! Corpus B, the held-out corpus (issue #16): written apart from corpus A (`corpus.rs`),
//! whose only shared parts are the `Corpus`/`Case`/`Truth` types, so that its habits
//! (domains, layouts, locales, how a deck is put together) are not the ones the
//! detector's thresholds were tuned on.
//!
//! - Domains: HR (staff lists, headcount and attrition by department), sales pipeline
//!   (deals, stage summaries, owners' quotas), inventory (SKUs on hand per warehouse),
//!   subscriptions (customers, plans, MRR, renewal dates) and regional figures (country
//!   rows by quarter columns: users, revenue, paid share). Every workbook also has a
//!   sheet of review notes (passages of text).
//! - Layouts: tables start anywhere from A1 to D6, often under a title cell; a sheet can
//!   hold several tables, side by side or below one another with blank rows between;
//!   sheet names carry spaces.
//! - Locales: each workbook is en-US, en-GB, de-DE, fr-FR (U+202F grouping), en-IN
//!   (lakh grouping), de-CH (’ or ' grouping) or ja-JP (yen, no decimals); cells carry
//!   the value, the number format and the text Excel would display in that locale
//!   (dates are serials with a date format: dd/mm/yyyy, dd.mm.yyyy, dd-mm-yyyy,
//!   yyyy-mm-dd, yyyy/mm/dd, m/d/yyyy, "31 Mar 2025", "Mar 31, 2025").
//! - 12 source workbooks and a 40,000-cell ledger (read, never a source) make up the
//!   reads. Decks (PowerPoint writes: a title and a table or text box per slide) are
//!   built per class, 8 per class; 40 negatives are decks built the same way from 10
//!   other workbooks that were never read.
//!
//! Truths name the cells whose content the deck carries: numbers, dates, names, codes
//! and passages; not the dimension labels (department, stage, country, plan, quarter)
//! a table is laid out by.

use std::collections::{BTreeMap, HashSet};

use tracker::model::{
    App, CellAddr, CellValue, DocumentRef, ProvenanceId, ReadCell, ReadEvent, SheetRead,
    WriteContent, WritePart,
};

use crate::Rng;
use crate::corpus::{Case, Corpus, Truth};

const N_CLASSES: usize = 16;

const CLASS_NAMES: [&str; N_CLASSES] = [
    "verbatim cells, other locale",
    "re-grouped to another locale",
    "currency re-rendered",
    "percent from fraction",
    "scaled millions/bn",
    "rounded for a slide",
    "dates only",
    "integer counts of a scale word",
    "two sources in one deck",
    "names and codes",
    "table transposed",
    "subset of rows",
    "values in sentences, other languages",
    "headcount table",
    "pipeline summary",
    "quoted note",
];

const CLASS_GOALS: [f64; N_CLASSES] = [
    0.90, 0.90, 0.90, 0.90, 0.90, 0.90, 0.98, 0.90, 0.98, 0.90, 0.90, 0.90, 0.90, 0.90, 0.90, 0.90,
];

/// Corpus B's transformation classes, one row of the report each.
pub const HELDOUT_CLASSES: &[&str] = &CLASS_NAMES;
/// The confirmed-recall goal of each class of [`HELDOUT_CLASSES`] (same order).
pub const HELDOUT_GOALS: &[f64] = &CLASS_GOALS;
/// The report seed of corpus B (`detection_eval` prints it by default).
pub const HELDOUT_SEED: u64 = 20_261_204;

const SOURCE_BOOKS: usize = 12;
const UNREAD_BOOKS: usize = 10;
const PER_CLASS: usize = 8;
const NEGATIVES: usize = 40;
/// The decoy ledger: 4,999 transactions of 8 columns under one header row.
const LEDGER_ROWS: usize = 4_999;
const LEDGER_COLS: usize = 8;

// ---------------------------------------------------------------------------------------
// Small random helpers.

fn pick<'a, T>(rng: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.below(xs.len())]
}

/// One of `xs`, as the string itself.
fn word<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.below(xs.len())]
}

fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.f64() < p
}

/// Uniform in lo..=hi.
fn between(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    lo + rng.below(hi.saturating_sub(lo) + 1)
}

fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.f64() * (hi.ln() - lo.ln())).exp()
}

fn round_to(v: f64, step: f64) -> f64 {
    (v / step).round() * step
}

fn shuffle<T>(rng: &mut Rng, xs: &mut [T]) {
    for i in (1..xs.len()).rev() {
        let j = rng.below(i + 1);
        xs.swap(i, j);
    }
}

/// k distinct indices of 0..n, ascending.
fn sample(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    shuffle(rng, &mut all);
    all.truncate(k.min(n));
    all.sort_unstable();
    all
}

/// k rows: a run of consecutive rows or, as often, rows picked across the table (both in
/// the sheet's order, as someone reading it top to bottom would list them).
fn some_rows(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    if chance(rng, 0.5) {
        let start = rng.below(n - k + 1);
        (start..start + k).collect()
    } else {
        sample(rng, n, k)
    }
}

/// k distinct picks of a pool, in random order.
fn distinct<T: Clone>(rng: &mut Rng, pool: &[T], k: usize) -> Vec<T> {
    let mut idx: Vec<usize> = (0..pool.len()).collect();
    shuffle(rng, &mut idx);
    idx.into_iter().take(k).map(|i| pool[i].clone()).collect()
}

// ---------------------------------------------------------------------------------------
// Dates: Excel's serial is the day count since 1899-12-30 for every date after 1900-02-28.

fn days_since_epoch(y: i64, m: i64, d: i64) -> i64 {
    // Days since 1970-01-01, by shifting the year to start in March.
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m - 3) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn serial(y: i64, m: i64, d: i64) -> i64 {
    days_since_epoch(y, m, d) - days_since_epoch(1899, 12, 30)
}

fn ymd(serial_day: i64) -> (i64, usize, i64) {
    // Walk from a known year: cheap enough for a corpus, and obviously right.
    let mut y = 1900 + serial_day / 366;
    while serial(y + 1, 1, 1) <= serial_day {
        y += 1;
    }
    let mut m = 1;
    while m < 12 && serial(y, m + 1, 1) <= serial_day {
        m += 1;
    }
    let d = serial_day - serial(y, m, 1) + 1;
    (y, m as usize, d)
}

const MON_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTH_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTH_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const MONTH_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// How a date is shown: in a cell (with its Excel number format) or in a deck.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Df {
    DmySlash,
    DmyDot,
    DmyDash,
    Iso,
    DMonY,
    MdySlash,
    YmdSlash,
    MonDY,
    DMonthY,
    DeLong,
    FrLong,
    JaLong,
}

impl Df {
    fn excel(self) -> &'static str {
        match self {
            Df::DmySlash => "dd/mm/yyyy",
            Df::DmyDot => "dd.mm.yyyy",
            Df::DmyDash => "dd-mm-yyyy",
            Df::Iso => "yyyy-mm-dd",
            Df::DMonY => "d mmm yyyy",
            Df::MdySlash => "m/d/yyyy",
            Df::YmdSlash => "yyyy/mm/dd",
            Df::MonDY => "mmm d, yyyy",
            Df::DMonthY => "d mmmm yyyy",
            Df::DeLong => "[$-407]d. mmmm yyyy",
            Df::FrLong => "[$-40C]d mmmm yyyy",
            Df::JaLong => "[$-411]yyyy\"年\"m\"月\"d\"日\"",
        }
    }

    fn show(self, s: i64) -> String {
        let (y, m, d) = ymd(s);
        match self {
            Df::DmySlash => format!("{d:02}/{m:02}/{y}"),
            Df::DmyDot => format!("{d:02}.{m:02}.{y}"),
            Df::DmyDash => format!("{d:02}-{m:02}-{y}"),
            Df::Iso => format!("{y}-{m:02}-{d:02}"),
            Df::DMonY => format!("{d} {} {y}", MON_EN[m - 1]),
            Df::MdySlash => format!("{m}/{d}/{y}"),
            Df::YmdSlash => format!("{y}/{m:02}/{d:02}"),
            Df::MonDY => format!("{} {d}, {y}", MON_EN[m - 1]),
            Df::DMonthY => format!("{d} {} {y}", MONTH_EN[m - 1]),
            Df::DeLong => format!("{d}. {} {y}", MONTH_DE[m - 1]),
            Df::FrLong => format!("{d} {} {y}", MONTH_FR[m - 1]),
            Df::JaLong => format!("{y}年{m}月{d}日"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Numbers as people and Excel print them.

/// Digit grouping and decimal mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Num {
    grp: &'static str,
    dec: &'static str,
    /// Indian grouping: 12,34,567.
    lakh: bool,
}

const US: Num = Num {
    grp: ",",
    dec: ".",
    lakh: false,
};
const DE: Num = Num {
    grp: ".",
    dec: ",",
    lakh: false,
};
/// French as Excel prints it on Windows 10+: narrow no-break space.
const FR: Num = Num {
    grp: "\u{202F}",
    dec: ",",
    lakh: false,
};
/// French as typed or older Excel: no-break space.
const FR_NBSP: Num = Num {
    grp: "\u{a0}",
    dec: ",",
    lakh: false,
};
const FR_SPACE: Num = Num {
    grp: " ",
    dec: ",",
    lakh: false,
};
const IN: Num = Num {
    grp: ",",
    dec: ".",
    lakh: true,
};
const CH: Num = Num {
    grp: "’",
    dec: ".",
    lakh: false,
};
const CH_APOS: Num = Num {
    grp: "'",
    dec: ".",
    lakh: false,
};
const PLAIN: Num = Num {
    grp: "",
    dec: ".",
    lakh: false,
};
const PLAIN_COMMA: Num = Num {
    grp: "",
    dec: ",",
    lakh: false,
};

/// `v` with `d` decimals in style `s`.
fn num(v: f64, d: usize, s: Num) -> String {
    let r = format!("{:.*}", d, v.abs());
    let (int, frac) = r.split_once('.').unwrap_or((r.as_str(), ""));
    let digits: Vec<char> = int.chars().collect();
    let mut groups: Vec<String> = Vec::new();
    let mut end = digits.len();
    while end > 0 {
        let size = if groups.is_empty() || !s.lakh { 3 } else { 2 };
        let start = end.saturating_sub(size);
        groups.push(digits[start..end].iter().collect());
        end = start;
    }
    groups.reverse();
    let mut out = groups.join(s.grp);
    if !frac.is_empty() {
        out.push_str(s.dec);
        out.push_str(frac);
    }
    if v < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// Decimals that show `sig` significant figures of `v`.
fn sig_decimals(v: f64, sig: usize) -> usize {
    let digits = if v.abs() < 1.0 {
        1
    } else {
        v.abs().log10().floor() as usize + 1
    };
    sig.saturating_sub(digits)
}

/// `v` rounded to `sig` significant figures (the integer digits kept beyond them).
fn round_sig(v: f64, sig: usize) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let p = v.abs().log10().floor() as i32 + 1 - sig as i32;
    let step = 10f64.powi(p);
    (v / step).round() * step
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cur {
    Usd,
    Gbp,
    Eur,
    Inr,
    Chf,
    Jpy,
}

impl Cur {
    fn sym(self) -> &'static str {
        match self {
            Cur::Usd => "$",
            Cur::Gbp => "£",
            Cur::Eur => "€",
            Cur::Inr => "₹",
            Cur::Chf => "CHF",
            Cur::Jpy => "¥",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Cur::Usd => "USD",
            Cur::Gbp => "GBP",
            Cur::Eur => "EUR",
            Cur::Inr => "INR",
            Cur::Chf => "CHF",
            Cur::Jpy => "JPY",
        }
    }

    /// Units of this currency per US dollar, roughly: amounts keep their real magnitudes.
    fn per_usd(self) -> f64 {
        match self {
            Cur::Usd => 1.0,
            Cur::Gbp => 0.79,
            Cur::Eur => 0.92,
            Cur::Inr => 83.0,
            Cur::Chf => 0.88,
            Cur::Jpy => 150.0,
        }
    }
}

/// `sym` before or after the number, with `space` between.
fn money_text(v: f64, d: usize, sym: &str, n: Num, before: bool, space: &str) -> String {
    let body = num(v, d, n);
    if before {
        format!("{sym}{space}{body}")
    } else {
        format!("{body}{space}{sym}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    EnUs,
    EnGb,
    DeDe,
    FrFr,
    EnIn,
    DeCh,
    JaJp,
}

/// A workbook's regional settings: how its cells display.
#[derive(Clone, Copy, Debug)]
struct Locale {
    loc: Loc,
    num: Num,
    date: Df,
    cur: Cur,
}

fn make_locale(rng: &mut Rng, loc: Loc) -> Locale {
    let (num, date, cur) = match loc {
        Loc::EnUs => (
            US,
            *pick(rng, &[Df::MdySlash, Df::MonDY, Df::Iso]),
            Cur::Usd,
        ),
        Loc::EnGb => (
            US,
            *pick(rng, &[Df::DmySlash, Df::DMonY, Df::Iso]),
            Cur::Gbp,
        ),
        Loc::DeDe => (DE, *pick(rng, &[Df::DmyDot, Df::DmyDot, Df::Iso]), Cur::Eur),
        Loc::FrFr => (
            FR,
            *pick(rng, &[Df::DmySlash, Df::DmySlash, Df::Iso]),
            Cur::Eur,
        ),
        Loc::EnIn => (
            IN,
            *pick(rng, &[Df::DmyDash, Df::DmySlash, Df::DMonY]),
            Cur::Inr,
        ),
        Loc::DeCh => (*pick(rng, &[CH, CH_APOS]), Df::DmyDot, Cur::Chf),
        Loc::JaJp => (US, *pick(rng, &[Df::YmdSlash, Df::Iso]), Cur::Jpy),
    };
    Locale {
        loc,
        num,
        date,
        cur,
    }
}

impl Locale {
    /// Displayed text and number format of an amount, as Excel shows it in this locale.
    fn money(&self, v: f64, d: usize) -> (String, String) {
        let d = if self.cur == Cur::Jpy { 0 } else { d };
        let pattern = if d == 0 {
            "#,##0".to_string()
        } else {
            format!("#,##0.{}", "0".repeat(d))
        };
        match self.loc {
            Loc::EnUs => (
                money_text(v, d, "$", US, true, ""),
                format!("\"$\"{pattern}"),
            ),
            Loc::EnGb => (
                money_text(v, d, "£", US, true, ""),
                format!("[$£-809]{pattern}"),
            ),
            Loc::DeDe => (
                money_text(v, d, "€", DE, false, " "),
                format!("{pattern} [$€-407]"),
            ),
            Loc::FrFr => (
                money_text(v, d, "€", FR, false, "\u{a0}"),
                format!("{pattern}\\ [$€-40C]"),
            ),
            Loc::EnIn => (
                money_text(v, d, "₹", IN, true, ""),
                format!("[$₹-4009]{}", pattern.replacen("#,##0", "#,##,##0", 1)),
            ),
            Loc::DeCh => (
                money_text(v, d, "CHF", self.num, true, " "),
                format!("[$CHF-807] {pattern}"),
            ),
            Loc::JaJp => (
                money_text(v, 0, "¥", US, true, ""),
                "[$¥-411]#,##0".to_string(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Workbooks: tables placed on sheets.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Domain {
    Hr,
    Sales,
    Inventory,
    Subs,
    Regional,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Employees,
    Headcount,
    Attrition,
    Pipeline,
    ByStage,
    Owners,
    Stock,
    WhTotals,
    Customers,
    MrrByPlan,
    Users,
    Revenue,
    PaidShare,
    Notes,
}

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A dimension the table is laid out by (department, stage, country): not carried.
    Label,
    /// A name or code (employee, customer, SKU, deal id).
    Ident,
    /// An amount in the workbook's currency, with this many decimals.
    Money(usize),
    /// A whole count.
    Count,
    /// A fraction shown as a percentage with this many decimals.
    Pct(usize),
    Date,
    /// A passage of text.
    Passage,
}

#[derive(Clone, Debug)]
enum V {
    T(String),
    N(f64),
    D(i64),
}

impl V {
    fn n(&self) -> f64 {
        match self {
            V::N(v) => *v,
            V::D(s) => *s as f64,
            V::T(_) => f64::NAN,
        }
    }

    fn t(&self) -> &str {
        match self {
            V::T(s) => s,
            _ => "",
        }
    }

    fn d(&self) -> i64 {
        match self {
            V::D(s) => *s,
            _ => 0,
        }
    }
}

#[derive(Clone, Debug)]
struct Col {
    name: String,
    kind: Kind,
}

fn col(name: &str, kind: Kind) -> Col {
    Col {
        name: name.to_string(),
        kind,
    }
}

/// A table on a sheet: its header row at `top`, first column at `left`, data below.
struct Tab {
    role: Role,
    sheet: usize,
    top: u32,
    left: u32,
    title: Option<(u32, String)>,
    cols: Vec<Col>,
    rows: Vec<Vec<V>>,
}

impl Tab {
    fn addr(&self, i: usize, j: usize) -> CellAddr {
        CellAddr::new(self.top + 1 + i as u32, self.left + j as u32)
    }

    fn col_of(&self, pred: impl Fn(&Col) -> bool) -> Vec<usize> {
        (0..self.cols.len())
            .filter(|&j| pred(&self.cols[j]))
            .collect()
    }

    fn title_or(&self, sheet: &str) -> String {
        self.title
            .as_ref()
            .map_or_else(|| sheet.to_string(), |(_, t)| t.clone())
    }

    /// Data rows, without a trailing "Total" row.
    fn body_rows(&self) -> usize {
        match self.rows.last() {
            Some(r) if r[0].t() == "Total" => self.rows.len() - 1,
            _ => self.rows.len(),
        }
    }
}

enum Place {
    /// First table of a sheet.
    Fresh,
    /// Below the sheet's last table, after blank rows.
    Below,
    /// To the right of the sheet's last table, after a blank column or two.
    Right,
}

struct Book {
    doc: DocumentRef,
    domain: Domain,
    l: Locale,
    sheets: Vec<String>,
    tabs: Vec<Tab>,
    /// People named in this workbook (for its notes).
    people: Vec<String>,
}

impl Book {
    fn sheet(&mut self, name: &str) -> usize {
        self.sheets.push(name.to_string());
        self.sheets.len() - 1
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        rng: &mut Rng,
        sheet: usize,
        role: Role,
        title: Option<String>,
        place: Place,
        cols: Vec<Col>,
        rows: Vec<Vec<V>>,
    ) {
        let last = self.tabs.iter().rev().find(|t| t.sheet == sheet);
        let title_gap = if title.is_some() {
            1 + u32::from(chance(rng, 0.3))
        } else {
            0
        };
        let (top, left) = match (place, last) {
            (Place::Below, Some(t)) => (
                t.top + 1 + t.rows.len() as u32 + between(rng, 2, 4) as u32 + title_gap,
                t.left + rng.below(2) as u32,
            ),
            (Place::Right, Some(t)) => (
                t.top.max(title_gap),
                t.left + t.cols.len() as u32 + between(rng, 1, 2) as u32,
            ),
            _ => (
                between(rng, 0, 4) as u32 + title_gap,
                between(rng, 0, 3) as u32,
            ),
        };
        let title = title.map(|t| (top - title_gap, t));
        self.tabs.push(Tab {
            role,
            sheet,
            top,
            left,
            title,
            cols,
            rows,
        });
    }

    fn tab(&self, role: Role) -> Option<&Tab> {
        self.tabs.iter().find(|t| t.role == role)
    }

    fn sheet_of(&self, t: &Tab) -> &str {
        &self.sheets[t.sheet]
    }

    /// The cell as read: value, displayed text, number format.
    fn cell(&self, kind: Kind, v: &V) -> (CellValue, String, Option<String>) {
        let l = &self.l;
        match (kind, v) {
            (_, V::T(s)) => (CellValue::Text(s.clone()), s.clone(), None),
            (Kind::Money(d), V::N(x)) => {
                let (text, fmt) = l.money(*x, d);
                (CellValue::Number(*x), text, Some(fmt))
            }
            (Kind::Pct(d), V::N(x)) => {
                let fmt = if d == 0 {
                    "0%".to_string()
                } else {
                    format!("0.{}%", "0".repeat(d))
                };
                (
                    CellValue::Number(*x),
                    format!("{}%", num(x * 100.0, d, l.num)),
                    Some(fmt),
                )
            }
            (Kind::Date, V::D(s)) => (
                CellValue::Number(*s as f64),
                l.date.show(*s),
                Some(l.date.excel().to_string()),
            ),
            (_, V::N(x)) => {
                let fmt = if l.num.lakh { "#,##,##0" } else { "#,##0" };
                (
                    CellValue::Number(*x),
                    num(*x, 0, l.num),
                    Some(fmt.to_string()),
                )
            }
            (_, V::D(s)) => (CellValue::Number(*s as f64), s.to_string(), None),
        }
    }

    /// The text the person saw in a cell.
    fn show(&self, c: &Col, v: &V) -> String {
        self.cell(c.kind, v).1
    }

    fn read(&self, at: i64) -> ReadEvent {
        let mut sheets: Vec<BTreeMap<(u32, u32), ReadCell>> =
            vec![BTreeMap::new(); self.sheets.len()];
        for t in &self.tabs {
            let cells = &mut sheets[t.sheet];
            let text = |cells: &mut BTreeMap<(u32, u32), ReadCell>, a: CellAddr, s: &str| {
                cells.insert(
                    (a.row, a.col),
                    ReadCell {
                        addr: a,
                        value: CellValue::Text(s.to_string()),
                        text: Some(s.to_string()),
                        number_format: None,
                    },
                );
            };
            if let Some((row, title)) = &t.title {
                text(cells, CellAddr::new(*row, t.left), title);
            }
            for (j, c) in t.cols.iter().enumerate() {
                text(cells, CellAddr::new(t.top, t.left + j as u32), &c.name);
            }
            for (i, r) in t.rows.iter().enumerate() {
                for (j, v) in r.iter().enumerate() {
                    let a = t.addr(i, j);
                    let (value, shown, fmt) = self.cell(t.cols[j].kind, v);
                    cells.insert(
                        (a.row, a.col),
                        ReadCell {
                            addr: a,
                            value,
                            text: Some(shown),
                            number_format: fmt,
                        },
                    );
                }
            }
        }
        ReadEvent {
            id: ProvenanceId::new(),
            document: self.doc.clone(),
            sheets: self
                .sheets
                .iter()
                .zip(sheets)
                .map(|(name, cells)| SheetRead {
                    sheet: name.clone(),
                    cells: cells.into_values().collect(),
                })
                .collect(),
            at,
            request: format!("heldout-read-{}", self.doc.name),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Vocabulary.

const FIRST_EN: &[&str] = &[
    "Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "George", "Mia", "Noah", "Grace", "Leo",
    "Freya", "Arthur", "Ella", "Oscar", "Chloe", "James", "Lily", "Henry", "Sophie", "Marcus",
    "Tessa", "Evie", "Theo", "Poppy", "Finn", "Ruby", "Alfie", "Hannah", "Elliot", "Maya", "Rory",
    "Imogen", "Caleb",
];
const LAST_EN: &[&str] = &[
    "Walsh",
    "Bennett",
    "Hughes",
    "Carter",
    "Doyle",
    "Fletcher",
    "Griffiths",
    "Harper",
    "Kendall",
    "Lawson",
    "Marsh",
    "Norris",
    "Osborne",
    "Pearce",
    "Quinn",
    "Rowe",
    "Sutton",
    "Thornton",
    "Vaughan",
    "Whitaker",
    "Ashworth",
    "Pemberton",
    "Blackwood",
    "Crane",
    "Dalton",
    "Ellison",
    "Farrow",
    "Gilmore",
    "Hartley",
    "Irving",
    "Jarvis",
    "Lockwood",
    "Mercer",
    "Prescott",
];
const FIRST_DE: &[&str] = &[
    "Lukas",
    "Anna",
    "Jonas",
    "Lea",
    "Felix",
    "Marie",
    "Paul",
    "Sophie",
    "Maximilian",
    "Laura",
    "Tobias",
    "Julia",
    "Niklas",
    "Hannah",
    "Moritz",
    "Lena",
    "Jan",
    "Katharina",
    "Florian",
    "Clara",
    "Elias",
    "Mia",
    "Leon",
    "Emilia",
    "Finn",
    "Johanna",
    "Henrik",
    "Greta",
    "Matthias",
    "Ida",
    "Simon",
    "Frieda",
];
const LAST_DE: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Baumgartner",
    "Keller",
    "Lehmann",
    "Krause",
    "Köhler",
    "Maier",
    "Vogel",
    "Jäger",
    "Busch",
    "Lorenz",
    "Ludwig",
    "Seidel",
    "Engel",
    "Graf",
];
const FIRST_FR: &[&str] = &[
    "Camille", "Louis", "Léa", "Hugo", "Manon", "Jules", "Chloé", "Gabriel", "Inès", "Arthur",
    "Sarah", "Raphaël", "Emma", "Lucas", "Zoé", "Nathan", "Jade", "Théo", "Alice", "Maël",
    "Louise", "Adam", "Lina", "Paul", "Rose", "Victor", "Anna", "Malo", "Juliette", "Tom", "Elsa",
    "Noé",
];
const LAST_FR: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
];
const FIRST_IN: &[&str] = &[
    "Aarav",
    "Priya",
    "Vihaan",
    "Ananya",
    "Arjun",
    "Diya",
    "Rohan",
    "Isha",
    "Kabir",
    "Meera",
    "Aditya",
    "Kavya",
    "Ishaan",
    "Riya",
    "Siddharth",
    "Neha",
    "Rahul",
    "Pooja",
    "Vikram",
    "Sneha",
    "Arnav",
    "Sanya",
    "Dev",
    "Tanvi",
    "Karan",
    "Aditi",
    "Yash",
    "Nisha",
    "Harsh",
    "Shreya",
    "Manish",
    "Lakshmi",
];
const LAST_IN: &[&str] = &[
    "Sharma",
    "Verma",
    "Iyer",
    "Nair",
    "Reddy",
    "Gupta",
    "Patel",
    "Mehta",
    "Rao",
    "Menon",
    "Kulkarni",
    "Chatterjee",
    "Banerjee",
    "Joshi",
    "Desai",
    "Pillai",
    "Kapoor",
    "Malhotra",
    "Bhat",
    "Saxena",
    "Agarwal",
    "Bose",
    "Chopra",
    "Dutta",
    "Ghosh",
    "Hegde",
    "Jain",
    "Khanna",
    "Mishra",
    "Naidu",
    "Shetty",
    "Trivedi",
];
const FIRST_JA: &[&str] = &[
    "Haruto", "Yui", "Sota", "Hina", "Riku", "Mei", "Yuto", "Sakura", "Kaito", "Aoi", "Ren",
    "Yuna", "Hayato", "Rin", "Takumi", "Miyu", "Daiki", "Saki", "Kenta", "Nanami", "Sora", "Akari",
    "Minato", "Koharu", "Itsuki", "Ema", "Asahi", "Tsumugi", "Yamato", "Honoka", "Haruki", "Mio",
];
const LAST_JA: &[&str] = &[
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Watanabe",
    "Ito",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kato",
    "Yoshida",
    "Yamada",
    "Sasaki",
    "Yamaguchi",
    "Matsumoto",
    "Inoue",
    "Kimura",
    "Hayashi",
    "Shimizu",
    "Mori",
    "Abe",
    "Ikeda",
    "Hashimoto",
    "Ishikawa",
    "Ogawa",
    "Maeda",
    "Okada",
    "Hasegawa",
    "Fujita",
    "Goto",
    "Kondo",
    "Murakami",
];

fn person(rng: &mut Rng, loc: Loc) -> String {
    let (first, last) = match loc {
        Loc::EnUs | Loc::EnGb => (FIRST_EN, LAST_EN),
        Loc::DeDe | Loc::DeCh => (FIRST_DE, LAST_DE),
        Loc::FrFr => (FIRST_FR, LAST_FR),
        Loc::EnIn => (FIRST_IN, LAST_IN),
        Loc::JaJp => (FIRST_JA, LAST_JA),
    };
    // Teams are mixed: one in five comes from elsewhere.
    let (first, last) = if chance(rng, 0.2) {
        (FIRST_EN, LAST_EN)
    } else {
        (first, last)
    };
    format!("{} {}", pick(rng, first), pick(rng, last))
}

fn people(rng: &mut Rng, loc: Loc, n: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < n {
        let p = person(rng, loc);
        if seen.insert(p.clone()) {
            out.push(p);
        }
    }
    out
}

const CO_HEAD: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Kestrel",
    "Alder",
    "Brightwater",
    "Cobalt",
    "Driftwood",
    "Ember",
    "Fjord",
    "Granite",
    "Halcyon",
    "Ironbridge",
    "Juniper",
    "Kingfisher",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Oakridge",
    "Pinecrest",
    "Quarry",
    "Redwood",
    "Silverline",
    "Tidewater",
    "Umber",
    "Vantage",
    "Willowbrook",
    "Yarrow",
    "Zephyr",
    "Saffron",
    "Larkspur",
    "Copperleaf",
    "Starling",
    "Amberline",
    "Bluestone",
    "Castlegate",
    "Deepwater",
    "Eastwind",
    "Foxglove",
    "Goldcrest",
    "Highmoor",
    "Inkwell",
    "Jadeport",
    "Kiln",
    "Lodestar",
    "Marlow",
    "Northgate",
    "Orchard",
    "Peregrine",
    "Quillon",
    "Riverside",
    "Stonebridge",
    "Thistle",
    "Upland",
    "Verdant",
    "Westmere",
    "Yellowfin",
    "Azimuth",
    "Beacon",
    "Corvid",
    "Dunmore",
];
const CO_TAIL: &[&str] = &[
    "Logistics",
    "Foods",
    "Analytics",
    "Health",
    "Retail",
    "Energy",
    "Labs",
    "Systems",
    "Partners",
    "Media",
    "Freight",
    "Clinics",
    "Software",
    "Textiles",
    "Hotels",
    "Robotics",
    "Insurance",
    "Pharma",
    "Engineering",
    "Capital",
    "Mobility",
    "Consulting",
    "Materials",
    "Telecom",
    "Studios",
];

fn company(rng: &mut Rng, loc: Loc) -> String {
    let suffixes: &[&str] = match loc {
        Loc::EnUs => &["Inc.", "LLC", "Corp.", ""],
        Loc::EnGb => &["Ltd", "plc", "Ltd", ""],
        Loc::DeDe => &["GmbH", "AG", "GmbH & Co. KG"],
        Loc::FrFr => &["SA", "SAS", "SARL"],
        Loc::EnIn => &["Pvt Ltd", "Ltd", "Pvt. Ltd."],
        Loc::DeCh => &["AG", "GmbH", "SA"],
        Loc::JaJp => &["K.K.", "Co., Ltd.", ""],
    };
    let s = pick(rng, suffixes);
    let name = format!("{} {}", pick(rng, CO_HEAD), pick(rng, CO_TAIL));
    if s.is_empty() {
        name
    } else {
        format!("{name} {s}")
    }
}

const DEPTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Operations",
    "Customer Support",
    "People",
    "Legal",
    "Product",
    "IT",
    "Research",
    "Facilities",
];
const ROLES: &[&str] = &[
    "Analyst",
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Specialist",
    "Coordinator",
    "Team Lead",
    "Associate",
    "Consultant",
];
const STAGES: &[(&str, f64)] = &[
    ("Prospecting", 0.1),
    ("Qualification", 0.2),
    ("Proposal", 0.4),
    ("Negotiation", 0.6),
    ("Commit", 0.8),
];
const PLANS: &[(&str, f64)] = &[
    ("Starter", 12.0),
    ("Team", 29.0),
    ("Business", 55.0),
    ("Enterprise", 95.0),
];
const MATERIALS: &[&str] = &[
    "Steel",
    "Aluminium",
    "Brass",
    "Nylon",
    "Oak",
    "PVC",
    "Copper",
    "Rubber",
    "Glass",
    "Ceramic",
    "Stainless",
];
const ITEMS: &[&str] = &[
    "bracket", "hinge", "valve", "gasket", "panel", "fitting", "clamp", "bearing", "flange",
    "spacer", "coupling", "bolt set", "hose", "castor",
];
const SIZES: &[&str] = &[
    "12mm", "20mm", "40mm", "M8", "M10", "1/2\"", "large", "small", "type A", "type B", "300mm",
];
const CITIES: &[&str] = &[
    "Rotterdam",
    "Leipzig",
    "Lyon",
    "Manchester",
    "Pune",
    "Osaka",
    "Basel",
    "Dallas",
    "Gdansk",
    "Valencia",
    "Chennai",
    "Nagoya",
    "Leeds",
    "Hamburg",
    "Toulouse",
    "Zurich",
];
/// Countries with a rough size of a consumer service's user base there.
const COUNTRIES: &[(&str, f64)] = &[
    ("India", 60e6),
    ("Brazil", 25e6),
    ("Indonesia", 20e6),
    ("United States", 45e6),
    ("Nigeria", 6e6),
    ("Germany", 9e6),
    ("France", 7e6),
    ("Japan", 12e6),
    ("Mexico", 11e6),
    ("United Kingdom", 8e6),
    ("Philippines", 9e6),
    ("Vietnam", 7e6),
    ("Egypt", 4e6),
    ("Turkey", 6e6),
    ("Spain", 5e6),
    ("Italy", 5e6),
    ("Poland", 3e6),
    ("Kenya", 1.5e6),
    ("South Africa", 2.5e6),
    ("Argentina", 3.5e6),
    ("Colombia", 3e6),
    ("Thailand", 5e6),
    ("Pakistan", 8e6),
    ("Bangladesh", 5e6),
    ("Canada", 4e6),
    ("Australia", 3e6),
    ("Netherlands", 1.8e6),
    ("Sweden", 0.9e6),
    ("Portugal", 0.8e6),
    ("Chile", 1.2e6),
];

fn quarter_labels(rng: &mut Rng) -> Vec<String> {
    match rng.below(4) {
        0 => (1..=4).map(|q| format!("Q{q} 2025")).collect(),
        1 => (1..=4).map(|q| format!("Q{q} FY25")).collect(),
        2 => (1..=4).map(|q| format!("2025 Q{q}")).collect(),
        _ => ["Jan–Mar", "Apr–Jun", "Jul–Sep", "Oct–Dec"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

fn date_between(rng: &mut Rng, from: (i64, i64, i64), to: (i64, i64, i64)) -> i64 {
    let a = serial(from.0, from.1, from.2);
    let b = serial(to.0, to.1, to.2);
    a + rng.below((b - a) as usize + 1) as i64
}

fn total_row(rows: &[Vec<V>], money_cols: &[usize]) -> Vec<V> {
    let ncols = rows.first().map_or(0, Vec::len);
    let mut out = vec![V::T("Total".into())];
    for j in 1..ncols {
        let s: f64 = rows.iter().map(|r| r[j].n()).sum();
        let s = if money_cols.contains(&j) {
            (s * 100.0).round() / 100.0
        } else {
            s.round()
        };
        out.push(V::N(s));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Domain generators.

fn gen_hr(rng: &mut Rng, b: &mut Book) {
    let cur = b.l.cur;
    let loc = b.l.loc;
    let staff = b.sheet(word(
        rng,
        &["Staff List", "Employees", "People 2025", "Team Roster"],
    ));
    let n = between(rng, 18, 30);
    let depts: Vec<&str> = {
        let k = between(rng, 6, 9);
        distinct(rng, DEPTS, k)
    };
    let names = people(rng, loc, n);
    let prefix = *pick(rng, &["E-", "EMP", "HR-", "P"]);
    let mut id = between(rng, 10_000, 80_000);
    let (lo, hi) = (38_000.0, 185_000.0);
    let rows: Vec<Vec<V>> = names
        .iter()
        .map(|name| {
            id += between(rng, 1, 37);
            let salary = round_to(log_uniform(rng, lo, hi) * cur.per_usd(), 100.0);
            vec![
                V::T(format!("{prefix}{id}")),
                V::T(name.clone()),
                V::T(pick(rng, &depts).to_string()),
                V::T(pick(rng, ROLES).to_string()),
                V::D(date_between(rng, (2012, 1, 1), (2025, 9, 30))),
                V::N(salary),
            ]
        })
        .collect();
    let cols = vec![
        col("Employee ID", Kind::Ident),
        col("Name", Kind::Ident),
        col("Department", Kind::Label),
        col("Role", Kind::Label),
        col("Start date", Kind::Date),
        col(&format!("Salary ({})", cur.code()), Kind::Money(0)),
    ];
    let title = chance(rng, 0.5).then(|| format!("Staff list – {}", pick(rng, &MONTH_EN)));
    b.add(rng, staff, Role::Employees, title, Place::Fresh, cols, rows);

    let hc = b.sheet(word(
        rng,
        &["Headcount by Dept", "Headcount", "HC by Department"],
    ));
    let quarters = quarter_labels(rng);
    let mut hc_rows: Vec<Vec<V>> = Vec::new();
    let mut attr_rows: Vec<Vec<V>> = Vec::new();
    for d in &depts {
        let mut h = log_uniform(rng, 6.0, 650.0).round();
        let mut row = vec![V::T(d.to_string())];
        let mut arow = vec![V::T(d.to_string())];
        for _ in &quarters {
            h = (h * (0.94 + 0.14 * rng.f64())).round().max(3.0);
            row.push(V::N(h));
            let leavers = rng.below((h * 0.09).ceil() as usize + 1) as f64;
            arow.push(V::N(leavers / h));
        }
        hc_rows.push(row);
        attr_rows.push(arow);
    }
    let total = total_row(&hc_rows, &[]);
    hc_rows.push(total);
    let mut cols = vec![col("Department", Kind::Label)];
    cols.extend(quarters.iter().map(|q| col(q, Kind::Count)));
    let title = Some(
        pick(
            rng,
            &["Headcount by department", "Headcount (FTE)", "Headcount"],
        )
        .to_string(),
    );
    b.add(rng, hc, Role::Headcount, title, Place::Fresh, cols, hc_rows);
    let mut cols = vec![col("Department", Kind::Label)];
    cols.extend(quarters.iter().map(|q| col(q, Kind::Pct(1))));
    let place = if chance(rng, 0.5) {
        Place::Right
    } else {
        Place::Below
    };
    b.add(
        rng,
        hc,
        Role::Attrition,
        Some("Attrition rate".into()),
        place,
        cols,
        attr_rows,
    );
    b.people = names;
}

fn gen_sales(rng: &mut Rng, b: &mut Book) {
    let cur = b.l.cur;
    let loc = b.l.loc;
    let pipe = b.sheet(word(
        rng,
        &["Open Pipeline", "Pipeline FY25", "Deals", "Sales Pipeline"],
    ));
    let n = between(rng, 20, 35);
    let owners = {
        let k = between(rng, 5, 7);
        people(rng, loc, k)
    };
    let id_style = rng.below(3);
    let mut seq = between(rng, 10_000, 95_000);
    let mut rows: Vec<Vec<V>> = (0..n)
        .map(|_| {
            seq += between(rng, 1, 9);
            let id = match id_style {
                0 => format!("OPP-{:06}", rng.below(1_000_000)),
                1 => format!("D-2025-{seq:05}"),
                _ => format!("SF{:07}", rng.below(10_000_000)),
            };
            let (stage, p) = *pick(rng, STAGES);
            let amount = round_to(log_uniform(rng, 8_000.0, 1_200_000.0) * cur.per_usd(), 50.0);
            vec![
                V::T(id),
                V::T(company(rng, loc)),
                V::T(stage.to_string()),
                V::N(amount),
                V::D(date_between(rng, (2025, 7, 1), (2026, 6, 30))),
                V::T(pick(rng, &owners).clone()),
                V::N(p),
            ]
        })
        .collect();
    match rng.below(4) {
        0 => rows.sort_by_key(|r| r[4].d()),
        1 => rows.sort_by(|a, b| a[5].t().cmp(b[5].t())),
        _ => {}
    }
    let cols = vec![
        col("Deal ID", Kind::Ident),
        col("Account", Kind::Ident),
        col("Stage", Kind::Label),
        col("Amount", Kind::Money(0)),
        col("Close date", Kind::Date),
        col("Owner", Kind::Ident),
        col("Probability", Kind::Pct(0)),
    ];
    let title = chance(rng, 0.4).then(|| "Open opportunities".to_string());
    b.add(
        rng,
        pipe,
        Role::Pipeline,
        title,
        Place::Fresh,
        cols,
        rows.clone(),
    );

    let sum = b.sheet(word(rng, &["By Stage", "Pipeline Summary", "Summary"]));
    let mut srows: Vec<Vec<V>> = Vec::new();
    for (stage, p) in STAGES {
        let deals: Vec<&Vec<V>> = rows.iter().filter(|r| r[2].t() == *stage).collect();
        if deals.is_empty() {
            continue;
        }
        let amount: f64 = deals.iter().map(|r| r[3].n()).sum();
        srows.push(vec![
            V::T(stage.to_string()),
            V::N(deals.len() as f64),
            V::N(amount),
            V::N((amount * p).round()),
        ]);
    }
    let total = total_row(&srows, &[2, 3]);
    srows.push(total);
    let cols = vec![
        col("Stage", Kind::Label),
        col("Deals", Kind::Count),
        col("Amount", Kind::Money(0)),
        col("Weighted", Kind::Money(0)),
    ];
    b.add(
        rng,
        sum,
        Role::ByStage,
        Some("Pipeline by stage".into()),
        Place::Fresh,
        cols,
        srows,
    );
    let orows: Vec<Vec<V>> = owners
        .iter()
        .map(|o| {
            let quota = round_to(
                log_uniform(rng, 400_000.0, 2_000_000.0) * cur.per_usd(),
                10_000.0 * cur.per_usd().max(1.0).round(),
            );
            let closed = round_to(quota * (0.3 + rng.f64()), 10.0);
            vec![
                V::T(o.clone()),
                V::N(quota),
                V::N(closed),
                V::N(closed / quota),
            ]
        })
        .collect();
    let cols = vec![
        col("Owner", Kind::Ident),
        col("Quota", Kind::Money(0)),
        col("Closed won", Kind::Money(0)),
        col("Attainment", Kind::Pct(0)),
    ];
    let place = if chance(rng, 0.5) {
        Place::Right
    } else {
        Place::Below
    };
    b.add(
        rng,
        sum,
        Role::Owners,
        Some("Quota attainment".into()),
        place,
        cols,
        orows,
    );
    b.people = owners;
}

fn gen_inventory(rng: &mut Rng, b: &mut Book) {
    let cur = b.l.cur;
    let loc = b.l.loc;
    let soh = b.sheet(word(
        rng,
        &["Stock on Hand", "Inventory", "SOH Report", "Stock Levels"],
    ));
    let n = between(rng, 20, 40);
    let whs: Vec<String> = {
        let k = between(rng, 3, 4);
        distinct(rng, CITIES, k)
    }
    .into_iter()
    .map(|c| format!("{c} {}", pick(rng, &["DC", "Warehouse", "Hub"])))
    .collect();
    let style = rng.below(3);
    let letters = |rng: &mut Rng, k: usize| -> String {
        (0..k)
            .map(|_| (b'A' + rng.below(26) as u8) as char)
            .collect()
    };
    let mut seen = HashSet::new();
    let mut rows: Vec<Vec<V>> = Vec::new();
    while rows.len() < n {
        let sku = match style {
            0 => format!(
                "{}-{:04}-{}",
                letters(rng, 2),
                rng.below(10_000),
                letters(rng, 2)
            ),
            1 => format!("{}{:05}", letters(rng, 3), rng.below(100_000)),
            _ => format!("SKU-{:05}", rng.below(100_000)),
        };
        if !seen.insert(sku.clone()) {
            continue;
        }
        let desc = format!(
            "{} {} {}",
            pick(rng, MATERIALS),
            pick(rng, ITEMS),
            pick(rng, SIZES)
        );
        let units = log_uniform(rng, 5.0, 15_000.0).round();
        let cost = (log_uniform(rng, 0.4, 900.0) * cur.per_usd() * 100.0).round() / 100.0;
        rows.push(vec![
            V::T(sku),
            V::T(desc),
            V::T(pick(rng, &whs).clone()),
            V::N(units),
            V::N(cost),
            V::D(date_between(rng, (2025, 8, 1), (2026, 3, 31))),
        ]);
    }
    rows.sort_by(|a, b| a[0].t().cmp(b[0].t()));
    let cols = vec![
        col("SKU", Kind::Ident),
        col("Description", Kind::Ident),
        col("Warehouse", Kind::Label),
        col("Units on hand", Kind::Count),
        col("Unit cost", Kind::Money(2)),
        col("Reorder date", Kind::Date),
    ];
    let title = chance(rng, 0.5).then(|| {
        format!(
            "Stock on hand at {}",
            pick(rng, &["month end", "30 Sep", "week 39"])
        )
    });
    b.add(
        rng,
        soh,
        Role::Stock,
        title,
        Place::Fresh,
        cols,
        rows.clone(),
    );

    let tot = b.sheet(word(rng, &["Warehouse Totals", "By Warehouse"]));
    let mut trows: Vec<Vec<V>> = whs
        .iter()
        .map(|w| {
            let here: Vec<&Vec<V>> = rows.iter().filter(|r| r[2].t() == w).collect();
            let units: f64 = here.iter().map(|r| r[3].n()).sum();
            let value: f64 = here.iter().map(|r| r[3].n() * r[4].n()).sum();
            vec![
                V::T(w.clone()),
                V::N(here.len() as f64),
                V::N(units),
                V::N(value.round()),
            ]
        })
        .collect();
    let total = total_row(&trows, &[3]);
    trows.push(total);
    let cols = vec![
        col("Warehouse", Kind::Label),
        col("SKUs", Kind::Count),
        col("Units", Kind::Count),
        col("Stock value", Kind::Money(0)),
    ];
    b.add(
        rng,
        tot,
        Role::WhTotals,
        Some("Totals by warehouse".into()),
        Place::Fresh,
        cols,
        trows,
    );
    b.people = people(rng, loc, 4);
}

fn gen_subs(rng: &mut Rng, b: &mut Book) {
    let cur = b.l.cur;
    let loc = b.l.loc;
    let cust = b.sheet(word(
        rng,
        &[
            "Customer List",
            "Customers",
            "Accounts 2025",
            "Subscriptions",
        ],
    ));
    let n = between(rng, 20, 36);
    let mut seen = HashSet::new();
    let mut rows: Vec<Vec<V>> = Vec::new();
    let dec = if cur == Cur::Jpy { 0 } else { 2 };
    while rows.len() < n {
        let name = company(rng, loc);
        if !seen.insert(name.clone()) {
            continue;
        }
        let (plan, price) = *pick(rng, PLANS);
        let seats = log_uniform(rng, 5.0, 2_500.0).round();
        let discount = if chance(rng, 0.5) {
            0.0
        } else {
            0.05 * between(rng, 1, 5) as f64
        };
        let mrr = seats * price * cur.per_usd() * (1.0 - discount);
        let mrr = if dec == 0 {
            mrr.round()
        } else {
            (mrr * 100.0).round() / 100.0
        };
        let risk = (log_uniform(rng, 0.02, 0.45) * 1000.0).round() / 1000.0;
        rows.push(vec![
            V::T(name),
            V::T(plan.to_string()),
            V::N(seats),
            V::N(mrr),
            V::D(date_between(rng, (2025, 7, 1), (2026, 6, 30))),
            V::N(risk),
        ]);
    }
    rows.sort_by(|a, b| a[0].t().cmp(b[0].t()));
    let cols = vec![
        col("Customer", Kind::Ident),
        col("Plan", Kind::Label),
        col("Seats", Kind::Count),
        col("MRR", Kind::Money(dec)),
        col("Renewal date", Kind::Date),
        col("Churn risk", Kind::Pct(1)),
    ];
    let title = chance(rng, 0.5).then(|| "Active subscriptions".to_string());
    b.add(
        rng,
        cust,
        Role::Customers,
        title,
        Place::Fresh,
        cols,
        rows.clone(),
    );

    let mrr = b.sheet(word(rng, &["MRR by Plan", "MRR Trend", "Plan Revenue"]));
    let months: Vec<String> = match rng.below(3) {
        0 => MON_EN[..6].iter().map(|m| format!("{m} 2025")).collect(),
        1 => (1..=6).map(|m| format!("2025-{m:02}")).collect(),
        _ => MON_EN[..6].iter().map(|m| format!("{m}-25")).collect(),
    };
    let mut mrows: Vec<Vec<V>> = PLANS
        .iter()
        .map(|(plan, _)| {
            let mut v = log_uniform(rng, 20_000.0, 900_000.0) * cur.per_usd();
            let mut row = vec![V::T(plan.to_string())];
            for _ in &months {
                v *= 0.97 + 0.08 * rng.f64();
                row.push(V::N(if dec == 0 {
                    v.round()
                } else {
                    (v * 100.0).round() / 100.0
                }));
            }
            row
        })
        .collect();
    let money_cols: Vec<usize> = (1..=months.len()).collect();
    let total = total_row(&mrows, &money_cols);
    mrows.push(total);
    let mut cols = vec![col("Plan", Kind::Label)];
    cols.extend(months.iter().map(|m| col(m, Kind::Money(dec))));
    b.add(
        rng,
        mrr,
        Role::MrrByPlan,
        Some("MRR by plan".into()),
        Place::Fresh,
        cols,
        mrows,
    );
    b.people = people(rng, loc, 4);
}

fn gen_regional(rng: &mut Rng, b: &mut Book) {
    let cur = b.l.cur;
    let loc = b.l.loc;
    let sheet = b.sheet(word(
        rng,
        &["Users by Region", "MAU by Country", "Regional KPIs"],
    ));
    let countries: Vec<(&str, f64)> = {
        let k = between(rng, 8, 14);
        distinct(rng, COUNTRIES, k)
    };
    // Planning workbooks hold round figures (15,000,000); actuals hold exact counts.
    let plan = chance(rng, 0.4);
    let quarters = quarter_labels(rng);
    let mut users: Vec<Vec<V>> = Vec::new();
    let mut revenue: Vec<Vec<V>> = Vec::new();
    let mut paid: Vec<Vec<V>> = Vec::new();
    for (c, size) in &countries {
        let mut u = size * log_uniform(rng, 0.4, 2.5);
        let arpu = log_uniform(rng, 0.3, 4.0) * cur.per_usd();
        let share = log_uniform(rng, 0.01, 0.09);
        let (mut ur, mut rr, mut pr) = (
            vec![V::T(c.to_string())],
            vec![V::T(c.to_string())],
            vec![V::T(c.to_string())],
        );
        for _ in &quarters {
            u *= 0.98 + 0.1 * rng.f64();
            let shown = if plan {
                round_to(u, if u > 5e6 { 500_000.0 } else { 100_000.0 })
            } else {
                u.round()
            };
            ur.push(V::N(shown));
            rr.push(V::N((shown * arpu * (0.95 + 0.1 * rng.f64())).round()));
            pr.push(V::N(share * (0.9 + 0.2 * rng.f64())));
        }
        users.push(ur);
        revenue.push(rr);
        paid.push(pr);
    }
    let mut ucols = vec![col(
        word(rng, &["Country", "Market", "Region"]),
        Kind::Label,
    )];
    ucols.extend(quarters.iter().map(|q| col(q, Kind::Count)));
    let utitle = pick(
        rng,
        &[
            "Monthly active users",
            "MAU (end of quarter)",
            "Active users",
        ],
    )
    .to_string();
    b.add(
        rng,
        sheet,
        Role::Users,
        Some(utitle),
        Place::Fresh,
        ucols,
        users,
    );
    let mut rcols = vec![col("Country", Kind::Label)];
    rcols.extend(quarters.iter().map(|q| col(q, Kind::Money(0))));
    b.add(
        rng,
        sheet,
        Role::Revenue,
        Some(format!("Revenue ({})", cur.code())),
        Place::Below,
        rcols,
        revenue,
    );
    if chance(rng, 0.6) {
        let mut pcols = vec![col("Country", Kind::Label)];
        pcols.extend(quarters.iter().map(|q| col(q, Kind::Pct(1))));
        let place = if chance(rng, 0.5) {
            Place::Right
        } else {
            Place::Below
        };
        b.add(
            rng,
            sheet,
            Role::PaidShare,
            Some("Paid share".into()),
            place,
            pcols,
            paid,
        );
    }
    b.people = people(rng, loc, 4);
}

// ---------------------------------------------------------------------------------------
// Notes: passages of text, one per cell, on a notes sheet.
//
// Every sentence template varies its wording every few words ("[a|b]" picks one), the way
// different people phrase the same kind of remark: two notes share a run of five words
// only now and then, as real notes do, and a quote carries the passage's own wording.

/// Expands "[a|b|c]" alternatives (no nesting) and "{key}" slots of `tpl`.
fn expand(rng: &mut Rng, tpl: &str, slots: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..i]);
        let j = i + rest[i..].find(']').expect("closed alternative");
        let alts: Vec<&str> = rest[i + 1..j].split('|').collect();
        out.push_str(word(rng, &alts));
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    for (k, v) in slots {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

const GENERAL_NOTES: &[&str] = &[
    "{who} [flagged|noted|pointed out] that the {month} [figures|numbers|totals] [still exclude|do not yet include|leave out] [late|manual|year-end] adjustments [posted|booked|entered] after {when}.",
    "[Reconciled|Checked|Tied out] by {who}[;|, so] [please|kindly] [raise|send] [questions|comments] [before|ahead of] the {forum} [review|meeting|call].",
    "[We|The team] agreed with {who} to [revisit|look again at|re-check] the [assumptions|drivers|inputs] in {k} weeks [rather than|instead of] [at year end|in December|next quarter].",
    "{who} [asked|requested] that [nothing|none of this] [here|on this sheet] be [shared|circulated|forwarded] [outside|beyond] the {forum} [group|team] [until|before] it is [final|signed off|approved].",
    "[Open point|Still open|To do]: {who} [owes|will send|is preparing] [an updated|a revised|the next] [version|cut|draft] by {when}.",
    "[Source data|The extract|This tab] [was refreshed|came from the warehouse|was pulled] on {when}[; anything later is missing|, before the {month} close|, so treat it as provisional].",
];

/// Openers and closers that wrap a remark, as people's notes do.
const NOTE_LEADS: &[&str] = &[
    "Update: ",
    "FYI, ",
    "As of {when}, ",
    "Per {who}, ",
    "Heads-up: ",
    "For the record, ",
    "Following the {forum} review, ",
    "After the call with {who}, ",
    "Since {month}, ",
    "Worth noting: ",
];
const NOTE_TAILS: &[&str] = &[
    " {who} to follow up.",
    " See the {forum} pack.",
    " More next week.",
    " Pending confirmation.",
    " To be confirmed by {who}.",
    " We will update this tab.",
    " As discussed on {when}.",
    " Figures may still move.",
];

fn domain_notes(d: Domain) -> &'static [&'static str] {
    match d {
        Domain::Hr => &[
            "[hiring|recruiting|backfill hiring] in {dept} [stays frozen|is paused|remains on hold] until {when}[, except for|; exceptions:|, apart from] {k} [backfills|roles|offers] [already approved|signed off|cleared] by {who}.",
            "attrition in {dept} [rose|climbed|went up] to {pct} after the [office move|reorg|new shift pattern][;|, and] exit interviews [mention|point to|cite] [commute and pay bands|workload|career paths].",
            "{who} [will run|is running|leads] the {dept} [calibration|review|promotion] round[, and|;] [promotions|changes|new grades] [take effect|apply|start] from {when}.",
            "[the|our] {dept} [team|group|function] [is moving|will convert|plans to move] {k} contractors [onto permanent contracts|to permanent roles|in-house], which [lifts|raises|adds to] headcount [next quarter|from {when}|in the new year].",
            "[sick leave|absence|overtime] in {dept} [is|ran|came in] {pct} [above|over|higher than] [plan|budget|last year] [according to|per|says] {who}.",
            "{k} [offers|candidates|new starters] for {dept} [are pending|await|sit with] [background checks|right-to-work checks|references][;|, and] {who} [expects|wants|needs] [them cleared|a decision|sign-off] by {when}.",
            "the {dept} [budget|plan|allocation] [assumes|includes|allows for] {k} [new roles|hires|heads] [from|after|starting] {month}[, but|; however|, though] {who} [doubts|questions|is not sure about] [the timing|that number|it].",
            "[relocation|visa|onboarding] [costs|cases|delays] in {dept} [doubled|jumped|grew] [since|after|over] {month}[; see|, per|, says] {who}.",
            "{who} [moves|transfers|is moving] [from|out of] {dept} [on|from|effective] {when}[, so|; hence|, which means] the [headcount|numbers|count] [there|for that team] [drops by one|shifts|changes].",
            "[the engagement survey|pulse results|survey scores] for {dept} [fell|slipped|dropped] {pct}[;|, and] {who} [is drafting|owns|will share] [an action plan|next steps|a response].",
        ],
        Domain::Sales => &[
            "{acct} [moved to|entered|went into] [legal review|procurement|redlines] after the [security questionnaire|pilot|demo][;|, and] {who} [expects|hopes for|is pushing for] [a signature|signature|the PO] by {when}.",
            "{who} [thinks|suspects|warns] {acct} will [push|delay|move] the [start date|go-live|signature], so [weight|count|carry] [the deal|it|this one] at {pct} [at most|or less|maximum].",
            "[procurement|purchasing|finance] at {acct} [asked for|wants|is pressing for] a {pct} discount and a {k}-month [price lock|price freeze|fixed rate] [before committing|to sign|as a condition].",
            "[commit deals|deals in commit|anything in commit] above {k} thousand [need|require|must get] [sign-off|approval|a review] from {who} [before they count|to count|before counting] [toward|in|against] the forecast.",
            "[lost|slipped|pushed] [last week|this month|in {month}]: {acct}[, per|, says|; owner] {who}.",
            "{acct} [wants|asked for|requires] [a reference call|two references|a site visit] [before|prior to|ahead of] [signing|the board meeting|contract review][;|, and] {who} [is arranging it|owns this|will set it up].",
            "[the champion|our sponsor|the main contact] at {acct} [left|resigned|moved on] in {month}[, so|; therefore|, and] {who} [is rebuilding|has to rebuild|restarts] [the relationship|contact|the case].",
            "{who} [merged|combined|folded] two [opportunities|deals|lines] for {acct} [on|after|since] {when}[;|, so] [ignore|disregard|skip] the [old|earlier|duplicate] [record|entry|line].",
            "[pricing|the quote|our offer] for {acct} [expires|lapses|runs out] on {when}[;|, and] [a renewal|an extension|a new quote] [needs|requires|will need] {who}'s [approval|sign-off|OK].",
            "{k} [deals|opportunities] [still lack|have no|are missing] [a close date|next steps|an owner][;|, and] {who} [will chase|is chasing|chases] [them|the reps|owners] [this week|by {when}|before the {forum} call].",
        ],
        Domain::Inventory => &[
            "{sku} at {wh} [fell below|dropped under|is under] its reorder point[;|, and] the [supplier|vendor|manufacturer] [quotes|promises|confirms] {k} days [of lead time|lead time|to deliver].",
            "{who} [counted|checked|audited] {wh} on {when} and [found|reported|logged] {k} units of {sku} [damaged in the racking|water-damaged|mislabelled].",
            "[cycle counts|spot checks|counts] at {wh} [differ from|disagree with|are off against] the system by {pct}[, mostly|, largely|; mainly] on [small fittings|fast movers|gaskets and seals].",
            "[transfers|shipments|moves] from {wh} are on hold until {when} while {who} [audits|re-labels|checks] the bin locations.",
            "{who} [wants|asks for|proposes] a [safety stock|buffer|minimum] of {k} [units|pieces] for {sku} [after|following|because of] the [stock-out|shortage|delay] in {month}.",
            "[the forklift|a conveyor|the dock door] at {wh} [was down|broke|failed] [on|since|from] {when}[, so|; as a result|, and] [picking|receiving|dispatch] [ran late|slowed|backed up].",
            "{sku} [is being|will be|gets] [discontinued|replaced|phased out] [after|from|in] {month}[;|, so] [do not|don't|please don't] [reorder|restock|top it up] [it|at {wh}|beyond current stock].",
            "[freight|carrier|shipping] [rates|costs|charges] [into|for|at] {wh} [rose|went up|jumped] {pct}[, says|; per|, per] {who}.",
            "[returns|RMAs|customer returns] of {sku} [reached|hit|came to] {k} [units|pieces] in {month}[;|, and] {who} [suspects|blames|points to] [a packaging fault|the new supplier|a labelling error].",
            "{wh} [moves to|switches to|starts] [two shifts|weekend picking|a new WMS] [from|on|after] {when}[;|, so] [expect|allow for|plan on] [slower counts|a short freeze|some noise] [in the numbers|here|that week].",
        ],
        Domain::Subs => &[
            "{cust} [asked for|wants|is pushing for] a {pct} discount [on the renewal|at renewal|to renew][ and hinted at|, citing|, mentioning] a [competing offer|cheaper rival|budget cut].",
            "[churn risk|risk] for {cust} [went up|rose|jumped] after the outage on {when}[;|, so] {who} is [setting up|arranging|booking] a call with [their sponsor|the CIO|their admin].",
            "{cust} [plans to add|may add|will likely add] {k} seats [next quarter|in {month}|after the pilot] if the [SSO integration|API upgrade|new reporting] [ships|lands|goes live] [on time|as promised|by {when}].",
            "{who} [owns|is handling|runs] the renewal of {cust}[, and|;] the contract [auto-renews|rolls over|renews itself] unless [notice arrives|they give notice|we hear otherwise] before {when}.",
            "[usage|logins|active seats] at {cust} [fell|dropped|slid] {pct} [since|after|from] {month}[, which|; this] [worries|concerns|bothers] {who}.",
            "{cust} [moved|switched|upgraded] to [annual billing|a multi-year term|invoicing] [on|from|as of] {when}[;|, so] [MRR|the monthly figure|revenue] [here|on this tab|above] [is|was] [restated|recalculated|adjusted].",
            "[the admin|IT|the buyer] at {cust} [opened|raised|logged] {k} [tickets|complaints|cases] in {month}[, mostly|; mainly|, largely] about [exports|permissions|slow dashboards].",
            "{who} [offered|proposed|floated] {cust} [a free month|extra seats|a training day] [to save|to keep|to rescue] the [renewal|account|deal][;|, and] [no answer yet|they are thinking|awaiting reply].",
            "[legal|procurement|security] at {cust} [needs|requests|wants] [a new DPA|an updated MSA|a pen-test report] [before|prior to|ahead of] {when}[, per|; owner|, says] {who}.",
            "{cust} [merged with|was bought by|acquired] [a competitor|another customer|a larger group] in {month}[;|, so] [seat counts|plans|contracts] [may|could|will likely] [consolidate|change|shrink].",
        ],
        Domain::Regional => &[
            "[growth|user growth|sign-ups] in {country} [slowed to|eased to|fell to] {pct} once the [spring|festive|back-to-school|launch] campaign [ended|wrapped up|finished] in {month}.",
            "{country} [figures|numbers|counts] [include|contain|count] {k} thousand users [migrated|moved over|carried over] from the [legacy app|old platform|partner app], per {who}.",
            "{who} [cautions|warns|notes] that {country} [counts|figures|numbers] for the last quarter are [preliminary|provisional|not final] until the [store reports|partner data|audit] [arrive|come in|lands].",
            "paid [conversion|share|uptake] in {country} [improved|rose|picked up] after [local pricing|the price cut|carrier billing] went live on {when}.",
            "[marketing|local] spend in {country} [is|was|ran] {pct} [under|below|over] [plan|budget] [in|for|through] {month}, [says|per|according to] {who}.",
            "[a regulator|the telecom authority|a court] in {country} [paused|restricted|delayed] [onboarding|new sign-ups|payments] [on|from|since] {when}[;|, so] [expect|plan for|assume] [a dip|flat numbers|a gap].",
            "{who} [re-based|restated|revised] {country} [users|MAU|the base] [after|following|because of] [a duplicate-account purge|a bot cleanup|a tracking fix] in {month}.",
            "[the partner|our distributor|the carrier deal] in {country} [ends|expires|lapses] on {when}[, and|;] {who} [is negotiating|leads talks on|owns] [an extension|renewal terms|a replacement].",
            "[churn|cancellations|drop-off] in {country} [spiked|jumped|rose] to {pct} [during|after|around] the [outage|price change|app update] in {month}.",
            "{country} [moved|was moved|shifts] from [APAC|EMEA|LATAM|the Americas] to [another region|a new cluster|the {forum} group] [from|on|as of] {when}[;|, so] [older|prior|earlier] [quarters|columns|figures] [are|were|stay] [unchanged|not restated|as reported].",
        ],
    }
}

fn note(rng: &mut Rng, b: &Book) -> String {
    let k = between(rng, 3, 5);
    let mut templates: Vec<&str> = domain_notes(b.domain).to_vec();
    shuffle(rng, &mut templates);
    templates.truncate(k);
    if chance(rng, 0.5) {
        let at = rng.below(k + 1);
        templates.insert(at, *pick(rng, GENERAL_NOTES));
    }
    let item = |rng: &mut Rng, role: Role, j: usize| -> String {
        b.tab(role)
            .map(|t| t.rows[rng.below(t.body_rows())][j].t().to_string())
            .unwrap_or_default()
    };
    templates
        .iter()
        .map(|tpl| {
            let slots = [
                ("who", pick(rng, &b.people).clone()),
                (
                    "when",
                    Df::DMonY.show(date_between(rng, (2025, 4, 1), (2026, 3, 31))),
                ),
                ("pct", format!("{}%", between(rng, 2, 40))),
                ("k", between(rng, 3, 60).to_string()),
                ("month", pick(rng, &MONTH_EN).to_string()),
                (
                    "forum",
                    pick(
                        rng,
                        &["board", "monthly", "steering", "budget", "leadership"],
                    )
                    .to_string(),
                ),
                ("dept", item(rng, Role::Headcount, 0)),
                ("acct", item(rng, Role::Pipeline, 1)),
                ("sku", item(rng, Role::Stock, 0)),
                ("wh", item(rng, Role::WhTotals, 0)),
                ("cust", item(rng, Role::Customers, 0)),
                ("country", item(rng, Role::Users, 0)),
            ];
            let lead = if chance(rng, 0.4) {
                *pick(rng, NOTE_LEADS)
            } else {
                ""
            };
            let tail = if chance(rng, 0.3) {
                *pick(rng, NOTE_TAILS)
            } else {
                ""
            };
            let mut sentence = expand(rng, &format!("{lead}{tpl}{tail}"), &slots);
            // A remark starts with a capital letter unless a lead-in comes first.
            if lead.is_empty() || lead.ends_with(": ") {
                let at = lead.len();
                if let Some(c) = sentence[at..].chars().next() {
                    let upper: String = c.to_uppercase().collect();
                    sentence.replace_range(at..at + c.len_utf8(), &upper);
                }
            }
            sentence
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn gen_notes(rng: &mut Rng, b: &mut Book) {
    let sheet = b.sheet(word(rng, &["Notes", "Review Notes", "Comments", "Read Me"]));
    let rows: Vec<Vec<V>> = (0..between(rng, 2, 4))
        .map(|_| {
            vec![
                V::D(date_between(rng, (2025, 4, 1), (2025, 10, 31))),
                V::T(pick(rng, &b.people).clone()),
                V::T(note(rng, b)),
            ]
        })
        .collect();
    let cols = vec![
        col("Date", Kind::Date),
        col("Author", Kind::Ident),
        col("Note", Kind::Passage),
    ];
    b.add(rng, sheet, Role::Notes, None, Place::Fresh, cols, rows);
}

const LOCS: [Loc; 7] = [
    Loc::EnUs,
    Loc::EnGb,
    Loc::DeDe,
    Loc::FrFr,
    Loc::EnIn,
    Loc::DeCh,
    Loc::JaJp,
];

fn gen_book(rng: &mut Rng, domain: Domain, loc: Loc, tag: &str, k: usize) -> Book {
    let l = make_locale(rng, loc);
    let stem = match domain {
        Domain::Hr => pick(rng, &["Headcount Plan", "HR Dashboard", "People Report"]),
        Domain::Sales => pick(rng, &["Pipeline Review", "Sales Forecast", "Deal Desk"]),
        Domain::Inventory => pick(rng, &["Inventory Report", "Stock Review", "Warehouse KPIs"]),
        Domain::Subs => pick(
            rng,
            &["Subscriptions", "Customer Health", "Renewals Tracker"],
        ),
        Domain::Regional => pick(
            rng,
            &["Regional KPIs", "Country Scorecard", "Market Review"],
        ),
    };
    let name = format!("{stem} {tag}{k:02}.xlsx");
    let site = match loc {
        Loc::EnUs => "us",
        Loc::EnGb => "uk",
        Loc::DeDe => "de",
        Loc::FrFr => "fr",
        Loc::EnIn => "in",
        Loc::DeCh => "ch",
        Loc::JaJp => "jp",
    };
    let location = format!("https://fabrikam.sharepoint.com/sites/{site}/Shared Documents/{name}");
    let mut b = Book {
        doc: DocumentRef::new(App::Excel, name, location),
        domain,
        l,
        sheets: Vec::new(),
        tabs: Vec::new(),
        people: Vec::new(),
    };
    match domain {
        Domain::Hr => gen_hr(rng, &mut b),
        Domain::Sales => gen_sales(rng, &mut b),
        Domain::Inventory => gen_inventory(rng, &mut b),
        Domain::Subs => gen_subs(rng, &mut b),
        Domain::Regional => gen_regional(rng, &mut b),
    }
    gen_notes(rng, &mut b);
    b
}

/// The decoy: a general-ledger export of 40,000 cells, read but never copied from.
fn gen_ledger(rng: &mut Rng) -> ReadEvent {
    let loc = *pick(rng, &[Loc::EnGb, Loc::DeDe, Loc::FrFr]);
    let l = make_locale(rng, loc);
    let name = "General Ledger FY2025.xlsx";
    let mut b = Book {
        doc: DocumentRef::new(
            App::Excel,
            name,
            format!("https://fabrikam.sharepoint.com/sites/finance/Shared Documents/{name}"),
        ),
        domain: Domain::Sales,
        l,
        sheets: Vec::new(),
        tabs: Vec::new(),
        people: Vec::new(),
    };
    let sheet = b.sheet("GL Transactions");
    let accounts = [
        "4000 Revenue",
        "4100 Services",
        "5000 Cost of sales",
        "6100 Salaries",
        "6200 Travel",
        "6300 Rent",
        "6400 Software",
        "6500 Marketing",
        "1200 Receivables",
        "2100 Payables",
    ];
    let counterparties: Vec<String> = (0..120).map(|_| company(rng, loc)).collect();
    let memos = [
        "Invoice",
        "Credit note",
        "Accrual",
        "Payment run",
        "Reversal",
        "Recharge",
        "Prepayment",
        "FX revaluation",
    ];
    let mut tx = between(rng, 1_000_000, 2_000_000);
    let mut day = serial(2024, 10, 1);
    let mut balance = 250_000.0 * l.cur.per_usd();
    let rows: Vec<Vec<V>> = (0..LEDGER_ROWS)
        .map(|_| {
            if chance(rng, 0.08) {
                day += 1;
            }
            tx += between(rng, 1, 4);
            let amount =
                (log_uniform(rng, 5.0, 250_000.0) * l.cur.per_usd() * 100.0).round() / 100.0;
            let amount = if chance(rng, 0.45) { -amount } else { amount };
            balance += amount;
            vec![
                V::D(day),
                V::T(format!("TX{tx}")),
                V::T(pick(rng, &accounts).to_string()),
                V::T(pick(rng, &counterparties).clone()),
                V::T(pick(rng, &memos).to_string()),
                V::N(amount),
                V::T(pick(rng, DEPTS).to_string()),
                V::N((balance * 100.0).round() / 100.0),
            ]
        })
        .collect();
    let cols = vec![
        col("Posting date", Kind::Date),
        col("Txn ID", Kind::Ident),
        col("Account", Kind::Label),
        col("Counterparty", Kind::Ident),
        col("Memo", Kind::Label),
        col("Amount", Kind::Money(2)),
        col("Cost centre", Kind::Label),
        col("Balance", Kind::Money(2)),
    ];
    debug_assert_eq!(cols.len(), LEDGER_COLS);
    b.tabs.push(Tab {
        role: Role::Notes,
        sheet,
        top: 0,
        left: 0,
        title: None,
        cols,
        rows,
    });
    b.read(1_760_000_000_000)
}

// ---------------------------------------------------------------------------------------
// Decks: each builder makes one slide from one workbook, or None when the workbook has
// nothing of the kind.

struct Slide {
    parts: Vec<WritePart>,
    truth: Truth,
}

type Builder = fn(&mut Rng, &Book, u32) -> Option<Slide>;

fn title_part(slide: u32, text: impl Into<String>) -> WritePart {
    WritePart::Text {
        location: format!("slide {slide}"),
        text: text.into(),
    }
}

fn text_part(slide: u32, text: impl Into<String>) -> WritePart {
    WritePart::Text {
        location: format!("slide {slide}"),
        text: text.into(),
    }
}

fn table_part(slide: u32, rows: Vec<Vec<String>>) -> WritePart {
    WritePart::Table {
        location: format!("slide {slide}"),
        rows,
    }
}

fn truth(b: &Book, t: &Tab, cells: Vec<CellAddr>) -> Truth {
    Truth {
        doc: b.doc.id.clone(),
        sheet: b.sheet_of(t).to_string(),
        cells,
    }
}

fn carried(k: Kind) -> bool {
    k != Kind::Label
}

/// A table of `rows` x `cols` of `t` with a header row, each cell rendered by `cell`;
/// and the source cells it carries.
fn grid(
    t: &Tab,
    rows: &[usize],
    cols: &[usize],
    header: Vec<String>,
    mut cell: impl FnMut(&Col, &V) -> String,
) -> (Vec<Vec<String>>, Vec<CellAddr>) {
    let mut out = vec![header];
    let mut cells = Vec::new();
    for &i in rows {
        let mut r = Vec::new();
        for &j in cols {
            let c = &t.cols[j];
            r.push(cell(c, &t.rows[i][j]));
            if carried(c.kind) {
                cells.push(t.addr(i, j));
            }
        }
        out.push(r);
    }
    (out, cells)
}

fn headers(t: &Tab, cols: &[usize]) -> Vec<String> {
    cols.iter().map(|&j| t.cols[j].name.clone()).collect()
}

/// A footer a person might leave on a slide, carrying nothing from the workbook.
fn footer(rng: &mut Rng, slide: u32, parts: &mut Vec<WritePart>) {
    if chance(rng, 0.3) {
        let f = *pick(
            rng,
            &[
                "Confidential – internal use only",
                "Draft for discussion",
                "Figures unaudited",
                "Prepared for the quarterly business review",
            ],
        );
        parts.push(text_part(slide, f));
    }
}

fn data_tabs(b: &Book) -> Vec<&Tab> {
    b.tabs.iter().filter(|t| t.role != Role::Notes).collect()
}

/// Another way of writing numbers than the workbook's own.
fn other_num(rng: &mut Rng, not: Num) -> Num {
    loop {
        let n = *pick(
            rng,
            &[
                US,
                US,
                DE,
                DE,
                FR,
                FR_NBSP,
                FR_SPACE,
                IN,
                CH,
                CH_APOS,
                PLAIN,
                PLAIN_COMMA,
            ],
        );
        if n.grp != not.grp || n.dec != not.dec || n.lakh != not.lakh {
            return n;
        }
    }
}

/// Currency renderings someone might write for `cur`: (symbol, before, space, grouping).
fn money_forms(cur: Cur) -> Vec<(&'static str, bool, &'static str, Num)> {
    let mut f = vec![
        (cur.code(), true, " ", US),
        (cur.code(), false, " ", US),
        (cur.code(), false, " ", DE),
    ];
    match cur {
        Cur::Usd => f.extend([
            ("US$", true, "", US),
            ("$", false, " ", DE),
            ("$", true, " ", US),
        ]),
        Cur::Gbp => f.extend([("£", true, " ", US), ("£", false, " ", DE)]),
        Cur::Eur => f.extend([
            ("€", true, "", US),
            ("€", true, " ", DE),
            ("€", false, "\u{a0}", FR),
            ("€", false, " ", FR_SPACE),
        ]),
        Cur::Inr => f.extend([
            ("Rs.", true, " ", IN),
            ("Rs", true, " ", US),
            ("₹", true, " ", US),
        ]),
        Cur::Chf => f.extend([
            ("Fr.", true, " ", CH),
            ("CHF", false, " ", CH_APOS),
            ("CHF", true, " ", US),
        ]),
        Cur::Jpy => f.extend([
            ("円", false, "", US),
            ("￥", true, "", US),
            ("¥", true, " ", US),
        ]),
    }
    f
}

fn pct_text(frac: f64, d: usize, n: Num, space: &str) -> String {
    format!("{}{space}%", num(frac * 100.0, d, n))
}

/// "1.2M", "1.2 million", "1,2 Mio.", "1.2 crore": `v` with `sig` significant figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    Short,
    Lower,
    Word,
    German,
    Indian,
}

fn scaled(v: f64, sig: usize, sc: Scale, n: Num) -> String {
    let units: &[(f64, &str)] = match sc {
        Scale::Short => &[(1e9, "bn"), (1e6, "M"), (1e3, "k")],
        Scale::Lower => &[(1e9, "bn"), (1e6, "m"), (1e3, "k")],
        Scale::Word => &[(1e9, " billion"), (1e6, " million"), (1e3, " thousand")],
        Scale::German => &[(1e9, " Mrd."), (1e6, " Mio."), (1e3, " Tsd.")],
        Scale::Indian => &[(1e7, " crore"), (1e5, " lakh"), (1e3, "k")],
    };
    let a = v.abs();
    let mut k = units
        .iter()
        .position(|(u, _)| a >= *u)
        .unwrap_or(units.len() - 1);
    loop {
        let (u, word) = units[k];
        let m = a / u;
        let d = sig_decimals(m, sig);
        let r = round_sig(m, sig);
        if k > 0 && r * u >= units[k - 1].0 {
            k -= 1;
            continue;
        }
        return format!("{}{word}", num(r, d, Num { grp: "", ..n }));
    }
}

// --- class builders ---------------------------------------------------------------------

fn b_verbatim(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    if b.l.loc == Loc::EnUs {
        return None;
    }
    let tabs = data_tabs(b);
    let t = *pick(rng, &tabs);
    let values = t.col_of(|c| c.kind != Kind::Label && c.kind != Kind::Passage);
    let values: Vec<usize> = values.into_iter().filter(|&j| j > 0).collect();
    if values.is_empty() {
        return None;
    }
    let mut cols = vec![0];
    cols.extend(
        {
            let k = between(rng, 2, 3);
            sample(rng, values.len(), k)
        }
        .into_iter()
        .map(|i| values[i]),
    );
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| b.show(c, v));
    let mut parts = vec![
        title_part(s, t.title_or(b.sheet_of(t))),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

/// Columns of amounts or counts of at least `min` (every body row), besides column 0.
fn big_cols(t: &Tab, min: f64) -> Vec<usize> {
    let n = t.body_rows();
    t.col_of(|c| matches!(c.kind, Kind::Money(_) | Kind::Count))
        .into_iter()
        .filter(|&j| j > 0 && (0..n).all(|i| t.rows[i][j].n() >= min))
        .collect()
}

fn b_regroup(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let tabs: Vec<&Tab> = data_tabs(b)
        .into_iter()
        .filter(|t| !big_cols(t, 1000.0).is_empty())
        .collect();
    if tabs.is_empty() {
        return None;
    }
    let t = *pick(rng, &tabs);
    let big = big_cols(t, 1000.0);
    let mut cols = vec![0];
    cols.extend(
        {
            let k = between(rng, 1, 3);
            sample(rng, big.len(), k)
        }
        .into_iter()
        .map(|i| big[i]),
    );
    let n = other_num(rng, b.l.num);
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let header: Vec<String> = cols
        .iter()
        .map(|&j| match t.cols[j].kind {
            Kind::Money(_) if !t.cols[j].name.contains('(') => {
                format!("{} ({})", t.cols[j].name, b.l.cur.code())
            }
            _ => t.cols[j].name.clone(),
        })
        .collect();
    let (grid_rows, cells) = grid(t, &rows, &cols, header, |c, v| match c.kind {
        Kind::Money(d) => num(v.n(), if b.l.cur == Cur::Jpy { 0 } else { d }, n),
        Kind::Count => num(v.n(), 0, n),
        _ => b.show(c, v),
    });
    let mut parts = vec![
        title_part(s, t.title_or(b.sheet_of(t))),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_currency(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let tabs: Vec<&Tab> = data_tabs(b)
        .into_iter()
        .filter(|t| t.cols.iter().any(|c| matches!(c.kind, Kind::Money(_))))
        .collect();
    if tabs.is_empty() {
        return None;
    }
    let t = *pick(rng, &tabs);
    let money = t.col_of(|c| matches!(c.kind, Kind::Money(_)));
    let mut cols = vec![0];
    cols.extend(
        {
            let k = between(rng, 1, 2);
            sample(rng, money.len(), k)
        }
        .into_iter()
        .map(|i| money[i]),
    );
    let forms = money_forms(b.l.cur);
    let (sym, before, space, n) = *pick(rng, &forms);
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| match c.kind {
        Kind::Money(d) => {
            let d = if b.l.cur == Cur::Jpy { 0 } else { d };
            money_text(v.n(), d, sym, n, before, space)
        }
        _ => b.show(c, v),
    });
    let mut parts = vec![
        title_part(s, t.title_or(b.sheet_of(t))),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_percent(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let tabs: Vec<&Tab> = data_tabs(b)
        .into_iter()
        .filter(|t| {
            t.cols.iter().any(|c| matches!(c.kind, Kind::Pct(_))) && t.role != Role::Pipeline
        })
        .collect();
    if tabs.is_empty() {
        return None;
    }
    let t = *pick(rng, &tabs);
    let pcts = t.col_of(|c| matches!(c.kind, Kind::Pct(_)));
    let mut cols = vec![0];
    cols.extend(
        {
            let k = between(rng, 1, 3);
            sample(rng, pcts.len(), k)
        }
        .into_iter()
        .map(|i| pcts[i]),
    );
    let d = *pick(rng, &[0usize, 1, 1, 2]);
    let (n, space) = *pick(
        rng,
        &[
            (US, ""),
            (US, ""),
            (DE, " "),
            (FR_NBSP, "\u{a0}"),
            (DE, ""),
            (US, " "),
        ],
    );
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| match c.kind {
        Kind::Pct(_) => pct_text(v.n(), d, n, space),
        _ => b.show(c, v),
    });
    let mut parts = vec![
        title_part(s, t.title_or(b.sheet_of(t))),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

/// How an amount of `cur` is written scaled: "$1.2M", "€4.5m", "4,5 Mio. €", "₹1.2 crore".
fn scaled_money(v: f64, sig: usize, cur: Cur, style: usize) -> String {
    match (cur, style % 4) {
        (Cur::Inr, 0 | 1) => format!("₹{}", scaled(v, sig, Scale::Indian, US)),
        (Cur::Eur | Cur::Chf, 0) => format!("{} {}", scaled(v, sig, Scale::German, DE), cur.sym()),
        (_, 1) => format!("{}{}", cur.sym(), scaled(v, sig, Scale::Lower, US)),
        (_, 2) => format!("{} {}", cur.code(), scaled(v, sig, Scale::Word, US)),
        _ => format!("{}{}", cur.sym(), scaled(v, sig, Scale::Short, US)),
    }
}

fn b_scaled(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let tabs: Vec<&Tab> = data_tabs(b)
        .into_iter()
        .filter(|t| !big_cols(t, 100_000.0).is_empty())
        .collect();
    if tabs.is_empty() {
        return None;
    }
    let t = *pick(rng, &tabs);
    let big = big_cols(t, 100_000.0);
    let mut cols = vec![0];
    cols.extend(
        {
            let k = between(rng, 1, 3);
            sample(rng, big.len(), k)
        }
        .into_iter()
        .map(|i| big[i]),
    );
    let sig = *pick(rng, &[2usize, 3, 3]);
    let style = rng.below(4);
    let count_style = *pick(rng, &[Scale::Short, Scale::Word, Scale::Lower]);
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| match c.kind {
        Kind::Money(_) => scaled_money(v.n(), sig, b.l.cur, style),
        Kind::Count => scaled(v.n(), sig, count_style, US),
        _ => b.show(c, v),
    });
    let mut parts = vec![
        title_part(s, t.title_or(b.sheet_of(t))),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_rounded(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let tabs: Vec<&Tab> = data_tabs(b)
        .into_iter()
        .filter(|t| !big_cols(t, 100.0).is_empty())
        .collect();
    if tabs.is_empty() {
        return None;
    }
    let t = *pick(rng, &tabs);
    let big = big_cols(t, 100.0);
    let mut cols = vec![0];
    cols.extend(
        {
            let k = between(rng, 2, 4);
            sample(rng, big.len(), k)
        }
        .into_iter()
        .map(|i| big[i]),
    );
    // Round to 2 or 3 significant figures, or just drop the cents (when there are any).
    let cents = cols
        .iter()
        .any(|&j| matches!(t.cols[j].kind, Kind::Money(d) if d > 0));
    let how = rng.below(if cents { 3 } else { 2 });
    let n = *pick(rng, &[US, US, b.l.num, DE]);
    let with_sym = chance(rng, 0.5);
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| {
        let x = v.n();
        let r = match how {
            0 => round_sig(x, 2),
            1 => round_sig(x, 3),
            _ => x.round(),
        };
        match c.kind {
            Kind::Money(_) if with_sym => money_text(
                r,
                0,
                b.l.cur.sym(),
                n,
                true,
                if b.l.cur == Cur::Chf { " " } else { "" },
            ),
            Kind::Money(_) | Kind::Count => num(r, 0, n),
            _ => b.show(c, v),
        }
    });
    let mut parts = vec![
        title_part(s, format!("{} (rounded)", t.title_or(b.sheet_of(t)))),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_dates_only(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let t = b.tab(Role::Customers)?;
    let j = t.col_of(|c| c.kind == Kind::Date)[0];
    let rows = some_rows(rng, t.body_rows(), 5);
    let (df, prefix) = *pick(
        rng,
        &[
            (Df::MonDY, "Renewal due "),
            (Df::MonDY, "renewal due "),
            (Df::DmySlash, ""),
            (Df::DmySlash, "Renewal due "),
            (Df::DMonY, ""),
            (Df::Iso, ""),
            (Df::DmyDot, ""),
            (Df::DMonthY, "Renews "),
        ],
    );
    let dates: Vec<String> = rows
        .iter()
        .map(|&i| format!("{prefix}{}", df.show(t.rows[i][j].d())))
        .collect();
    let cells: Vec<CellAddr> = rows.iter().map(|&i| t.addr(i, j)).collect();
    let title = *pick(
        rng,
        &[
            "Upcoming renewals",
            "Renewals to watch",
            "Contract renewals",
            "Renewal calendar – next 12 months",
        ],
    );
    let mut parts = vec![title_part(s, title)];
    match rng.below(3) {
        0 => {
            let mut rows = vec![vec![
                pick(rng, &["Renewal date", "Due", "Renews on"]).to_string(),
            ]];
            rows.extend(dates.into_iter().map(|d| vec![d]));
            parts.push(table_part(s, rows));
        }
        1 => parts.push(text_part(
            s,
            dates
                .iter()
                .map(|d| format!("• {d}"))
                .collect::<Vec<_>>()
                .join("\n"),
        )),
        _ => parts.push(text_part(s, dates.join("\n"))),
    }
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_counts_scale(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let t = b.tab(Role::Users)?;
    let j = between(rng, 1, t.cols.len() - 1);
    let k = between(rng, 4, 6);
    let mut rows = some_rows(rng, t.body_rows(), k);
    if chance(rng, 0.25) {
        // "Top markets": biggest first.
        rows.sort_by(|&a, &c| t.rows[c][j].n().total_cmp(&t.rows[a][j].n()));
    }
    let whole = chance(rng, 0.6);
    let (word, sep, unit) = *pick(
        rng,
        &[
            (Scale::Word, ": ", ""),
            (Scale::Word, ": ", " users"),
            (Scale::Short, " – ", ""),
            (Scale::Short, ": ", " MAU"),
            (Scale::Lower, " — ", " users"),
            (Scale::German, ": ", " Nutzer"),
        ],
    );
    let n = if word == Scale::German { DE } else { US };
    let lines: Vec<String> = rows
        .iter()
        .map(|&i| {
            let v = t.rows[i][j].n();
            // "15 million" for big markets, "8.5 million" below ten, "850 thousand" below one.
            let sig = if v >= 1e7 && whole {
                2
            } else if v >= 1e7 {
                3
            } else {
                2
            };
            // A German deck names the countries in German too.
            let country = if word == Scale::German {
                country_in(Lang::De, t.rows[i][0].t())
            } else {
                t.rows[i][0].t().to_string()
            };
            format!("{country}{sep}{}{unit}", scaled(v, sig, word, n))
        })
        .collect();
    let cells: Vec<CellAddr> = rows.iter().map(|&i| t.addr(i, j)).collect();
    let bullet = chance(rng, 0.5);
    let body = lines
        .iter()
        .map(|l| {
            if bullet {
                format!("• {l}")
            } else {
                l.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut parts = vec![
        title_part(
            s,
            format!(
                "{}, {}",
                pick(
                    rng,
                    &["Active users by market", "Where our users are", "User base"]
                ),
                t.cols[j].name
            ),
        ),
        text_part(s, body),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_names(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let (role, cols): (Role, &[usize]) = match b.domain {
        Domain::Hr => (Role::Employees, &[0, 1, 2]),
        Domain::Inventory => (Role::Stock, &[0, 1, 2]),
        Domain::Sales => (Role::Pipeline, &[0, 1, 5]),
        Domain::Subs => (Role::Customers, &[0, 1]),
        Domain::Regional => return None,
    };
    let t = b.tab(role)?;
    let rows = {
        let k = between(rng, 4, 8);
        some_rows(rng, t.body_rows(), k)
    };
    let case = rng.below(4);
    let (grid_rows, cells) = grid(t, &rows, cols, headers(t, cols), |c, v| {
        let x = v.t().to_string();
        match (case, c.kind) {
            (1, Kind::Ident) => x.to_uppercase(),
            (2, Kind::Ident) if x.chars().any(|ch| ch.is_ascii_digit()) => x.to_lowercase(),
            (3, _) => format!(" {x} "),
            _ => x,
        }
    });
    let title = match role {
        Role::Employees => "Team members",
        Role::Stock => "Items in scope",
        Role::Pipeline => "Deals and owners",
        _ => "Customers on the programme",
    };
    let mut parts = vec![title_part(s, title), table_part(s, grid_rows)];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_transposed(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let tabs: Vec<&Tab> = data_tabs(b)
        .into_iter()
        .filter(|t| {
            matches!(
                t.role,
                Role::Headcount
                    | Role::Attrition
                    | Role::MrrByPlan
                    | Role::Users
                    | Role::Revenue
                    | Role::PaidShare
                    | Role::ByStage
                    | Role::WhTotals
                    | Role::Owners
            )
        })
        .collect();
    if tabs.is_empty() {
        return None;
    }
    let t = *pick(rng, &tabs);
    let nr = t.body_rows();
    let k = between(rng, 3, 5).min(nr);
    let start = rng.below(nr - k + 1);
    let rows: Vec<usize> = (start..start + k).collect();
    let nc = t.cols.len() - 1;
    let kc = between(rng, 2, 4).min(nc);
    let c0 = 1 + rng.below(nc - kc + 1);
    let cols: Vec<usize> = (c0..c0 + kc).collect();
    let regroup = chance(rng, 0.4);
    let n = other_num(rng, b.l.num);
    let render = |c: &Col, v: &V| match c.kind {
        Kind::Count if regroup => num(v.n(), 0, n),
        Kind::Money(d) if regroup => num(v.n(), if b.l.cur == Cur::Jpy { 0 } else { d }, n),
        _ => b.show(c, v),
    };
    let mut out = vec![{
        let mut h = vec![String::new()];
        h.extend(rows.iter().map(|&i| t.rows[i][0].t().to_string()));
        h
    }];
    let mut cells = Vec::new();
    for &j in &cols {
        let mut r = vec![t.cols[j].name.clone()];
        for &i in &rows {
            r.push(render(&t.cols[j], &t.rows[i][j]));
            cells.push(t.addr(i, j));
        }
        out.push(r);
    }
    let mut parts = vec![title_part(s, t.title_or(b.sheet_of(t))), table_part(s, out)];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_subset(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let (role, by, keep, what): (Role, usize, &[usize], &str) = match b.domain {
        Domain::Hr => (Role::Employees, 2, &[1, 3, 4, 5], "team"),
        Domain::Sales => (Role::Pipeline, 2, &[1, 3, 4, 5], "deals"),
        Domain::Inventory => (Role::Stock, 2, &[0, 1, 3, 5], "stock"),
        Domain::Subs => (Role::Customers, 1, &[0, 2, 3, 4], "customers"),
        Domain::Regional => return None,
    };
    let t = b.tab(role)?;
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in 0..t.body_rows() {
        groups
            .entry(t.rows[i][by].t().to_string())
            .or_default()
            .push(i);
    }
    let fits: Vec<(&String, &Vec<usize>)> = groups.iter().filter(|(_, r)| r.len() >= 3).collect();
    if fits.is_empty() {
        return None;
    }
    let (key, rows) = *pick(rng, &fits);
    let rows: Vec<usize> = rows.iter().copied().take(7).collect();
    let cols: Vec<usize> = if chance(rng, 0.4) {
        keep[..3].to_vec()
    } else {
        keep.to_vec()
    };
    let reformat = chance(rng, 0.5);
    let df = *pick(rng, &[Df::MonDY, Df::DMonY, Df::Iso, Df::DmySlash]);
    let forms = money_forms(b.l.cur);
    let (sym, before, space, n) = *pick(rng, &forms);
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| match c.kind {
        Kind::Date if reformat => df.show(v.d()),
        Kind::Money(d) if reformat => money_text(
            v.n(),
            if b.l.cur == Cur::Jpy { 0 } else { d },
            sym,
            n,
            before,
            space,
        ),
        _ => b.show(c, v),
    });
    let mut parts = vec![
        title_part(s, format!("{key}: {what}")),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    De,
    Fr,
    Es,
    It,
    Nl,
    Ja,
}

fn lang_num(rng: &mut Rng, l: Lang) -> Num {
    match l {
        Lang::De | Lang::Es | Lang::It | Lang::Nl => DE,
        Lang::Fr => *pick(rng, &[FR, FR_NBSP, FR_SPACE]),
        Lang::Ja => US,
    }
}

fn lang_money(l: Lang, v: f64, d: usize, cur: Cur, n: Num) -> String {
    let d = if cur == Cur::Jpy { 0 } else { d };
    let sym = if cur == Cur::Eur { "€" } else { cur.code() };
    match l {
        Lang::De | Lang::Es | Lang::It => money_text(v, d, sym, n, false, " "),
        Lang::Fr => money_text(v, d, sym, n, false, "\u{a0}"),
        Lang::Nl => money_text(v, d, sym, n, true, " "),
        Lang::Ja if cur == Cur::Jpy => money_text(v, 0, "円", n, false, ""),
        Lang::Ja => money_text(v, d, cur.sym(), n, true, ""),
    }
}

/// How a date reads in a sentence of language `l` (`long`: the month spelt out).
fn lang_date(l: Lang, d: i64, long: bool) -> String {
    match l {
        Lang::De if long => Df::DeLong.show(d),
        Lang::De => Df::DmyDot.show(d),
        Lang::Fr if long => Df::FrLong.show(d),
        Lang::Fr | Lang::Es | Lang::It => Df::DmySlash.show(d),
        Lang::Nl => Df::DmyDash.show(d),
        Lang::Ja => Df::JaLong.show(d),
    }
}

fn lang_count(l: Lang, v: f64, full: bool, n: Num) -> String {
    if full || v < 1e6 {
        return num(v, 0, n);
    }
    match l {
        Lang::Ja => format!("{}万", num((v / 1e4).round(), 0, US)),
        _ => {
            let word = match l {
                Lang::De => " Mio.",
                Lang::Fr => " millions",
                Lang::Es => " millones",
                Lang::It => " milioni",
                _ => " miljoen",
            };
            format!(
                "{}{word}",
                num(
                    round_sig(v / 1e6, 3),
                    sig_decimals(v / 1e6, 3),
                    Num { grp: "", ..n }
                )
            )
        }
    }
}

fn country_in(l: Lang, c: &str) -> String {
    let t: &[(&str, [&str; 5])] = &[
        (
            "Germany",
            [
                "Deutschland",
                "Allemagne",
                "Alemania",
                "Germania",
                "Duitsland",
            ],
        ),
        ("India", ["Indien", "Inde", "India", "India", "India"]),
        (
            "Brazil",
            ["Brasilien", "Brésil", "Brasil", "Brasile", "Brazilië"],
        ),
        ("Japan", ["Japan", "Japon", "Japón", "Giappone", "Japan"]),
        (
            "France",
            ["Frankreich", "France", "Francia", "Francia", "Frankrijk"],
        ),
        (
            "Spain",
            ["Spanien", "Espagne", "España", "Spagna", "Spanje"],
        ),
        ("Italy", ["Italien", "Italie", "Italia", "Italia", "Italië"]),
        (
            "Mexico",
            ["Mexiko", "Mexique", "México", "Messico", "Mexico"],
        ),
        (
            "United Kingdom",
            [
                "Großbritannien",
                "Royaume-Uni",
                "Reino Unido",
                "Regno Unito",
                "Verenigd Koninkrijk",
            ],
        ),
        (
            "United States",
            [
                "USA",
                "États-Unis",
                "Estados Unidos",
                "Stati Uniti",
                "Verenigde Staten",
            ],
        ),
    ];
    let k = match l {
        Lang::De => 0,
        Lang::Fr => 1,
        Lang::Es => 2,
        Lang::It => 3,
        Lang::Nl => 4,
        Lang::Ja => return c.to_string(),
    };
    t.iter()
        .find(|(en, _)| *en == c)
        .map_or_else(|| c.to_string(), |(_, tr)| tr[k].to_string())
}

fn b_sentences(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let l = *pick(
        rng,
        &[Lang::De, Lang::Fr, Lang::Es, Lang::It, Lang::Nl, Lang::Ja],
    );
    let n = lang_num(rng, l);
    let full = chance(rng, 0.4);
    let long = chance(rng, 0.3);
    let (t, label, val, date): (&Tab, usize, usize, Option<usize>) = match b.domain {
        Domain::Subs => (b.tab(Role::Customers)?, 0, 3, Some(4)),
        Domain::Hr => (b.tab(Role::Employees)?, 1, 5, Some(4)),
        Domain::Inventory => (b.tab(Role::Stock)?, 0, 3, Some(5)),
        Domain::Sales => (b.tab(Role::Pipeline)?, 1, 3, Some(4)),
        Domain::Regional => {
            let t = b.tab(Role::Users)?;
            (t, 0, between(rng, 1, t.cols.len() - 1), None)
        }
    };
    let rows = {
        let k = between(rng, 3, 5);
        some_rows(rng, t.body_rows(), k)
    };
    let mut cells = Vec::new();
    let mut sentences = Vec::new();
    for &i in &rows {
        let r = &t.rows[i];
        let who = if b.domain == Domain::Regional {
            country_in(l, r[label].t())
        } else {
            r[label].t().to_string()
        };
        let v = match t.cols[val].kind {
            Kind::Money(d) => lang_money(l, r[val].n(), d, b.l.cur, n),
            _ => lang_count(l, r[val].n(), full, n),
        };
        let d = date
            .map(|j| lang_date(l, r[j].d(), long))
            .unwrap_or_default();
        let q = &t.cols[val].name;
        let line = match (b.domain, l) {
            (Domain::Subs, Lang::De) => {
                format!("{who} zahlt derzeit {v} MRR; die Verlängerung ist am {d} fällig.")
            }
            (Domain::Subs, Lang::Fr) => {
                format!("{who} paie actuellement {v} de MRR ; renouvellement prévu le {d}.")
            }
            (Domain::Subs, Lang::Es) => format!("{who} paga {v} de MRR y renueva el {d}."),
            (Domain::Subs, Lang::It) => format!("{who} paga {v} di MRR, con rinnovo il {d}."),
            (Domain::Subs, Lang::Nl) => format!("{who} betaalt {v} MRR; verlenging op {d}."),
            (Domain::Subs, Lang::Ja) => format!("{who}のMRRは{v}で、更新日は{d}です。"),
            (Domain::Hr, Lang::De) => {
                format!("{who} verdient {v} im Jahr und ist seit dem {d} bei uns.")
            }
            (Domain::Hr, Lang::Fr) => format!("{who} perçoit {v} par an depuis le {d}."),
            (Domain::Hr, Lang::Es) => format!("{who} cobra {v} al año desde el {d}."),
            (Domain::Hr, Lang::It) => format!("{who} guadagna {v} all'anno, assunto il {d}."),
            (Domain::Hr, Lang::Nl) => format!("{who} verdient {v} per jaar sinds {d}."),
            (Domain::Hr, Lang::Ja) => format!("{who}の年収は{v}、入社日は{d}です。"),
            (Domain::Inventory, Lang::De) => {
                format!("Von {who} liegen {v} Einheiten auf Lager; Nachbestellung am {d}.")
            }
            (Domain::Inventory, Lang::Fr) => {
                format!("Stock de {who} : {v} unités, réapprovisionnement le {d}.")
            }
            (Domain::Inventory, Lang::Es) => {
                format!("Quedan {v} unidades de {who}; el pedido de reposición es el {d}.")
            }
            (Domain::Inventory, Lang::It) => {
                format!("Di {who} restano {v} unità; riordino il {d}.")
            }
            (Domain::Inventory, Lang::Nl) => {
                format!("Van {who} liggen {v} stuks op voorraad; bijbestellen op {d}.")
            }
            (Domain::Inventory, Lang::Ja) => format!("{who}の在庫は{v}個、発注日は{d}です。"),
            (Domain::Sales, Lang::De) => {
                format!("Der Abschluss mit {who} über {v} ist für den {d} geplant.")
            }
            (Domain::Sales, Lang::Fr) => {
                format!("L'affaire {who} ({v}) devrait être signée le {d}.")
            }
            (Domain::Sales, Lang::Es) => {
                format!("La oportunidad con {who} por {v} se cerrará el {d}.")
            }
            (Domain::Sales, Lang::It) => {
                format!("L'accordo con {who} da {v} dovrebbe chiudersi il {d}.")
            }
            (Domain::Sales, Lang::Nl) => {
                format!("De deal met {who} van {v} sluit naar verwachting op {d}.")
            }
            (Domain::Sales, Lang::Ja) => format!("{who}との商談({v})は{d}に成約予定です。"),
            (Domain::Regional, Lang::De) => format!("{who} erreichte im {q} {v} Nutzer."),
            (Domain::Regional, Lang::Fr) => format!("{who} a atteint {v} utilisateurs au {q}."),
            (Domain::Regional, Lang::Es) => format!("{who} alcanzó {v} usuarios en el {q}."),
            (Domain::Regional, Lang::It) => format!("{who} ha raggiunto {v} utenti nel {q}."),
            (Domain::Regional, Lang::Nl) => format!("{who} bereikte {v} gebruikers in {q}."),
            (Domain::Regional, Lang::Ja) => format!("{who}のユーザー数は{q}に{v}人に達しました。"),
        };
        sentences.push(line);
        if carried(t.cols[label].kind) {
            cells.push(t.addr(i, label));
        }
        cells.push(t.addr(i, val));
        if let Some(j) = date {
            cells.push(t.addr(i, j));
        }
    }
    let title = match l {
        Lang::De => "Überblick",
        Lang::Fr => "Points clés",
        Lang::Es => "Resumen",
        Lang::It => "Punti salienti",
        Lang::Nl => "Samenvatting",
        Lang::Ja => "概要",
    };
    let sep = if l == Lang::Ja { "" } else { " " };
    let body = if chance(rng, 0.5) {
        sentences.join(sep)
    } else {
        sentences.join("\n")
    };
    let mut parts = vec![title_part(s, title), text_part(s, body)];
    footer(rng, s, &mut parts);
    cells.sort();
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_headcount(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let t = b.tab(Role::Headcount)?;
    let nr = t.body_rows();
    let all = chance(rng, 0.5);
    let mut rows: Vec<usize> = if all {
        (0..nr).collect()
    } else {
        {
            let k = between(rng, 4, 6);
            some_rows(rng, nr, k)
        }
    };
    if all && chance(rng, 0.6) {
        rows.push(nr);
    }
    let nc = t.cols.len() - 1;
    let kc = between(rng, 2, 4).min(nc);
    let c0 = 1 + rng.below(nc - kc + 1);
    let mut cols = vec![0];
    cols.extend(c0..c0 + kc);
    let n = *pick(rng, &[US, b.l.num, PLAIN]);
    let rename = chance(rng, 0.3);
    let header: Vec<String> = cols
        .iter()
        .map(|&j| {
            if j == 0 {
                pick(rng, &["Department", "Team", "Function"]).to_string()
            } else if rename {
                format!("Q{j}")
            } else {
                t.cols[j].name.clone()
            }
        })
        .collect();
    let (grid_rows, cells) = grid(t, &rows, &cols, header, |c, v| match c.kind {
        Kind::Count => num(v.n(), 0, n),
        _ => b.show(c, v),
    });
    let mut parts = vec![
        title_part(
            s,
            *pick(
                rng,
                &[
                    "Headcount by department",
                    "Where our people are",
                    "Team size by function",
                ],
            ),
        ),
        table_part(s, grid_rows),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_pipeline(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let cur = b.l.cur;
    let style = rng.below(4);
    let amount = |rng: &mut Rng, v: f64, how: usize| -> String {
        match how {
            0 => scaled_money(v, *pick(rng, &[2usize, 3]), cur, style),
            1 => money_text(
                round_sig(v, 3),
                0,
                cur.sym(),
                US,
                true,
                if cur == Cur::Chf { " " } else { "" },
            ),
            _ => b.cell(Kind::Money(0), &V::N(v)).1,
        }
    };
    let how = rng.below(3);
    if chance(rng, 0.5) {
        let t = b.tab(Role::ByStage)?;
        let with_total = chance(rng, 0.5);
        let mut rows: Vec<usize> = (0..t.body_rows()).collect();
        if with_total {
            rows.push(t.rows.len() - 1);
        }
        let cols: Vec<usize> = if chance(rng, 0.5) {
            vec![0, 1, 2, 3]
        } else {
            vec![0, 1, 2]
        };
        let mut out = vec![headers(t, &cols)];
        let mut cells = Vec::new();
        for &i in &rows {
            let mut r = Vec::new();
            for &j in &cols {
                let v = &t.rows[i][j];
                r.push(match t.cols[j].kind {
                    Kind::Money(_) => amount(rng, v.n(), how),
                    _ => b.show(&t.cols[j], v),
                });
                if j > 0 {
                    cells.push(t.addr(i, j));
                }
            }
            out.push(r);
        }
        let mut parts = vec![
            title_part(
                s,
                *pick(
                    rng,
                    &[
                        "Pipeline by stage",
                        "Where the pipeline stands",
                        "Pipeline summary",
                    ],
                ),
            ),
            table_part(s, out),
        ];
        footer(rng, s, &mut parts);
        return Some(Slide {
            parts,
            truth: truth(b, t, cells),
        });
    }
    let t = b.tab(Role::Pipeline)?;
    // The biggest deals, the late-stage ones, or the next to close; a handful of them.
    let mut order: Vec<usize> = (0..t.rows.len()).collect();
    let (focus, title_words): (usize, &[&str]) = match rng.below(3) {
        0 => (
            0,
            &[
                "Top open deals",
                "Biggest deals this half",
                "Deals to watch",
            ],
        ),
        1 => {
            order.retain(|&i| matches!(t.rows[i][2].t(), "Negotiation" | "Commit"));
            (
                0,
                &[
                    "Late-stage deals",
                    "Negotiation and commit",
                    "Deals close to signing",
                ],
            )
        }
        _ => (1, &["Next to close", "Closing soon", "Upcoming closes"]),
    };
    if focus == 0 {
        order.sort_by(|&a, &c| t.rows[c][3].n().total_cmp(&t.rows[a][3].n()));
    } else {
        order.sort_by_key(|&i| t.rows[i][4].d());
    }
    order.truncate(between(rng, 4, 6));
    if order.len() < 3 {
        return None;
    }
    let df = *pick(
        rng,
        &[Df::MonDY, Df::DMonY, Df::DmySlash, Df::Iso, b.l.date],
    );
    let cols = [1usize, 2, 3, 4, 5];
    let mut out = vec![vec![
        "Account".to_string(),
        "Stage".into(),
        "Amount".into(),
        "Close".into(),
        "Owner".into(),
    ]];
    let mut cells = Vec::new();
    for &i in &order {
        let r = &t.rows[i];
        out.push(vec![
            r[1].t().to_string(),
            r[2].t().to_string(),
            amount(rng, r[3].n(), how),
            df.show(r[4].d()),
            r[5].t().to_string(),
        ]);
        cells.extend(cols.iter().filter(|&&j| j != 2).map(|&j| t.addr(i, j)));
    }
    let mut parts = vec![title_part(s, *pick(rng, title_words)), table_part(s, out)];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

fn b_quote(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let t = b.tab(Role::Notes)?;
    let i = rng.below(t.rows.len());
    let note = t.rows[i][2].t();
    let sentences: Vec<&str> = note.split_inclusive(". ").map(str::trim).collect();
    let quoted = if chance(rng, 0.5) || sentences.len() < 4 {
        note.to_string()
    } else {
        // The first few sentences, at least 25 words.
        let mut out = String::new();
        for sent in &sentences {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(sent);
            if out.split_whitespace().count() >= 25 && chance(rng, 0.6) {
                break;
            }
        }
        out
    };
    let who = t.rows[i][1].t();
    let text = match rng.below(4) {
        0 => format!("“{quoted}”\n— {who}"),
        1 => format!("\"{quoted}\""),
        2 => format!("From the review notes: {quoted}"),
        _ => format!("{who} wrote: “{quoted}”"),
    };
    let mut parts = vec![
        title_part(
            s,
            *pick(
                rng,
                &[
                    "What the team is saying",
                    "Context",
                    "Notes from the review",
                ],
            ),
        ),
        text_part(s, text),
    ];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, vec![t.addr(i, 2)]),
    })
}

/// Dates with what they belong to: start dates of staff, close dates of deals, reorder
/// dates of SKUs, renewals of customers (for a second slide of a two-source deck).
fn b_dates_labelled(rng: &mut Rng, b: &Book, s: u32) -> Option<Slide> {
    let (role, label, title) = match b.domain {
        Domain::Hr => (Role::Employees, 1, "New joiners and anniversaries"),
        Domain::Sales => (Role::Pipeline, 1, "Expected close dates"),
        Domain::Inventory => (Role::Stock, 0, "Reorder schedule"),
        Domain::Subs => (Role::Customers, 0, "Renewal dates"),
        Domain::Regional => return None,
    };
    let t = b.tab(role)?;
    let j = t.col_of(|c| c.kind == Kind::Date)[0];
    let rows = {
        let k = between(rng, 3, 6);
        some_rows(rng, t.body_rows(), k)
    };
    let df = *pick(
        rng,
        &[
            Df::MonDY,
            Df::DMonY,
            Df::DmySlash,
            Df::Iso,
            Df::DmyDot,
            b.l.date,
        ],
    );
    let cols = [label, j];
    let (grid_rows, cells) = grid(t, &rows, &cols, headers(t, &cols), |c, v| match c.kind {
        Kind::Date => df.show(v.d()),
        _ => b.show(c, v),
    });
    let mut parts = vec![title_part(s, title), table_part(s, grid_rows)];
    footer(rng, s, &mut parts);
    Some(Slide {
        parts,
        truth: truth(b, t, cells),
    })
}

const BUILDERS: [Option<Builder>; N_CLASSES] = [
    Some(b_verbatim),
    Some(b_regroup),
    Some(b_currency),
    Some(b_percent),
    Some(b_scaled),
    Some(b_rounded),
    Some(b_dates_only),
    Some(b_counts_scale),
    None, // two sources: two slides of the builders below
    Some(b_names),
    Some(b_transposed),
    Some(b_subset),
    Some(b_sentences),
    Some(b_headcount),
    Some(b_pipeline),
    Some(b_quote),
];

const TWO_SOURCE_SLIDES: [Builder; 4] = [b_currency, b_percent, b_names, b_dates_labelled];

const DECK_NAMES: &[&str] = &[
    "QBR",
    "Board update",
    "Ops review",
    "All hands",
    "Leadership sync",
    "Regional review",
    "Monthly business review",
];

fn deck_target(k: usize, title: &str) -> DocumentRef {
    let name = format!("{title} {k:03}.pptx");
    DocumentRef::new(
        App::Powerpoint,
        name.clone(),
        format!("https://fabrikam.sharepoint.com/sites/decks/Shared Documents/{name}"),
    )
}

/// One slide of `class` from one of `books`, tried on books in random order.
fn one_slide(rng: &mut Rng, books: &[Book], build: Builder, slide: u32) -> Option<(usize, Slide)> {
    let mut order: Vec<usize> = (0..books.len()).collect();
    shuffle(rng, &mut order);
    for bi in order {
        if let Some(s) = build(rng, &books[bi], slide) {
            return Some((bi, s));
        }
    }
    None
}

/// A deck of `class` built from `books`: its parts and truths.
fn deck(rng: &mut Rng, books: &[Book], class: usize) -> Option<(Vec<WritePart>, Vec<Truth>)> {
    match BUILDERS[class] {
        Some(build) => {
            let (_, s) = one_slide(rng, books, build, 1)?;
            Some((s.parts, vec![s.truth]))
        }
        None => {
            let first = *pick(rng, &TWO_SOURCE_SLIDES);
            let (a, s1) = one_slide(rng, books, first, 1)?;
            let others: Vec<&Book> = books
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != a)
                .map(|(_, b)| b)
                .collect();
            let second = *pick(rng, &TWO_SOURCE_SLIDES);
            let mut order: Vec<usize> = (0..others.len()).collect();
            shuffle(rng, &mut order);
            let s2 = order.into_iter().find_map(|i| second(rng, others[i], 2))?;
            let mut parts = s1.parts;
            parts.extend(s2.parts);
            Some((parts, vec![s1.truth, s2.truth]))
        }
    }
}

fn plan_books(rng: &mut Rng, n: usize, tag: &str) -> Vec<Book> {
    // Every domain twice, then the rest at random; locales shuffled so each appears.
    let domains = [
        Domain::Hr,
        Domain::Sales,
        Domain::Inventory,
        Domain::Subs,
        Domain::Regional,
    ];
    let mut ds: Vec<Domain> = domains.iter().chain(domains.iter()).copied().collect();
    while ds.len() < n {
        ds.push(*pick(rng, &domains));
    }
    ds.truncate(n);
    shuffle(rng, &mut ds);
    let mut locs: Vec<Loc> = Vec::new();
    while locs.len() < n {
        let mut l = LOCS.to_vec();
        shuffle(rng, &mut l);
        locs.extend(l);
    }
    ds.into_iter()
        .zip(locs)
        .enumerate()
        .map(|(k, (d, l))| gen_book(rng, d, l, tag, k + 1))
        .collect()
}

/// Corpus B at `seed`: 12 source workbooks and a 40,000-cell ledger read, 8 decks per
/// class of [`HELDOUT_CLASSES`] built from them, and 40 negative decks built from 10
/// workbooks that were never read.
pub fn heldout(seed: u64) -> Corpus {
    let mut rng = Rng::new(seed ^ 0x6865_6c64_6f75_7421);
    let books = plan_books(&mut rng, SOURCE_BOOKS, "");
    let unread = plan_books(&mut rng, UNREAD_BOOKS, "v");
    let mut reads: Vec<ReadEvent> = books
        .iter()
        .enumerate()
        .map(|(k, b)| b.read(1_760_000_000_000 + k as i64 * 60_000))
        .collect();
    let ledger_at = rng.below(reads.len() + 1);
    reads.insert(ledger_at, gen_ledger(&mut rng));
    let mut cases = Vec::new();
    for class in 0..N_CLASSES {
        let mut made = 0;
        while made < PER_CLASS {
            let Some((parts, truths)) = deck(&mut rng, &books, class) else {
                continue;
            };
            made += 1;
            let title = *pick(&mut rng, DECK_NAMES);
            cases.push(Case {
                class: Some(class),
                write: WriteContent {
                    target: deck_target(cases.len(), title),
                    parts,
                    explicit_sources: Vec::new(),
                },
                truths,
            });
        }
    }
    let mut made = 0;
    while made < NEGATIVES {
        let class = rng.below(N_CLASSES);
        let Some((parts, _)) = deck(&mut rng, &unread, class) else {
            continue;
        };
        made += 1;
        cases.push(Case {
            class: None,
            write: WriteContent {
                target: deck_target(cases.len(), word(&mut rng, DECK_NAMES)),
                parts,
                explicit_sources: Vec::new(),
            },
            truths: Vec::new(),
        });
    }
    Corpus {
        classes: HELDOUT_CLASSES.to_vec(),
        reads,
        cases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_text(w: &WriteContent) -> String {
        w.parts
            .iter()
            .map(|p| match p {
                WritePart::Text { text, .. } => text.clone(),
                WritePart::Table { rows, .. } => rows
                    .iter()
                    .map(|r| r.join(" | "))
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn dates_and_numbers_render_as_excel_and_people_do() {
        assert_eq!(serial(2025, 3, 31), 45_747);
        assert_eq!(serial(1900, 3, 1), 61);
        assert_eq!(ymd(45_747), (2025, 3, 31));
        assert_eq!(ymd(serial(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(Df::MonDY.show(45_747), "Mar 31, 2025");
        assert_eq!(Df::DmyDot.show(45_747), "31.03.2025");
        assert_eq!(Df::DMonY.show(45_747), "31 Mar 2025");
        assert_eq!(num(1_234_567.891, 2, DE), "1.234.567,89");
        assert_eq!(num(1_234_567.891, 2, FR), "1\u{202F}234\u{202F}567,89");
        assert_eq!(num(1_234_567.891, 2, IN), "12,34,567.89");
        assert_eq!(num(1_234_567.891, 2, CH), "1’234’567.89");
        assert_eq!(num(999.5, 0, US), "1,000");
        assert_eq!(num(-0.001, 2, US), "0.00");
        assert_eq!(scaled(15_234_118.0, 2, Scale::Word, US), "15 million");
        assert_eq!(scaled(8_512_000.0, 2, Scale::Word, US), "8.5 million");
        assert_eq!(scaled(999_700.0, 2, Scale::Short, US), "1.0M");
        assert_eq!(scaled(4_520_000.0, 2, Scale::German, DE), "4,5 Mio.");
        assert_eq!(scaled(12_300_000.0, 2, Scale::Indian, US), "1.2 crore");
        let l = make_locale(&mut Rng::new(1), Loc::FrFr);
        assert_eq!(l.money(1234.5, 2).0, "1\u{202F}234,50\u{a0}€");
        let l = make_locale(&mut Rng::new(1), Loc::JaJp);
        assert_eq!(l.money(1_234_567.4, 2).0, "¥1,234,567");
    }

    #[test]
    fn the_corpus_has_its_shape_and_is_the_same_for_a_seed() {
        let c = heldout(HELDOUT_SEED);
        assert_eq!(c.classes.len(), HELDOUT_GOALS.len());
        for (class, name) in CLASS_NAMES.iter().enumerate() {
            let n = c.cases.iter().filter(|k| k.class == Some(class)).count();
            assert_eq!(n, PER_CLASS, "{name}");
        }
        assert_eq!(
            c.cases.iter().filter(|k| k.class.is_none()).count(),
            NEGATIVES
        );
        assert_eq!(c.reads.len(), SOURCE_BOOKS + 1);
        let ledger = c
            .reads
            .iter()
            .find(|r| r.document.name.starts_with("General Ledger"))
            .unwrap();
        assert_eq!(ledger.sheets[0].cells.len(), 40_000);
        // Every truth names cells that were read, of the named sheet; never the ledger's.
        for case in &c.cases {
            if case.class == Some(8) {
                assert_eq!(case.truths.len(), 2);
                assert_ne!(case.truths[0].doc, case.truths[1].doc);
            }
            for t in &case.truths {
                assert_ne!(t.doc, ledger.document.id);
                let r = c.reads.iter().find(|r| r.document.id == t.doc).unwrap();
                let s = r.sheets.iter().find(|s| s.sheet == t.sheet).unwrap();
                assert!(!t.cells.is_empty());
                for a in &t.cells {
                    assert!(s.cells.iter().any(|rc| rc.addr == *a), "{a} on {}", t.sheet);
                }
            }
        }
        // Negatives come from workbooks that were not read.
        let again = heldout(HELDOUT_SEED);
        let texts = |c: &Corpus| {
            c.cases
                .iter()
                .map(|k| all_text(&k.write))
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&c), texts(&again));
        let cells = |c: &Corpus| {
            c.reads
                .iter()
                .map(|r| (r.document.clone(), r.sheets.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(cells(&c), cells(&again));
        assert_ne!(texts(&c), texts(&heldout(HELDOUT_SEED + 1)));
    }

    #[test]
    fn layouts_and_locales_vary() {
        let c = heldout(HELDOUT_SEED);
        let sheets: Vec<&SheetRead> = c.reads.iter().flat_map(|r| &r.sheets).collect();
        assert!(sheets.iter().any(|s| s.sheet.contains(' ')));
        let texts: Vec<&str> = sheets
            .iter()
            .flat_map(|s| s.cells.iter().filter_map(|c| c.text.as_deref()))
            .collect();
        assert!(texts.iter().any(|t| t.contains('\u{202F}')));
        assert!(texts.iter().any(|t| t.starts_with('₹')));
        assert!(texts.iter().any(|t| t.contains('.') && t.ends_with(" €")));
        // Some table starts away from A1.
        assert!(sheets.iter().all(|s| !s.cells.is_empty()));
        assert!(
            sheets
                .iter()
                .any(|s| s.cells.iter().all(|c| c.addr.row > 0 || c.addr.col > 0))
        );
    }
}
