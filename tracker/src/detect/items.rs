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
    Text { hash: u64, evidence: f64 },
}

#[derive(Debug)]
pub(super) struct Item {
    pub(super) kind: ItemKind,
    /// Folded labels written beside the token (row / column headers, sentence words).
    pub(super) labels: Vec<u64>,
}

/// Items (numbers, dates, short strings) and passage fingerprints of one write part.
pub(super) fn extract(part: &WritePart) -> (Vec<Item>, Vec<u64>) {
    let mut items = Vec::new();
    let mut fps = Vec::new();
    match part {
        WritePart::Text { text, .. } => {
            fps.extend(parse::fingerprints(text));
            text_items(text, &[], None, &mut items);
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
                    text_items(c, &labels, Some(p), &mut items);
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
        match parse::parse_number(t) {
            Some(n) => Parsed::Num(n),
            None => Parsed::Other { blank: false },
        }
    }

    /// Non-blank text that is neither a number nor a date: a row or column header.
    fn is_label(&self) -> bool {
        matches!(self, Parsed::Other { blank: false })
    }
}

/// Numbers, dates and distinctive strings in a chunk of text. `extra_labels` are the
/// table headers around it; words of the sentence are labels too. `parsed` is the chunk
/// already read by [`Parsed::of`], if the caller has it.
fn text_items(text: &str, extra_labels: &[u64], parsed: Option<Parsed>, out: &mut Vec<Item>) {
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
            });
            return;
        }
        Parsed::Num(n) => {
            out.push(Item {
                kind: ItemKind::Num(n),
                labels: extra_labels.to_vec(),
            });
            return;
        }
        Parsed::Other { .. } => {}
    }
    let whole = parse::fold(t);
    let ev = parse::string_evidence(&whole);
    if ev > 0.0 && whole.len() <= 200 {
        out.push(Item {
            kind: ItemKind::Text {
                hash: parse::hash64(whole.as_bytes()),
                evidence: ev,
            },
            labels: Vec::new(),
        });
    }
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
            let mut took = 0;
            for n in (1..=4).rev() {
                let Some(win) = raw.get(i..i + n) else {
                    continue;
                };
                let joined = win.join(" ");
                let d = parse::parse_date(&joined);
                if !d.is_empty() {
                    out.push(Item {
                        kind: ItemKind::Date(d),
                        labels: labels.clone(),
                    });
                    took = n;
                    break;
                }
                if let Some(num) = parse::parse_number(&joined) {
                    out.push(Item {
                        kind: ItemKind::Num(num),
                        labels: labels.clone(),
                    });
                    took = n;
                    break;
                }
            }
            i += took.max(1);
        }
        // Distinctive strings inside the sentence: names, SKUs (2..=4 word n-grams and
        // single words).
        let mut seen = Vec::new();
        for n in 1..=4 {
            for g in plain.windows(n) {
                if g.iter().any(|w| w.is_empty()) {
                    continue;
                }
                let s = g.join(" ");
                let ev = parse::string_evidence(&s);
                if ev > 0.0 {
                    let h = parse::hash64(s.as_bytes());
                    if !seen.contains(&h) {
                        seen.push(h);
                        out.push(Item {
                            kind: ItemKind::Text {
                                hash: h,
                                evidence: ev,
                            },
                            labels: Vec::new(),
                        });
                    }
                }
            }
        }
    }
}
