//! Plain text and Markdown targets, and the text decoding shared with csv.

use std::path::Path;

use crate::model::WritePart;

use super::{Kind, Limits, Problem};

/// Decodes a text file. A byte-order mark decides (UTF-8, UTF-16 LE or BE); without one,
/// valid UTF-8 is UTF-8 and anything else is Windows-1252, which is what Excel's "CSV"
/// and Notepad's "ANSI" write on Western Windows (every byte decodes). With `lossy`,
/// invalid sequences in text that declared its encoding become U+FFFD; without, they are
/// an error, because a csv source decoded wrongly would silently stop matching.
pub(crate) fn decode(bytes: Vec<u8>, kind: Kind, lossy: bool) -> Result<String, Problem> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(&bytes) {
        let body = &bytes[bom..];
        if lossy {
            return Ok(encoding.decode_without_bom_handling(body).0.into_owned());
        }
        return encoding
            .decode_without_bom_handling_and_without_replacement(body)
            .map(std::borrow::Cow::into_owned)
            .ok_or_else(|| {
                // The line of the first undecodable sequence, as the lossy decoding shows it.
                let shown = encoding.decode_without_bom_handling(body).0;
                let bad = shown.find(char::REPLACEMENT_CHARACTER).unwrap_or(0);
                let line = shown[..bad].matches('\n').count() + 1;
                let name = encoding.name();
                Problem::invalid(
                    kind,
                    format!(
                        "the text starts with a {name} byte-order mark but is not {name} (first bad byte on line {line})"
                    ),
                )
            });
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(e.as_bytes())
            .0
            .into_owned()),
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
        // Not UTF-8 and no byte-order mark: Windows-1252, as Excel saves "CSV" on Windows.
        assert_eq!(
            decode(b"name,value\nM\xFCller,\x80 3\n".to_vec(), Kind::Csv, false).ok(),
            Some("name,value\nM\u{FC}ller,\u{20AC} 3\n".to_string())
        );
        assert_eq!(
            decode(b"caf\xE9".to_vec(), Kind::Txt, true).ok(),
            Some("caf\u{E9}".to_string())
        );
        // A byte-order mark is a promise: broken text after it is an error for a source.
        let err = decode(b"\xEF\xBB\xBFa,b\nc,\xFF\n".to_vec(), Kind::Csv, false)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "not a valid csv (the text starts with a UTF-8 byte-order mark but is not UTF-8 (first bad byte on line 2))"
            )
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBFcaf\xE9".to_vec(), Kind::Txt, true).ok(),
            Some("caf\u{FFFD}".to_string())
        );
        assert!(decode(vec![0xFF, 0xFE, b'h', 0, 0x00, 0xD8], Kind::Csv, false).is_err());
    }
}
