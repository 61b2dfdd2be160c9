//! The items of a write: the numbers, dates, distinctive strings and passage fingerprints
//! that content about to be written carries, each with the labels written beside it (table
//! headers, the words of its sentence).
//!
//! Reads only the write, never the index: what a write says is decided before any lookup.

use super::parse::{self, NumToken};
use crate::model::WritePart;

/// A written token to look up.
#[derive(Debug)]
pub(super) enum ItemKind {
    Num(NumToken),
    Date(Vec<f64>),
    /// A distinctive string; `code` when it holds both letters and digits (a SKU, an id).
    Text {
        hash: u64,
        evidence: f64,
        code: bool,
    },
}

#[derive(Debug)]
pub(super) struct Item {
    pub(super) kind: ItemKind,
    /// Folded labels written beside the token (row / column headers, sentence words).
    pub(super) labels: Vec<u64>,
    /// A whole table cell read as one value: its (row, column) in the written table, its
    /// `labels` then being exactly its row and column headers.
    pub(super) at: Option<(u32, u32)>,
}

/// Items (numbers, dates, short strings) and passage fingerprints of one write part.
pub(super) fn extract(part: &WritePart) -> (Vec<Item>, Vec<u64>) {
    let mut items = Vec::new();
    let mut fps = Vec::new();
    match part {
        WritePart::Text { text, .. } => {
            fps.extend(parse::fingerprints(text));
            text_items(text, &[], None, None, &mut items);
        }
        WritePart::Table { rows, .. } => {
            let hash = |s: &str| parse::hash64(parse::fold(s).as_bytes());
            // Each cell is parsed once: the parse says whether it is a label, and is then
            // the cell's item (parsing was a fifth of a check when done twice).
            let parse_row = |r: &[String]| -> Vec<Parsed> {
                r.iter().take(1000).map(|c| Parsed::of(c)).collect()
            };
            let mut first: Option<Vec<Parsed>> = rows.first().map(|r| parse_row(r));
            let header_row: Vec<Option<u64>> = rows
                .first()
                .zip(first.as_ref())
                .map(|(r, p)| {
                    r.iter()
                        .zip(p)
                        .map(|(c, p)| p.is_label().then(|| hash(c)))
                        .collect()
                })
                .unwrap_or_default();
            for (k, row) in rows.iter().take(10_000).enumerate() {
                let parsed = match first.take() {
                    Some(p) if k == 0 => p,
                    _ => parse_row(row),
                };
                // Cells past the first thousand are only searched for labels.
                let row_labels: Vec<u64> = row
                    .iter()
                    .enumerate()
                    .filter(|(j, c)| match parsed.get(*j) {
                        Some(p) => p.is_label(),
                        None => Parsed::of(c).is_label(),
                    })
                    .take(2)
                    .map(|(_, c)| hash(c))
                    .collect();
                for ((j, c), p) in row.iter().enumerate().zip(parsed) {
                    let mut labels = row_labels.clone();
                    if let Some(Some(h)) = header_row.get(j) {
                        labels.push(*h);
                    }
                    if c.chars().count() >= 40 {
                        fps.extend(parse::fingerprints(c));
                    }
                    let at = (k as u32, j as u32);
                    text_items(c, &labels, Some(p), Some(at), &mut items);
                }
            }
            fps.sort_unstable();
            fps.dedup();
        }
    }
    (items, fps)
}

/// A whole chunk of written text (a table cell) read as one value.
#[derive(Debug)]
enum Parsed {
    Date(Vec<f64>),
    Num(NumToken),
    /// Neither (text, or nothing).
    Other {
        blank: bool,
    },
}

impl Parsed {
    fn of(text: &str) -> Self {
        let t = text.trim();
        if t.is_empty() {
            return Parsed::Other { blank: true };
        }
        let dates = parse::parse_date(t);
        if !dates.is_empty() {
            return Parsed::Date(dates);
        }
        if let Some(n) = parse::parse_number(t) {
            return Parsed::Num(n);
        }
        // A whole cell spaced digit by digit (`1 8 7 4 3 2 . 5 5`) or in words.
        if let std::borrow::Cow::Owned(joined) = join_spaced_digits(t)
            && let Some(n) = parse::parse_number(&joined)
        {
            return Parsed::Num(n);
        }
        if t.starts_with(|c: char| c.is_ascii_alphabetic()) && t.len() <= 400 {
            let toks: Vec<&str> = t
                .split_whitespace()
                .take(parse::MAX_NUMBER_WORDS + 1)
                .collect();
            // A small one (`One`, `Twelve`) stays a label: cells like that are headers.
            if let Some((n, took)) = parse::parse_words(&toks)
                && took == toks.len()
                && !n.weak
            {
                return Parsed::Num(n);
            }
        }
        Parsed::Other { blank: false }
    }

    /// Non-blank text that is neither a number nor a date: a row or column header.
    fn is_label(&self) -> bool {
        matches!(self, Parsed::Other { blank: false })
    }
}

/// Numbers, dates and distinctive strings in a chunk of text. `extra_labels` are the
/// table headers around it; words of the sentence are labels too. `parsed` is the chunk
/// already read by [`Parsed::of`], if the caller has it.
fn text_items(
    text: &str,
    extra_labels: &[u64],
    parsed: Option<Parsed>,
    at: Option<(u32, u32)>,
    out: &mut Vec<Item>,
) {
    let t = text.trim();
    if t.is_empty() || out.len() > 100_000 {
        return;
    }
    // The whole chunk as one value (a table cell).
    match parsed.unwrap_or_else(|| Parsed::of(t)) {
        Parsed::Date(dates) => {
            out.push(Item {
                kind: ItemKind::Date(dates),
                labels: extra_labels.to_vec(),
                at,
            });
            return;
        }
        Parsed::Num(n) => {
            out.push(Item {
                kind: ItemKind::Num(n),
                labels: extra_labels.to_vec(),
                at,
            });
            return;
        }
        Parsed::Other { .. } => {}
    }
    let whole = parse::fold(t);
    let whole_hash = parse::hash64(whole.as_bytes());
    let ev = parse::string_evidence(&whole);
    // A written table's first row names its columns (`Reorder date`, `Units on hand`):
    // every table of that kind has them, so they are labels (header evidence), never rare
    // strings of their own.
    let column_header = at.is_some_and(|(k, _)| k == 0);
    if ev > 0.0 && whole.len() <= 200 && !column_header {
        out.push(Item {
            kind: ItemKind::Text {
                hash: whole_hash,
                evidence: ev,
                code: whole.chars().any(|c| c.is_ascii_digit())
                    && whole.chars().any(char::is_alphabetic),
            },
            labels: Vec::new(),
            at,
        });
    }

    // Each line of a text of several lines, as a whole string too: a line that is a
    // cell's whole text copied (a list of notes pasted into a text box) is the same
    // observation as a table cell holding it.
    if t.contains('\n') {
        for line in t
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(1_000)
        {
            let folded = parse::fold(line);
            let ev = parse::string_evidence(&folded);
            if ev > 0.0 && folded.len() <= 200 && folded != whole {
                out.push(Item {
                    kind: ItemKind::Text {
                        hash: parse::hash64(folded.as_bytes()),
                        evidence: ev,
                        code: false,
                    },
                    labels: Vec::new(),
                    at: None,
                });
            }
        }
    }

    // East Asian text runs words and numbers together: spaced apart first.
    let spaced = space_east_asian(t);
    let t: &str = &spaced;
    // Digits spaced one by one are joined first, so `1 8 7 4 3 2 . 5 5` is one token and
    // its ` . ` does not end a sentence.
    let joined = join_spaced_digits(t);
    let t: &str = &joined;
    // Sentences: split at ., !, ?, ;, newlines when followed by space (keeps `4.2`).
    let mut sentences: Vec<&str> = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = t.char_indices().collect();
    for (k, (i, c)) in chars.iter().enumerate() {
        let next_space = chars.get(k + 1).is_none_or(|(_, n)| n.is_whitespace());
        if (matches!(c, '.' | '!' | '?' | ';') && next_space) || *c == '\n' {
            sentences.push(t.get(start..*i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    sentences.push(t.get(start..).unwrap_or(""));
    for sentence in sentences {
        let raw: Vec<&str> = sentence.split_whitespace().take(2000).collect();
        if raw.is_empty() {
            continue;
        }
        // Labels: every 1..=3 word n-gram of the sentence (cheap hash lookups later).
        let mut labels: Vec<u64> = extra_labels.to_vec();
        let plain: Vec<String> = raw
            .iter()
            .map(|w| parse::fold(w.trim_matches(|c: char| !c.is_alphanumeric())))
            .collect();
        for n in 1..=3 {
            for g in plain.windows(n) {
                if g.iter().all(|w| !w.is_empty()) {
                    labels.push(parse::hash64(g.join(" ").as_bytes()));
                }
            }
        }
        labels.sort_unstable();
        labels.dedup();
        let mut i = 0;
        while i < raw.len() {
            let rest = raw.get(i..).unwrap_or(&[]);
            // A phone number or other identifier in digit groups: no number at all.
            let id = identifier_run(rest);
            if id > 0 {
                i += id;
                continue;
            }
            // A number in words.
            if rest.first().is_some_and(|w| {
                w.trim_start_matches(['(', '"', '\'', '“', '‘'])
                    .starts_with(|c: char| c.is_ascii_alphabetic())
            }) && let Some((num, took)) = parse::parse_words(rest)
            {
                out.push(Item {
                    kind: ItemKind::Num(num),
                    labels: labels.clone(),
                    at: None,
                });
                i += took.max(1);
                continue;
            }
            let mut took = 0;
            // A run of digit groups holding a group that no grouped number has after its
            // first (four digits or more, or a leading zero: `212 555 1234 5`) is an
            // identifier or a list of separate values: read one token at a time.
            let group = |k: usize| {
                raw.get(k)
                    .map(|t| t.trim_end_matches([',', ';', ':', '.']))
                    .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            };
            let run = (i..raw.len().min(i + 6))
                .take_while(|k| group(*k).is_some())
                .count();
            let odd_group = (i + 1..i + run)
                .filter_map(group)
                .any(|t| t.len() >= 4 || t.starts_with('0'));
            let max_n = if odd_group { 1 } else { 4 };
            for n in (1..=max_n).rev() {
                let Some(win) = raw.get(i..i + n) else {
                    continue;
                };
                let joined = win.join(" ");
                let d = parse::parse_date(&joined);
                if !d.is_empty() {
                    out.push(Item {
                        kind: ItemKind::Date(d),
                        labels: labels.clone(),
                        at: None,
                    });
                    took = n;
                    break;
                }
                if let Some(num) = parse::parse_number(&joined) {
                    out.push(Item {
                        kind: ItemKind::Num(num),
                        labels: labels.clone(),
                        at: None,
                    });
                    took = n;
                    break;
                }
            }
            i += took.max(1);
        }
        // Distinctive strings inside the sentence: names, SKUs (2..=4 word n-grams and
        // single words); none in a column header (see above).
        // A table cell's whole text is already an item of its own (with its place in the
        // table); the n-gram that spans it is not a second one.
        let mut seen = Vec::new();
        if at.is_some() {
            seen.push(whole_hash);
        }
        for n in (1..=4).filter(|_| !column_header) {
            for g in plain.windows(n) {
                if g.iter().any(|w| w.is_empty()) {
                    continue;
                }
                let s = g.join(" ");
                let mut ev = parse::string_evidence(&s);
                // Words inside a table cell that hold more (`Goldcrest Engineering` in
                // `Goldcrest Engineering K.K.`): the cell names another thing that contains
                // the sheet's name, which same-domain workbooks share far likelier than a
                // whole name; half the evidence of the whole.
                if at.is_some() && s != whole {
                    ev *= 0.5;
                }
                if ev > 0.0 {
                    let h = parse::hash64(s.as_bytes());
                    if !seen.contains(&h) {
                        seen.push(h);
                        out.push(Item {
                            kind: ItemKind::Text {
                                hash: h,
                                evidence: ev,
                                code: false,
                            },
                            labels: Vec::new(),
                            at: None,
                        });
                    }
                }
            }
        }
    }
}

/// Whether `c` is written without spaces around it in East Asian text: CJK ideographs,
/// kana, Hangul syllables and CJK punctuation.
fn is_east_asian(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
    )
}

/// The marks that belong to the number they follow in East Asian text: of a date (`年`,
/// `月`, `日`), scale words (`万`, `億`), currencies written after the amount (`円`, `元`,
/// `원`).
const EAST_ASIAN_NUMBER_MARKS: &[char] = &[
    '年', '月', '日', '万', '萬', '億', '亿', '兆', '千', '円', '元', '년', '월', '일', '만', '억',
    '원',
];

/// Spaces East Asian text into tokens the sentence reader knows. Japanese and Chinese put
/// no space between words, and numbers sit between them (`GmbHのMRRは€141,784.65で、
/// 更新日は2025年10月24日です。`): a space goes at each boundary between East Asian
/// characters and anything else, except that the marks of a number stay on the digits
/// they follow (`2025年10月24日`, `12万`, `1,234円`); `。` ends a sentence, `、` separates
/// like a comma, other CJK punctuation is a space, and fullwidth ASCII (`１２３`, `（`)
/// is read as ASCII. Words within a run of ideographs are not split: that needs a
/// dictionary, and only the numbers and Latin names between them are evidence here.
///
/// Returns the text unchanged (borrowed) when it holds nothing East Asian. One pass, linear.
pub(super) fn space_east_asian(t: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let fullwidth = |c: char| ('\u{FF01}'..='\u{FF5E}').contains(&c);
    if t.is_ascii() || !t.chars().any(|c| is_east_asian(c) || fullwidth(c)) {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len() + t.len() / 4);
    // Whether the last character written was East Asian (not a number mark), and whether
    // it was a digit or a number mark: what the next character is compared with.
    let (mut last_east, mut last_numeric) = (false, false);
    for c in t.chars() {
        // Fullwidth ASCII is its ASCII character (what NFKC makes of it).
        let c = if fullwidth(c) {
            char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
        } else {
            c
        };
        let punct = match c {
            '。' | '｡' => Some(". "),
            '、' | '､' => Some(", "),
            '\u{3000}'..='\u{303F}' | '・' => Some(" "),
            _ => None,
        };
        if let Some(p) = punct {
            out.push_str(p);
            (last_east, last_numeric) = (false, false);
            continue;
        }
        let mark = last_numeric && EAST_ASIAN_NUMBER_MARKS.contains(&c);
        let east = is_east_asian(c) && !mark;
        let blank = c.is_whitespace() || out.ends_with(char::is_whitespace) || out.is_empty();
        if east != last_east && !blank {
            out.push(' ');
        }
        out.push(c);
        last_east = east;
        last_numeric = c.is_ascii_digit() || mark;
    }
    Cow::Owned(out)
}

/// Joins digits written one by one with single spaces (`1 8 7 4 3 2 . 5 5` ->
/// `187432.55`), which a writer uses to hide a number or a text-to-speech style uses to spell
/// it. The rule asks for a pattern that is clearly one number, because prose and lists are
/// full of single digits:
/// - single ASCII digits, each separated from the next by exactly one ASCII space, with at
///   most one single-character decimal mark (`.` or `,`) standing between digits the same way;
/// - at least 5 digits (`Chapter 3 4 5`, scores `4 5 3`, `10 30` stay apart), or a decimal
///   mark with at least 3 digits around it (`1 8 7 , 5`);
/// - not a run counting by one or repeating one digit (`1 2 3 4 5 6` page lists,
///   `5 4 3 2 1` countdowns, `0 0 0 0 0`);
/// - nothing number-like glued to either end: the run must not follow or precede another
///   digit group (`12 3 4 5 6 7`, `1 2 3 4 5 67`), a letter or a decimal mark;
/// - at most 30 digits (longer is no amount).
///
/// Returns the text unchanged (borrowed) when nothing was joined. One pass, linear.
pub(super) fn join_spaced_digits(t: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let b = t.as_bytes();
    let at = |k: usize| b.get(k).copied();
    let digit = |k: usize| at(k).is_some_and(|c| c.is_ascii_digit());
    let mark = |k: usize| matches!(at(k), Some(b'.' | b','));
    // The byte after a one-character element ends it: end, whitespace, or a punctuation
    // mark that is not followed by a digit (`5.` ends a sentence, `5.5` is one token).
    let element = |k: usize| {
        (digit(k) || mark(k))
            && match at(k + 1) {
                None => true,
                Some(c) if c.is_ascii_whitespace() => true,
                Some(c) => !c.is_ascii_alphanumeric() && !digit(k + 2),
            }
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !digit(i) || !element(i) {
            i += 1;
            continue;
        }
        // Nothing number-like just before: a letter, digit or mark, or one after a space;
        // nor a `/` or `:` (`1/2 3 4 5 6`, `10:3 0`).
        let before_ok = i == 0
            || match at(i - 1) {
                Some(b' ') => i < 2 || !(digit(i - 2) || mark(i - 2)),
                Some(c) => !c.is_ascii_alphanumeric() && !matches!(c, b'.' | b',' | b'/' | b':'),
                None => true,
            };
        // Extend over ` X` while X is a one-character element.
        let mut end = i;
        while at(end + 1) == Some(b' ') && element(end + 2) {
            end += 2;
        }
        let next = end + 1;
        if !before_ok {
            i = next;
            continue;
        }
        // Nothing number-like just after: ` 67` or ` .5` (the run stopped before them).
        let after_ok = at(end + 1) != Some(b' ') || !(digit(end + 2) || mark(end + 2));
        // A trailing mark is punctuation, not part of the number: it stays in the text.
        let mut last = end;
        while last > i && mark(last) {
            last -= 2;
        }
        let elems: Vec<u8> = (i..=last).step_by(2).filter_map(at).collect();
        let digits: Vec<u8> = elems.iter().copied().filter(u8::is_ascii_digit).collect();
        let marks = elems.len() - digits.len();
        // Counting by one or repeating: every step between neighbours the same, -1, 0 or 1.
        let step = |w: &[u8]| match w {
            [a, c] => i16::from(*c) - i16::from(*a),
            _ => 0,
        };
        let first_step = digits.windows(2).next().map(step).unwrap_or(0);
        let counting = first_step.abs() <= 1 && digits.windows(2).all(|w| step(w) == first_step);
        let clear = after_ok
            && digits.len() <= 30
            && marks <= 1
            && !counting
            && (digits.len() >= 5 || (marks == 1 && digits.len() >= 3));
        if clear {
            let o = out.get_or_insert_with(|| String::with_capacity(t.len()));
            o.push_str(t.get(copied..i).unwrap_or(""));
            o.extend(elems.iter().map(|c| char::from(*c)));
            copied = last + 1;
        }
        i = next;
    }
    match out {
        None => Cow::Borrowed(t),
        Some(mut o) => {
            o.push_str(t.get(copied..).unwrap_or(""));
            Cow::Owned(o)
        }
    }
}

/// How many tokens from the start of `tokens` form a phone number or similar identifier
/// written in digit groups, which must give no number at all (each group alone would be
/// read, and `7946` is a strong number); 0 when they do not.
///
/// A run is an identifier when it is two or more groups with 7 to 15 digits in all, is not
/// itself one well-formed grouped number (`+1 234 567` is a delta), and has the shape of a
/// phone number: it begins with a country code (`+44`) or an area code in brackets
/// (`(212)`), or has a hyphenated group (`555-0199`), or a group with a leading zero
/// (`020`, `0958`), or is the North American 3-3-4 (`212 555 1234`).
fn identifier_run(tokens: &[&str]) -> usize {
    #[derive(PartialEq)]
    enum Kind {
        Country,
        Area,
        Group,
        Hyphenated,
    }
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let kind = |t: &str, first: bool| -> Option<Kind> {
        if first {
            if let Some(r) = t.strip_prefix('+') {
                return (all_digits(r) && r.len() <= 3).then_some(Kind::Country);
            }
            if let Some(r) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
                return (all_digits(r) && r.len() <= 5).then_some(Kind::Area);
            }
        }
        if all_digits(t) {
            return Some(Kind::Group);
        }
        let parts = t.split('-');
        (t.contains('-') && t.len() <= 20 && parts.clone().all(all_digits))
            .then_some(Kind::Hyphenated)
    };
    let first_ok = tokens
        .first()
        .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '('));
    if !first_ok {
        return 0;
    }
    let mut kinds = Vec::new();
    let mut lens = Vec::new();
    let mut leading_zero = false;
    let mut digits = 0usize;
    for (k, raw) in tokens.iter().take(8).enumerate() {
        let t = raw.trim_end_matches([',', ';', ':', '.']);
        let Some(kd) = kind(t, k == 0) else {
            break;
        };
        let n = t.bytes().filter(u8::is_ascii_digit).count();
        leading_zero |= kd == Kind::Group && t.len() >= 2 && t.starts_with('0');
        digits += n;
        lens.push(n);
        kinds.push(kd);
        if t.len() != raw.len() {
            break; // punctuation ends the run
        }
    }
    let n = kinds.len();
    if n < 2 || !(7..=15).contains(&digits) {
        return 0;
    }
    let marked = matches!(kinds.first(), Some(Kind::Country | Kind::Area))
        || kinds.contains(&Kind::Hyphenated)
        || leading_zero
        || (lens == [3, 3, 4] && kinds.iter().all(|k| *k == Kind::Group));
    let joined = tokens.get(..n).unwrap_or(&[]).join(" ");
    if marked && parse::parse_number(&joined).is_none() {
        n
    } else {
        0
    }
}
