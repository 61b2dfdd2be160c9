//! Parsers for what an agent writes: numbers in any common rendering (grouping, currency,
//! parentheses, percent, K/M/B scaling), dates, and text folding / winnowing fingerprints.
//!
//! Every parser works on untrusted input: no indexing that can go out of bounds, no
//! unwrap on parsed data, bounded work per input.

/// One numeric interpretation of a written token: the closed interval of underlying
/// values that would display as the written text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// The smallest underlying value that displays as the written text.
    pub lo: f64,
    /// The largest such value.
    pub hi: f64,
}

/// A parsed written number.
#[derive(Clone, Debug, PartialEq)]
pub struct NumToken {
    /// Intervals of absolute values the source cell may hold (sign is ignored by the index).
    pub readings: Vec<Reading>,
    /// Significant digits as displayed.
    pub sig_digits: u32,
    /// A bare small integer or year-like number: never evidence on its own.
    pub weak: bool,
    /// The currency written with it (`£`, `EUR`), if one was.
    pub currency: Currency,
}

/// A currency named by a written token (`€`, `EUR`, `US$`) or by a cell's number format
/// (`[$€-407]`, `"£"#,##0`). A symbol several currencies share (`$`, `¥`, `kr`, `Rs`) is a
/// family of its own, agreeing with each of its members. One byte, kept in the padding of
/// an indexed cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Currency {
    /// None named (or two that contradict each other).
    #[default]
    None = 0,
    /// `$`: any dollar.
    Dollar,
    /// US dollar (`USD`, `US$`).
    Usd,
    /// Canadian dollar.
    Cad,
    /// Australian dollar.
    Aud,
    /// New Zealand dollar.
    Nzd,
    /// Hong Kong dollar.
    Hkd,
    /// Singapore dollar.
    Sgd,
    /// Mexican peso.
    Mxn,
    /// Euro (`€`, `EUR`).
    Eur,
    /// Pound sterling (`£`, `GBP`).
    Gbp,
    /// `¥`: yen or yuan.
    Yen,
    /// Japanese yen.
    Jpy,
    /// Chinese yuan.
    Cny,
    /// `Rs`: Indian, Pakistani, Sri Lankan or Nepalese rupee.
    Rupee,
    /// Indian rupee (`₹`, `INR`).
    Inr,
    /// Swiss franc.
    Chf,
    /// Korean won (`₩`).
    Krw,
    /// Russian rouble (`₽`).
    Rub,
    /// `kr`: a Scandinavian krona or krone.
    Kr,
    /// Swedish krona.
    Sek,
    /// Norwegian krone.
    Nok,
    /// Danish krone.
    Dkk,
    /// Brazilian real.
    Brl,
    /// South African rand.
    Zar,
    /// Polish złoty.
    Pln,
}

impl Currency {
    /// The shared symbol this currency is written with, if it has one.
    fn family(self) -> Currency {
        use Currency::*;
        match self {
            Usd | Cad | Aud | Nzd | Hkd | Sgd | Mxn => Dollar,
            Jpy | Cny => Yen,
            Inr => Rupee,
            Sek | Nok | Dkk => Kr,
            c => c,
        }
    }

    /// Whether a value written in `self` may have come from a cell shown in `cell`: always
    /// when either names none; else the same currency, or a shared symbol and one of its
    /// members (`$` and `USD`, `¥` and `JPY`).
    pub fn agrees(self, cell: Currency) -> bool {
        self == Currency::None
            || cell == Currency::None
            || self == cell
            || self == cell.family()
            || cell == self.family()
    }

    /// The byte kept in an indexed cell.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// The currency of a byte from [`Currency::to_byte`] (`None` for any other byte).
    pub fn from_byte(b: u8) -> Currency {
        CURRENCY_BYTES
            .get(usize::from(b))
            .copied()
            .unwrap_or(Currency::None)
    }
}

/// Every [`Currency`] in the order of its byte.
const CURRENCY_BYTES: [Currency; 26] = {
    use Currency::*;
    [
        None, Dollar, Usd, Cad, Aud, Nzd, Hkd, Sgd, Mxn, Eur, Gbp, Yen, Jpy, Cny, Rupee, Inr, Chf,
        Krw, Rub, Kr, Sek, Nok, Dkk, Brl, Zar, Pln,
    ]
};

/// The currencies seen on one token or number format: one, the more specific of several
/// that agree (`US$` and `$`), or none when they contradict each other.
#[derive(Clone, Copy, Debug, Default)]
struct CurrencySeen {
    cur: Currency,
    mixed: bool,
}

impl CurrencySeen {
    fn add(&mut self, c: Currency) {
        if c == Currency::None || c == self.cur {
            return;
        }
        if self.cur == Currency::None || self.cur == c.family() {
            self.cur = c;
        } else if c != self.cur.family() {
            self.mixed = true;
        }
    }

    fn get(self) -> Currency {
        if self.mixed { Currency::None } else { self.cur }
    }
}

/// The currency a symbol stands for.
fn symbol_currency(c: char) -> Currency {
    match c {
        '$' => Currency::Dollar,
        '€' => Currency::Eur,
        '£' => Currency::Gbp,
        '¥' | '￥' => Currency::Yen,
        '₹' => Currency::Inr,
        '₩' => Currency::Krw,
        '₽' => Currency::Rub,
        // Written after the number in East Asian text (`1,234円`, `56元`, `7,800원`).
        '円' => Currency::Jpy,
        '元' => Currency::Cny,
        '원' => Currency::Krw,
        _ => Currency::None,
    }
}

/// The currency a code stands for (lowercase, as in [`CURRENCY_CODES`]).
fn code_currency(code: &str) -> Currency {
    match code {
        "usd" | "us$" => Currency::Usd,
        "eur" => Currency::Eur,
        "gbp" => Currency::Gbp,
        "jpy" => Currency::Jpy,
        "chf" => Currency::Chf,
        "cad" | "c$" => Currency::Cad,
        "aud" | "a$" => Currency::Aud,
        "nzd" | "nz$" => Currency::Nzd,
        "hkd" | "hk$" => Currency::Hkd,
        "cny" | "rmb" => Currency::Cny,
        "inr" => Currency::Inr,
        "rs." | "rs" => Currency::Rupee,
        "sek" => Currency::Sek,
        "nok" => Currency::Nok,
        "dkk" => Currency::Dkk,
        "sgd" | "s$" => Currency::Sgd,
        "mxn" => Currency::Mxn,
        "krw" => Currency::Krw,
        "rub" => Currency::Rub,
        "brl" | "r$" => Currency::Brl,
        "zar" => Currency::Zar,
        "pln" => Currency::Pln,
        "kr" | "kr." => Currency::Kr,
        _ => Currency::None,
    }
}

/// The currency an Excel number format shows (`[$€-407]`, `"£"#,##0`, `[$CHF-807] #,##0`,
/// `$#,##0`, `#,##0\ €`), or none: a locale tag alone (`[$-409]`), a condition or colour
/// in brackets, or quoted text that is not a currency (`"units"`) names none. Formats
/// naming two currencies that contradict each other name none.
pub fn format_currency(fmt: &str) -> Currency {
    let mut seen = CurrencySeen::default();
    let mut rest = fmt;
    for _ in 0..256 {
        let Some(c) = rest.chars().next() else {
            break;
        };
        let after = rest.get(c.len_utf8()..).unwrap_or("");
        match c {
            '"' => {
                let (lit, tail) = after.split_once('"').unwrap_or((after, ""));
                seen.add(literal_currency(lit));
                rest = tail;
            }
            '[' => {
                let (inner, tail) = after.split_once(']').unwrap_or((after, ""));
                // `[$€-407]`: the symbol or code before the locale id.
                if let Some(cur) = inner.strip_prefix('$') {
                    let sym = cur.split('-').next().unwrap_or("");
                    seen.add(literal_currency(sym));
                }
                rest = tail;
            }
            '\\' => {
                let mut tail = after.chars();
                if let Some(e) = tail.next() {
                    seen.add(symbol_currency(e));
                }
                rest = tail.as_str();
            }
            // `_€` leaves the width of a `€` blank (French accounting formats with no
            // symbol shown), `*-` fills with `-`: neither shows the character.
            '_' | '*' => {
                let mut tail = after.chars();
                tail.next();
                rest = tail.as_str();
            }
            _ => {
                seen.add(symbol_currency(c));
                rest = after;
            }
        }
    }
    seen.get()
}

/// A quoted literal or bracketed symbol of a number format as a currency: a symbol or a
/// code and nothing else, around spaces (`"£"`, `"CHF "`, `"US$"`, `" kr"`).
fn literal_currency(lit: &str) -> Currency {
    let t = lit.trim_matches(|c: char| c.is_whitespace());
    if t.is_empty() || t.len() > 8 {
        return Currency::None;
    }
    let mut chars = t.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return symbol_currency(c);
    }
    code_currency(&t.to_lowercase())
}

const CURRENCY_SYMBOLS: &[char] = &['$', '€', '£', '¥', '₹', '₩', '₽', '¢', '円', '元', '원'];
const CURRENCY_CODES: &[&str] = &[
    "usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "cny", "inr", "sek", "nok", "dkk", "us$",
    "a$", "c$", "nz$", "hk$", "rs.", "rs",
];

/// Scale words and their factors, the second for words read two ways (`mil` is a thousand
/// in Spanish and Portuguese, a million in English slang; `billions` is 1e9 to an English
/// writer, 1e12 to a French one). An entry must come before every shorter entry it ends
/// with (`mil millones` before `millones`), which a test checks. English `billion` is only
/// 1e9: German `Billion` (1e12) would double the readings of every English billion.
const SCALES: &[(&str, f64, f64)] = &[
    // Spanish: a thousand millions (before `millones`).
    ("mil millones", 1e9, 1e9),
    // German, French, Italian, Spanish, Portuguese (Brazil).
    ("milliarden", 1e9, 1e9),
    ("milliardes", 1e9, 1e9),
    ("millionen", 1e6, 1e6),
    ("billionen", 1e12, 1e12),
    ("milliarde", 1e9, 1e9),
    ("milliards", 1e9, 1e9),
    ("thousands", 1e3, 1e3),
    ("trillions", 1e12, 1e12),
    ("milliard", 1e9, 1e9),
    ("miliardi", 1e9, 1e9),
    ("miliardo", 1e9, 1e9),
    ("millones", 1e6, 1e6),
    ("billones", 1e12, 1e12),
    ("billions", 1e9, 1e12),
    ("millions", 1e6, 1e6),
    ("trillion", 1e12, 1e12),
    ("thousand", 1e3, 1e3),
    ("hundred", 1e2, 1e2),
    ("milhões", 1e6, 1e6),
    ("bilhões", 1e9, 1e9),
    ("billion", 1e9, 1e9),
    ("million", 1e6, 1e6),
    ("tausend", 1e3, 1e3),
    ("milioni", 1e6, 1e6),
    ("milione", 1e6, 1e6),
    ("billón", 1e12, 1e12),
    ("millón", 1e6, 1e6),
    ("millon", 1e6, 1e6),
    ("milhão", 1e6, 1e6),
    ("bilhão", 1e9, 1e9),
    ("crores", 1e7, 1e7),
    ("crore", 1e7, 1e7),
    ("lakhs", 1e5, 1e5),
    ("mille", 1e3, 1e3),
    ("lakh", 1e5, 1e5),
    ("lacs", 1e5, 1e5),
    ("mila", 1e3, 1e3),
    // Dutch, Swedish, Danish and Norwegian.
    ("milliarder", 1e9, 1e9),
    ("millioner", 1e6, 1e6),
    ("miljarder", 1e9, 1e9),
    ("miljoner", 1e6, 1e6),
    ("miljoen", 1e6, 1e6),
    ("miljard", 1e9, 1e9),
    ("duizend", 1e3, 1e3),
    // Japanese and Chinese count in myriads (`12万` is 120,000, `1.2億` 120 million);
    // Korean likewise (`만`, `억`).
    ("万", 1e4, 1e4),
    ("萬", 1e4, 1e4),
    ("億", 1e8, 1e8),
    ("亿", 1e8, 1e8),
    ("兆", 1e12, 1e12),
    ("千", 1e3, 1e3),
    ("만", 1e4, 1e4),
    ("억", 1e8, 1e8),
    ("lac", 1e5, 1e5),
    ("mio", 1e6, 1e6),
    ("mrd", 1e9, 1e9),
    ("mds", 1e9, 1e9),
    ("bio", 1e12, 1e12),
    ("tsd", 1e3, 1e3),
    ("mln", 1e6, 1e6),
    ("mld", 1e9, 1e9),
    ("mil", 1e3, 1e6),
    ("bn", 1e9, 1e9),
    ("mn", 1e6, 1e6),
    ("mm", 1e6, 1e6),
    ("md", 1e9, 1e9),
    ("tn", 1e12, 1e12),
    ("cr", 1e7, 1e7),
    ("k", 1e3, 1e3),
    ("m", 1e6, 1e6),
    ("b", 1e9, 1e9),
    ("t", 1e12, 1e12),
];

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let head = s.get(..p.len())?;
    if head.eq_ignore_ascii_case(p) {
        s.get(p.len()..)
    } else {
        None
    }
}

fn strip_suffix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(p.len())?;
    let tail = s.get(cut..)?;
    // `p` is lowercase; a non-ASCII tail (`MILLÓN`) is folded char by char. Lowercasing
    // can change a char's length, so the cut stays the byte length of `p`: a tail of
    // another length simply does not match.
    if tail.eq_ignore_ascii_case(p)
        || (!tail.is_ascii() && tail.chars().flat_map(char::to_lowercase).eq(p.chars()))
    {
        s.get(..cut)
    } else {
        None
    }
}

/// Removes currency markers and signs from both ends; returns the rest, whether a
/// currency marker or minus sign was seen, and the currencies the markers name.
fn strip_decorations(mut s: &str) -> (&str, bool, bool, CurrencySeen) {
    let mut currency = false;
    let mut seen = CurrencySeen::default();
    let mut negative = false;
    let digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_digit);
    for _ in 0..6 {
        // Digits at both ends: nothing below would strip anything.
        if digit(s.as_bytes().first()) && digit(s.as_bytes().last()) {
            break;
        }
        let before = s.len();
        s = s.trim_matches(|c: char| c.is_whitespace());
        if let Some(r) = s.strip_prefix(['-', '−', '–']) {
            negative = true;
            s = r;
        }
        s = s.strip_prefix('+').unwrap_or(s);
        if let Some(c) = s.chars().next().filter(|c| CURRENCY_SYMBOLS.contains(c)) {
            currency = true;
            seen.add(symbol_currency(c));
            s = s.get(c.len_utf8()..).unwrap_or("");
        }
        if let Some(c) = s
            .chars()
            .next_back()
            .filter(|c| CURRENCY_SYMBOLS.contains(c))
        {
            currency = true;
            seen.add(symbol_currency(c));
            s = s.get(..s.len() - c.len_utf8()).unwrap_or("");
        }
        // Codes are ASCII, begin with a letter and end with a letter or `$`: a number that
        // starts and ends with a digit (nearly all of them) skips the 34 comparisons.
        let alpha_first = s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic);
        let alpha_last = s
            .as_bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'$');
        for code in CURRENCY_CODES.iter().filter(|_| alpha_first || alpha_last) {
            // A code can only match where its first (last) byte does: one comparison
            // before the full one.
            let end = |b: Option<&u8>| b.map(u8::to_ascii_lowercase);
            let (cf, cl) = (end(code.as_bytes().first()), end(code.as_bytes().last()));
            if end(s.as_bytes().first()) == cf
                && let Some(r) = strip_prefix_ci(s, code)
            {
                // A code must be followed by a non-letter (`USD1`, `USD 1`), never `usdx`.
                if !r.starts_with(|c: char| c.is_alphabetic()) {
                    currency = true;
                    seen.add(code_currency(code));
                    s = r;
                }
            }
            if end(s.as_bytes().last()) == cl
                && let Some(r) = strip_suffix_ci(s, code)
                && !r.ends_with(|c: char| c.is_alphabetic())
            {
                currency = true;
                seen.add(code_currency(code));
                s = r;
            }
        }
        if s.len() == before {
            break;
        }
    }
    (s.trim(), currency, negative, seen)
}

/// Parses a whole string as one number as displayed (`$1,234.5`, `(1.234,50 €)`, `12.3%`,
/// `$1.23M`, `4.5k`, `1.2 million`). Returns `None` when the string is not exactly a
/// number.
pub fn parse_number(input: &str) -> Option<NumToken> {
    if input.len() > 64 {
        return None;
    }
    let mut s = input.trim();
    s = s.trim_end_matches(['.', ',', ';', ':', '!', '?', '"', '\'', '”', '’']);
    s = s.trim_start_matches(['"', '\'', '“', '‘']);
    let mut paren = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        paren = true;
        s = inner;
    }
    let (rest, mut currency, _neg, mut seen) = strip_decorations(s);
    s = rest;
    let mut percent = false;
    if let Some(r) = s.strip_suffix('%') {
        percent = true;
        s = r.trim_end();
    } else if let Some(r) = strip_suffix_ci(s, "percent").or_else(|| strip_suffix_ci(s, "pct"))
        && r.ends_with(|c: char| c.is_whitespace() || c.is_ascii_digit())
    {
        percent = true;
        s = r.trim_end();
    }
    let mut scale = (1.0, 1.0);
    let mut scaled = false;
    if !percent {
        // `2,5 Mrd. €`: the abbreviation's dot was hidden behind the currency.
        if let Some(r) = s.strip_suffix('.')
            && r.ends_with(|c: char| c.is_alphabetic())
        {
            s = r;
        }
        // Scale words end with a letter: a bare number skips the comparisons.
        let alpha_last = s.ends_with(|c: char| c.is_alphabetic());
        // A scale word can only match where its last letter does: one byte compared
        // before the full comparison, for the (nearly always ASCII) last letter.
        let last = s.as_bytes().last().map(u8::to_ascii_lowercase);
        let could_end = |word: &str| match last {
            Some(b) if b.is_ascii() => word.as_bytes().last() == Some(&b),
            _ => true,
        };
        for (word, f, alt) in SCALES
            .iter()
            .filter(|(word, ..)| alpha_last && could_end(word))
        {
            if let Some(r) = strip_suffix_ci(s, word) {
                // `1.2M`, `1.2 M`, `1.2 million`; the scale must follow a digit or space.
                if r.ends_with(|c: char| c.is_ascii_digit() || c.is_whitespace()) {
                    scale = (*f, *alt);
                    scaled = true;
                    s = r.trim_end();
                    break;
                }
            }
        }
        let (rest, cur2, _, seen2) = strip_decorations(s);
        currency |= cur2;
        seen.add(seen2.get());
        seen.mixed |= seen2.mixed;
        s = rest;
    }
    let core = parse_core(s)?;
    let mut readings = Vec::new();
    for (v, decimals) in &core.values {
        let half = 0.5 * 10f64.powi(-(*decimals as i32));
        let lo = (v - half).max(0.0);
        let hi = v + half;
        if percent {
            readings.push(widen(lo / 100.0, hi / 100.0));
            readings.push(widen(lo, hi));
        } else {
            let factors = [scale.0, scale.1];
            let n = if scale.1 == scale.0 { 1 } else { 2 };
            for f in factors.iter().take(n) {
                push_units(&mut readings, lo * f, hi * f);
            }
            if !scaled && *decimals > 0 {
                // `1,234.6` written from a sheet in units under a "(in thousands)" caption.
                readings.push(widen(lo * 1e3, hi * 1e3));
            }
        }
    }
    readings.retain(|r| r.hi > 0.0 && r.lo.is_finite() && r.hi.is_finite());
    if readings.is_empty() {
        return None;
    }
    let first = core.values.first().map(|v| v.0).unwrap_or(0.0);
    let bare = !currency && !percent && !scaled && !paren && core.plain_integer;
    let year_like = bare && (1900.0..=2100.0).contains(&first);
    let weak = (bare && first < 1000.0) || year_like || first == 0.0;
    Some(NumToken {
        readings,
        sig_digits: core.sig_digits,
        weak,
        currency: seen.get(),
    })
}

/// The interval as written, and the same value as a sheet in thousands or millions holds it.
fn push_units(readings: &mut Vec<Reading>, lo: f64, hi: f64) {
    readings.push(widen(lo, hi));
    if lo >= 1e4 {
        readings.push(widen(lo / 1e3, hi / 1e3));
        readings.push(widen(lo / 1e6, hi / 1e6));
    }
}

/// Widens an interval by a relative epsilon so binary floating point never misses the
/// value it was printed from.
fn widen(lo: f64, hi: f64) -> Reading {
    let eps = hi.abs().max(lo.abs()) * 1e-9 + 1e-12;
    Reading {
        lo: (lo - eps).max(0.0),
        hi: hi + eps,
    }
}

struct Core {
    /// (value, decimals) alternatives: `1,234` is 1234 (or 1.234 in a comma-decimal locale).
    values: Vec<(f64, u32)>,
    sig_digits: u32,
    plain_integer: bool,
}

/// Spaces (plain, no-break, narrow no-break, thin, figure) and apostrophes (Swiss `1'234`,
/// `1’234`): only ever grouping, never a decimal mark.
const SPACE_SEPS: [char; 7] = [' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}', '\'', '’'];

/// Grouping by spaces or apostrophes is read only in its one well-formed shape: one to
/// three digits, then groups of exactly three (the last may go on with a decimal part,
/// `567,89`). So a phone number (`20 7946 0958`), a date (`31 12 2025`) or a year beside a
/// count (`2024 123`) is never one number.
fn space_groups_ok(s: &str) -> bool {
    let mut parts = s.split(SPACE_SEPS).peekable();
    let Some(first) = parts.next() else {
        return true;
    };
    if parts.peek().is_none() {
        return true;
    }
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() || first.len() > 3 || !digits(first) {
        return false;
    }
    while let Some(p) = parts.next() {
        let (group, rest) = p.split_at_checked(3).unwrap_or((p, ""));
        let last = parts.peek().is_none();
        let ok = group.len() == 3
            && digits(group)
            && (rest.is_empty() || (last && rest.starts_with([',', '.'])));
        if !ok {
            return false;
        }
    }
    true
}

/// Digits with grouping and one decimal separator in any common locale.
fn parse_core(s: &str) -> Option<Core> {
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let ok = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.') || SPACE_SEPS.contains(&c));
    let starts = s.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !ok || !starts || !s.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let plain_integer = s.chars().all(|c| c.is_ascii_digit());
    if let Some(core) = plain_core(s, plain_integer) {
        return Some(core);
    }
    let space_seps = SPACE_SEPS;
    if !space_groups_ok(s) {
        return None;
    }
    let t: String = s.chars().filter(|c| !space_seps.contains(c)).collect();
    let commas = t.matches(',').count();
    let dots = t.matches('.').count();
    let mut alts: Vec<(String, u32)> = Vec::new();
    let as_decimal = |t: &str, dec: char, grp: char| -> Option<(String, u32)> {
        // Grouping separators must sit between groups of exactly three digits.
        let (int, frac) = match t.rfind(dec) {
            Some(i) => (t.get(..i)?, t.get(i + 1..)?),
            None => (t, ""),
        };
        if frac.contains([',', '.']) {
            return None;
        }
        let groups: Vec<&str> = int.split(grp).collect();
        if groups.len() > 1 && !western_groups(&groups) && !(grp == ',' && indian_groups(&groups)) {
            return None;
        }
        let digits: String = groups.concat();
        Some((format!("{digits}.{frac}"), frac.len() as u32))
    };
    match (commas, dots) {
        (0, 0) => alts.push((t.clone(), 0)),
        (_, 0) if commas > 1 => alts.extend(as_decimal(&t, '.', ',')),
        (0, _) if dots > 1 => alts.extend(as_decimal(&t, ',', '.')),
        (1, 0) => {
            // `1,234` grouping first; `12,5` or `1,234` as a comma decimal too.
            let frac_len = t.rsplit(',').next().map(str::len).unwrap_or(0);
            if frac_len == 3 {
                alts.extend(as_decimal(&t, '.', ','));
            }
            alts.extend(as_decimal(&t, ',', '.'));
        }
        (0, 1) => {
            let frac_len = t.rsplit('.').next().map(str::len).unwrap_or(0);
            alts.extend(as_decimal(&t, '.', ','));
            if frac_len == 3 {
                alts.extend(as_decimal(&t, ',', '.'));
            }
        }
        _ => {
            // Both present: the last one is the decimal separator.
            let last_comma = t.rfind(',').unwrap_or(0);
            let last_dot = t.rfind('.').unwrap_or(0);
            if last_dot > last_comma {
                alts.extend(as_decimal(&t, '.', ','));
            } else {
                alts.extend(as_decimal(&t, ',', '.'));
            }
        }
    }
    let mut values = Vec::new();
    for (num, dec) in alts {
        let num = num.trim_end_matches('.');
        let num = if num.starts_with('.') {
            format!("0{num}")
        } else {
            num.to_string()
        };
        if let Ok(v) = num.parse::<f64>()
            && v.is_finite()
        {
            values.push((v, dec));
        }
    }
    if values.is_empty() {
        return None;
    }
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let sig = digits.trim_start_matches('0').len() as u32;
    Some(Core {
        values,
        sig_digits: sig,
        plain_integer,
    })
}

/// `1,234,567`: one to three digits, then groups of exactly three.
fn western_groups(groups: &[&str]) -> bool {
    groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
        && groups.iter().skip(1).all(|g| g.len() == 3)
}

/// Indian lakh / crore grouping, `1,87,432` and `12,34,56,789`: one or two digits, groups
/// of two, and three at the end. At least three groups (`87,432` is western).
fn indian_groups(groups: &[&str]) -> bool {
    let n = groups.len();
    n >= 3
        && groups.first().is_some_and(|g| (1..=2).contains(&g.len()))
        && groups.last().is_some_and(|g| g.len() == 3)
        && groups.iter().skip(1).take(n - 2).all(|g| g.len() == 2)
}

/// [`parse_core`] for the common unambiguous case, without its allocations: digits, or
/// digits around one `.` with other than three after it (`1.234` is also 1234 grouped in a
/// comma-decimal locale: left to the general path).
fn plain_core(s: &str, plain_integer: bool) -> Option<Core> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let ok = digits(int) && (plain_integer || (digits(frac) && frac.len() != 3));
    if !ok {
        return None;
    }
    let v: f64 = s.parse().ok().filter(|v: &f64| v.is_finite())?;
    let lead = s.bytes().take_while(|b| *b == b'0' || *b == b'.').count();
    let sig = s.bytes().skip(lead).filter(u8::is_ascii_digit).count() as u32;
    Some(Core {
        values: vec![(v, frac.len() as u32)],
        sig_digits: sig,
        plain_integer,
    })
}

/// Most words a number in words may take (`nine hundred ninety-nine trillion, nine hundred
/// and ninety-nine billion, ...` is 30): what [`parse_words`] looks at per start.
pub const MAX_NUMBER_WORDS: usize = 40;

/// The value of an English number word below a hundred: `seven`, `seventeen`, `seventy`.
fn small_word(w: &str) -> Option<(u32, WordKind)> {
    const UNITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    const TEENS: [&str; 10] = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let at = |list: &[&str]| list.iter().position(|x| *x == w).map(|i| i as u32);
    if let Some(i) = at(&UNITS) {
        return Some((i, WordKind::Unit));
    }
    if let Some(i) = at(&TEENS) {
        return Some((10 + i, WordKind::Teen));
    }
    at(&TENS).map(|i| (20 + 10 * i, WordKind::Tens))
}

/// Scale words of numbers in words, in English and Indian English.
fn scale_word(w: &str) -> Option<f64> {
    match w {
        "thousand" => Some(1e3),
        "lakh" => Some(1e5),
        "million" => Some(1e6),
        "crore" => Some(1e7),
        "billion" => Some(1e9),
        "trillion" => Some(1e12),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum WordKind {
    Unit,
    Teen,
    Tens,
}

/// What the last word read was: decides what may follow.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    Start,
    Unit,
    Teen,
    Tens,
    Hundred,
    Scale,
    /// `and` inside a number (`one hundred and five`): a number word must follow.
    And,
    /// `a` before `hundred` or a scale word (`a million`).
    A,
    /// `point`: digit words must follow.
    Point,
    /// Digit words after `point`.
    Decimals,
    /// `and a half`.
    Half,
}

/// Reads a number written in English words from the start of `tokens` (whitespace-split
/// words of a sentence): `one hundred eighty-seven thousand four hundred thirty-two`,
/// `one hundred and five`, `fifteen million`, `three point five million`, `two and a half
/// million`, `twelve hundred`, `one crore twenty lakh`. Returns the number and how many
/// tokens it took; `None` when the first token does not begin one.
///
/// The interval is what the words say to their last spoken digit: `one hundred eighty-seven
/// thousand` is 187,000 ± 500, like `187 thousand`; `fifteen million` is 15e6 ± 0.5e6;
/// `two and a half million` 2.5e6 ± 0.25e6. Weak (never evidence alone) below 1,000, with
/// one significant digit (`one million thanks`, `ten thousand steps`, `a hundred`), or
/// year-like (`two thousand twenty-five`): small number words are everywhere in prose.
///
/// Looks at no more than [`MAX_NUMBER_WORDS`] tokens.
pub fn parse_words(tokens: &[&str]) -> Option<(NumToken, usize)> {
    let mut total = 0.0f64; // completed scale groups
    let mut group = 0.0f64; // the group being read (below the last scale)
    let mut group_hundred = false;
    let mut last_scale = f64::INFINITY;
    let mut last = Last::Start;
    // Product of the multipliers after the last digit word: what the last spoken digit
    // counts (`two hundred thousand`: 1e5).
    let mut unit = 1.0f64;
    let mut decimals = 0i32;
    let mut half = false;
    // The longest accepted reading so far: (value, unit, half, tokens).
    let mut best: Option<(f64, f64, bool, usize)> = None;
    for (k, raw) in tokens.iter().take(MAX_NUMBER_WORDS).enumerate() {
        let lead = raw.trim_start_matches(['(', '"', '\'', '“', '‘']);
        if k > 0 && lead.len() != raw.len() {
            break; // an opening bracket or quote begins something else
        }
        let word = lead.trim_end_matches([',', '.', ';', ':', '!', '?', ')', '"', '\'', '”', '’']);
        let ends = word.len() != lead.len();
        // Only `thousand,` (British `one thousand, two hundred`) may go on past a comma.
        let comma_only = lead.get(word.len()..) == Some(",");
        if word.is_empty()
            || word.len() > 24
            || !word.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        {
            break;
        }
        // Lowercased on the stack: this runs on every word of every sentence written.
        let mut buf = [0u8; 24];
        let Some(dst) = buf.get_mut(..word.len()) else {
            break;
        };
        dst.copy_from_slice(word.as_bytes());
        dst.make_ascii_lowercase();
        let Ok(lower) = std::str::from_utf8(dst) else {
            break;
        };
        let (w0, w1) = match lower.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (lower, None),
        };
        if w0.is_empty() || w1.is_some_and(|b| b.is_empty() || b.contains('-')) {
            break;
        }
        let words: &[&str] = &[w0, w1.unwrap_or("")][..if w1.is_some() { 2 } else { 1 }];
        let mut ok = true;
        for (j, w) in words.iter().enumerate() {
            // A hyphenated word is exactly tens-unit (`eighty-seven`).
            let hyphen_ok = words.len() == 1
                || match (j, small_word(w)) {
                    (0, Some((_, WordKind::Tens))) => true,
                    (1, Some((u, WordKind::Unit))) => u > 0,
                    _ => false,
                };
            if !hyphen_ok {
                ok = false;
                break;
            }
            // The next word, lowercased: only `and` and `a` look ahead.
            let next_is = |p: &dyn Fn(&str) -> bool| {
                tokens.get(k + 1).is_some_and(|t| {
                    p(&t.trim_matches(|c: char| !c.is_ascii_alphabetic())
                        .to_ascii_lowercase())
                })
            };
            let number_word = |t: &str| small_word(t.split('-').next().unwrap_or("")).is_some();
            match (*w, small_word(w)) {
                (_, Some((v, kind))) if last == Last::Point || last == Last::Decimals => {
                    if kind != WordKind::Unit {
                        ok = false;
                        break;
                    }
                    decimals += 1;
                    group += f64::from(v) * 10f64.powi(-decimals);
                    unit = 10f64.powi(-decimals);
                    last = Last::Decimals;
                }
                (_, Some((v, kind))) => {
                    let fits = match kind {
                        // A unit after tens (`eighty seven`), or to begin a group.
                        WordKind::Unit => {
                            v > 0
                                && matches!(
                                    last,
                                    Last::Start
                                        | Last::Tens
                                        | Last::Hundred
                                        | Last::Scale
                                        | Last::And
                                )
                                || (v == 0 && last == Last::Start)
                        }
                        WordKind::Teen | WordKind::Tens => {
                            matches!(last, Last::Start | Last::Hundred | Last::Scale | Last::And)
                        }
                    };
                    // `thirty` after `twenty` in the same group is no number.
                    if !fits || (last == Last::Tens && kind != WordKind::Unit) {
                        ok = false;
                        break;
                    }
                    group += f64::from(v);
                    unit = 1.0;
                    last = match kind {
                        WordKind::Unit => Last::Unit,
                        WordKind::Teen => Last::Teen,
                        WordKind::Tens => Last::Tens,
                    };
                }
                ("hundred", _) => {
                    // `two hundred`, `twelve hundred`, `a hundred`; once per group.
                    let after_number =
                        matches!(last, Last::Unit | Last::Teen | Last::Tens | Last::A);
                    if !after_number || group_hundred || group <= 0.0 || group >= 100.0 {
                        ok = false;
                        break;
                    }
                    group *= 100.0;
                    unit *= 100.0;
                    group_hundred = true;
                    last = Last::Hundred;
                }
                ("and", _) => {
                    if matches!(last, Last::Hundred | Last::Scale) && next_is(&number_word) {
                        last = Last::And;
                    } else if matches!(last, Last::Unit | Last::Teen | Last::Tens | Last::Hundred)
                        && next_is(&|t: &str| t == "a")
                        && tokens.get(k + 2).is_some_and(|t| {
                            t.trim_end_matches([',', '.', ';', ':', '!', '?', ')'])
                                .eq_ignore_ascii_case("half")
                        })
                    {
                        last = Last::And; // `and a half`: `a` and `half` follow
                        half = true;
                    } else {
                        ok = false;
                        break;
                    }
                }
                ("a", _) => {
                    if half && last == Last::And {
                        last = Last::A;
                    } else if matches!(last, Last::Start | Last::Scale | Last::And)
                        && !half
                        && next_is(&|t: &str| t == "hundred" || scale_word(t).is_some())
                    {
                        group += 1.0;
                        unit = 1.0;
                        last = Last::A;
                    } else {
                        ok = false;
                        break;
                    }
                }
                ("half", _) if half && last == Last::A => {
                    group += 0.5;
                    unit = 1.0;
                    last = Last::Half;
                }
                ("point", _) => {
                    let after_number =
                        matches!(last, Last::Unit | Last::Teen | Last::Tens | Last::Hundred);
                    if !after_number || half || decimals > 0 {
                        ok = false;
                        break;
                    }
                    last = Last::Point;
                }
                (w, _) => {
                    let Some(sc) = scale_word(w) else {
                        ok = false;
                        break;
                    };
                    let after_number = matches!(
                        last,
                        Last::Unit
                            | Last::Teen
                            | Last::Tens
                            | Last::Hundred
                            | Last::A
                            | Last::Decimals
                            | Last::Half
                    );
                    if !after_number || group <= 0.0 || sc >= last_scale {
                        ok = false;
                        break;
                    }
                    total += group * sc;
                    group = 0.0;
                    group_hundred = false;
                    unit *= sc;
                    last_scale = sc;
                    last = Last::Scale;
                }
            }
        }
        if !ok {
            break;
        }
        if matches!(
            last,
            Last::Unit
                | Last::Teen
                | Last::Tens
                | Last::Hundred
                | Last::Scale
                | Last::Decimals
                | Last::Half
        ) {
            best = Some((total + group, unit, half, k + 1));
        }
        // A decimal or half ends the number at its scale word; punctuation ends it, but a
        // comma after a scale word does not (`one thousand, two hundred`).
        let done_fraction = (decimals > 0 || half) && last == Last::Scale;
        if done_fraction || (ends && !(comma_only && last == Last::Scale)) {
            break;
        }
    }
    let (value, unit, half, took) = best?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    // `and a half` is precise to a half of its unit; otherwise to its last digit.
    let width = if half { 0.5 * unit } else { unit };
    let (lo, hi) = ((value - width / 2.0).max(0.0), value + width / 2.0);
    let mut readings = Vec::new();
    push_units(&mut readings, lo, hi);
    readings.retain(|r| r.hi > 0.0 && r.lo.is_finite() && r.hi.is_finite());
    if readings.is_empty() {
        return None;
    }
    // Significant digits as spoken: `two and a half million` is 2.5 (two).
    let sig_unit = if half { unit / 10.0 } else { unit };
    // Trailing zeros of the spoken digits are not significant: `ten thousand` is one.
    let mut mantissa = (value / sig_unit).round().min(1e18) as u64;
    while mantissa >= 10 && mantissa.is_multiple_of(10) {
        mantissa /= 10;
    }
    let sig = mantissa.max(1).ilog10() + 1;
    let year_like = unit == 1.0 && (1900.0..=2100.0).contains(&value);
    let weak = value < 1000.0 || sig < 2 || year_like;
    Some((
        NumToken {
            readings,
            sig_digits: sig,
            weak,
            currency: Currency::None,
        },
        took,
    ))
}

/// Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
/// Excel serial day number (1900 system) for a valid date in 1900..=2200, else `None`.
pub fn excel_serial(y: i64, m: i64, d: i64) -> Option<f64> {
    if !(1900..=2200).contains(&y) {
        return None;
    }
    crate::excel_date::serial_from_date(y, m, d).map(|s| s as f64)
}

use crate::excel_date::month_from_name;

fn small_int(s: &str, max_len: usize) -> Option<i64> {
    if s.is_empty() || s.len() > max_len || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a whole string as a date written in a common format and returns the candidate
/// Excel serials (two for an ambiguous `03/04/2025`). `Q1 2025`, `2025` and `FY25` are
/// periods, not dates, and give nothing.
pub fn parse_date(input: &str) -> Vec<f64> {
    let mut out = Vec::new();
    if input.len() > 40 {
        return out;
    }
    let s = input
        .trim()
        .trim_end_matches(['.', ',', ';', ':', ')', '!', '?'])
        .trim_start_matches('(');
    // ISO with an optional time part.
    let date_part = s.split(['T', ' ']).next().unwrap_or("");
    let nums: Vec<&str> = date_part.split(['-', '/', '.']).collect();
    if nums.len() == 3 && (date_part.len() == s.len() || s.contains('T') || s.contains(':')) {
        let (a, b, c) = (nums[0], nums[1], nums[2]);
        if a.len() == 4 {
            if let (Some(y), Some(m), Some(d)) = (small_int(a, 4), small_int(b, 2), small_int(c, 2))
            {
                out.extend(excel_serial(y, m, d));
            }
        } else if (c.len() == 4 || c.len() == 2)
            && let (Some(p), Some(q), Some(y)) = (small_int(a, 2), small_int(b, 2), small_int(c, 4))
        {
            {
                let y = if c.len() == 2 { 2000 + y } else { y };
                // dd/mm/yyyy and mm/dd/yyyy: try both; identical when p == q.
                out.extend(excel_serial(y, q, p));
                if p != q {
                    out.extend(excel_serial(y, p, q));
                }
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    // East Asian: `2025年10月24日` (Japanese, Chinese), `2025년 10월 24일` (Korean).
    if let Some(serial) = east_asian_date(s) {
        out.push(serial);
        return out;
    }
    // Month names: `Mar 31, 2025`, `31 March 2025`, `31-Mar-2025`, `March 31 2025`.
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '/')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() == 3 {
        let (w0, w1, w2) = (words[0], words[1], words[2]);
        let day = |w: &str| {
            let w = w.trim_end_matches(|c: char| c.is_ascii_alphabetic()); // 31st
            small_int(w, 2)
        };
        let year = |w: &str| small_int(w, 4).filter(|_| w.len() == 4);
        if let (Some(m), Some(d), Some(y)) = (month_from_name(w0), day(w1), year(w2)) {
            out.extend(excel_serial(y, m, d));
        } else if let (Some(d), Some(m), Some(y)) = (day(w0), month_from_name(w1), year(w2)) {
            out.extend(excel_serial(y, m, d));
        }
    }
    out
}

/// `2025年10月24日` or `2025년 10월 24일`: year, month and day each followed by its mark.
fn east_asian_date(s: &str) -> Option<f64> {
    let rest = s.trim();
    let (y, rest) = rest.split_once(['年', '년'])?;
    let (m, rest) = rest.split_once(['月', '월'])?;
    let d = rest.trim().strip_suffix(['日', '일'])?;
    let (y, m, d) = (y.trim(), m.trim(), d.trim());
    let year = small_int(y, 4).filter(|_| y.len() == 4)?;
    excel_serial(year, small_int(m, 2)?, small_int(d, 2)?)
}

/// True when an Excel number format shows a date (`yyyy-mm-dd`, `m/d/yy`, `d-mmm`), not a
/// number or a duration. Quoted literals and `[...]` sections are ignored.
pub fn is_date_format(fmt: &str) -> bool {
    let mut clean = String::new();
    let mut in_quote = false;
    let mut in_bracket = false;
    for c in fmt.chars().take(256) {
        match c {
            '"' => in_quote = !in_quote,
            '[' if !in_quote => in_bracket = true,
            ']' if !in_quote => in_bracket = false,
            _ if in_quote || in_bracket => {}
            _ => clean.push(c.to_ascii_lowercase()),
        }
    }
    clean.contains('y') || clean.contains('d')
}

/// Case- and space-folded text: lowercase, runs of whitespace to one space, trimmed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// FNV-1a, 64-bit: deterministic across runs and platforms (the index may be rebuilt).
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche (splitmix64) so low bits are usable and winnowing minima are fair.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Words too common to be evidence of anything, even together.
const COMMON: &[&str] = &[
    "the",
    "a",
    "an",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "for",
    "by",
    "with",
    "at",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "we",
    "our",
    "us",
    "you",
    "your",
    "they",
    "their",
    "he",
    "she",
    "his",
    "her",
    "not",
    "no",
    "yes",
    "but",
    "if",
    "than",
    "then",
    "so",
    "up",
    "down",
    "over",
    "under",
    "into",
    "per",
    "vs",
    "will",
    "would",
    "can",
    "could",
    "should",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "all",
    "any",
    "each",
    "more",
    "most",
    "less",
    "other",
    "new",
    "total",
    "revenue",
    "revenues",
    "sales",
    "cost",
    "costs",
    "margin",
    "profit",
    "income",
    "expense",
    "expenses",
    "growth",
    "year",
    "years",
    "quarter",
    "quarterly",
    "month",
    "monthly",
    "q1",
    "q2",
    "q3",
    "q4",
    "fy",
    "ytd",
    "h1",
    "h2",
    "north",
    "south",
    "east",
    "west",
    "region",
    "regions",
    "product",
    "products",
    "net",
    "gross",
    "operating",
    "budget",
    "forecast",
    "actual",
    "actuals",
    "plan",
    "target",
    "page",
    "slide",
    "table",
    "summary",
    "overview",
    "note",
    "notes",
    "source",
    "million",
    "billion",
    "thousand",
    "percent",
    "increase",
    "decrease",
    "compared",
    "prior",
    "last",
    "next",
    "first",
    "second",
    "third",
    "fourth",
    "team",
    "customer",
    "customers",
    "market",
    "share",
    "units",
    "price",
    "average",
    "emea",
    "apac",
    "americas",
    "amer",
    "latam",
    "europe",
    "asia",
    "usa",
    "uk",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "key",
    "highlights",
    "results",
    "performance",
    "report",
    "update",
    "strong",
    "higher",
    "lower",
    "about",
    "around",
    "approximately",
    "which",
    "while",
    "also",
    "only",
    "both",
];

/// Whether `word` (folded to lowercase) is too common to be evidence on its own.
pub fn is_common(word: &str) -> bool {
    COMMON.contains(&word)
}

/// Folded words of a text: alphanumeric runs (with inner `-`, `_`, `.`, `'` kept, so SKUs
/// and decimals stay one word).
pub fn words(s: &str) -> Vec<String> {
    raw_words(s)
        .filter(|(_, w)| !w.is_empty())
        .take(100_000)
        .map(|(_, w)| w.to_lowercase())
        .collect()
}

/// The pieces `words` is made of: each run between separators as written, and the word in
/// it (its edges trimmed to alphanumerics; empty for a piece of punctuation).
fn raw_words(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(|c: char| !(c.is_alphanumeric() || "-_.'&/".contains(c)))
        .map(|raw| (raw, raw.trim_matches(|c: char| !c.is_alphanumeric())))
}

/// How much a folded short string says about its source: 0 for common words, short or
/// low-entropy strings; more for longer strings with digits (SKUs) or several uncommon
/// words (names). Natural-log units, like the numeric evidence.
pub fn string_evidence(folded: &str) -> f64 {
    let ws: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // Numbers inside a label (`Q4 2025`, `FY 2024`) are periods, not names.
    let is_word = |w: &&str| w.chars().any(char::is_alphabetic) && !is_common(w);
    if !ws.iter().any(is_word) {
        return 0.0;
    }
    let letters = folded.chars().filter(|c| c.is_alphabetic()).count();
    let digits = folded.chars().filter(|c| c.is_ascii_digit()).count();
    if letters == 0 {
        // Pure numbers are the numeric matcher's business.
        return 0.0;
    }
    let uncommon = ws.iter().filter(|w| is_word(w)).count();
    if folded.chars().count() < 6 || (digits == 0 && uncommon == 1) {
        // One plain word (`Sprockets`, `Contoso`) is vocabulary, not a fingerprint.
        return 0.0;
    }
    if ws.len() == 1 && letters <= 3 && (digits < 3 || digits == 4 && year_in(folded)) {
        // `FY2024`, `H1`, `CY2025`: periods.
        return 0.0;
    }
    let bits = 0.8 * letters.min(40) as f64 + 1.5 * digits.min(20) as f64;
    (bits - 4.0).clamp(0.0, 12.0)
}

fn year_in(s: &str) -> bool {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    d.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y))
}

/// Word k-gram size and winnowing window: any shared run of k + w - 1 = 8 words is
/// guaranteed to share a fingerprint (Schleimer, Wilkerson, Aiken 2003).
pub const K: usize = 5;
/// Winnowing window: one fingerprint is kept from every `W` consecutive k-grams.
pub const W: usize = 4;

/// Winnowing fingerprints of a text's word k-grams. K-grams made only of common words are
/// skipped so boilerplate never counts.
pub fn fingerprints(text: &str) -> Vec<u64> {
    let ws = words(text);
    if ws.len() < K {
        return Vec::new();
    }
    let mut hashes: Vec<u64> = Vec::with_capacity(ws.len());
    for g in ws.windows(K) {
        if g.iter()
            .all(|w| is_common(w) || w.chars().all(|c| c.is_ascii_digit()))
        {
            // Keep positions aligned, but never select this k-gram.
            hashes.push(u64::MAX);
            continue;
        }
        hashes.push(hash64(g.join(" ").as_bytes()));
    }
    let mut out: Vec<u64> = Vec::new();
    if hashes.len() <= W {
        out.extend(hashes.iter().copied().filter(|h| *h != u64::MAX));
    } else {
        let mut last: Option<usize> = None;
        for start in 0..=hashes.len() - W {
            let win = hashes.get(start..start + W).unwrap_or(&[]);
            // Rightmost minimum, as in the paper.
            let mut best = 0;
            for (i, h) in win.iter().enumerate() {
                if *h <= win.get(best).copied().unwrap_or(u64::MAX) {
                    best = i;
                }
            }
            let pos = start + best;
            if last != Some(pos) {
                if let Some(h) = hashes.get(pos).filter(|h| **h != u64::MAX) {
                    out.push(*h);
                }
                last = Some(pos);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Hashes (as in [`fingerprints`], not winnowed) of the word k-grams of a text that hold a
/// slot: a word with a digit, or a capitalised word that does not start a sentence (a
/// name). Sorted.
pub fn slot_fingerprints(text: &str) -> Vec<u64> {
    let mut ws: Vec<(String, bool)> = Vec::new();
    let mut sentence_start = true;
    for (raw, w) in raw_words(text) {
        if !w.is_empty() {
            let slot = w.chars().any(|c| c.is_ascii_digit())
                || (!sentence_start && w.chars().next().is_some_and(char::is_uppercase));
            ws.push((w.to_lowercase(), slot));
            sentence_start = false;
        }
        if raw.ends_with(['.', '!', '?']) {
            sentence_start = true;
        }
        if ws.len() >= 100_000 {
            break;
        }
    }
    let mut out: Vec<u64> = ws
        .windows(K)
        .filter(|g| g.iter().any(|(_, slot)| *slot))
        .map(|g| {
            let words: Vec<&str> = g.iter().map(|(w, _)| w.as_str()).collect();
            hash64(words.join(" ").as_bytes())
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod scale_table_tests {
    use super::SCALES;

    /// A scale word is found by its suffix, first match wins: an entry must come before
    /// every shorter entry it ends with, or the shorter one would take its number
    /// (`15 mil millones` read as `millones` after a `15 mil` that is then no number).
    #[test]
    fn longer_scale_words_come_before_the_shorter_ones_they_end_with() {
        for (i, (a, ..)) in SCALES.iter().enumerate() {
            assert_eq!(*a, a.to_lowercase(), "{a} must be lowercase");
            for (b, ..) in SCALES.iter().skip(i + 1) {
                assert!(!b.ends_with(a), "{b} must come before {a}");
            }
        }
    }
}
