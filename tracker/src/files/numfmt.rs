//! Rendering a number the way Excel displays it under a number format code, for the
//! common families: General, fixed decimals, thousands separators, scaling commas,
//! percent, currency prefixes and suffixes (`$`, `[$€-407]`, quoted text), scientific,
//! negative sections, and dates and times (`yyyy-mm-dd`, `m/d/yyyy`, `d-mmm-yy`,
//! `h:mm AM/PM`). Anything else (conditions, fractions, elapsed time, fractional seconds,
//! locale calendars, digits split by literals) gives `None`: no text is better than a
//! wrong text, because the detector would then match against something nobody saw.
//!
//! Hand-written because no small, well-kept crate does this job alone: calamine reads
//! formats but does not render them, rust_xlsxwriter writes them, the number-formatting
//! crates (num-format, numfmt) know nothing of Excel's format language (sections, scaling
//! commas, `[$€-407]`, the 1900 date system), and the renderers that exist live inside
//! whole spreadsheet libraries (umya-spreadsheet, excelize-rs) that would bring a second
//! xlsx stack beside calamine.

/// Excel's displayed text for `value` under format `code` (1900 date system), or `None`
/// when the format is not understood.
pub fn format_number(value: f64, code: &str) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    if code == "General" {
        // Most cells of most workbooks: what the section walk below would give, without
        // splitting and tokenising the code once per cell.
        return Some(general(value));
    }
    let sections = split_sections(code)?;
    let (section, v, minus) = match sections.len() {
        1 => (&sections[0], value.abs(), value < 0.0),
        2 if value < 0.0 => (&sections[1], -value, false),
        2 => (&sections[0], value, false),
        3 | 4 if value < 0.0 => (&sections[1], -value, false),
        3 | 4 if value == 0.0 => (&sections[2], 0.0, false),
        3 | 4 => (&sections[0], value, false),
        _ => return None,
    };
    let toks = tokenize(section)?;
    let is_date = toks.iter().any(|t| matches!(t, Tok::Date(_)));
    if is_date {
        // Dates have no negative form: Excel shows ####.
        if value < 0.0 {
            return None;
        }
        return render_date(value, &toks);
    }
    let body = render_number(v, &toks)?;
    Some(if minus && !is_zero_text(&body) {
        format!("-{body}")
    } else {
        body
    })
}

/// Excel's General format: up to 10 significant digits, scientific for very large or
/// very small magnitudes.
pub(crate) fn general(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if !(1e-9..1e11).contains(&a) {
        // 1.23457E+11
        let s = format!("{:.5E}", v);
        let (mant, exp) = s.split_once('E').unwrap_or((&s, "0"));
        let mant = trim_fraction(mant);
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}E{sign}{:02}", exp.abs());
    }
    // Round to 10 significant digits, then print without trailing zeros.
    let digits_before = a.log10().floor() as i32 + 1;
    let decimals = (10 - digits_before).clamp(0, 10) as usize;
    if let Some(s) = general_shortest(v, decimals) {
        return s;
    }
    let d = decimal_round(a, decimals);
    let s = trim_fraction(&d);
    if v < 0.0 { format!("-{s}") } else { s }
}

/// General's text for `v` when the shortest decimal that reads back as `v` (what Rust
/// prints) is already it: that decimal has at most 15 significant digits and at most
/// `decimals` decimals. Then `decimal_round`'s first step (15 significant digits) lands
/// exactly on it, because a double is within 2^-53 of it, less than half a unit in the
/// 15th digit, and the second (to `decimals` places) leaves it alone; and it has no
/// trailing zeros to trim. `None`: take the long way. Reading a sheet of figures renders
/// one text per cell, and this is most of them at a fraction of the cost.
fn general_shortest(v: f64, decimals: usize) -> Option<String> {
    let s = v.to_string();
    let unsigned = s.strip_prefix('-').unwrap_or(&s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if frac.len() > decimals {
        return None;
    }
    let int = int.trim_start_matches('0');
    let significant = if int.is_empty() {
        frac.trim_start_matches('0').len()
    } else {
        int.len() + frac.len()
    };
    (significant <= 15).then_some(s)
}

fn trim_fraction(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn is_zero_text(s: &str) -> bool {
    !s.chars().any(|c| c.is_ascii_digit() && c != '0')
}

/// Splits a format code into its `;`-separated sections, respecting quotes, escapes and
/// brackets.
fn split_sections(code: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut chars = code.chars();
    while let Some(c) = chars.next() {
        let cur = out.last_mut()?;
        match c {
            '"' => {
                cur.push(c);
                for q in chars.by_ref() {
                    cur.push(q);
                    if q == '"' {
                        break;
                    }
                }
            }
            '\\' | '_' | '*' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '[' => {
                cur.push(c);
                for q in chars.by_ref() {
                    cur.push(q);
                    if q == ']' {
                        break;
                    }
                }
            }
            ';' => out.push(String::new()),
            _ => cur.push(c),
        }
    }
    Some(out)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Lit(String),
    /// `0`, `#` or `?`.
    Digit(char),
    Dot,
    Comma,
    Percent,
    /// `E+` / `E-`.
    Exp(char),
    /// A run of one date letter, lowercased (`yyyy`, `m`, `dd`), or `ampm` / `ap` with the
    /// case of the code kept in the second element of the literal that follows.
    Date(String),
    General,
    At,
}

fn tokenize(section: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = section.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                let mut lit = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    lit.push(chars[i]);
                    i += 1;
                }
                toks.push(Tok::Lit(lit));
            }
            '\\' => {
                i += 1;
                if let Some(n) = chars.get(i) {
                    toks.push(Tok::Lit(n.to_string()));
                }
            }
            // `_x` leaves the width of x as a space; Excel's text keeps the space.
            '_' => {
                i += 1;
                toks.push(Tok::Lit(" ".to_string()));
            }
            // `*x` fills the cell with x: the count depends on column width; drop it.
            '*' => i += 1,
            '[' => {
                let mut inner = String::new();
                i += 1;
                while i < chars.len() && chars[i] != ']' {
                    inner.push(chars[i]);
                    i += 1;
                }
                if let Some(cur) = inner.strip_prefix('$') {
                    // [$€-407]: a currency symbol and a locale; [$-409]: a locale only.
                    let symbol = cur.split('-').next().unwrap_or("");
                    if !symbol.is_empty() {
                        toks.push(Tok::Lit(symbol.to_string()));
                    }
                } else if !is_color(&inner) {
                    // Conditions ([>100]) and elapsed time ([h]) are not rendered.
                    return None;
                }
            }
            '0' | '#' | '?' => toks.push(Tok::Digit(c)),
            '.' => toks.push(Tok::Dot),
            ',' => toks.push(Tok::Comma),
            '%' => toks.push(Tok::Percent),
            'E' | 'e' if matches!(chars.get(i + 1), Some('+') | Some('-')) => {
                i += 1;
                toks.push(Tok::Exp(chars[i]));
            }
            '@' => toks.push(Tok::At),
            'G' | 'g' if starts_with_ci(&chars[i..], "general") => {
                i += "general".len() - 1;
                toks.push(Tok::General);
            }
            'A' | 'a' if starts_with_ci(&chars[i..], "am/pm") => {
                let upper = c == 'A';
                i += "am/pm".len() - 1;
                toks.push(Tok::Date(if upper { "AMPM" } else { "ampm" }.to_string()));
            }
            'A' | 'a' if starts_with_ci(&chars[i..], "a/p") => {
                let upper = c == 'A';
                i += "a/p".len() - 1;
                toks.push(Tok::Date(if upper { "AP" } else { "ap" }.to_string()));
            }
            'y' | 'Y' | 'm' | 'M' | 'd' | 'D' | 'h' | 'H' | 's' | 'S' => {
                let lc = c.to_ascii_lowercase();
                let mut run = String::new();
                while i < chars.len() && chars[i].to_ascii_lowercase() == lc {
                    run.push(lc);
                    i += 1;
                }
                toks.push(Tok::Date(run));
                continue;
            }
            ' ' | '-' | '+' | '(' | ')' | ':' | '$' | '/' | '^' | '\'' | '{' | '}' | '<' | '>'
            | '=' | '!' | '&' | '~' => toks.push(Tok::Lit(c.to_string())),
            // Other ASCII letters (`b`, `e` for eras, `g`) mean calendars or locales.
            c if c.is_ascii_alphabetic() => return None,
            c => toks.push(Tok::Lit(c.to_string())),
        }
        i += 1;
    }
    Some(toks)
}

fn starts_with_ci(chars: &[char], word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    chars.len() >= w.len()
        && chars
            .iter()
            .zip(&w)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

fn is_color(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "black" | "blue" | "cyan" | "green" | "magenta" | "red" | "white" | "yellow"
    ) || l
        .strip_prefix("color")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn render_number(v: f64, toks: &[Tok]) -> Option<String> {
    if toks.contains(&Tok::General) {
        let mut out = String::new();
        for t in toks {
            match t {
                Tok::General => out.push_str(&general(v)),
                Tok::Lit(s) => out.push_str(s),
                Tok::At => {}
                _ => return None,
            }
        }
        return Some(out);
    }
    let first = toks.iter().position(|t| matches!(t, Tok::Digit(_)));
    let Some(first) = first else {
        // Only literals (e.g. `"-"` for zero in accounting formats), or the text format
        // `@`, under which Excel shows a number as General.
        let mut out = String::new();
        for t in toks {
            match t {
                Tok::Lit(s) => out.push_str(s),
                Tok::Percent => out.push('%'),
                Tok::At => out.push_str(&general(v)),
                _ => return None,
            }
        }
        return Some(out);
    };
    // The numeric block runs from the first digit placeholder to the last placeholder,
    // dot or comma that follows without a literal in between.
    let mut end = first;
    while end < toks.len()
        && matches!(
            toks[end],
            Tok::Digit(_) | Tok::Dot | Tok::Comma | Tok::Exp(_)
        )
    {
        end += 1;
    }
    // Placeholders after a literal (`000-0000`) are not understood.
    if toks[end..]
        .iter()
        .any(|t| matches!(t, Tok::Digit(_) | Tok::Dot | Tok::Comma | Tok::Exp(_)))
    {
        return None;
    }
    if toks[..first]
        .iter()
        .any(|t| matches!(t, Tok::Dot | Tok::Comma | Tok::Exp(_)))
    {
        return None;
    }
    let block = &toks[first..end];
    let percents = toks.iter().filter(|t| **t == Tok::Percent).count() as i32;
    let number = render_block(v * 100f64.powi(percents), block)?;
    let mut out = String::new();
    for t in &toks[..first] {
        push_plain(&mut out, t)?;
    }
    out.push_str(&number);
    for t in &toks[end..] {
        push_plain(&mut out, t)?;
    }
    Some(out)
}

fn push_plain(out: &mut String, t: &Tok) -> Option<()> {
    match t {
        Tok::Lit(s) => out.push_str(s),
        Tok::Percent => out.push('%'),
        Tok::At => {}
        _ => return None,
    }
    Some(())
}

/// Renders the placeholder block (`#,##0.00`, `0.0,,`, `0.00E+00`).
fn render_block(v: f64, block: &[Tok]) -> Option<String> {
    if let Some(e) = block.iter().position(|t| matches!(t, Tok::Exp(_))) {
        return render_scientific(v, &block[..e], block[e].clone(), &block[e + 1..]);
    }
    let dot = block.iter().position(|t| *t == Tok::Dot);
    if block.iter().filter(|t| **t == Tok::Dot).count() > 1 {
        return None;
    }
    let (int_part, frac_part) = match dot {
        Some(d) => (&block[..d], &block[d + 1..]),
        None => (block, &block[block.len()..]),
    };
    // Commas at the end of the integer part (or after the last placeholder) scale by
    // 1000 each; a comma between integer placeholders turns the separator on.
    let trailing_int_commas = int_part
        .iter()
        .rev()
        .take_while(|t| **t == Tok::Comma)
        .count();
    let trailing_frac_commas = frac_part
        .iter()
        .rev()
        .take_while(|t| **t == Tok::Comma)
        .count();
    let int_core = &int_part[..int_part.len() - trailing_int_commas];
    let frac_core = &frac_part[..frac_part.len() - trailing_frac_commas];
    if frac_core.contains(&Tok::Comma) {
        return None;
    }
    let grouping = int_core.contains(&Tok::Comma);
    let scale = (trailing_int_commas + trailing_frac_commas) as i32;
    let v = v / 1000f64.powi(scale);

    let int_zeros = int_core.iter().filter(|t| **t == Tok::Digit('0')).count();
    let int_q = int_core.iter().filter(|t| **t == Tok::Digit('?')).count();
    let frac_digits: Vec<char> = frac_core
        .iter()
        .filter_map(|t| match t {
            Tok::Digit(c) => Some(*c),
            _ => None,
        })
        .collect();
    let decimals = frac_digits.len();
    let rounded = decimal_round(v.abs(), decimals);
    let (int_str, frac_str) = rounded.split_once('.').unwrap_or((&rounded, ""));

    // Integer digits: drop the lone leading zero unless a `0` asks for it.
    let mut int_digits: String = int_str.trim_start_matches('0').to_string();
    while int_digits.len() < int_zeros {
        int_digits.insert(0, '0');
    }
    let mut int_out = if grouping {
        group_thousands(&int_digits)
    } else {
        int_digits
    };
    let pad =
        (int_zeros + int_q).saturating_sub(int_out.chars().filter(char::is_ascii_digit).count());
    for _ in 0..pad.min(int_q) {
        int_out.insert(0, ' ');
    }

    // Fraction digits: `0` always shows, `#` drops trailing zeros, `?` turns them to spaces.
    let mut frac: Vec<char> = frac_str.chars().collect();
    for (i, kind) in frac_digits.iter().enumerate().rev() {
        if frac.get(i) != Some(&'0') {
            break;
        }
        match kind {
            '#' => {
                frac.truncate(i);
            }
            '?' => frac[i] = ' ',
            _ => break,
        }
    }
    let mut out = int_out;
    if dot.is_some() {
        out.push('.');
        out.extend(frac);
    }
    Some(out)
}

fn render_scientific(v: f64, mant: &[Tok], exp: Tok, exp_digits: &[Tok]) -> Option<String> {
    let dot = mant.iter().position(|t| *t == Tok::Dot);
    let (int_part, frac_part) = match dot {
        Some(d) => (&mant[..d], &mant[d + 1..]),
        None => (mant, &mant[mant.len()..]),
    };
    // Engineering notation (`##0.0E+0`) groups exponents by 3: not rendered.
    if int_part.len() != 1 || frac_part.iter().any(|t| !matches!(t, Tok::Digit(_))) {
        return None;
    }
    if exp_digits.iter().any(|t| !matches!(t, Tok::Digit(_))) || exp_digits.is_empty() {
        return None;
    }
    let decimals = frac_part.len();
    let s = format!("{:.*E}", decimals, v.abs());
    let (m, e) = s.split_once('E')?;
    let e: i32 = e.parse().ok()?;
    let sign = match (exp, e < 0) {
        (_, true) => "-",
        (Tok::Exp('+'), false) => "+",
        _ => "",
    };
    let width = exp_digits.len();
    let m = if frac_part.iter().all(|t| *t == Tok::Digit('#')) && decimals > 0 {
        trim_fraction(m)
    } else {
        m.to_string()
    };
    Some(format!("{m}E{sign}{:0width$}", e.abs()))
}

fn group_thousands(digits: &str) -> String {
    let bytes: Vec<char> = digits.chars().collect();
    let mut out = String::new();
    for (i, c) in bytes.iter().enumerate() {
        if i > 0 && (bytes.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    out
}

/// `a` (non-negative) rounded half away from zero at `decimals` places, printed with
/// exactly that many decimals. Works on the 15-significant-digit decimal form, as Excel
/// does, so 1.005 shows as 1.01 and not 1.00.
fn decimal_round(a: f64, decimals: usize) -> String {
    let a = a.abs();
    if a == 0.0 {
        return format_fixed(&[], 0, decimals);
    }
    // 15 significant digits: d.dddddddddddddd e X
    let s = format!("{:.14e}", a);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // Value = 0.d1d2d3... * 10^(exp+1); position of the decimal point after `point` digits.
    let mut point = exp + 1;
    // Keep digits up to `decimals` places after the point.
    let keep = point + decimals as i64;
    if keep < 0 {
        return format_fixed(&[], 0, decimals);
    }
    let keep = keep as usize;
    if keep < digits.len() {
        let round_up = digits[keep] >= 5;
        digits.truncate(keep);
        if round_up {
            let mut i = keep;
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    point += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    }
    format_fixed(&digits, point, decimals)
}

/// Prints digits `0.d1d2... * 10^point` with exactly `decimals` decimals.
fn format_fixed(digits: &[u8], point: i64, decimals: usize) -> String {
    let digit_at = |i: i64| -> char {
        if i >= 0 && (i as usize) < digits.len() {
            (b'0' + digits[i as usize]) as char
        } else {
            '0'
        }
    };
    let mut out = String::new();
    if point <= 0 {
        out.push('0');
    } else {
        for i in 0..point {
            out.push(digit_at(i));
        }
    }
    if decimals > 0 {
        out.push('.');
        for k in 0..decimals as i64 {
            out.push(digit_at(point + k));
        }
    }
    out
}

use crate::excel_date::{MONTHS, date_from_serial, weekday_of_serial};

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Date parts of an Excel serial in the 1900 system, rounded to the second.
struct DateParts {
    year: i64,
    month: u32,
    day: u32,
    weekday: usize,
    hour: u32,
    minute: u32,
    second: u32,
}

fn date_parts(serial: f64) -> Option<DateParts> {
    if !(0.0..(crate::excel_date::MAX_SERIAL + 1) as f64).contains(&serial) {
        return None;
    }
    let total_secs = (serial * 86_400.0).round() as i64;
    let days = total_secs.div_euclid(86_400);
    let secs = total_secs.rem_euclid(86_400);
    let (year, month, day) = date_from_serial(days)?;
    Some(DateParts {
        year,
        month,
        day,
        weekday: weekday_of_serial(days),
        hour: (secs / 3600) as u32,
        minute: (secs / 60 % 60) as u32,
        second: (secs % 60) as u32,
    })
}

fn render_date(serial: f64, toks: &[Tok]) -> Option<String> {
    // Fractional seconds (`ss.0`) and number placeholders in a date are not rendered.
    if toks
        .iter()
        .any(|t| matches!(t, Tok::Digit(_) | Tok::Exp(_) | Tok::Percent | Tok::General))
    {
        return None;
    }
    let p = date_parts(serial)?;
    let twelve = toks
        .iter()
        .any(|t| matches!(t, Tok::Date(s) if s.eq_ignore_ascii_case("ampm") || s.eq_ignore_ascii_case("ap")));
    // Which `m` runs are minutes: right after an hour, or right before a second.
    let date_idx: Vec<usize> = toks
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Tok::Date(_)))
        .map(|(i, _)| i)
        .collect();
    let kind_at = |i: usize| -> Option<char> {
        match &toks[i] {
            Tok::Date(s) => s.chars().next(),
            _ => None,
        }
    };
    let mut out = String::new();
    for (n, &i) in date_idx.iter().enumerate() {
        // Literals between the previous date token and this one.
        let from = if n == 0 { 0 } else { date_idx[n - 1] + 1 };
        for t in &toks[from..i] {
            push_date_literal(&mut out, t)?;
        }
        let Tok::Date(run) = &toks[i] else {
            continue;
        };
        let prev = n.checked_sub(1).and_then(|k| kind_at(date_idx[k]));
        let next = date_idx.get(n + 1).and_then(|&k| kind_at(k));
        let len = run.len();
        match run.chars().next()? {
            'y' => {
                if len <= 2 {
                    out.push_str(&format!("{:02}", p.year.rem_euclid(100)));
                } else {
                    out.push_str(&format!("{:04}", p.year));
                }
            }
            'm' if prev == Some('h') || next == Some('s') => {
                push_num(&mut out, p.minute, len.min(2));
            }
            'm' => match len {
                1 | 2 => push_num(&mut out, p.month, len),
                3 => out.push_str(MONTHS.get(p.month as usize - 1)?.get(..3)?),
                4 => out.push_str(MONTHS.get(p.month as usize - 1)?),
                _ => out.push_str(MONTHS.get(p.month as usize - 1)?.get(..1)?),
            },
            'd' => match len {
                1 | 2 => push_num(&mut out, p.day, len),
                3 => out.push_str(DAYS.get(p.weekday)?.get(..3)?),
                _ => out.push_str(DAYS.get(p.weekday)?),
            },
            'h' => {
                let h = if twelve {
                    match p.hour % 12 {
                        0 => 12,
                        h => h,
                    }
                } else {
                    p.hour
                };
                push_num(&mut out, h, len.min(2));
            }
            's' => push_num(&mut out, p.second, len.min(2)),
            'A' | 'a' => {
                let pm = p.hour >= 12;
                let s = match run.as_str() {
                    "AMPM" => {
                        if pm {
                            "PM"
                        } else {
                            "AM"
                        }
                    }
                    "ampm" => {
                        if pm {
                            "pm"
                        } else {
                            "am"
                        }
                    }
                    "AP" => {
                        if pm {
                            "P"
                        } else {
                            "A"
                        }
                    }
                    _ => {
                        if pm {
                            "p"
                        } else {
                            "a"
                        }
                    }
                };
                out.push_str(s);
            }
            _ => return None,
        }
    }
    let tail = date_idx.last().map_or(0, |&i| i + 1);
    for t in &toks[tail..] {
        push_date_literal(&mut out, t)?;
    }
    Some(out)
}

/// In a date, `.` and `,` are plain separators (`d.m.yyyy`, `mmmm d, yyyy`).
fn push_date_literal(out: &mut String, t: &Tok) -> Option<()> {
    match t {
        Tok::Dot => out.push('.'),
        Tok::Comma => out.push(','),
        t => push_plain(out, t)?,
    }
    Some(())
}

fn push_num(out: &mut String, n: u32, width: usize) {
    if width >= 2 {
        out.push_str(&format!("{n:02}"));
    } else {
        out.push_str(&n.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64, code: &str) -> Option<String> {
        format_number(v, code)
    }

    #[test]
    fn fixed_and_grouped() {
        assert_eq!(f(1234.567, "0.00").as_deref(), Some("1234.57"));
        assert_eq!(f(1234.567, "#,##0").as_deref(), Some("1,235"));
        assert_eq!(f(1234567.891, "#,##0.00").as_deref(), Some("1,234,567.89"));
        assert_eq!(f(0.5, "#.00").as_deref(), Some(".50"));
        assert_eq!(f(0.5, "0.0#").as_deref(), Some("0.5"));
        assert_eq!(f(1.005, "0.00").as_deref(), Some("1.01"));
        assert_eq!(f(2.5, "0").as_deref(), Some("3"));
        assert_eq!(f(-2.5, "0").as_deref(), Some("-3"));
        assert_eq!(f(999.995, "#,##0.00").as_deref(), Some("1,000.00"));
        assert_eq!(f(0.0, "#,##0.00").as_deref(), Some("0.00"));
        assert_eq!(f(7.0, "000").as_deref(), Some("007"));
    }

    #[test]
    fn currency_percent_and_sections() {
        assert_eq!(f(1234.5, "$#,##0.00").as_deref(), Some("$1,234.50"));
        assert_eq!(f(-1234.5, "$#,##0.00").as_deref(), Some("-$1,234.50"));
        assert_eq!(f(1234.5, "\"$\"#,##0.00").as_deref(), Some("$1,234.50"));
        assert_eq!(f(1234.5, "[$€-407]#,##0.00").as_deref(), Some("€1,234.50"));
        assert_eq!(f(1234.5, "#,##0.00 [$€-1]").as_deref(), Some("1,234.50 €"));
        assert_eq!(f(0.1234, "0.0%").as_deref(), Some("12.3%"));
        assert_eq!(f(0.5, "0%").as_deref(), Some("50%"));
        assert_eq!(f(-5.0, "0;(0)").as_deref(), Some("(5)"));
        assert_eq!(f(-5.0, "#,##0;[Red]-#,##0").as_deref(), Some("-5"));
        assert_eq!(f(0.0, "0;-0;\"zero\"").as_deref(), Some("zero"));
        assert_eq!(
            f(-1234.5, "\"$\"#,##0.00_);\\(\"$\"#,##0.00\\)").as_deref(),
            Some("($1,234.50)")
        );
        assert_eq!(f(1234.5, "\"$\"#,##0.00_)").as_deref(), Some("$1,234.50 "));
        assert_eq!(f(1_234_567.0, "0.0,,\"M\"").as_deref(), Some("1.2M"));
        assert_eq!(f(1_234_567.0, "#,##0,").as_deref(), Some("1,235"));
        assert_eq!(f(12345.0, "0.00E+00").as_deref(), Some("1.23E+04"));
        assert_eq!(f(12.5, "@").as_deref(), Some("12.5"));
        assert_eq!(f(1234.5, "#,##0.00\\ \"€\"").as_deref(), Some("1,234.50 €"));
        let eu = "_-* #,##0.00_-;\\-* #,##0.00_-;_-* \"-\"??_-;_-@_-";
        assert_eq!(f(1234.5, eu).as_deref(), Some(" 1,234.50 "));
        assert_eq!(f(-1234.5, eu).as_deref(), Some("-1,234.50 "));
        assert_eq!(f(0.0, eu).as_deref(), Some(" -   "));
        assert_eq!(
            f(45366.0, "[$-409]mmmm d, yyyy").as_deref(),
            Some("March 15, 2024")
        );
    }

    /// General the long way: round to 15 digits, then to General's decimals, then trim.
    fn general_by_rounding(v: f64) -> String {
        let a = v.abs();
        let digits_before = a.log10().floor() as i32 + 1;
        let decimals = (10 - digits_before).clamp(0, 10) as usize;
        let s = trim_fraction(&decimal_round(a, decimals));
        if v < 0.0 { format!("-{s}") } else { s }
    }

    #[test]
    fn general_shortcut_agrees_with_rounding() {
        // Values as sheets hold them (whole numbers, cents, quarters, ratios) and doubles
        // drawn bit by bit, over General's fixed-point magnitudes (1e-9 to 1e11).
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        let mut shortcut = 0;
        for i in 0..300_000u64 {
            let r = next();
            let v = match i % 5 {
                0 => (r % 100_000_000_000) as f64,
                1 => (r % 10_000_000_000) as f64 / 100.0,
                2 => (r % 1_000_000) as f64 / 4.0 - 100_000.0,
                3 => (r >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((r % 20) as i32 - 9),
                _ => f64::from_bits(r),
            };
            if !v.is_finite() || v == 0.0 || !(1e-9..1e11).contains(&v.abs()) {
                continue;
            }
            let digits_before = v.abs().log10().floor() as i32 + 1;
            let decimals = (10 - digits_before).clamp(0, 10) as usize;
            if general_shortest(v, decimals).is_some() {
                shortcut += 1;
            }
            assert_eq!(general(v), general_by_rounding(v), "{v:e}");
            checked += 1;
        }
        // Both paths were exercised, most values by the shortcut.
        assert!(
            checked > 150_000 && shortcut > checked / 2,
            "{checked} {shortcut}"
        );
        assert!(shortcut < checked, "some values take the long way");
    }

    #[test]
    fn general_numbers() {
        assert_eq!(general(1234.5), "1234.5");
        assert_eq!(general(0.1 + 0.2), "0.3");
        assert_eq!(general(-42.0), "-42");
        assert_eq!(general(123_456_789_012.0), "1.23457E+11");
        assert_eq!(f(3.0, "General").as_deref(), Some("3"));
    }

    #[test]
    fn dates_and_times() {
        // 2024-03-15 is serial 45366.
        assert_eq!(f(45366.0, "yyyy-mm-dd").as_deref(), Some("2024-03-15"));
        assert_eq!(f(45366.0, "m/d/yyyy").as_deref(), Some("3/15/2024"));
        assert_eq!(f(45366.0, "d-mmm-yy").as_deref(), Some("15-Mar-24"));
        assert_eq!(
            f(45366.0, "dddd, mmmm d").as_deref(),
            Some("Friday, March 15")
        );
        assert_eq!(f(45366.75, "h:mm AM/PM").as_deref(), Some("6:00 PM"));
        assert_eq!(
            f(45366.5, "yyyy-mm-dd hh:mm:ss").as_deref(),
            Some("2024-03-15 12:00:00")
        );
        assert_eq!(f(1.0, "yyyy-mm-dd").as_deref(), Some("1900-01-01"));
        assert_eq!(f(60.0, "yyyy-mm-dd").as_deref(), Some("1900-02-29"));
        assert_eq!(f(61.0, "yyyy-mm-dd").as_deref(), Some("1900-03-01"));
        assert_eq!(f(-1.0, "yyyy-mm-dd"), None);
        assert_eq!(f(45366.0, "d.m.yyyy").as_deref(), Some("15.3.2024"));
    }

    #[test]
    fn unknown_formats_give_none() {
        for code in [
            "[>100]0;0",
            "# ?/?",
            "[h]:mm:ss",
            "000-0000",
            "ss.0",
            "B1yyyy",
        ] {
            assert_eq!(f(12.0, code), None, "{code}");
        }
    }
}
