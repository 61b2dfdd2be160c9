//! What a workbook keeps besides its cells, read when it is a target (or embedded in
//! one): per sheet its notes and threaded comments, its page header and footer, and
//! its drawing (text boxes, alt text, charts, SmartArt); then the document properties
//! and the objects embedded in the workbook. Sources (`read_workbook`) are cells only:
//! a `SheetRead` has no place for anything else.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::model::WritePart;

use super::guard::Archive;
use super::ooxml::{
    Collector, SKIP_DRAWING, alt_part, charts, items, main_part, relationships, smartart,
    targets_of,
};
use super::reading::Reading;
use super::xml::{Ev, TextBudget, attr, prefixed_attr, walk};
use super::{Kind, Limits, Problem, embed, props, quote_sheet, workbook};

/// A workbook on disk as a target: one table per sheet, then what [`extras`] finds;
/// and what was skipped in it.
pub(crate) fn parts(
    path: &Path,
    kind: Kind,
    limits: &Limits,
) -> Result<(Vec<WritePart>, Vec<String>), Problem> {
    let found = workbook::read(path, kind, workbook::Pick::All, None, None, limits)?;
    let mut r = Reading::new(limits);
    let mut parts = r.tables(&found.sheets)?;
    drop(found);
    // A second pass over the archive, with a budget of its own: the first one is
    // calamine's, proven within the limits before calamine saw the file.
    let mut archive = Archive::open(path, kind, limits)?;
    parts.extend(extras(&mut archive, &mut r, 0)?);
    Ok((parts, r.skipped))
}

/// Everything but the cells: per sheet `comment on Sheet1!B2` (or `comments on
/// Sheet1`), `header and footer of Sheet1`, `text boxes on Sheet1`, the alt text of its
/// shapes, `Sheet1 chart K` and `Sheet1 SmartArt K`; then `document properties` and the
/// embedded objects. `depth` is how deeply the workbook is embedded (0: the file).
pub(crate) fn extras(
    archive: &mut Archive,
    r: &mut Reading<'_>,
    depth: usize,
) -> Result<Vec<WritePart>, Problem> {
    let kind = archive.kind();
    let limits = r.limits;
    let book = main_part(archive, kind, limits, &mut r.budget, "xl/workbook.xml")?;
    let rels = relationships(archive, kind, limits, &mut r.budget, &book)?;
    let mut sheets: Vec<(String, String)> = Vec::new();
    if let Some(bytes) = archive.read(&book)? {
        walk(&bytes[..], &book, kind, limits, &mut r.budget, |ev| {
            if let Ev::Open(e) = ev
                && e.local_name().as_ref() == "sheet"
                && let (Some(name), Some(id)) = (attr(e, "name"), prefixed_attr(e, "id"))
                && let Some((_, target)) = rels.get(&id)
            {
                sheets.push((name, target.clone()));
            }
        })?;
    }
    let mut parts = Vec::new();
    let mut placed: HashMap<String, String> = HashMap::new();
    for (name, sheet) in &sheets {
        let quoted = quote_sheet(name);
        let rels = relationships(archive, kind, limits, &mut r.budget, sheet)?;
        parts.extend(comments(archive, r, &rels, &quoted)?);
        let lines = header_footer(archive, r, sheet)?;
        if !lines.is_empty() {
            parts.push(WritePart::Text {
                location: format!("header and footer of {quoted}"),
                text: lines.join("\n"),
            });
        }
        for drawing in targets_of(&rels, "drawing") {
            let Some(bytes) = archive.read(&drawing)? else {
                continue;
            };
            let c = Collector::of(&bytes, &drawing, kind, limits, &mut r.budget, SKIP_DRAWING)?;
            drop(bytes);
            let text = c.text();
            if !text.trim().is_empty() {
                parts.push(WritePart::Text {
                    location: format!("text boxes on {quoted}"),
                    text,
                });
            }
            parts.extend(alt_part(&c.alt, &format!(" on {quoted}")));
            let drawing_rels = relationships(archive, kind, limits, &mut r.budget, &drawing)?;
            let found = charts(
                archive,
                kind,
                limits,
                &mut r.budget,
                &drawing_rels,
                &c.charts,
            )?;
            for (k, rows) in found.into_iter().enumerate() {
                parts.push(WritePart::Table {
                    location: format!("{quoted} chart {}", k + 1),
                    rows,
                });
            }
            let found = smartart(
                archive,
                kind,
                limits,
                &mut r.budget,
                &drawing_rels,
                &c.diagrams,
            )?;
            for (k, text) in found.into_iter().enumerate() {
                parts.push(WritePart::Text {
                    location: format!("{quoted} SmartArt {}", k + 1),
                    text,
                });
            }
        }
        for ty in ["package", "oleObject"] {
            for target in targets_of(&rels, ty) {
                placed
                    .entry(target.to_ascii_lowercase())
                    .or_insert_with(|| quoted.clone());
            }
        }
    }
    parts.extend(props::part(archive, r)?);
    parts.extend(embed::parts(archive, r, depth, &placed)?);
    Ok(parts)
}

/// A sheet's threaded comments, then its notes (legacy comments) on cells no threaded
/// comment is on: Excel writes each threaded comment a second time as a note, for
/// older versions, and that copy is not read twice.
fn comments(
    archive: &mut Archive,
    r: &mut Reading<'_>,
    rels: &HashMap<String, (String, String)>,
    quoted: &str,
) -> Result<Option<WritePart>, Problem> {
    let kind = archive.kind();
    let mut said: Vec<(Option<String>, String)> = Vec::new();
    for part in targets_of(rels, "threadedComment") {
        if let Some(bytes) = archive.read(&part)? {
            said.extend(items(
                &bytes,
                &part,
                kind,
                r.limits,
                &mut r.budget,
                &["threadedComment"],
                Some("ref"),
            )?);
        }
    }
    let threaded: HashSet<String> = said.iter().filter_map(|(c, _)| c.clone()).collect();
    for part in targets_of(rels, "comments") {
        if let Some(bytes) = archive.read(&part)? {
            let notes = items(
                &bytes,
                &part,
                kind,
                r.limits,
                &mut r.budget,
                &["comment"],
                Some("ref"),
            )?;
            said.extend(
                notes
                    .into_iter()
                    .filter(|(c, _)| c.as_ref().is_none_or(|c| !threaded.contains(c))),
            );
        }
    }
    let location = match said.as_slice() {
        [] => return Ok(None),
        [(Some(cell), _)] => format!("comment on {quoted}!{cell}"),
        [_] => format!("comment on {quoted}"),
        _ => format!("comments on {quoted}"),
    };
    let text: Vec<&str> = said.iter().map(|(_, t)| t.as_str()).collect();
    Ok(Some(WritePart::Text {
        location,
        text: text.join("\n"),
    }))
}

/// The sections of a sheet's page headers and footers (`headerFooter`), their codes
/// taken out, each distinct line once. The sheet's XML is streamed (it can be hundreds
/// of megabytes) and only the header and footer text is kept and counted.
fn header_footer(
    archive: &mut Archive,
    r: &mut Reading<'_>,
    sheet: &str,
) -> Result<Vec<String>, Problem> {
    const PARTS: &[&str] = &[
        "oddHeader",
        "oddFooter",
        "evenHeader",
        "evenFooter",
        "firstHeader",
        "firstFooter",
    ];
    let kind = archive.kind();
    let limits = r.limits;
    let mut codes: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    // The cells' text was counted when they were read; this pass keeps none of it.
    let mut pass = TextBudget::unbounded();
    archive.stream_counted(sheet, |xml| {
        walk(xml, sheet, kind, limits, &mut pass, |ev| match ev {
            Ev::Open(e) => {
                let local = e.local_name();
                if PARTS.contains(&local.as_ref()) {
                    current = Some(String::new());
                }
            }
            Ev::Text(t) => {
                if let Some(c) = current.as_mut() {
                    c.push_str(t);
                }
            }
            Ev::Close(local) => {
                if PARTS.contains(&local)
                    && let Some(c) = current.take()
                {
                    codes.push(c);
                }
            }
        })
    })?;
    let mut lines: Vec<String> = Vec::new();
    for code in &codes {
        r.budget.spend(code.chars().count())?;
        for line in header_text(code) {
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    Ok(lines)
}

/// The text of a header or footer without its codes, one line per section: `&L`, `&C`
/// and `&R` start the left, centre and right sections; `&P`, `&N`, `&D`, `&T`, `&F`,
/// `&A` are fields (page, pages, date, time, file, sheet), `&"Arial,Bold"` a font, `&14`
/// a size, `&KFF0000` or `&K01+000` a colour, `&B` `&I` `&U` and the like styles, and
/// `&&` an ampersand.
fn header_text(code: &str) -> Vec<String> {
    let mut sections = vec![String::new()];
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '&' {
            if let Some(s) = sections.last_mut() {
                s.push(c);
            }
            continue;
        }
        match chars.next() {
            Some('&') => {
                if let Some(s) = sections.last_mut() {
                    s.push('&');
                }
            }
            Some('L' | 'C' | 'R') => sections.push(String::new()),
            Some('"') => {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
            }
            Some('K') => {
                for _ in 0..6 {
                    if chars
                        .next_if(|d| d.is_ascii_hexdigit() || *d == '+' || *d == '-')
                        .is_none()
                    {
                        break;
                    }
                }
            }
            Some(d) if d.is_ascii_digit() => while chars.next_if(char::is_ascii_digit).is_some() {},
            _ => {}
        }
    }
    sections
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::header_text;

    #[test]
    fn header_codes_are_taken_out() {
        assert_eq!(
            header_text("&L&\"Arial,Bold\"&14Confidential&C&P of &N&RQ3 &KFF0000187,432.55"),
            ["Confidential", "of", "Q3 187,432.55"]
        );
        assert_eq!(header_text("&CR&&D &K01+000x"), ["R&D x"]);
        assert_eq!(header_text("&"), Vec::<String>::new());
    }
}
