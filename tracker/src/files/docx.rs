//! Word documents as write parts: body paragraphs and tables, charts, alt text and
//! SmartArt; headers and footers; footnotes, endnotes and comments; then the document
//! properties and the objects embedded in the document.

use std::collections::HashMap;

use crate::model::WritePart;

use super::guard::Archive;
use super::ooxml::{
    Collector, SKIP_WORD, alt_part, charts, items, list_part, main_part, relationships, required,
    smartart, targets_of,
};
use super::reading::Reading;
use super::{Problem, embed, props};

/// Body paragraphs, one `Text` part per non-empty paragraph at `paragraph N` (N counts
/// every body paragraph outside tables, empty ones included, so a location stays put
/// when text around it changes), one `Table` per top-level table at `table K`, then
/// `chart K`, alt text, `SmartArt K`, `header N` and `footer N` (with their tables),
/// `footnotes`, `endnotes` and `comments`. Deleted text (tracked changes) and field
/// instructions are left out. `depth` is how deeply the document is embedded (0: the
/// file itself).
pub(crate) fn read(
    archive: &mut Archive,
    r: &mut Reading<'_>,
    depth: usize,
) -> Result<Vec<WritePart>, Problem> {
    let kind = archive.kind();
    let limits = r.limits;
    let document = main_part(archive, kind, limits, &mut r.budget, "word/document.xml")?;
    let bytes = required(archive, kind, &document)?;
    let c = Collector::of(&bytes, &document, kind, limits, &mut r.budget, SKIP_WORD)?;
    drop(bytes);
    let mut parts = Vec::new();
    for (n, text) in &c.paragraphs {
        if !text.trim().is_empty() {
            parts.push(WritePart::Text {
                location: format!("paragraph {n}"),
                text: text.clone(),
            });
        }
    }
    for (k, rows) in c.tables.iter().enumerate() {
        parts.push(WritePart::Table {
            location: format!("table {}", k + 1),
            rows: rows.clone(),
        });
    }
    let rels = relationships(archive, kind, limits, &mut r.budget, &document)?;
    let charts = charts(archive, kind, limits, &mut r.budget, &rels, &c.charts)?;
    for (k, rows) in charts.into_iter().enumerate() {
        parts.push(WritePart::Table {
            location: format!("chart {}", k + 1),
            rows,
        });
    }
    parts.extend(alt_part(&c.alt, ""));
    let diagrams = smartart(archive, kind, limits, &mut r.budget, &rels, &c.diagrams)?;
    for (k, text) in diagrams.into_iter().enumerate() {
        parts.push(WritePart::Text {
            location: format!("SmartArt {}", k + 1),
            text,
        });
    }
    // Every section may have its own first-page, even-page and default header and
    // footer: each is a part of its own.
    for what in ["header", "footer"] {
        for (k, part) in targets_of(&rels, what).into_iter().enumerate() {
            let Some(bytes) = archive.read(&part)? else {
                continue;
            };
            let c = Collector::of(&bytes, &part, kind, limits, &mut r.budget, SKIP_WORD)?;
            let name = format!("{what} {}", k + 1);
            let text = c.text();
            if !text.trim().is_empty() {
                parts.push(WritePart::Text {
                    location: name.clone(),
                    text,
                });
            }
            for (t, rows) in c.tables.into_iter().enumerate() {
                parts.push(WritePart::Table {
                    location: format!("{name} table {}", t + 1),
                    rows,
                });
            }
            parts.extend(alt_part(&c.alt, &format!(" in {name}")));
        }
    }
    for (ty, item, one, many) in [
        ("footnotes", "footnote", "footnote", "footnotes"),
        ("endnotes", "endnote", "endnote", "endnotes"),
        ("comments", "comment", "comment", "comments"),
    ] {
        let mut said = Vec::new();
        for part in targets_of(&rels, ty) {
            if let Some(bytes) = archive.read(&part)? {
                let found = items(&bytes, &part, kind, limits, &mut r.budget, &[item], None)?;
                said.extend(found.into_iter().map(|(_, t)| t));
            }
        }
        parts.extend(list_part(one, many, &said));
    }
    parts.extend(props::part(archive, r)?);
    parts.extend(embed::parts(archive, r, depth, &HashMap::new())?);
    Ok(parts)
}
