//! PowerPoint decks as write parts: per slide its text, tables, charts, speaker notes,
//! alt text, comments (legacy and modern) and SmartArt; then the document properties
//! and the objects embedded in the deck.

use std::collections::HashMap;

use crate::model::WritePart;

use super::guard::Archive;
use super::ooxml::{
    Collector, SKIP_DRAWING, alt_part, charts, items, list_part, main_part, relationships,
    required, smartart, targets_of,
};
use super::reading::Reading;
use super::xml::{Ev, prefixed_attr, walk};
use super::{Problem, embed, props};

/// Slides in presentation order; per slide one `Text` part (`slide N`) with every
/// paragraph outside tables, one `Table` part per table (`slide N table K`) and per
/// chart (`slide N chart K`), then `slide N notes`, the alt text of its shapes,
/// `comments on slide N` and `slide N SmartArt K`. `depth` is how deeply the deck is
/// embedded (0: the file itself).
pub(crate) fn read(
    archive: &mut Archive,
    r: &mut Reading<'_>,
    depth: usize,
) -> Result<Vec<WritePart>, Problem> {
    let kind = archive.kind();
    let limits = r.limits;
    let presentation = main_part(archive, kind, limits, &mut r.budget, "ppt/presentation.xml")?;
    let pres = required(archive, kind, &presentation)?;
    let rels = relationships(archive, kind, limits, &mut r.budget, &presentation)?;
    let mut order = Vec::new();
    walk(
        &pres[..],
        &presentation,
        kind,
        limits,
        &mut r.budget,
        |ev| {
            if let Ev::Open(e) = ev
                && e.local_name().as_ref() == "sldId"
                && let Some(id) = prefixed_attr(e, "id")
            {
                order.push(id);
            }
        },
    )?;
    let mut slides: Vec<String> = order
        .iter()
        .filter_map(|id| rels.get(id).map(|(_, target)| target.clone()))
        .collect();
    if slides.is_empty() {
        // No slide list (a stripped-down producer): fall back to slideN.xml by number.
        let mut found: Vec<(u32, String)> = archive
            .names()
            .into_iter()
            .filter_map(|n| {
                let num = n
                    .strip_prefix("ppt/slides/slide")?
                    .strip_suffix(".xml")?
                    .parse()
                    .ok()?;
                Some((num, n))
            })
            .collect();
        found.sort();
        slides = found.into_iter().map(|(_, n)| n).collect();
    }

    let mut parts = Vec::new();
    // Embedded objects by part name, lower case -> the first slide showing them.
    let mut placed: HashMap<String, String> = HashMap::new();
    for (i, slide) in slides.iter().enumerate() {
        let n = i + 1;
        let Some(bytes) = archive.read(slide)? else {
            return Err(Problem::invalid(
                kind,
                format!("slide {n} refers to a missing part {slide}"),
            ));
        };
        let c = Collector::of(&bytes, slide, kind, limits, &mut r.budget, SKIP_DRAWING)?;
        let text = c.text();
        if !text.is_empty() {
            parts.push(WritePart::Text {
                location: format!("slide {n}"),
                text,
            });
        }
        for (k, rows) in c.tables.into_iter().enumerate() {
            parts.push(WritePart::Table {
                location: format!("slide {n} table {}", k + 1),
                rows,
            });
        }
        let rels = relationships(archive, kind, limits, &mut r.budget, slide)?;
        let charts = charts(archive, kind, limits, &mut r.budget, &rels, &c.charts)?;
        for (k, rows) in charts.into_iter().enumerate() {
            parts.push(WritePart::Table {
                location: format!("slide {n} chart {}", k + 1),
                rows,
            });
        }
        // Speaker notes: text an agent may well have written too.
        if let Some(notes) = targets_of(&rels, "notesSlide").into_iter().next()
            && let Some(bytes) = archive.read(&notes)?
        {
            // `a:fld` is the slide-number placeholder, not notes text.
            let skip = ["pPr", "rPr", "endParaRPr", "fld", "Fallback"];
            let c = Collector::of(&bytes, &notes, kind, limits, &mut r.budget, &skip)?;
            let text = c.text();
            if !text.trim().is_empty() {
                parts.push(WritePart::Text {
                    location: format!("slide {n} notes"),
                    text,
                });
            }
        }
        parts.extend(alt_part(&c.alt, &format!(" on slide {n}")));
        // Legacy comments (`p:cm`, text in `p:text`) and modern threaded ones (`p188:cm`
        // with its replies, text in `p188:txBody`) both have a relationship type ending
        // in `/comments`.
        let mut said = Vec::new();
        for part in targets_of(&rels, "comments") {
            if let Some(bytes) = archive.read(&part)? {
                let found = items(
                    &bytes,
                    &part,
                    kind,
                    limits,
                    &mut r.budget,
                    &["cm", "reply"],
                    None,
                )?;
                said.extend(found.into_iter().map(|(_, t)| t));
            }
        }
        parts.extend(list_part(
            &format!("comment on slide {n}"),
            &format!("comments on slide {n}"),
            &said,
        ));
        let diagrams = smartart(archive, kind, limits, &mut r.budget, &rels, &c.diagrams)?;
        for (k, text) in diagrams.into_iter().enumerate() {
            parts.push(WritePart::Text {
                location: format!("slide {n} SmartArt {}", k + 1),
                text,
            });
        }
        // Objects shown on the slide, and the workbooks behind its charts' data.
        let mut shown: Vec<String> = ["package", "oleObject"]
            .iter()
            .flat_map(|ty| targets_of(&rels, ty))
            .collect();
        for id in &c.charts {
            if let Some((_, chart)) = rels.get(id) {
                let chart_rels = relationships(archive, kind, limits, &mut r.budget, chart)?;
                shown.extend(targets_of(&chart_rels, "package"));
            }
        }
        for target in shown {
            placed
                .entry(target.to_ascii_lowercase())
                .or_insert_with(|| format!("slide {n}"));
        }
    }
    parts.extend(props::part(archive, r)?);
    parts.extend(embed::parts(archive, r, depth, &placed)?);
    Ok(parts)
}
