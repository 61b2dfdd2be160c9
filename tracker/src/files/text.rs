//! Plain text and Markdown targets, and the text decoding shared with csv.

use std::path::Path;

use crate::model::WritePart;

use super::{Kind, Limits, Problem};

/// Decodes a text file: UTF-8 (a byte-order mark is dropped), or UTF-16 when it starts
/// with a UTF-16 byte-order mark. With `lossy`, invalid sequences become U+FFFD; without,
/// they are an error naming the line, because a csv source decoded wrongly would silently
/// stop matching.
pub(crate) fn decode(bytes: Vec<u8>, kind: Kind, lossy: bool) -> Result<String, Problem> {
    let utf16 = |be: bool| -> Result<String, Problem> {
        let body = &bytes[2..];
        if !body.len().is_multiple_of(2) && !lossy {
            return Err(Problem::invalid(
                kind,
                "UTF-16 text with an odd number of bytes",
            ));
        }
        let units = body.chunks_exact(2).map(|p| {
            if be {
                u16::from_be_bytes([p[0], p[1]])
            } else {
                u16::from_le_bytes([p[0], p[1]])
            }
        });
        let mut out = String::with_capacity(body.len() / 2);
        for c in char::decode_utf16(units) {
            match c {
                Ok(c) => out.push(c),
                Err(_) if lossy => out.push(char::REPLACEMENT_CHARACTER),
                Err(_) => {
                    return Err(Problem::invalid(kind, "invalid UTF-16 text"));
                }
            }
        }
        Ok(out)
    };
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return utf16(false);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return utf16(true);
    }
    let body = bytes
        .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
        .map(<[u8]>::to_vec)
        .unwrap_or(bytes);
    match String::from_utf8(body) {
        Ok(s) => Ok(s),
        Err(e) if lossy => Ok(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            Err(Problem::invalid(
                kind,
                format!("the text is not UTF-8 (first bad byte on line {line}); save it as UTF-8"),
            ))
        }
    }
}

/// Paragraph blocks of a txt or md file (lines up to a blank line), each at `line N` of
/// its first line. Invalid UTF-8 is decoded lossily.
pub(crate) fn read_blocks(path: &Path, limits: &Limits) -> Result<Vec<WritePart>, Problem> {
    let kind = super::Kind::of(path).unwrap_or(Kind::Txt);
    let text = decode(std::fs::read(path)?, kind, true)?;
    limits.control.check()?;
    if text.chars().count() > limits.max_text_chars {
        return Err(Problem::Refused(format!(
            "the file holds more than {} characters of text",
            limits.max_text_chars
        )));
    }
    let parts = blocks(&text);
    limits.control.check()?;
    Ok(parts)
}

fn blocks(text: &str) -> Vec<WritePart> {
    let mut parts = Vec::new();
    let mut start = 0usize;
    let mut lines: Vec<&str> = Vec::new();
    let flush = |parts: &mut Vec<WritePart>, start: usize, lines: &mut Vec<&str>| {
        if !lines.is_empty() {
            parts.push(WritePart::Text {
                location: format!("line {start}"),
                text: lines.join("\n"),
            });
            lines.clear();
        }
    };
    // `lines()` handles \n and \r\n; a lone \r (old Mac) is turned into \n first.
    let normalized;
    let text = if text.contains('\r') && !text.contains('\n') {
        normalized = text.replace('\r', "\n");
        normalized.as_str()
    } else {
        text
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            flush(&mut parts, start, &mut lines);
        } else {
            if lines.is_empty() {
                start = i + 1;
            }
            lines.push(line);
        }
    }
    flush(&mut parts, start, &mut lines);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_on_blank_lines() {
        let parts = blocks("# Title\n\nFirst line\nsecond line\n   \nLast\r\n");
        assert_eq!(
            parts,
            vec![
                WritePart::Text {
                    location: "line 1".into(),
                    text: "# Title".into()
                },
                WritePart::Text {
                    location: "line 3".into(),
                    text: "First line\nsecond line".into()
                },
                WritePart::Text {
                    location: "line 6".into(),
                    text: "Last".into()
                },
            ]
        );
    }

    #[test]
    fn decoding_rules() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFabc".to_vec(), Kind::Csv, false).ok(),
            Some("abc".to_string())
        );
        assert_eq!(
            decode(vec![0xFF, 0xFE, b'h', 0, b'i', 0], Kind::Csv, false).ok(),
            Some("hi".to_string())
        );
        let err = decode(b"a,b\nc,\xFF\n".to_vec(), Kind::Csv, false)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "not a valid csv (the text is not UTF-8 (first bad byte on line 2); save it as UTF-8)"
            )
        );
        assert_eq!(
            decode(b"caf\xE9".to_vec(), Kind::Txt, true).ok(),
            Some("caf\u{FFFD}".to_string())
        );
    }
}
