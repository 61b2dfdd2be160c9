//! CSV, parsed by hand: RFC 4180 quoting (`"a,b"`, `""` for a quote, line breaks inside
//! quotes), `\n`, `\r\n` or `\r` line ends, and the delimiter (`,`, `;` or tab) sniffed
//! from the first line, since Excel writes `;` in locales with a decimal comma.

use std::path::Path;

use crate::model::{CellAddr, CellValue, ReadCell, WritePart};

use super::{Kind, Limits, Problem};

/// The rows of a csv file, bounded by `max_cells` fields and `max_text_chars` characters.
/// A blank line counts as a field: it is kept as an empty row (to keep later row numbers
/// true), and a file of nothing but line breaks would otherwise make tens of millions
/// of them unbounded.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Vec<Vec<String>>, Problem> {
    if text.chars().count() > limits.max_text_chars {
        return Err(Problem::Refused(format!(
            "the file holds more than {} characters of text",
            limits.max_text_chars
        )));
    }
    let delim = sniff(text);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut fields: u64 = 0;
    let mut in_quotes = false;
    // True once the current field has content or quotes, so `a,` ends with an empty field.
    let mut chars = text.chars().peekable();
    let mut end_field = |row: &mut Vec<String>, field: &mut String| -> Result<(), Problem> {
        fields += 1;
        if fields > limits.max_cells {
            return Err(Problem::Refused(format!(
                "the file has more than {} fields",
                limits.max_cells
            )));
        }
        row.push(std::mem::take(field));
        Ok(())
    };
    let mut line_has_content = false;
    let mut tick: u32 = 0;
    while let Some(c) = chars.next() {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(1 << 16) {
            limits.control.check()?;
        }
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                in_quotes = true;
                line_has_content = true;
            }
            c if c == delim => {
                end_field(&mut row, &mut field)?;
                line_has_content = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if line_has_content || !field.is_empty() {
                    end_field(&mut row, &mut field)?;
                    rows.push(std::mem::take(&mut row));
                } else {
                    // A blank line is an empty row: it keeps later row numbers true.
                    end_field(&mut row, &mut field)?;
                    row.clear();
                    rows.push(Vec::new());
                }
                line_has_content = false;
            }
            c => {
                field.push(c);
                line_has_content = true;
            }
        }
    }
    // An unterminated quote takes the rest of the file, as Excel does.
    if line_has_content || !field.is_empty() {
        end_field(&mut row, &mut field)?;
        rows.push(row);
    }
    // Trailing blank lines are not rows.
    while rows.last().is_some_and(Vec::is_empty) {
        rows.pop();
    }
    Ok(rows)
}

/// The most frequent of `,` `;` and tab outside quotes on the first line; `,` by default.
fn sniff(text: &str) -> char {
    let mut counts = [(',', 0usize), (';', 0), ('\t', 0)];
    let mut in_quotes = false;
    for c in text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => break,
            _ if !in_quotes => {
                for (d, n) in counts.iter_mut() {
                    if *d == c {
                        *n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    let mut best = counts[0];
    for c in counts {
        if c.1 > best.1 {
            best = c;
        }
    }
    best.0
}

fn load(path: &Path, limits: &Limits) -> Result<Vec<Vec<String>>, Problem> {
    let text = super::text::decode(std::fs::read(path)?, Kind::Csv, false)?;
    limits.control.check()?;
    parse(&text, limits)
}

/// The cells of a csv file, typed: fields that read as numbers (`1234.5`, `-3`,
/// `1,234.50`, `$1,234.50`, `12.5%`, `1e3`) become numbers with the field as displayed
/// text; other non-empty fields are text. Empty fields are skipped.
pub(crate) fn read_cells(path: &Path, limits: &Limits) -> Result<Vec<ReadCell>, Problem> {
    let rows = load(path, limits)?;
    let mut cells = Vec::new();
    for (r, row) in rows.into_iter().enumerate() {
        for (c, field) in row.into_iter().enumerate() {
            if field.is_empty() {
                continue;
            }
            let (Ok(r), Ok(c)) = (u32::try_from(r), u32::try_from(c)) else {
                continue;
            };
            let addr = CellAddr::new(r, c);
            cells.push(match parse_number(&field) {
                Some(n) => ReadCell {
                    addr,
                    value: CellValue::Number(n),
                    text: Some(field),
                    number_format: None,
                },
                None => ReadCell {
                    addr,
                    value: CellValue::Text(field),
                    text: None,
                    number_format: None,
                },
            });
        }
    }
    Ok(cells)
}

/// The whole file as one table at `rows 1-N`.
pub(crate) fn read_table(path: &Path, limits: &Limits) -> Result<Vec<WritePart>, Problem> {
    let rows = load(path, limits)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![WritePart::Table {
        location: format!("rows 1-{}", rows.len()),
        rows,
    }])
}

/// A csv field as a number, when it is one as a person would read it.
pub(crate) fn parse_number(field: &str) -> Option<f64> {
    let s = field.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix(['$', '€', '£', '¥']).unwrap_or(s);
    let (pct, s) = match s.strip_suffix('%') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let plain: String = if s.contains(',') {
        // Thousands separators must group by three: 1,234,567.89.
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let groups: Vec<&str> = int.split(',').collect();
        let ok = groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return None;
        }
        if frac.is_empty() && !s.contains('.') {
            groups.concat()
        } else {
            format!("{}.{frac}", groups.concat())
        }
    } else {
        // Only digits, one dot and an exponent: `inf`, `nan`, hex are not numbers here.
        if !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        s.to_string()
    };
    let n: f64 = plain.parse().ok()?;
    if !n.is_finite() {
        return None;
    }
    let n = if pct { n / 100.0 } else { n };
    Some(if neg { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<String>> {
        parse(text, &Limits::default()).unwrap_or_default()
    }

    #[test]
    fn quoting_and_line_ends() {
        assert_eq!(
            rows("a,\"b,c\",\"say \"\"hi\"\"\"\r\n1,,\"multi\nline\"\n"),
            vec![vec!["a", "b,c", "say \"hi\""], vec!["1", "", "multi\nline"],]
        );
        assert_eq!(rows("x;y\n1;2\n"), vec![vec!["x", "y"], vec!["1", "2"]]);
        assert_eq!(
            rows("a\tb\r\n\r\nc\td"),
            vec![vec!["a", "b"], vec![], vec!["c", "d"]]
        );
        assert_eq!(rows("a,\n"), vec![vec!["a", ""]]);
        assert_eq!(rows("\"open"), vec![vec!["open"]]);
    }

    #[test]
    fn numbers_as_people_write_them() {
        assert_eq!(parse_number("1234.5"), Some(1234.5));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("1,234,567.89"), Some(1_234_567.89));
        assert_eq!(parse_number("$1,234.50"), Some(1234.5));
        assert_eq!(parse_number("12.5%"), Some(0.125));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for s in [
            "", "abc", "1,23", "12,3456", "inf", "NaN", "0x10", "1.2.3", "Q3", "-",
        ] {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
    }

    #[test]
    fn field_limit_is_enforced() {
        let limits = Limits {
            max_cells: 3,
            ..Limits::default()
        };
        let err = parse("a,b\nc,d\n", &limits).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("refused: the file has more than 3 fields")
        );
    }
}
